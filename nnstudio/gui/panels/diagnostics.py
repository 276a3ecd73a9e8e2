"""The Diagnostics panel."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.panels.base import Panel


class DiagnosticsPanel(Panel):
    key = "diagnostics"
    title = "Diagnostics"
    requires = ("run",)

    def build(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Diagnostics"))
        return w
