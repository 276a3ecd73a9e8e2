"""Verdicts that state their interval: the Wilson interval against scipy, coverages judged by it,
empty conformal sets explained, and temperature scaling that made things worse said so."""
import pytest
from scipy.stats import binomtest

from nnstudio.core.evaluation.verdicts import (
    binomial_interval,
    classification_verdict,
    coverage_check,
    regression_verdict,
)


@pytest.mark.parametrize("k,n", [(72, 85), (0, 10), (10, 10), (5, 7), (900, 1000), (1, 1), (49, 50)])
def test_binomial_interval_is_scipys_wilson_interval(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert binomial_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_coverage_check_words_and_side():
    ok = coverage_check(72 / 85, 0.9, 85)           # the issue's 84.7% of 85 at 90%
    assert ok["side"] == "consistent"
    assert ok["text"] == "84.7% of 85 samples (95% interval 76%–91%): consistent with the nominal 90%"
    low = coverage_check(0.80, 0.9, 1000)
    assert low["side"] == "below" and low["high"] < 0.9
    assert coverage_check(0.99, 0.9, 1000)["side"] == "above"


def _cls(ece=0.0295, after=0.0332, T=0.565, nll=0.0553, nll_after=0.0582, n=85):
    return {"n_samples": n, "ece": ece, "ece_after_temperature": after, "temperature": T, "nll": nll,
            "nll_after_temperature": nll_after, "reliability": {"confidence": [0.6, 0.97], "count": [n // 8, n - n // 8]}}


def test_the_issues_case_is_not_green_and_says_why():
    conformal = {"nominal": 0.9, "coverage": 72 / 85, "mean_set_size": 0.85, "set_size_counts": [13, 72, 0]}
    v = classification_verdict(_cls(), "test", conformal)
    assert v["level"] == "warn"
    t = v["text"]
    assert "made them worse here (ECE 0.0295 → 0.0332, NLL 0.0553 → 0.0582): use the raw probabilities" in t
    assert "Conformal 90% sets cover 84.7% of 85 samples (95% interval 76%–91%): consistent with the nominal 90%" in t
    assert "13 sets are empty: no class is plausible at the 90% level" in t and "abstain" in t


def test_calibrated_with_consistent_sets_and_no_empty_set_is_green():
    conformal = {"nominal": 0.9, "coverage": 0.9, "mean_set_size": 1.1, "set_size_counts": [0, 900, 100]}
    v = classification_verdict(_cls(0.01, 0.009, 1.1, 0.3, 0.29, n=1000), "test", conformal)
    assert v["level"] == "good" and "consistent with the nominal 90%" in v["text"]


def test_temperature_not_applied_is_said():
    s = _cls(0.01, 0.01, 1.0, n=1000)
    s["temperature_skipped"] = "T = 0.57 would change NLL 0.1 → 0.11 and ECE 0.02 → 0.03 on validation"
    v = classification_verdict(s)
    assert v["level"] == "good"
    assert "did not help on the validation split" in v["text"] and "not applied (T = 1)" in v["text"]


def test_sets_below_their_level_warn():
    conformal = {"nominal": 0.9, "coverage": 0.8, "mean_set_size": 1.0, "set_size_counts": [0, 1000, 0]}
    v = classification_verdict(_cls(0.01, 0.009, 1.1, 0.3, 0.29, n=1000), "test", conformal)
    assert v["level"] == "warn" and "below the nominal 90%" in v["text"]


def test_regression_verdict_states_the_interval():
    s = {"n_samples": 200, "coverage_68": 0.69, "coverage_95": 0.94, "nominal_68": 0.6827, "nominal_95": 0.95}
    v = regression_verdict(s)
    lo, hi = binomial_interval(188, 200)
    assert v["level"] == "good"
    assert v["text"].startswith(f"95% intervals cover 94.0% of 200 test samples (95% interval "
                                f"{100 * lo:.0f}%–{100 * hi:.0f}%)")
    narrow = regression_verdict({**s, "coverage_95": 0.80})
    assert narrow["level"] == "bad" and "too narrow" in narrow["text"]
