"""Train the project's model once, and load a trained run's model."""
from __future__ import annotations

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.data import prepare_project
from nnstudio.errors import NnstudioError


def train_project(project: Project, epochs: int | None = None, task: Task | None = None,
                  prepared=None, residual: bool | None = None, init_from: str | None = None,
                  freeze: int = 0):
    """Train the project's model on its data; records the run in the project (not saved here).
    ``residual`` overrides ``training.residual`` for this run. ``init_from`` (a run of this
    project or a ``.keras`` file) starts from that model's weights where the layers fit, with the
    first ``freeze`` layers that have weights frozen and, unless a learning rate is set, a tenth
    of the model's learning rate."""
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
    model = extra = None
    if init_from:
        model, config, extra = _fine_tune_start(project, prepared, config, init_from, freeze, offset)
    elif freeze:
        raise NnstudioError("--freeze needs --init-from: frozen layers keep the weights of a model that works.")
    run_id = project.allocate_run_id()
    record, _model = train(prepared, project.model, config, project.run_dir(run_id), task=task, run_id=run_id,
                           offset=offset, model=model, extra_settings=extra)
    project.add_run(record)
    return record


def _fine_tune_start(project: Project, prepared, config, source: str, freeze: int, offset):
    """The new run's model with the starting model's weights copied in, and its settings."""
    from dataclasses import replace
    from pathlib import Path

    from nnstudio.core.model import build_model, load_keras
    from nnstudio.core.model.build import compile_model
    from nnstudio.core.model.transfer import transfer_weights
    from nnstudio.core.training.tf_runtime import import_tensorflow

    import_tensorflow()
    run = next((r for r in project.runs if r.id == source), None)
    if run is not None:
        start = load_run_model(project, run)
    elif Path(source).is_file():
        start = load_keras(source)                        # safe_mode
    else:
        known = ", ".join(r.id for r in project.runs) or "none yet"
        raise NnstudioError(f"Start from what? {source} is neither a run of this project ({known}) "
                            "nor a .keras file.")
    if config.learning_rate is None:
        config = replace(config, learning_rate=project.model.learning_rate / 10)
    spec = replace(project.model, learning_rate=config.learning_rate)
    model = build_model(spec, prepared.input_shape, prepared.problem, prepared.n_classes, seed=config.seed,
                        offset=offset)
    copied, total = transfer_weights(start, model, freeze)
    compile_model(model, spec)
    return model, config, {"init_from": source, "freeze": freeze, "layers_copied": f"{copied} of {total}"}


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


def predict(model, x: np.ndarray, batch_size: int = 256, tta: bool = False) -> np.ndarray:
    """Raw model outputs (float64), in the model's (scaled) units; with ``tta`` the mean over the
    8 sky symmetries of each image."""
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:]), dtype="float64")
    if tta:
        from nnstudio.core.training.augment import sky_views

        return np.mean([predict(model, np.ascontiguousarray(v), batch_size) for v in sky_views(x)], axis=0)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")


__all__ = ["load_run_model", "predict", "train_project"]
