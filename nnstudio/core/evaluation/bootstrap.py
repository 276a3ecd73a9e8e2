"""Bootstrap confidence intervals of the evaluation metrics, vectorised over resamples.

Every figure the app reports gets an error bar from one recipe: draw ``n_resamples`` samples of
size N with replacement (a seeded ``numpy.random.Generator``), compute the metric on each, and
take the central ``level`` fraction of the values.

How it stays fast: a resample matters only through how often it draws each sample. Draws are
positions in one fixed order of the samples (by class and score, or by residual), counted per
resample row with ``bincount``; every metric is then a weighted sum, a prefix sum or an order
statistic of those counts, for all resamples at once:

* binary classification: both classes sorted by the positive class's score, so "predicted
  positive" is a prefix of each class; ROC AUC by ranks (Mann-Whitney: each negative draw
  scores the positive draws ranked above it, one half for ties) and average precision as
  ``sklearn.metrics.average_precision_score`` defines it (the sum over distinct thresholds of
  (R_n - R_{n-1}) P_n) from the prefix counts of the two classes;
* K > 2 classes: confusion counts as one matrix product of the counts with indicator columns,
  one-vs-rest AUC and average precision from cumulative counts per distinct score;
* regression: sums of r, r², |r|, t, t² per resample (RMSE, MAE, bias, R²) as one dot product
  per row; the NMAD scatter from order statistics of the prefix counts of the sorted residuals
  (the median by binary search, the median absolute deviation by searching both sides of it).

Resamples are drawn and reduced in blocks of rows so memory stays bounded for large N; a block
holds a (rows, N) draw matrix. :func:`metric_resamples` returns the whole (n_resamples, N) index
matrix on request, to check the values against a direct computation.

Classification resamples are stratified: each class is resampled within itself, so every
resample keeps the class counts (a class present in the data is present in every resample).

Intervals are percentile intervals: the metrics are bounded (accuracy, AUC in [0, 1]) and the
percentile interval keeps to the bounds and follows monotone transforms, where the basic
(reflected) interval can leave them; at these sample sizes their bootstrap distributions are
close to centred on the measured value. The exception is ECE (:func:`ece_interval`): it sums
absolute gaps, so resampling noise only adds to it and its bootstrap distribution sits above the
measured value (for a calibrated model, entirely above). There the basic interval,
2·ECE - q_high .. 2·ECE - q_low clipped at 0, reflects that bias back; it may lie below the
measured ECE, which is itself biased upward by the same noise. Resamples where a metric is
undefined (NaN: R² when every draw has the same target) are left out of its interval; a metric
undefined on every resample (ROC AUC when only one class is present) is left out of the result.
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation._common import (
    as_1d_float, as_labels, as_proba_matrix, check_finite, check_same_length, regression_inputs,
)
from nnstudio.core.evaluation.regression import NMAD_FACTOR
from nnstudio.errors import NnstudioError

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
                          "average_precision")
REGRESSION_METRICS = ("rmse", "mae", "r2", "bias", "scatter")

# draws per block of resamples (a few arrays of this size live at once, ~8 MB each)
_BLOCK_ENTRIES = 1 << 20
# up to this many samples the regression features stay in cache for one dot product per resample
_ROW_DOT_MAX = 1 << 14


# -- public API ----------------------------------------------------------------------------------

def metric_intervals(problem: str, y_true, scores, *, n_resamples: int = 1000, level: float = 0.95,
                     seed: int = 0, positive: int = 1,
                     threshold: float = 0.5) -> dict[str, tuple[float, float]]:
    """Bootstrap ``level`` intervals of the metrics the Diagnostics panel reports.

    ``problem`` "classification": ``scores`` are probabilities, (N,) P(class 1) or (N, K);
    metrics accuracy, balanced_accuracy, precision, recall, f1, roc_auc, average_precision,
    defined as in ``ClassificationDiagnostics.summary()`` (binary: threshold rule and the
    ``positive`` class's figures; K > 2: argmax and macro means). Resampling is stratified by class.

    ``problem`` "regression": ``scores`` are predictions in the target's units ((N, 2)
    [mean, sigma] uses the mean); metrics rmse, mae, r2, bias, scatter (NMAD of the residuals),
    as ``regression_diagnostics`` computes them.

    Returns ``{metric: (low, high)}`` of percentile intervals over ``n_resamples`` seeded
    resamples; metrics undefined on every resample are left out.
    """
    _check_level(level)
    values = metric_resamples(problem, y_true, scores, n_resamples=n_resamples, seed=seed,
                              positive=positive, threshold=threshold)
    out = {}
    for name, v in values.items():
        iv = _percentile_interval(v, level)
        if iv is not None:
            out[name] = iv
    return out


def metric_resamples(problem: str, y_true, scores, *, n_resamples: int = 1000, seed: int = 0,
                     positive: int = 1, threshold: float = 0.5, return_indices: bool = False):
    """Each metric on each resample: ``{metric: (n_resamples,) array}`` (NaN where undefined).

    With ``return_indices`` also returns the (n_resamples, N) matrix of sample indices each
    resample drew, to check the values against a direct computation.
    """
    n_resamples = _check_resamples(n_resamples)
    if problem == "classification":
        return _classification_resamples(y_true, scores, n_resamples, seed, positive, threshold,
                                         return_indices)
    if problem == "regression":
        return _regression_resamples(y_true, scores, n_resamples, seed, return_indices)
    raise NnstudioError(f"The problem must be 'classification' or 'regression', not {problem!r}.")


def ece_interval(proba, y_true, n_bins: int = 15, *, n_resamples: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """``level`` interval of the top-label expected calibration error, as
    ``expected_calibration_error`` computes it (equal-width bins on [0, 1]).

    Resampled stratified by class like :func:`metric_intervals`. A basic (reflected) interval
    clipped at 0, not a percentile one: resampling inflates ECE (module docstring), so the
    interval may lie below the measured value.
    """
    _check_level(level)
    values = ece_resamples(proba, y_true, n_bins, n_resamples=n_resamples, seed=seed)
    point = _ece_point(proba, y_true, n_bins)
    lo, hi = _percentile_interval(values, level)
    return max(0.0, 2.0 * point - hi), max(0.0, 2.0 * point - lo)


def ece_resamples(proba, y_true, n_bins: int = 15, *, n_resamples: int = 1000, seed: int = 0,
                  return_indices: bool = False):
    """ECE on each stratified resample: (n_resamples,) array (and the index matrix if asked)."""
    n_resamples = _check_resamples(n_resamples)
    which, conf, correct, y, k = _ece_inputs(proba, y_true, n_bins)
    order, sizes = _class_order(y, k)
    feats = np.zeros((len(y), 2 * n_bins))      # [correct per bin | confidence per bin]
    rows = np.arange(len(y))
    feats[rows, which[order]] = correct[order]
    feats[rows, n_bins + which[order]] = conf[order]
    out = []
    for groups in _draw_blocks(sizes, n_resamples, seed):
        sums = _group_counts(groups, sizes).astype(np.float64) @ feats
        out.append(np.abs(sums[:, :n_bins] - sums[:, n_bins:]).sum(axis=1) / len(y))
    values = np.concatenate(out)
    return (values, _indices(order, sizes, n_resamples, seed)) if return_indices else values


def coverage_interval(y, lower, upper, *, n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile ``level`` interval of the fraction of ``y`` inside [lower, upper] (bounds
    included, as ``interval_coverage`` counts it); plain (unstratified) resampling."""
    _check_level(level)
    return _percentile_interval(coverage_resamples(y, lower, upper, n_resamples=n_resamples,
                                                   seed=seed), level)


def coverage_resamples(y, lower, upper, *, n_resamples: int = 1000, seed: int = 0,
                       return_indices: bool = False):
    """Coverage on each resample: (n_resamples,) array (and the index matrix if asked)."""
    n_resamples = _check_resamples(n_resamples)
    inside = _inside(y, lower, upper)
    # inside samples first: a resample's coverage is the share of its draws below n_inside
    order = np.argsort(~inside, kind="stable")
    n_in = int(inside.sum())
    n = len(inside)
    values = np.concatenate([np.count_nonzero(d < n_in, axis=1) / n
                             for (d,) in _draw_blocks([n], n_resamples, seed)])
    return (values, _indices(order, [n], n_resamples, seed)) if return_indices else values


# -- resampling ----------------------------------------------------------------------------------

def _check_resamples(n_resamples) -> int:
    n = int(n_resamples)
    if n < 1:
        raise NnstudioError(f"The bootstrap needs at least one resample, not {n_resamples}.")
    return n


def _check_level(level: float) -> None:
    if not 0.0 < float(level) < 1.0:
        raise NnstudioError(f"The interval level must lie between 0 and 1 (e.g. 0.95), not {level}.")


def _block_rows(n: int, n_resamples: int) -> int:
    return max(1, min(n_resamples, _BLOCK_ENTRIES // max(n, 1)))


def _draw_blocks(sizes: list[int], n_resamples: int, seed: int, rows: int | None = None):
    """Blocks of resamples. Samples come in groups (the classes, or one group of all); each block
    is a list with one (rows, size) array per group of positions 0..size-1 drawn within that
    group, so every resample keeps the group sizes."""
    rng = np.random.default_rng(seed)
    rows = rows or _block_rows(sum(sizes), n_resamples)

    def block(first: int) -> list[np.ndarray]:
        return [_draw(rng, min(rows, n_resamples - first), s) for s in sizes]

    firsts = list(range(0, n_resamples, rows))
    if len(firsts) == 1:
        yield block(0)
        return
    # drawing releases the interpreter lock, counting (bincount) holds it: the next block is
    # drawn in a helper thread while the caller works on this one. One block at a time, in
    # order, so the resamples are those of a plain loop.
    pending = _helper().submit(block, firsts[0])
    for following in firsts[1:] + [None]:
        current = pending.result()
        if following is not None:
            pending = _helper().submit(block, following)
        yield current


_HELPER: list = []


def _helper():
    """One helper thread for the whole module, started on first use."""
    if not _HELPER:
        from concurrent.futures import ThreadPoolExecutor

        _HELPER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnstudio-bootstrap"))
    return _HELPER[0]


def _draw(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """(rows, size) positions drawn uniformly from 0..size-1. Below 2**16 samples one uniform
    integer below size² holds two positions (its quotient and remainder by size, independent
    and uniform), which halves the work of the generator."""
    if size < 2 or size >= 1 << 16:
        return rng.integers(0, max(size, 1), size=(rows, size))
    half = (size + 1) // 2
    pair = rng.integers(0, size * size, size=(rows, half), dtype=np.uint32)
    out = np.empty((rows, size), dtype=np.uint32)
    np.floor_divide(pair, np.uint32(size), out=out[:, :half])
    np.subtract(pair[:, :size - half], out[:, :size - half] * np.uint32(size), out=out[:, half:])
    return out


def _row_counts(draws: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """How often each position was drawn, (rows, size), and its prefix sums, (rows, size + 1):
    column j of the prefix holds the draws among positions < j. Row by row, where each row's
    counts stay in cache (several times faster than one bincount over the block)."""
    b = len(draws)
    counts = np.empty((b, size), dtype=np.int64)
    prefix = np.empty((b, size + 1), dtype=np.int64)
    prefix[:, 0] = 0
    for i in range(b):
        counts[i] = np.bincount(draws[i], minlength=size)
        counts[i].cumsum(out=prefix[i, 1:])
    return counts, prefix


def _group_counts(groups: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """(rows, N) counts of every position, the groups side by side."""
    b = len(groups[0])
    counts = np.empty((b, sum(sizes)), dtype=np.int64)
    start = 0
    for d, size in zip(groups, sizes):
        for i in range(b):
            counts[i, start:start + size] = np.bincount(d[i], minlength=size)
        start += size
    return counts


def _indices(order: np.ndarray, sizes: list[int], n_resamples: int, seed: int,
             rows: int | None = None) -> np.ndarray:
    """The (n_resamples, N) index matrix, into the caller's arrays, of the same resamples."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return np.concatenate([order[np.concatenate([d + s for d, s in zip(groups, starts)], axis=1)]
                           for groups in _draw_blocks(sizes, n_resamples, seed, rows)])


def _class_order(y: np.ndarray, k: int, key=None) -> tuple[np.ndarray, list[int]]:
    """Samples grouped by class (each class sorted by ``key``, highest first) and the class sizes."""
    order = np.lexsort((-key, y)) if key is not None else np.argsort(y, kind="stable")
    return order, [int(s) for s in np.bincount(y, minlength=k)]


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float] | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = np.quantile(v, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


# -- classification ------------------------------------------------------------------------------

def _classification_resamples(y_true, scores, n_resamples, seed, positive, threshold,
                              return_indices):
    p = as_proba_matrix(scores)
    k = p.shape[1]
    y = as_labels(y_true, k)
    check_same_length(y_true=y, scores=p)
    if not 0 <= positive < k:
        raise NnstudioError(f"The positive class must be one of 0..{k - 1}, not {positive}.")
    if k == 2 and not 0.0 <= threshold <= 1.0:
        raise NnstudioError(f"The threshold must lie between 0 and 1, not {threshold}.")
    order, sizes = _class_order(y, k, p[:, positive] if k == 2 else None)
    if k == 2:
        values = _binary_resamples(y, p[:, positive], order, sizes, positive, threshold,
                                   n_resamples, seed)
    else:
        values = _multiclass_resamples(y, p, order, sizes, n_resamples, seed)
    return (values, _indices(order, sizes, n_resamples, seed)) if return_indices else values


def _binary_resamples(y, score, order, sizes, positive, threshold, n_resamples, seed) -> dict:
    """Two classes: everything from the prefix counts of each class's draws, both classes sorted
    by the positive class's score (highest first).

    Predicted positive is score >= threshold, a prefix of each class. ROC AUC by ranks
    (Mann-Whitney): each negative draw scores the positive draws ranked above it, one half for
    ties. Average precision as sklearn defines it, sum over thresholds of (R_n - R_{n-1}) P_n: each
    positive draw adds 1/n_pos recall at the precision of its own score's threshold.
    """
    n_pos, n_neg = sizes[positive], sizes[1 - positive]
    n = n_pos + n_neg
    ranked = score[order]
    sp = -ranked[n_neg:] if positive else -ranked[:n_pos]      # negated: ascending, for searches
    sn = -ranked[:n_neg] if positive else -ranked[n_pos:]
    cut_pos = np.searchsorted(sp, -threshold, side="right")     # draws at or above the threshold
    cut_neg = np.searchsorted(sn, -threshold, side="right")
    above = np.searchsorted(sp, sn, side="left")                # positives scored above each negative
    level = np.searchsorted(sp, sn, side="right")               # ... or level with it
    ties = bool(np.any(above != level))
    pos_at = np.searchsorted(sp, sp, side="right")              # draws at or above each positive's
    neg_at = np.searchsorted(sn, sp, side="right")              # score: its threshold's TP and FP

    parts: dict[str, list[np.ndarray]] = {m: [] for m in CLASSIFICATION_METRICS}
    for groups in _draw_blocks(sizes, n_resamples, seed):
        cp, pp = _row_counts(groups[positive], n_pos)
        cn, pn = _row_counts(groups[1 - positive], n_neg)
        tp, fp = pp[:, cut_pos].astype(np.float64), pn[:, cut_neg].astype(np.float64)
        predicted = tp + fp
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = tp / n_pos if n_pos else np.zeros_like(tp)
        denom = precision + recall
        parts["accuracy"].append((tp + n_neg - fp) / n)
        parts["balanced_accuracy"].append(np.mean(
            ([recall] if n_pos else []) + ([(n_neg - fp) / n_neg] if n_neg else []), axis=0))
        parts["precision"].append(precision)
        parts["recall"].append(recall)
        parts["f1"].append(np.divide(2 * precision * recall, denom, out=np.zeros_like(tp),
                                     where=denom > 0))
        rows = len(tp)
        if n_pos and n_neg:
            scored = pp[:, above] + pp[:, level] if ties else 2 * pp[:, above]
            auc = np.einsum("ij,ij->i", cn, scored) / (2.0 * n_pos * n_neg)
        else:
            auc = np.full(rows, np.nan)
        if n_pos:
            tp_at = pp[:, pos_at].astype(np.float64)
            all_at = tp_at + pn[:, neg_at]
            prec_at = np.divide(tp_at, all_at, out=np.zeros_like(tp_at), where=all_at > 0)
            ap = np.einsum("ij,ij->i", cp, prec_at) / n_pos
        else:
            ap = np.full(rows, np.nan)
        parts["roc_auc"].append(auc)
        parts["average_precision"].append(ap)
    return {m: np.concatenate(v) for m, v in parts.items()}


def _multiclass_resamples(y, p, order, sizes, n_resamples, seed) -> dict:
    """K > 2: argmax decisions, macro precision/recall/F1 over all K classes, macro one-vs-rest
    ROC AUC and average precision over the classes where they are defined."""
    k = p.shape[1]
    n = len(y)
    yo, po = y[order], p[order]
    pred = np.argmax(po, axis=1)
    support = np.asarray(sizes, dtype=np.float64)
    rows = np.arange(n)
    feats = np.zeros((n, 2 * k))            # [true positives per class | predicted per class]
    feats[rows, pred] = pred == yo
    feats[rows, k + pred] = 1.0
    curves = [_curve_layout(po[:, c], yo == c) for c in range(k)]

    parts: dict[str, list[np.ndarray]] = {m: [] for m in CLASSIFICATION_METRICS}
    for groups in _draw_blocks(sizes, n_resamples, seed):
        w = _group_counts(groups, sizes).astype(np.float64)
        sums = w @ feats
        tp, predicted = sums[:, :k], sums[:, k:]
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
        parts["accuracy"].append(tp.sum(axis=1) / n)
        parts["balanced_accuracy"].append(recall[:, support > 0].mean(axis=1))
        parts["precision"].append(precision.mean(axis=1))
        parts["recall"].append(recall.mean(axis=1))
        parts["f1"].append(f1.mean(axis=1))
        aucs, aps = zip(*(_curve_metrics(w, lay) for lay in curves))
        parts["roc_auc"].append(_mean_defined(aucs, len(w)))
        parts["average_precision"].append(_mean_defined(aps, len(w)))
    return {m: np.concatenate(v) for m, v in parts.items()}


def _mean_defined(per_class, rows: int) -> np.ndarray:
    """Macro mean over the classes where the metric is defined (the same classes in every
    stratified resample); NaN when there is none."""
    defined = [v for v in per_class if v is not None]
    return np.mean(defined, axis=0) if defined else np.full(rows, np.nan)


def _curve_layout(score: np.ndarray, is_pos: np.ndarray) -> dict:
    """One class's one-vs-rest scores sorted once (descending), with the runs of equal scores."""
    perm = np.argsort(-score, kind="stable")
    s = score[perm]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(s) != 0) + 1])
    n_pos = int(is_pos.sum())
    return {"perm": perm, "pos": is_pos[perm].astype(np.float64), "starts": starts,
            "ties": len(starts) < len(s), "n_pos": n_pos, "n_neg": len(s) - n_pos}


def _curve_metrics(w: np.ndarray, lay: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
    """ROC AUC and average precision of one class on each resample row of the counts ``w``:
    cumulative positive and total draws at each distinct score, highest first."""
    n_pos, n_neg = lay["n_pos"], lay["n_neg"]
    if n_pos == 0:
        return None, None
    ws = w[:, lay["perm"]]
    pos = ws * lay["pos"]
    if lay["ties"]:                           # one threshold per distinct score
        pos = np.add.reduceat(pos, lay["starts"], axis=1)
        ws = np.add.reduceat(ws, lay["starts"], axis=1)
    cum_pos = np.cumsum(pos, axis=1)
    cum_all = np.cumsum(ws, axis=1)
    # precision at each threshold times the recall gained there
    precision = np.divide(cum_pos, cum_all, out=np.zeros_like(cum_pos), where=cum_all > 0)
    ap = np.einsum("ij,ij->i", pos, precision) / n_pos
    if n_neg == 0:
        return None, ap
    # Mann-Whitney: each negative scores the positives ranked above it, half for ties
    auc = np.einsum("ij,ij->i", ws - pos, cum_pos - 0.5 * pos) / (n_pos * n_neg)
    return auc, ap


# -- regression ----------------------------------------------------------------------------------

def _regression_resamples(y_true, scores, n_resamples, seed, return_indices):
    t, p, n = regression_inputs(y_true, scores)

    r_raw = p - t
    order = np.argsort(r_raw, kind="stable")        # draws are positions in residual order
    r = r_raw[order]
    tc = t[order] - t.mean()                        # centred: R²'s sum of squares without cancellation
    feats = np.stack([r, r * r, np.abs(r), tc, tc * tc])           # (5, N)
    run_start, run_end = _runs(r)
    mad = float(np.median(np.abs(r - np.median(r))))     # where the resamples' deviations lie

    # small blocks of draws stay in cache while counted; the prefix sums of several blocks are
    # kept for one search of the medians (its cost is per call, not per row)
    draw_rows = max(1, min(n_resamples, (_BLOCK_ENTRIES >> 2) // n))
    mad_rows = min(n_resamples, draw_rows * max(1, (_BLOCK_ENTRIES << 1) // n // draw_rows))
    prefix = np.zeros((mad_rows, n + 1), dtype=np.int64)
    # the sums: one dot product per row while the features stay in cache, else one matrix
    # product per block that reads them once
    per_row = n <= _ROW_DOT_MAX
    counts = np.empty((1 if per_row else mad_rows, n))
    sums = np.empty((n_resamples, len(feats)))
    scatter = np.empty(n_resamples)
    row = filled = 0
    for (draws,) in _draw_blocks([n], n_resamples, seed, draw_rows):
        for d in draws:                # row by row: the counts stay in cache for both uses
            c = np.bincount(d, minlength=n)
            c.cumsum(out=prefix[filled, 1:])
            if per_row:
                counts[0] = c
                np.dot(feats, counts[0], out=sums[row])
            else:
                counts[filled] = c
            row, filled = row + 1, filled + 1
            if filled == len(prefix) or row == n_resamples:
                if not per_row:
                    sums[row - filled:row] = counts[:filled] @ feats.T
                scatter[row - filled:row] = NMAD_FACTOR * _mad(r, prefix[:filled], run_start,
                                                               run_end, mad)
                filled = 0
    sse = sums[:, 1]
    ss_tot = sums[:, 4] - sums[:, 3] * sums[:, 3] / n
    degenerate = ss_tot <= 1e-12 * sums[:, 4]      # every draw the same target value
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(degenerate, np.nan, 1.0 - sse / ss_tot)
    values = {"rmse": np.sqrt(sse / n), "mae": sums[:, 2] / n, "r2": r2, "bias": sums[:, 0] / n,
              "scatter": scatter}
    if return_indices:
        return values, _indices(order, [n], n_resamples, seed, draw_rows)
    return values


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of a sorted array: where its run of equal values starts and ends (+1)."""
    n = len(sorted_values)
    new = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    start_idx = np.flatnonzero(new)
    run_id = np.cumsum(new) - 1
    ends = np.concatenate([start_idx[1:], [n]])
    return start_idx[run_id], ends[run_id]


def _order_stat(cum: np.ndarray, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Position of the k-th smallest draw (0-based) of each row: j with cum[j] <= k < cum[j + 1]."""
    lo = np.zeros(len(rows), dtype=np.int64)
    hi = np.full(len(rows), cum.shape[1] - 2, dtype=np.int64)
    while (lo < hi).any():
        mid = (lo + hi) // 2
        above = cum[rows, mid + 1] > k
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid + 1)
    return lo


def _middle(n: int) -> np.ndarray:
    """The order statistics whose mean is the median of n values (as ``np.median`` takes it)."""
    return np.array([n // 2]) if n % 2 else np.array([n // 2 - 1, n // 2])


def _mad(r: np.ndarray, cum: np.ndarray, run_start: np.ndarray, run_end: np.ndarray,
         guess: float | None = None) -> np.ndarray:
    """Median of |r - median(r)| per resample row, from the prefix counts of the sorted ``r``.

    Both middle order statistics (even N) are searched at once, as stacked copies of the rows.
    """
    n, b = len(r), len(cum)
    ks = _middle(n)
    rows = np.tile(np.arange(b), len(ks))
    k = np.repeat(ks, b)
    m = r[_order_stat(cum, rows, k)].reshape(len(ks), b)
    m = np.tile(m[0] if len(ks) == 1 else (m[0] + m[1]) / 2, len(ks))
    dev = _Deviations(r, run_start, run_end, cum, rows, m).order_stat(k, guess).reshape(len(ks), b)
    return dev[0] if len(ks) == 1 else (dev[0] + dev[1]) / 2


class _Deviations:
    """Order statistics of the deviations |r - m| of each row's draws, without forming them.

    Deviations grow with the position above the median and shrink with it below, so the draws
    with deviation <= d fill a run of positions either side of ``split`` that the prefix sums
    count. A binary search over the positions above the median, and one over those below, finds
    the smallest deviation holding k + 1 draws. The searches locate the other side's run end by
    searching m ± d, which rounding can move by a position; each answer is then checked exactly
    (#{dev < d} <= k < #{dev <= d}, with the deviations compared as ``np.abs(r - m)`` computes
    them) and the rare row that fails is searched again with exact run ends throughout.
    """

    def __init__(self, r, run_start, run_end, cum, rows, m):
        self.r, self.run_start, self.run_end = r, run_start, run_end
        self.cum, self.rows, self.m = cum, rows, m
        self.n = len(r)
        # padded by one at each end so positions -1..n need no clipping: index with j + 1
        pad = lambda a: np.concatenate([a[:1], a, a[-1:]])
        self.r_pad, self.start_pad, self.end_pad = pad(r), pad(run_start), pad(run_end)
        self.split = np.searchsorted(r, m, side="left")     # positions >= split: r >= m

    def at(self, j: np.ndarray) -> np.ndarray:
        return self.cum[self.rows, j]

    def dev(self, j: np.ndarray) -> np.ndarray:
        return np.abs(self.r_pad[j + 1] - self.m)

    def upper_end(self, d: np.ndarray, strict: bool = False) -> np.ndarray:
        """First position at or above the median whose deviation is not within d (< d when
        ``strict``, else <= d); n if none."""
        n, split = self.n, self.split
        within = np.less if strict else np.less_equal
        j = np.maximum(np.searchsorted(self.r, self.m + d, side="left" if strict else "right"), split)
        while True:
            grow = (j < n) & within(self.dev(j), d)
            shrink = (j > split) & ~within(self.dev(j - 1), d)
            if not (grow.any() or shrink.any()):
                return j
            j = np.where(grow, self.end_pad[j + 1], j)
            j = np.where(shrink, self.start_pad[j], j)

    def lower_start(self, d: np.ndarray, strict: bool = False) -> np.ndarray:
        """First position below the median from which every deviation is within d (split if none)."""
        split = self.split
        within = np.less if strict else np.less_equal
        j = np.minimum(np.searchsorted(self.r, self.m - d, side="right" if strict else "left"), split)
        while True:
            grow = (j > 0) & within(self.dev(j - 1), d)
            shrink = (j < split) & ~within(self.dev(j), d)
            if not (grow.any() or shrink.any()):
                return j
            j = np.where(grow, self.start_pad[j], j)
            j = np.where(shrink, self.end_pad[j + 1], j)

    def order_stat(self, k: np.ndarray, guess: float | None = None) -> np.ndarray:
        """The k-th smallest deviation (0-based) of each row. With ``guess`` (the deviation of the
        whole sample), the fast search only looks at deviations within 10% of it, where nearly
        every resample's answer lies; the exact check catches the others."""
        window = None
        if guess is not None and guess > 0:
            w = max(0.1, 8.0 / np.sqrt(self.n))
            if w < 1.0:
                window = (guess * (1.0 - w), guess * (1.0 + w))
        d = self._search(k, exact=False, window=window)
        below = self.at(self.upper_end(d, strict=True)) - self.at(self.lower_start(d, strict=True))
        upto = self.at(self.upper_end(d)) - self.at(self.lower_start(d))
        redo = ~((below <= k) & (upto > k))
        if redo.any():
            again = _Deviations(self.r, self.run_start, self.run_end, self.cum, self.rows[redo],
                                self.m[redo])
            d[redo] = again._search(k[redo], exact=True)
        return d

    def _search(self, k: np.ndarray, exact: bool, window=None) -> np.ndarray:
        """The smallest candidate deviation, above or below the median, with k + 1 draws within
        (among the positions whose deviation lies in ``window``, when given)."""
        n, split, need, r, m = self.n, self.split, k + 1, self.r, self.m
        # above: the smallest position i >= split with k + 1 draws within its deviation
        if window is None:
            lo, hi = split.copy(), np.full_like(split, n)
        else:
            lo = np.maximum(np.searchsorted(r, m + window[0], side="left"), split)
            hi = np.maximum(np.searchsorted(r, m + window[1], side="right"), lo)
        while (lo < hi).any():
            mid = (lo + hi) // 2
            d = self.dev(mid)
            start = self.lower_start(d) if exact else np.searchsorted(r, m - d, side="left")
            ok = (mid < hi) & (self.at(self.end_pad[mid + 1]) - self.at(start) >= need)
            hi = np.where(ok, mid, hi)
            lo = np.where(ok | (lo >= hi), lo, mid + 1)
        above = np.where(hi < n, self.dev(hi), np.inf)
        # below: the largest position i < split with k + 1 draws within its deviation
        if window is None:
            lo, hi = np.full_like(split, -1), split - 1
        else:
            hi = np.minimum(np.searchsorted(r, m - window[0], side="right"), split) - 1
            lo = np.minimum(np.searchsorted(r, m - window[1], side="left"), hi + 1) - 1
        while (lo < hi).any():
            mid = (lo + hi + 1) // 2
            d = self.dev(mid)
            end = self.upper_end(d) if exact else np.searchsorted(r, m + d, side="right")
            ok = (mid > lo) & (self.at(end) - self.at(self.start_pad[mid + 1]) >= need)
            lo = np.where(ok, mid, lo)
            hi = np.where(ok | (lo >= hi), hi, mid - 1)
        below = np.where(lo >= 0, self.dev(lo), np.inf)
        return np.minimum(above, below)


# -- calibration and coverage inputs -------------------------------------------------------------

def _ece_inputs(proba, y_true, n_bins: int):
    if n_bins < 1:
        raise NnstudioError("The calibration error needs at least one bin.")
    p = as_proba_matrix(proba)
    y = as_labels(y_true, p.shape[1])
    check_same_length(y_true=y, proba=p)
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(len(p)), pred]
    correct = (pred == y).astype(np.float64)
    which = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    return which, conf, correct, y, p.shape[1]


def _ece_point(proba, y_true, n_bins: int) -> float:
    which, conf, correct, y, _ = _ece_inputs(proba, y_true, n_bins)
    gap = np.bincount(which, weights=correct, minlength=n_bins) - \
        np.bincount(which, weights=conf, minlength=n_bins)
    return float(np.abs(gap).sum() / len(y))


def _inside(y, lower, upper) -> np.ndarray:
    y = as_1d_float(y, "the targets")
    lower, upper = (np.asarray(a, dtype=np.float64) for a in (lower, upper))
    # one number is a bound for every sample
    lower = as_1d_float(np.full(y.shape, lower) if lower.ndim == 0 else lower, "the lower bounds")
    upper = as_1d_float(np.full(y.shape, upper) if upper.ndim == 0 else upper, "the upper bounds")
    check_same_length(y=y, lower=lower, upper=upper)
    check_finite(y, "the targets")
    if np.isnan(lower).any() or np.isnan(upper).any():
        raise NnstudioError("Some interval bounds are NaN; the model may have diverged during "
                            "training.")
    return (y >= lower) & (y <= upper)


__all__ = ["CLASSIFICATION_METRICS", "REGRESSION_METRICS", "coverage_interval",
           "coverage_resamples", "ece_interval", "ece_resamples", "metric_intervals",
           "metric_resamples"]
