"""Baselines beside the network in every evaluation, and the verdict on whether it beats them.

The baselines (:mod:`nnstudio.core.evaluation.baselines`) and the project's physical formula
(:mod:`nnstudio.core.model.formula`) are fitted on the training split and scored on the
evaluated split with the network's metrics and intervals. The best of them is picked on the
validation split (never on the split being judged) and compared with the network by a paired
bootstrap of the primary metric (ROC AUC or RMSE).
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation.baselines import fit_baselines
from nnstudio.core.model.formula import FormulaFit, fit_formula, parse_formula
from nnstudio.core.evaluation.metrics import point_metrics
from nnstudio.core.evaluation.paired import HIGHER_IS_BETTER, LABELS, PRIMARY, paired_difference, primary_metric
from nnstudio.core.workflow.results import BaselineResult, EvaluationResult
from nnstudio.errors import NnstudioError


def fit_data_formula(prepared, text: str) -> FormulaFit:
    """``text`` parsed against the table's columns and fitted on the training split, in the
    data's own units."""
    if prepared.kind != "table":
        raise NnstudioError("A formula is written over a table's columns; image data have none.")
    if prepared.problem != "regression":
        raise NnstudioError("A formula predicts a number: it fits regression targets, not classes.")
    formula = parse_formula(text, prepared.feature_names)
    y = prepared.inverse_y(prepared.y["train"]).astype(np.float64)
    return fit_formula(formula, prepared.raw_columns("train"), y)


def residual_offset(project, prepared, config=None) -> dict | None:
    """The ``FormulaOffset`` arguments when the run learns what the project's formula misses
    (``training.residual``); None otherwise. The formula is fitted on the training split."""
    config = config or project.training
    if not config.residual:
        return None
    text = project.physics.formula
    if not text:
        raise NnstudioError("Learning the residual needs a physical formula: set one first "
                            "(`nnstudio baseline PROJECT --formula EXPR`).")
    fit = fit_data_formula(prepared, text)
    scaler = prepared.scaler or {"kind": "none"}
    columns = {}
    for name in fit.formula.columns:
        i = prepared.feature_names.index(name)
        if scaler["kind"] == "standard":
            shift, scale = scaler["mean"][i], scaler["std"][i]
        elif scaler["kind"] == "minmax":
            shift, scale = scaler["min"][i], scaler["max"][i] - scaler["min"][i]
        else:
            shift, scale = 0.0, 1.0
        columns[name] = {"index": i, "shift": float(shift), "scale": float(scale)}
    target = prepared.target_scaler or {"mean": 0.0, "std": 1.0}
    y = prepared.inverse_y(prepared.y["train"]).astype(np.float64)
    residual = y - fit.predict(prepared.raw_columns("train"))
    spread = float(np.std(residual) / np.std(y)) if np.std(y) > 0 else 1.0
    return {"formula": text, "columns": columns,
            "parameters": dict(zip(fit.formula.parameters, map(float, fit.values))),
            "target_mean": float(target["mean"]), "target_std": float(target["std"]),
            "residual_scale": spread if np.isfinite(spread) and spread > 0 else 1.0}


def baseline_results(prepared, split: str = "test", formula: str | None = None,
                     seed: int = 0) -> list[tuple[BaselineResult, dict]]:
    """Each baseline (and the formula, when given) fitted on the training split and scored on
    ``split`` with its intervals; beside each, its predictions per split (validation too), in
    the target's units or as probabilities."""
    from nnstudio.core.evaluation.bootstrap import metric_intervals

    problem = prepared.problem
    splits = tuple(s for s in dict.fromkeys(("val", split)) if prepared.count(s))
    candidates = []
    for b in fit_baselines(prepared, splits=splits, seed=seed):
        scores = {s: (v if problem == "classification" else prepared.inverse_y(v).astype(np.float64))
                  for s, v in b.scores.items()}
        candidates.append((BaselineResult(b.name, b.label, {}, note=b.note), scores))
    if formula:
        try:
            fit = fit_data_formula(prepared, formula)
            scores = {s: fit.predict(prepared.raw_columns(s)) for s in splits}
            candidates.append((BaselineResult("formula", f"formula {formula}", {}, note=fit.note,
                                              parameters=fit.parameters()), scores))
        except NnstudioError as exc:
            candidates.append((BaselineResult("formula", f"formula {formula}", {}, note=str(exc)), {}))
    y = np.asarray(prepared.y[split])
    class_names = prepared.class_names if problem == "classification" else None
    if problem == "regression":
        y = prepared.inverse_y(y).astype(np.float64)
    key = "proba" if problem == "classification" else "mean"
    for base, scores in candidates:
        s = scores.get(split)
        if s is None:
            continue
        if problem == "regression" and not np.all(np.isfinite(s)):
            base.note = "; ".join(filter(None, [base.note, "not finite on every sample: not scored"]))
            continue
        base.metrics, _diag = point_metrics(problem, y, s, class_names)
        ci = metric_intervals(problem, y, s, seed=seed)
        base.metrics_ci = {k: (float(lo), float(hi)) for k, (lo, hi) in ci.items() if k in base.metrics}
        base.arrays = {key: s}
    return candidates


def add_baselines(result: EvaluationResult, prepared, seed: int = 0, formula: str | None = None) -> None:
    """Fill ``result.baselines`` (and a formula's, when given) and ``result.versus_baseline``."""
    candidates = baseline_results(prepared, result.split, formula, seed)
    result.baselines = [b for b, _ in candidates]
    best = _best_on_validation(candidates, prepared, result)
    if best is None:
        return
    key = "proba" if result.problem == "classification" else "mean"
    diff = paired_difference(result.problem, result.arrays["y_true"], result.arrays[key], best.arrays[key],
                             seed=seed)
    result.versus_baseline = {**diff.to_dict(), "baseline": best.name, "baseline_label": best.label,
                              "verdict": verdict(diff, best.label, result.split_label)}


def _best_on_validation(candidates, prepared, result):
    """The scored baseline with the best primary metric on the validation split; when the
    validation split is the one judged (or empty), the last fitted one (logistic or ridge)."""
    scored = [(b, s) for b, s in candidates if b.arrays]
    if not scored:
        return None
    if prepared.count("val") == 0 or result.split == "val":
        fitted = [b for b, _ in scored if b.name in ("logistic", "ridge")]
        return fitted[-1] if fitted else scored[-1][0]
    y_val = np.asarray(prepared.y["val"])
    if result.problem == "regression":
        y_val = prepared.inverse_y(y_val).astype(np.float64)
    best, best_value = None, None
    for b, scores in scored:
        value = _primary(result.problem, y_val, scores.get("val"))
        if value is not None and (best_value is None or value > best_value):
            best, best_value = b, value
    return best or scored[-1][0]


def _primary(problem: str, y, scores) -> float | None:
    """The primary metric on validation, larger is better (−RMSE for regression); None where it
    cannot be had (a class missing from the split, a formula not finite)."""
    if scores is None or (problem == "regression" and not np.all(np.isfinite(scores))):
        return None
    try:
        value = primary_metric(problem, y, scores)
    except NnstudioError:
        return None
    if not np.isfinite(value):
        return None
    return value if HIGHER_IS_BETTER[PRIMARY[problem]] else -value


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
