"""Repeat the same settings with several seeds (and, if asked, several data splits), summarise the
group as mean ± spread, and compare two groups in plain words.

The statistics live in :mod:`~nnstudio.core.experiments.groups` (summaries) and
:mod:`~nnstudio.core.experiments.compare` (one verdict on a primary metric, Holm-corrected
p-values for the others); this module trains the runs and keeps the groups.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass

from nnstudio.core.experiments.compare import (ALPHA, DEFAULT_PRIMARY, Comparison, GroupComparison, compare,
                                               compare_groups, holm, welch)
from nnstudio.core.experiments.groups import (SPREADS, Band, GroupSummary, Stat, group_summary,
                                              summarize_values)
from nnstudio.core.project import Project
from nnstudio.core.tasks import ChildTask, Task
from nnstudio.core.training.config import RunRecord
from nnstudio.core.workflow.data import split_twin
from nnstudio.errors import NnstudioError

TEST_RESAMPLES = 1000      # bootstrap resamples behind each run's test-figure intervals


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
    summary: GroupSummary          # mean ± std over the completed runs; the others counted
    cancelled: bool = False
    split_seeds: list[int] | None = None   # one per run when each run prepared its own split

    def to_dict(self, curves: bool = False) -> dict:
        seeds = self.split_seeds or []
        return {"group": self.group, "cancelled": self.cancelled, "spread": self.summary.spread,
                "spread_text": self.summary.spread_text, "counts": self.summary.counts_text(),
                "runs": [{"id": r.id, "seed": r.settings.get("seed"),
                          "split_seed": seeds[i] if i < len(seeds) else None, "status": r.status,
                          "message": r.message, "epochs": r.epochs_run, "final": r.final,
                          "duration_s": r.duration_s, "device": r.device} for i, r in enumerate(self.runs)],
                "summary": self.summary.to_dict(curves=curves)}


def run_test_figures(project: Project, run_id: str, prepared, model) -> tuple[dict, dict]:
    """A run's figures on the test split (the one evaluation core, in the target's units) and
    each one's 95 % bootstrap interval."""
    from nnstudio.core.workflow.evaluate import evaluate

    result = evaluate(project, split="test", run_id=run_id, prepared=prepared, model=model, baselines=False)
    figures = {k: float(v) for k, v in result.metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return figures, bootstrap_intervals(result)


def bootstrap_intervals(result) -> dict:
    """{metric: [low, high]} of an evaluation's figures, or {} when the intervals cannot be had."""
    try:
        from nnstudio.core.evaluation.bootstrap import metric_intervals
    except ImportError:   # an installation without the bootstrap module: figures without intervals
        return {}
    arrays = result.arrays
    scores = arrays.get("proba") if result.problem == "classification" else arrays.get("mean")
    if scores is None or "y_true" not in arrays:
        return {}
    kwargs = {}
    diag = result.diagnostics
    if result.problem == "classification" and getattr(diag, "n_classes", 0) == 2:
        kwargs = {"positive": int(diag.positive), "threshold": float(diag.threshold)}
    try:
        cis = metric_intervals(result.problem, arrays["y_true"], scores, n_resamples=TEST_RESAMPLES, **kwargs)
    except NnstudioError:
        return {}
    return {k: [float(lo), float(hi)] for k, (lo, hi) in cis.items()}


def repeat_project(project: Project, n: int, epochs: int | None = None, seeds: list[int] | None = None,
                   task: Task | None = None, prepared=None, evaluate: bool = False,
                   label: str = "run", resample_splits: bool = False) -> RepeatResult:
    """Train the project's settings ``n`` times with seeds ``seed, seed+1, …`` (or ``seeds``).

    Every run is a normal run of the project, tagged with a group. With ``resample_splits`` each
    run also draws its own data split (split seeds ``split seed, +1, …`` of the project's
    preparation; the data file is read once), so the group's spread covers the validation and
    test samples too ("spread over seeds and splits"); those runs do not become the project's
    active run, since the project's own split is not theirs. A run that ends in NaN or fails is
    kept, counted and named in the summary, not silently dropped. A stop request ends the current
    run (kept, marked stopped) and starts no more. With ``evaluate`` each run's test figures and
    their bootstrap intervals are kept for the run table. Progress reads "``label`` i/n · …".
    Not saved here.
    """
    from nnstudio.core.experiments.runs import (
        load_store,
        record_test_metrics,
        run_meta,
        save_store,
    )
    from nnstudio.core.training.trainer import train
    from nnstudio.core.workflow.baselines import residual_offset
    from nnstudio.core.workflow.data import load_dataset, prepare_project

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
    split_seeds = dataset = None
    if resample_splits:
        split_seeds = [project.preparation.seed + i for i in range(n)]
        dataset = load_dataset(project, task=task)
    else:
        prepared = prepared if prepared is not None else prepare_project(project, task=task)
    spread = "seeds_and_splits" if resample_splits else "seeds"

    store = load_store(project)
    group = _next_group_id(store)
    store["groups"][group] = {"kind": "repeat", "runs": [], "seeds": seeds, "spread": spread,
                              "created": _dt.datetime.now().isoformat(timespec="seconds")}
    if split_seeds:
        store["groups"][group]["split_seeds"] = split_seeds
    save_store(project, store)
    records, tests, intervals = [], {}, {}
    for i, seed in enumerate(seeds):
        if task.stop.is_set():
            break
        run_id = project.allocate_run_id()
        sub = ChildTask(task, start=i, span=1, total=n, prefix=f"{label} {i + 1}/{n} · ",
                        tags={"run": i, "run_id": run_id}, message_prefix=f"{run_id}: ")
        run_config = dataclasses.replace(config, seed=seed)
        active = project.active_run
        model = None
        try:
            if split_seeds:
                prepared = prepare_project(split_twin(project, split_seeds[i]), dataset=dataset)
            record, model = train(prepared, project.model, run_config, project.run_dir(run_id), task=sub,
                                  run_id=run_id, offset=residual_offset(project, prepared, run_config),
                                  extra_settings={"split_seed": split_seeds[i]} if split_seeds else None)
        except NnstudioError as exc:   # kept as a failed run and counted; the next seed may do better
            record = RunRecord(id=run_id, started=_dt.datetime.now().isoformat(timespec="seconds"),
                               settings=run_config.to_dict(), model=project.model.to_dict(), status="failed",
                               message=exc.message)
            sub.report_message(f"failed: {exc.message}")
        record.name = f"{group} · seed {seed}" + (f" · split {split_seeds[i]}" if split_seeds else "")
        project.add_run(record)
        if split_seeds:
            project.active_run = active
        records.append(record)
        store = load_store(project)
        store["groups"][group]["runs"].append(run_id)
        meta = run_meta(store, run_id)
        meta["group"] = group
        if split_seeds:
            meta["split_seed"] = split_seeds[i]
        save_store(project, store)
        if evaluate and record.status == "completed" and prepared.count("test") > 0:
            tests[run_id], intervals[run_id] = run_test_figures(project, run_id, prepared, model)
            record_test_metrics(project, run_id, tests[run_id])
            if intervals[run_id]:
                store = load_store(project)
                run_meta(store, run_id)["test_ci"] = intervals[run_id]
                save_store(project, store)
        task.report_partial({"run_done": run_id, "index": i, "record": record})
    summary = group_summary(records, tests, intervals, spread=spread)
    cancelled = task.stop.is_set()
    if cancelled:
        task.report_message(f"Stopped after {len(records)} of {n} runs; the summary covers the "
                            f"{summary.n} completed ones.")
    return RepeatResult(group=group, runs=records, summary=summary, cancelled=cancelled, split_seeds=split_seeds)


def load_group(project: Project, group: str) -> GroupSummary:
    """The summary of a stored group: its completed runs as mean ± std, the others counted (runs
    deleted since are left out)."""
    from nnstudio.core.experiments.runs import load_store

    store = load_store(project)
    if group not in store["groups"]:
        raise NnstudioError(f"No group {group!r} in this project (groups: {', '.join(store['groups']) or 'none'}).")
    g = store["groups"][group]
    ids = g["runs"]
    records = [r for r in project.runs if r.id in ids]
    meta = {rid: store["runs"].get(rid, {}) for rid in ids}
    return group_summary(records, {rid: m.get("test") or {} for rid, m in meta.items()},
                         {rid: m.get("test_ci") or {} for rid, m in meta.items()}, spread=g.get("spread", "seeds"))


__all__ = ["ALPHA", "DEFAULT_PRIMARY", "SPREADS", "Band", "Comparison", "bootstrap_intervals", "GroupComparison", "GroupSummary",
           "RepeatResult", "Stat", "compare", "compare_groups", "group_summary", "holm", "load_group",
           "repeat_project", "run_test_figures", "split_twin", "summarize_values", "welch"]
