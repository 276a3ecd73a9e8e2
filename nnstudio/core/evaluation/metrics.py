"""The flat metrics of point predictions, as every evaluation reports them (network or baseline)."""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation.classification import classification_diagnostics
from nnstudio.core.evaluation.regression import regression_diagnostics
from nnstudio.core.files import jsonable

REGRESSION_FIGURES = ("rmse", "mae", "r2", "bias", "scatter", "outlier_fraction", "outlier_threshold")
# With uneven classes, accuracy rewards saying the common class: these come first instead
IMBALANCED_FIRST = ("balanced_accuracy", "recall", "average_precision", "roc_auc", "f1", "precision")
IMBALANCED_RATIO = 3.0


def class_ratio(y, n_classes: int) -> float | None:
    """The largest class over the smallest present one (None with fewer than two present)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = counts[counts > 0]
    return float(present.max() / present.min()) if len(present) >= 2 else None


def order_metrics(metrics: dict, ratio: float | None) -> dict:
    """``metrics`` with the figures that matter under imbalance first when ``ratio`` (the training
    split's class ratio) is beyond :data:`IMBALANCED_RATIO`; otherwise unchanged."""
    if ratio is None or ratio <= IMBALANCED_RATIO:
        return metrics
    first = {k: metrics[k] for k in IMBALANCED_FIRST if k in metrics}
    return {**first, **{k: v for k, v in metrics.items() if k not in first}}


def point_metrics(problem: str, y_true, scores, class_names=None, *, threshold: float = 0.5,
                  positive: int = 1):
    """``(metrics, diagnostics)``: probabilities for classification, predictions in the target's
    units for regression. Classification adds the balanced accuracy (mean recall of the classes
    present) to the diagnostics' summary."""
    if problem == "classification":
        diag = classification_diagnostics(y_true, scores, class_names, threshold=threshold, positive=positive)
        metrics = jsonable(diag.summary())
        metrics["balanced_accuracy"] = float(np.mean(diag.recall[diag.support > 0]))
        return metrics, diag
    diag = regression_diagnostics(y_true, scores)
    return jsonable({k: getattr(diag, k) for k in REGRESSION_FIGURES}), diag
