"""What does training through nnstudio cost over a plain ``model.fit``?

One process, interleaved repetitions, the same model, data, batch size and epochs, ``verbose=0``:
- plain: ``build_model(spec)`` then ``model.fit(x, y, validation_data=…)`` on numpy arrays;
- nnstudio: the core ``train()`` (tf.data pipeline, its Reporter callback, checkpoints, the final
  save) in a worker thread through ``gui.workers.Job`` and its Qt-signal task, with a live plot
  widget on screen drawing the reports (offscreen Qt, throttled redraws).
For a dense (table) and a CNN (image) example it times interleaved pairs (``_paired.py``) and
prints the median ratio nnstudio / plain with its 95% interval. nnstudio runs several batches per
compiled call when an epoch has enough of them; ``--same-calls`` lets plain ``fit`` do the same, so
the ratio shows the cost of nnstudio's machinery alone.
Goal: the upper end of each interval <= 1.05. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

GOAL = 1.05
BATCH_SIZE = 32


def example(name: str, smoke: bool):
    from nnstudio.core.data.prepared import PreparedData
    from nnstudio.core.model import make_template

    rng = np.random.default_rng(0)
    if name == "cnn":
        n = 800 if smoke else 4000
        x = rng.normal(size=(n, 28, 28, 1)).astype("float32")
        y = (x[:, 10:18, 10:18, 0].mean(axis=(1, 2)) > 0).astype("int64")
        kind, task, template, classes = "images", "classification", "small-cnn", ["off", "on"]
    else:
        n = 4000 if smoke else 24000
        x = rng.normal(size=(n, 32)).astype("float32")
        y = (np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=n)).astype("float32")
        kind, task, template, classes = "table", "regression", "mlp-regression", None
    cut = [0, int(0.8 * n), n, n, n]   # train / validation; no calibration or test needed here
    splits = ("train", "val", "cal", "test")
    prepared = PreparedData(kind=kind, problem=task,
                            x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                            y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                            index={s: np.arange(cut[i], cut[i + 1]) for i, s in enumerate(splits)},
                            feature_names=[] if kind == "images" else [f"x{i}" for i in range(32)],
                            target_name="y", class_names=classes,
                            target_scaler=None if classes else {"mean": 0.0, "std": 1.0})
    spec = make_template(template, prepared.input_shape, task, prepared.n_classes)
    return prepared, spec


def run_plain(prepared, spec, epochs: int, same_calls: bool = False) -> float:
    """Plain ``fit``; ``same_calls``: with as many batches per compiled call as nnstudio runs (its
    machinery's own cost, without the gain of running several batches a call)."""
    from nnstudio.core.model import build_model
    from nnstudio.core.training.trainer import steps_per_execution

    t0 = time.perf_counter()
    model = build_model(spec, prepared.input_shape, prepared.problem, prepared.n_classes, seed=0)
    if same_calls:
        model.steps_per_execution = steps_per_execution(-(-prepared.count("train") // BATCH_SIZE))
    model.fit(prepared.x["train"], prepared.y["train"], batch_size=BATCH_SIZE, epochs=epochs,
              validation_data=(prepared.x["val"], prepared.y["val"]), verbose=0)
    return time.perf_counter() - t0


def run_nnstudio(prepared, spec, epochs: int, plots, folder: Path, i: int) -> float:
    from PySide6.QtCore import QEventLoop

    from nnstudio.core.training import TrainConfig
    from nnstudio.core.training.trainer import train
    from nnstudio.gui.workers import Job

    # the same training as plain fit: no augmentation, schedule or weights (each is measured on its own)
    config = TrainConfig(epochs=epochs, batch_size=BATCH_SIZE, early_stopping=False, seed=0,
                         augmentation="none", schedule="constant", class_weight="none")
    plots.clear()
    job = Job(train, prepared, spec, config, folder / f"run-{i}", run_id=f"run-{i}", name="bench")
    job.partial.connect(lambda d: plots.add_epoch(d["epoch"], d["logs"]))
    job.batch.connect(lambda d: plots.add_batch(d["step"] / max(d["steps"], 1), d["loss"]))
    errors = []
    job.errored.connect(errors.append)
    loop = QEventLoop()
    job.finished.connect(loop.quit)
    t0 = time.perf_counter()
    job.start()
    loop.exec()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=7, help="at least this many interleaved pairs")
    ap.add_argument("--max-pairs", type=int, default=50,
                    help="at most this many pairs (single runs vary by ±10%% here: 50 pairs narrow the "
                         "interval of the median to about ±3%%)")
    ap.add_argument("--time-cap", type=float, default=600.0, help="seconds per model before stopping")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--smoke", action="store_true", help="small data, three pairs (CI)")
    ap.add_argument("--same-calls", action="store_true",
                    help="plain fit runs as many batches per compiled call as nnstudio (default: Keras's one)")
    ap.add_argument("--only", choices=["dense", "cnn"], help="one of the two models")
    args = ap.parse_args()
    epochs = 2 if args.smoke else args.epochs

    from nnstudio.core.training.tf_runtime import import_tensorflow
    from nnstudio.gui.app import make_application
    from nnstudio.gui.panels.train.live_plot import LivePlots
    from nnstudio.gui.theme import configure_pyqtgraph

    make_application()
    configure_pyqtgraph()
    info = import_tensorflow()
    plots = LivePlots()
    plots.resize(1000, 600)
    plots.show()
    folder = Path(tempfile.mkdtemp(prefix="nnstudio-overhead-"))
    from _paired import interleaved, meets

    results = {}
    for name in ((args.only,) if args.only else ("dense", "cnn")):
        prepared, spec = example(name, args.smoke)
        run_plain(prepared, spec, 1)                    # warm-up: first-use costs off the clock
        count = iter(range(10_000))
        stats = interleaved(lambda: run_plain(prepared, spec, epochs, args.same_calls),
                            lambda: run_nnstudio(prepared, spec, epochs, plots, folder,
                                                 len(results) * 10_000 + next(count)),
                            min_pairs=args.pairs, max_pairs=args.max_pairs, time_cap_s=args.time_cap,
                            quick=args.smoke)
        results[name] = {"model": spec.name, "train_samples": prepared.count("train"), "epochs": epochs, **stats}
        print(f"{name:6s} plain {stats['baseline_s']:7.2f} s  nnstudio {stats['candidate_s']:7.2f} s  "
              f"ratio {stats['ratio']:.3f} {stats['interval']} over {stats['pairs']} pairs", file=sys.stderr)
    ok = all(meets(v, GOAL) for v in results.values())
    print(json.dumps({"benchmark": "train_overhead", "device": info["device"], "batch_size": BATCH_SIZE,
                      "plain_batches_per_call": "as nnstudio" if args.same_calls else 1,
                      "load_average": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                      "results": results, "redraws": plots.redraw_count,
                      "goal": f"ratio <= {GOAL} (upper end of the 95% interval)", "pass": ok}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
