"""Regression diagnostics: error summaries, residual histogram and plot-ready downsampled arrays.

Residuals are ``r = y_pred - y_true`` (so a positive bias means the model predicts too high).
The scatter is the normalised median absolute deviation, NMAD = 1.4826 * median(|r - median(r)|),
which equals the standard deviation for Gaussian residuals but ignores catastrophic failures.
An *outlier* is a prediction further than a threshold from the truth, |r| > threshold; by default
the threshold is 3 x NMAD (``outlier_sigma``), or a fixed value in target units
(``outlier_threshold``) such as 0.15 for photometric redshifts. Measuring from the truth rather
than from the median residual means a biased model is not excused its bias.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.evaluation._common import downsample_indices, regression_inputs
from nnstudio.core.files import jsonable
from nnstudio.errors import NnstudioError

NMAD_FACTOR = 1.4826


def nmad(residuals) -> float:
    r = np.asarray(residuals, dtype=np.float64)
    return float(NMAD_FACTOR * np.median(np.abs(r - np.median(r))))


@dataclass
class RegressionDiagnostics:
    n_samples: int
    rmse: float
    mae: float
    r2: float | None
    bias: float
    scatter: float                      # NMAD of the residuals
    outlier_fraction: float
    outlier_threshold: float            # |r| above this counts as an outlier
    outlier_rule: str                   # how the threshold was chosen, in words
    residuals: np.ndarray               # (N,) y_pred - y_true
    hist_counts: np.ndarray             # residual histogram over the central 99.8%
    hist_edges: np.ndarray
    hist_below: int                     # residuals below / above the histogram range
    hist_above: int
    plot_index: np.ndarray              # indices of the downsampled points (sample browser)
    plot_true: np.ndarray
    plot_pred: np.ndarray
    plot_residual: np.ndarray
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Flat metrics for ``evaluate --json``."""
        return jsonable({
            "rmse": self.rmse, "mae": self.mae, "r2": self.r2, "bias": self.bias,
            "scatter_nmad": self.scatter, "outlier_fraction": self.outlier_fraction,
            "outlier_threshold": self.outlier_threshold, "n_samples": self.n_samples,
        })

    def to_dict(self, include_residuals: bool = False) -> dict:
        out = {
            "task": "regression", **self.summary(), "outlier_rule": self.outlier_rule,
            "histogram": {"counts": self.hist_counts, "edges": self.hist_edges,
                          "below": self.hist_below, "above": self.hist_above},
            "plot": {"index": self.plot_index, "true": self.plot_true, "pred": self.plot_pred,
                     "residual": self.plot_residual},
            "notes": list(self.notes),
        }
        if include_residuals:
            out["residuals"] = self.residuals
        return jsonable(out)

    def metrics_csv(self) -> str:
        s = self.summary()
        return "metric,value\n" + "".join(
            f"{k},{'' if v is None else f'{v:.6g}'}\n" for k, v in s.items())


def residual_histogram(residuals, bins: int = 50) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Histogram over the central 99.8% of residuals, so one wild point does not squash the rest.

    Returns (counts, edges, n_below, n_above); the points outside are counted, not hidden.
    """
    r = np.asarray(residuals, dtype=np.float64)
    lo, hi = np.quantile(r, [0.001, 0.999])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(r, bins=bins, range=(lo, hi))
    return counts, edges, int(np.sum(r < lo)), int(np.sum(r > hi))


def regression_diagnostics(y_true, y_pred, outlier_threshold: float | None = None,
                           outlier_sigma: float = 3.0, bins: int = 50,
                           max_points: int = 5000, seed: int = 0) -> RegressionDiagnostics:
    """Everything the Diagnostics panel shows for a regressor, on one evaluated split.

    ``y_pred`` may be (N,) or the (N, 2) [mean, sigma] output of a heteroscedastic model, whose
    mean is used. Plot arrays hold at most ``max_points`` samples: a seeded uniform sample plus
    the largest residuals, so 100k predictions draw without lag and outliers still show.
    """
    t, p, n = regression_inputs(y_true, y_pred)
    if outlier_threshold is not None and not outlier_threshold > 0:
        raise NnstudioError("The outlier threshold must be a positive number.")

    notes: list[str] = []
    r = p - t
    rmse = float(np.sqrt(np.mean(r * r)))
    mae = float(np.mean(np.abs(r)))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot > 0:
        r2 = 1.0 - float(np.sum(r * r)) / ss_tot
    else:
        r2 = None
        notes.append("All true values in the evaluated split are equal: R² is undefined.")
    scatter = nmad(r)
    if outlier_threshold is None:
        threshold = outlier_sigma * scatter
        rule = f"|residual| > {outlier_sigma:g} × NMAD"
    else:
        threshold = float(outlier_threshold)
        rule = f"|residual| > {threshold:g}"
    outlier_fraction = float(np.mean(np.abs(r) > threshold))

    counts, edges, below, above = residual_histogram(r, bins)
    idx = downsample_indices(n, max_points, priority=np.abs(r), seed=seed)
    if len(idx) < n:
        notes.append(f"Plots show {len(idx)} of {n} points (a random sample plus the largest residuals).")
    return RegressionDiagnostics(
        n_samples=n, rmse=rmse, mae=mae, r2=r2, bias=float(r.mean()), scatter=scatter,
        outlier_fraction=outlier_fraction, outlier_threshold=threshold, outlier_rule=rule,
        residuals=r, hist_counts=counts, hist_edges=edges, hist_below=below, hist_above=above,
        plot_index=idx, plot_true=t[idx], plot_pred=p[idx], plot_residual=r[idx], notes=notes,
    )
