"""Two groups of runs compared honestly: one verdict, on one metric chosen before looking.

Testing every metric at 95 % finds a "difference" by chance far too often: with 12 metrics and
no real change, at least one passes about four times in ten. So:

* the verdict ("B is better") rests on one primary metric, the validation loss unless another
  is chosen before the runs are seen, tested alone at 95 % (Welch's t-test);
* every other metric is shown with its p-value corrected by Holm's step-down method over all
  of them, so that the chance of any false "differs" among them stays at 5 %; none of them
  makes a verdict;
* test figures are never a primary metric (choosing by them would tune to the test split):
  they are shown with their interval, and a difference smaller than the test split's own
  sampling noise says so.

Welch: the difference of the means, its standard error sqrt(s_a²/n_a + s_b²/n_b), and the
Welch–Satterthwaite degrees of freedom; spreads are sample standard deviations.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from nnstudio.core.evaluation.direction import higher_is_better as _direction
from nnstudio.core.evaluation.direction import is_metric
from nnstudio.core.experiments.groups import SCATTER, SPREADS, GroupSummary, Stat, t_quantile
from nnstudio.core.formatting import fmt_interval, fmt_number, fmt_p
from nnstudio.errors import NnstudioError

ALPHA = 0.05
DEFAULT_PRIMARY = "val_loss"


def holm(p_values) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the order given (None entries stay None and are
    not counted). Sorted ascending, the i-th of m (from 0) is scaled by m − i; each adjusted value
    is at least the one before it, and at most 1. A metric differs when its value is below α."""
    idx = [i for i, p in enumerate(p_values) if p is not None and math.isfinite(p)]
    m = len(idx)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


@dataclass
class Welch:
    standard_error: float | None     # sqrt(s_a²/n_a + s_b²/n_b)
    dof: float | None                # Welch–Satterthwaite degrees of freedom
    t: float | None                  # difference / standard_error
    threshold: float | None          # two-sided 95 % Student-t value for dof
    p_value: float | None            # two-sided


def welch(sa: Stat, sb: Stat) -> Welch:
    """Welch's t-test of B's mean against A's; all None when a group has fewer than 2 values."""
    if sa.std is None or sb.std is None or sa.mean is None or sb.mean is None:
        return Welch(None, None, None, None, None)
    diff = sb.mean - sa.mean
    va, vb = sa.std ** 2 / sa.n, sb.std ** 2 / sb.n
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Welch(0.0, None, math.inf if diff else 0.0, 0.0, 0.0 if diff else 1.0)
    dof = (va + vb) ** 2 / ((va ** 2 / (sa.n - 1) if va else 0.0) + (vb ** 2 / (sb.n - 1) if vb else 0.0))
    from scipy.special import stdtr   # the t distribution's CDF

    t = diff / se
    return Welch(se, dof, t, t_quantile(dof), float(2.0 * stdtr(dof, -abs(t))))


@dataclass
class Comparison:
    metric: str
    mean_a: float
    mean_b: float
    difference: float                # mean_b − mean_a
    std_a: float | None
    std_b: float | None
    standard_error: float | None
    dof: float | None
    t: float | None
    threshold: float | None
    n_a: int
    n_b: int
    real: bool | None                # None: cannot tell (a group has fewer than 2 runs)
    better: str | None               # "A" or "B": only ever on the primary metric
    verdict: str
    p_value: float | None = None     # Welch, two-sided, uncorrected
    p_holm: float | None = None      # Holm-corrected over the other metrics (None on the primary)
    interval: list[float] | None = None   # 95 % interval of the difference
    role: str = "primary"            # "primary" | "other" | "test"
    test_noise: float | None = None  # test figures: half-width of one run's 95 % bootstrap interval

    def to_dict(self) -> dict:
        return asdict(self)

    def short(self) -> str:
        """The verdict in a table cell; the sentence is :attr:`verdict`."""
        if self.real is None:
            return "cannot tell"
        if not self.real:
            return "within noise"
        if self.better:
            return f"{self.better} is better"
        text = f"B {'higher' if self.difference > 0 else 'lower'}"
        if self.role == "test" and self.test_noise is not None and abs(self.difference) < self.test_noise:
            text += ", below test noise"
        return text

    def difference_text(self) -> str:
        """"+0.01 [−0.02, 0.04]": B − A with its 95 % interval."""
        sign = "+" if self.difference > 0 else ""
        text = sign + fmt_number(self.difference, 3)
        return text + (" " + fmt_interval(*self.interval, digits=2) if self.interval else "")


def _scatter(a: GroupSummary, b: GroupSummary) -> str:
    return SCATTER[a.spread] if a.spread == b.spread and a.spread in SCATTER else "scatter between runs"


def _p(p: float, what: str = "p") -> str:
    """"p = 0.03" or "p < 0.001"."""
    text = fmt_p(p)
    return f"{what} {text}" if text.startswith("<") else f"{what} = {text}"


def _spread_words(spread: str) -> str:
    return SPREADS.get(spread, spread).removeprefix("spread over ")


def _runs(sa: Stat, sb: Stat) -> str:
    return f"{sa.n} and {sb.n} runs" if sa.n != sb.n else f"{sa.n} runs each"


def _signed(v: float, digits: int = 3) -> str:
    text = fmt_number(v, digits)
    return text if text.startswith("-") else "+" + text


def _base(metric: str, sa: Stat, sb: Stat, w: Welch) -> dict:
    diff = sb.mean - sa.mean
    interval = ([diff - w.threshold * w.standard_error, diff + w.threshold * w.standard_error]
                if w.standard_error is not None and w.threshold is not None else None)
    return {"metric": metric, "mean_a": sa.mean, "mean_b": sb.mean, "difference": diff, "std_a": sa.std,
            "std_b": sb.std, "n_a": sa.n, "n_b": sb.n, "standard_error": w.standard_error, "dof": w.dof,
            "t": w.t, "threshold": w.threshold, "p_value": w.p_value, "interval": interval}


def _stats(a: GroupSummary, b: GroupSummary, metric: str) -> tuple[Stat, Stat]:
    if metric not in a.metrics or metric not in b.metrics:
        common = sorted(set(a.metrics) & set(b.metrics))
        raise NnstudioError(f"Both groups need the metric {metric!r} to compare them; they share: "
                            f"{', '.join(common) or 'none'}.")
    sa, sb = a.metrics[metric], b.metrics[metric]
    if sa.mean is None or sb.mean is None:
        raise NnstudioError(f"A group has no finite value of {metric!r} to compare.")
    return sa, sb


def _cannot_tell(sa: Stat, sb: Stat, scatter: str) -> str:
    return (f"Cannot tell: each group needs at least 2 runs to measure the {scatter} (A has {sa.n}, B has "
            f"{sb.n}). Repeat each setting with more seeds.")


def compare_groups(a: GroupSummary, b: GroupSummary, metric: str = DEFAULT_PRIMARY,
                   higher_is_better: bool | None = None) -> Comparison:
    """The verdict on the primary ``metric``: is B really better or worse than A, or is the
    difference within the scatter of the runs? Test figures cannot be the primary metric."""
    if metric.startswith("test_"):
        raise NnstudioError(f"Choose the metric to compare on among validation figures, not {metric}: choosing by "
                            "test figures tunes to the test split (they are shown, never used to choose).")
    sa, sb = _stats(a, b, metric)
    w = welch(sa, sb)
    base = _base(metric, sa, sb, w)
    scatter, runs = _scatter(a, b), _runs(sa, sb)
    if w.p_value is None:
        return Comparison(**base, real=None, better=None, verdict=_cannot_tell(sa, sb, scatter))
    diff, hib = base["difference"], higher_is_better if higher_is_better is not None else _direction(metric)
    real = w.p_value < ALPHA
    err, p = fmt_number(w.standard_error, 2), _p(w.p_value)
    better = None
    if not real:
        verdict = (f"The difference in {metric} (B − A = {_signed(diff)} ± {err}) is within the {scatter} "
                   f"({runs}; {p}): these runs cannot tell A and B apart.")
    else:
        better = None if hib is None else ("B" if (diff > 0) == hib else "A")
        size = f"{fmt_number(abs(diff), 3)} ± {err}"
        if better is None:
            verdict = (f"B's {metric} is {'higher' if diff > 0 else 'lower'} by {size} ({runs}; {p}); the "
                       f"difference is larger than the {scatter} explains.")
        else:
            verdict = (f"{better} is better by {size} in {metric} ({runs}; {p}); the difference is larger "
                       f"than the {scatter} explains.")
    return Comparison(**base, real=real, better=better, verdict=verdict)


def _other(a: GroupSummary, b: GroupSummary, metric: str, w: Welch, p_holm: float | None, family: int,
           primary: str) -> Comparison:
    """A metric beside the primary one: its difference and Holm-corrected p-value, no verdict."""
    sa, sb = _stats(a, b, metric)
    base = _base(metric, sa, sb, w)
    role = "test" if metric.startswith("test_") else "other"
    noises = [s.test_noise for s in (sa, sb) if s.test_noise is not None]
    noise = max(noises) if noises else None
    scatter = _scatter(a, b)
    tail = " Test figures are shown, never used to choose." if role == "test" else ""
    if p_holm is None:
        return Comparison(**base, real=None, better=None, role=role, test_noise=noise,
                          verdict=_cannot_tell(sa, sb, scatter) + tail)
    diff = base["difference"]
    interval = fmt_interval(*base["interval"], digits=2)
    p = f"{_p(p_holm, 'Holm-corrected p')} over {family} metric{'s' if family != 1 else ''}"
    real = p_holm < ALPHA
    below_noise = noise is not None and abs(diff) < noise
    noise_text = (f"; it is also smaller than the test split's own sampling noise (±{fmt_number(noise, 2)}, "
                  "one run's 95% bootstrap interval)" if below_noise else "")
    if not real:
        verdict = (f"The difference in {metric} (B − A = {_signed(diff)} {interval}) is smaller than the "
                   f"{scatter} ({p}){noise_text}.")
    elif below_noise:
        verdict = (f"B's {metric} is {'higher' if diff > 0 else 'lower'} across these runs: B − A = "
                   f"{_signed(diff)} {interval} ({p}), but that is smaller than the test split's own sampling "
                   f"noise (±{fmt_number(noise, 2)}, one run's 95% bootstrap interval): another test sample could "
                   "reverse it.")
    else:
        verdict = (f"B's {metric} is {'higher' if diff > 0 else 'lower'}: B − A = {_signed(diff)} {interval} "
                   f"({p}); shown beside the verdict, which rests on {primary} alone.")
    return Comparison(**base, real=real, better=None, verdict=verdict + tail, p_holm=p_holm, role=role,
                      test_noise=noise)


@dataclass
class GroupComparison:
    """The verdict on the primary metric and every other shared metric beside it."""

    primary: Comparison | None       # None: the groups do not share the primary metric
    others: list[Comparison]
    primary_metric: str
    spread_a: str
    spread_b: str
    note: str = ""                   # why there is no primary comparison
    metrics: dict[str, Comparison] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.metrics = {c.metric: c for c in ([self.primary] if self.primary else []) + self.others}

    @property
    def verdict(self) -> str:
        return self.primary.verdict if self.primary is not None else self.note

    def to_dict(self) -> dict:
        return {"primary_metric": self.primary_metric, "verdict": self.verdict,
                "primary": self.primary.to_dict() if self.primary else None,
                "others": [c.to_dict() for c in self.others], "spread_a": self.spread_a,
                "spread_b": self.spread_b, "correction": "holm", "alpha": ALPHA}

    def format(self) -> str:
        lines = [f"verdict on {self.primary_metric} (chosen before looking): {self.verdict}"]
        if self.spread_a != self.spread_b:
            lines.append(f"note: A's spread is over {_spread_words(self.spread_a)}, B's over "
                         f"{_spread_words(self.spread_b)}: they measure different noise.")
        if self.others:
            lines.append("other metrics (Holm-corrected p; shown, not used for the verdict):")
            for c in self.others:
                lines.append(f"  {c.metric:<24} B − A {c.difference_text():<28} p {fmt_p(c.p_holm):<8} {c.short()}")
        return "\n".join(lines)


def compare(a: GroupSummary, b: GroupSummary, primary: str = DEFAULT_PRIMARY) -> GroupComparison:
    """Compare B with A: a verdict on ``primary`` only; every other shared metric with its
    Holm-corrected p-value (one family), test figures with their noise. Settings such as the
    learning rate are left out."""
    if primary.startswith("test_"):
        compare_groups(a, b, primary)   # refuses, in words
    shared = [k for k in a.metrics if k in b.metrics and k != primary and is_metric(k)
              and a.metrics[k].mean is not None and b.metrics[k].mean is not None]
    try:
        first, note = compare_groups(a, b, primary), ""
    except NnstudioError as exc:
        first, note = None, exc.message
    tests = [welch(a.metrics[k], b.metrics[k]) for k in shared]
    adjusted = holm([w.p_value for w in tests])
    family = sum(w.p_value is not None for w in tests)
    others = [_other(a, b, k, w, q, family, primary) for k, w, q in zip(shared, tests, adjusted)]
    others.sort(key=lambda c: (c.role == "test", c.metric))
    return GroupComparison(primary=first, others=others, primary_metric=primary, spread_a=a.spread,
                           spread_b=b.spread, note=note)


__all__ = ["ALPHA", "DEFAULT_PRIMARY", "Comparison", "GroupComparison", "Welch", "compare", "compare_groups",
           "holm", "welch"]
