"""The HTML report of an evaluated run: what the Diagnostics panel exports and `nnstudio report`
writes, from the same evaluation."""
from __future__ import annotations

import datetime
from pathlib import Path

from nnstudio.core.files import jsonable
from nnstudio.core.project import Project
from nnstudio.core.workflow.results import EvaluationResult

REPORT_SAMPLES = 4              # image samples the report explains (each with the sanity check)


def report_context(project: Project, result: EvaluationResult, prepared=None, diagnostics=None,
                   explanation=None) -> dict:
    """The context of :func:`nnstudio.core.evaluation.html_report` for ``result``; ``diagnostics``
    replaces ``result.diagnostics`` (a classifier at the threshold a person chose); ``explanation``
    (an :class:`~nnstudio.core.workflow.explain.Explanation`) adds the Explain section."""
    from nnstudio.core.model.infer import spec_summary

    d = diagnostics if diagnostics is not None else project_decision_diagnostics(project, result)
    split = result.split_label
    figures = jsonable(d.summary()) if result.problem == "classification" else result.metrics
    run = project.run(result.run)
    data = {"project": project.name, "problem": result.problem, "target": result.target,
            "evaluated split": f"{split} ({result.n} samples)"}
    if project.data is not None:
        data["data file"] = project.data.path
    if prepared is not None:
        data["inputs"] = ", ".join(prepared.feature_names) if prepared.feature_names else \
            "×".join(str(v) for v in prepared.input_shape)
        data.update({f"{s} samples": prepared.count(s) for s in ("train", "val", "cal", "test")})
    ctx = {"title": f"{project.name} — {result.run or 'model'} on the {split} split",
           "created": "Written by nnstudio on " + datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
           "data": data, "hint": result.hint, "metrics": _with_intervals(figures, result, d)}
    if run is not None:
        ctx["history"] = run.history
        ctx["model_summary"] = spec_summary(run.model, prepared.input_shape if prepared is not None else None)
    ctx["classification" if result.problem == "classification" else "regression"] = d
    unc = result.uncertainty.to_dict()
    ctx["conformal"] = unc.pop("conformal", None)
    unc.pop("verdict", None)
    ctx["uncertainty"] = unc
    notes = [f"Uncertainty: {result.uncertainty.verdict['text']}"]
    if result.split == "val":
        notes.append("Figures from the validation split, which chose the best epoch: slightly optimistic.")
    rule = project.decision
    if result.problem == "classification" and getattr(d, "threshold", None) is not None:
        name = (result.class_names or [])[d.positive] if d.positive < len(result.class_names or []) else d.positive
        chosen = {"test": "on the test split (so the test figures at it are optimistic)",
                  "val": "on the validation split"}.get(rule.split or "", "")
        notes.append(f"Decision: '{name}' when P({name}) ≥ {d.threshold:.3f}"
                     + (f", the project's threshold, chosen {chosen}." if rule.threshold == d.threshold
                        and chosen else "."))
    ctx["notes"] = notes
    if result.baselines:
        ctx["baselines"] = _baselines(result)
    if explanation is not None:
        ctx["explain"] = explain_context(explanation)
    return ctx


def explain_for_report(project: Project, prepared, split: str = "test", samples: int = REPORT_SAMPLES,
                       dataset=None, task=None):
    """What the report's Explain section shows: for images the maps of ``samples`` rows spread
    over ``split`` (with their sanity check and deletion curve); for tables the importance of
    every input on the whole split."""
    import numpy as np

    from nnstudio.core.workflow.explain import explain

    if prepared.kind != "images":
        return explain(project, split=split, prepared=prepared, task=task)
    index = np.asarray(prepared.index[split])
    if not len(index):
        return None
    rows = index[np.unique(np.linspace(0, len(index) - 1, min(samples, len(index))).round().astype(int))]
    return explain(project, rows=rows.tolist(), prepared=prepared, dataset=dataset, task=task)


def explain_context(e) -> dict:
    """The Explain section's content: importance rows with intervals (tables) or overlay PNGs
    with the sanity verdict and the deletion curve (images)."""
    from nnstudio.core.formatting import fmt_number

    if e.kind != "images":
        ranked = sorted(e.importance, key=lambda r: -r.mean)
        top = ranked[0].input if ranked else None
        pd = next((p for p in e.partial or [] if p.input == top), None)
        return {"kind": "table", "units": e.units, "split": e.split,
                "importance": [[r.input, r.mean, r.low, r.high] for r in ranked],
                "partial": pd.to_dict() if pd is not None else None,
                "output": "probability" if e.problem == "classification" else "prediction (the target's units)"}
    from nnstudio.core.evaluation.explain_images import METHOD_LABELS
    from nnstudio.core.evaluation.png import png_bytes
    from nnstudio.core.workflow.explain import overlay

    h, w = e.images.shape[1:3]
    zoom = max(1, round(160 / max(h, w)))
    images = {}
    for k, row in enumerate(e.rows):
        c = e.sanity.correlations[k] if k < len(e.sanity.correlations) else float("nan")
        caption = (f"row {int(row)} ({e.splits[k]}): {e.explained[k]} = {fmt_number(float(e.scores[k]))}; "
                   f"rank correlation with the randomised model's map {fmt_number(float(c))}")
        images[caption] = png_bytes(overlay(e.images[k], e.maps.summed[k], zoom=zoom)[::-1])   # row 0 at the bottom
    d = e.deletion
    return {"kind": "images", "method": METHOD_LABELS.get(e.method, e.method), "units": e.units,
            "informative": e.sanity.informative, "verdict": e.sanity.verdict, "images": images,
            "deletion": d.to_dict(), "notes": list(e.notes)}


def project_decision_diagnostics(project: Project, result: EvaluationResult):
    """A classifier's diagnostics at the project's decision rule (its positive class and
    threshold); the evaluated ones when the project has none, or none that fits."""
    from nnstudio.core.evaluation import diagnostics_at

    d, rule = result.diagnostics, project.decision
    if (result.problem != "classification" or rule.threshold is None or rule.positive is None
            or rule.positive >= d.n_classes):
        return d
    return diagnostics_at(d, result.arrays["y_true"], result.arrays["proba"], rule.threshold, rule.positive)


def _baselines(result: EvaluationResult) -> dict:
    """The network and each baseline on the problem's main metrics, with intervals; the verdict."""
    from nnstudio.core.formatting import fmt_interval, fmt_number

    keys = (("roc_auc", "accuracy", "balanced_accuracy") if result.problem == "classification"
            else ("rmse", "mae", "r2"))

    def cells(metrics, ci):
        return [f"{fmt_number(metrics[k])} (95%: {fmt_interval(*ci[k])})" if k in ci and isinstance(
            metrics.get(k), float) else fmt_number(metrics.get(k)) for k in keys]

    rows = [["network", *cells(result.metrics, result.metrics_ci)]]
    notes = []
    for b in result.baselines:
        rows.append([b.label, *cells(b.metrics, b.metrics_ci)])
        if b.parameters:
            notes.append(f"{b.label}: " + ", ".join(f"{k} = {fmt_number(v['value'])} ± {fmt_number(v['error'])}"
                                                     for k, v in b.parameters.items()))
        if b.note:
            notes.append(f"{b.label}: {b.note}")
    verdict = (result.versus_baseline or {}).get("verdict", {}).get("text")
    return {"header": ["model", *keys], "rows": rows, "verdict": verdict, "notes": notes}


def _with_intervals(figures: dict, result: EvaluationResult, d) -> dict:
    """Scalar figures, each with its 95% interval where it has one (a classifier's intervals
    belong to the evaluated decision; the areas under its curves to any threshold)."""
    from nnstudio.core.formatting import fmt_interval, fmt_number

    same = d is result.diagnostics or (getattr(d, "threshold", None) == result.diagnostics.threshold
                                       and getattr(d, "positive", None) == result.diagnostics.positive)
    out = {}
    for k, v in figures.items():
        if isinstance(v, (dict, list)):
            continue
        ci = result.metrics_ci.get(k) if (same or k in ("roc_auc", "average_precision")) else None
        out[k] = f"{fmt_number(v)}  (95%: {fmt_interval(*ci)})" if ci and isinstance(v, float) else v
    return out


def write_report(project: Project, result: EvaluationResult, out: str | Path, prepared=None,
                 diagnostics=None, explanation=None) -> Path:
    """Write the self-contained HTML report of ``result`` to ``out`` (atomically)."""
    from nnstudio.core.evaluation import write_html_report

    out = Path(out)
    write_html_report(out, report_context(project, result, prepared, diagnostics, explanation))
    return out.absolute()


__all__ = ["REPORT_SAMPLES", "explain_context", "explain_for_report", "project_decision_diagnostics",
           "report_context", "write_report"]
