"""Shared helpers: input checks with messages for people, downsampling."""
from __future__ import annotations

import numpy as np

from nnstudio.errors import NnstudioError


def as_1d_float(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise NnstudioError(f"Expected one value per sample for {name}, got an array of shape {arr.shape}.")
    return arr


def check_same_length(**arrays) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise NnstudioError(f"The arrays have different numbers of samples ({detail}).")
    n = next(iter(lengths.values()))
    if n == 0:
        raise NnstudioError("There are no samples to evaluate: the chosen split is empty.")
    return n


def check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NnstudioError(
            f"{bad} value(s) of {name} are NaN or infinite; the model may have diverged during training."
        )


def as_labels(y, n_classes: int | None = None) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise NnstudioError(f"Expected one class index per sample, got an array of shape {y.shape}.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise NnstudioError("Class labels must be whole numbers 0, 1, 2, ...")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise NnstudioError("Class labels must be 0, 1, 2, ...; found a negative label.")
    if n_classes is not None and y.size and y.max() >= n_classes:
        raise NnstudioError(
            f"Found class label {int(y.max())} but the model predicts only {n_classes} classes."
        )
    return y


def as_proba_matrix(proba) -> np.ndarray:
    """(N,) P(class 1) or (N,1) or (N,K) -> (N,K) float64 probabilities, checked."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim == 1:
        check_finite(p, "the predicted probabilities")
        p = np.stack([1.0 - p, p], axis=1)
    elif p.ndim != 2:
        raise NnstudioError(f"Expected probabilities of shape (N,) or (N, K), got {p.shape}.")
    check_finite(p, "the predicted probabilities")
    if p.size and (p.min() < -1e-6 or p.max() > 1 + 1e-6):
        raise NnstudioError(
            "The predictions are not probabilities (values outside 0..1); "
            "the output layer needs a sigmoid or softmax activation."
        )
    return np.clip(p, 0.0, 1.0)


def downsample_indices(n: int, max_points: int, priority: np.ndarray | None = None,
                       seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` points for plotting.

    A seeded uniform sample keeps the density honest; when ``priority`` is given, the tenth of
    the budget goes to the points with the largest priority (e.g. |residual|) so extremes stay
    visible in the plot.
    """
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = np.zeros(n, dtype=bool)
    if priority is not None:
        n_top = max_points // 10
        if n_top:
            keep[np.argpartition(-np.asarray(priority), n_top - 1)[:n_top]] = True
    rest = np.flatnonzero(~keep)
    n_rest = max_points - int(keep.sum())
    keep[rng.choice(rest, size=n_rest, replace=False)] = True
    return np.flatnonzero(keep)


def thin_curve(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of a monotone curve to draw: evenly spaced along its arc length, ends kept."""
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    seg = np.hypot(np.diff(x), np.diff(y))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return np.array([0, n - 1])
    targets = np.linspace(0.0, arc[-1], max_points)
    idx = np.searchsorted(arc, targets, side="left")
    return np.unique(np.clip(np.concatenate([[0], idx, [n - 1]]), 0, n - 1))


def bin_members(values, edges, i: int) -> np.ndarray:
    """Indices of ``values`` that ``np.histogram(values, bins=edges)`` counts in bin ``i``
    (half-open bins, the last one closed), so a clicked bar lists exactly its samples."""
    v = np.asarray(values, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if not 0 <= i < len(edges) - 1:
        return np.zeros(0, dtype=np.int64)
    lo, hi = edges[i], edges[i + 1]
    upper = (v <= hi) if i == len(edges) - 2 else (v < hi)
    return np.flatnonzero((v >= lo) & upper)


def regression_inputs(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, int]:
    """(true, predicted, n) as checked 1-D floats; [mean, σ] outputs give their mean."""
    pred = np.asarray(y_pred, dtype=np.float64)
    if pred.ndim == 2 and pred.shape[1] == 2:
        pred = pred[:, 0]
    t = as_1d_float(y_true, "the true values")
    p = as_1d_float(pred, "the predictions")
    n = check_same_length(y_true=t, y_pred=p)
    check_finite(t, "the true values")
    check_finite(p, "the predictions")
    return t, p, n
