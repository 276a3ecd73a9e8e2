"""Benchmark: the default clicks on simulated lenses nnstudio was not tuned on.

Writes cutouts made unlike the bundled example (``_lens_sim.py``), then does what a newcomer does:
``nnstudio new-project`` on the cube and its labels, ``train --epochs E``, ``evaluate``, each as its
own command. Reports the test split's ROC AUC and the lens recall at the default threshold, with
their 95% intervals (bootstrap, from ``evaluate --json``).

    python benchmarks/lens_defaults.py [--smoke] [--n 10000] [--lens-fraction 0.5] [--epochs 40] [--out DIR]

Goals: ROC AUC >= 0.94 with 10,000 cutouts (>= 0.92 with 2,000); with one lens in eleven, lens
recall >= 0.6 at the default threshold. The last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _nnstudio(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "nnstudio", *args], capture_output=True, text=True,
                         cwd=os.path.dirname(HERE), check=False)
    if out.returncode != 0:
        raise SystemExit(f"nnstudio {args[0]} failed: {out.stderr.strip().splitlines()[-1:]}")
    return out.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny quick run (checks the script works)")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--lens-fraction", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.epochs = 200, 2
    import _lens_sim

    out = args.out or tempfile.mkdtemp(prefix="lens_defaults_")
    t0 = time.perf_counter()
    cube, labels = _lens_sim.write(out, args.n, args.lens_fraction, args.seed)
    project = os.path.join(out, "lenses.nnproj")
    _nnstudio("new-project", "--data", cube, "--labels", labels, "--target", "is_lens", "--out", project)
    _nnstudio("train", project, "--epochs", str(args.epochs))
    ev = json.loads(_nnstudio("evaluate", project, "--json"))
    m, ci = ev["metrics"], ev["metrics_ci"]
    rare = args.lens_fraction < 0.25
    if rare:
        goal, passed = "lens recall >= 0.6 at the default threshold", m["recall"] >= 0.6
    else:
        need = 0.94 if args.n >= 10_000 else 0.92
        goal, passed = f"ROC AUC >= {need}", m["roc_auc"] >= need
    result = {"benchmark": "lens_defaults", "n": args.n, "lens_fraction": args.lens_fraction, "epochs": args.epochs,
              "test_samples": ev["n"], "class_ratio": ev.get("class_ratio"),
              **{k: {"value": round(m[k], 4), "interval": [round(v, 4) for v in ci[k]]}
                 for k in ("roc_auc", "recall", "balanced_accuracy", "average_precision")},
              "minutes": round((time.perf_counter() - t0) / 60, 1), "goal": goal,
              "pass": bool(passed)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
