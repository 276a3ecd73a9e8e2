"""Does the window stay smooth while a network trains?

Runs a real training job through the Train panel (offscreen, synthetic data, a small MLP or CNN)
while a 5 ms timer probes the Qt event loop; every gap between two probe ticks longer than the
period is time the GUI thread could not react. Reports the longest gap and the 99th percentile of
each of ``--repeats`` runs (a fresh training run each), their median and their spread (min–max).
Goal: median over repeats of the longest gap < 100 ms and of the p99 < 30 ms. The last line
printed is one JSON object.
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

import numpy as np

PROBE_MS = 5
GOAL = {"longest_ms": 100.0, "p99_ms": 30.0}


def synthetic(model: str, n: int, seed: int = 0):
    from nnstudio.core.data.prepared import PreparedData

    rng = np.random.default_rng(seed)
    if model == "cnn":
        x = rng.normal(size=(n, 24, 24, 1)).astype("float32")
        y = (x[:, 8:16, 8:16, 0].mean(axis=(1, 2)) > 0).astype("int64")
        kind, task, names = "images", "classification", []
    else:
        x = rng.normal(size=(n, 16)).astype("float32")
        y = (np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=n)).astype("float32")
        kind, task, names = "table", "regression", [f"x{i}" for i in range(16)]
    cut = [0, int(0.7 * n), int(0.85 * n), int(0.85 * n), n]
    splits = ("train", "val", "cal", "test")
    return PreparedData(kind=kind, problem=task,
                        x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                        y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                        index={s: np.arange(cut[i], cut[i + 1]) for i, s in enumerate(splits)},
                        feature_names=names, target_name="y",
                        class_names=["off", "on"] if task == "classification" else None,
                        target_scaler=None if task == "classification" else {"mean": 0.0, "std": 1.0})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    ap.add_argument("--seconds", type=float, default=10.0, help="train this long, then press Stop")
    ap.add_argument("--repeats", type=int, default=5, help="training runs, each measured on its own")
    ap.add_argument("--smoke", action="store_true", help="a short run (CI)")
    args = ap.parse_args()
    seconds = 3.0 if args.smoke else args.seconds
    repeats = 1 if args.smoke else max(1, args.repeats)

    from nnstudio.core.model import make_template
    from nnstudio.core.training.tf_runtime import import_tensorflow
    from nnstudio.gui.app import make_application
    from nnstudio.gui.panels.train.panel import TrainPanel
    from nnstudio.gui.session import Session
    from nnstudio.gui.theme import configure_pyqtgraph

    app = make_application()
    configure_pyqtgraph()
    info = import_tensorflow()   # set-up, before anything is measured
    prepared = synthetic(args.model, 6000 if args.model == "cnn" else 20000)
    session = Session()
    session.tf_info = info
    template = "small-cnn" if args.model == "cnn" else "mlp-regression"
    session.project.model = make_template(template, prepared.input_shape, prepared.problem, prepared.n_classes)
    session.project.training.epochs = 100_000        # stopped after --seconds
    session.project.training.early_stopping = False
    session.project.training.batch_size = 32
    session.project.save(Path(tempfile.mkdtemp(prefix="nnstudio-ui-latency-")) / "bench.nnproj")
    session.set_prepared(prepared)
    panel = TrainPanel(session)
    panel.on_tf_ready(info)
    panel.resize(1280, 820)
    panel.show()

    runs = []
    for _ in range(repeats):
        run = measure(panel, session, seconds)
        if run is None:
            print("training did not finish (or the panel refused to start)", file=sys.stderr)
            panel.shutdown()
            return 1
        runs.append(run)
        print(f"ui_latency: {template}, {run['epochs']} epochs in {run['seconds']:.1f} s, longest gap "
              f"{run['longest_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, {run['redraws_per_s']} redraws/s",
              file=sys.stderr)
    panel.shutdown()

    def spread(key):
        v = [r[key] for r in runs]
        return {"median": round(float(np.median(v)), 1), "min": round(min(v), 1), "max": round(max(v), 1)}

    longest, p99 = spread("longest_ms"), spread("p99_ms")
    out = {"benchmark": "ui_latency", "model": template, "platform": app.platformName(),
           "device": info["device"], "cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
           "probe_ms": PROBE_MS, "repeats": runs, "longest_ms": longest, "p99_ms": p99,
           "goal": {**GOAL, "over": f"the median of {repeats} runs"},
           "pass": bool(longest["median"] < GOAL["longest_ms"] and p99["median"] < GOAL["p99_ms"])}
    print(json.dumps(out))
    return 0


def measure(panel, session, seconds: float) -> dict | None:
    """One training run of ``seconds`` (then Stop) while a timer probes the event loop."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    clock = QElapsedTimer()
    ticks: list[int] = []
    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(lambda: ticks.append(clock.nsecsElapsed()))
    result = {}
    loop = QEventLoop()

    def finished(record):
        result["record"] = record
        probe.stop()
        loop.quit()

    session.run_finished.connect(finished)
    redraws = panel.plots.redraw_count
    clock.start()
    probe.start()
    t0 = time.perf_counter()
    if not panel.start():
        return None
    QTimer.singleShot(int(seconds * 1000), panel.stop)
    QTimer.singleShot(int((seconds + 120) * 1000), loop.quit)   # safety net
    loop.exec()
    wall = time.perf_counter() - t0
    session.run_finished.disconnect(finished)
    if "record" not in result:
        return None
    gaps = np.diff(np.array(ticks, dtype=np.float64)) / 1e6
    drawn = panel.plots.redraw_count - redraws
    return {"seconds": round(wall, 2), "epochs": result["record"].epochs_run, "ticks": int(gaps.size),
            "longest_ms": round(float(gaps.max()), 1) if gaps.size else float("nan"),
            "p99_ms": round(float(np.percentile(gaps, 99)), 1) if gaps.size else float("nan"),
            "median_ms": round(float(np.median(gaps)), 2) if gaps.size else None,
            "redraws_per_s": round(drawn / wall, 1)}


if __name__ == "__main__":
    sys.exit(main())
