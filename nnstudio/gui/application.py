"""The one QApplication: the app's name, organisation, style and icon, set before any window.

Kept apart from :mod:`nnstudio.gui.app` (which starts the window) so that panel previews can make
the application without importing the window.
"""
from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtWidgets import QApplication

from nnstudio import __version__

ORG, APP = "nnstudio", "nnstudio"


def make_application(argv=None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(ORG)
        QCoreApplication.setApplicationName(APP)
        QCoreApplication.setApplicationVersion(__version__)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setStyle("Fusion")  # one look on every OS, follows the light/dark colour scheme
        app.setDesktopFileName("nnstudio")
        _set_icon(app)
    if getattr(app, "_nnstudio_gc", None) is None:
        app._nnstudio_gc = GarbageCollector(app)
    return app


class GarbageCollector(QObject):
    """Python's cycle collector, run from the event loop only. Left automatic, it can start in the
    middle of a Qt call (a signal being connected, a view being laid out) and delete a widget whose
    destructor needs the lock that call holds: the window then hangs for good. Here collection is
    off, and a timer collects each generation when its threshold is passed, as Python would."""

    INTERVAL_MS = 500

    def __init__(self, parent=None):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(self.INTERVAL_MS)

    def check(self) -> int:
        """Collect the generations past their thresholds; returns the objects freed."""
        l0, l1, l2 = gc.get_count()
        freed = 0
        if l0 > self.threshold[0]:
            freed = gc.collect(0)
            if l1 > self.threshold[1]:
                freed += gc.collect(1)
                if l2 > self.threshold[2]:
                    freed += gc.collect(2)
        return freed


def _set_icon(app) -> None:
    from importlib import resources

    from PySide6.QtGui import QIcon

    try:
        icon = resources.files("nnstudio.resources").joinpath("nnstudio.png")
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
    except (ModuleNotFoundError, FileNotFoundError):
        pass


__all__ = ["APP", "ORG", "GarbageCollector", "make_application"]
