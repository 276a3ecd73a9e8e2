"""Baselines beside the network in every evaluation, and the verdict on whether it beats them.

The baselines (:mod:`nnstudio.core.evaluation.baselines`) are fitted on the training split and
scored on the evaluated split with the network's metrics and intervals. The best of them is
picked on the validation split (never on the split being judged) and compared with the network by
a paired bootstrap of the primary metric (ROC AUC or RMSE).
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation.baselines import fit_baselines
from nnstudio.core.evaluation.metrics import point_metrics
from nnstudio.core.evaluation.paired import LABELS, paired_difference
from nnstudio.core.workflow.results import BaselineResult, EvaluationResult


def add_baselines(result: EvaluationResult, prepared, seed: int = 0) -> None:
    """Fill ``result.baselines`` and ``result.versus_baseline``."""
    from nnstudio.core.evaluation.bootstrap import metric_intervals

    split = result.split
    fitted = fit_baselines(prepared, splits=tuple(dict.fromkeys(("val", split))), seed=seed)
    y = result.arrays["y_true"]
    for b in fitted:
        scores = b.scores[split]
        if result.problem == "regression":
            scores = prepared.inverse_y(scores).astype(np.float64)
        metrics, _diag = point_metrics(result.problem, y, scores, result.class_names)
        ci = metric_intervals(result.problem, y, scores, seed=seed)
        key = "proba" if result.problem == "classification" else "mean"
        result.baselines.append(BaselineResult(
            b.name, b.label, metrics, {k: (float(lo), float(hi)) for k, (lo, hi) in ci.items() if k in metrics},
            b.note, {key: scores}))
    best = _best_on_validation(fitted, prepared, result)
    if best is None:
        return
    net = result.arrays["proba" if result.problem == "classification" else "mean"]
    mine = next(r for r in result.baselines if r.name == best.name)
    theirs = mine.arrays["proba" if result.problem == "classification" else "mean"]
    diff = paired_difference(result.problem, y, net, theirs, seed=seed)
    result.versus_baseline = {**diff.to_dict(), "baseline": best.name, "baseline_label": best.label,
                              "verdict": verdict(diff, best.label, result.split_label)}


def _best_on_validation(fitted, prepared, result):
    """The baseline with the best primary metric on the validation split; without one, the
    fitted (non-constant) baseline."""
    if prepared.count("val") == 0 or result.split == "val":
        return fitted[-1] if fitted else None
    y_val = np.asarray(prepared.y["val"])
    best, best_value = None, None
    for b in fitted:
        scores = b.scores.get("val")
        if scores is None:
            continue
        if result.problem == "regression":
            value = -float(np.sqrt(np.mean((scores - y_val) ** 2)))   # scaled units: ranks alike
        else:
            try:
                from sklearn.metrics import roc_auc_score

                value = (roc_auc_score(y_val, scores[:, 1]) if scores.shape[1] == 2 else
                         roc_auc_score(y_val, scores, multi_class="ovr", average="macro",
                                       labels=np.arange(scores.shape[1])))
            except ValueError:          # a class missing from the validation split
                continue
        if best_value is None or value > best_value:
            best, best_value = b, value
    return best or (fitted[-1] if fitted else None)


def verdict(diff, baseline_label: str, split_label: str) -> dict:
    """``{"level", "text"}``: does the network beat the best baseline beyond the noise?"""
    from nnstudio.core.formatting import fmt_number

    name = LABELS[diff.metric]
    lo, hi = diff.interval
    gap = f"{fmt_number(diff.difference)} (95% interval {fmt_number(lo)} to {fmt_number(hi)}, paired bootstrap)"
    head = (f"{name} on the {split_label} split: network {fmt_number(diff.a)}, "
            f"{baseline_label} {fmt_number(diff.b)}; difference {gap}.")
    if diff.a_better is True:
        return {"level": "good", "text": f"The network beats the best baseline beyond the noise. {head}"}
    if diff.a_better is False:
        return {"level": "bad", "text": f"The {baseline_label} is better than the network beyond the noise: "
                                        f"the network has not earned its parameters. {head}"}
    return {"level": "warn", "text": f"The network does not beat the {baseline_label} beyond the noise "
                                     f"on {diff.n} samples. {head}"}
