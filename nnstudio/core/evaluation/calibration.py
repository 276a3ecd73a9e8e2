"""Calibration of classifiers: reliability diagrams, expected calibration error, temperature scaling.

Calibration is judged on the *top-label* confidence (the probability of the predicted class) for
binary and multi-class models alike: a model is calibrated when, of the samples predicted with
confidence ~0.8, about 80% are right. Bins are equal-width on [0, 1], bin i covering
(i/n, (i+1)/n] (a confidence of exactly 0 falls in the first bin).

Temperature scaling divides the logits by one number T > 0 fitted on the validation split by
minimising the negative log-likelihood (T > 1 softens an over-confident model). It never changes
the predicted class. The search is a bounded 1-D search over log T (the NLL is unimodal in T).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnstudio.core.evaluation._common import as_labels, as_proba_matrix, check_finite, check_same_length
from nnstudio.core.files import jsonable
from nnstudio.errors import NnstudioError

_EPS = 1e-12
T_MIN, T_MAX = 0.01, 100.0


# -- reliability and ECE -----------------------------------------------------------------------

@dataclass
class ReliabilityDiagram:
    edges: np.ndarray         # (n_bins + 1,)
    confidence: np.ndarray    # mean top-label confidence per bin (NaN where empty)
    accuracy: np.ndarray      # fraction correct per bin (NaN where empty)
    count: np.ndarray         # samples per bin
    ece: float

    def to_dict(self) -> dict:
        return jsonable({"edges": self.edges, "confidence": self.confidence,
                         "accuracy": self.accuracy, "count": self.count, "ece": self.ece})


def _top_label(proba, y_true) -> tuple[np.ndarray, np.ndarray]:
    p = as_proba_matrix(proba)
    y = as_labels(y_true, p.shape[1])
    check_same_length(y_true=y, proba=p)
    pred = np.argmax(p, axis=1)
    return p[np.arange(len(p)), pred], (pred == y).astype(np.float64)


def reliability_diagram(proba, y_true, n_bins: int = 15) -> ReliabilityDiagram:
    if n_bins < 1:
        raise NnstudioError("The reliability diagram needs at least one bin.")
    conf, correct = _top_label(proba, y_true)
    which = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    sum_conf = np.bincount(which, weights=conf, minlength=n_bins)
    sum_correct = np.bincount(which, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_conf / count, np.nan)
        acc = np.where(count > 0, sum_correct / count, np.nan)
    ece = float(np.sum(np.abs(sum_correct - sum_conf)) / len(conf))
    return ReliabilityDiagram(np.linspace(0.0, 1.0, n_bins + 1), mean_conf, acc, count, ece)


def expected_calibration_error(proba, y_true, n_bins: int = 15) -> float:
    """ECE = sum over bins of (n_bin / N) * |accuracy_bin - mean confidence_bin|."""
    return reliability_diagram(proba, y_true, n_bins).ece


def classification_nll(proba, y_true) -> float:
    """Mean negative log-likelihood of the true classes (natural log)."""
    p = as_proba_matrix(proba)
    y = as_labels(y_true, p.shape[1])
    check_same_length(y_true=y, proba=p)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], _EPS, 1.0))))


# -- temperature scaling -------------------------------------------------------------------------

def _is_probability(a: np.ndarray) -> bool:
    if a.size == 0 or a.min() < 0 or a.max() > 1:
        return False
    return a.ndim == 1 or bool(np.allclose(a.sum(axis=1), 1.0, atol=1e-3))


def _to_logits(values, kind: str) -> tuple[np.ndarray, bool]:
    """-> (logits, binary). Binary logits are (N,); multi-class (N, K) up to a constant per row."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim not in (1, 2):
        raise NnstudioError(f"Expected (N,) or (N, K) model outputs, got shape {a.shape}.")
    check_finite(a, "the model outputs")
    if kind not in ("auto", "proba", "logits"):
        raise ValueError(f"kind must be 'auto', 'proba' or 'logits', not {kind!r}")
    is_proba = _is_probability(a) if kind == "auto" else kind == "proba"
    if is_proba:
        a = np.clip(a, _EPS, 1.0 - _EPS) if a.ndim == 1 else np.clip(a, _EPS, 1.0)
        z = np.log(a) - np.log1p(-a) if a.ndim == 1 else np.log(a)
    else:
        z = a
    return z, z.ndim == 1


def _nll_binary(z: np.ndarray, y: np.ndarray, t: float) -> float:
    s = np.where(y == 1, z, -z) / t
    return float(np.mean(np.logaddexp(0.0, -s)))            # -log sigmoid(s)


def _nll_softmax(z: np.ndarray, y: np.ndarray, t: float) -> float:
    zt = z / t
    m = zt.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(zt - m), axis=1))
    return float(np.mean(lse - zt[np.arange(len(y)), y]))


def fit_temperature(logits_or_proba, y_true, kind: str = "auto") -> float:
    """The temperature T minimising the NLL of ``y_true`` (fit on the VALIDATION split).

    ``kind`` says whether the values are probabilities or logits; "auto" takes them as
    probabilities when they lie in [0, 1] (and rows sum to 1 for K columns). Binary P(class 1)
    is turned into a logit. Returns T in [0.01, 100].
    """
    z, binary = _to_logits(logits_or_proba, kind)
    k = 2 if binary else z.shape[1]
    y = as_labels(y_true, k)
    check_same_length(y_true=y, outputs=z)
    nll = (lambda t: _nll_binary(z, y, t)) if binary else (lambda t: _nll_softmax(z, y, t))

    grid = np.linspace(math.log(T_MIN), math.log(T_MAX), 61)
    values = [nll(math.exp(g)) for g in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    # golden-section search on log T inside the bracket around the best grid point
    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(math.exp(c)), nll(math.exp(d))
    for _ in range(40):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(math.exp(d))
    return float(math.exp((a + b) / 2.0))


def apply_temperature(proba, temperature: float, kind: str = "auto") -> np.ndarray:
    """Probabilities after dividing the logits by ``temperature``; same layout as the input
    ((N,) P(class 1) stays (N,), (N, K) stays (N, K)); logits in give probabilities out."""
    if not temperature > 0:
        raise NnstudioError("The temperature must be a positive number.")
    z, binary = _to_logits(proba, kind)
    zt = z / float(temperature)
    if binary:
        return 0.5 * (1.0 + np.tanh(0.5 * zt))              # sigmoid without overflow
    zt = zt - zt.max(axis=1, keepdims=True)
    e = np.exp(zt)
    return e / e.sum(axis=1, keepdims=True)
