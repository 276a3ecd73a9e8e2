"""Is model A better than model B on the same samples? A paired bootstrap of the difference.

Both models are scored on the same resamples (the same draws of the same samples), so what the
two share (hard samples, easy samples) cancels in the difference and the interval is the noise of
the difference itself, not of either figure. One primary metric per problem, picked before
looking: ROC AUC for classification (the positive class's for two classes, the macro one-vs-rest
mean for more) and RMSE in the target's units for regression.

Resamples are drawn as counts per sample (``bincount``); a metric is then a weighted sum over
samples for all resamples at once. AUC uses the rank form (Mann-Whitney, ties count one half)
over the distinct scores, as ``sklearn.metrics.roc_auc_score`` with ``sample_weight`` computes it.
Classification resamples are stratified by class, as in :mod:`.bootstrap`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.evaluation._common import as_labels, as_proba_matrix, regression_inputs
from nnstudio.errors import NnstudioError

PRIMARY = {"classification": "roc_auc", "regression": "rmse"}
HIGHER_IS_BETTER = {"roc_auc": True, "rmse": False}
LABELS = {"roc_auc": "ROC AUC", "rmse": "RMSE"}


@dataclass
class PairedDifference:
    """``a`` and ``b`` on all samples, their difference ``a - b`` and its bootstrap interval."""

    metric: str
    a: float
    b: float
    difference: float
    interval: tuple[float, float]
    p_value: float                 # two-sided bootstrap p of "no difference"
    n: int
    level: float = 0.95

    @property
    def a_better(self) -> bool | None:
        """True: A is better beyond the noise; False: B is; None: the interval holds zero."""
        lo, hi = self.interval
        if lo > 0 or hi < 0:
            return (lo > 0) == HIGHER_IS_BETTER[self.metric]
        return None

    def to_dict(self) -> dict:
        return {"metric": self.metric, "a": self.a, "b": self.b, "difference": self.difference,
                "interval": list(self.interval), "p_value": self.p_value, "n": self.n,
                "level": self.level, "a_better": self.a_better}


def paired_difference(problem: str, y_true, scores_a, scores_b, *, n_resamples: int = 2000,
                      seed: int = 0, level: float = 0.95, positive: int = 1) -> PairedDifference:
    """The primary metric of ``scores_a`` minus that of ``scores_b`` on the same samples.

    ``scores`` are probabilities ((N,) or (N, K)) for classification, predictions in the target's
    units for regression (an (N, 2) [mean, σ] array uses the mean).
    """
    if not 0.0 < level < 1.0:
        raise NnstudioError("The interval level must lie strictly between 0 and 1.")
    if n_resamples < 100:
        raise NnstudioError("A paired bootstrap needs at least 100 resamples.")
    metric = PRIMARY.get(problem)
    parts, groups = _parts(problem, y_true, scores_a, scores_b, positive)
    n = int(sum(len(g) for g in groups))

    ones = np.ones((1, n))
    a, b = (float(_metric(parts, ones, side)[0]) for side in (0, 1))
    diffs = []
    rng = np.random.default_rng(seed)
    rows = max(1, min(n_resamples, 4_000_000 // max(n, 1)))      # a block holds rows × N counts
    for start in range(0, n_resamples, rows):
        r = min(rows, n_resamples - start)
        w = _counts(rng, groups, n, r)
        diffs.append(_metric(parts, w, 0) - _metric(parts, w, 1))
    d = np.concatenate(diffs)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        raise NnstudioError(f"{LABELS[metric]} is undefined on these samples.")
    half = (1.0 - level) / 2.0
    lo, hi = np.quantile(d, [half, 1.0 - half])
    p = min(1.0, 2.0 * min(np.mean(d <= 0.0), np.mean(d >= 0.0)))
    return PairedDifference(metric, a, b, a - b, (float(lo), float(hi)), float(p), n, level)


def primary_metric(problem: str, y_true, scores, positive: int = 1) -> float:
    """The primary metric of ``scores`` alone (ROC AUC or RMSE), as :func:`paired_difference`
    defines it; NaN where it is undefined."""
    parts, groups = _parts(problem, y_true, scores, scores, positive)
    return float(_metric(parts, np.ones((1, sum(len(g) for g in groups))), 0)[0])


def _parts(problem, y_true, scores_a, scores_b, positive):
    """What the metric needs of the two models, and the groups resampled within themselves."""
    if problem not in PRIMARY:
        raise NnstudioError(f"The problem must be 'classification' or 'regression', not {problem!r}.")
    if problem == "classification":
        y, parts = _classification_parts(y_true, scores_a, scores_b, positive)
        return parts, [np.flatnonzero(y == k) for k in np.unique(y)]
    t, pa, n = regression_inputs(y_true, scores_a)
    _t, pb, _n = regression_inputs(y_true, scores_b)
    if len(pb) != n:
        raise NnstudioError("The two models were scored on different numbers of samples.")
    return [("rmse", None, (pa - t) ** 2, (pb - t) ** 2)], [np.arange(n)]


def _classification_parts(y_true, scores_a, scores_b, positive):
    pa = as_proba_matrix(scores_a)
    pb = as_proba_matrix(scores_b)
    if pa.shape != pb.shape:
        raise NnstudioError("The two models give probabilities of different shapes.")
    y = as_labels(y_true, pa.shape[1])
    if len(y) != len(pa):
        raise NnstudioError("The labels and the probabilities have different lengths.")
    present = np.unique(y)
    if len(present) < 2:
        raise NnstudioError("ROC AUC needs samples of at least two classes.")
    classes = [positive] if pa.shape[1] == 2 else [int(k) for k in present]
    return y, [("auc", y == k, pa[:, k], pb[:, k]) for k in classes]


def _counts(rng, groups, n, rows) -> np.ndarray:
    """(rows, n) multiplicities: each group resampled within itself."""
    w = np.zeros((rows, n))
    offset = np.arange(rows)[:, None] * n
    for g in groups:
        draws = g[rng.integers(0, len(g), size=(rows, len(g)))]
        w += np.bincount((draws + offset).ravel(), minlength=rows * n).reshape(rows, n)
    return w


def _metric(parts, w: np.ndarray, side: int) -> np.ndarray:
    """The primary metric of model ``side`` (0 or 1) for each row of multiplicities ``w``: RMSE,
    or the mean of the one-vs-rest AUCs."""
    kind, _, *values = parts[0]
    if kind == "rmse":
        return np.sqrt(w @ values[side] / w.sum(axis=1))
    return np.mean([_weighted_auc(is_pos, pair[side], w) for _, is_pos, *pair in parts], axis=0)


def _weighted_auc(is_pos: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC of ``score`` for ``is_pos`` under each row of weights ``w`` (ties count one half)."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ws = w[:, order]
    pos = is_pos[order]
    gp = np.add.reduceat(ws * pos, starts, axis=1)          # positive weight per distinct score
    gn = np.add.reduceat(ws * ~pos, starts, axis=1)
    above = np.cumsum(gp, axis=1) - gp                       # positive weight scored higher
    wp, wn = gp.sum(axis=1), gn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(gn * (above + 0.5 * gp), axis=1) / (wp * wn)
