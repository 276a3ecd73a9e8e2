"""Qt fixtures: an isolated QSettings file, the real main window with a pre-loaded TensorFlow."""
from __future__ import annotations

import pytest


@pytest.fixture
def qsettings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


class ReadyLoader:
    """Stands in for the application's loader in tests: TensorFlow is already imported by the
    session fixture, so ``start`` finishes at once (still emitting ``ready`` asynchronously)."""

    def __new__(cls, info):
        from PySide6.QtCore import QObject, QTimer, Signal

        class _Loader(QObject):
            ready = Signal(dict)
            failed = Signal(str)

            def __init__(self):
                super().__init__()
                self.info = None
                self._info = info

            @property
            def is_ready(self):
                return self.info is not None

            def start(self):
                def done():
                    self.info = self._info
                    self.ready.emit(self._info)
                QTimer.singleShot(0, done)

        return _Loader()


@pytest.fixture
def make_window(qtbot, qsettings, tensorflow):
    """Factory: the real main window, shown offscreen, panels loaded, TensorFlow ready."""
    from nnstudio.core.training.tf_runtime import import_tensorflow
    from nnstudio.gui.app import make_application
    from nnstudio.gui.window import MainWindow

    windows = []

    def make(wait_ready=True, answers=None):
        make_application()
        loader = ReadyLoader(import_tensorflow())
        w = MainWindow(loader=loader, settings=qsettings)
        w.ask = lambda title, text, buttons=("Yes", "No"), default=None: (answers or {}).get(title, buttons[-1])
        w.choose_save_path = lambda title="": ""        # a file dialog would block: cancelled
        qtbot.addWidget(w)
        with qtbot.waitSignal(w.panels_loaded, timeout=30_000):
            w.show()
        if wait_ready:
            qtbot.waitUntil(lambda: w.session.tf_info is not None, timeout=30_000)
        windows.append(w)
        return w

    yield make
    from nnstudio.gui.workers import cancel_all_and_wait

    for w in windows:
        for p in w.panels.values():
            p.shutdown()
    cancel_all_and_wait(60_000)
    for w in windows:
        w._autosave.stop()
        w.session.project.dirty = False
