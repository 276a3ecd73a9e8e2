"""The application: QApplication, error hooks, the TensorFlow loader and the main window (the look
is in :mod:`nnstudio.gui.theme`)."""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from nnstudio.gui.application import make_application

log = logging.getLogger(__name__)

def install_excepthooks(window_getter) -> None:
    """Log every uncaught exception with its traceback and show a non-modal "unexpected error"."""
    from nnstudio.logs import log_path, setup_logging

    setup_logging()

    def show(exc_type, exc, tb):
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        window = window_getter()
        if window is None:
            return
        box = QMessageBox(QMessageBox.Warning, "Unexpected error",
                          f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                          f"Your work is not lost. Details are in {log_path()}.", parent=window)
        box.setDetailedText("".join(traceback.format_exception(exc_type, exc, tb)))
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setModal(False)
        box.show()

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.instance().quit()
            return
        if threading.current_thread() is threading.main_thread():
            show(exc_type, exc, tb)
        else:
            log.error("unexpected error in a thread", exc_info=(exc_type, exc, tb))

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)


def create_main_window(loader=None, settings=None):
    from nnstudio.gui.tf_loader import TensorFlowLoader
    from nnstudio.gui.window import MainWindow

    app = make_application()
    loader = loader or getattr(app, "_nnstudio_loader", None) or TensorFlowLoader(app)
    app._nnstudio_loader = loader  # the loader belongs to the application, not to a window
    return MainWindow(loader=loader, settings=settings)


def run_app(path: str | None = None, lesson: str | None = None) -> int:
    """Start the desktop app (``nnstudio`` / ``nnstudio open PATH``)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        from nnstudio.errors import NnstudioError

        raise NnstudioError("No display found (DISPLAY is not set). Use the headless commands "
                            "(nnstudio --help), or run under a desktop session or Xvfb.")
    app = make_application()
    window = create_main_window()
    install_excepthooks(lambda: window)
    from PySide6.QtCore import QSettings

    from nnstudio.gui.theme import apply_theme

    theme = str(QSettings().value("theme", "system"))
    if theme != "system":
        apply_theme(theme)
    if os.environ.get("NNSTUDIO_STARTUP_PROBE"):  # benchmarks/startup.py: report the first paint, quit
        window.first_painted.connect(lambda: (print("nnstudio-first-paint", flush=True), app.quit()))
    window.show()
    if lesson:
        window.panels_loaded.connect(lambda: QTimer.singleShot(0, lambda: window.start_lesson(lesson)))
    elif path:
        window.open_path(path)
    elif os.environ.get("NNSTUDIO_EXAMPLE"):  # `make run` opens a bundled example
        name = os.environ["NNSTUDIO_EXAMPLE"]
        window.panels_loaded.connect(lambda: QTimer.singleShot(0, lambda: window.open_example(name)))
    return app.exec()
