"""The one evaluation core (what the CLI and both panels call), and the plain-words verdicts."""
import math

import numpy as np
import pytest

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.evaluation import (
    bin_members,
    classification_verdict,
    coverage_tolerance,
    ece_noise,
    regression_verdict,
)
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.evaluate import evaluate
from nnstudio.errors import Cancelled, NnstudioError

SPLITS = ("train", "val", "cal", "test")


class Recorder(Task):
    def __init__(self):
        super().__init__()
        self.progress, self.messages = [], []

    def report_progress(self, done, total, text=""):
        self.progress.append((done, total, text))

    def report_message(self, text):
        self.messages.append(text)


def _prepared(task, n=1200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    if task == "regression":
        y = (x[:, 0] + 0.5 * x[:, 1] + (0.2 + 0.2 * np.abs(x[:, 2])) * rng.normal(size=n)).astype("float32")
        names = None
    else:
        y = (x[:, 0] + 0.7 * rng.normal(size=n) > 0).astype("int64") + (x[:, 1] > 1.0)
        names = ["a", "b", "c"]
    cuts = np.cumsum([0, int(0.6 * n), int(0.15 * n), int(0.1 * n)]).tolist() + [n]
    sl = {s: slice(cuts[i], cuts[i + 1]) for i, s in enumerate(SPLITS)}
    return PreparedData(kind="table", problem=task, x={s: x[v] for s, v in sl.items()},
                        y={s: y[v] for s, v in sl.items()}, index={s: np.arange(n)[v] for s, v in sl.items()},
                        feature_names=["x0", "x1", "x2"], class_names=names, target_name="y",
                        target_scaler={"mean": 0.0, "std": 1.0} if task == "regression" else None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tensorflow):
    """(prepared, model) pairs: a heteroscedastic regressor and a 3-class classifier with dropout."""
    from nnstudio.core.model import make_template
    from nnstudio.core.model.spec import LayerSpec
    from nnstudio.core.training import TrainConfig
    from nnstudio.core.training.trainer import train

    out = {}
    base = tmp_path_factory.mktemp("models")
    reg = _prepared("regression")
    spec = make_template("heteroscedastic-mlp", (3,), "regression")
    out["regression"] = (reg, train(reg, spec, TrainConfig(epochs=3, seed=1), base / "reg")[1])
    cls = _prepared("classification")
    spec = make_template("dense", (3,), "classification", 3)
    spec.layers.insert(1, LayerSpec("Dropout", {"rate": 0.3}))
    out["classification"] = (cls, train(cls, spec, TrainConfig(epochs=3, seed=1), base / "cls")[1])
    return out


# -- small pure functions -----------------------------------------------------------------------------

def test_bin_members_lists_exactly_what_the_histogram_counts():
    v = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -0.1])
    edges = np.array([0.0, 1.0, 2.0])
    assert bin_members(v, edges, 0).tolist() == [0, 1]          # [0, 1)
    assert bin_members(v, edges, 1).tolist() == [2, 3, 4]       # [1, 2], the last bin is closed
    assert bin_members(v, edges, 2).tolist() == []
    counts, _ = np.histogram(v, bins=edges)
    assert [len(bin_members(v, edges, i)) for i in range(2)] == counts.tolist()


def test_coverage_tolerance_is_two_binomial_standard_errors_with_a_floor():
    assert coverage_tolerance(0.95, 100) == pytest.approx(2 * math.sqrt(0.95 * 0.05 / 100))   # 0.0436
    assert coverage_tolerance(0.95, 10**6) == 0.01


def _reg_summary(c68, c95, n=1000):
    return {"n_samples": n, "coverage_68": c68, "coverage_95": c95, "nominal_68": 0.6827, "nominal_95": 0.95}


def test_regression_verdicts():
    good = regression_verdict(_reg_summary(0.69, 0.941))
    assert good["level"] == "good"
    assert good["text"].startswith("95% intervals cover 94.1% of 1000 test samples (95% interval 92%–95%): "
                                   "well calibrated")
    narrow = regression_verdict(_reg_summary(0.50, 0.80))      # 15 points short, tolerance 1.4
    assert narrow["level"] == "bad" and "too narrow" in narrow["text"]
    wide = regression_verdict(_reg_summary(0.80, 0.99))
    assert wide["level"] == "warn" and "too wide" in wide["text"]
    tails = regression_verdict(_reg_summary(0.78, 0.95))       # right at 95%, wrong at 68%
    assert tails["level"] == "warn" and "not Gaussian" in tails["text"]
    conformal = regression_verdict(_reg_summary(0.69, 0.95), "validation",
                                   {"nominal": 0.9, "coverage": 0.912, "mean_width": 0.5})
    assert "of 1000 validation samples" in conformal["text"]
    assert conformal["text"].endswith("Conformal 90% intervals cover 91.2% of 1000 samples (95% interval "
                                      "89%–93%): consistent with the nominal 90%; width ±0.25.")


def test_ece_noise_of_one_bin_by_hand():
    # one bin of 100 samples at confidence 0.5: sqrt(2 * 0.25 / (pi * 100)) = 0.0398942
    rel = {"confidence": [None, 0.5], "count": [0, 100]}
    assert ece_noise(rel, 100) == pytest.approx(0.0398942, abs=1e-6)


def _cls_summary(ece, after, T, n=10000):
    return {"n_samples": n, "ece": ece, "ece_after_temperature": after, "temperature": T,
            "reliability": {"confidence": [0.9], "count": [n]}}


def test_classification_verdicts():
    # noise floor for 10000 samples at 0.9: 1.5 * sqrt(2 * 0.09 / (pi * 1e4)) = 0.0036 -> floor 0.015
    assert classification_verdict(_cls_summary(0.01, 0.012, 1.0))["level"] == "good"
    fixed = classification_verdict(_cls_summary(0.08, 0.01, 1.6))
    assert fixed["level"] == "warn"
    assert "over-confident" in fixed["text"] and "T = 1.60" in fixed["text"]
    bad = classification_verdict(_cls_summary(0.2, 0.15, 0.7), conformal={"nominal": 0.9, "coverage": 0.905,
                                                                         "mean_set_size": 1.234})
    assert bad["level"] == "bad" and "not calibrated" in bad["text"]
    assert bad["text"].endswith("Conformal 90% sets cover 90.5% of 10000 samples (95% interval 90%–91%): "
                                "consistent with the nominal 90%; 1.23 classes on average.")


# -- the jobs --------------------------------------------------------------------------------------------

def test_heteroscedastic_regression_summary_matches_the_core_functions(trained):
    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow.train import predict

    prepared, model = trained["regression"]
    task = Recorder()
    u = evaluate(prepared=prepared, model=model, level=0.8, task=task)
    assert u.uncertainty.method == "heteroscedastic" and u.uncertainty.method_label == "mean-and-variance head"
    raw = predict(model, prepared.x["test"])
    y = prepared.y["test"].astype(float)
    np.testing.assert_allclose(u.uncertainty.arrays["mean"], raw[:, 0])
    np.testing.assert_allclose(u.uncertainty.arrays["sigma"], raw[:, 1])
    assert u.uncertainty.summary["coverage_95"] == ev.gaussian_coverage(y, raw[:, 0], raw[:, 1], 0.95)
    assert u.uncertainty.summary["coverage_68"] == ev.gaussian_coverage(y, raw[:, 0], raw[:, 1], ev.LEVEL_68)
    expected = ev.summarise_conformal_regression(prepared.y["cal"], predict(model, prepared.x["cal"])[:, 0],
                                                 y, raw[:, 0], alpha=0.2,
                                                 sigma_cal=predict(model, prepared.x["cal"])[:, 1],
                                                 sigma_test=raw[:, 1])
    assert u.uncertainty.conformal["coverage"] == expected["coverage"] and u.uncertainty.conformal["nominal"] == 0.8
    a = u.uncertainty.arrays
    inside = (y >= a["conformal_low"]) & (y <= a["conformal_high"])
    assert inside.mean() == pytest.approx(expected["coverage"])
    np.testing.assert_array_equal(a["index"], prepared.index["test"])
    assert len(a["plot_index"]) == len(y)            # 180 samples: all drawn
    assert u.uncertainty.verdict["text"].startswith(f"95% intervals cover {100 * u.uncertainty.summary['coverage_95']:.1f}%")
    assert task.progress[0][0] == 0 and task.progress[-1][:2] == (100, 100)


def test_regression_without_sigma_gets_a_constant_sigma_and_says_so(trained):
    from nnstudio.core.workflow.train import predict

    prepared, model = trained["regression"]

    class MeanOnly:                          # a point-prediction model: the head's mean only
        output_shape = (None, 1)

        def predict(self, x, batch_size=256, verbose=0):
            return model.predict(x, batch_size=batch_size, verbose=0)[:, :1]

    u = evaluate(prepared=prepared, model=MeanOnly())
    assert u.uncertainty.method == "residual"
    resid = prepared.y["cal"] - predict(model, prepared.x["cal"])[:, 0]
    # the RMS of the calibration residuals, not their spread: a bias widens the error bars
    np.testing.assert_allclose(u.uncertainty.arrays["sigma"], np.sqrt(np.mean(resid ** 2)))
    assert np.sqrt(np.mean(resid ** 2)) > np.std(resid)
    assert "same σ" in u.uncertainty.notes[0]
    with pytest.raises(NnstudioError, match="predicts no σ"):
        evaluate(prepared=prepared, model=MeanOnly(), method="heteroscedastic")


def test_mc_dropout_classification_with_epistemic_flags(trained):
    from nnstudio.core import evaluation as ev

    prepared, model = trained["classification"]
    task = Recorder()
    u = evaluate(prepared=prepared, model=model, method="mc_dropout", n_passes=8,
                            reference_size=200, task=task)
    a = u.uncertainty.arrays
    n = prepared.count("test")
    assert u.uncertainty.method == "mc_dropout" and u.uncertainty.n_passes == 8
    assert a["proba"].shape == (n, 3) and np.allclose(a["proba"].sum(axis=1), 1, atol=1e-5)
    assert u.uncertainty.summary["ece"] == pytest.approx(ev.expected_calibration_error(a["proba"], prepared.y["test"]))
    assert u.uncertainty.summary["mean_mutual_information"] == pytest.approx(a["mutual_information"].mean())
    assert np.all(a["mutual_information"] >= 0) and a["mutual_information"].max() > 0
    np.testing.assert_array_equal(a["ood"], a["mutual_information"] > a["ood_threshold"])
    np.testing.assert_allclose(a["entropy"], ev.predictive_entropy(a["proba"]))
    counts, edges = u.uncertainty.histograms["entropy"]
    assert counts.sum() == n and edges[-1] == pytest.approx(math.log(3))
    assert a["set_size"].shape == (n,) and u.uncertainty.conformal["mean_set_size"] == pytest.approx(a["set_size"].mean())
    # progress climbs through the stages to 100, with the MC passes named
    done = [p[0] for p in task.progress]
    assert done == sorted(done) and done[-1] == 100
    assert any("MC dropout" in p[2] for p in task.progress)


def test_method_errors_and_cancel(trained):
    prepared, model = trained["classification"]
    with pytest.raises(NnstudioError, match="for regression"):
        evaluate(prepared=prepared, model=model, method="heteroscedastic")
    with pytest.raises(NnstudioError, match="Unknown uncertainty method"):
        evaluate(prepared=prepared, model=model, method="bootstrap")
    with pytest.raises(NnstudioError, match="Train an ensemble first"):   # an ensemble lives in a project
        evaluate(prepared=prepared, model=model, method="ensemble")
    reg, reg_model = trained["regression"]
    with pytest.raises(NnstudioError, match="no dropout layers"):
        evaluate(prepared=reg, model=reg_model, method="mc_dropout")
    task = Task()
    task.stop.set()
    with pytest.raises(Cancelled):
        evaluate(prepared=prepared, model=model, method="mc_dropout", n_passes=4, task=task)


def test_diagnostics_agree_with_the_metrics_and_uncertainty_is_computed_once(tmp_path, tensorflow):
    from nnstudio.core.project import Project
    from nnstudio.core.workflow import train_project, write_example_project

    project = Project.load(write_example_project("galaxy-mass", tmp_path))
    train_project(project, epochs=1)
    r = evaluate(project, split="val")
    d = r.diagnostics
    assert r.split == "val" and d.n_samples == r.n
    assert d.rmse == pytest.approx(r.metrics["rmse"]) and d.r2 == pytest.approx(r.metrics["r2"])
    np.testing.assert_allclose(r.arrays["residual"], r.arrays["mean"] - r.arrays["y_true"])
    # the point predictions and the uncertainty come from one prediction of the same samples
    np.testing.assert_array_equal(r.arrays["mean"], r.uncertainty.arrays["mean"])
    np.testing.assert_array_equal(r.arrays["index"], r.uncertainty.arrays["index"])
    js = r.to_dict()
    assert js["problem"] == js["task"] == "regression" and js["uncertainty"]["method"] == "residual"
    assert js["uncertainty"]["verdict"] == r.uncertainty.verdict and "arrays" not in js["uncertainty"]


def test_ensemble_method_progress_and_cancel(tmp_path, tensorflow):
    from nnstudio.core.data.spec import DataSelection
    from nnstudio.core.experiments.ensemble import train_ensemble
    from nnstudio.core.model import make_template
    from nnstudio.core.project import Project
    from nnstudio.core.training import TrainConfig
    from nnstudio.core.workflow.ensembles import ensemble_predict

    prepared = _prepared("regression", n=300)
    project = Project(name="ens")
    project.data = DataSelection(path=str(tmp_path / "d.csv"), target="y", fingerprint={"size": 1, "sha256": "a"})
    project.model = make_template("mlp-regression", (3,), "regression")
    project.training = TrainConfig(epochs=1, batch_size=32)
    project.save(tmp_path / "ens.nnproj")
    train_ensemble(project, k=2, prepared=prepared)
    task = Recorder()
    u = evaluate(project, method="ensemble", split="val", prepared=prepared, task=task)
    samples = ensemble_predict(project, prepared, "val")[..., 0]
    assert u.split == "val" and u.uncertainty.n_passes is None
    np.testing.assert_allclose(u.uncertainty.arrays["mean"], samples.mean(axis=0))
    # σ = half the distance between two members (population spread of K = 2)
    np.testing.assert_allclose(u.uncertainty.arrays["sigma"], np.abs(samples[0] - samples[1]) / 2)
    done = [p[0] for p in task.progress]
    assert done == sorted(done) and done[-1] == 100
    assert any("deep ensemble (2 members)" in p[2] for p in task.progress)
    stop = Task()
    stop.stop.set()
    with pytest.raises(Cancelled):
        evaluate(project, method="ensemble", prepared=prepared, task=stop)


# -- honest uncertainty: held-out references only -------------------------------------------------------

def test_without_a_calibration_split_there_is_no_constant_sigma_and_no_conformal(trained):
    from dataclasses import replace

    prepared, model = trained["regression"]

    class MeanOnly:
        output_shape = (None, 1)

        def predict(self, x, batch_size=256, verbose=0):
            return model.predict(x, batch_size=batch_size, verbose=0)[:, :1]

    empty = {**prepared.x, "cal": prepared.x["cal"][:0]}
    no_cal = replace(prepared, x=empty, y={**prepared.y, "cal": prepared.y["cal"][:0]},
                     index={**prepared.index, "cal": prepared.index["cal"][:0]})
    r = evaluate(prepared=no_cal, model=MeanOnly())
    assert r.metrics["rmse"] > 0                                # the metrics are still there
    js = r.to_dict()["uncertainty"]
    assert js["conformal"] is None and "coverage_95" not in js and "sigma" not in r.uncertainty.arrays
    assert "No calibration split" in r.uncertainty.verdict["text"] and "validation" in r.uncertainty.verdict["text"]
    # a σ head still gives error bars, but no conformal intervals (validation is never borrowed)
    head = evaluate(prepared=no_cal, model=model)
    assert head.uncertainty.conformal is None and "coverage_95" in head.uncertainty.summary


def test_every_model_gets_an_ood_score_from_a_held_out_reference(trained):
    from dataclasses import replace

    prepared, model = trained["classification"]
    r = evaluate(prepared=prepared, model=model)
    u = r.uncertainty
    n = prepared.count("test")
    assert u.arrays["ood_score"].shape == (n,) and u.summary["ood_reference"] == "calibration"
    assert "hidden features" in u.summary["ood_by"]
    assert u.summary["ood_flag_rate"] == pytest.approx(u.arrays["ood"].mean())
    assert u.summary["ood_flag_rate"] <= 0.06              # ordinary test samples: about 1% flagged
    far = replace(prepared, x={**prepared.x, "test": prepared.x["test"] * 25.0})
    assert evaluate(prepared=far, model=model).uncertainty.summary["ood_flag_rate"] > 0.9


def test_validation_split_verdicts_say_they_are_in_sample(trained):
    prepared, model = trained["classification"]
    v = evaluate(prepared=prepared, model=model, split="val").uncertainty.verdict["text"]
    assert "in-sample" in v and "validation split" in v
    assert "in-sample" not in evaluate(prepared=prepared, model=model).uncertainty.verdict["text"]


@pytest.mark.parametrize("problem", ["classification", "regression"])
def test_every_metric_has_its_95_percent_interval_holding_the_point_value(problem):
    from nnstudio.core.examples.synthetic import (
        ToyPredictor,
        toy_classification,
        toy_regression,
    )

    prepared = toy_classification(2000) if problem == "classification" else toy_regression(2000)
    r = evaluate(prepared=prepared, model=ToyPredictor(problem, sigma=0.1 if problem == "regression" else None))
    js = r.to_dict()
    settings = {"threshold", "outlier_threshold"}
    scalars = {k for k, v in js["metrics"].items() if isinstance(v, float) and k not in settings}
    assert scalars and scalars <= set(js["metrics_ci"])
    for k in scalars:
        lo, hi = js["metrics_ci"][k]
        assert lo <= js["metrics"][k] <= hi and hi - lo < 0.25, (k, lo, js["metrics"][k], hi)
    if problem == "regression":
        lo, hi = js["metrics_ci"]["coverage_95"]
        assert lo <= js["uncertainty"]["coverage_95"] <= hi
    else:
        assert "ece" in js["metrics_ci"]        # a bias-corrected interval: it may lie below the point
    # seeded: the same evaluation gives the same intervals
    again = evaluate(prepared=prepared, model=ToyPredictor(problem, sigma=0.1 if problem == "regression" else None))
    assert again.metrics_ci == r.metrics_ci


def test_temperature_is_fitted_on_logits_not_on_saturated_probabilities(tensorflow):
    """Logits up to ±40: float32 softmax rounds many probabilities to exactly 0 or 1, so a
    temperature fitted on (clipped) probabilities is wrong; the logits give the reference's."""
    import keras
    from scipy.optimize import minimize_scalar

    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow.uncertainty import predict_logits

    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=(n, 2)).astype("float32")
    w = np.array([[42.0, -27.0, 0.0], [-18.0, 33.0, 0.0]])
    z = x.astype(np.float64) @ w
    true_t = 24.0
    p = np.exp(z / true_t - (z / true_t).max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).astype("int64")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.layers[-1].set_weights([w.astype("float32"), np.zeros(3, "float32")])
    proba32 = model.predict(x, verbose=0)
    assert np.mean(proba32.min(axis=1) < 1e-12) > 0.05           # probabilities that lost their logit
    logits = predict_logits(model, x)
    np.testing.assert_allclose(logits, z, rtol=1e-5, atol=1e-4)

    def nll(log_t):
        zt = z / np.exp(log_t)
        m = zt.max(axis=1, keepdims=True)
        return np.mean(m[:, 0] + np.log(np.exp(zt - m).sum(axis=1)) - zt[np.arange(n), y])

    reference = float(np.exp(minimize_scalar(nll, bounds=(0, 5), method="bounded",
                                             options={"xatol": 1e-9}).x))
    assert ev.fit_temperature(logits, y, kind="logits") == pytest.approx(reference, rel=1e-3)
    clipped = ev.fit_temperature(proba32, y, kind="proba")
    assert abs(clipped - reference) / reference > 0.01            # the old way misses it
    # the evaluation core takes the logits route
    cut = [0, 2400, 3000, 3400, n]
    prepared = PreparedData(kind="table", problem="classification",
                            x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            index={s: np.arange(n)[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            class_names=["a", "b", "c"], target_name="y")
    r = evaluate(prepared=prepared, model=model)
    val_ref = ev.fit_temperature(z[2400:3000], y[2400:3000], kind="logits")
    assert r.uncertainty.temperature == pytest.approx(val_ref, rel=1e-3)


def _linear_classifier(tensorflow_ready=True):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.layers[-1].set_weights([np.array([[2.0], [-1.0]], "float32"), np.array([-2.0], "float32")])
    return model


@pytest.mark.parametrize("rare_every, first", [(8, "balanced_accuracy"), (2, "accuracy")])
def test_uneven_classes_put_balanced_accuracy_recall_and_pr_auc_first(tensorflow, rare_every, first):
    rng = np.random.default_rng(3)
    n = 800
    y = (np.arange(n) % rare_every == 0).astype("int64")
    x = (rng.normal(size=(n, 2)) + y[:, None] * np.array([1.5, -0.5])).astype("float32")
    cut = [0, 480, 600, 680, n]
    prepared = PreparedData(kind="table", problem="classification",
                            x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            index={s: np.arange(n)[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                            class_names=["other", "rare"], target_name="y")
    r = evaluate(prepared=prepared, model=_linear_classifier(), baselines=False)
    ratio = (rare_every - 1) / 1
    assert r.class_ratio == pytest.approx(ratio, rel=0.05)
    assert r.imbalanced == (ratio > 3)
    assert next(iter(r.metrics)) == first
    if r.imbalanced:
        assert list(r.metrics)[:3] == ["balanced_accuracy", "recall", "average_precision"]
        assert r.to_dict()["class_ratio"] == pytest.approx(ratio, rel=0.05)
    assert set(r.metrics_ci) >= {"balanced_accuracy", "recall", "average_precision", "accuracy"}
