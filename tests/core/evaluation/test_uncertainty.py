import json
import math

import numpy as np
import pytest

from nnstudio.core.evaluation.uncertainty import (
    LEVEL_68, combine_gaussian_samples, coverage_curve, error_vs_sigma, flag_out_of_distribution,
    gaussian_coverage, gaussian_nll, mutual_information, pit_histogram, pit_values,
    predictive_entropy, sharpness, split_mean_sigma, summarise_classification_uncertainty,
    summarise_regression_uncertainty,
)
from nnstudio.errors import NnstudioError


def test_coverage_hand_example():
    y = np.array([0.5, 1.5, -2.5, 0.1])
    mu, sigma = np.zeros(4), np.ones(4)
    assert gaussian_coverage(y, mu, sigma, 0.95) == 0.75        # |z| <= 1.96: three of four
    assert gaussian_coverage(y, mu, sigma, LEVEL_68) == 0.5     # |z| <= 1: two of four
    assert gaussian_coverage(2 * y, mu, 2 * sigma, 0.95) == 0.75  # units do not matter
    assert LEVEL_68 == pytest.approx(0.682689, abs=1e-6)


def test_coverage_curve_matches_pointwise_and_is_diagonal_when_calibrated():
    rng = np.random.default_rng(0)
    sigma = rng.uniform(0.2, 3.0, 40_000)
    y = rng.normal(0, sigma)
    c = coverage_curve(y, np.zeros_like(y), sigma)
    assert len(c.expected) == 99
    assert np.max(np.abs(c.observed - c.expected)) < 0.015
    assert c.observed[94] == pytest.approx(gaussian_coverage(y, 0 * y, sigma, c.expected[94]))
    over = coverage_curve(y, np.zeros_like(y), 0.5 * sigma, levels=[0.5, 0.95])
    assert np.all(over.observed < over.expected - 0.1)          # error bars too narrow


def test_pit_nll_sharpness_by_hand():
    np.testing.assert_allclose(pit_values([0.0, 1.0, -2.0], [0, 0, 0], [1, 1, 2]),
                               [0.5, 0.841344746, 0.158655254], atol=1e-8)
    assert gaussian_nll([1.0], [1.0], [1.0]) == pytest.approx(0.5 * math.log(2 * math.pi))
    assert gaussian_nll([3.0], [1.0], [2.0]) == pytest.approx(0.5 * math.log(2 * math.pi) + math.log(2) + 0.5)
    assert sharpness([3.0, 4.0]) == pytest.approx(math.sqrt(12.5))
    counts, edges = pit_histogram([0.05, 0.15, 0.95, 0.99], bins=10)
    np.testing.assert_array_equal(counts, [1, 1, 0, 0, 0, 0, 0, 0, 0, 2])


def test_error_vs_sigma_and_combining_samples():
    rng = np.random.default_rng(1)
    sigma = np.repeat([0.5, 2.0], 20_000)
    y = rng.normal(0, sigma)
    e = error_vs_sigma(y, np.zeros_like(y), sigma, n_bins=2)
    np.testing.assert_allclose(e["rms_error"], [0.5, 2.0], rtol=0.03)
    np.testing.assert_allclose(e["rms_sigma"], [0.5, 2.0])
    samples = np.array([[[1.0, 3.0]], [[3.0, 4.0]]])          # T=2, N=1: means 1, 3; sigmas 3, 4
    c = combine_gaussian_samples(samples)
    assert c["mu"][0] == 2.0 and c["sigma_epistemic"][0] == 1.0
    assert c["sigma_aleatoric"][0] == pytest.approx(math.sqrt(12.5))
    assert c["sigma"][0] == pytest.approx(math.sqrt(13.5))
    assert combine_gaussian_samples(np.array([[1.0], [3.0]]))["sigma"][0] == 1.0
    mu, s = split_mean_sigma([[1.0, 0.5], [2.0, 0.25]])
    np.testing.assert_array_equal(s, [0.5, 0.25])


def test_entropy_and_mutual_information_by_hand():
    np.testing.assert_allclose(predictive_entropy([[0.25] * 4, [1, 0, 0, 0]]), [math.log(4), 0.0])
    np.testing.assert_allclose(predictive_entropy([0.5, 1.0]), [math.log(2), 0.0])
    agree = np.tile([[[0.5, 0.5]]], (5, 1, 1))
    assert mutual_information(agree)[0] == pytest.approx(0.0)
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])          # confident, but opposite
    assert mutual_information(disagree)[0] == pytest.approx(math.log(2))
    assert mutual_information(np.array([[0.0], [1.0]]))[0] == pytest.approx(math.log(2))


def test_out_of_distribution_flags():
    ref = np.arange(100.0)           # 99% quantile: 98.01
    np.testing.assert_array_equal(flag_out_of_distribution([50, 97.9, 98.5], ref, 0.99), [False, False, True])
    with pytest.raises(NnstudioError):
        flag_out_of_distribution([1.0], [], 0.99)


def test_summaries_have_the_headless_keys():
    rng = np.random.default_rng(2)
    sigma = rng.uniform(0.5, 1.5, 5000)
    y = rng.normal(0, sigma)
    s = summarise_regression_uncertainty(y, np.zeros_like(y), sigma, method="heteroscedastic")
    assert abs(s["coverage_95"] - 0.95) < 0.015 and abs(s["coverage_68"] - LEVEL_68) < 0.02
    assert {"nll", "sharpness", "calibration_curve", "pit_histogram", "error_vs_sigma"} <= set(s)
    json.dumps(s, allow_nan=False)

    z = rng.normal(0, 2, (3000, 3))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (rng.random((3000, 1)) > np.cumsum(p, 1)).sum(1).clip(0, 2)
    over = np.exp(3 * z) / np.exp(3 * z).sum(1, keepdims=True)
    c = summarise_classification_uncertainty(over, y, 3.0, prob_samples=np.stack([over, p]))
    assert c["ece_after_temperature"] < c["ece"]
    assert c["temperature"] == 3.0 and c["mean_mutual_information"] > 0
    json.dumps(c, allow_nan=False)


def test_bad_sigma_is_a_user_error():
    with pytest.raises(NnstudioError, match="positive"):
        gaussian_coverage([1.0], [1.0], [0.0])
    with pytest.raises(NnstudioError, match="between 0 and 1"):
        gaussian_coverage([1.0], [1.0], [1.0], 1.5)
