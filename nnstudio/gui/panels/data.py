"""The Data panel: open a file, see what is in it, choose inputs and target, prepare splits."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QPushButton, QHBoxLayout, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class DataPanel(Panel):
    key = "data"
    title = "Data"
    requires = ()

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open data…")
        self.open_button.clicked.connect(lambda: self.window().open_data_dialog())
        row.addWidget(self.open_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.summary = QLabel("Open a FITS file, a table (CSV, ECSV, VOTable) or a folder of cutouts, "
                              "or pick one of the examples in File ▸ Examples.")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        lay.addStretch(1)
        self.session.project_changed.connect(self._on_project)
        return w

    # -- loading -------------------------------------------------------------------------------
    def _on_project(self) -> None:
        if self.session.project.data is not None and self.session.project.data.path:
            self.load_project_data()

    def load_project_data(self) -> None:
        """Read and prepare the project's data in the background."""
        from nnstudio.core.workflow import load_and_prepare

        self.messages.clear("error")
        self.status.emit("Loading data…")
        self.start_job(load_and_prepare, self.session.project, on_done=self._on_loaded, name="load data")

    def _on_loaded(self, result) -> None:
        dataset, prepared = result
        self.session.set_dataset(dataset)
        self.session.set_prepared(prepared)
        self.session.model_changed.emit()
        self.summary.setText(self.describe(prepared))
        self.status.emit("")

    def open_data(self, path: str) -> None:
        """Start a new data selection from a file or folder and prepare it."""
        from nnstudio.core.data.spec import DataSelection

        project = self.session.project
        project.data = DataSelection(path=str(Path(path).absolute()))
        project.preparation.fitted = None
        project.mark_changed("data")
        self.load_project_data()

    @staticmethod
    def describe(prepared) -> str:
        counts = ", ".join(f"{s} {prepared.count(s)}" for s in ("train", "val", "cal", "test"))
        shape = "×".join(str(d) for d in prepared.input_shape)
        what = (f"{prepared.n_classes} classes ({', '.join(prepared.class_names)})"
                if prepared.task == "classification" else f"regression of {prepared.target_name}")
        return f"{prepared.kind}: inputs {shape}, {what}; {counts}."
