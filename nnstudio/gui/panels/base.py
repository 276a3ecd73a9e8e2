"""What every panel shares: a message bar, a "this step needs…" page, and one background job."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from nnstudio.errors import NnstudioError
from nnstudio.gui.widgets.messages import MessageBar, error_text

REQUIREMENTS = {
    # need: (panel that provides it, what to say)
    "data": ("data", "This step needs prepared data. Load your own file or an example in the Data panel."),
    "model": ("model", "This step needs a valid model. Pick a template or build one in the Model panel."),
    "run": ("train", "This step needs a trained model. Train one in the Train panel."),
}


class Panel(QWidget):
    """Base of the five workflow panels. Subclasses implement :meth:`build` and may override
    :meth:`missing`, :meth:`refresh` and :meth:`on_tf_ready`."""

    key = ""
    title = ""
    requires: tuple[str, ...] = ()
    navigate = Signal(str)          # ask the window to show another panel
    status = Signal(str)            # a short state line for the status bar

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.job = None
        self.messages = MessageBar()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.addWidget(self.messages)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self._missing_page = QWidget()
        lay = QVBoxLayout(self._missing_page)
        lay.addStretch(1)
        self.missing_label = QLabel()
        self.missing_label.setWordWrap(True)
        self.missing_label.setAlignment(Qt.AlignCenter)
        f = self.missing_label.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.missing_label.setFont(f)
        lay.addWidget(self.missing_label)
        self.missing_button = QPushButton()
        self.missing_button.clicked.connect(self._go_to_missing)
        lay.addWidget(self.missing_button, 0, Qt.AlignHCenter)
        lay.addStretch(2)
        self.stack.addWidget(self._missing_page)
        self.content = self.build()
        self.stack.addWidget(self.content)
        self._missing_target = None
        for sig in (session.prepared_changed, session.model_changed, session.run_finished,
                    session.project_changed):
            sig.connect(self.update_requirements)
        self.update_requirements()

    # -- to override --------------------------------------------------------------------------
    def build(self) -> QWidget:
        raise NotImplementedError

    def missing(self) -> str | None:
        """The first unmet requirement ("data", "model", "run") or None."""
        s = self.session
        for need in self.requires:
            if need == "data" and not s.has_data:
                return "data"
            if need == "model" and not s.has_model:
                return "model"
            if need == "run" and not s.has_run:
                return "run"
        return None

    def refresh(self) -> None:
        """Redraw from the session (called when requirements are met and on activation)."""

    def on_tf_ready(self, info: dict) -> None:
        pass

    # -- shared behaviour ---------------------------------------------------------------------
    def update_requirements(self, *args) -> None:
        need = self.missing()
        if need is None:
            self.stack.setCurrentWidget(self.content)
            self.refresh()
        else:
            target, text = REQUIREMENTS[need]
            self._missing_target = target
            self.missing_label.setText(text)
            self.missing_button.setText(f"Go to {target.capitalize()}")
            self.stack.setCurrentWidget(self._missing_page)

    @property
    def is_missing_shown(self) -> bool:
        return self.stack.currentWidget() is self._missing_page

    def _go_to_missing(self) -> None:
        if self._missing_target:
            self.navigate.emit(self._missing_target)

    def start_job(self, fn, *args, on_done=None, on_error=None, name="", **kwargs):
        """Run ``fn(*args, task=…)`` in the background; one job per panel (the old one is cancelled)."""
        from nnstudio.gui.workers import Job

        if self.job is not None and self.job.running:
            self.job.cancel()
        job = Job(fn, *args, name=name or self.key, **kwargs)
        if on_done is not None:
            job.returned.connect(on_done)
        job.errored.connect(on_error or self.show_error)
        job.message.connect(lambda text: self.messages.warning("job", text))
        job.finished.connect(lambda: self.status.emit(""))
        self.job = job
        job.start()
        return job

    def save_project(self, project, what: str = "The work is done") -> None:
        """Save after a job that recorded runs: through the window (title, recent files) when the
        project is the session's, else directly; a failure is a message, not a lost result."""
        w = self.window()
        if project is self.session.project and hasattr(w, "save") and getattr(w, "session", None) is self.session:
            w.save()
            return
        try:
            project.save()
        except (NnstudioError, OSError) as exc:
            self.messages.error("save", f"{what} but the project could not be saved: {exc}")

    def show_error(self, exc) -> None:
        self.messages.error("error", error_text(exc, self.job.name if self.job is not None else self.title))

    def shutdown(self, msecs: int = 30000) -> None:
        """Cancel the panel's job and wait for it (window close, tests)."""
        job = self.job
        if job is not None and job.running:
            job.cancel()
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().waitForDone(msecs)
