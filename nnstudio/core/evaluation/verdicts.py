"""Plain-words verdicts on uncertainty: can these error bars and probabilities be trusted?

Each verdict is ``{"level": "good" | "warn" | "bad", "text"}``. A coverage is judged by its 95%
binomial (Wilson score) interval on the number of samples behind it: consistent with the nominal
level when the interval contains it, and the text says so with the interval.
"""
from __future__ import annotations

import math

from nnstudio.core.formatting import fmt_level, fmt_percent

Z95 = 1.959963984540054         # the normal quantile of a two-sided 95% interval
ORDER = {"good": 0, "warn": 1, "bad": 2}


def binomial_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (95% by default): right also near
    0 and 1 and for small ``n``, where the normal approximation is not. ``n = 0``: (0, 1)."""
    n = int(n)
    if n <= 0:
        return 0.0, 1.0
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def coverage_tolerance(nominal: float, n: int) -> float:
    """How far an observed coverage may sit from ``nominal`` by chance: two binomial standard
    errors, at least one percentage point."""
    n = max(int(n), 1)
    return max(2.0 * math.sqrt(nominal * (1.0 - nominal) / n), 0.01)


def _pct(v: float) -> str:
    return f"{100.0 * v:.0f}%" if v >= 0.1 else f"{100.0 * v:.1f}%"


def coverage_check(coverage: float, nominal: float, n: int) -> dict:
    """An observed coverage against its nominal level: the Wilson interval, whether it is
    consistent, and the words ("84.7% of 85 samples, 95% interval 76–91%: consistent with 90%")."""
    k = round(float(coverage) * int(n))
    lo, hi = binomial_interval(k, n)
    if lo <= nominal <= hi:
        side, judged = "consistent", "consistent with"
    elif hi < nominal:
        side, judged = "below", "below"
    else:
        side, judged = "above", "above"
    words = (f"{fmt_percent(coverage)} of {n} samples (95% interval {_pct(lo)}–{_pct(hi)}): "
             f"{judged} the nominal {fmt_level(nominal)}")
    return {"low": lo, "high": hi, "side": side, "text": words}


def _worse(a: str, b: str) -> str:
    return a if ORDER[a] >= ORDER[b] else b


def regression_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """One line saying whether the Gaussian error bars can be trusted, from the 95% (then the
    68%) coverage against nominal, each judged by its binomial interval on ``n`` samples."""
    n = int(summary["n_samples"])
    c95, c68 = float(summary["coverage_95"]), float(summary["coverage_68"])
    n95, n68 = float(summary["nominal_95"]), float(summary["nominal_68"])
    k95, k68 = coverage_check(c95, n95, n), coverage_check(c68, n68, n)
    head = (f"95% intervals cover {fmt_percent(c95)} of {n} {split_label} samples (95% interval "
            f"{_pct(k95['low'])}–{_pct(k95['high'])})")
    if k95["side"] == "below":
        level = "bad" if c95 < n95 - 3 * coverage_tolerance(n95, n) else "warn"
        text = (f"{head}, below the nominal 95%: the error bars are too narrow (over-confident); "
                "trust them less, or use the conformal intervals.")
    elif k95["side"] == "above":
        level = "warn"
        text = f"{head}, above the nominal 95%: the error bars are too wide (under-confident)."
    elif k68["side"] != "consistent":
        level = "warn"
        side = "narrow" if k68["side"] == "below" else "wide"
        text = (f"{head}: consistent at 95%, but the 68% intervals cover {k68['text']}: the errors "
                f"are not Gaussian (1σ bars too {side}).")
    else:
        level = "good"
        text = (f"{head}: well calibrated, consistent with 95% (68% intervals: {fmt_percent(c68)}, "
                f"consistent with {fmt_level(n68)}).")
    if conformal and conformal.get("coverage") is not None and conformal.get("mean_width") is not None:
        nc = int(conformal.get("n_samples") or n)
        check = coverage_check(conformal["coverage"], conformal["nominal"], nc)
        text += (f" Conformal {fmt_level(conformal['nominal'])} intervals cover {check['text']}; "
                 f"width ±{conformal['mean_width'] / 2:.3g}.")
        if check["side"] == "below":
            level = _worse(level, "warn")
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


def _temperature_words(summary: dict, ece: float, after: float, T: float) -> tuple[str, str]:
    """What temperature scaling did: (level, sentence)."""
    if summary.get("temperature_skipped"):
        return "good", (f" Temperature scaling did not help on the validation split "
                        f"({summary['temperature_skipped']}), so it is not applied (T = 1).")
    if T == 1.0:
        return "good", ""
    nll, nll_after = summary.get("nll"), summary.get("nll_after_temperature")
    worse_nll = nll is not None and nll_after is not None and nll_after > nll
    if after > ece and (worse_nll or nll is None):
        return "warn", (f" Temperature scaling (T = {T:.2f}, fitted on validation) made them worse here "
                        f"(ECE {ece:.4f} → {after:.4f}" + (f", NLL {nll:.4f} → {nll_after:.4f}" if worse_nll else "")
                        + "): use the raw probabilities.")
    return "good", f" After temperature scaling (T = {T:.2f}, fitted on validation): ECE {after:.3f}."


def conformal_sets_words(conformal: dict, n: int) -> tuple[str, str]:
    """The conformal sets' coverage with its interval, and what their empty sets mean."""
    nominal = float(conformal["nominal"])
    check = coverage_check(conformal["coverage"], nominal, n)
    level = {"consistent": "good", "above": "good"}.get(check["side"], "warn")
    text = (f" Conformal {fmt_level(nominal)} sets cover {check['text']}; "
            f"{conformal['mean_set_size']:.2f} classes on average.")
    counts = conformal.get("set_size_counts") or []
    empty = int(counts[0]) if len(counts) else 0
    if empty:
        text += (f" {empty} set{'s are' if empty != 1 else ' is'} empty: no class is plausible at the "
                 f"{fmt_level(nominal)} level for {'those samples' if empty != 1 else 'that sample'} — "
                 "treat them as “abstain: look at it”, however confident the model is.")
        level = _worse(level, "warn")
    return level, text


def classification_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """Whether the probabilities can be trusted: ECE against what sampling noise alone gives on
    ``n`` samples, what temperature scaling did, and the conformal sets' coverage with its
    binomial interval and their empty sets in words."""
    n = int(summary["n_samples"])
    ece, after, T = float(summary["ece"]), float(summary["ece_after_temperature"]), float(summary["temperature"])
    noise = ece_noise(summary["reliability"], n)
    good = max(0.015, 1.5 * noise)
    if ece <= good:
        level = "good"
        text = (f"Probabilities are well calibrated on {n} {split_label} samples: expected calibration "
                f"error {ece:.3f}, within the {good:.3f} that chance alone gives on {n} samples.")
        t_level, t_text = _temperature_words(summary, ece, after, T)
        level, text = _worse(level, t_level), text + t_text
    else:
        mood = "over-confident" if T > 1 else "under-confident"
        if after <= good:
            level = "warn"
            text = (f"Raw probabilities are {mood} (ECE {ece:.3f} on {n} {split_label} samples, above "
                    f"the {good:.3f} chance gives); temperature scaling (T = {T:.2f}, fitted on validation) "
                    f"fixes it: ECE {after:.3f}. Use the scaled probabilities.")
        else:
            level = "bad" if min(ece, after) > 3 * good else "warn"
            text = (f"Probabilities are not calibrated: ECE {ece:.3f} on {n} {split_label} samples "
                    f"(chance gives up to {good:.3f}), {after:.3f} after temperature scaling (T = {T:.2f}). "
                    "Do not read them as frequencies; the conformal sets keep their guarantee.")
    if conformal and conformal.get("coverage") is not None:
        c_level, c_text = conformal_sets_words(conformal, n)
        level, text = _worse(level, c_level), text + c_text
    return {"level": level, "text": text}


__all__ = ["binomial_interval", "classification_verdict", "conformal_sets_words", "coverage_check",
           "coverage_tolerance", "ece_noise", "regression_verdict"]
