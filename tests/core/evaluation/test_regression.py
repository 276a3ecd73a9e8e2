import json

import numpy as np
import pytest

from nnstudio.core.evaluation.regression import nmad, regression_diagnostics
from nnstudio.errors import NnstudioError


def test_hand_worked_metrics():
    d = regression_diagnostics([1, 2, 3, 4], [1.5, 2, 2, 5], outlier_threshold=0.8)
    np.testing.assert_allclose(d.residuals, [0.5, 0, -1, 1])
    assert d.rmse == pytest.approx(0.75)
    assert d.mae == pytest.approx(0.625)
    assert d.bias == pytest.approx(0.125)
    assert d.r2 == pytest.approx(1 - 2.25 / 5)
    # median r = 0.25; |r - 0.25| = .25 .25 1.25 .75 -> median 0.5
    assert d.scatter == pytest.approx(1.4826 * 0.5)
    assert d.outlier_fraction == pytest.approx(0.5)
    assert d.outlier_rule == "|residual| > 0.8"


def test_default_outlier_rule_is_three_nmad():
    r = np.array([0.0, 0.1, -0.1, 0.2, -0.2, 5.0, -0.05, 0.05])
    d = regression_diagnostics(np.zeros(8), r)
    assert d.outlier_threshold == pytest.approx(3 * nmad(r))
    assert d.outlier_fraction == pytest.approx(1 / 8)


def test_nmad_is_sigma_for_gaussian_residuals_and_ignores_wild_points():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 2.0, 50_000)
    r[:500] = 1e6
    assert nmad(r) == pytest.approx(2.0, rel=0.03)


def test_large_input_is_downsampled_for_plotting_and_keeps_extremes():
    rng = np.random.default_rng(1)
    t = rng.normal(size=100_000)
    p = t + rng.normal(0, 0.1, 100_000)
    p[123] += 50
    d = regression_diagnostics(t, p, max_points=3000)
    assert len(d.plot_index) == 3000 and 123 in d.plot_index
    np.testing.assert_allclose(d.plot_pred, p[d.plot_index])
    assert d.hist_counts.sum() + d.hist_below + d.hist_above == 100_000
    assert d.hist_above >= 1
    out = d.to_dict()
    json.dumps(out, allow_nan=False)
    assert "residuals" not in out and len(out["plot"]["true"]) == 3000


def test_heteroscedastic_outputs_use_the_mean_column():
    d = regression_diagnostics([1.0, 2.0], [[1.0, 0.3], [2.5, 0.3]])
    assert d.bias == pytest.approx(0.25)


def test_constant_truth_gives_undefined_r2_with_note():
    d = regression_diagnostics([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert d.r2 is None and any("R²" in n for n in d.notes)
    assert d.summary()["r2"] is None


def test_errors():
    with pytest.raises(NnstudioError, match="NaN"):
        regression_diagnostics([1.0, 2.0], [np.nan, 1.0])
    with pytest.raises(NnstudioError, match="different numbers"):
        regression_diagnostics([1.0, 2.0], [1.0])
    with pytest.raises(NnstudioError, match="positive"):
        regression_diagnostics([1.0, 2.0], [1.0, 2.0], outlier_threshold=0)
