"""Test-wide settings: offscreen Qt, an isolated HOME and XDG folders, a patient hypothesis."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# before anything imports Qt or writes settings
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_home = Path(tempfile.mkdtemp(prefix="nnstudio-test-home-"))
os.environ["HOME"] = str(_home)
for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state"),
                 ("XDG_DATA_HOME", ".local/share"), ("XDG_CACHE_HOME", ".cache"),
                 ("XDG_RUNTIME_DIR", "run")):
    os.environ[var] = str(_home / sub)
    (_home / sub).mkdir(parents=True, exist_ok=True)
os.chmod(_home / "run", 0o700)

import pytest  # noqa: E402

try:
    from hypothesis import settings as _hs

    _hs.register_profile("nnstudio", deadline=None, max_examples=40)
    _hs.load_profile("nnstudio")
except ImportError:  # pragma: no cover
    pass

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tensorflow():
    """TensorFlow, imported once for the whole session (its cold import takes ~4 s)."""
    from nnstudio.core.training.tf_runtime import import_tensorflow

    import_tensorflow(quiet=True)
    return sys.modules["tensorflow"]


@pytest.fixture
def run_cli(capsys):
    """Call ``nnstudio.cli.main(argv)`` in-process; returns (status, stdout, stderr)."""
    from nnstudio.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(autouse=True)
def _no_instructor_lessons(monkeypatch):
    """`--lessons-dir` sets NNSTUDIO_LESSONS_DIR for the process; in-process CLI tests must not
    leave it to the tests after them."""
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Once the GUI's application exists, Python's cycle collector runs only from its event loop
    (``gui.application.GarbageCollector``); a test that never runs the loop gets its collection here."""
    yield
    app = sys.modules.get("PySide6.QtWidgets")
    app = app.QApplication.instance() if app is not None else None
    collector = getattr(app, "_nnstudio_gc", None) if app is not None else None
    if collector is not None:
        collector.check()
