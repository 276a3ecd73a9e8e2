import numpy as np
import pytest
from sklearn import metrics as skm

from nnstudio.core.evaluation import (
    CLASSIFICATION_METRICS, REGRESSION_METRICS, classification_diagnostics, coverage_interval,
    coverage_resamples, ece_interval, ece_resamples, expected_calibration_error, interval_coverage,
    metric_intervals, metric_resamples, nmad, regression_diagnostics,
)
from nnstudio.core.evaluation import bootstrap
from nnstudio.errors import NnstudioError


def classifier(n, k, seed=0, ties=False):
    """Labels and softmax probabilities that carry some signal (rounded: many tied scores)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=np.linspace(1.0, 2.0, k) / np.linspace(1.0, 2.0, k).sum())
    z = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    if ties:
        p = np.round(p, 1)
        p /= p.sum(axis=1, keepdims=True)
    return y, p


def regressor(n, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    pred = t + 0.1 + 0.3 * rng.standard_t(3, size=n)
    if ties:
        t, pred = np.round(t, 1), np.round(pred, 1)
    return t, pred


def sklearn_classification(y, p, positive=1, threshold=0.5):
    """The metrics of ``ClassificationDiagnostics.summary()`` and balanced accuracy, by sklearn."""
    k = p.shape[1]
    if k == 2:
        pred = np.where(p[:, positive] >= threshold, positive, 1 - positive)
        avg = {"pos_label": positive, "average": "binary", "zero_division": 0}
        auc = skm.roc_auc_score(y == positive, p[:, positive])
        ap = skm.average_precision_score(y == positive, p[:, positive])
    else:
        pred = np.argmax(p, axis=1)
        avg = {"labels": list(range(k)), "average": "macro", "zero_division": 0}
        auc = skm.roc_auc_score(y, p, multi_class="ovr", average="macro")
        ap = skm.average_precision_score(np.eye(k)[y], p, average="macro")
    return {"accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred, **avg),
            "recall": skm.recall_score(y, pred, **avg), "f1": skm.f1_score(y, pred, **avg),
            "roc_auc": auc, "average_precision": ap}


def sklearn_regression(t, pred):
    return {"rmse": skm.root_mean_squared_error(t, pred), "mae": skm.mean_absolute_error(t, pred),
            "r2": skm.r2_score(t, pred), "bias": float(np.mean(pred - t)), "scatter": nmad(pred - t)}


# -- each resample against scikit-learn on the same indices ----------------------------------------

@pytest.mark.parametrize("k,ties,positive,threshold", [
    (2, False, 1, 0.5), (2, True, 1, 0.5), (2, False, 0, 0.3), (3, False, 1, 0.5), (3, True, 1, 0.5),
])
def test_classification_resamples_equal_sklearn(k, ties, positive, threshold):
    y, p = classifier(300, k, seed=k, ties=ties)
    scores = p[:, 1] if k == 2 else p
    values, idx = metric_resamples("classification", y, scores, n_resamples=6, seed=3,
                                   positive=positive, threshold=threshold, return_indices=True)
    assert set(values) == set(CLASSIFICATION_METRICS)
    assert idx.shape == (6, len(y))
    for b, rows in enumerate(idx):
        ref = sklearn_classification(y[rows], np.stack([1 - p[rows, 1], p[rows, 1]], axis=1)
                                     if k == 2 else p[rows], positive, threshold)
        for name, v in ref.items():
            assert values[name][b] == pytest.approx(v, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("n", [7, 250])
def test_regression_resamples_equal_sklearn(n, ties):
    t, pred = regressor(n, ties=ties)
    values, idx = metric_resamples("regression", t, pred, n_resamples=8, seed=1, return_indices=True)
    assert set(values) == set(REGRESSION_METRICS)
    for b, rows in enumerate(idx):
        ref = sklearn_regression(t[rows], pred[rows])
        for name, v in ref.items():
            assert values[name][b] == pytest.approx(v, rel=1e-9, abs=1e-12), name
        assert values["scatter"][b] == ref["scatter"]         # order statistics: exactly


@pytest.mark.parametrize("row_dot_max", [0, 1 << 14])
def test_values_follow_the_indices_across_blocks(monkeypatch, row_dot_max):
    """Many small blocks (as for a large N) give values that match their own index rows."""
    monkeypatch.setattr(bootstrap, "_BLOCK_ENTRIES", 256)
    monkeypatch.setattr(bootstrap, "_ROW_DOT_MAX", row_dot_max)
    t, pred = regressor(101, seed=4)
    values, idx = metric_resamples("regression", t, pred, n_resamples=12, seed=2, return_indices=True)
    for b, rows in enumerate(idx):
        assert values["rmse"][b] == pytest.approx(skm.root_mean_squared_error(t[rows], pred[rows]))
        assert values["r2"][b] == pytest.approx(skm.r2_score(t[rows], pred[rows]))
        assert values["scatter"][b] == nmad(pred[rows] - t[rows])
    y, p = classifier(150, 2, seed=5)
    values, idx = metric_resamples("classification", y, p[:, 1], n_resamples=12, seed=2,
                                   return_indices=True)
    for b, rows in enumerate(idx):
        assert values["roc_auc"][b] == pytest.approx(skm.roc_auc_score(y[rows], p[rows, 1]))


def test_scatter_is_exact_for_awkward_residuals():
    """Huge offsets, tiny values and heavy ties: the median absolute deviation matches numpy's
    bit for bit, also when the search window guessed from the whole sample is far off."""
    rng = np.random.default_rng(9)
    cases = [rng.standard_cauchy(400) * 1e6 + 1e9,
             np.r_[rng.normal(size=60), 1e-300 * rng.normal(size=60)],
             rng.integers(0, 3, 300).astype(float), np.array([2.5]), np.array([1.0, 4.0])]
    for r in cases:
        t = np.zeros(len(r))
        values, idx = metric_resamples("regression", t, r, n_resamples=10, seed=0, return_indices=True)
        assert np.array_equal(values["scatter"], [nmad(r[rows]) for rows in idx])
        rs = np.sort(r)
        order = np.argsort(r, kind="stable")
        where = np.empty(len(r), dtype=np.int64)
        where[order] = np.arange(len(r))
        prefix = np.zeros((len(idx), len(r) + 1), dtype=np.int64)
        prefix[:, 1:] = np.cumsum([np.bincount(where[rows], minlength=len(r)) for rows in idx], axis=1)
        starts, ends = bootstrap._runs(rs)
        for guess in (1e-12, 1e12):
            got = bootstrap.NMAD_FACTOR * bootstrap._mad(rs, prefix, starts, ends, guess)
            assert np.array_equal(got, [nmad(r[rows]) for rows in idx])


def test_ece_and_coverage_resamples_equal_direct_computation():
    y, p = classifier(200, 3, seed=6)
    values, idx = ece_resamples(p, y, 10, n_resamples=5, seed=4, return_indices=True)
    for b, rows in enumerate(idx):
        assert values[b] == pytest.approx(expected_calibration_error(p[rows], y[rows], 10), abs=1e-14)
    t, pred = regressor(200)
    lower, upper = pred - 0.4, pred + 0.4
    values, idx = coverage_resamples(t, lower, upper, n_resamples=5, seed=4, return_indices=True)
    for b, rows in enumerate(idx):
        assert values[b] == interval_coverage(t[rows], lower[rows], upper[rows])


# -- the intervals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3])
def test_classification_intervals_hold_the_app_figures(k):
    y, p = classifier(2000, k, seed=k)
    scores = p[:, 1] if k == 2 else p
    summary = classification_diagnostics(y, scores).summary()
    point = sklearn_classification(y, np.stack([1 - p[:, 1], p[:, 1]], 1) if k == 2 else p)
    intervals = metric_intervals("classification", y, scores)
    assert set(intervals) == set(CLASSIFICATION_METRICS)
    for name, (lo, hi) in intervals.items():
        if name != "balanced_accuracy":          # the same definitions as the Diagnostics panel
            assert summary[name] == pytest.approx(point[name], abs=1e-12), name
        assert lo <= point[name] <= hi, name
        assert 0 < hi - lo < 0.2, name


def test_regression_intervals_hold_the_app_figures():
    t, pred = regressor(2000)
    d = regression_diagnostics(t, pred)
    point = {"rmse": d.rmse, "mae": d.mae, "r2": d.r2, "bias": d.bias, "scatter": d.scatter}
    assert point == pytest.approx(sklearn_regression(t, pred), rel=1e-12)
    intervals = metric_intervals("regression", t, np.stack([pred, np.ones_like(pred)], axis=1))
    assert set(intervals) == set(REGRESSION_METRICS)
    for name, (lo, hi) in intervals.items():
        assert lo < point[name] < hi, name
    # a wider level gives a wider interval
    wide = metric_intervals("regression", t, pred, level=0.99)
    assert wide["rmse"][0] < intervals["rmse"][0] and wide["rmse"][1] > intervals["rmse"][1]


def test_ece_and_coverage_intervals():
    y, p = classifier(1500, 3, seed=2)
    lo, hi = ece_interval(p, y)
    values = ece_resamples(p, y)
    q_lo, q_hi = np.quantile(values, [0.025, 0.975])
    ece = expected_calibration_error(p, y)
    assert (lo, hi) == pytest.approx((max(0.0, 2 * ece - q_hi), max(0.0, 2 * ece - q_lo)))
    assert 0 <= lo < hi
    t, pred = regressor(1500)
    lo, hi = coverage_interval(t, pred - 0.5, pred + 0.5)
    assert lo < interval_coverage(t, pred - 0.5, pred + 0.5) < hi
    assert coverage_interval(t, -1.0, 1.0) == coverage_interval(t, np.full(1500, -1.0), np.ones(1500))


def test_stratified_resamples_keep_the_class_counts():
    y, p = classifier(500, 3, seed=8)
    _, idx = metric_resamples("classification", y, p, n_resamples=20, return_indices=True)
    for rows in idx:
        np.testing.assert_array_equal(np.bincount(y[rows], minlength=3), np.bincount(y, minlength=3))
    assert len({tuple(rows) for rows in idx}) == 20              # and still differ from each other


def test_seeded_resamples_are_identical():
    y, p = classifier(400, 2, seed=1)
    a = metric_intervals("classification", y, p[:, 1], seed=7)
    assert a == metric_intervals("classification", y, p[:, 1], seed=7)
    assert a != metric_intervals("classification", y, p[:, 1], seed=8)
    t, pred = regressor(300)
    r1 = metric_resamples("regression", t, pred, n_resamples=50, seed=3)
    r2 = metric_resamples("regression", t, pred, n_resamples=50, seed=3)
    for name in REGRESSION_METRICS:
        np.testing.assert_array_equal(r1[name], r2[name])


# -- degenerate inputs --------------------------------------------------------------------------------

def test_one_class_present_leaves_out_the_undefined_metrics():
    y = np.zeros(50, dtype=int)
    p = np.random.default_rng(0).random(50)
    intervals = metric_intervals("classification", y, p, n_resamples=200)
    assert "roc_auc" not in intervals and "average_precision" not in intervals
    assert intervals["precision"] == (0.0, 0.0) and intervals["recall"] == (0.0, 0.0)
    lo, hi = intervals["accuracy"]
    assert 0 <= lo <= hi <= 1
    # only the positive class: AUC is undefined, average precision is 1
    intervals = metric_intervals("classification", np.ones(50, dtype=int), p, n_resamples=200)
    assert "roc_auc" not in intervals and intervals["average_precision"] == (1.0, 1.0)
    # a class absent from a three-class split: macro AUC over the classes present
    y3, p3 = classifier(90, 3)
    y3[y3 == 2] = 0
    assert "roc_auc" in metric_intervals("classification", y3, p3, n_resamples=100)


def test_tiny_inputs():
    intervals = metric_intervals("classification", [0, 1], [0.2, 0.9], n_resamples=100)
    assert intervals["accuracy"] == (1.0, 1.0) and intervals["roc_auc"] == (1.0, 1.0)
    one = metric_intervals("regression", [1.0], [1.5], n_resamples=100)
    assert one["rmse"] == (0.5, 0.5) and one["bias"] == (0.5, 0.5) and "r2" not in one
    two = metric_resamples("regression", [0.0, 1.0], [0.0, 2.0], n_resamples=200)
    assert np.isnan(two["r2"]).any() and not np.isnan(two["r2"]).all()   # both draws alike
    assert "r2" in metric_intervals("regression", [0.0, 1.0], [0.0, 2.0], n_resamples=200)


@pytest.mark.parametrize("call", [
    lambda: metric_intervals("classification", [0, 1, 1], [0.2, np.nan, 0.7]),
    lambda: metric_intervals("classification", [0, 1], [[0.5, 0.5], [np.nan, 0.2]]),
    lambda: metric_intervals("regression", [0.0, 1.0], [0.5, np.nan]),
    lambda: metric_intervals("regression", [np.inf, 1.0], [0.5, 1.0]),
    lambda: ece_interval([0.2, np.nan], [0, 1]),
    lambda: coverage_interval([np.nan, 1.0], [0.0, 0.0], [2.0, 2.0]),
])
def test_nan_inputs_raise_a_clear_error(call):
    with pytest.raises(NnstudioError, match="NaN"):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: metric_intervals("clustering", [0], [0.5]), "classification' or 'regression"),
    (lambda: metric_intervals("regression", [0.0, 1.0], [0.5]), "different numbers"),
    (lambda: metric_intervals("regression", [], []), "no samples"),
    (lambda: metric_intervals("classification", [0, 1], [0.2, 0.7], level=95), "between 0 and 1"),
    (lambda: metric_intervals("classification", [0, 1], [0.2, 0.7], n_resamples=0), "at least one"),
    (lambda: metric_intervals("classification", [0, 1], [0.2, 0.7], positive=2), "positive class"),
    (lambda: metric_intervals("classification", [0, 3], [0.2, 0.7]), "class label 3"),
])
def test_bad_arguments_raise_a_clear_error(call, match):
    with pytest.raises(NnstudioError, match=match):
        call()
