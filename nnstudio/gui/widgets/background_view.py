"""A view that runs one background job at a time beside its own controls: a progress bar, a Cancel
button and a status line. A new job cancels the one before; the results and errors of a replaced
job are dropped; a cancel or an unexpected error becomes one line in the status, never raw text.
The Explain page of the sample browsers and Diagnostics' Why tab share it."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget


class BackgroundView(QWidget):
    """Subclasses call :meth:`run` with a ``gui.workers.Job`` and what to do with its result; they
    may extend :meth:`set_busy` (e.g. to grey out their own Start button)."""

    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = None
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(120)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    def run(self, job, on_result, doing: str) -> None:
        """Start ``job`` in place of any running one; ``on_result(result)`` when it returns;
        ``doing`` names the work in the line shown if it fails unexpectedly."""
        self.cancel()
        job.progress.connect(lambda done, total, text: self._on_progress(job, done, text))
        job.returned.connect(lambda result: self._on_returned(job, on_result, result))
        job.errored.connect(lambda exc: self._on_error(job, exc, doing))
        job.finished.connect(lambda: self._on_finished(job))
        self.job = job
        self.set_busy(True)
        job.start()

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()

    def shutdown(self, msecs: int = 60000) -> None:
        """Cancel a running job and wait for it (window close, tests)."""
        if self.job is not None and self.job.running:
            from PySide6.QtCore import QThreadPool

            self.job.cancel()
            QThreadPool.globalInstance().waitForDone(msecs)

    def progress_text(self, text: str) -> None:
        """A job's progress words; by default only the bar moves."""

    def _on_progress(self, job, done, text) -> None:
        if job is self.job:
            self.progress.setValue(int(done))
            if text:
                self.progress_text(text)

    def _on_returned(self, job, on_result, result) -> None:
        if job is self.job:
            self._on_finished(job)
            on_result(result)

    def _on_error(self, job, exc, doing: str) -> None:
        from nnstudio.errors import Cancelled
        from nnstudio.gui.widgets.messages import error_text

        if job is not self.job:
            return
        text = "Cancelled." if isinstance(exc, Cancelled) else error_text(exc, doing)
        self.set_status(text)
        self.failed.emit(text)

    def _on_finished(self, job) -> None:
        if job is self.job:
            self.set_busy(False)


__all__ = ["BackgroundView"]
