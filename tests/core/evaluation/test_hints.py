import numpy as np

from nnstudio.core.evaluation.hints import learning_curve_hint


def test_rising_validation_loss_is_overfitting():
    train = [1.0, 0.7, 0.5, 0.4, 0.32, 0.26, 0.21, 0.17]
    val = [1.0, 0.75, 0.6, 0.55, 0.58, 0.62, 0.67, 0.72]
    hint = learning_curve_hint({"loss": train, "val_loss": val})
    assert hint.startswith("Over-fitting") and "4 epochs" in hint and "epoch 4" in hint


def test_large_final_gap_is_possible_overfitting():
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.15]
    val = [1.0, 0.8, 0.72, 0.70, 0.69, 0.68]      # still (barely) falling
    hint = learning_curve_hint({"loss": train, "val_loss": val})
    assert hint.startswith("Possible over-fitting")


def test_flat_curves_are_underfitting():
    train = [0.693, 0.692, 0.690, 0.689, 0.689, 0.688]
    val = [0.694, 0.693, 0.692, 0.692, 0.691, 0.691]
    assert learning_curve_hint({"loss": train, "val_loss": val}).startswith("Under-fitting")
    assert learning_curve_hint({"loss": train}).startswith("Under-fitting")


def test_healthy_curves_give_no_hint():
    train = [1.0, 0.6, 0.45, 0.38, 0.34, 0.32]
    val = [1.05, 0.65, 0.5, 0.43, 0.40, 0.39]
    assert learning_curve_hint({"loss": train, "val_loss": val}) is None


def test_negative_nll_losses_are_handled():
    train = [1.4, 0.5, -0.2, -0.6, -0.8, -0.9, -1.0, -1.05]
    val = [1.4, 0.55, -0.1, -0.5, -0.7, -0.8, -0.85, -0.88]
    assert learning_curve_hint({"loss": train, "val_loss": val}) is None
    val_up = [1.4, 0.55, -0.1, -0.5, -0.3, 0.0, 0.3, 0.6]
    assert learning_curve_hint({"loss": train, "val_loss": val_up}).startswith("Over-fitting")


def test_nan_and_short_histories():
    assert "NaN" in learning_curve_hint({"loss": [1.0, 0.5, float("nan")]})
    assert learning_curve_hint({"loss": [1.0, 1.0]}) is None
    assert learning_curve_hint({}) is None
    assert learning_curve_hint({"loss": list(np.linspace(1, 0.1, 10)), "accuracy": [0.5] * 10}) is None


def test_baseline_spares_models_that_learned_in_the_first_epoch():
    import math
    from nnstudio.core.evaluation.hints import baseline_loss
    fast = {"loss": [0.051, 0.050, 0.050, 0.049, 0.049], "val_loss": [0.06, 0.06, 0.059, 0.059, 0.059]}
    assert learning_curve_hint(fast).startswith("Under-fitting")      # no reference: flat is flat
    assert learning_curve_hint(fast, baseline=baseline_loss("binary_crossentropy")) is None
    stuck = {"loss": [0.69, 0.69, 0.689, 0.689, 0.688]}
    assert learning_curve_hint(stuck, baseline=math.log(2)).startswith("Under-fitting")
    assert baseline_loss("sparse_categorical_crossentropy", 4) == math.log(4)
    assert baseline_loss("mse") == 1.0 and baseline_loss("gaussian_nll") is None


def test_a_model_stuck_at_the_prior_of_a_rare_class_is_underfitting():
    """95/5 classes: predicting the prior costs 0.199 nats, far below log 2. A model whose loss
    stays there has learned nothing, and must be told so."""
    import math

    from nnstudio.core.evaluation.hints import baseline_loss

    y = np.array([0] * 950 + [1] * 50)
    prior = baseline_loss("binary_crossentropy", 2, y_train=y)
    assert prior == -(0.95 * math.log(0.95) + 0.05 * math.log(0.05))
    stuck = {"loss": [0.200, 0.199, 0.199, 0.199, 0.198], "val_loss": [0.201, 0.2, 0.2, 0.2, 0.2]}
    assert learning_curve_hint(stuck, baseline=baseline_loss("binary_crossentropy")) is None  # log 2: missed
    assert learning_curve_hint(stuck, baseline=prior).startswith("Under-fitting")
    t = np.array([3.0, 5.0, 7.0, 9.0])
    assert baseline_loss("mse", y_train=t) == np.var(t)
    assert baseline_loss("mae", y_train=t) == 2.0
