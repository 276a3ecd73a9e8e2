"""What the frozen app leaves out, and the post-build strip. Used by nnstudio.spec and build.py.

Each rule was measured against the frozen ``selftest`` (see the Packaging section of the design):
leaving out PySide6.QtOpenGL/QtOpenGLWidgets breaks pyqtgraph's import, a global ``strip`` breaks
numpy's OpenBLAS, and ``import tensorflow`` loads TensorFlow Lite's and the profiler's libraries,
so those all stay.
"""
from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Python packages the app never imports (excluded from the analysis, so their binaries go too).
EXCLUDES = [
    # test and build tooling; astropy's hook imports every submodule and wcsaxes then needs
    # matplotlib, or raises pytest's skip where pytest is installed
    "pytest", "_pytest", "hypothesis", "setuptools", "pkg_resources", "pip", "PyInstaller",
    "tkinter", "_tkinter", "IPython", "matplotlib", "clang",
    # Keras backends other than TensorFlow; TensorFlow's gRPC runtime (distributed training only)
    "keras.src.backend.jax", "keras.src.backend.torch", "keras.src.backend.openvino",
    "jax", "torch", "openvino", "grpc",
    # astropy parts nnstudio never reaches (it uses io, table, units, time, coordinates, stats, wcs
    # for the positions of predicted cutouts, and visualization's intervals and stretches)
    "tensorflow.compiler.mlir.stablehlo",
    "astropy.visualization.wcsaxes", "astropy.convolution", "astropy.cosmology", "astropy.modeling",
    "astropy.nddata", "astropy.samp", "astropy.timeseries", "astropy.uncertainty",
    # pyqtgraph extras
    "pyqtgraph.opengl", "pyqtgraph.examples", "pyqtgraph.jupyter", "pyqtgraph.flowchart",
    # Qt bindings not in use (their Qt libraries stay where QtGui needs them, e.g. libQt6DBus)
    "PySide6.QtNetwork", "PySide6.QtDBus", "PySide6.QtTest", "PySide6.QtQml", "PySide6.QtQuick",
    "PySide6.QtSql", "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtPrintSupport",
]

# TensorFlow libraries that nothing in the app loads: no binary NEEDs them, and only the StableHLO
# export API and XLA's Python op wrappers (neither reached by Keras training) import them.
TF_UNUSED = {
    "tensorflow/compiler/mlir/stablehlo/stablehlo_extension.so",
    "tensorflow/compiler/tf2xla/ops/_xla_ops.so",
    "tensorflow/python/framework/lib_native_proto_caster.so",
}

# Qt platform plugins to keep, per OS; "offscreen" runs the selftest. All other Qt plugins go
# (image formats other than the built-in PNG, icon engines, input contexts, themes, GL
# integrations, wayland: on a Wayland desktop Qt falls back to xcb through XWayland).
KEEP_PLATFORMS = {"linux": {"libqxcb.so", "libqoffscreen.so"},
                  "darwin": {"libqcocoa.dylib", "libqoffscreen.dylib"},
                  "win32": {"qwindows.dll", "qoffscreen.dll"}}
# macOS draws native-looking widgets through the style plugin; Windows and Linux use Fusion.
KEEP_PLUGIN_DIRS = {"darwin": {"styles"}}

_TESTS = re.compile(r"(^|/)(tests|conftest\.py)(/|$)")


def _posix(name: str) -> str:
    return name.replace("\\", "/")


def dropped_reason(dest: str, platform: str = sys.platform) -> str | None:
    """Why a collected file (by its path in the bundle) is left out, or None to keep it."""
    d = _posix(dest)
    if "/Qt/plugins/" in d or "/Qt6/plugins/" in d or d.startswith("PySide6/plugins/"):
        rel = d.split("/plugins/", 1)[1]
        kind, _, name = rel.partition("/")
        if kind == "platforms" and name in KEEP_PLATFORMS.get(platform, ()):
            return None
        if kind in KEEP_PLUGIN_DIRS.get(platform, ()):
            return None
        return "qt-plugin"
    if "/Qt/translations/" in d or d.startswith("PySide6/translations/"):
        return "qt-translations"
    if d in TF_UNUSED:
        return "unused-tensorflow"
    if d.startswith("tensorflow/include/") or "/include/tensorflow/" in d:
        return "headers"
    if re.search(r"\.(h|hpp|hh|inc|pxd|pyx|pyi|a|lib)$", d) and not d.endswith(".dll.lib"):
        return "build-time"
    if _TESTS.search(d) and not d.startswith("astropy/tests/"):  # astropy imports its runner
        return "tests"
    return None


def _needed(path: str) -> list[str]:
    """The NEEDED entries of an ELF file ([] for anything else or without readelf)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                return []
        out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _closure(roots, by_name) -> set[str]:
    seen, todo = set(), list(roots)
    while todo:
        src = todo.pop()
        for lib in _needed(src):
            entry = by_name.get(lib)
            if entry and entry[0] not in seen:
                seen.add(entry[0])
                todo.append(entry[1])
    return seen


def _symlink_target(entry) -> str:
    """Where a PyInstaller SYMLINK entry (dest, target relative to dest's folder) points."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(_posix(entry[0])), _posix(entry[1])))


def filter_toc(binaries, datas, log=print):
    """Leave out of PyInstaller's binaries and datas what the app does not use, then (Linux) the
    libraries that only the left-out plugins needed, and links to anything left out.
    Returns (binaries, datas, report: reason -> entries)."""
    report: dict[str, list] = {}

    def keep(entries):
        kept = []
        for entry in entries:
            reason = None if entry[2] == "SYMLINK" else dropped_reason(entry[0])
            if reason:
                report.setdefault(reason, []).append(entry)
            else:
                kept.append(entry)
        return kept

    binaries, datas = keep(binaries), keep(datas)
    if sys.platform.startswith("linux"):
        # PyInstaller 6 links some libraries into the top folder: walk the real files only
        by_name: dict[str, tuple] = {}
        for e in binaries:
            if e[2] != "SYMLINK":
                by_name.setdefault(os.path.basename(e[0]), e)
        dropped = [e[1] for e in report.get("qt-plugin", [])]
        candidates = _closure(dropped, by_name)
        roots = [e[1] for e in binaries if e[2] != "SYMLINK" and e[0] not in candidates]
        orphans = candidates - _closure(roots, by_name)
        report["orphan-library"] = [e for e in binaries if e[0] in orphans]
        binaries = [e for e in binaries if e[0] not in orphans]
    gone = {_posix(e[0]) for entries in report.values() for e in entries}
    links = [e for e in binaries + datas if e[2] == "SYMLINK" and _symlink_target(e) in gone]
    if links:
        report["link-to-left-out"] = links
        binaries = [e for e in binaries if e not in links]
        datas = [e for e in datas if e not in links]
    for reason, entries in sorted(report.items()):
        size = sum(os.path.getsize(e[1]) for e in entries if e[2] != "SYMLINK" and os.path.isfile(e[1]))
        log(f"lean: left out {len(entries)} files ({size / 1e6:.1f} MB): {reason}")
        if reason == "orphan-library":
            log("lean:   " + " ".join(sorted(os.path.basename(e[0]) for e in entries)))
    return binaries, datas, report


def filter_pure(pure):
    """Python modules of test suites. astropy.tests stays (astropy imports its test runner)."""
    def is_test(name: str) -> bool:
        name = name.removeprefix("astropy.tests")
        return re.search(r"\.tests(\.|$)", name) is not None
    return [e for e in pure if not is_test(e[0])]


# Modules the frozen app must hold; build.py checks the archive of Python modules for them.
# Panels and widgets are imported by name and astropy/sklearn inside functions, which is where a
# missed import would only show when a person clicks.
REQUIRED_MODULES = [
    "nnstudio.gui.selftest", "nnstudio.gui.widgets.image_grid", "nnstudio.core.examples.strong_lens",
    "astropy.io.fits", "astropy.io.votable", "astropy.io.ascii.ecsv", "astropy.table",
    "astropy.visualization.interval", "astropy.visualization.stretch", "sklearn.metrics",
    "sklearn.linear_model", "sklearn.dummy", "scipy.optimize", "nnstudio.core.model.formula",
    "astropy.wcs", "nnstudio.core.workflow.predict", "nnstudio.core.data.catalog",
    "keras.src.backend.tensorflow", "pyqtgraph.exporters", "superqt.utils", "psygnal", "h5py",
]


# -- after PyInstaller --------------------------------------------------------------------------

def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def strip_targets(app_dir: Path) -> list[Path]:
    """TensorFlow's own shared libraries and libpython: most of their size is symbols nothing
    needs at run time. Nothing else: stripping numpy's bundled OpenBLAS corrupts it."""
    internal = app_dir / "_internal"
    out = [p for p in (internal / "tensorflow").rglob("*.so*") if p.is_file() and not p.is_symlink()]
    out += [p for p in internal.glob("libpython3*.so*") if p.is_file() and not p.is_symlink()]
    return sorted(p for p in out if _is_elf(p))


def strip_binaries(app_dir: Path) -> list[Path]:
    """Linux only (macOS and Windows builds keep their binaries as they are)."""
    if not sys.platform.startswith("linux") or not shutil.which("strip"):
        return []
    targets = strip_targets(app_dir)
    for path in targets:
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
    return targets


def add_desktop_files(app_dir: Path, resources: Path) -> None:
    """Linux: the .desktop entry and its icon beside the executable (see packaging/README.md)."""
    if sys.platform.startswith("linux"):
        for name in ("nnstudio.desktop", "nnstudio.png"):
            shutil.copy2(resources / name, app_dir / name)


def tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total
