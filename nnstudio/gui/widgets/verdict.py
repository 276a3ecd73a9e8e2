"""A verdict in words with its level's colour and symbol (good ✔, warn ⚠, bad ✖)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

VERDICT_STYLE = {
    "good": ("rgba(44, 160, 44, 0.16)", "rgba(44, 160, 44, 0.9)", "✔"),
    "warn": ("rgba(255, 170, 0, 0.18)", "rgba(230, 150, 0, 0.9)", "⚠"),
    "bad": ("rgba(220, 53, 69, 0.18)", "rgba(220, 53, 69, 0.9)", "✖"),
    "none": ("transparent", "rgba(128, 128, 128, 0.5)", ""),
}


class VerdictLabel(QLabel):
    """Selectable, wrapped text on a tinted background that says how the verdict came out."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("verdict")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.level = "none"
        self.set_verdict("none", text)

    def set_verdict(self, level: str, text: str) -> None:
        bg, border, sym = VERDICT_STYLE.get(level, VERDICT_STYLE["none"])
        self.level = level
        self.setText(f"{sym}  {text}" if sym else text)
        self.setStyleSheet(f"QLabel#verdict {{ background: {bg}; border: 1px solid {border}; "
                           "border-radius: 4px; padding: 6px 10px; }")
