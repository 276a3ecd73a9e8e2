"""The flat metrics of point predictions, as every evaluation reports them (network or baseline)."""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation.classification import classification_diagnostics
from nnstudio.core.evaluation.regression import regression_diagnostics
from nnstudio.core.files import jsonable

REGRESSION_FIGURES = ("rmse", "mae", "r2", "bias", "scatter", "outlier_fraction", "outlier_threshold")


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
