"""The one-file HTML report of a run: readable anywhere, no external files, every text escaped.

``context`` keys (all optional):

* ``title`` (str), ``created`` (str), ``notes`` (list of str)
* ``data``: dict of name -> value shown as a table (file, problem, sizes of the splits, ...)
* ``baselines``: ``{"header", "rows", "verdict", "notes"}``: models without a network beside it
* ``model_summary``: preformatted text (e.g. Keras's summary)
* ``history``: dict of metric -> list per epoch (training curves); ``hint``: a learning-curve hint
  (computed from ``history`` when absent)
* ``metrics``: dict of name -> value
* ``classification``: :class:`ClassificationDiagnostics` or its ``to_dict()``
* ``regression``: :class:`RegressionDiagnostics` or its ``to_dict()``
* ``uncertainty``: the dict of ``summarise_regression_uncertainty`` or
  ``summarise_classification_uncertainty``; ``conformal``: a ``summarise_conformal_*`` dict
* ``images``: dict of caption -> PNG (bytes, or base64 text) for plots drawn elsewhere
* ``explain``: tables ``{"kind": "table", "units", "split", "importance": [[input, mean, low, high]],
  "partial", "output"}``; images ``{"kind": "images", "method", "units", "informative", "verdict",
  "images": {caption: PNG}, "deletion", "notes"}``
"""
from __future__ import annotations

import base64
import json
from html import escape

import numpy as np

from nnstudio.core.evaluation import svg
from nnstudio.core.files import atomic_write_text, jsonable

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:1.6em;border-bottom:2px solid #1f77b4}h2{font-size:1.25em;margin-top:1.6em;color:#1f4e79}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#eef3f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
.plots{display:flex;flex-wrap:wrap;gap:12px}.note{color:#7a4b00;background:#fff6e0;padding:.4em .8em}
.hint{background:#eef6ee;padding:.5em .8em;border-left:4px solid #2ca02c}
"""


def _as_dict(obj):
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return jsonable(obj)


def _value(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) > 12:
        return f"({len(v)} values)"
    if isinstance(v, (dict, list, tuple)):
        return escape(json.dumps(jsonable(v))[:300])
    return escape(str(v))


def _kv_table(d: dict) -> str:
    rows = []
    for k, v in d.items():
        v = jsonable(v)
        cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
        rows.append(f"<tr><th>{escape(str(k))}</th><td{cls}>{_value(v)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _grid_table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_value(c)}</td>' if isinstance(c, (int, float)) and
                         not isinstance(c, bool) else f"<td>{_value(c)}</td>" for c in r) + "</tr>"
        for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(title: str, *parts: str) -> str:
    return f"<h2>{escape(title)}</h2>" + "".join(parts)


def _plots(*charts: str) -> str:
    return '<div class="plots">' + "".join(c for c in charts if c) + "</div>"


def _notes(notes) -> str:
    return "".join(f'<p class="note">{escape(str(n))}</p>' for n in notes or [])


def _history_section(history: dict, hint: str | None) -> str:
    charts = []
    losses = [k for k in history if k.endswith("loss")]
    others = sorted({k[4:] if k.startswith("val_") else k for k in history} -
                    {k[4:] if k.startswith("val_") else k for k in losses})
    groups = [("loss", ["loss", "val_loss"])] + [(m, [m, f"val_{m}"]) for m in others]
    for name, keys in groups:
        series = [{"x": np.arange(1, len(history[k]) + 1), "y": history[k], "label": k}
                  for k in keys if k in history and len(history[k])]
        if series:
            charts.append(svg.plot(series, title=name, xlabel="epoch", ylabel=name))
    hint_html = f'<p class="hint">{escape(hint)}</p>' if hint else ""
    return _section("Training curves", hint_html, _plots(*charts))


def _classification_section(d: dict) -> str:
    names = d["class_names"]
    summary = {"samples": d["n_samples"], "accuracy": d["accuracy"],
               "decision": d["decision"], "threshold": d["threshold"],
               "positive class": names[d["positive"]], "ROC AUC": d["roc_auc"],
               "average precision": d["average_precision"]}
    rows = [[n, d["precision"][i], d["recall"][i], d["f1"][i], d["support"][i],
             d["curves"][i]["auc"], d["curves"][i]["average_precision"]] for i, n in enumerate(names)]
    for avg in ("macro", "weighted"):
        rows.append([avg, d[avg]["precision"], d[avg]["recall"], d[avg]["f1"], d["n_samples"], None, None])
    curves = d["curves"] if len(names) > 2 else [d["curves"][d["positive"]]]
    roc = [{"x": c["roc"]["fpr"], "y": c["roc"]["tpr"],
            "label": f"{c['label']} (AUC {_value(c['auc'])})"} for c in curves if c["auc"] is not None]
    pr = [{"x": c["pr"]["recall"], "y": c["pr"]["precision"],
           "label": f"{c['label']} (AP {_value(c['average_precision'])})"}
          for c in curves if c["average_precision"] is not None]
    charts = [svg.heatmap(d["confusion"], names, "Confusion matrix (counts; colour: row fraction)",
                          values=d["confusion_normalised"])]
    if roc:
        charts.append(svg.plot(roc, "ROC", "false positive rate", "true positive rate",
                               xlim=(0, 1), ylim=(0, 1.02), diagonal=True, legend="lower right"))
    if pr:
        charts.append(svg.plot(pr, "Precision–recall", "recall", "precision", xlim=(0, 1), ylim=(0, 1.02)))
    return _section("Classification diagnostics", _kv_table(summary),
                    _grid_table(["class", "precision", "recall", "F1", "support", "ROC AUC", "AP"], rows),
                    _plots(*charts), _notes(d.get("notes")))


def _regression_section(d: dict) -> str:
    keys = ["n_samples", "rmse", "mae", "r2", "bias", "scatter_nmad", "outlier_fraction",
            "outlier_threshold", "outlier_rule"]
    p, h = d["plot"], d["histogram"]
    charts = [
        svg.plot([{"x": p["true"], "y": p["pred"], "kind": "points"}], "Predicted against true",
                 "true", "predicted", diagonal=True),
        svg.plot([{"x": p["true"], "y": p["residual"], "kind": "points"},
                  {"x": [min(p["true"] or [0]), max(p["true"] or [1])], "y": [0, 0], "color": "#888"}],
                 "Residuals against true", "true", "predicted − true"),
        svg.plot([{"x": h["edges"], "y": h["counts"], "kind": "hist"}], "Residual histogram",
                 "predicted − true", "count"),
    ]
    return _section("Regression diagnostics", _kv_table({k: d.get(k) for k in keys}),
                    _plots(*charts), _notes(d.get("notes")))


def _uncertainty_section(u: dict, conformal: dict | None) -> str:
    parts, charts = [], []
    scalars = {k: v for k, v in u.items() if not isinstance(v, (dict, list))}
    parts.append(_kv_table(scalars))
    if "calibration_curve" in u:
        c = u["calibration_curve"]
        charts.append(svg.plot([{"x": c["expected"], "y": c["observed"], "label": "observed"}],
                               "Interval calibration", "expected coverage", "observed coverage",
                               xlim=(0, 1), ylim=(0, 1), diagonal=True))
        ph = u["pit_histogram"]
        charts.append(svg.plot([{"x": ph["edges"], "y": ph["counts"], "kind": "hist"}],
                               "PIT histogram (flat when calibrated)", "PIT", "count"))
        es = u["error_vs_sigma"]
        charts.append(svg.plot([{"x": es["rms_sigma"], "y": es["rms_error"], "label": "bins of σ"}],
                               "Error against predicted σ", "RMS σ", "RMS error", diagonal=True))
    for key, label in (("reliability", "before"), ("reliability_after_temperature", "after")):
        r = u.get(key)
        if r:
            acc = np.array([np.nan if a is None else a for a in r["accuracy"]], dtype=float)
            conf = np.array([np.nan if a is None else a for a in r["confidence"]], dtype=float)
            charts.append(svg.plot(
                [{"x": conf, "y": acc, "label": f"ECE {_value(r['ece'])}"}],
                f"Reliability {label} temperature scaling", "confidence", "accuracy",
                xlim=(0, 1), ylim=(0, 1), diagonal=True))
    if conformal:
        parts.append("<h3>Conformal prediction</h3>" + _kv_table(
            {k: v for k, v in conformal.items() if not isinstance(v, (dict,))}))
    return _section("Uncertainty", *parts, _plots(*charts),
                    _notes(u.get("notes")), _notes((conformal or {}).get("notes")))


def _baselines_section(b: dict) -> str:
    """Models without a network beside it: ``{"header", "rows", "verdict", "notes"}``."""
    parts = []
    if b.get("verdict"):
        parts.append(f"<p>{escape(str(b['verdict']))}</p>")
    parts.append(_grid_table(list(b["header"]), [list(r) for r in b["rows"]]))
    parts += [f"<p>{escape(str(n))}</p>" for n in b.get("notes") or []]
    return _section("Beside the network", *parts)


def _png_figures(images: dict) -> str:
    figs = []
    for caption, png in images.items():
        data = base64.b64encode(png).decode("ascii") if isinstance(png, (bytes, bytearray)) else str(png)
        data = "".join(c for c in data if c.isalnum() or c in "+/=")   # only base64 survives
        figs.append(f'<figure><img alt="{escape(str(caption))}" src="data:image/png;base64,{data}"/>'
                    f"<figcaption>{escape(str(caption))}</figcaption></figure>")
    return _plots(*figs)


def _images_section(images: dict) -> str:
    return _section("Figures", _png_figures(images))


def _explain_section(e: dict) -> str:
    """Why the network said what it said: importance with intervals, or maps with their check."""
    if e.get("kind") == "table":
        rows = [[name, mean, f"[{_value(low)}, {_value(high)}]"] for name, mean, low, high in e["importance"]]
        intro = (f"<p>Permutation importance on the {escape(str(e.get('split') or 'chosen'))} split: how much "
                 f"worse the network gets when one input is shuffled ({escape(str(e.get('units', '')))}), with "
                 "95% intervals from bootstrap resamples of the rows. An interval reaching 0 means the network "
                 "may not need that input.</p>")
        parts = [intro, _grid_table(["input", "importance", "95% interval"], rows)]
        pd = e.get("partial")
        if pd:
            ice = [{"x": pd["grid"], "y": row, "color": "#bbb", "label": "single rows (ICE)" if k == 0 else None}
                   for k, row in enumerate(pd["individual"][:40])]
            parts.append(_plots(svg.plot(ice + [{"x": pd["grid"], "y": pd["average"], "label": "average"}],
                                         f"Partial dependence on {pd['input']}", str(pd["input"]),
                                         str(e.get("output") or "output"), legend="lower right")))
        return _section("Explain: which inputs matter", *parts)
    d = e["deletion"]
    verdict_cls = "hint" if e.get("informative") else "note"
    parts = [(f"<p>{escape(str(e['method']))} maps: the positive attribution in red-orange over each cutout "
              f"(units: {escape(str(e.get('units', '')))}).</p>"),
             f'<p class="{verdict_cls}">{escape(str(e["verdict"]))}.</p>',
             _png_figures(e["images"]),
             _plots(svg.plot([{"x": d["fractions"], "y": d["attributed"], "label": "most attributed first"},
                              {"x": d["fractions"], "y": d["random"], "label": "random pixels", "color": "#888"}],
                             "Deletion curve", "fraction of pixels deleted", "mean score", legend="lower right",
                             ylim=(0, 1.02) if e.get("units") == "probability" else None)),
             _notes(e.get("notes"))]
    return _section("Explain: which pixels matter", *parts)


def html_report(context: dict) -> str:
    """One self-contained HTML document for a run (see the module docstring for ``context``)."""
    from nnstudio.core.evaluation.hints import learning_curve_hint

    title = str(context.get("title") or "nnstudio report")
    body = [f"<h1>{escape(title)}</h1>"]
    if context.get("created"):
        body.append(f"<p>{escape(str(context['created']))}</p>")
    body.append(_notes(context.get("notes")))
    if context.get("data"):
        body.append(_section("Data", _kv_table(context["data"])))
    if context.get("model_summary"):
        body.append(_section("Model", f"<pre>{escape(str(context['model_summary']))}</pre>"))
    history = context.get("history")
    if history:
        hint = context.get("hint") if "hint" in context else learning_curve_hint(history)
        body.append(_history_section(history, hint))
    if context.get("metrics"):
        body.append(_section("Metrics", _kv_table(context["metrics"])))
    if context.get("classification") is not None:
        body.append(_classification_section(_as_dict(context["classification"])))
    if context.get("regression") is not None:
        body.append(_regression_section(_as_dict(context["regression"])))
    if context.get("uncertainty"):
        body.append(_uncertainty_section(_as_dict(context["uncertainty"]),
                                         _as_dict(context.get("conformal"))))
    if context.get("baselines"):
        body.append(_baselines_section(context["baselines"]))
    if context.get("explain"):
        body.append(_explain_section(context["explain"]))
    if context.get("images"):
        body.append(_images_section(context["images"]))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def write_html_report(path, context: dict) -> None:
    """Write the report atomically (a crash never leaves half a file)."""
    atomic_write_text(path, html_report(context))
