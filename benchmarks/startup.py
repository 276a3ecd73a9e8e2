"""Time to the first painted window against the time of ``import tensorflow``, in one run.

Goal (issue: fast start): the window is on screen in under a quarter of TensorFlow's import time.
Uses the X display in $DISPLAY when there is one (e.g. Xvfb :99), else Qt's offscreen platform.
``--frozen`` measures the packaged executable (dist/nnstudio/nnstudio) instead of the source tree.
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_first_paint(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.strip() == "nnstudio-first-paint":
                return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()
    raise RuntimeError(f"{cmd} exited without painting a window")


def time_tf_import(python: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([python, "-c", "import tensorflow"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frozen", action="store_true", help="measure dist/nnstudio/nnstudio")
    ap.add_argument("--smoke", action="store_true", help="one repetition (CI)")
    args = ap.parse_args()
    repeat = 1 if args.smoke else args.repeat
    home = tempfile.mkdtemp(prefix="nnstudio-bench-")
    env = dict(os.environ, NNSTUDIO_STARTUP_PROBE="1", XDG_CONFIG_HOME=home, XDG_STATE_HOME=home)
    platform = "xcb" if env.get("DISPLAY") else "offscreen"
    if platform == "offscreen":
        env["QT_QPA_PLATFORM"] = "offscreen"
    if args.frozen:
        exe = ROOT / "dist" / "nnstudio" / ("nnstudio.exe" if os.name == "nt" else "nnstudio")
        if not exe.exists():
            print(f"no frozen app at {exe}; build it with python packaging/build.py", file=sys.stderr)
            return 1
        cmd = [str(exe)]
    else:
        cmd = [sys.executable, "-m", "nnstudio"]
    paint, tf = [], []
    for _ in range(repeat):  # interleaved so both see the same machine state
        paint.append(time_first_paint(cmd, env))
        tf.append(time_tf_import(sys.executable))
    p, t = statistics.median(paint), statistics.median(tf)
    ratio = p / t
    print(f"first paint {p:.2f} s (runs {', '.join(f'{x:.2f}' for x in paint)}); "
          f"import tensorflow {t:.2f} s; ratio {ratio:.3f}", file=sys.stderr)
    print(json.dumps({"benchmark": "startup", "frozen": args.frozen, "platform": platform,
                      "first_paint_s": round(p, 3), "tensorflow_import_s": round(t, 3),
                      "ratio": round(ratio, 3), "goal": "first_paint_s < 0.25 * tensorflow_import_s",
                      "pass": ratio < 0.25}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
