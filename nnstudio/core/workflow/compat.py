"""Does a trained run still fit the project's prepared data? Checked before a model is asked to
predict, so that data opened after training is refused in one sentence naming the difference,
not by a deep error from inside TensorFlow.

Only files are read (the ``.keras`` archive's ``config.json`` and the run's recorded model spec):
no TensorFlow, so the panels can check on the GUI thread before starting a job.
"""
from __future__ import annotations

import json
import zipfile

from nnstudio.core.project import Project
from nnstudio.errors import NnstudioError

CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy",
                         "sparse_categorical_crossentropy", "focal")


def saved_input_shape(path) -> tuple[int, ...] | None:
    """The input shape (without the batch axis) stored in a ``.keras`` file, or None when it
    cannot be read from its configuration."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    layers = (config.get("config") or {}).get("layers") or []
    for layer in layers:
        if layer.get("class_name") == "InputLayer":
            cfg = layer.get("config") or {}
            shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
            if shape:
                return tuple(int(v) for v in shape[1:] if v is not None)
    return None


def spec_problem(spec: dict | None) -> str | None:
    """Classification or regression, from a recorded model spec's loss (None if unknown)."""
    loss = str((spec or {}).get("loss") or "")
    if not loss:
        return None
    return "classification" if any(loss.startswith(c) for c in CLASSIFICATION_LOSSES) else "regression"


def spec_outputs(spec: dict | None) -> int | None:
    """The units of the recorded model's last Dense layer (its outputs), or None."""
    for layer in reversed((spec or {}).get("layers") or []):
        if layer.get("class_name") == "Dense":
            return int((layer.get("config") or {}).get("units", 0)) or None
    return None


def _inputs(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"{shape[0]} input column{'s' if shape[0] != 1 else ''}"
    return "inputs of shape " + "×".join(str(v) for v in shape)


def fit_problem(run, prepared) -> str | None:
    """One sentence naming how ``run`` differs from ``prepared`` (None when it fits)."""
    problem = spec_problem(run.model)
    if problem and problem != prepared.problem:
        now = (f"classification into {prepared.n_classes} classes" if prepared.problem == "classification"
               else f"regression of {prepared.target_name}")
        return (f"{run.id} was trained for {problem}, but the data now asks for {now}: open the data it "
                "was trained on, or train a new model.")
    if prepared.problem == "classification":
        units, k = spec_outputs(run.model), prepared.n_classes
        if units is not None and k and units != (1 if k == 2 else k) and not (k == 2 and units == 2):
            trained_k = 2 if units == 1 else units
            return (f"{run.id} predicts {trained_k} classes, but the data now has {k} "
                    f"({', '.join(prepared.class_names)}): open the data it was trained on, or train a new model.")
    return None


def check_run_fits(project: Project, prepared, run=None) -> None:
    """Raise :class:`NnstudioError` when the run's model (default: the active run's) cannot be
    applied to ``prepared``: other inputs, another problem, or another number of classes."""
    run = run or project.run()
    if run is None or prepared is None:
        return
    path = project.model_path(run)
    shape = saved_input_shape(path) if path is not None and path.exists() else None
    if shape is not None and tuple(shape) != tuple(prepared.input_shape):
        raise NnstudioError(f"{run.id} was trained on {_inputs(shape)}, but the data now gives "
                            f"{_inputs(tuple(prepared.input_shape))}: open the data it was trained on, "
                            "or train a new model.")
    problem = fit_problem(run, prepared)
    if problem:
        raise NnstudioError(problem)


__all__ = ["check_run_fits", "fit_problem", "saved_input_shape", "spec_outputs", "spec_problem"]
