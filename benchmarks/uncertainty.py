"""Benchmark: MC dropout with T passes against T calls of ``model.predict``, in one run.

Both sides see the same inputs; the baseline calls ``predict`` T times with ``--batch-size``;
MC dropout tiles each step's inputs T times inside one compiled function, with as many inputs per
step as its memory budget allows. Both sides are timed warm, as a user meets them the second
time: the baseline's predict function is traced before the clock starts, and MC dropout's first
call (its model rebuilt with dropout on, and traced; kept with the model after it) is timed on its
own and reported beside (``first_call_s``, ``first_call_ratio``). The sides run in interleaved
pairs (``_paired.py``): the median ratio with its 95% interval, judged on the upper end.

    python benchmarks/uncertainty.py [--smoke] [--cnn] [--n 10000] [--T 50] [--batch-size 256]

The last line of stdout is one JSON object; the goal is ratio = t_mc / t_baseline <= 0.5 for the
dense model and the CNN. The dense model's stretch goal (0.05) and the CNN's compute-bound limit
(T passes of compute over one: the share of its time that is compute, ``compute_limit``) are
reported beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))       # _paired
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GOAL = 0.5


def dense_model(n_features: int):
    import keras
    return keras.Sequential([
        keras.Input((n_features,)),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(1),
    ])


def cnn_model(size: int):
    import keras
    return keras.Sequential([
        keras.Input((size, size, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.BatchNormalization(),
        keras.layers.SpatialDropout2D(0.1), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.3), keras.layers.Dense(1, activation="sigmoid"),
    ])


def time_pair(model, x, T: int, batch_size: int, quick: bool) -> dict:
    import numpy as np
    from _paired import interleaved

    from nnstudio.core.evaluation.uncertainty import mc_dropout_predict

    model.predict(x[:batch_size], batch_size=batch_size, verbose=0)      # warm the baseline

    def baseline():
        start = time.perf_counter()
        for _ in range(T):
            model.predict(x, batch_size=batch_size, verbose=0)
        return time.perf_counter() - start

    def mc():
        start = time.perf_counter()
        samples = mc_dropout_predict(model, x, n_passes=T)
        took = time.perf_counter() - start
        assert samples.shape[:2] == (T, len(x))
        assert float(np.std(samples, axis=0).mean()) > 0, "MC dropout passes did not differ"
        return took

    cold = mc()             # the first call: the model rebuilt with dropout on, and traced
    stats = interleaved(baseline, mc, min_pairs=5, max_pairs=12, time_cap_s=240, quick=quick)
    stats["first_call_s"] = round(cold, 4)
    stats["first_call_ratio"] = round(cold / stats["baseline_s"], 4)
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny quick run (checks the script works)")
    ap.add_argument("--cnn", action="store_true", help="also time a small CNN on 32x32 images")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.T = 500, 5

    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, 16)).astype("float32")
    result = {"benchmark": "uncertainty", "n": args.n, "T": args.T, "batch_size": args.batch_size,
              "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU"}
    from _paired import meets

    dense = time_pair(dense_model(16), x, args.T, args.batch_size, args.smoke)
    print(f"dense: {dense}", file=sys.stderr)
    result["dense"] = dense
    result["dense_stretch_goal_0.05"] = meets(dense, 0.05)
    passed = meets(dense, GOAL)
    if args.cnn:
        images = rng.normal(size=(args.n, 32, 32, 1)).astype("float32")
        cnn = time_pair(cnn_model(32), images, args.T, args.batch_size, args.smoke)
        print(f"cnn: {cnn}", file=sys.stderr)
        # T passes of pure compute (one warm predict at a large batch, T times) over the baseline:
        # the ratio MC dropout could reach if it cost nothing beyond the arithmetic
        fresh = cnn_model(32)
        fresh.predict(images[:1024], batch_size=1024, verbose=0)
        start = time.perf_counter()
        fresh.predict(images, batch_size=1024, verbose=0)
        cnn["compute_limit"] = round(args.T * (time.perf_counter() - start) / cnn["baseline_s"], 4)
        result["cnn"] = cnn
        passed = passed and meets(cnn, GOAL)
    result.update({"goal": f"ratio <= {GOAL} (upper end of the 95% interval)", "pass": bool(passed)})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
