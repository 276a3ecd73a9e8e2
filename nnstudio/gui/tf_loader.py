"""The application's TensorFlow loader: imports TensorFlow in a background thread after the
first paint and emits ``ready`` (or ``failed``) on the GUI thread. Tests may replace it."""
from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class TensorFlowLoader(QObject):
    ready = Signal(dict)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info: dict | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_ready(self) -> bool:
        return self.info is not None

    def start(self) -> None:
        if self._thread is not None or self.info is not None:
            return
        self._thread = threading.Thread(target=self._load, name="tensorflow-loader", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from nnstudio.core.training.tf_runtime import import_tensorflow

            info = import_tensorflow(quiet=True)
        except Exception as exc:  # a broken install: say so, keep the app usable
            log.exception("TensorFlow failed to load")
            self.error = f"TensorFlow could not be loaded: {exc}"
            self.failed.emit(self.error)
            return
        if info.get("log"):
            log.info("TensorFlow import output:\n%s", info["log"].rstrip())
        log.info("TensorFlow %s, Keras %s loaded in %.2f s; device: %s", info["tensorflow"],
                 info["keras"], info["import_seconds"], info["device"])
        self.info = info
        self.ready.emit(info)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.info is not None
