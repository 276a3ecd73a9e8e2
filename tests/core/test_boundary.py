"""The Qt-free boundary and the lazy-import promises, checked in fresh interpreters."""
import json
import subprocess
import sys

QT = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_imports_no_qt():
    mods = _modules_after(
        "import nnstudio.core, nnstudio.core.data, nnstudio.core.model, nnstudio.core.training, "
        "nnstudio.core.evaluation, nnstudio.core.project, nnstudio.core.workflow, nnstudio.core.examples, "
        "nnstudio.core.tasks, nnstudio.cli")
    leaked = sorted(m for m in mods if m.split(".")[0] in QT or m.startswith("nnstudio.gui"))
    assert leaked == []


def test_core_import_is_light():
    """Core modules import TensorFlow, astropy and sklearn only inside functions."""
    mods = _modules_after("import nnstudio.core.workflow, nnstudio.core.model, nnstudio.core.evaluation, "
                          "nnstudio.core.data, nnstudio.cli")
    heavy = sorted(m for m in mods if m.split(".")[0] in ("tensorflow", "keras", "astropy", "sklearn"))
    assert heavy == []


def test_gui_app_module_is_light_before_paint():
    """What is imported before the first paint: the CLI, gui.app and PySide6, not numpy or TF."""
    mods = _modules_after("import nnstudio.cli, nnstudio.gui.app, nnstudio.gui.window")
    assert "PySide6.QtWidgets" in mods
    heavy = sorted(m for m in mods if m.split(".")[0] in ("tensorflow", "keras", "numpy", "pyqtgraph", "astropy"))
    assert heavy == []
