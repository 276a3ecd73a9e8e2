"""Plain-words verdicts on uncertainty: can these error bars and probabilities be trusted?

Each verdict is ``{"level": "good" | "warn" | "bad", "text"}``, judged against what sampling
noise alone would give for the number of samples.
"""
from __future__ import annotations

import math

from nnstudio.core.formatting import fmt_level, fmt_percent


def coverage_tolerance(nominal: float, n: int) -> float:
    """How far an observed coverage may sit from ``nominal`` by chance: two binomial standard
    errors, at least one percentage point."""
    n = max(int(n), 1)
    return max(2.0 * math.sqrt(nominal * (1.0 - nominal) / n), 0.01)


def regression_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """One line saying whether the Gaussian error bars can be trusted, from the 95% (then the
    68%) coverage against nominal, allowing for the sampling noise of ``n`` samples."""
    n = int(summary["n_samples"])
    c95, c68 = float(summary["coverage_95"]), float(summary["coverage_68"])
    n95, n68 = float(summary["nominal_95"]), float(summary["nominal_68"])
    tol95, tol68 = coverage_tolerance(n95, n), coverage_tolerance(n68, n)
    head = f"95% intervals cover {fmt_percent(c95)} of {n} {split_label} samples"
    if c95 < n95 - tol95:
        level = "bad" if c95 < n95 - 3 * tol95 else "warn"
        text = (f"{head} (nominal 95%): the error bars are too narrow (over-confident); "
                "trust them less, or use the conformal intervals.")
    elif c95 > n95 + tol95:
        level = "warn"
        text = f"{head} (nominal 95%): the error bars are too wide (under-confident)."
    elif abs(c68 - n68) > tol68:
        level = "warn"
        side = "narrow" if c68 < n68 else "wide"
        text = (f"{head}: good at 95%, but the 68% intervals cover {fmt_percent(c68)} (nominal "
                f"{fmt_level(n68)}): the errors are not Gaussian (1σ bars too {side}).")
    else:
        level = "good"
        text = f"{head}: well calibrated (68% intervals: {fmt_percent(c68)})."
    if conformal and conformal.get("coverage") is not None and conformal.get("mean_width") is not None:
        text += (f" Conformal {fmt_level(conformal['nominal'])} intervals: coverage "
                 f"{fmt_percent(conformal['coverage'])}, width ±{conformal['mean_width'] / 2:.3g}.")
    return {"level": level, "text": text}


def ece_noise(reliability: dict, n: int) -> float:
    """ECE expected from sampling noise alone for a perfectly calibrated model with these bins:
    sum over bins of (n_b / N) * sqrt(2 p_b (1 - p_b) / (pi n_b)), p_b the bin's confidence."""
    total = 0.0
    for conf, count in zip(reliability["confidence"], reliability["count"]):
        if count and conf is not None:
            p = min(max(float(conf), 0.0), 1.0)
            total += (count / n) * math.sqrt(2.0 * p * (1.0 - p) / (math.pi * count))
    return total


def classification_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """One line saying whether the probabilities can be trusted: ECE before and after
    temperature scaling, against the ECE sampling noise alone would give."""
    n = int(summary["n_samples"])
    ece, after, T = float(summary["ece"]), float(summary["ece_after_temperature"]), float(summary["temperature"])
    good = max(0.015, 1.5 * ece_noise(summary["reliability"], n))
    if ece <= good:
        level = "good"
        text = (f"Probabilities are well calibrated on {n} {split_label} samples "
                f"(expected calibration error {ece:.3f}).")
    else:
        mood = "over-confident" if T > 1 else "under-confident"
        if after <= good:
            level = "warn"
            text = (f"Raw probabilities are {mood} (ECE {ece:.3f} on {n} {split_label} samples); "
                    f"temperature scaling (T = {T:.2f}, fitted on validation) fixes it: ECE {after:.3f}. "
                    "Use the scaled probabilities.")
        else:
            level = "bad" if min(ece, after) > 3 * good else "warn"
            text = (f"Probabilities are not calibrated: ECE {ece:.3f} on {n} {split_label} samples, "
                    f"{after:.3f} after temperature scaling (T = {T:.2f}). Do not read them as "
                    "frequencies; the conformal sets keep their guarantee.")
    if conformal and conformal.get("coverage") is not None:
        text += (f" Conformal {fmt_level(conformal['nominal'])} sets: coverage {fmt_percent(conformal['coverage'])}, "
                 f"{conformal['mean_set_size']:.2f} classes on average.")
    return {"level": level, "text": text}


__all__ = ["classification_verdict", "coverage_tolerance", "ece_noise", "regression_verdict"]
