"""The application: QApplication, theme, error hooks, the TensorFlow loader and the main window."""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from nnstudio import __version__

log = logging.getLogger(__name__)

ORG, APP = "nnstudio", "nnstudio"
_pg_configured = False


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


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    base, window, text, mid = QColor(37, 37, 38), QColor(45, 45, 48), QColor(230, 230, 230), QColor(80, 80, 85)
    for role, colour in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                         (QPalette.AlternateBase, QColor(52, 52, 56)), (QPalette.ToolTipBase, window),
                         (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, window),
                         (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)),
                         (QPalette.Highlight, QColor(42, 130, 218)), (QPalette.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.Link, QColor(100, 170, 255)), (QPalette.PlaceholderText, QColor(150, 150, 150)),
                         (QPalette.Mid, mid), (QPalette.Dark, QColor(25, 25, 25)), (QPalette.Light, QColor(70, 70, 75))):
        p.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor(127, 127, 127))
    return p


def apply_theme(name: str) -> None:
    """"system", "light" or "dark". An explicit palette, so the choice holds on every platform
    (some platform themes ignore Qt's colour-scheme hint); plot colours follow."""
    app = QApplication.instance()
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(name, Qt.ColorScheme.Unknown)
    try:
        if scheme == Qt.ColorScheme.Unknown:
            hints.unsetColorScheme()
        else:
            hints.setColorScheme(scheme)
    except AttributeError:  # Qt < 6.8
        pass
    if name == "dark":
        app.setPalette(dark_palette())
    elif name == "light":
        app.setPalette(app.style().standardPalette())
    else:
        from PySide6.QtGui import QPalette

        app.setPalette(QPalette())  # the platform's own
    # Fusion draws check boxes with an outline derived from the window colour, which vanishes on a
    # dark palette: give them a visible border there
    app.setStyleSheet(DARK_INDICATORS if is_dark() else "")
    if _pg_configured:
        _pyqtgraph_colours()


DARK_INDICATORS = """
QCheckBox::indicator, QGroupBox::indicator, QAbstractItemView::indicator {
    width: 12px; height: 12px; border: 1px solid #9a9a9a; border-radius: 2px; background: #1f1f1f; }
QCheckBox::indicator:checked, QGroupBox::indicator:checked, QAbstractItemView::indicator:checked {
    background: #2a82da; border-color: #6cb0f0; image: none; }
QCheckBox::indicator:disabled { border-color: #5a5a5a; background: #2a2a2a; }
"""


def is_dark() -> bool:
    app = QApplication.instance()
    return app.palette().window().color().lightness() < 128


def _pyqtgraph_colours() -> None:
    import pyqtgraph as pg

    from nnstudio.gui.widgets.plot_theme import plot_colours

    background, foreground = plot_colours()
    pg.setConfigOption("background", background)
    pg.setConfigOption("foreground", foreground)


def configure_pyqtgraph() -> None:
    """pyqtgraph's global options, once, before any plot exists."""
    global _pg_configured
    if _pg_configured:
        return
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")
    _pg_configured = True
    _pyqtgraph_colours()


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
    from nnstudio.gui.tfloader import TensorFlowLoader
    from nnstudio.gui.window import MainWindow

    app = make_application()
    loader = loader or getattr(app, "_nnstudio_loader", None) or TensorFlowLoader(app)
    app._nnstudio_loader = loader  # the loader belongs to the application, not to a window
    return MainWindow(loader=loader, settings=settings)


def run_app(path: str | None = None) -> int:
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

    theme = str(QSettings().value("theme", "system"))
    if theme != "system":
        apply_theme(theme)
    if os.environ.get("NNSTUDIO_STARTUP_PROBE"):  # benchmarks/startup.py: report the first paint, quit
        window.first_painted.connect(lambda: (print("nnstudio-first-paint", flush=True), app.quit()))
    window.show()
    if path:
        window.open_path(path)
    elif os.environ.get("NNSTUDIO_EXAMPLE"):  # `make run` opens a bundled example
        name = os.environ["NNSTUDIO_EXAMPLE"]
        window.panels_loaded.connect(lambda: QTimer.singleShot(0, lambda: window.open_example(name)))
    return app.exec()
