"""Deep ensembles, trained: K copies of the project's model with different seeds.

Members are ordinary runs of the project, trained by :func:`repeat_project` as one group, which
becomes the project's ensemble (read by :mod:`nnstudio.core.workflow.ensembles`), so the ensemble
is stored with the project and shows in the run table like any repeat.
"""
from __future__ import annotations

from dataclasses import dataclass

from nnstudio.core.project import Project, load_store, save_store
from nnstudio.core.tasks import Task
from nnstudio.core.training.config import RunRecord
from nnstudio.core.workflow.ensembles import (MAX_MEMBERS, MIN_MEMBERS, STORE_KEY, ensemble_members,
                                              group_members)
from nnstudio.errors import NnstudioError


@dataclass
class EnsembleResult:
    group: str
    members: list[RunRecord]        # completed members of this training
    runs: list[RunRecord]           # every run it trained (a stopped one included)
    seeds: list[int]
    cancelled: bool
    is_project_ensemble: bool       # False when a stopped retrain left the earlier ensemble in place

    def to_dict(self) -> dict:
        return {"group": self.group, "members": [r.id for r in self.members],
                "runs": [{"id": r.id, "seed": r.settings.get("seed"), "status": r.status} for r in self.runs],
                "seeds": list(self.seeds), "cancelled": self.cancelled,
                "is_project_ensemble": self.is_project_ensemble}


def train_ensemble(project: Project, k: int | None = None, epochs: int | None = None,
                   task: Task | None = None, prepared=None, seeds: list[int] | None = None) -> EnsembleResult:
    """Train ``k`` members (default ``project.uncertainty.ensemble_size``) with seeds ``seed,
    seed+1, …`` of the training settings (or ``seeds``) and make them the project's ensemble.

    Progress, pause and stop go through ``task``. A stop ends the current member (kept as a
    stopped run, not a member) and starts no more; the finished members become the ensemble, unless
    none finished, or fewer than two did and an earlier ensemble has at least two (it is kept).
    The project's active run is left as it was: the ensemble sits beside the model, it does not
    replace it. experiments.json is written here; the project file is not (the caller saves).
    """
    from nnstudio.core.experiments.repeat import repeat_project

    task = task or Task()
    k = project.uncertainty.ensemble_size if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_MEMBERS <= k <= MAX_MEMBERS:
        raise NnstudioError(f"A deep ensemble needs between {MIN_MEMBERS} and {MAX_MEMBERS} members (got {k!r}).")
    seeds = list(seeds) if seeds is not None else [project.training.seed + i for i in range(k)]
    before_groups = set(load_store(project)["groups"])
    before_active = project.run()
    previous = ensemble_members(project)
    try:
        rep = repeat_project(project, k, epochs=epochs, seeds=seeds, task=task, prepared=prepared,
                             label="member")
        group, runs, cancelled = rep.group, rep.runs, rep.cancelled
    except BaseException:
        # an error part-way: the members that finished still make an ensemble
        new = set(load_store(project)["groups"]) - before_groups
        if new:
            _mark(project, new.pop(), k, previous)
        _restore_active(project, before_active)
        raise
    store = load_store(project)
    members = group_members(project, store["groups"][group])
    for i, (run, seed) in enumerate(zip(runs, seeds)):
        run.name = f"{group} · ensemble member {i + 1} of {k} · seed {seed}"
    is_project = _mark(project, group, k, previous)
    _restore_active(project, before_active)
    project.mark_changed("runs")
    if cancelled:
        task.report_message(_stopped_text(len(members), k, is_project, len(previous)))
    return EnsembleResult(group=group, members=members, runs=list(runs), seeds=seeds, cancelled=cancelled,
                          is_project_ensemble=is_project)


def _stopped_text(n: int, k: int, is_project: bool, n_previous: int) -> str:
    if is_project:
        kept = (f"the {n} finished member{'s form' if n != 1 else ' forms'} the ensemble"
                + ("" if n >= MIN_MEMBERS else f" (it needs at least {MIN_MEMBERS}: train it again)"))
    elif n_previous:
        kept = f"the earlier ensemble of {n_previous} member{'s' if n_previous != 1 else ''} is kept"
    else:
        kept = "there is no ensemble yet"
    return f"Ensemble training stopped after {n} of {k} members: {kept}."


def _mark(project: Project, group: str, k: int, previous: list) -> bool:
    """Tag ``group`` as an ensemble and make it the project's, unless it has no member or that
    would swap a usable ensemble for an unusable one. True if it is now the project's ensemble."""
    store = load_store(project)
    g = store["groups"][group]
    g["kind"] = "ensemble"
    g["k"] = k
    n = len(group_members(project, g))
    usable = n >= MIN_MEMBERS or (n > 0 and len(previous) < MIN_MEMBERS)
    if usable:
        store[STORE_KEY] = group
    save_store(project, store)
    return usable


def _restore_active(project: Project, before: RunRecord | None) -> None:
    if before is not None and any(r is before for r in project.runs):
        project.active_run = before.id


__all__ = ["EnsembleResult", "train_ensemble"]
