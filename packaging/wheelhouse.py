"""Fill a wheelhouse folder with every wheel nnstudio needs, for an install with no network:

    python packaging/wheelhouse.py                  # -> wheelhouse/ (this OS and Python)
    python packaging/wheelhouse.py --extras test    # also the test tools
    python packaging/wheelhouse.py --platform win_amd64 --python-version 3.11 --out wheelhouse-win

then, on the offline machine (Python 3.11-3.13 of the same OS and architecture):

    python -m venv nnstudio-env
    nnstudio-env/bin/pip install --no-index --find-links wheelhouse nnstudio

The folder holds nnstudio's own wheel (built from this checkout) and a wheel of each dependency
in pyproject.toml, TensorFlow included (~0.8 GB in all on Linux). Wheels only, so nothing is
compiled on the offline machine. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        try:
            reqs += project["optional-dependencies"][extra]
        except KeyError:
            raise SystemExit(f"wheelhouse: no extra named {extra!r} in pyproject.toml") from None
    return reqs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "wheelhouse"), help="folder to fill (default: wheelhouse/)")
    ap.add_argument("--extras", action="append", default=[], metavar="NAME",
                    help="an optional-dependency group to add (test, gpu, package); repeatable")
    ap.add_argument("--platform", help="pip's --platform for another OS, e.g. win_amd64, macosx_12_0_arm64")
    ap.add_argument("--python-version", help="pip's --python-version with --platform, e.g. 3.11")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]

    # nnstudio itself is pure Python: one wheel fits every platform
    subprocess.run(pip + ["wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)], check=True)
    target = []
    if args.platform:
        target += ["--platform", args.platform]
    if args.python_version:
        target += ["--python-version", args.python_version]
    reqs = requirements(args.extras)
    subprocess.run(pip + ["download", "--only-binary=:all:", "--dest", str(out), *target, *reqs], check=True)

    wheels = sorted(out.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {size / 1e6:.0f} MB in {out}")
    print(f"offline install: pip install --no-index --find-links {out} nnstudio", file=sys.stderr)
    print(json.dumps({"wheelhouse": str(out), "wheels": len(wheels), "size_mb": round(size / 1e6, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
