"""The one contract for long work.

Every long core job (load, train, evaluate, ensemble, sweep) takes a ``task`` argument that
implements :class:`Task`. Core ships two plain implementations: :class:`Task` itself (silent) and
:class:`ConsoleTask` (progress on stderr, for the CLI). ``nnstudio.gui.workers`` is the only Qt
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


__all__ = ["Task", "ConsoleTask", "Cancelled"]
