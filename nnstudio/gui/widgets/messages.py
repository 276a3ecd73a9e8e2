"""A panel's message area: declared errors, warnings and notes shown as dismissable lines."""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.errors import NnstudioError


def error_text(exc, doing: str = "") -> str:
    """What a person reads about an exception: an :class:`NnstudioError`'s own message; for
    anything else (a bug, or a library's error nobody turned into words) no raw exception text,
    only where it happened and where the details are (the job logged the traceback)."""
    if isinstance(exc, NnstudioError):
        return exc.message
    from nnstudio.logs import log_path

    where = f" while running “{doing}”" if doing else ""
    return (f"Something went wrong{where} ({type(exc).__name__}). This is a bug in nnstudio, not "
            f"something you did; the details are in the log ({log_path()}).")


MAX_CHARS = 600
# terminal colour and cursor codes (TensorFlow and Keras colour their errors) and other controls
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain_text(text) -> str:
    """A message as a person should read it: no escape codes or control characters, runs of
    blank space collapsed, and at most ``MAX_CHARS`` characters."""
    text = _CONTROL.sub("", _ANSI.sub("", str(text)))
    text = re.sub(r"[ \t]*\n\s*", " ", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1].rstrip() + "…"


LEVELS = {
    "error": ("rgba(220, 53, 69, 0.16)", "rgba(220, 53, 69, 0.75)", "✖"),
    "warning": ("rgba(255, 170, 0, 0.16)", "rgba(230, 150, 0, 0.8)", "⚠"),
    "info": ("rgba(13, 110, 253, 0.12)", "rgba(13, 110, 253, 0.6)", "ℹ"),
}


class _Line(QFrame):
    def __init__(self, level: str, text: str, actions, on_close):
        super().__init__()
        bg, border, sym = LEVELS[level]
        self.setObjectName("msg")
        self.setStyleSheet(f"QFrame#msg {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        icon = QLabel(sym)
        icon.setStyleSheet("background: transparent; border: none; font-weight: bold;")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setStyleSheet("background: transparent; border: none;")
        lay.addWidget(icon, 0, Qt.AlignTop)
        lay.addWidget(self.label, 1)
        self.buttons = []
        for title, fn in actions or ():
            b = QPushButton(title)
            b.clicked.connect(fn)
            lay.addWidget(b, 0, Qt.AlignTop)
            self.buttons.append(b)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(on_close)
        lay.addWidget(close, 0, Qt.AlignTop)


class MessageBar(QWidget):
    """Keyed messages: ``show(key, level, text)``, ``clear(key)``, ``is_shown(key)``."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(4)
        self._lines: dict[str, tuple[str, str, _Line]] = {}
        self.setVisible(False)

    def show_message(self, key: str, level: str, text: str, actions=None) -> None:
        self.clear(key)
        text = plain_text(text)
        line = _Line(level, text, actions, lambda: self.clear(key))
        self._lines[key] = (level, text, line)
        self._lay.addWidget(line)
        self.setVisible(True)
        self.changed.emit()

    def error(self, key: str, text: str, actions=None) -> None:
        self.show_message(key, "error", text, actions)

    def warning(self, key: str, text: str, actions=None) -> None:
        self.show_message(key, "warning", text, actions)

    def info(self, key: str, text: str, actions=None) -> None:
        self.show_message(key, "info", text, actions)

    def clear(self, key: str | None = None) -> None:
        keys = [key] if key is not None else list(self._lines)
        for k in keys:
            item = self._lines.pop(k, None)
            if item is not None:
                item[2].setParent(None)
                item[2].deleteLater()
        self.setVisible(bool(self._lines))
        self.changed.emit()

    def is_shown(self, key: str) -> bool:
        return key in self._lines

    def text(self, key: str) -> str:
        return self._lines[key][1] if key in self._lines else ""

    def level(self, key: str) -> str | None:
        return self._lines[key][0] if key in self._lines else None

    def keys(self) -> list[str]:
        return list(self._lines)

    def line(self, key: str) -> _Line | None:
        return self._lines[key][2] if key in self._lines else None
