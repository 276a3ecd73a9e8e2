"""Benchmark: the same sweep with and without pruning, in one run.

Both sweeps search the galaxy-mass example (learning rate on a log scale and the width of a hidden
layer) with the same TPE sampler seed, trial budget and epochs per trial, each in its own SQLite
study. The seed-to-seed spread is measured by retraining the unpruned sweep's best settings with
three more seeds.

    python benchmarks/sweep.py [--smoke] [--trials 20] [--epochs 30]

The last line of stdout is one JSON object; the goal is that pruning saves >= 40 % of the time and
finds a best validation loss no worse than the unpruned one plus one seed-to-seed standard deviation.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GOAL_SAVED = 0.40
PARAMS = ["learning_rate=1e-5:1e-1:log", "units:dense_2=4:128:log"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a quick run (< 60 s); its figures mean little")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=30, help="epochs per trial (the project default)")
    ap.add_argument("--seeds", type=int, default=3, help="extra seeds for the seed-to-seed spread")
    args = ap.parse_args(argv)
    if args.smoke:
        args.trials, args.epochs, args.seeds = 4, 2, 2

    from nnstudio.core.experiments.repeat import summarize_values
    from nnstudio.core.experiments.sweep import apply_params, run_sweep
    from nnstudio.core.project import Project
    from nnstudio.core.training.tf_runtime import import_tensorflow
    from nnstudio.core.training.trainer import train
    from nnstudio.core.workflow import prepare_project, write_example_project

    import_tensorflow(quiet=True)
    work = Path(tempfile.mkdtemp(prefix="nnstudio-sweep-bench-"))
    project = Project.load(write_example_project("galaxy-mass", work))
    prepared = prepare_project(project)
    if args.smoke:  # a slice of the data keeps the smoke run short
        for d in (prepared.x, prepared.y, prepared.index):
            for s in d:
                d[s] = d[s][:300]

    # warm up TensorFlow's tracing so neither side pays it alone
    import dataclasses

    train(prepared, project.model, dataclasses.replace(project.training, epochs=1), work / "warmup")

    results = {}
    for prune in (False, True):
        t0 = time.perf_counter()
        res = run_sweep(project, PARAMS, trials=args.trials, epochs=args.epochs, sampler="tpe", seed=0,
                        prune=prune, storage=f"sqlite:///{(work / f'prune-{prune}.db').as_posix()}",
                        prepared=prepared)
        results[prune] = (time.perf_counter() - t0, res)
        print(f"pruning {'on ' if prune else 'off'}: {results[prune][0]:.1f} s, {res.counts}, "
              f"best val_loss {res.best['value']:.4g}", file=sys.stderr)

    t_full, full = results[False]
    t_pruned, pruned = results[True]
    spec, cfg = apply_params(project.model, dataclasses.replace(project.training, epochs=args.epochs),
                             full.best["params"])
    bests = []
    for seed in range(1, args.seeds + 1):
        rec, _ = train(prepared, spec, dataclasses.replace(cfg, seed=seed), work / f"seed-{seed}")
        bests.append(min(v for v in rec.history["val_loss"] if v is not None))
    spread = summarize_values(bests + [full.best["value"]])

    saved = 1.0 - t_pruned / t_full
    close = pruned.best["value"] <= full.best["value"] + (spread.std or 0.0)
    out = {
        "benchmark": "sweep",
        "goal": f"pruning saves >= {GOAL_SAVED:.0%} of the sweep time with a best val_loss within one "
                "seed-to-seed standard deviation",
        "pass": bool(saved >= GOAL_SAVED and close),
        "time_saved": round(saved, 3),
        "time_without_pruning_s": round(t_full, 2),
        "time_with_pruning_s": round(t_pruned, 2),
        "best_val_loss_without_pruning": full.best["value"],
        "best_val_loss_with_pruning": pruned.best["value"],
        "seed_to_seed_std": spread.std,
        "pruned_trials": pruned.counts.get("pruned", 0),
        "trials": args.trials, "epochs": args.epochs, "smoke": args.smoke,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
