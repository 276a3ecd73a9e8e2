"""The Train panel."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class TrainPanel(Panel):
    key = "train"
    title = "Train"
    requires = ("data", "model")

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Train"))
        return w
