"""Side-by-side timing that holds on a shared machine: interleaved pairs, a median ratio with its
95% interval, and a verdict on the interval's conservative end.

Each pair times the baseline (A) and the candidate (B) back to back, in alternating order (A B,
then B A, …), so slow spells of a busy machine fall on both sides and cancel in the pair's ratio
B / A. At least ``min_pairs`` pairs are taken, then more until the interval's half-width is at most
``target`` times the median or ``time_cap_s`` has passed (``max_pairs`` at most). The interval is
a percentile bootstrap of the median over pairs. A goal "≤ g" passes when the upper end is ≤ g; a
goal "≥ g" when the lower end is ≥ g.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np


def interleaved(baseline: Callable[[], float], candidate: Callable[[], float], *, min_pairs: int = 7,
                max_pairs: int = 30, time_cap_s: float = 300.0, target: float = 0.03,
                quick: bool = False, seed: int = 0) -> dict:
    """Time the two sides in interleaved pairs; each callable runs once and returns its seconds
    (so set-up can stay off the clock). ``quick`` takes 2 pairs: a smoke run that checks the script."""
    if quick:
        min_pairs = max_pairs = 2
    a, b = [], []
    t0 = time.perf_counter()
    while len(a) < max_pairs:
        first_a = len(a) % 2 == 0
        ta = tb = None
        for side in (("a", "b") if first_a else ("b", "a")):
            if side == "a":
                ta = float(baseline())
            else:
                tb = float(candidate())
        a.append(ta)
        b.append(tb)
        if len(a) >= min_pairs:
            s = summary(a, b, seed=seed)
            lo, hi = s["interval"]
            if (hi - lo) / 2 <= target * s["ratio"] or time.perf_counter() - t0 > time_cap_s:
                return s
    return summary(a, b, seed=seed)


def summary(a, b, seed: int = 0, n_boot: int = 4000) -> dict:
    """Median of the pair ratios b/a with a 95% bootstrap interval over pairs, and the sides'
    own medians."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    r = b / a
    idx = np.random.default_rng(seed).integers(0, len(r), (n_boot, len(r)))
    lo, hi = np.quantile(np.median(r[idx], axis=1), [0.025, 0.975])
    return {"ratio": round(float(np.median(r)), 4), "interval": [round(float(lo), 4), round(float(hi), 4)],
            "pairs": int(len(r)), "baseline_s": round(float(np.median(a)), 4),
            "candidate_s": round(float(np.median(b)), 4), "load_average": round(os.getloadavg()[0], 2)}


def meets(stats: dict, goal: float, direction: str = "<=") -> bool:
    """The goal on the interval's conservative end."""
    lo, hi = stats["interval"]
    return bool(hi <= goal) if direction == "<=" else bool(lo >= goal)
