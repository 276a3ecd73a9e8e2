"""The Model panel."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class ModelPanel(Panel):
    key = "model"
    title = "Model"
    requires = ("data",)

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Model"))
        return w
