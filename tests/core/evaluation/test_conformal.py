import json
import math

import numpy as np
import pytest

from nnstudio.core.evaluation.conformal import (
    conformal_intervals, conformal_quantile, conformal_regression_quantile, conformal_threshold,
    interval_coverage, mean_set_size, minimum_calibration_size, prediction_sets, set_coverage,
    summarise_conformal_classification, summarise_conformal_regression,
)
from nnstudio.errors import NnstudioError


def test_finite_sample_quantile_by_hand():
    y = np.arange(1, 10, dtype=float)           # residuals 1..9 against a zero prediction
    pred = np.zeros(9)
    assert conformal_regression_quantile(y, pred, 0.2) == 8      # ceil(10 * .8) = 8th smallest
    assert conformal_regression_quantile(y, pred, 0.1) == 9      # ceil(10 * .9) = 9
    assert math.isinf(conformal_regression_quantile(y, pred, 0.05))  # rank 10 > n
    assert minimum_calibration_size(0.05) == 19
    assert conformal_quantile(np.arange(1, 20), 0.05) == 19      # (19+1)*.95 = 19 exactly
    assert minimum_calibration_size(0.1) == 9


def test_normalised_scores_and_intervals():
    q = conformal_regression_quantile([2.0, 4.0, -6.0], [0.0, 0.0, 0.0], 0.25, sigma_cal=[1, 2, 3])
    assert q == 2.0
    lo, hi = conformal_intervals([10.0, 20.0], q, sigma=[1.0, 0.5])
    np.testing.assert_allclose(lo, [8.0, 19.0])
    np.testing.assert_allclose(hi, [12.0, 21.0])
    assert interval_coverage([12.0, 22.0], lo, hi) == 0.5


def test_regression_coverage_at_least_nominal_over_repeats():
    rng = np.random.default_rng(0)
    alpha = 0.1
    plain, normalised = [], []
    for _ in range(300):
        x = rng.uniform(0, 1, 200)
        sigma = 0.1 + x
        y = np.sin(3 * x) + rng.normal(0, sigma)
        pred = np.sin(3 * x) + 0.05            # slightly biased model, sigma known up to scale
        cal, test = slice(0, 100), slice(100, 200)
        q = conformal_regression_quantile(y[cal], pred[cal], alpha)
        plain.append(interval_coverage(y[test], *conformal_intervals(pred[test], q)))
        qn = conformal_regression_quantile(y[cal], pred[cal], alpha, 2 * sigma[cal])
        normalised.append(interval_coverage(y[test], *conformal_intervals(pred[test], qn, 2 * sigma[test])))
    assert np.mean(plain) >= 1 - alpha - 0.01
    assert np.mean(normalised) >= 1 - alpha - 0.01
    assert np.mean(plain) < 1 - alpha + 0.03      # and not trivially wide


def test_classification_sets_by_hand():
    proba = np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    sets = prediction_sets(proba, 0.85)           # keep classes with p >= 0.15
    np.testing.assert_array_equal(sets, [[True, True, False], [True, True, True]])
    assert set_coverage(sets, [2, 1]) == 0.5
    assert mean_set_size(sets) == 2.5
    # calibration scores 1 - p_true: .3 .8 .6 -> with alpha .25 rank ceil(4 * .75) = 3 -> .8
    assert conformal_threshold([[0.7, 0.3], [0.8, 0.2], [0.4, 0.6]], [0, 1, 0], 0.25) == pytest.approx(0.8)
    assert prediction_sets([0.9, 0.1], 0.5).shape == (2, 2)


def test_classification_coverage_at_least_nominal_over_repeats():
    rng = np.random.default_rng(1)
    alpha = 0.1
    cover, sizes = [], []
    for _ in range(300):
        p = rng.dirichlet(np.ones(5) * 0.5, 200)
        y = (rng.random((200, 1)) > np.cumsum(p, axis=1)).sum(1)
        y = np.minimum(y, 4)
        noisy = 0.7 * p + 0.3 * rng.dirichlet(np.ones(5), 200)   # an imperfect model
        qhat = conformal_threshold(noisy[:100], y[:100], alpha)
        sets = prediction_sets(noisy[100:], qhat)
        cover.append(set_coverage(sets, y[100:]))
        sizes.append(mean_set_size(sets))
    assert np.mean(cover) >= 1 - alpha - 0.01
    assert 1 < np.mean(sizes) < 5


def test_summaries_are_json_and_honest_about_small_splits():
    s = summarise_conformal_regression(np.arange(5.0), np.zeros(5), np.arange(3.0), np.zeros(3), alpha=0.05)
    assert s["q"] is None and s["mean_width"] is None and s["coverage"] == 1.0
    assert "at least 19" in s["notes"][0]
    json.dumps(s, allow_nan=False)
    # calibration scores all 0.4 -> keep classes with p >= 0.6
    c = summarise_conformal_classification([[0.6, 0.4]] * 30, [0] * 30, [[0.6, 0.4], [0.2, 0.8]], [0, 0], 0.1)
    assert c["coverage"] == 0.5 and c["mean_set_size"] == 1.0 and c["set_size_counts"] == [0, 2, 0]
    json.dumps(c, allow_nan=False)


def test_errors():
    with pytest.raises(NnstudioError, match="alpha"):
        conformal_quantile([1.0, 2.0], 1.5)
    with pytest.raises(NnstudioError, match="empty"):
        conformal_quantile([], 0.1)
    with pytest.raises(NnstudioError, match="positive"):
        conformal_regression_quantile([1.0], [1.0], 0.5, sigma_cal=[0.0])
    with pytest.raises(NnstudioError, match="both"):
        summarise_conformal_regression([1.0], [1.0], [1.0], [1.0], 0.5, sigma_cal=[1.0])
