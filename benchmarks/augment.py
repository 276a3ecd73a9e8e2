"""Benchmark: a training epoch with the sky symmetries against the same epoch without them.

Both sides train the nnstudio small-CNN template on the same images with the same batch size and
seed, one epoch per measurement, in interleaved pairs (``_paired.py``): the median ratio with its
95% interval. The goal holds when the interval's upper end is ≤ 1.15.

    python benchmarks/augment.py [--smoke] [--n 1000] [--size 64] [--pairs 7] [--batch-size 32]

The last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GOAL = 1.15


def epoch_timer(x, y, augment: bool, batch_size: int):
    import keras
    import tensorflow as tf

    from nnstudio.core.model import build_model, make_template
    from nnstudio.core.training.augment import sky_symmetries

    spec = make_template("small-cnn", x.shape[1:], "classification", 2)
    model = build_model(spec, x.shape[1:], "classification", 2, seed=0)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(batch_size)
    if augment:
        ds = sky_symmetries(ds, 0)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    model.fit(ds, epochs=1, verbose=0)             # trace and warm before timing
    keras.utils.set_random_seed(0)

    def once() -> float:
        t0 = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0)
        return time.perf_counter() - t0
    return once


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny quick run (checks the script works)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--pairs", type=int, default=7, help="at least this many pairs")
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.size, args.pairs = 128, 16, 3

    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.size, args.size, 1)).astype("float32")
    y = rng.integers(0, 2, args.n).astype("int64")
    from _paired import interleaved, meets

    plain, sky = epoch_timer(x, y, False, args.batch_size), epoch_timer(x, y, True, args.batch_size)
    stats = interleaved(plain, sky, min_pairs=args.pairs, quick=args.smoke)
    result = {"benchmark": "augment", "n": args.n, "size": args.size, **stats,
              "goal": f"ratio <= {GOAL} (upper end of the 95% interval)", "pass": meets(stats, GOAL)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
