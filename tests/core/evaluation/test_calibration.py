import json

import numpy as np
import pytest

from nnstudio.core.evaluation.calibration import (
    apply_temperature, classification_nll, expected_calibration_error, fit_temperature,
    reliability_diagram,
)
from nnstudio.errors import NnstudioError

# binary P(class 1); top-label confidences .95 .85 .75 .65 .55, predictions 1 0 1 1 1
P = np.array([0.95, 0.15, 0.75, 0.65, 0.55])
Y = np.array([1, 1, 0, 1, 1])


def test_ece_hand_example():
    # bins of width .2: {.95,.85} conf .9 acc .5; {.75,.65} conf .7 acc .5; {.55} conf .55 acc 1
    assert expected_calibration_error(P, Y, n_bins=5) == pytest.approx(0.4 * 2 / 5 + 0.2 * 2 / 5 + 0.45 / 5)
    assert expected_calibration_error(P, Y, n_bins=1) == pytest.approx(abs(0.6 - 0.75))


def test_reliability_bins_hand_example():
    r = reliability_diagram(P, Y, n_bins=5)
    np.testing.assert_array_equal(r.count, [0, 0, 1, 2, 2])
    np.testing.assert_allclose(r.confidence[2:], [0.55, 0.7, 0.9])
    np.testing.assert_allclose(r.accuracy[2:], [1.0, 0.5, 0.5])
    assert np.isnan(r.accuracy[0])
    d = r.to_dict()
    assert d["accuracy"][0] is None
    json.dumps(d, allow_nan=False)


def test_multiclass_top_label_matches_binary_form():
    p2 = np.stack([1 - P, P], axis=1)
    assert expected_calibration_error(p2, Y, 5) == pytest.approx(expected_calibration_error(P, Y, 5))
    p3 = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    # conf .7 right, .6 wrong, .5 right; 1 bin: |2/3 - 0.6|
    assert expected_calibration_error(p3, [0, 1, 1], 1) == pytest.approx(abs(2 / 3 - 0.6))


def test_calibrated_predictions_have_small_ece():
    rng = np.random.default_rng(0)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(int)
    assert expected_calibration_error(p, y) < 0.01


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_temperature_recovers_known_value_multiclass():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2.0, size=(20_000, 4))
    cum = np.cumsum(_softmax(z), axis=1)
    y = (rng.random((20_000, 1)) > cum).sum(1)
    over = z * 2.5                                  # an over-confident model: true T = 2.5
    assert fit_temperature(over, y, kind="logits") == pytest.approx(2.5, rel=0.05)
    assert fit_temperature(_softmax(over), y) == pytest.approx(2.5, rel=0.05)
    scaled = apply_temperature(_softmax(over), 2.5)
    np.testing.assert_array_equal(scaled.argmax(1), over.argmax(1))
    assert expected_calibration_error(scaled, y) < expected_calibration_error(_softmax(over), y) / 3
    assert classification_nll(scaled, y) < classification_nll(_softmax(over), y)


def test_temperature_recovers_known_value_binary():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 3.0, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-z))).astype(int)
    p_over = 1 / (1 + np.exp(-2.0 * z))
    t = fit_temperature(p_over, y)
    assert t == pytest.approx(2.0, rel=0.05)
    out = apply_temperature(p_over, t)
    assert out.shape == p_over.shape
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-2.0 * z / t)), atol=1e-6)
    # an under-confident model gets T < 1
    assert fit_temperature(1 / (1 + np.exp(-0.5 * z)), y) == pytest.approx(0.5, rel=0.05)


def test_temperature_errors():
    with pytest.raises(NnstudioError, match="positive"):
        apply_temperature(P, 0.0)
    with pytest.raises(NnstudioError, match="NaN"):
        fit_temperature(np.array([0.2, np.nan]), [0, 1])
