"""What the panels share: the project and the objects derived from it, with change signals.

Science stays in core; the session only keeps the current objects and tells panels when they change.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Session(QObject):
    project_changed = Signal()          # a different project (new / open)
    project_edited = Signal(str)        # the project's own changed(what)
    dataset_changed = Signal()          # a data set was loaded (or cleared)
    prepared_changed = Signal()         # prepared arrays ready (or cleared)
    model_changed = Signal()            # model spec edited
    run_finished = Signal(object)       # RunRecord
    evaluation_changed = Signal()       # an evaluation result is ready
    tf_ready = Signal(dict)
    busy_changed = Signal(str)          # "" when idle, else what is running

    def __init__(self, parent=None):
        super().__init__(parent)
        from nnstudio.core.project import Project

        self.project = Project()
        self.project.changed.connect(self._on_project_changed)
        self.dataset = None
        self.prepared = None
        self.evaluation: dict | None = None
        self.tf_info: dict | None = None

    def set_project(self, project) -> None:
        try:
            self.project.changed.disconnect(self._on_project_changed)
        except Exception:
            pass
        self.project = project
        project.changed.connect(self._on_project_changed)
        self.dataset = None
        self.prepared = None
        self.evaluation = None
        self.project_changed.emit()
        self.dataset_changed.emit()
        self.prepared_changed.emit()
        self.model_changed.emit()

    def _on_project_changed(self, what: str) -> None:
        self.project_edited.emit(what)

    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.prepared = None
        self.dataset_changed.emit()
        self.prepared_changed.emit()

    def set_prepared(self, prepared) -> None:
        self.prepared = prepared
        self.evaluation = None
        self.prepared_changed.emit()

    def set_evaluation(self, result: dict | None) -> None:
        self.evaluation = result
        self.evaluation_changed.emit()

    @property
    def has_data(self) -> bool:
        return self.prepared is not None

    @property
    def has_model(self) -> bool:
        return self.project.model is not None

    @property
    def has_run(self) -> bool:
        return any(r.model_path for r in self.project.runs)
