"""The lesson dock: one step at a time beside the panels, unlocked by the step's check.

A lesson runs on its own copy of a bundled example (core/lessons/progress.py); the learner's own
project is never written. The dock polls a snapshot of the window a few times a second (cheap: no
TensorFlow, no files) rather than wiring itself into every panel's signals.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.lessons import (
    LessonProgress,
    all_hold,
    describe,
    forget_progress,
    load_progress,
    save_progress,
)
from nnstudio.gui.lessons.state import places, snapshot

POLL_MS = 300
PANEL_TITLES = {"data": "Data", "model": "Model", "train": "Train", "diagnostics": "Diagnostics",
                "uncertainty": "Uncertainty", "predict": "Predict"}


class LessonDock(QDockWidget):
    """Shows ``lesson`` step by step in ``window``; ``step_done(step_id)`` when a check first holds."""

    step_done = Signal(str)
    step_shown = Signal(int)
    finished = Signal()

    def __init__(self, window, lesson, progress: LessonProgress | None = None):
        super().__init__("Lesson", window)
        self.setObjectName("lessonDock")
        self.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable)
        self.window_ = window
        self.lesson = lesson
        self.progress = progress or LessonProgress()
        self.progress.step = min(self.progress.step, len(lesson.steps) - 1)
        self.visited: set[str] = set()
        self._status_html = ""
        self._hint_shown = False
        self.index = self.progress.step
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self.show_step(self.index)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        body.setMinimumWidth(320)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 8, 10, 10)
        self.title_label = QLabel(f"<b>{self.lesson.title}</b>")
        self.title_label.setWordWrap(True)
        lay.addWidget(self.title_label)
        self.count_label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, len(self.lesson.steps))
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        lay.addWidget(self.count_label)
        lay.addWidget(self.bar)
        self.steps_list = QListWidget()
        self.steps_list.setObjectName("lessonSteps")
        self.steps_list.setFocusPolicy(Qt.NoFocus)
        self.steps_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.steps_list.setTextElideMode(Qt.ElideRight)
        for i, step in enumerate(self.lesson.steps):
            QListWidgetItem(f"{i + 1}. {step.title}", self.steps_list)
        rows = len(self.lesson.steps)
        self.steps_list.setFixedHeight(min(rows, 6) * self.steps_list.sizeHintForRow(0) + 6)
        self.steps_list.itemClicked.connect(lambda it: self._jump(self.steps_list.row(it)))
        lay.addWidget(self.steps_list)
        # rich-text views, not word-wrapped QLabels: in a dock those get no height-for-width and
        # clip their last lines
        self.text = QTextBrowser()
        self.text.setObjectName("lessonText")
        self.text.setOpenExternalLinks(False)
        self.text.setFrameShape(QFrame.NoFrame)
        self.text.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        lay.addWidget(self.text, 1)
        # what to do stays in sight when the text scrolls: its own view, as tall as its text
        self.do_view = QTextBrowser()
        self.do_view.setObjectName("lessonDo")
        self.do_view.setFrameShape(QFrame.NoFrame)
        self.do_view.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.do_view.setStyleSheet("QTextBrowser#lessonDo { background: rgba(31,119,180,0.12); "
                                   "border-left: 4px solid rgb(31,119,180); }")
        self.do_view.document().documentLayout().documentSizeChanged.connect(
            lambda size: self.do_view.setFixedHeight(int(size.height()) + 2 * self.do_view.frameWidth() + 2))
        lay.addWidget(self.do_view)
        self.status = QTextBrowser()
        self.status.setObjectName("lessonStatus")
        self.status.setFrameShape(QFrame.NoFrame)
        self.status.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.status.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)
        self.status.viewport().setAutoFillBackground(False)
        lay.addWidget(self.status)
        row = QHBoxLayout()
        self.show_button = QPushButton("Show me")
        self.show_button.setToolTip("Go to the step of the app this lesson step is about")
        self.show_button.clicked.connect(self.show_me)
        self.hint_button = QPushButton("Hint")
        self.hint_button.clicked.connect(self.show_hint)
        row.addWidget(self.show_button)
        row.addWidget(self.hint_button)
        row.addStretch(1)
        lay.addLayout(row)
        nav = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.back_button.clicked.connect(lambda: self.show_step(self.index - 1))
        self.next_button = QPushButton("Next ▶")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next_step)
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        lay.addLayout(nav)
        self.restart_button = QPushButton("Restart lesson")
        self.restart_button.setToolTip("Start again from step 1 on a fresh copy of the example "
                                       "(your own projects are not touched)")
        self.restart_button.setFlat(True)
        self.restart_button.clicked.connect(lambda: start_lesson(self.window_, self.lesson.id, fresh=True))
        lay.addWidget(self.restart_button, 0, Qt.AlignLeft)
        self.setWidget(body)

    # -- steps ------------------------------------------------------------------------------------
    @property
    def step(self):
        return self.lesson.steps[self.index]

    def is_done(self, i: int) -> bool:
        return self.lesson.steps[i].id in self.progress.done

    def unlocked(self, i: int) -> bool:
        """Step i may be shown: it is the first, or every step before it is done."""
        return all(self.is_done(j) for j in range(i))

    def show_step(self, i: int) -> None:
        if not 0 <= i < len(self.lesson.steps) or not self.unlocked(i):
            return
        self.index = i
        self._hint_shown = False
        step = self.step
        self.progress.step = i
        self._save()
        n = len(self.lesson.steps)
        self.count_label.setText(f"Step {i + 1} of {n}")
        self.text.setHtml(step_html(step))
        self.do_view.setHtml(f"<b>What to do:</b> {step.do}")
        self.show_button.setVisible(step.panel is not None)
        if step.panel:
            self.show_button.setText(f"Show me: {PANEL_TITLES.get(step.panel, step.panel)}")
            self.show_button.setMinimumWidth(self.show_button.sizeHint().width())
        self.hint_button.setVisible(bool(step.hint))
        self.back_button.setEnabled(i > 0)
        self._refresh_list()
        self.poll()
        self.step_shown.emit(i)

    def _jump(self, i: int) -> None:
        if self.unlocked(i):
            self.show_step(i)
        else:
            self.steps_list.setCurrentRow(self.index)

    def _refresh_list(self) -> None:
        for i in range(self.steps_list.count()):
            it = self.steps_list.item(i)
            mark = "✓" if self.is_done(i) else ("▶" if i == self.index else ("·" if self.unlocked(i) else "○"))
            it.setText(f"{mark}  {i + 1}. {self.lesson.steps[i].title}")
            flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable if self.unlocked(i) else Qt.NoItemFlags
            it.setFlags(flags)
        self.steps_list.setCurrentRow(self.index)
        self.steps_list.scrollToItem(self.steps_list.item(self.index))
        self.bar.setValue(len([s for s in self.lesson.steps if s.id in self.progress.done]))

    def state(self) -> dict:
        return snapshot(self.window_, self.visited)

    def poll(self) -> None:
        """Note where the learner is; when the shown step's check first holds, unlock the next."""
        self.visited.update(places(self.window_))
        step = self.step
        state = self.state()
        if not self.is_done(self.index) and all_hold(step.checks, state):
            self.progress.done.append(step.id)
            if len(self.progress.done) == len(self.lesson.steps):
                self.progress.finished = True
            self._save()
            self._refresh_list()
            self.step_done.emit(step.id)
            if self.progress.finished:
                self.finished.emit()
        self._show_status(state)

    def _show_status(self, state) -> None:
        step, last = self.step, self.index == len(self.lesson.steps) - 1
        if self.is_done(self.index):
            note = f" {step.done}" if step.done else ""
            tail = " That was the last step: well done!" if last else " Click <b>Next</b> when ready."
            self._set_status(f"<span style='color:#2ca02c'><b>✓ Done.</b></span>{note}{tail}")
        elif not self._hint_shown:
            waiting = [describe(c) for c in step.checks if not c.holds(state)]
            self._set_status("<span style='color:gray'>Waiting for: " + "; ".join(waiting) + "</span>")
        self.next_button.setEnabled(self.is_done(self.index) and not last)
        self.next_button.setText("Next ▶")

    def next_step(self) -> None:
        if self.is_done(self.index):
            self.show_step(self.index + 1)

    def show_me(self) -> None:
        if self.step.panel:
            self.window_.show_panel(self.step.panel)

    def show_hint(self) -> None:
        self._hint_shown = True
        self._set_status(f"<b>Hint:</b> {self.step.hint}")

    def _set_status(self, html: str) -> None:
        if html != self._status_html:           # setHtml resets the scroll position: only on change
            self._status_html = html
            self.status.setHtml(html)

    def status_text(self) -> str:
        return self.status.toPlainText()

    def _save(self) -> None:
        try:
            save_progress(self.lesson.id, self.progress)
        except OSError:                 # a read-only state folder must not stop the lesson
            pass

    def stop(self) -> None:
        self.timer.stop()

    def closeEvent(self, e):
        self.stop()                 # a closed lesson stops watching; Help ▸ Lessons resumes it
        super().closeEvent(e)


def step_html(step) -> str:
    """The step's title and text as the dock shows them (what to do has its own box below)."""
    return f"<h3 style='margin-top:0'>{step.title}</h3><div style='line-height:130%'>{step.text}</div>"


# -- starting a lesson -----------------------------------------------------------------------------

def _prepare(lesson, fresh, task=None):
    from nnstudio.core.lessons import prepare_lesson_project

    return prepare_lesson_project(lesson, fresh)


def _in_lessons(path) -> bool:
    from nnstudio.core.lessons.progress import lessons_root

    try:
        return path is not None and Path(path).resolve().is_relative_to(lessons_root().resolve())
    except OSError:
        return False


def start_lesson(window, lesson_id: str, fresh: bool = False):
    """Open lesson ``lesson_id`` beside the panels: ask about unsaved changes (Cancel by default),
    write the lesson's copy of its example in the background, open it, show the dock. Returns the
    Job writing the example, or None when nothing starts."""
    from nnstudio.core.lessons import get_lesson, lesson_project_path
    from nnstudio.errors import NnstudioError
    from nnstudio.gui.workers import Job

    if window.session is None:
        return None
    try:
        lesson = get_lesson(lesson_id)
    except NnstudioError as exc:
        window.panels["data"].messages.error("lesson", str(exc))
        window.show_panel("data")
        return None
    project = window.session.project
    if project.dirty and not _in_lessons(project.path) and not window._confirm_discard():
        return None
    if getattr(window, "lesson_dock", None) is not None:
        close_lesson(window)
    same = (not fresh and window.session.project.path is not None
            and Path(window.session.project.path).resolve() == lesson_project_path(lesson).resolve())
    if not same and (_in_lessons(window.session.project.path) or window.session.project.dirty):
        window.session.project.dirty = False     # saved or discarded above, or the lesson's own copy
    if fresh:
        forget_progress(lesson.id)
        from nnstudio.core.project import Project

        if _in_lessons(window.session.project.path):   # let go of the folder about to be rewritten
            window.session.set_project(Project())
    progress = None if fresh else load_progress().get(lesson.id)
    window.set_state(f"Preparing the lesson “{lesson.title}”…")
    job = Job(_prepare, lesson, fresh, name="lesson")

    def opened(path):
        current = window.session.project.path
        already = current is not None and Path(current).resolve() == Path(path).resolve()
        if not already and not window.open_path(str(path)):
            return
        dock = LessonDock(window, lesson, progress)
        window.lesson_dock = dock
        window.addDockWidget(Qt.RightDockWidgetArea, dock)
        window.resizeDocks([dock], [380], Qt.Horizontal)
        dock.show()
        dock.show_me()  # the step's own panel, not whichever one was open before
        window.set_state(f"Lesson: {lesson.title}")

    def failed(exc):
        from nnstudio.gui.panels.base import error_text

        window.panels["data"].messages.error("lesson", error_text(exc, "prepare the lesson"))
        window.show_panel("data")

    job.returned.connect(opened)
    job.errored.connect(failed)
    window._lesson_job = job
    return job.start()


def close_lesson(window) -> None:
    dock = getattr(window, "lesson_dock", None)
    if dock is None:
        return
    dock.stop()
    window.removeDockWidget(dock)
    dock.deleteLater()
    window.lesson_dock = None
