"""Permutation importance and partial dependence on a table whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.evaluation.explain_tables import (
    bootstrap_importance,
    partial_dependence,
    permutation_importance,
    primary_score,
    sklearn_importance,
)
from nnstudio.errors import NnstudioError


def _one_column_decides(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)     # column "b" decides
    return x, y


@pytest.fixture(scope="module")
def mlp(tensorflow):
    import keras

    x, y = _one_column_decides(800, seed=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return model


def _predict(model):
    return lambda xx: model.predict(xx, batch_size=4096, verbose=0)[:, 0]


def test_the_deciding_column_comes_first_and_the_ignored_ones_hold_zero(mlp):
    x, y = _one_column_decides(300, seed=2)
    rows = permutation_importance(_predict(mlp), x, y, "classification", names=["a", "b", "c"], n_boot=100)
    assert rows[0].input == "b"
    assert rows[0].low > 0.2                                  # excludes zero by far: AUC falls to ~0.5
    for r in rows[1:]:
        assert r.low <= 0.0 <= r.high, r
        assert r.low <= r.mean <= r.high or abs(r.mean) < 0.01
    assert rows[0].low <= rows[0].mean <= rows[0].high


def test_regression_importance_is_in_the_targets_units():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 2))
    y = 3.0 * x[:, 0]
    rows = permutation_importance(lambda xx: 3.0 * xx[:, 0], x, y, "regression", names=["u", "v"], n_boot=50)
    by = {r.input: r for r in rows}
    # shuffling u: RMSE = 3 * sqrt(2) * std(u) (the difference of two independent copies)
    assert by["u"].mean == pytest.approx(3.0 * np.sqrt(2.0) * x[:, 0].std(), rel=0.1)
    assert by["v"].mean == 0.0 and by["v"].low == 0.0 == by["v"].high


def test_the_vectorised_bootstrap_agrees_with_sklearn_on_average(mlp):
    x, y = _one_column_decides(300, seed=3)
    ours = bootstrap_importance(_predict(mlp), x, y, "classification", n_boot=200, seed=1).mean(axis=0)
    theirs = sklearn_importance(_predict(mlp), x, y, "classification", n_repeats=30, seed=1)
    assert np.allclose(ours, theirs, atol=0.03), (ours, theirs)


def test_primary_score_matches_sklearn_metrics():
    from sklearn.metrics import mean_squared_error, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    p = rng.random(50)
    assert primary_score("classification", y, p) == pytest.approx(roc_auc_score(y, p))
    assert primary_score("classification", y, np.c_[1 - p, p]) == pytest.approx(roc_auc_score(y, p))
    t = rng.normal(size=50)
    assert primary_score("regression", t, t + 1) == pytest.approx(-np.sqrt(mean_squared_error(t, t + 1)))


def test_partial_dependence_follows_the_deciding_column(mlp):
    x, _ = _one_column_decides(200, seed=4)
    pd_b = partial_dependence(_predict(mlp), x, 1, "b", grid_resolution=10, max_rows=50)
    pd_a = partial_dependence(_predict(mlp), x, 0, "a", grid_resolution=10, max_rows=50)
    assert pd_b.individual.shape == (50, 10)
    assert pd_b.average[-1] - pd_b.average[0] > 0.6            # P rises from ~0 to ~1 across b
    assert abs(pd_a.average[-1] - pd_a.average[0]) < 0.2


def test_bad_input_gets_a_message():
    with pytest.raises(NnstudioError, match="tables"):
        permutation_importance(lambda xx: xx[:, 0], np.zeros((20, 2, 2)), np.zeros(20), "regression")
    with pytest.raises(NnstudioError, match="at least 10"):
        permutation_importance(lambda xx: xx[:, 0], np.zeros((5, 2)), np.zeros(5), "regression")
