"""The start page: what the window shows when nothing is open yet.

Recent projects, the bundled examples, the lessons and "open your own data", each one click away.
The window shows it in place of the panels and switches to them as soon as anything is opened.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nnstudio import __version__

MAX_RECENT_SHOWN = 6


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setContentsMargins(0, 10, 0, 2)
    f = label.font()
    f.setPointSizeF(f.pointSizeF() * 1.25)
    f.setBold(True)
    label.setFont(f)
    return label


def _card(title: str, text: str, slot, name: str) -> QPushButton:
    """A large flat button: a bold title over a line of explanation."""
    b = QPushButton()
    b.setObjectName(name)
    b.setCursor(Qt.PointingHandCursor)
    b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
    lay = QVBoxLayout(b)
    lay.setContentsMargins(12, 8, 12, 8)
    lay.setSpacing(3)
    t = QLabel(f"<b>{title}</b>")
    d = QLabel(text)
    d.setWordWrap(True)
    for w in (t, d):
        w.setAttribute(Qt.WA_TransparentForMouseEvents)
        lay.addWidget(w)
    lay.addStretch(1)           # keep title and text together at the top of the card
    b.setMinimumHeight(lay.sizeHint().height() + 8)
    b.setToolTip(text)
    b.clicked.connect(slot)
    b.setStyleSheet("QPushButton { text-align: left; border: 1px solid palette(mid); border-radius: 6px; "
                    "background: palette(base); } QPushButton:hover { border-color: palette(highlight); }")
    return b


class StartPage(QWidget):
    """Signals say what the person chose; the window does the opening."""

    open_path = Signal(str)
    open_example = Signal(str)
    start_lesson = Signal(str)
    open_data = Signal()
    open_project = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("startPage")
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        page = QHBoxLayout(body)
        page.addStretch(1)
        self.column = QVBoxLayout()
        self.column.setSpacing(10)
        holder = QWidget()
        holder.setLayout(self.column)
        holder.setMaximumWidth(980)
        holder.setMinimumWidth(560)
        page.addWidget(holder, 6)
        page.addStretch(1)
        title = QLabel(f"<span style='font-size:20pt; font-weight:600'>nnstudio</span>"
                       f"&nbsp;&nbsp;<span style='color:gray'>{__version__}</span>")
        self.column.addSpacing(18)
        self.column.addWidget(title)
        self.column.addWidget(QLabel("From your own data to a trained, honestly diagnosed neural network."))
        self.column.addSpacing(8)

        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(8)
        self.own_box = QVBoxLayout()
        self.own_box.setSpacing(8)
        self.own_box.addWidget(_heading("Start"))
        self.data_button = _card("Open your own data…", "A FITS file, a table (CSV, ECSV, VOTable, HDF5) or a "
                                 "folder of cutouts. nnstudio picks inputs, target and a network that fits.",
                                 self.open_data.emit, "openData")
        self.project_button = _card("Open a project…", "An .nnproj file saved earlier.", self.open_project.emit,
                                    "openProject")
        self.own_box.addWidget(self.data_button)
        self.own_box.addWidget(self.project_button)
        self.own_box.addWidget(_heading("Recent projects"))
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(8)
        self.own_box.addLayout(self.recent_box)
        self.own_box.addStretch(1)
        grid.addLayout(self.own_box, 0, 0)

        right = QVBoxLayout()
        right.setSpacing(8)
        right.addWidget(_heading("Learn: guided lessons"))
        self.lessons_box = QVBoxLayout()
        self.lessons_box.setSpacing(8)
        right.addLayout(self.lessons_box)
        right.addWidget(_heading("Examples"))
        self.examples_box = QVBoxLayout()
        self.examples_box.setSpacing(8)
        right.addLayout(self.examples_box)
        right.addStretch(1)
        grid.addLayout(right, 0, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.column.addLayout(grid)
        self.column.addStretch(1)
        self.recent_buttons: dict[str, QPushButton] = {}
        self.example_buttons: dict[str, QPushButton] = {}
        self.lesson_buttons: dict[str, QPushButton] = {}

    @staticmethod
    def _clear(box) -> None:
        while box.count():
            item = box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def set_recent(self, paths: list[str]) -> None:
        from nnstudio.gui.recent import recent_labels

        self._clear(self.recent_box)
        self.recent_buttons = {}
        paths = [p for p in paths if p.endswith(".nnproj") and Path(p).exists()][:MAX_RECENT_SHOWN]
        if not paths:
            none = QLabel("Projects you save or open will be listed here.")
            none.setStyleSheet("color: gray")
            self.recent_box.addWidget(none)
            return
        labels = recent_labels(paths)
        for p in paths:
            name, _, folder = labels[p].partition(" — ")
            b = _card(name, folder, lambda _=False, q=p: self.open_path.emit(q), "recent")
            b.setToolTip(p)
            self.recent_box.addWidget(b)
            self.recent_buttons[p] = b

    def set_examples(self, examples) -> None:
        """``examples``: (name, title) pairs, as File ▸ Examples lists them."""
        self._clear(self.examples_box)
        self.example_buttons = {}
        for name, title in examples:
            text, _, kind = title.partition(" (")
            b = _card(text, f"Bundled example: {kind.rstrip(')')}. Opens with one click.",
                      lambda _=False, n=name: self.open_example.emit(n), "example")
            self.examples_box.addWidget(b)
            self.example_buttons[name] = b

    def set_lessons(self) -> None:
        from nnstudio.core.lessons import load_lessons
        from nnstudio.errors import NnstudioError

        self._clear(self.lessons_box)
        self.lesson_buttons = {}
        try:
            lessons = load_lessons()
        except NnstudioError as exc:
            err = QLabel(f"A lesson file has an error: {exc}")
            err.setWordWrap(True)
            self.lessons_box.addWidget(err)
            return
        for lesson in lessons:
            minutes = f" About {lesson.minutes} minutes." if lesson.minutes else ""
            b = _card(lesson.title, f"{lesson.summary}{minutes}",
                      lambda _=False, i=lesson.id: self.start_lesson.emit(i), "lesson")
            self.lessons_box.addWidget(b)
            self.lesson_buttons[lesson.id] = b
