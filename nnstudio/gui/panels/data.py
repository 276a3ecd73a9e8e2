"""The Data panel."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class DataPanel(Panel):
    key = "data"
    title = "Data"
    requires = ()

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Data"))
        return w

    def open_data(self, path: str) -> None:
        self.messages.info("open", f"Opening {path}")
