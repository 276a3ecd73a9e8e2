"""The Uncertainty panel."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class UncertaintyPanel(Panel):
    key = "uncertainty"
    title = "Uncertainty"
    requires = ("run",)

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Uncertainty"))
        return w
