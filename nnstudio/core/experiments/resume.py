"""Resume a stopped or crashed run of a project from its last checkpoint.

A crash can come before the project file was saved with the run in it, so the run folders
(``runs/*/run.json``, rewritten after every epoch) are the source of truth here.
"""
from __future__ import annotations

import json

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.training.config import RunRecord
from nnstudio.errors import NnstudioError

RESUMABLE = ("running", "stopped")


def _folder_records(project: Project) -> list[RunRecord]:
    if project.folder is None or not (project.folder / "runs").is_dir():
        return []
    out = []
    for path in sorted((project.folder / "runs").glob("*/run.json")):
        try:
            out.append(RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError, NnstudioError):
            continue  # a damaged record is not a candidate
    return out


def find_resumable(project: Project) -> list[RunRecord]:
    """Runs that stopped or crashed before their last epoch and have a checkpoint, oldest first."""
    out = []
    for rec in _folder_records(project):
        epochs = (rec.settings or {}).get("epochs", 0)
        if (rec.status in RESUMABLE and rec.epochs_run < epochs
                and (project.run_dir(rec.id) / "last.keras").exists()):
            out.append(rec)
    return sorted(out, key=lambda r: (r.started, r.id))


def resume_project(project: Project, run_id: str | None = None, epochs: int | None = None,
                   task: Task | None = None, prepared=None) -> RunRecord:
    """Continue ``run_id`` (default: the latest resumable run); the record replaces the old one in
    the project (or is added, if the crash came before the project was saved). Not saved here."""
    from nnstudio.core.training.trainer import read_run_record, resume
    from nnstudio.core.workflow.data import prepare_project, run_split_seed, split_twin

    if project.model is None:
        raise NnstudioError("The project has no model: there is nothing to resume.")
    if project.folder is None:
        raise NnstudioError("Save the project first: its runs live in the project folder.")
    if run_id is None:
        candidates = find_resumable(project)
        if not candidates:
            raise NnstudioError("Nothing to resume: no run of this project stopped or crashed before its "
                                "last epoch with a checkpoint left behind.")
        run_id = candidates[-1].id
    run_dir = project.run_dir(run_id)
    if not run_dir.is_dir():
        raise NnstudioError(f"No run {run_id!r} in this project.")
    own_split = run_split_seed(project, read_run_record(run_dir))
    if own_split is not None:  # a repeat over splits: it goes on with the split it trained on
        prepared = prepare_project(split_twin(project, own_split), task=task)
    prepared = prepared if prepared is not None else prepare_project(project, task=task)
    record, _model = resume(prepared, project.model, run_dir, task=task, epochs=epochs)
    for i, r in enumerate(project.runs):
        if r.id == record.id:
            record.name, record.note = record.name or r.name, record.note or r.note
            project.runs[i] = record
            break
    else:
        project.runs.append(record)
    if own_split is None:  # the project's split is not a resampled run's
        project.active_run = record.id
    project.mark_changed("runs")
    return record


__all__ = ["find_resumable", "resume_project"]
