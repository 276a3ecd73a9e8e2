"""Progress per user (which step each lesson reached) and the lesson's own project folder.

Progress is ``$XDG_STATE_HOME/nnstudio/lessons.json``, written atomically. A lesson works on a
fresh copy of its bundled example under ``$XDG_STATE_HOME/nnstudio/lessons/ID/``, never on the
learner's own project; restarting a lesson deletes only that folder.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnstudio.core.files import atomic_write_json
from nnstudio.logs import state_dir

PROGRESS_VERSION = 1


@dataclass
class LessonProgress:
    step: int = 0                                    # index of the step being worked on
    done: list[str] = field(default_factory=list)    # ids of the steps whose check held
    finished: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def progress_path() -> Path:
    return state_dir() / "lessons.json"


def lessons_root() -> Path:
    return state_dir() / "lessons"


def load_progress() -> dict[str, LessonProgress]:
    """Every lesson's progress; a missing or unreadable file is no progress (never an error)."""
    try:
        d = json.loads(progress_path().read_text(encoding="utf-8"))
        out = {}
        for k, v in d.get("lessons", {}).items():
            out[str(k)] = LessonProgress(step=max(0, int(v.get("step", 0))),
                                         done=[str(s) for s in v.get("done", [])],
                                         finished=bool(v.get("finished", False)))
        return out
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def save_progress(lesson_id: str, progress: LessonProgress) -> Path:
    allp = load_progress()
    allp[lesson_id] = progress
    return atomic_write_json(progress_path(), {"version": PROGRESS_VERSION,
                                               "lessons": {k: v.to_dict() for k, v in allp.items()}})


def forget_progress(lesson_id: str) -> None:
    allp = load_progress()
    if allp.pop(lesson_id, None) is not None:
        atomic_write_json(progress_path(), {"version": PROGRESS_VERSION,
                                            "lessons": {k: v.to_dict() for k, v in allp.items()}})


def lesson_project_path(lesson) -> Path:
    return lessons_root() / lesson.id / f"{lesson.example}.nnproj"


def prepare_lesson_project(lesson, fresh: bool = False) -> Path:
    """The lesson's project file: the bundled example written once (again when ``fresh``), with the
    network cut down to its output layer when the lesson builds the network itself."""
    from nnstudio.core.workflow import write_example_project

    folder = lessons_root() / lesson.id
    path = lesson_project_path(lesson)
    if fresh and folder.exists():
        root = lessons_root().resolve()
        if folder.resolve().parent == root:         # only ever a lesson's own folder
            shutil.rmtree(folder)
    if path.exists():
        return path
    path = write_example_project(lesson.example, folder)
    if lesson.start_model == "output-only":
        from nnstudio.core.project import Project

        project = Project.load(path)
        project.model = output_only(project.model)
        project.save()
    return path


def output_only(spec):
    """The example's network without its hidden layers: a linear (or logistic) model on the inputs.
    Images keep the Flatten in front of the output layer."""
    from dataclasses import replace

    layers = list(spec.layers)
    keep = [layers[-1]]
    if any(layer.class_name.startswith("Conv") for layer in layers):
        flatten = next((layer for layer in layers if layer.class_name == "Flatten"), None)
        if flatten is not None:
            keep.insert(0, flatten)
    return replace(spec, layers=keep)
