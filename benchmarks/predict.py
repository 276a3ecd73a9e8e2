"""Benchmark: rows per second of nnstudio's predict against plain ``model.predict``, in one run.

nnstudio's side is the whole command, as ``nnstudio predict PROJECT INPUT --out CATALOG`` runs it
(reading the input, the project's preparation and the held-out fits, predicting in chunks, the
out-of-distribution scores, writing the catalog). The baseline makes the same forward passes with
plain ``model.predict`` on inputs already scaled and in memory, with the same batch size. Pairs
are interleaved (``_paired.py``); the goal: nnstudio's rows/s ≥ 0.8 of the baseline's (time ratio
≤ 1.25 on the interval's upper end) for a 100k-row table and a 20k-image cube. Then peak memory:
a cube 4× larger than the chunk budget is predicted in a fresh process, and its peak RSS above the
process with TensorFlow and the model loaded must stay within budget + model + 500 MB.

    python benchmarks/predict.py [--smoke] [--rows 100000] [--images 20000] [--batch-size 256]

The last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GOAL_TIME_RATIO = 1.25           # ours / plain: rows/s at least 0.8 of plain predict's
SLACK_MB = 500


def _train(project, epochs=1):
    from nnstudio.core.workflow.train import train_project

    train_project(project, epochs=epochs)
    project.save()
    return project


def table_case(folder: Path, rows: int):
    from nnstudio.core.examples import galaxy_mass
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow.projects import new_project

    cols = galaxy_mass.generate(n=2000, seed=0)
    write_csv(folder / "train.csv", cols)
    project = _train(new_project(str(folder / "train.csv"), folder / "mass.nnproj", target="log_stellar_mass",
                                 problem="regression", inputs=["log_luminosity", "g_r", "redshift"]))
    new = galaxy_mass.generate(n=rows, seed=1)
    write_csv(folder / "new.csv", {k: new[k] for k in ("log_luminosity", "g_r", "redshift")})
    return project, folder / "new.csv"


def images(n: int, size: int, seed: int):
    """``n`` lens-like cutouts: simulated ones, repeated with fresh noise (simulating is slow)."""
    import numpy as np

    from nnstudio.core.examples import strong_lens

    base, cols = strong_lens.generate(n=min(n, 600), seed=seed)
    if size > base.shape[1]:
        raise ValueError(f"the simulated cutouts are {base.shape[1]} pixels wide, not {size}")
    lo = (base.shape[1] - size) // 2
    base = base[:, lo:lo + size, lo:lo + size]
    reps = -(-n // len(base))
    cube = np.tile(base, (reps, 1, 1))[:n].astype(np.float32)
    cube += np.random.default_rng(seed).normal(0, 0.3, cube.shape).astype(np.float32)
    return cube, cols


def cube_case(folder: Path, n: int, size: int = 32):
    from nnstudio.core.examples._write import write_csv, write_fits_cube
    from nnstudio.core.workflow.projects import new_project

    cube, cols = images(400, size, 0)
    write_fits_cube(folder / "train.fits", cube)
    write_csv(folder / "train.csv", {k: v[:400] for k, v in cols.items()})
    project = _train(new_project(str(folder / "train.fits"), folder / f"lens{size}.nnproj",
                                 labels=str(folder / "train.csv"), target="is_lens", problem="classification"))
    write_fits_cube(folder / f"new{size}.fits", images(n, size, 1)[0])
    return project, folder / f"new{size}.fits"


def plain_inputs(project, path: Path):
    """The model's inputs for ``path``, scaled as at training, in memory."""
    import numpy as np

    from nnstudio.core.data.prepare import apply_scaler, feature_matrix
    from nnstudio.core.data.readers import read_dataset
    from nnstudio.core.data.spec import DataSelection

    ds = read_dataset(DataSelection(path=str(path)))
    fitted = project.preparation.fitted["input"]
    if ds.kind == "images":
        return apply_scaler(fitted, ds.images)
    x, _ = feature_matrix(ds.columns, fitted["columns"])
    return apply_scaler(fitted, np.asarray(x))


def compare(project, path: Path, batch_size: int, quick: bool) -> dict:
    import numpy as np
    from _paired import interleaved, meets

    from nnstudio.core.training.augment import sky_views, uses_tta
    from nnstudio.core.workflow.data import prepare_project
    from nnstudio.core.workflow.predict import predict_project
    from nnstudio.core.workflow.train import load_run_model

    model = load_run_model(project)
    x = plain_inputs(project, path)
    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)      # warm the baseline
    out = path.with_name(path.stem + "_catalog.fits")
    # a run trained on the sky symmetries predicts the mean of the 8 views: the baseline makes them too
    tta = uses_tta(project.run().settings, prepare_project(project))

    def plain():
        t = time.perf_counter()
        for v in (sky_views(x) if tta else [x]):
            model.predict(np.ascontiguousarray(v), batch_size=batch_size, verbose=0)
        return time.perf_counter() - t

    def ours():
        t = time.perf_counter()
        predict_project(project, path, out, batch_size=batch_size)
        return time.perf_counter() - t

    ours()                                                               # warm TensorFlow's tracing
    stats = interleaved(plain, ours, min_pairs=5, max_pairs=12, time_cap_s=240, quick=quick)
    n = len(x)
    stats.update(rows=n, tta=tta, rows_per_s_plain=round(n / stats["baseline_s"]), rows_per_s_ours=round(n / stats["candidate_s"]),
                 throughput_ratio=round(1.0 / stats["ratio"], 4), pass_=meets(stats, GOAL_TIME_RATIO, "<="))
    return stats


_RSS_CHILD = r"""
import json, sys, resource
sys.path.insert(0, {root!r})
from nnstudio.core.training.tf_runtime import import_tensorflow
import_tensorflow(quiet=True)
from nnstudio.core.project import Project
from nnstudio.core.workflow.predict import predict_project
from nnstudio.core.workflow.train import load_run_model

def rss_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0

project = Project.load({project!r})
model = load_run_model(project)
from nnstudio.core.workflow.data import prepare_project
prepared = prepare_project(project)
before = rss_mb("VmRSS:")
predict_project(project, {input!r}, {out!r}, chunk_bytes={budget}, model=model, prepared=prepared)
print(json.dumps({{"before_mb": before, "peak_mb": rss_mb("VmHWM:")}}))
"""


def memory(project, path: Path, budget: int) -> dict:
    code = _RSS_CHILD.format(root=str(ROOT), project=str(project.path), input=str(path),
                             out=str(path.with_name("rss_catalog.fits")), budget=budget)
    res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         timeout=900)
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    d = json.loads(res.stdout.strip().splitlines()[-1])
    model_mb = project.model_path(project.run()).stat().st_size / 2**20
    cube_mb = path.stat().st_size / 2**20
    growth = d["peak_mb"] - d["before_mb"]
    limit = budget / 2**20 + model_mb + SLACK_MB
    # the peak of a fresh process also holds what TensorFlow and the model took before predicting
    return {"cube_mb": round(cube_mb, 1), "budget_mb": round(budget / 2**20, 1), "model_mb": round(model_mb, 2),
            "rss_before_mb": round(d["before_mb"], 1), "rss_peak_mb": round(d["peak_mb"], 1),
            "growth_mb": round(growth, 1), "limit_mb": round(limit, 1),
            "growth_below_cube": bool(growth < cube_mb), "pass": bool(growth <= limit)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny quick run (checks the script works)")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--rss-images", type=int, default=12_000, help="64×64 cutouts in the memory check")
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory check")
    ap.add_argument("--table-only", action="store_true", help="only the table comparison")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    if args.smoke:
        args.rows, args.images, args.rss_images = 3000, 600, 800
    from nnstudio.core.training.tf_runtime import import_tensorflow

    import_tensorflow(quiet=True)
    import keras

    keras.utils.set_random_seed(0)
    folder = Path(tempfile.mkdtemp(prefix="nnstudio-bench-predict-"))
    t0 = time.perf_counter()
    skipped = {"pass_": True, "skipped": True}
    table = dict(skipped) if args.memory_only else compare(*table_case(folder, args.rows), args.batch_size, args.smoke)
    print("table", json.dumps(table), file=sys.stderr)
    cube = dict(skipped) if args.memory_only or args.table_only else compare(*cube_case(folder, args.images),
                                                                             args.batch_size, args.smoke)
    print("cube", json.dumps(cube), file=sys.stderr)
    if args.table_only:
        mem = {"pass": True, "skipped": True}
    else:
        project, path = cube_case(folder, args.rss_images, size=64)
        mem = memory(project, path, max(1, path.stat().st_size // 4))
    print("memory", json.dumps(mem), file=sys.stderr)
    table["pass"] = table.pop("pass_")
    cube["pass"] = cube.pop("pass_")
    result = {"benchmark": "predict", "goal": "rows/s >= 0.8 of plain model.predict (table and cube); "
              f"peak RSS growth <= chunk budget + model + {SLACK_MB} MB for a cube 4x the budget",
              "device": "CPU" if not __import__("tensorflow").config.list_physical_devices("GPU") else "GPU",
              "batch_size": args.batch_size, "table": table, "cube": cube, "memory": mem,
              "seconds": round(time.perf_counter() - t0, 1),
              "pass": bool(table["pass"] and cube["pass"] and mem["pass"])}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
