"""Build the one-folder nnstudio application and its archive: ``python packaging/build.py``.

Needs only Python 3.11-3.13 and network access (or a warm pip cache). Steps:
1. a build environment of its own (build/venv) with tensorflow-cpu in the project's TensorFlow
   range, the other runtime dependencies, nnstudio itself (--no-deps) and PyInstaller; no test
   packages (astropy's PyInstaller hook fails with pytest present and matplotlib absent);
2. PyInstaller on packaging/nnstudio.spec, which leaves out what the app never uses (lean.py);
3. strip TensorFlow's own shared libraries and libpython (a global strip corrupts OpenBLAS);
4. the archive dist/nnstudio-VERSION-OS-ARCH.tar.xz (.zip on Windows);
5. the frozen ``selftest``, offscreen and without network; a failure fails the build.
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import lean
import smoke

BUILD = ROOT / "build"
DIST = ROOT / "dist"
APP_DIR = DIST / "nnstudio"
TEST_PACKAGES = ("pytest", "pytest_qt", "pytest_timeout", "hypothesis", "_pytest")


class BuildError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def run(cmd: list, quiet: bool = False, **kwargs) -> None:
    """Run a command; ``quiet`` keeps its output unless it fails."""
    log(" ".join(str(c) for c in cmd))
    if quiet:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = subprocess.run([str(c) for c in cmd], check=False, **kwargs)
    if proc.returncode:
        if quiet:
            print(proc.stdout[-8000:], file=sys.stderr)
        raise BuildError(f"command failed: {' '.join(str(c) for c in cmd)}")


def app_version() -> str:
    text = (ROOT / "nnstudio" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)


def target_name(gpu: bool) -> str:
    osname = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    arch = {"amd64": "x86_64", "aarch64": "arm64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"nnstudio-{app_version()}-{osname}-{arch}" + ("-gpu" if gpu else "")


def requirements(gpu: bool, platform: str = sys.platform) -> list[str]:
    """pyproject's runtime dependencies with tensorflow swapped for its CPU-only (or CUDA) wheel,
    plus PyInstaller. Never tensorflow and tensorflow-cpu together: both own the same files.
    macOS has no tensorflow-cpu wheels; its tensorflow wheel is CPU-only already."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = []
    for req in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        if name.lower() == "tensorflow" and (gpu or platform != "darwin"):
            req = ("tensorflow[and-cuda]" if gpu else "tensorflow-cpu") + req[len(name):]
        reqs.append(req)
    return reqs + project["optional-dependencies"]["package"]


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(gpu: bool, reuse: bool) -> Path:
    venv = BUILD / ("venv-gpu" if gpu else "venv")
    stamp_path = venv / "nnstudio-build.json"
    stamp = {"python": sys.version, "requirements": requirements(gpu)}
    python = venv_python(venv)
    fresh = not (reuse and python.exists() and stamp_path.exists()
                 and json.loads(stamp_path.read_text()) == stamp)
    if fresh:
        if venv.exists():
            shutil.rmtree(venv)
        run([sys.executable, "-m", "venv", venv])
        run([python, "-m", "pip", "install", "--upgrade", "pip"], quiet=True)
        run([python, "-m", "pip", "install", *stamp["requirements"]], quiet=True)
    else:
        log(f"reusing {venv}")
    # nnstudio itself, every time: the source changes between builds, its dependencies do not
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", ROOT], quiet=True)
    check = ("import importlib.util, importlib.metadata as md, sys\n"
             f"bad = [m for m in {TEST_PACKAGES!r} if importlib.util.find_spec(m)]\n"
             "names = {d.metadata['Name'].lower().replace('_', '-') for d in md.distributions()}\n"
             "if 'tensorflow' in names and 'tensorflow-cpu' in names: bad.append('tensorflow with tensorflow-cpu')\n"
             "print(', '.join(bad)); sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([python, "-c", check], capture_output=True, text=True, cwd=BUILD, check=False)
    if proc.returncode:
        raise BuildError(f"the build environment {venv} holds packages it must not: {proc.stdout.strip()}")
    if fresh:
        stamp_path.write_text(json.dumps(stamp))
    return python


def run_pyinstaller(python: Path, gpu: bool) -> None:
    env = dict(os.environ, NNSTUDIO_BUILD_GPU="1" if gpu else "0", PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    # from build/, so the source tree is not on the analysis path: the installed nnstudio is frozen
    # ERROR: astropy's hook asks for every astropy submodule, and each one excluded would warn;
    # PyInstaller's full list of warnings stays in build/pyinstaller/nnstudio/warn-nnstudio.txt
    run([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
         "--distpath", DIST, "--workpath", BUILD / "pyinstaller", HERE / "nnstudio.spec"],
        cwd=BUILD, env=env)


def check_modules(python: Path) -> None:
    """Every module of the nnstudio that was frozen (the build environment's copy: the source tree
    may have moved on) and lean.REQUIRED_MODULES are in the app's module archive."""
    pyz = BUILD / "pyinstaller" / "nnstudio" / "PYZ-00.pyz"
    script = ("import json, sys, pathlib, nnstudio\n"
              "from PyInstaller.archive.readers import ZlibArchiveReader\n"
              "names = set(ZlibArchiveReader(sys.argv[1]).toc)\n"
              "pkg = pathlib.Path(nnstudio.__file__).parent\n"
              "mods = ['.'.join(('nnstudio',) + p.relative_to(pkg).with_suffix('').parts) for p in pkg.rglob('*.py')]\n"
              "mods = [m[:-len('.__init__')] if m.endswith('.__init__') else m for m in mods]\n"
              "wanted = mods + json.loads(sys.argv[2])\n"
              "print(json.dumps([len(wanted)] + [m for m in wanted if m not in names]))\n")
    proc = subprocess.run([python, "-c", script, pyz, json.dumps(lean.REQUIRED_MODULES)],
                          capture_output=True, text=True, cwd=BUILD, check=False)
    if proc.returncode:
        raise BuildError(f"could not read {pyz}: {proc.stderr.strip()[-500:]}")
    count, *missing = json.loads(proc.stdout)
    if missing:
        raise BuildError(f"the frozen app lacks modules: {', '.join(missing)}")
    log(f"all {count} required modules are in the app")


def archive(name: str) -> Path:
    if os.name == "nt":
        out = DIST / f"{name}.zip"
        out.unlink(missing_ok=True)
        shutil.make_archive(str(out.with_suffix("")), "zip", DIST, "nnstudio")
        return out
    out = DIST / f"{name}.tar.xz"
    out.unlink(missing_ok=True)
    # xz's own threads: Python's lzma is single-threaded and twice as slow on two cores
    env = dict(os.environ, XZ_OPT=os.environ.get("XZ_OPT", "-6 -T0"))
    run(["tar", "-cJf", out, "-C", DIST, "nnstudio"], env=env)
    return out


def mb(n: int) -> float:
    return round(n / 1e6, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu", action="store_true",
                    help="GPU variant on tensorflow[and-cuda] (Linux; ~3 GB more; see packaging/README.md)")
    ap.add_argument("--skip-archive", action="store_true", help="leave out the archive")
    ap.add_argument("--reuse-venv", action="store_true",
                    help="reuse the build environment when its requirements are unchanged")
    args = ap.parse_args(argv)
    if args.gpu and not sys.platform.startswith("linux"):
        ap.error("the GPU variant is for Linux only (TensorFlow has no CUDA wheels elsewhere)")
    t0 = time.perf_counter()
    times = {}
    result = {"build": "nnstudio", "variant": "gpu" if args.gpu else "cpu", "version": app_version()}
    try:
        BUILD.mkdir(exist_ok=True)
        python = ensure_venv(args.gpu, args.reuse_venv)
        times["venv_s"] = time.perf_counter() - t0

        t = time.perf_counter()
        run_pyinstaller(python, args.gpu)
        check_modules(python)
        times["pyinstaller_s"] = time.perf_counter() - t

        t = time.perf_counter()
        before = lean.tree_size(APP_DIR)
        stripped = lean.strip_binaries(APP_DIR)
        lean.add_desktop_files(APP_DIR, ROOT / "resources")
        unpacked = lean.tree_size(APP_DIR)
        times["strip_s"] = time.perf_counter() - t
        log(f"stripped {len(stripped)} files: {mb(before)} MB -> {mb(unpacked)} MB")
        result.update(app=str(APP_DIR), unpacked_mb=mb(unpacked))

        if not args.skip_archive:
            t = time.perf_counter()
            out = archive(target_name(args.gpu))
            times["archive_s"] = time.perf_counter() - t
            result.update(archive=str(out), archive_mb=mb(out.stat().st_size))

        t = time.perf_counter()
        ok, line = smoke.selftest(APP_DIR)
        times["selftest_s"] = time.perf_counter() - t
        result["selftest"] = line
        if not ok:
            raise BuildError(f"the frozen selftest failed: {line}")
        result["ok"] = True
    except BuildError as exc:
        print(f"[build] FAILED: {exc}", file=sys.stderr, flush=True)
        result.update(ok=False, error=str(exc))
    result.update({k: round(v, 1) for k, v in times.items()}, total_s=round(time.perf_counter() - t0, 1))
    if "unpacked_mb" in result:
        log(f"unpacked {result['unpacked_mb']} MB" +
            (f", archive {result['archive_mb']} MB" if "archive_mb" in result else ""))
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
