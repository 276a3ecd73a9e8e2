"""Repeat the same settings with several seeds, summarise the group as mean ± spread, and compare
two groups in plain words.

Spreads are sample standard deviations (n − 1 in the denominator). Two groups are compared by the
difference of their means and its Welch standard error, sqrt(s_a²/n_a + s_b²/n_b); the difference
counts as real when it exceeds the two-sided 95 % Student-t value for Welch's degrees of freedom
times that error, and otherwise it is "within the seed-to-seed scatter".
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import ChildTask, Task
from nnstudio.core.training.config import RunRecord
from nnstudio.errors import NnstudioError

# direction of "better" by metric name (test metrics and val_/final ones alike)
LOWER_IS_BETTER = {"loss", "mae", "mse", "rmse", "nll", "scatter", "outlier_fraction", "brier", "ece",
                   "log_loss", "crps"}
HIGHER_IS_BETTER = {"accuracy", "auc", "precision", "recall", "r2", "f1", "balanced_accuracy"}


# -- statistics -----------------------------------------------------------------------------------
@dataclass
class Stat:
    mean: float | None
    std: float | None          # sample standard deviation; None with fewer than 2 values
    n: int
    min: float | None
    max: float | None
    values: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 4) -> str:
        if self.mean is None:
            return "-"
        if self.std is None:
            return f"{self.mean:.{digits}g} (1 run)"
        return f"{self.mean:.{digits}g} ± {self.std:.2g}"


def summarize_values(values) -> Stat:
    """Mean, sample std, min and max of the finite values (None entries are skipped)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return Stat(None, None, 0, None, None, [])
    a = np.asarray(vals)
    std = float(a.std(ddof=1)) if len(a) >= 2 else None
    return Stat(float(a.mean()), std, len(a), float(a.min()), float(a.max()), vals)


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
    runs: list[str]
    curves: dict[str, Band]          # history key -> band
    metrics: dict[str, Stat]         # final metrics by name; test ones as "test_<name>"

    @property
    def n(self) -> int:
        return len(self.runs)

    def to_dict(self, curves: bool = True) -> dict:
        d = {"runs": list(self.runs), "n": self.n,
             "metrics": {k: v.to_dict() for k, v in self.metrics.items()}}
        if curves:
            d["curves"] = {k: v.to_dict() for k, v in self.curves.items()}
        return d

    def format(self) -> str:
        return "\n".join(f"  {k:<24} {s.text()}" for k, s in self.metrics.items())


def group_summary(records: list[RunRecord], test_metrics: dict[str, dict] | None = None) -> GroupSummary:
    """Mean ± spread curves and metrics of a group of runs (e.g. one setting with N seeds)."""
    records = list(records)
    keys = []
    for r in records:
        keys += [k for k in (r.history or {}) if k not in keys]
    curves = {k: _band([list((r.history or {}).get(k, [])) for r in records]) for k in keys}
    metrics: dict[str, Stat] = {}
    finals = []
    for r in records:
        finals += [k for k in r.final if k not in finals]
    for k in finals:
        metrics[k] = summarize_values([r.final.get(k) for r in records])
    test_metrics = test_metrics or {}
    tests = []
    for r in records:
        tests += [k for k in test_metrics.get(r.id, {}) if k not in tests]
    for k in tests:
        metrics[f"test_{k}"] = summarize_values([test_metrics.get(r.id, {}).get(k) for r in records])
    return GroupSummary(runs=[r.id for r in records], curves=curves, metrics=metrics)


def _direction(metric: str) -> bool | None:
    """True if higher is better, False if lower is, None if the name does not say."""
    base = metric
    for prefix in ("test_", "val_", "final_"):
        base = base.removeprefix(prefix)
    if base in HIGHER_IS_BETTER:
        return True
    if base in LOWER_IS_BETTER or base.endswith("loss"):
        return False
    return None


@dataclass
class Comparison:
    metric: str
    mean_a: float
    mean_b: float
    difference: float                # mean_b − mean_a
    std_a: float | None
    std_b: float | None
    standard_error: float | None     # Welch: sqrt(s_a²/n_a + s_b²/n_b)
    dof: float | None                # Welch–Satterthwaite degrees of freedom
    t: float | None                  # difference / standard_error
    threshold: float | None          # 95 % two-sided Student-t value for dof
    n_a: int
    n_b: int
    real: bool | None                # None: cannot tell (a group has fewer than 2 runs)
    better: str | None               # "A", "B" or None
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def compare_groups(a: GroupSummary, b: GroupSummary, metric: str = "val_loss",
                   higher_is_better: bool | None = None) -> Comparison:
    """Is B's ``metric`` really different from A's, or within the seed-to-seed scatter?"""
    if metric not in a.metrics or metric not in b.metrics:
        common = sorted(set(a.metrics) & set(b.metrics))
        raise NnstudioError(f"Both groups need the metric {metric!r} to compare them; they share: "
                            f"{', '.join(common) or 'none'}.")
    sa, sb = a.metrics[metric], b.metrics[metric]
    if sa.mean is None or sb.mean is None:
        raise NnstudioError(f"A group has no finite value of {metric!r} to compare.")
    diff = sb.mean - sa.mean
    hib = higher_is_better if higher_is_better is not None else _direction(metric)
    base = dict(metric=metric, mean_a=sa.mean, mean_b=sb.mean, difference=diff, std_a=sa.std, std_b=sb.std,
                n_a=sa.n, n_b=sb.n)
    if sa.std is None or sb.std is None:
        return Comparison(**base, standard_error=None, dof=None, t=None, threshold=None, real=None, better=None,
                          verdict=(f"Cannot tell: each group needs at least 2 runs to measure the seed-to-seed "
                                   f"scatter (A has {sa.n}, B has {sb.n}). Repeat each setting with more seeds."))
    va, vb = sa.std ** 2 / sa.n, sb.std ** 2 / sb.n
    se = math.sqrt(va + vb)
    if se == 0.0:
        dof, t, thr = None, (math.inf if diff else 0.0), 0.0
        real = diff != 0.0
    else:
        dof = (va + vb) ** 2 / ((va ** 2 / (sa.n - 1) if va else 0.0) + (vb ** 2 / (sb.n - 1) if vb else 0.0))
        from scipy import stats

        thr = float(stats.t.ppf(0.975, dof))
        t = diff / se
        real = abs(t) > thr
    runs = f"{sa.n} and {sb.n} runs" if sa.n != sb.n else f"{sa.n} runs each"
    err = f"{se:.2g}"
    if not real:
        verdict = (f"The difference in {metric} (B − A = {diff:+.3g} ± {err}) is within the seed-to-seed "
                   f"scatter ({runs}): these runs cannot tell A and B apart.")
        better = None
    else:
        better = None if hib is None else ("B" if (diff > 0) == hib else "A")
        size = f"{abs(diff):.3g} ± {err}"
        if better is None:
            verdict = (f"B's {metric} is {'higher' if diff > 0 else 'lower'} by {size} ({runs}); the difference "
                       "is larger than the seed-to-seed scatter explains.")
        else:
            verdict = (f"{better} is better by {size} in {metric} ({runs}); the difference is larger than the "
                       "seed-to-seed scatter explains.")
    return Comparison(**base, standard_error=se, dof=dof, t=t, threshold=thr, real=real, better=better,
                      verdict=verdict)


# -- repeating a run ------------------------------------------------------------------------------
def _next_group_id(store: dict) -> str:
    i = len(store["groups"]) + 1
    while f"group-{i:03d}" in store["groups"]:
        i += 1
    return f"group-{i:03d}"


@dataclass
class RepeatResult:
    group: str
    runs: list[RunRecord]
    summary: GroupSummary          # over the completed runs
    cancelled: bool = False

    def to_dict(self, curves: bool = False) -> dict:
        return {"group": self.group, "cancelled": self.cancelled,
                "runs": [{"id": r.id, "seed": r.settings.get("seed"), "status": r.status, "epochs": r.epochs_run,
                          "final": r.final, "duration_s": r.duration_s, "device": r.device} for r in self.runs],
                "summary": self.summary.to_dict(curves=curves)}


def repeat_project(project: Project, n: int, epochs: int | None = None, seeds: list[int] | None = None,
                   task: Task | None = None, prepared=None, evaluate: bool = False,
                   label: str = "run") -> RepeatResult:
    """Train the project's settings ``n`` times with seeds ``seed, seed+1, …`` (or ``seeds``).

    Every run is a normal run of the project, tagged with a group. A stop request ends the current
    run (kept, marked stopped) and starts no more; the summary covers the completed runs. With
    ``evaluate`` each run's test figures are computed and kept for the run table. Progress reads
    "``label`` i/n · …". Not saved here.
    """
    from nnstudio.core.experiments.runs import load_store, record_test_metrics, run_meta, save_store
    from nnstudio.core.training.trainer import train
    from nnstudio.core.workflow.data import prepare_project

    task = task or Task()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NnstudioError(f"Repeat needs a number of runs of at least 1 (got {n!r}).")
    if seeds is not None and len(seeds) != n:
        raise NnstudioError(f"Give one seed per run: {n} runs, {len(seeds)} seeds.")
    if project.model is None:
        raise NnstudioError("The project has no model yet: pick a template in the Model panel.")
    if project.path is None:
        raise NnstudioError("Save the project first, so the runs have a folder to go into.")
    config = project.training
    if epochs is not None:
        if epochs < 1:
            raise NnstudioError("--epochs must be at least 1.")
        config = dataclasses.replace(config, epochs=epochs)
    seeds = list(seeds) if seeds is not None else [config.seed + i for i in range(n)]
    if len(set(seeds)) != len(seeds):
        raise NnstudioError("Each run of a repeat needs its own seed.")
    prepared = prepared if prepared is not None else prepare_project(project, task=task)

    store = load_store(project)
    group = _next_group_id(store)
    store["groups"][group] = {"kind": "repeat", "runs": [], "seeds": seeds,
                              "created": _dt.datetime.now().isoformat(timespec="seconds")}
    save_store(project, store)
    records, tests = [], {}
    for i, seed in enumerate(seeds):
        if task.stop.is_set():
            break
        run_id = project.allocate_run_id()
        sub = ChildTask(task, start=i, span=1, total=n, prefix=f"{label} {i + 1}/{n} · ",
                        tags={"run": i, "run_id": run_id}, message_prefix=f"{run_id}: ")
        record, model = train(prepared, project.model, dataclasses.replace(config, seed=seed),
                              project.run_dir(run_id), task=sub, run_id=run_id)
        record.name = f"{group} · seed {seed}"
        project.add_run(record)
        records.append(record)
        store = load_store(project)
        store["groups"][group]["runs"].append(run_id)
        run_meta(store, run_id)["group"] = group
        save_store(project, store)
        if evaluate and record.status == "completed":
            from nnstudio.core.workflow.evaluate import evaluate

            result = evaluate(project, split="test", run_id=run_id, prepared=prepared, model=model)
            tests[run_id] = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}
            record_test_metrics(project, run_id, tests[run_id])
        task.report_partial({"run_done": run_id, "index": i, "record": record})
    done = [r for r in records if r.status == "completed"]
    cancelled = task.stop.is_set()
    if cancelled:
        task.report_message(f"Stopped after {len(records)} of {n} runs; the summary covers the "
                            f"{len(done)} completed ones.")
    return RepeatResult(group=group, runs=records, summary=group_summary(done, tests), cancelled=cancelled)


def load_group(project: Project, group: str) -> GroupSummary:
    """The summary of a stored group (runs deleted since are left out)."""
    from nnstudio.core.experiments.runs import load_store

    store = load_store(project)
    if group not in store["groups"]:
        raise NnstudioError(f"No group {group!r} in this project (groups: {', '.join(store['groups']) or 'none'}).")
    ids = store["groups"][group]["runs"]
    records = [r for r in project.runs if r.id in ids and r.status == "completed"]
    tests = {rid: store["runs"].get(rid, {}).get("test") or {} for rid in ids}
    return group_summary(records, tests)


__all__ = ["Stat", "Band", "GroupSummary", "Comparison", "RepeatResult", "summarize_values", "group_summary",
           "compare_groups", "repeat_project", "load_group"]
