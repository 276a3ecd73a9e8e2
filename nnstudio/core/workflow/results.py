"""What an evaluation returns: typed results with ``to_dict()`` for JSON.

Per-sample arrays (``arrays``) are for plots and sample browsers; ``to_dict()`` leaves them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nnstudio.core.files import jsonable

#: the project file's names of the uncertainty methods (key -> label)
METHODS = {
    "auto": "Automatic",
    "heteroscedastic": "Mean-and-variance head",
    "mc_dropout": "MC dropout",
    "ensemble": "Deep ensemble",
}
SPLIT_LABELS = {"test": "test", "val": "validation"}


@dataclass
class UncertaintyResult:
    """Uncertainty on one split by one method, with the checks that say whether to trust it.

    ``method`` is the method that ran ("heteroscedastic", "residual", "mc_dropout", "ensemble",
    "softmax"; "auto" resolves to one of them); ``summary`` the regression or classification
    uncertainty summary; ``conformal`` the split-conformal summary at ``level`` (None without a
    calibration split); ``verdict`` ``{"level": "good" | "warn" | "bad", "text"}``.
    """

    method: str
    method_label: str
    summary: dict
    conformal: dict | None
    verdict: dict
    level: float
    notes: list[str] = field(default_factory=list)
    n_passes: int | None = None              # MC dropout passes
    temperature: float | None = None         # classifiers: fitted on the validation split
    histograms: dict = field(default_factory=dict)   # name -> (counts, edges)
    ensemble: dict | None = None             # {"group", "members"} for the deep ensemble
    arrays: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = dict(self.summary)
        out.update(method=self.method, method_label=self.method_label, conformal=self.conformal,
                   verdict=self.verdict, level=self.level, notes=list(self.notes),
                   n_passes=self.n_passes)
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.ensemble is not None:
            out["ensemble"] = self.ensemble
        return jsonable(out)


@dataclass
class BaselineResult:
    """A model without a network on the same split: its metrics with their 95% intervals, and its
    point predictions (``proba`` or ``mean`` in the target's units) for the curves."""

    name: str
    label: str
    metrics: dict
    metrics_ci: dict = field(default_factory=dict)
    note: str = ""
    arrays: dict[str, Any] = field(default_factory=dict)
    parameters: dict | None = None            # a formula's {name: {"value", "error"}}

    def to_dict(self) -> dict:
        out = {"label": self.label, "note": self.note, "metrics": self.metrics,
               "metrics_ci": {k: [lo, hi] for k, (lo, hi) in self.metrics_ci.items()}}
        if self.parameters is not None:
            out["parameters"] = self.parameters
        return jsonable(out)


@dataclass
class EvaluationResult:
    """A trained model on one held-out split: metrics, diagnostics and uncertainty, computed once.

    ``problem`` is "classification" or "regression"; ``diagnostics`` the
    :class:`ClassificationDiagnostics` (threshold 0.5) or :class:`RegressionDiagnostics` the
    Diagnostics panel draws; ``arrays`` the per-sample point predictions (``index``, ``y_true``,
    then ``proba``, ``y_pred``, ``confidence``, ``entropy`` or ``mean``, ``residual``).
    """

    problem: str
    split: str
    run: str | None
    n: int
    target: str
    metrics: dict
    uncertainty: UncertaintyResult
    metrics_ci: dict = field(default_factory=dict)   # name -> (low, high): 95%, bootstrap over samples
    diagnostics: Any = None
    class_names: list[str] | None = None
    hint: str | None = None
    arrays: dict[str, Any] = field(default_factory=dict)
    baselines: list[BaselineResult] = field(default_factory=list)
    # the network against the best baseline on the primary metric: a paired bootstrap
    # (PairedDifference.to_dict() plus "baseline" and "verdict" {"level", "text"})
    versus_baseline: dict | None = None
    class_ratio: float | None = None    # the training split's largest class over its smallest

    @property
    def imbalanced(self) -> bool:
        """Uneven enough that balanced accuracy, recall and PR AUC say more than accuracy."""
        from nnstudio.core.evaluation.metrics import IMBALANCED_RATIO

        return self.class_ratio is not None and self.class_ratio > IMBALANCED_RATIO

    @property
    def split_label(self) -> str:
        return SPLIT_LABELS.get(self.split, self.split)

    def to_dict(self) -> dict:
        out = {"problem": self.problem, "task": self.problem, "split": self.split, "run": self.run,
               "n": self.n, "target": self.target, "metrics": self.metrics,
               "metrics_ci": {k: [lo, hi] for k, (lo, hi) in self.metrics_ci.items()}}
        if self.class_names is not None:
            out["class_names"] = list(self.class_names)
            out["class_ratio"] = self.class_ratio
        out["uncertainty"] = self.uncertainty.to_dict()
        out["hint"] = self.hint
        out["baselines"] = {b.name: b.to_dict() for b in self.baselines}
        out["versus_baseline"] = self.versus_baseline
        return jsonable(out)


__all__ = ["METHODS", "SPLIT_LABELS", "BaselineResult", "EvaluationResult", "UncertaintyResult"]
