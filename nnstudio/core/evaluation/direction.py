"""Which way is better for each metric: the one definition used wherever runs, trials or groups
are compared or a "best" is chosen.

Names are matched after their split prefix (``val_``, ``test_``, ``final_``, ``train_``), so
``val_roc_auc`` and ``test_roc_auc`` read as ``roc_auc``. Figures with no better direction
(bias and coverage, whose best is a target value, not an extreme) and settings that are not
performance figures (a decision threshold) have none.
"""
from __future__ import annotations

#: higher is better
HIGHER_IS_BETTER = frozenset({
    "accuracy", "balanced_accuracy", "binary_accuracy", "sparse_categorical_accuracy", "categorical_accuracy",
    "precision", "recall", "f1", "auc", "roc_auc", "roc_auc_macro", "average_precision", "r2",
})
#: lower is better
LOWER_IS_BETTER = frozenset({
    "loss", "mae", "mse", "rmse", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
    "nll", "log_loss", "crps", "brier", "ece", "scatter", "outlier_fraction",
})
#: numbers reported beside the metrics that are settings or counts, never compared
NOT_METRICS = frozenset({"threshold", "outlier_threshold", "learning_rate", "n", "support", "epochs"})

PREFIXES = ("test_", "val_", "final_", "train_")
#: the range a figure cannot leave (an interval is clipped to it)
_UNIT = {"accuracy", "balanced_accuracy", "precision", "recall", "f1", "auc", "roc_auc", "roc_auc_macro",
         "average_precision", "outlier_fraction", "ece", "brier", "coverage"}
_NON_NEGATIVE = {"mae", "mse", "rmse", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
                 "scatter", "crps"}


def base_name(metric: str) -> str:
    """``val_roc_auc`` -> ``roc_auc`` (one split prefix removed)."""
    for prefix in PREFIXES:
        if metric.startswith(prefix):
            return metric[len(prefix):]
    return metric


def higher_is_better(metric: str) -> bool | None:
    """True if higher is better, False if lower is, None when neither (bias, coverage, settings)."""
    base = base_name(metric)
    if base in HIGHER_IS_BETTER:
        return True
    if base in LOWER_IS_BETTER or base.endswith("_loss"):
        return False
    return None


def is_metric(metric: str) -> bool:
    """A performance figure (not a setting such as the decision threshold)."""
    return base_name(metric) not in NOT_METRICS


def bounds(metric: str) -> tuple[float, float]:
    """The range ``metric`` lives in: [0, 1] for rates and areas, [0, ∞) for errors, (−∞, 1] for R²."""
    base = base_name(metric)
    if base in _UNIT:
        return 0.0, 1.0
    if base in _NON_NEGATIVE:
        return 0.0, float("inf")
    if base == "r2":
        return float("-inf"), 1.0
    return float("-inf"), float("inf")


def is_better(a: float, b: float, metric: str) -> bool:
    """Is ``a`` strictly better than ``b`` in ``metric``? (False when the metric has no direction.)"""
    hib = higher_is_better(metric)
    if hib is None:
        return False
    return a > b if hib else a < b


def optuna_direction(metric: str) -> str:
    """"maximize" or "minimize" for a study that selects by ``metric``."""
    hib = higher_is_better(metric)
    if hib is None:
        raise ValueError(f"{metric!r} has no better direction to select by")
    return "maximize" if hib else "minimize"


__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "NOT_METRICS", "base_name", "bounds", "higher_is_better",
           "is_better", "is_metric", "optuna_direction"]
