"""The run table: one row per run with what changed against the run before it, and the actions
on runs (rename, annotate, hide, delete, export as CSV).

Names and notes live on the run records in the project file. What a run record has no field for
(hidden, the repeat group it belongs to, its test figures) lives beside the runs in
``<project folder>/experiments.json``, written atomically.
"""
from __future__ import annotations

import csv
import io
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnstudio.core.files import atomic_write_text
from nnstudio.core.model.diff import fmt_setting as _fmt
from nnstudio.core.model.diff import model_changes
from nnstudio.core.project import Project, load_store, record_test_metrics, run_meta, save_store
from nnstudio.core.training.config import RunRecord
from nnstudio.errors import NnstudioError

# -- what changed ---------------------------------------------------------------------------------
def settings_diff(prev: RunRecord | None, run: RunRecord) -> list[str]:
    """The training and model settings of ``run`` that differ from ``prev``'s (``[]`` if none).

    The learning rate is compared as used (the model's, after a training override), once."""
    if prev is None:
        return []
    out = []
    a, b = dict(prev.settings or {}), dict(run.settings or {})
    for k in sorted((set(a) | set(b)) - {"learning_rate"}):
        if a.get(k) != b.get(k):
            out.append(f"{k} {_fmt(a.get(k))} → {_fmt(b.get(k))}")
    return model_changes(prev.model, run.model) + out


def short_diff(changes: list[str], prev: RunRecord | None, limit: int = 3) -> str:
    if prev is None:
        return "first run"
    if not changes:
        return "same settings"
    text = "; ".join(changes[:limit])
    return text + (f"; +{len(changes) - limit} more" if len(changes) > limit else "")


# -- rows -----------------------------------------------------------------------------------------
@dataclass
class RunRow:
    id: str
    name: str
    note: str
    started: str
    status: str
    changes: str                       # short settings diff against the previous row
    changes_full: list[str]
    epochs: int
    best_val_loss: float | None
    final: dict                        # metrics at the kept epoch (validation ones are val_*)
    test: dict                         # test figures, when the run was evaluated
    duration_s: float
    device: str
    seed: int | None
    group: str | None
    hidden: bool
    history: dict = field(default_factory=dict, repr=False)

    def to_dict(self, curves: bool = False) -> dict:
        d = asdict(self)
        if not curves:
            d.pop("history")
        return d


def _best_val(run: RunRecord) -> float | None:
    vals = [v for v in (run.history or {}).get("val_loss", []) if v is not None]
    return min(vals) if vals else None


def run_rows(project: Project, include_hidden: bool = False) -> list[RunRow]:
    """Every run of the project in the order they were made (hidden ones only if asked)."""
    store = load_store(project)
    rows, prev = [], None
    for run in project.runs:
        meta = store["runs"].get(run.id, {})
        hidden = bool(meta.get("hidden"))
        if hidden and not include_hidden:
            continue
        changes = settings_diff(prev, run)
        rows.append(RunRow(id=run.id, name=run.name, note=run.note, started=run.started, status=run.status,
                           changes=short_diff(changes, prev), changes_full=changes, epochs=run.epochs_run,
                           best_val_loss=_best_val(run), final=dict(run.final), test=dict(meta.get("test") or {}),
                           duration_s=run.duration_s, device=run.device, seed=(run.settings or {}).get("seed"),
                           group=meta.get("group"), hidden=hidden, history=run.history))
        prev = run
    return rows


def run_curves(project: Project, run_ids: list[str], key: str = "val_loss") -> dict[str, list]:
    """One curve per run (``None`` where an epoch has no finite value), for overlays."""
    out = {}
    for rid in run_ids:
        run = _get(project, rid)
        out[rid] = list((run.history or {}).get(key, []))
    return out


def format_rows(rows: list[RunRow]) -> str:
    """A plain-text table for the terminal."""
    if not rows:
        return "No runs yet: train the project first (`nnstudio train PROJECT`)."
    head = ("run", "status", "epochs", "best val_loss", "time", "changes")
    body = [(r.id + (f" ({r.name})" if r.name else ""), r.status, str(r.epochs),
             f"{r.best_val_loss:.4g}" if r.best_val_loss is not None else "-",
             f"{r.duration_s:.1f} s", r.changes) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for x in [head, *body]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(x, widths)) + "  " + x[-1])
    return "\n".join(lines)


# -- actions --------------------------------------------------------------------------------------
def _get(project: Project, run_id: str) -> RunRecord:
    for r in project.runs:
        if r.id == run_id:
            return r
    raise NnstudioError(f"No run {run_id!r} in this project (runs: {', '.join(r.id for r in project.runs) or 'none'}).")


def rename_run(project: Project, run_id: str, name: str) -> RunRecord:
    run = _get(project, run_id)
    run.name = str(name).strip()
    project.mark_changed("runs")
    return run


def annotate_run(project: Project, run_id: str, note: str) -> RunRecord:
    run = _get(project, run_id)
    run.note = str(note)
    project.mark_changed("runs")
    return run


def hide_run(project: Project, run_id: str, hidden: bool = True) -> None:
    _get(project, run_id)
    store = load_store(project)
    run_meta(store, run_id)["hidden"] = bool(hidden)
    save_store(project, store)
    project.mark_changed("runs")


def delete_run(project: Project, run_id: str) -> None:
    """Remove a run from the project and its folder from disk (the caller asks first)."""
    run = _get(project, run_id)
    folder = project.run_dir(run.id)
    if folder.is_dir():
        shutil.rmtree(folder)
    project.runs.remove(run)
    store = load_store(project)
    changed = store["runs"].pop(run_id, None) is not None
    for g in store["groups"].values():
        if run_id in g.get("runs", []):
            g["runs"].remove(run_id)
            changed = True
    if changed:
        save_store(project, store)
    if project.active_run == run_id:
        project.active_run = project.runs[-1].id if project.runs else None
    project.mark_changed("runs")


def runs_csv(rows: list[RunRow]) -> str:
    """The table as CSV: fixed columns, then one column per final and per test metric."""
    finals = sorted({k for r in rows for k in r.final})
    tests = sorted({k for r in rows for k in r.test})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "started", "status", "changes", "epochs", "best_val_loss", "duration_s",
                "device", "seed", "group", "hidden", "note"]
               + [f"final_{k}" for k in finals] + [f"test_{k}" for k in tests])
    for r in rows:
        w.writerow([r.id, r.name, r.started, r.status, "; ".join(r.changes_full) or r.changes, r.epochs,
                    "" if r.best_val_loss is None else repr(r.best_val_loss), r.duration_s, r.device,
                    "" if r.seed is None else r.seed, r.group or "", int(r.hidden), r.note]
                   + [repr(r.final[k]) if k in r.final else "" for k in finals]
                   + [repr(r.test[k]) if k in r.test else "" for k in tests])
    return buf.getvalue()


def export_runs_csv(project: Project, path: str | Path, include_hidden: bool = True) -> Path:
    path = Path(path)
    atomic_write_text(path, runs_csv(run_rows(project, include_hidden=include_hidden)))
    return path


__all__ = ["RunRow", "run_rows", "run_curves", "settings_diff", "model_changes", "short_diff", "rename_run",
           "annotate_run", "hide_run", "delete_run", "export_runs_csv", "runs_csv", "format_rows",
           "load_store", "save_store", "record_test_metrics"]
