"""Smoke-test a frozen nnstudio: ``python packaging/smoke.py [dist/nnstudio]``.

Runs the executable's ``--version`` and ``selftest`` offscreen, with a fresh HOME, no Python
variables from the build machine and, where Linux allows it (``unshare``), no network at all.
Prints the selftest's line; exit status 0 only when it says PASS.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300


def executable(app_dir: Path) -> Path:
    return app_dir / ("nnstudio.exe" if os.name == "nt" else "nnstudio")


def _offline_prefix() -> list[str]:
    """A command prefix that runs its command in a new network namespace (loopback only)."""
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux") or not unshare:
        return []
    for prefix in ([unshare, "--net"], [unshare, "--map-root-user", "--net"]):
        try:
            if subprocess.run(prefix + ["true"], capture_output=True, timeout=10, check=False).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return []


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "QT_", "XDG_", "LD_PRELOAD"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2",
               XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".local/state"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
               # belt and braces where no network namespace can be made
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="")
    return env


def run_frozen(app_dir: Path, *args: str, timeout: float = TIMEOUT_S, offline: bool = True):
    exe = executable(app_dir)
    if not exe.exists():
        raise FileNotFoundError(f"no frozen app at {exe}")
    with tempfile.TemporaryDirectory(prefix="nnstudio-smoke-") as home:
        prefix = _offline_prefix() if offline else []
        return subprocess.run(prefix + [str(exe), *args], env=clean_env(Path(home)), cwd=home,
                              capture_output=True, text=True, timeout=timeout, check=False)


def selftest(app_dir: Path = ROOT / "dist" / "nnstudio") -> tuple[bool, str]:
    """(passed, the selftest's last line). Echoes the output's tail when it fails."""
    try:
        proc = run_frozen(app_dir, "selftest")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"selftest: FAIL ({type(exc).__name__}: {exc})"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("selftest:")]
    line = lines[-1] if lines else f"selftest: FAIL (exit {proc.returncode}, no selftest line)"
    ok = proc.returncode == 0 and line.startswith("selftest: PASS")
    if not ok:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
    return ok, line


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    app_dir = Path(argv[0]) if argv else ROOT / "dist" / "nnstudio"
    version = run_frozen(app_dir, "--version", timeout=60)
    print(version.stdout.strip() or version.stderr.strip())
    lessons = run_frozen(app_dir, "lessons", "--json", timeout=60)   # lesson files are package data
    try:
        found = [lesson["id"] for lesson in json.loads(lessons.stdout)["lessons"]]
    except (ValueError, KeyError, TypeError):
        found = []
    print(f"lessons: {', '.join(found) or 'none found: ' + lessons.stderr.strip()[-300:]}")
    ok, line = selftest(app_dir)
    print(line)
    return 0 if ok and version.returncode == 0 and len(found) >= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
