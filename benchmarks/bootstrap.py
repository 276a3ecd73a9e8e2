"""Benchmark: the vectorised bootstrap of the metrics against a loop of scikit-learn calls, in one run.

Both sides compute the same metrics: binary classification (accuracy, balanced accuracy,
precision, recall, F1, ROC AUC, average precision) and regression (RMSE, MAE, R², bias, NMAD
scatter), on each resample, then the 95% percentile intervals. The loop is a plain bootstrap: per
resample it draws the indices (stratified by class for classification, as the vectorised side
does) and calls scikit-learn once per metric. Before timing, the loop is run on the vectorised
side's own resamples and must give the same values (``max_abs_diff``). The sides run in interleaved
pairs (``_paired.py``: at least ``--pairs``, more until the interval is narrow): the median ratio with
its 95% interval. The loop is slow, so it times ``--loop-resamples`` resamples and is scaled up
linearly to ``--resamples``; the output says so.

    python benchmarks/bootstrap.py [--smoke] [--n 10000] [--resamples 1000] [--loop-resamples 100]

The last line of stdout is one JSON object; the goal is ratio = t_vectorised / t_loop <= 0.05 for
both problems, on the upper end of the interval.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))       # _paired

GOAL = 0.05


def make_data(problem: str, n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    if problem == "classification":
        y = (rng.random(n) < 0.3).astype(np.int64)
        logit = 1.5 * (2 * y - 1) + rng.normal(size=n)
        return y, 1.0 / (1.0 + np.exp(-logit))
    t = rng.normal(size=n)
    return t, t + 0.3 * rng.standard_t(4, size=n)


def loop_values(problem: str, y, scores, idx) -> dict:
    """The metrics on each resample row of ``idx`` (or, with ``idx`` an int, on that many
    resamples the loop draws itself), one scikit-learn call per metric."""
    import numpy as np
    from sklearn import metrics as m

    from nnstudio.core.evaluation.regression import nmad

    if isinstance(idx, int):
        rng = np.random.default_rng(1)
        classes = [np.flatnonzero(y == c) for c in np.unique(y)] if problem == "classification" \
            else [np.arange(len(y))]
        idx = (np.concatenate([c[rng.integers(0, len(c), len(c))] for c in classes])
               for _ in range(idx))
    out: dict[str, list[float]] = {}
    for rows in idx:
        yy, ss = y[rows], scores[rows]
        if problem == "classification":
            pred = (ss >= 0.5).astype(np.int64)
            v = {"accuracy": m.accuracy_score(yy, pred),
                 "balanced_accuracy": m.balanced_accuracy_score(yy, pred),
                 "precision": m.precision_score(yy, pred, zero_division=0),
                 "recall": m.recall_score(yy, pred, zero_division=0),
                 "f1": m.f1_score(yy, pred, zero_division=0),
                 "roc_auc": m.roc_auc_score(yy, ss),
                 "average_precision": m.average_precision_score(yy, ss)}
        else:
            v = {"rmse": m.root_mean_squared_error(yy, ss),
                 "mae": m.mean_absolute_error(yy, ss), "r2": m.r2_score(yy, ss),
                 "bias": float(np.mean(ss - yy)), "scatter": nmad(ss - yy)}
        for k, x in v.items():
            out.setdefault(k, []).append(float(x))
    return {k: np.asarray(x) for k, x in out.items()}


def intervals(values: dict) -> dict:
    import numpy as np
    return {k: tuple(np.quantile(v, [0.025, 0.975])) for k, v in values.items()}


def time_problem(problem: str, n: int, resamples: int, loop_resamples: int, pairs: int, quick: bool) -> dict:
    import numpy as np
    from _paired import interleaved

    from nnstudio.core.evaluation.bootstrap import metric_intervals, metric_resamples

    y, scores = make_data(problem, n)
    # the loop on the vectorised side's own resamples gives the same values (checked, untimed)
    vec_values, idx = metric_resamples(problem, y, scores, n_resamples=loop_resamples,
                                       return_indices=True)
    ref = loop_values(problem, y, scores, idx)
    diff = max(float(np.nanmax(np.abs(vec_values[k] - ref[k]))) for k in ref)
    metric_intervals(problem, y, scores, n_resamples=2)        # warm both sides: lazy imports

    def vectorised():
        start = time.perf_counter()
        metric_intervals(problem, y, scores, n_resamples=resamples)
        return time.perf_counter() - start

    def loop():
        start = time.perf_counter()
        intervals(loop_values(problem, y, scores, loop_resamples))
        return (time.perf_counter() - start) * resamples / loop_resamples

    stats = interleaved(loop, vectorised, min_pairs=pairs, max_pairs=max(pairs, 12), time_cap_s=180,
                        quick=quick)
    return {**stats, "max_abs_diff": diff}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", "--quick", action="store_true",
                    help="a quick run (seconds); its figures mean little")
    ap.add_argument("--n", type=int, default=10_000, help="samples")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--loop-resamples", type=int, default=100,
                    help="resamples the loop side times (scaled up linearly to --resamples)")
    ap.add_argument("--pairs", type=int, default=5, help="at least this many interleaved pairs")
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.resamples, args.loop_resamples, args.pairs = 500, 100, 10, 2
    args.loop_resamples = min(args.loop_resamples, args.resamples)

    result = {"benchmark": "bootstrap", "n": args.n, "resamples": args.resamples,
              "loop_resamples": args.loop_resamples, "pairs": args.pairs,
              "loop_scaled": f"x{args.resamples / args.loop_resamples:g} (linear)"}
    print(f"{args.n} samples, {args.resamples} resamples; the loop times {args.loop_resamples} "
          f"resamples, scaled x{args.resamples / args.loop_resamples:g}; {args.pairs} A/B pairs",
          file=sys.stderr)
    from _paired import meets

    passed = True
    for problem in ("classification", "regression"):
        r = time_problem(problem, args.n, args.resamples, args.loop_resamples, args.pairs, args.smoke)
        print(f"{problem}: vectorised {r['candidate_s']:.3f} s, loop {r['baseline_s']:.2f} s "
              f"(scaled), ratio {r['ratio']:.4f} {r['interval']}, largest difference {r['max_abs_diff']:.1e}",
              file=sys.stderr)
        result[problem] = r
        passed = passed and meets(r, GOAL) and r["max_abs_diff"] < 1e-9
    result.update({"goal": f"ratio <= {GOAL} (upper end of the 95% interval) for both problems, "
                           "same values as the loop",
                   "pass": bool(passed)})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
