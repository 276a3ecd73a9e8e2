"""Deep ensembles: K copies of the project's model trained with different seeds.

Members are ordinary runs of the project, trained by :func:`repeat_project` as one group; the
group that is the project's ensemble is named under ``"ensemble"`` in ``<project folder>/
experiments.json`` (and its group gets ``"kind": "ensemble"``), so the ensemble is stored with
the project and shows in the run table like any repeat. A member counts once its run completed
and its model file is there. Predictions load every member's saved model with ``safe_mode``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.training.config import RunRecord
from nnstudio.errors import NnstudioError

STORE_KEY = "ensemble"      # experiments.json: the group id of the project's ensemble
MIN_MEMBERS = 2             # fewer members have no spread to measure
MAX_MEMBERS = 100
NO_ENSEMBLE = ("Train an ensemble first: choose \"Deep ensemble\" in the Uncertainty panel and press "
               "Train ensemble.")


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


def _group_members(project: Project, group: dict) -> list[RunRecord]:
    ids = list(group.get("runs", []))
    by_id = {r.id: r for r in project.runs}
    return [by_id[i] for i in ids if i in by_id and by_id[i].status == "completed" and by_id[i].model_path]


def _project_group(project: Project) -> tuple[str, dict] | None:
    """(group id, stored group) of the project's ensemble, or None when there is none."""
    from nnstudio.core.experiments.runs import load_store

    store = load_store(project)
    group = store.get(STORE_KEY)
    if not group or group not in store["groups"]:
        return None
    return group, store["groups"][group]


def ensemble_members(project: Project) -> list[RunRecord]:
    """The completed runs of the project's ensemble, in training order (``[]`` if none)."""
    found = _project_group(project)
    return _group_members(project, found[1]) if found else []


def ensemble_info(project: Project) -> dict | None:
    """What the panel says about the stored ensemble: ``{"group", "k", "members", "seeds",
    "created", "matches_model"}`` (``matches_model``: every member was trained with the project's
    current model spec), or None when there is none."""
    found = _project_group(project)
    if found is None:
        return None
    group, g = found
    members = _group_members(project, g)
    spec = project.model.to_dict() if project.model is not None else None
    return {"group": group, "k": int(g.get("k", len(g.get("runs", [])))), "members": [r.id for r in members],
            "seeds": [r.settings.get("seed") for r in members], "created": g.get("created"),
            "matches_model": bool(members) and all(r.model == spec for r in members)}


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
    from nnstudio.core.experiments.runs import load_store

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
    members = _group_members(project, store["groups"][group])
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
    from nnstudio.core.experiments.runs import load_store, save_store

    store = load_store(project)
    g = store["groups"][group]
    g["kind"] = "ensemble"
    g["k"] = k
    n = len(_group_members(project, g))
    usable = n >= MIN_MEMBERS or (n > 0 and len(previous) < MIN_MEMBERS)
    if usable:
        store[STORE_KEY] = group
    save_store(project, store)
    return usable


def _restore_active(project: Project, before: RunRecord | None) -> None:
    if before is not None and any(r is before for r in project.runs):
        project.active_run = before.id


def ensemble_outputs(project: Project, inputs: dict, task: Task | None = None,
                     members: list[RunRecord] | None = None) -> dict:
    """Raw outputs of every member on each array of ``inputs`` (name -> x): name -> (K, N, ...).

    Each member's saved model is loaded once (with ``safe_mode``) and predicts every array.
    """
    from nnstudio.core.workflow import load_run_model, predict

    task = task or Task()
    members = ensemble_members(project) if members is None else list(members)
    if not members:
        raise NnstudioError(NO_ENSEMBLE)
    k = len(members)
    out: dict[str, list] = {name: [] for name in inputs}
    for i, run in enumerate(members):
        task.check()
        task.report_progress(i, k, f"ensemble member {i + 1} of {k}")
        model = load_run_model(project, run)
        want = tuple(model.input_shape[1:])
        for name, x in inputs.items():
            got = tuple(np.shape(x)[1:])
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
                raise NnstudioError(f"Ensemble member {run.id} takes inputs of shape {want}, but the data "
                                    f"has {got}: the data changed since the ensemble was trained. Train "
                                    "the ensemble again.")
            out[name].append(predict(model, x))
        del model
    task.report_progress(k, k, "ensemble predictions done")
    result = {}
    for name, preds in out.items():
        if len({p.shape for p in preds}) != 1:
            raise NnstudioError("The ensemble's members give outputs of different shapes (they were trained "
                                "with different model settings). Train the ensemble again.")
        result[name] = np.stack(preds)
    return result


def ensemble_predict(project: Project, prepared, split: str = "test", task: Task | None = None) -> np.ndarray:
    """Raw outputs of the project's ensemble on ``split``: (K, N, ...) in the model's (scaled) units
    (class probabilities, a point prediction, or [mean, sigma] from a mean-and-variance head)."""
    if split not in prepared.x:
        raise NnstudioError(f"No split {split!r} in the prepared data.")
    if prepared.count(split) == 0:
        raise NnstudioError(f"The {split} split is empty: give it a non-zero fraction in the Data panel.")
    return ensemble_outputs(project, {split: prepared.x[split]}, task=task)[split]


__all__ = [
    "MIN_MEMBERS",
    "EnsembleResult",
    "ensemble_info",
    "ensemble_members",
    "ensemble_outputs",
    "ensemble_predict",
    "train_ensemble",
]
