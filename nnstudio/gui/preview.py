"""The application for a panel's ``python -m`` preview."""
from __future__ import annotations

import sys


def preview_application():
    """The application with pyqtgraph configured; ``--dark`` on the command line shows the dark
    theme."""
    from nnstudio.gui.app import make_application
    from nnstudio.gui.theme import apply_theme, configure_pyqtgraph

    app = make_application()
    if "--dark" in sys.argv:
        apply_theme("dark")
    configure_pyqtgraph()
    return app

