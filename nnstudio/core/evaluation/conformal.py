"""Split conformal prediction on the calibration split.

With n calibration scores, the threshold is the ceil((n + 1)(1 - alpha))-th smallest score. For
exchangeable calibration and test data this guarantees coverage >= 1 - alpha on average, whatever
the model. When n is too small for the requested alpha (ceil((n+1)(1-alpha)) > n) the threshold is
+inf: only an unbounded interval (or the set of all classes) carries the guarantee.

* regression: score |y - pred| (or |y - pred| / sigma when the model gives a sigma, which makes
  intervals wider where the model is less sure); interval pred ± q (or pred ± q·sigma).
* classification: score 1 - p_true; the prediction set holds every class with 1 - p <= qhat.
"""
from __future__ import annotations

import math

import numpy as np

from nnstudio.core.evaluation._common import (
    as_1d_float, as_labels, as_proba_matrix, check_finite, check_same_length,
)
from nnstudio.core.files import jsonable
from nnstudio.errors import NnstudioError


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise NnstudioError(f"The miscoverage level alpha must lie strictly between 0 and 1, not {alpha}.")


def conformal_rank(n: int, alpha: float) -> int:
    """1-based rank of the calibration score used as the threshold (may exceed n)."""
    # the small tolerance keeps e.g. (19 + 1) * 0.95 = 19.000000000000004 at 19
    return int(math.ceil((n + 1) * (1.0 - alpha) - 1e-9))


def conformal_quantile(scores, alpha: float) -> float:
    """The finite-sample conformal quantile of ``scores``: the ceil((n+1)(1-alpha))-th smallest."""
    _check_alpha(alpha)
    s = np.asarray(scores, dtype=np.float64).ravel()
    n = len(s)
    if n == 0:
        raise NnstudioError("Conformal prediction needs a calibration split; it is empty.")
    k = conformal_rank(n, alpha)
    if k > n:
        return float("inf")
    return float(np.partition(s, k - 1)[k - 1])


def minimum_calibration_size(alpha: float) -> int:
    """Smallest calibration split for which the (1 - alpha) threshold is finite."""
    _check_alpha(alpha)
    n = 1
    while conformal_rank(n, alpha) > n:
        n += 1
    return n


# -- regression --------------------------------------------------------------------------------

def conformal_regression_quantile(y_cal, pred_cal, alpha: float, sigma_cal=None) -> float:
    y = as_1d_float(y_cal, "the calibration targets")
    p = as_1d_float(pred_cal, "the calibration predictions")
    check_same_length(y_cal=y, pred_cal=p)
    check_finite(p, "the calibration predictions")
    scores = np.abs(y - p)
    if sigma_cal is not None:
        s = _positive_sigma(sigma_cal, "the calibration sigmas")
        check_same_length(y_cal=y, sigma_cal=s)
        scores = scores / s
    return conformal_quantile(scores, alpha)


def conformal_intervals(pred, q: float, sigma=None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds: pred ± q, or pred ± q·sigma for normalised scores."""
    p = as_1d_float(pred, "the predictions")
    half = np.full_like(p, q) if sigma is None else q * _positive_sigma(sigma, "the sigmas")
    return p - half, p + half


def interval_coverage(y, lower, upper) -> float:
    y = as_1d_float(y, "the targets")
    return float(np.mean((y >= np.asarray(lower)) & (y <= np.asarray(upper))))


def _positive_sigma(sigma, name: str) -> np.ndarray:
    s = as_1d_float(sigma, name)
    check_finite(s, name)
    if np.any(s <= 0):
        raise NnstudioError(f"Some of {name} are zero or negative; a standard deviation must be positive.")
    return s


# -- classification --------------------------------------------------------------------------------

def conformal_threshold(proba_cal, y_cal, alpha: float) -> float:
    """qhat for prediction sets, from scores 1 - p(true class) on the calibration split."""
    p = as_proba_matrix(proba_cal)
    y = as_labels(y_cal, p.shape[1])
    check_same_length(y_cal=y, proba_cal=p)
    return conformal_quantile(1.0 - p[np.arange(len(y)), y], alpha)


def prediction_sets(proba, qhat: float) -> np.ndarray:
    """(N, K) booleans: class k is in sample i's set when 1 - p_ik <= qhat."""
    p = as_proba_matrix(proba)
    return (1.0 - p) <= qhat


def set_coverage(sets, y) -> float:
    sets = np.asarray(sets, dtype=bool)
    y = as_labels(y, sets.shape[1])
    return float(np.mean(sets[np.arange(len(y)), y]))


def mean_set_size(sets) -> float:
    return float(np.mean(np.asarray(sets, dtype=bool).sum(axis=1)))


# -- summaries for evaluate ----------------------------------------------------------------------

def summarise_conformal_regression(y_cal, pred_cal, y_test, pred_test, alpha: float = 0.05,
                                   sigma_cal=None, sigma_test=None) -> dict:
    """Calibrate on the calibration split, report coverage and width on the test split."""
    if (sigma_cal is None) != (sigma_test is None):
        raise NnstudioError("Give sigmas for both the calibration and the test split, or for neither.")
    q = conformal_regression_quantile(y_cal, pred_cal, alpha, sigma_cal)
    notes = []
    if not math.isfinite(q):
        need = minimum_calibration_size(alpha)
        notes.append(f"The calibration split has {len(np.ravel(y_cal))} samples; at least {need} are "
                     f"needed for a finite {1 - alpha:.0%} conformal interval.")
    lo, hi = conformal_intervals(pred_test, q, sigma_test)
    return jsonable({
        "method": "split conformal" + (" (normalised by sigma)" if sigma_cal is not None else ""),
        "alpha": alpha, "nominal": 1.0 - alpha, "q": q,
        "coverage": interval_coverage(y_test, lo, hi),
        "mean_width": float(np.mean(hi - lo)) if math.isfinite(q) else None,
        "n_calibration": len(np.ravel(y_cal)), "notes": notes,
    })


def summarise_conformal_classification(proba_cal, y_cal, proba_test, y_test,
                                       alpha: float = 0.05) -> dict:
    qhat = conformal_threshold(proba_cal, y_cal, alpha)
    sets = prediction_sets(proba_test, qhat)
    sizes = sets.sum(axis=1)
    k = sets.shape[1]
    notes = []
    if not math.isfinite(qhat):
        notes.append(f"The calibration split is too small for a {1 - alpha:.0%} guarantee: "
                     "every set holds all classes.")
    return jsonable({
        "method": "split conformal (score 1 - p_true)", "alpha": alpha, "nominal": 1.0 - alpha,
        "qhat": qhat, "coverage": set_coverage(sets, y_test), "mean_set_size": float(sizes.mean()),
        "set_size_counts": np.bincount(sizes, minlength=k + 1),
        "n_calibration": len(np.ravel(y_cal)), "notes": notes,
    })
