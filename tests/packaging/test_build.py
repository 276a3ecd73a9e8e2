"""Packaging: the lean rules (fast) and a real build of the frozen app, smoke-tested (slow).

The slow test runs ``python packaging/build.py --skip-archive --reuse-venv``: 2.5 minutes on two
cores with the build environment already made, ~3.5 with a fresh one (network or warm pip cache).
The archive is left out: xz alone takes 2-6 minutes there.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import lean
import smoke

import build

# -- the rules, without building ---------------------------------------------------------------

@pytest.mark.parametrize("dest, reason", [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", None),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", None),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", "qt-plugin"),
    ("PySide6/Qt/plugins/imageformats/libqjpeg.so", "qt-plugin"),
    ("PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so", "qt-plugin"),
    ("PySide6/Qt/translations/qtbase_de.qm", "qt-translations"),
    ("PySide6/Qt/lib/libQt6Gui.so.6", None),
    ("tensorflow/include/tensorflow/core/framework/tensor.h", "headers"),
    ("numpy/_core/include/numpy/ndarraytypes.h", "build-time"),
    ("scipy/special/tests/data/boost.npz", "tests"),
    ("astropy/tests/runner.py", None),
    ("tensorflow/libtensorflow_cc.so.2", None),
    ("tensorflow/compiler/tf2xla/ops/_xla_ops.so", "unused-tensorflow"),
    ("tensorflow/python/profiler/internal/_pywrap_profiler_plugin.so", None),
    ("tensorflow/lite/python/interpreter_wrapper/_pywrap_tensorflow_interpreter_wrapper.so", None),
    ("nnstudio/resources/nnstudio.png", None),
])
def test_dropped_reason_on_linux(dest, reason):
    assert lean.dropped_reason(dest, platform="linux") == reason


def test_windows_keeps_its_own_platform_plugin():
    assert lean.dropped_reason("PySide6\\plugins\\platforms\\qwindows.dll", platform="win32") is None
    assert lean.dropped_reason("PySide6\\plugins\\platforms\\qxcb.dll", platform="win32") == "qt-plugin"


def test_filter_pure_drops_test_suites_but_not_astropys_runner():
    names = ["numpy.linalg", "numpy._core.tests.test_umath", "scipy.stats.tests", "astropy.tests.runner",
             "astropy.tests", "astropy.tests.tests.test_runner", "tensorflow.python.platform.test"]
    kept = [e[0] for e in lean.filter_pure([(n, "", "PYMODULE") for n in names])]
    assert kept == ["numpy.linalg", "astropy.tests.runner", "astropy.tests", "tensorflow.python.platform.test"]


def test_symlinks_to_left_out_files_go_too(tmp_path):
    plugin = tmp_path / "libqjpeg.so"
    plugin.write_bytes(b"not an ELF file")
    binaries = [("PySide6/Qt/plugins/imageformats/libqjpeg.so", str(plugin), "BINARY"),
                ("libqjpeg.so", "PySide6/Qt/plugins/imageformats/libqjpeg.so", "SYMLINK"),
                ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK")]
    kept, _datas, report = lean.filter_toc(binaries, [], log=lambda *_: None)
    assert kept == [binaries[2]]
    assert report["link-to-left-out"] == [binaries[1]]


def test_build_environment_swaps_tensorflow_for_its_cpu_wheel():
    cpu, gpu = build.requirements(gpu=False, platform="linux"), build.requirements(gpu=True, platform="linux")
    assert any(r.startswith("tensorflow-cpu>=2.16") for r in cpu)
    assert not any(r.startswith(("tensorflow>", "tensorflow[")) for r in cpu)
    assert any(r.startswith("tensorflow[and-cuda]>=2.16") for r in gpu)
    assert not any(r.split("[")[0].split(">")[0] in ("pytest", "hypothesis", "pytest-qt") for r in cpu)
    assert any(r.startswith("pyinstaller") for r in cpu)
    # macOS has no tensorflow-cpu wheels; its tensorflow is CPU-only
    mac = build.requirements(gpu=False, platform="darwin")
    assert any(r.startswith("tensorflow>=2.16") for r in mac) and not any("tensorflow-cpu" in r for r in mac)


def test_archive_name_carries_version_os_and_arch():
    name = build.target_name(gpu=False)
    assert name.startswith(f"nnstudio-{build.app_version()}-")
    assert name.count("-") == 3 and build.target_name(gpu=True) == name + "-gpu"


# -- the real build ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_build_and_smoke_test_the_frozen_app(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--skip-archive", "--reuse-venv"],
                          cwd=ROOT, capture_output=True, text=True, timeout=880, check=False)
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-4000:]
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], (result, proc.stderr[-4000:])
    assert result["selftest"].startswith("selftest: PASS")
    assert result["unpacked_mb"] <= 1100  # the goal: <= 1.1 GB unpacked

    app = ROOT / "dist" / "nnstudio"
    version = smoke.run_frozen(app, "--version", timeout=60)
    assert version.stdout.strip() == f"nnstudio {build.app_version()}"
    # a bundled example written by the frozen app: numpy + astropy.io.fits inside it
    made = smoke.run_frozen(app, "example", "strong-lens", "--out", str(tmp_path), timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    fits = tmp_path / "strong_lens.fits"
    assert fits.read_bytes()[:9] == b"SIMPLE  ="
    info = smoke.run_frozen(app, "inspect", str(fits), "--json", timeout=120)
    assert info.returncode == 0, info.stderr[-2000:]
    assert json.loads(info.stdout)["format"] == "fits"
    # what the spec leaves out is really gone, and what pyqtgraph needs is there
    internal = app / "_internal"
    assert not (internal / "tensorflow" / "include").exists()
    assert not list(internal.rglob("*.qm"))
    if sys.platform.startswith("linux"):
        plugins = sorted(p.name for p in (internal / "PySide6" / "Qt" / "plugins").rglob("*.so"))
        assert plugins == ["libqoffscreen.so", "libqxcb.so"]
        assert (internal / "PySide6" / "QtOpenGLWidgets.abi3.so").exists()
        assert not [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
