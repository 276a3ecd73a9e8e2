"""Which inputs does a table model use? Permutation importance with intervals, partial dependence.

Permutation importance (Breiman 2001): shuffle one input column and see how much the primary
metric worsens (ROC AUC for classification; RMSE in the target's units for regression). The
point estimate is ``sklearn.inspection.permutation_importance``. Its spread over repeated
shuffles is not the uncertainty that matters: the test split is one sample of the sky. The 95%
interval here comes from a bootstrap over test rows (stratified by class), each resample with a
fresh shuffle, all of a block's shuffled copies predicted in one call.

``predict`` is any function from an (N, d) array to scores: probabilities ((N,) of the positive
class, or (N, K)) or predictions in the target's units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.errors import NnstudioError

N_BOOT = 200
N_REPEATS = 10
MAX_ROWS_PER_CALL = 500_000


@dataclass
class Importance:
    input: str
    mean: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"input": self.input, "mean": self.mean, "low": self.low, "high": self.high}


def primary_score(problem: str, y, scores, positive: int = 1) -> float:
    """Greater is better: ROC AUC (the positive class's for two classes, macro one-vs-rest for
    more), or minus the RMSE."""
    from sklearn.metrics import roc_auc_score

    s = np.asarray(scores, dtype=np.float64)
    if problem == "regression":
        s = s[:, 0] if s.ndim == 2 else s
        return -float(np.sqrt(np.mean((s - np.asarray(y, dtype=np.float64)) ** 2)))
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 1 or s.shape[1] == 2:
        p = s if s.ndim == 1 else s[:, positive]
        if s.ndim == 1 and positive == 0:
            p = 1.0 - p
        return float(roc_auc_score(np.asarray(y) == positive, p))
    return float(roc_auc_score(y, s, multi_class="ovr", average="macro", labels=np.arange(s.shape[1])))


class _Fitted:
    """The smallest fitted estimator sklearn's inspection functions accept: a prediction function."""

    _estimator_type = "regressor"

    def __init__(self, predict):
        self._predict = predict
        self.fitted_ = True

    def fit(self, x, y=None):
        return self

    def predict(self, x):
        return self._predict(np.asarray(x, dtype=np.float32))

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags
        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True))


def _check(x, y, names):
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise NnstudioError(f"Permutation importance is for tables: expected (rows, inputs), got {x.shape}.")
    if len(x) < 10:
        raise NnstudioError(f"Permutation importance needs at least 10 rows; the split has {len(x)}.")
    if len(y) != len(x):
        raise NnstudioError("The inputs and the target have different numbers of rows.")
    if names is not None and len(names) != x.shape[1]:
        raise NnstudioError("One name per input column is needed.")
    return x


def sklearn_importance(predict, x, y, problem: str, n_repeats: int = N_REPEATS, seed: int = 0,
                       positive: int = 1) -> np.ndarray:
    """The mean drop of the primary metric per shuffled column (``sklearn.inspection``)."""
    from sklearn.inspection import permutation_importance

    def scorer(est, xx, yy):
        return primary_score(problem, yy, est.predict(xx), positive)

    r = permutation_importance(_Fitted(predict), x, y, scoring=scorer, n_repeats=n_repeats, random_state=seed)
    return np.asarray(r.importances_mean, dtype=np.float64)


def bootstrap_importance(predict, x, y, problem: str, n_boot: int = N_BOOT, seed: int = 0, positive: int = 1,
                         task=None) -> np.ndarray:
    """(n_boot, d) metric drops: resample the rows (within each class), shuffle one column of the
    resample, score the resample with and without the shuffle."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == k) for k in np.unique(y)] if problem == "classification" else [np.arange(n)]
    per_call = max(1, MAX_ROWS_PER_CALL // (n * (d + 1)))
    out = np.empty((n_boot, d))
    for start in range(0, n_boot, per_call):
        if task is not None:
            task.check()
            task.report_progress(start, n_boot, "permutation importance (bootstrap)")
        block = range(start, min(n_boot, start + per_call))
        rows = [np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups]) for _ in block]
        copies = []
        for r in rows:
            base = x[r]
            copies.append(base)
            for j in range(d):
                c = base.copy()
                c[:, j] = base[rng.permutation(len(r)), j]
                copies.append(c)
        scores = np.asarray(predict(np.concatenate(copies)))
        scores = scores.reshape((len(block), d + 1, n) + scores.shape[1:])
        for b, r in enumerate(rows):
            ref = primary_score(problem, y[r], scores[b, 0], positive)
            out[start + b] = [ref - primary_score(problem, y[r], scores[b, j + 1], positive) for j in range(d)]
    return out


def permutation_importance(predict, x, y, problem: str, names=None, n_boot: int = N_BOOT,
                           n_repeats: int = N_REPEATS, seed: int = 0, level: float = 0.95,
                           positive: int = 1, task=None) -> list[Importance]:
    """Every input's importance: sklearn's mean drop of the primary metric, with the ``level``
    percentile interval of the row bootstrap; most important first."""
    if problem not in ("classification", "regression"):
        raise NnstudioError(f"The problem must be 'classification' or 'regression', not {problem!r}.")
    x = _check(x, y, names)
    names = list(names) if names is not None else [f"x{j}" for j in range(x.shape[1])]
    mean = sklearn_importance(predict, x, y, problem, n_repeats, seed, positive)
    boot = bootstrap_importance(predict, x, y, problem, n_boot, seed, positive, task)
    half = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(boot, [half, 1.0 - half], axis=0)
    rows = [Importance(n, float(m), float(a), float(b)) for n, m, a, b in zip(names, mean, lo, hi)]
    return sorted(rows, key=lambda r: -r.mean)


@dataclass
class PartialDependence:
    """Output against one input, the others held: the average (partial dependence) and each
    row's own curve (ICE), on ``grid`` (in the units of the ``x`` given)."""

    input: str
    grid: np.ndarray
    average: np.ndarray
    individual: np.ndarray          # (rows, grid)

    def to_dict(self) -> dict:
        return {"input": self.input, "grid": self.grid.tolist(), "average": self.average.tolist(),
                "individual": self.individual.tolist()}


def partial_dependence(predict, x, column: int, name: str | None = None, grid_resolution: int = 20,
                       max_rows: int = 100, seed: int = 0) -> PartialDependence:
    """``sklearn.inspection.partial_dependence`` of ``predict``'s output (one value per row) on
    input ``column``, with ICE curves of up to ``max_rows`` rows."""
    from sklearn.inspection import partial_dependence as sk_pd

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or not 0 <= column < x.shape[1]:
        raise NnstudioError(f"No input column {column} in a table of shape {x.shape}.")
    if len(x) > max_rows:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_rows, replace=False))]

    def one(xx):
        s = np.asarray(predict(xx), dtype=np.float64)
        return s[:, 0] if s.ndim == 2 else s

    r = sk_pd(_Fitted(one), x, [column], kind="both", grid_resolution=grid_resolution)
    return PartialDependence(name or f"x{column}", np.asarray(r["grid_values"][0], dtype=np.float64),
                             np.asarray(r["average"][0], dtype=np.float64),
                             np.asarray(r["individual"][0], dtype=np.float64))


__all__ = ["N_BOOT", "Importance", "PartialDependence", "bootstrap_importance", "partial_dependence",
           "permutation_importance", "primary_score", "sklearn_importance"]
