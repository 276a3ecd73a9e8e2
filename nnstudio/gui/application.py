"""The one QApplication: the app's name, organisation, style and icon, set before any window.

Kept apart from :mod:`nnstudio.gui.app` (which starts the window) so that panel previews can make
the application without importing the window.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication
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
    return app


def _set_icon(app) -> None:
    from importlib import resources

    from PySide6.QtGui import QIcon

    try:
        icon = resources.files("nnstudio.resources").joinpath("nnstudio.png")
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
    except (ModuleNotFoundError, FileNotFoundError):
        pass


__all__ = ["APP", "ORG", "make_application"]
