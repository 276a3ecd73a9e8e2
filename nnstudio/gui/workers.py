"""The one pattern for background work in the GUI.

A :class:`Job` runs a plain core function ``fn(*args, task=task, **kwargs)`` on a superqt
``FunctionWorker`` (the global QThreadPool). ``task`` is a :class:`QtTask`: the core
:class:`~nnstudio.core.tasks.Task` contract whose reports become Qt signals, delivered on the GUI
thread. Results and errors come back as signals too; an :class:`NnstudioError` is a message for
the panel, anything else is logged and shown as an unexpected error by the window. Jobs never
touch widgets.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker

from nnstudio.core.tasks import Task

log = logging.getLogger(__name__)


class _TaskSignals(QObject):
    progress = Signal(float, object, str)   # done, total (None = unknown), text
    partial = Signal(object)
    batch = Signal(dict)
    message = Signal(str)


class QtTask(Task):
    """Task whose reports are emitted as queued Qt signals."""

    def __init__(self) -> None:
        super().__init__()
        self.signals = _TaskSignals()

    def report_progress(self, done, total, text=""):
        self.signals.progress.emit(float(done), total, text)

    def report_partial(self, obj):
        self.signals.partial.emit(obj)

    def report_batch(self, logs):
        self.signals.batch.emit(dict(logs))

    def report_message(self, text):
        self.signals.message.emit(text)


class Job(QObject):
    """One background job with progress, pause and cancel. Start it with :meth:`start`."""

    progress = Signal(float, object, str)
    partial = Signal(object)
    batch = Signal(dict)
    message = Signal(str)
    returned = Signal(object)
    errored = Signal(object)        # the exception
    finished = Signal()

    _active: set["Job"] = set()     # keep Python wrappers alive while running

    def __init__(self, fn, *args, name: str = "", **kwargs):
        super().__init__()
        self.name = name or getattr(fn, "__name__", "job")
        self.task = QtTask()
        s = self.task.signals
        s.progress.connect(self.progress)
        s.partial.connect(self.partial)
        s.batch.connect(self.batch)
        s.message.connect(self.message)
        self._worker = FunctionWorker(fn, *args, task=self.task, **kwargs)
        self._worker.returned.connect(self.returned)
        self._worker.errored.connect(self._on_error)
        self._worker.finished.connect(self._on_finished)
        self.running = False
        self.done = False

    def start(self) -> "Job":
        Job._active.add(self)
        self.running = True
        self._worker.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next check (training: after the current batch)."""
        self.task.pause.clear()
        self.task.stop.set()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.task.pause.set()
        else:
            self.task.pause.clear()

    @property
    def paused(self) -> bool:
        return self.task.pause.is_set()

    def _on_error(self, exc) -> None:
        from nnstudio.errors import NnstudioError

        if not isinstance(exc, NnstudioError):
            log.error("unexpected error in job %s", self.name,
                      exc_info=(type(exc), exc, exc.__traceback__))
        self.errored.emit(exc)

    def _on_finished(self) -> None:
        self.running = False
        self.done = True
        self.finished.emit()
        Job._active.discard(self)


def active_jobs() -> list[Job]:
    return [j for j in Job._active if j.running]


def cancel_all_and_wait(msecs: int = 30000) -> bool:
    """Cancel every running job and wait for the thread pool to drain (used at shutdown)."""
    for job in list(Job._active):
        job.cancel()
    return QThreadPool.globalInstance().waitForDone(msecs)
