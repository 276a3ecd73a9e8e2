"""Classification diagnostics: confusion matrix, per-class scores, ROC and precision-recall.

Conventions (shared with the rest of nnstudio): ``y_true`` holds class indices 0..K-1; ``proba``
is either (N,) = P(class 1) from a single sigmoid unit, or (N, K) softmax probabilities.

The decision rule, used everywhere here so the numbers agree with each other:

* with a ``threshold``: predict the ``positive`` class when P(positive) >= threshold, otherwise
  the most probable of the other classes. For two classes that is the usual binary threshold.
* with ``threshold=None``: the most probable class (argmax). For K > 2 the diagnostics use argmax
  for the confusion matrix, and the threshold only moves the operating point on the positive
  class's one-vs-rest ROC and PR curves; :func:`confusion_at` can apply the threshold rule to all
  K classes for a slider that should move the matrix too.

Curves keep every distinct score as a threshold (no points dropped), so the operating point at any
threshold is exact and found with one binary search.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from nnstudio.core.evaluation._common import as_labels, as_proba_matrix, check_same_length, thin_curve
from nnstudio.core.files import jsonable
from nnstudio.errors import NnstudioError


# -- decisions and confusion ------------------------------------------------------------------

def predicted_labels(proba, threshold: float | None = 0.5, positive: int = 1) -> np.ndarray:
    """Predicted class per sample (int64) under the module's decision rule."""
    p = as_proba_matrix(proba)
    return _predict(p, threshold, positive)


def _predict(p: np.ndarray, threshold: float | None, positive: int) -> np.ndarray:
    k = p.shape[1]
    if threshold is None:
        return np.argmax(p, axis=1).astype(np.int64)
    _check_positive(positive, k)
    if k == 2:
        other = 1 - positive
        return np.where(p[:, positive] >= threshold, positive, other).astype(np.int64)
    rest = p.copy()
    rest[:, positive] = -np.inf
    return np.where(p[:, positive] >= threshold, positive, np.argmax(rest, axis=1)).astype(np.int64)


def _check_positive(positive: int, k: int) -> None:
    if not 0 <= positive < k:
        raise NnstudioError(f"The positive class must be one of 0..{k - 1}, not {positive}.")


def confusion_from_labels(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """K x K counts, rows = true class, columns = predicted class (vectorised bincount)."""
    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_at(y_true, proba, threshold: float | None = 0.5, positive: int = 1) -> np.ndarray:
    """Confusion matrix (counts) at ``threshold``: O(N), no sorting, meant for every slider move."""
    p = as_proba_matrix(proba)
    y = as_labels(y_true, p.shape[1])
    check_same_length(y_true=y, proba=p)
    return confusion_from_labels(y, _predict(p, threshold, positive), p.shape[1])


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the recall of each class on the diagonal); empty rows stay 0."""
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def metrics_from_confusion(cm: np.ndarray) -> dict:
    """Accuracy, per-class precision/recall/F1/support and their macro and weighted means.

    A class never predicted has precision 0, a class absent from the split has recall 0 (the
    convention of ``sklearn.metrics`` with ``zero_division=0``).
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = cm.sum()
    weights = support / total if total > 0 else np.zeros_like(support)
    return {
        "accuracy": float(tp.sum() / total) if total > 0 else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(np.int64),
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()),
                  "f1": float(f1.mean())},
        "weighted": {"precision": float(weights @ precision), "recall": float(weights @ recall),
                     "f1": float(weights @ f1)},
    }


# -- curves --------------------------------------------------------------------------------------

@dataclass
class ClassCurves:
    """One-vs-rest ROC and precision-recall curves of one class, at every distinct score.

    ``thresholds`` decrease and start at +inf (nothing predicted positive); ``tp``/``fp`` are the
    counts predicted positive (score >= threshold) that are / are not of this class.
    """

    label: str
    class_index: int
    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_pos: int
    n_neg: int
    auc: float | None
    average_precision: float | None

    @property
    def fpr(self) -> np.ndarray:
        return self.fp / self.n_neg if self.n_neg else np.full(len(self.fp), np.nan)

    @property
    def tpr(self) -> np.ndarray:
        return self.tp / self.n_pos if self.n_pos else np.full(len(self.tp), np.nan)

    @property
    def recall(self) -> np.ndarray:
        return self.tpr

    @property
    def precision(self) -> np.ndarray:
        """TP / (TP + FP); 1 where nothing is predicted positive (the PR curve's usual start)."""
        pred = self.tp + self.fp
        return np.divide(self.tp, pred, out=np.ones(len(pred)), where=pred > 0)

    def at(self, threshold: float) -> tuple[float, float, float, float]:
        """(fpr, tpr, precision, recall) when samples with score >= ``threshold`` are positive."""
        # thresholds decrease: count how many are >= threshold with a search on their negatives
        i = int(np.searchsorted(-self.thresholds, -float(threshold), side="right")) - 1
        i = max(i, 0)
        tp, fp = float(self.tp[i]), float(self.fp[i])
        fpr = fp / self.n_neg if self.n_neg else float("nan")
        tpr = tp / self.n_pos if self.n_pos else float("nan")
        precision = tp / (tp + fp) if tp + fp > 0 else 1.0
        return fpr, tpr, precision, tpr

    def to_dict(self, max_points: int = 1000) -> dict:
        fpr, tpr, precision = self.fpr, self.tpr, self.precision
        roc = thin_curve(np.nan_to_num(fpr), np.nan_to_num(tpr), max_points)
        pr = thin_curve(np.nan_to_num(tpr), precision, max_points)
        thr = np.where(np.isfinite(self.thresholds), self.thresholds, np.nan)
        return jsonable({
            "label": self.label, "class_index": self.class_index,
            "n_pos": self.n_pos, "n_neg": self.n_neg,
            "auc": self.auc, "average_precision": self.average_precision,
            "roc": {"fpr": fpr[roc], "tpr": tpr[roc], "thresholds": thr[roc]},
            "pr": {"recall": tpr[pr], "precision": precision[pr], "thresholds": thr[pr]},
        })


def class_curves(scores: np.ndarray, is_pos: np.ndarray, label: str = "",
                 class_index: int = 1) -> ClassCurves:
    """Curves for one class from its scores: one sort, then cumulative counts at each distinct score."""
    scores = np.asarray(scores, dtype=np.float64)
    is_pos = np.asarray(is_pos, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    cum_pos = np.cumsum(is_pos[order])
    last_of_run = np.concatenate([np.flatnonzero(np.diff(s) != 0), [len(s) - 1]])
    tp = np.concatenate([[0], cum_pos[last_of_run]]).astype(np.int64)
    fp = np.concatenate([[0], last_of_run + 1]).astype(np.int64) - tp
    thresholds = np.concatenate([[np.inf], s[last_of_run]])
    n_pos = int(tp[-1])
    n_neg = int(fp[-1])
    auc = ap = None
    if n_pos and n_neg:
        from sklearn.metrics import roc_auc_score
        auc = float(roc_auc_score(is_pos, scores))
    if n_pos:
        # average precision as sklearn defines it: sum over thresholds of (R_n - R_{n-1}) P_n
        pred = tp + fp
        precision = np.divide(tp, pred, out=np.ones(len(pred)), where=pred > 0)
        ap = float(np.sum(np.diff(tp / n_pos) * precision[1:]))
    return ClassCurves(label, class_index, thresholds, tp, fp, n_pos, n_neg, auc, ap)


def operating_point(diag_or_curves, threshold: float) -> tuple[float, float, float, float]:
    """(fpr, tpr, precision, recall) of the positive class at ``threshold``.

    Takes a :class:`ClassificationDiagnostics` (uses its positive class) or one
    :class:`ClassCurves`. One binary search: cheap enough for every slider move.
    """
    if isinstance(diag_or_curves, ClassificationDiagnostics):
        curves = diag_or_curves.curves[diag_or_curves.positive]
    elif isinstance(diag_or_curves, ClassCurves):
        curves = diag_or_curves
    else:
        raise TypeError("operating_point needs ClassificationDiagnostics or ClassCurves")
    return curves.at(threshold)


# -- the whole picture -------------------------------------------------------------------------

@dataclass
class ClassificationDiagnostics:
    class_names: list[str]
    n_samples: int
    threshold: float | None
    positive: int
    decision: str                       # "threshold" or "argmax"
    y_pred: np.ndarray                  # (N,) predicted class indices, for the sample browser
    confusion: np.ndarray               # (K, K) counts: rows true, columns predicted
    confusion_normalised: np.ndarray    # rows sum to 1 (0 for classes absent from the split)
    accuracy: float
    precision: np.ndarray               # (K,)
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro: dict
    weighted: dict
    curves: list[ClassCurves]           # one-vs-rest, one per class
    roc_auc: float | None               # binary: the positive class's; K > 2: macro over classes
    roc_auc_macro: float | None
    average_precision: float | None     # binary: the positive class's; K > 2: macro
    notes: list[str] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> dict:
        """Flat metrics for ``evaluate --json``: binary figures are the positive class's, K > 2 macro."""
        binary = self.n_classes == 2
        pick = (lambda arr, key: float(arr[self.positive])) if binary else (lambda arr, key: self.macro[key])
        return jsonable({
            "accuracy": self.accuracy,
            "precision": pick(self.precision, "precision"),
            "recall": pick(self.recall, "recall"),
            "f1": pick(self.f1, "f1"),
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "confusion_matrix": self.confusion,
            "threshold": self.threshold,
            "positive_class": self.class_names[self.positive],
            "per_class": {
                name: {"precision": self.precision[i], "recall": self.recall[i], "f1": self.f1[i],
                       "support": self.support[i], "roc_auc": self.curves[i].auc,
                       "average_precision": self.curves[i].average_precision}
                for i, name in enumerate(self.class_names)
            },
            "macro": self.macro, "weighted": self.weighted,
        })

    def to_dict(self, max_curve_points: int = 1000, include_predictions: bool = False) -> dict:
        out = {
            "task": "classification", "class_names": list(self.class_names),
            "n_samples": self.n_samples, "threshold": self.threshold, "positive": self.positive,
            "decision": self.decision, "confusion": self.confusion,
            "confusion_normalised": self.confusion_normalised, "accuracy": self.accuracy,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "support": self.support, "macro": self.macro, "weighted": self.weighted,
            "curves": [c.to_dict(max_curve_points) for c in self.curves],
            "roc_auc": self.roc_auc, "roc_auc_macro": self.roc_auc_macro,
            "average_precision": self.average_precision, "notes": list(self.notes),
        }
        if include_predictions:
            out["y_pred"] = self.y_pred
        return jsonable(out)

    def metrics_csv(self) -> str:
        """Per-class table, then macro and weighted rows, as CSV text."""
        lines = ["class,precision,recall,f1,support,roc_auc,average_precision"]
        fmt = lambda v: "" if v is None else f"{v:.6g}"
        for i, name in enumerate(self.class_names):
            c = self.curves[i]
            safe = '"' + name.replace('"', '""') + '"'
            lines.append(f"{safe},{fmt(self.precision[i])},{fmt(self.recall[i])},{fmt(self.f1[i])},"
                         f"{int(self.support[i])},{fmt(c.auc)},{fmt(c.average_precision)}")
        for avg in ("macro", "weighted"):
            d = getattr(self, avg)
            lines.append(f"{avg},{fmt(d['precision'])},{fmt(d['recall'])},{fmt(d['f1'])},"
                         f"{self.n_samples},,")
        lines.append(f"accuracy,,,,{self.n_samples},{fmt(self.roc_auc)},{fmt(self.average_precision)}")
        return "\n".join(lines) + "\n"


def classification_diagnostics(y_true, proba, class_names: list[str] | None = None,
                               threshold: float = 0.5, positive: int = 1) -> ClassificationDiagnostics:
    """Everything the Diagnostics panel shows for a classifier, on one evaluated split."""
    p = as_proba_matrix(proba)
    k = p.shape[1]
    if class_names is None:
        class_names = [str(i) for i in range(k)]
    class_names = [str(c) for c in class_names]
    if len(class_names) != k:
        raise NnstudioError(
            f"The model predicts {k} classes but {len(class_names)} class names were given."
        )
    y = as_labels(y_true, k)
    n = check_same_length(y_true=y, proba=p)
    _check_positive(positive, k)
    if not 0.0 <= threshold <= 1.0:
        raise NnstudioError(f"The threshold must lie between 0 and 1, not {threshold}.")

    decision = "threshold" if k == 2 else "argmax"
    y_pred = _predict(p, threshold if k == 2 else None, positive)
    cm = confusion_from_labels(y, y_pred, k)
    m = metrics_from_confusion(cm)

    notes: list[str] = []
    curves = [class_curves(p[:, i], y == i, class_names[i], i) for i in range(k)]
    absent = [class_names[i] for i in range(k) if curves[i].n_pos == 0]
    if len(absent) == k - 1:
        present = next(c for c in class_names if c not in absent)
        notes.append(f"The evaluated split holds only class '{present}': ROC AUC and average "
                     "precision are undefined. Use a larger or stratified split.")
    elif absent:
        notes.append("No samples of class " + ", ".join(f"'{a}'" for a in absent) +
                     " in the evaluated split: its ROC AUC and average precision are undefined.")

    aucs = [c.auc for c in curves if c.auc is not None]
    aps = [c.average_precision for c in curves if c.average_precision is not None]
    auc_macro = float(np.mean(aucs)) if aucs else None
    if k == 2:
        roc_auc = curves[positive].auc
        ap = curves[positive].average_precision
    else:
        roc_auc = auc_macro
        ap = float(np.mean(aps)) if aps else None
        if aucs and len(aucs) < k:
            notes.append(f"Macro ROC AUC averages the {len(aucs)} classes present in the split.")

    return ClassificationDiagnostics(
        class_names=class_names, n_samples=n, threshold=float(threshold), positive=positive,
        decision=decision, y_pred=y_pred, confusion=cm, confusion_normalised=normalise_rows(cm),
        accuracy=m["accuracy"], precision=m["precision"], recall=m["recall"], f1=m["f1"],
        support=m["support"], macro=m["macro"], weighted=m["weighted"], curves=curves,
        roc_auc=roc_auc, roc_auc_macro=auc_macro, average_precision=ap, notes=notes,
    )


# -- the sample browser ----------------------------------------------------------------------------

def diagnostics_at(diag: ClassificationDiagnostics, y_true, proba, threshold: float | None,
                   positive: int, confusion: np.ndarray | None = None) -> ClassificationDiagnostics:
    """``diag`` at another decision (``threshold`` for the ``positive`` class, or argmax when None):
    the confusion matrix and the metrics read from it; the curves are the same. Pass ``confusion``
    when it is already known (a slider computes it on every move)."""
    cm = confusion_at(y_true, proba, threshold, positive) if confusion is None else np.asarray(confusion)
    m = metrics_from_confusion(cm)
    binary = diag.n_classes == 2
    return replace(diag, threshold=threshold, positive=positive,
                   decision="argmax" if threshold is None else "threshold",
                   y_pred=predicted_labels(proba, threshold, positive), confusion=cm.copy(),
                   confusion_normalised=normalise_rows(cm), accuracy=m["accuracy"],
                   precision=m["precision"], recall=m["recall"], f1=m["f1"], support=m["support"],
                   macro=m["macro"], weighted=m["weighted"],
                   roc_auc=diag.curves[positive].auc if binary else diag.roc_auc,
                   average_precision=diag.curves[positive].average_precision if binary
                   else diag.average_precision)


def cell_indices(y_true, y_pred, true_class: int, pred_class: int) -> np.ndarray:
    """Indices of the samples in one confusion-matrix cell."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.flatnonzero((y_true == true_class) & (y_pred == pred_class))


def confident_mistakes(y_true, proba, threshold: float | None = None, positive: int = 1,
                       limit: int | None = None) -> np.ndarray:
    """Indices of wrong predictions, most confident first (probability given to the wrong class)."""
    p = as_proba_matrix(proba)
    y = as_labels(y_true, p.shape[1])
    check_same_length(y_true=y, proba=p)
    pred = _predict(p, threshold, positive)
    wrong = np.flatnonzero(pred != y)
    conf = p[wrong, pred[wrong]]
    order = wrong[np.argsort(-conf, kind="stable")]
    return order[:limit] if limit is not None else order
