"""A group of runs of one setting summarised: curves as mean and spread per epoch, every metric as
mean ± sample standard deviation, test figures with a 95 % interval, and how many runs the
summary leaves out (ended in NaN, failed, stopped) and why.

What the spread covers depends on how the group was made: runs that differ only in their
training seed share one data split, so their spread is the seed-to-seed scatter ("spread over
seeds"); runs that each prepared their own split also vary the validation and test samples
("spread over seeds and splits").
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from nnstudio.core.evaluation.direction import bounds, is_metric
from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.core.training.config import RunRecord

SPREADS = {"seeds": "spread over seeds", "seeds_and_splits": "spread over seeds and splits"}
SCATTER = {"seeds": "seed-to-seed scatter", "seeds_and_splits": "scatter over seeds and splits"}
# why a run of the group is not in its mean ± std
LEFT_OUT = {"nan": "ended in NaN", "failed": "failed", "stopped": "stopped", "running": "did not finish"}


def t_quantile(dof: float, level: float = 0.95) -> float:
    """The two-sided ``level`` Student-t value for ``dof`` degrees of freedom."""
    from scipy.special import stdtrit   # the t distribution's quantile, without scipy.stats' overhead

    return float(stdtrit(dof, 0.5 + level / 2.0))


# -- statistics -----------------------------------------------------------------------------------
@dataclass
class Stat:
    mean: float | None
    std: float | None          # sample standard deviation; None with fewer than 2 values
    n: int
    min: float | None
    max: float | None
    values: list[float] = field(default_factory=list)
    interval: list[float] | None = None   # test figures: 95 % interval of the group's value
    test_noise: float | None = None       # test figures: half-width of one run's 95 % bootstrap interval

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 4) -> str:
        if self.mean is None:
            return "—"
        if self.std is None:
            return f"{fmt_number(self.mean, digits)} (1 run)"
        return f"{fmt_number(self.mean, digits)} ± {fmt_number(self.std, 2)}"

    def interval_text(self) -> str:
        return fmt_interval(*self.interval) if self.interval else ""


def summarize_values(values) -> Stat:
    """Mean, sample std, min and max of the finite values (None entries are skipped)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return Stat(None, None, 0, None, None, [])
    a = np.asarray(vals)
    std = float(a.std(ddof=1)) if len(a) >= 2 else None
    return Stat(float(a.mean()), std, len(a), float(a.min()), float(a.max()), vals)


def interval_of_test_figure(stat: Stat, half_widths: list[float], spread: str,
                            metric: str = "") -> tuple[list[float] | None, float | None]:
    """The 95 % interval of a group's test figure and the test split's own noise.

    Over seeds and splits, each run drew its own test samples, so the spread of the runs already
    holds the test-sample noise: mean ± t·s/√n. Over seeds only, every run was scored on the same
    test samples; their noise is shared and does not average out, so it is added to the seed
    part in quadrature: ± √((t·s/√n)² + h²), h the runs' mean bootstrap half-width. The interval
    keeps to the range the metric lives in (an RMSE is never below 0)."""
    noise = float(np.mean(half_widths)) if half_widths else None
    if stat.mean is None:
        return None, noise
    seed_part = t_quantile(stat.n - 1) * stat.std / math.sqrt(stat.n) if stat.std is not None else None
    if spread == "seeds_and_splits" and seed_part is not None:
        half = seed_part
    elif seed_part is not None or noise is not None:
        half = math.hypot(seed_part or 0.0, noise or 0.0)
    else:
        return None, noise
    low, high = bounds(metric)
    return [max(stat.mean - half, low), min(stat.mean + half, high)], noise


@dataclass
class Band:
    """A curve over epochs: per epoch the mean and spread of the runs that reached it."""

    mean: list[float | None]
    std: list[float | None]
    min: list[float | None]
    max: list[float | None]
    n: list[int]

    def to_dict(self) -> dict:
        return asdict(self)


def _band(curves: list[list]) -> Band:
    length = max((len(c) for c in curves), default=0)
    stats = [summarize_values([c[i] for c in curves if i < len(c)]) for i in range(length)]
    return Band(mean=[s.mean for s in stats], std=[s.std for s in stats], min=[s.min for s in stats],
                max=[s.max for s in stats], n=[s.n for s in stats])


@dataclass
class GroupSummary:
    runs: list[str]                  # the completed runs summarised
    curves: dict[str, Band]          # history key -> band
    metrics: dict[str, Stat]         # final metrics by name; test ones as "test_<name>"
    spread: str = "seeds"            # "seeds" | "seeds_and_splits"
    outcomes: dict[str, int] = field(default_factory=dict)   # status -> runs of the group

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def total(self) -> int:
        return max(sum(self.outcomes.values()), self.n)

    @property
    def spread_text(self) -> str:
        return SPREADS.get(self.spread, self.spread)

    def left_out(self) -> dict[str, int]:
        """Runs of the group outside the mean ± std, by status."""
        return {k: v for k, v in self.outcomes.items() if k != "completed" and v}

    def counts_text(self) -> str:
        """"3 runs" or "4 of 5 runs; 1 ended in NaN"."""
        out = self.left_out()
        if not out:
            return f"{self.n} run{'s' if self.n != 1 else ''}"
        why = ", ".join(f"{v} {LEFT_OUT.get(k, k)}" for k, v in out.items())
        return f"{self.n} of {self.total} runs; {why}"

    def headline(self) -> str:
        """"mean ± std of 4 of 5 runs; 1 ended in NaN · spread over seeds"."""
        return f"mean ± std of {self.counts_text()} · {self.spread_text}"

    def to_dict(self, curves: bool = True) -> dict:
        d = {"runs": list(self.runs), "n": self.n, "total": self.total, "outcomes": dict(self.outcomes),
             "spread": self.spread, "spread_text": self.spread_text, "counts": self.counts_text(),
             "metrics": {k: v.to_dict() for k, v in self.metrics.items()}}
        if curves:
            d["curves"] = {k: v.to_dict() for k, v in self.curves.items()}
        return d

    def format(self) -> str:
        lines = [f"  {self.headline()}"]
        for k, s in self.metrics.items():
            extra = f"  95% interval {s.interval_text()}" if s.interval else ""
            lines.append(f"  {k:<24} {s.text()}{extra}")
        return "\n".join(lines)


def group_summary(records: list[RunRecord], test_metrics: dict[str, dict] | None = None,
                  test_intervals: dict[str, dict] | None = None, spread: str = "seeds") -> GroupSummary:
    """Mean ± spread curves and metrics of the completed runs of a group; the others are counted.

    ``test_metrics``: run id -> {name: value} on the test split; ``test_intervals``: run id ->
    {name: [low, high]}, each run's 95 % bootstrap interval, which gives the test figures their
    interval (see :func:`interval_of_test_figure`)."""
    records = list(records)
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r.status] = outcomes.get(r.status, 0) + 1
    done = [r for r in records if r.status == "completed"]
    keys = []
    for r in done:
        keys += [k for k in (r.history or {}) if k not in keys]
    curves = {k: _band([list((r.history or {}).get(k, [])) for r in done]) for k in keys}
    metrics: dict[str, Stat] = {}
    finals = []
    for r in done:
        finals += [k for k in r.final if k not in finals]
    for k in finals:
        metrics[k] = summarize_values([r.final.get(k) for r in done])
    test_metrics, test_intervals = test_metrics or {}, test_intervals or {}
    tests = []
    for r in done:
        tests += [k for k in test_metrics.get(r.id, {}) if k not in tests and is_metric(k)]
    for k in tests:
        stat = summarize_values([test_metrics.get(r.id, {}).get(k) for r in done])
        halves = []
        for r in done:
            ci = (test_intervals.get(r.id) or {}).get(k)
            if ci is not None and all(v is not None and math.isfinite(v) for v in ci):
                halves.append((ci[1] - ci[0]) / 2.0)
        stat.interval, stat.test_noise = interval_of_test_figure(stat, halves, spread, k)
        metrics[f"test_{k}"] = stat
    return GroupSummary(runs=[r.id for r in done], curves=curves, metrics=metrics, spread=spread,
                        outcomes=outcomes)


__all__ = ["LEFT_OUT", "SCATTER", "SPREADS", "Band", "GroupSummary", "Stat", "group_summary",
           "interval_of_test_figure", "summarize_values", "t_quantile"]
