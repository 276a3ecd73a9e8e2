"""The project's deep ensemble, read: its members and their predictions.

Members are ordinary runs of the project, trained as one group (``nnstudio.core.experiments.
ensemble``); the group that is the project's ensemble is named under ``"ensemble"`` in the
experiments store (and gets ``"kind": "ensemble"``). A member counts once its run completed and
its model file is there. Predictions load every member's saved model with ``safe_mode``.
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.project import Project, load_store
from nnstudio.core.tasks import Task
from nnstudio.core.training.config import RunRecord
from nnstudio.core.workflow.train import load_run_model, predict
from nnstudio.errors import NnstudioError

STORE_KEY = "ensemble"      # experiments.json: the group id of the project's ensemble
MIN_MEMBERS = 2             # fewer members have no spread to measure
MAX_MEMBERS = 100
NO_ENSEMBLE = ("Train an ensemble first: choose \"Deep ensemble\" in the Uncertainty panel and press "
               "Train ensemble.")


def group_members(project: Project, group: dict) -> list[RunRecord]:
    ids = list(group.get("runs", []))
    by_id = {r.id: r for r in project.runs}
    return [by_id[i] for i in ids if i in by_id and by_id[i].status == "completed" and by_id[i].model_path]


def _project_group(project: Project) -> tuple[str, dict] | None:
    """(group id, stored group) of the project's ensemble, or None when there is none."""
    store = load_store(project)
    group = store.get(STORE_KEY)
    if not group or group not in store["groups"]:
        return None
    return group, store["groups"][group]


def ensemble_members(project: Project) -> list[RunRecord]:
    """The completed runs of the project's ensemble, in training order (``[]`` if none)."""
    found = _project_group(project)
    return group_members(project, found[1]) if found else []


def ensemble_info(project: Project) -> dict | None:
    """What the panel says about the stored ensemble: ``{"group", "k", "members", "seeds",
    "created", "matches_model"}`` (``matches_model``: every member was trained with the project's
    current model spec), or None when there is none."""
    found = _project_group(project)
    if found is None:
        return None
    group, g = found
    members = group_members(project, g)
    spec = project.model.to_dict() if project.model is not None else None
    return {"group": group, "k": int(g.get("k", len(g.get("runs", [])))), "members": [r.id for r in members],
            "seeds": [r.settings.get("seed") for r in members], "created": g.get("created"),
            "matches_model": bool(members) and all(r.model == spec for r in members)}


def ensemble_outputs(project: Project, inputs: dict, task: Task | None = None,
                     members: list[RunRecord] | None = None) -> dict:
    """Raw outputs of every member on each array of ``inputs`` (name -> x): name -> (K, N, ...).

    Each member's saved model is loaded once (with ``safe_mode``) and predicts every array.
    """
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


__all__ = ["MAX_MEMBERS", "MIN_MEMBERS", "NO_ENSEMBLE", "STORE_KEY", "ensemble_info", "ensemble_members",
           "ensemble_outputs", "ensemble_predict", "group_members"]
