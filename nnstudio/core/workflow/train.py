"""Train the project's model once, and load a trained run's model."""
from __future__ import annotations

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.data import prepare_project
from nnstudio.errors import NnstudioError


def train_project(project: Project, epochs: int | None = None, task: Task | None = None,
                  prepared=None, residual: bool | None = None):
    """Train the project's model on its data; records the run in the project (not saved here).
    ``residual`` overrides ``training.residual`` for this run."""
    from nnstudio.core.training.trainer import train

    if project.model is None:
        raise NnstudioError("The project has no model yet: pick a template in the Model panel.")
    if project.path is None:
        raise NnstudioError("Save the project first, so the trained model has a folder to go into.")
    prepared = prepared if prepared is not None else prepare_project(project, task=task)
    config = project.training
    if residual is not None:
        from dataclasses import replace

        config = replace(config, residual=residual)
    if epochs is not None:
        if epochs < 1:
            raise NnstudioError("--epochs must be at least 1.")
        from dataclasses import replace

        config = replace(config, epochs=epochs)
    from nnstudio.core.workflow.baselines import residual_offset

    offset = residual_offset(project, prepared, config)
    run_id = project.allocate_run_id()
    record, _model = train(prepared, project.model, config, project.run_dir(run_id), task=task, run_id=run_id,
                           offset=offset)
    project.add_run(record)
    return record


def load_run_model(project: Project, run=None):
    """The saved Keras model of a run (default: the active one), loaded with ``safe_mode``."""
    from nnstudio.core.model import load_keras

    run = run or project.run()
    if run is None or not run.model_path:
        raise NnstudioError("No trained model yet: train the project first (Train panel or `nnstudio train`).")
    path = project.model_path(run)
    if path is None or not path.exists():
        raise NnstudioError(f"The model file of {run.id} is missing ({path}). Train again to recreate it.")
    return load_keras(path)


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Raw model outputs (float64), in the model's (scaled) units."""
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:]), dtype="float64")
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")


__all__ = ["load_run_model", "predict", "train_project"]
