"""The one contract for long work.

Every long core job (load, train, evaluate, ensemble, sweep) takes a ``task`` argument that
implements :class:`Task`. Core ships two plain implementations: :class:`Task` itself (silent) and
:class:`ConsoleTask` (progress on stderr, for the CLI); :class:`ChildTask` runs one part of a
larger job under its parent. ``nnstudio.gui.workers`` is the only Qt
adapter: it turns the same calls into signals.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any

from nnstudio.errors import Cancelled


class Task:
    """Progress reporting and cancellation for a job, with no output of its own."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.pause = threading.Event()

    # -- reporting (override in adapters) ------------------------------------------------
    def report_progress(self, done: float, total: float | None, text: str = "") -> None:
        """``done`` of ``total`` units of work; ``total=None`` when unknown."""

    def report_partial(self, obj: Any) -> None:
        """An intermediate result (an epoch's logs, one finished ensemble member…)."""

    def report_batch(self, logs: dict) -> None:
        """A training batch (throttled by the caller to at most ~10 per second)."""

    def report_message(self, text: str) -> None:
        """A warning or note for the person (e.g. "NaN loss: restored last good weights")."""

    # -- control ----------------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if a stop was requested; block while paused."""
        self.wait_if_paused()
        if self.stop.is_set():
            raise Cancelled()

    def wait_if_paused(self) -> None:
        while self.pause.is_set() and not self.stop.is_set():
            time.sleep(0.05)


class ChildTask(Task):
    """One part of a larger job: its progress fills ``[start, start + span]`` of the parent's
    ``total``; stop and pause are the parent's (or ``stop`` of its own); partial results and
    batches that are dicts get ``tags`` added; texts get ``prefix``, or are replaced by ``text``."""

    def __init__(self, parent: Task, start: float = 0.0, span: float = 1.0, total: float = 1.0,
                 text: str | None = None, prefix: str = "", tags: dict | None = None,
                 message_prefix: str = "", stop: threading.Event | None = None) -> None:
        super().__init__()
        self.parent, self.start, self.span, self.total = parent, start, span, total
        self.text, self.prefix, self.tags, self.message_prefix = text, prefix, dict(tags or {}), message_prefix
        self.stop, self.pause = (stop if stop is not None else parent.stop), parent.pause

    def report_progress(self, done, total, text=""):
        frac = min(max(float(done) / float(total), 0.0), 1.0) if total else 0.0
        self.parent.report_progress(self.start + self.span * frac, self.total,
                                    self.text if self.text is not None else f"{self.prefix}{text}")

    def report_partial(self, obj):
        self.parent.report_partial({**self.tags, **obj} if isinstance(obj, dict) and self.tags else obj)

    def report_batch(self, logs):
        self.parent.report_batch({**self.tags, **logs})

    def report_message(self, text):
        self.parent.report_message(f"{self.message_prefix}{text}")


class ConsoleTask(Task):
    """Task for the CLI: a one-line progress display on stderr, messages on stderr."""

    def __init__(self, stream=None, quiet: bool = False) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def report_progress(self, done, total, text=""):
        if self.quiet:
            return
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last < (0.2 if self._tty else 2.0):
            return
        self._last = now
        pct = f"{100.0 * done / total:5.1f}% " if total else ""
        line = f"{pct}{text}".rstrip()
        if self._tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def report_message(self, text):
        if not self.quiet:
            self.stream.write(("\n" if self._tty else "") + text + "\n")
            self.stream.flush()


__all__ = ["Cancelled", "ChildTask", "ConsoleTask", "Task"]
