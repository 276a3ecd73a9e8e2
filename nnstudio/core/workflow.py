"""The steps a person takes, composed from core: make a project, prepare its data, train,
evaluate. The CLI calls these directly; the GUI calls them through its workers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.data.spec import DataSelection, PreparationSpec
from nnstudio.core.files import jsonable
from nnstudio.core.project import Project, file_fingerprint
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError


# -- data -----------------------------------------------------------------------------------------
def resolved_selection(project: Project) -> DataSelection:
    """The project's data selection with absolute paths (stored paths are relative to the file)."""
    if project.data is None or not project.data.path:
        raise NnstudioError("The project has no data yet: open a data file in the Data panel or use "
                            "`nnstudio new-project --data FILE`.")
    sel = DataSelection.from_dict(project.data.to_dict())
    sel.path = str(project.resolve(sel.path))
    if sel.labels_path:
        sel.labels_path = str(project.resolve(sel.labels_path))
    if not Path(sel.path).exists():
        raise NnstudioError(f"The data file {sel.path} is missing. Restore it or locate it in the Data panel.")
    return sel


def load_dataset(project: Project, task: Task | None = None):
    from nnstudio.core.data.readers import read_dataset

    return read_dataset(resolved_selection(project), task=task)


def prepare_project(project: Project, dataset=None, task: Task | None = None):
    """Read (unless ``dataset`` is given) and prepare the project's data; stores the fitted scalers,
    the task and the class names back into the project."""
    from nnstudio.core.data.prepare import prepare

    sel = resolved_selection(project)
    if dataset is None:
        from nnstudio.core.data.readers import read_dataset

        dataset = read_dataset(sel, task=task)
        # nobody else holds this data set: let preparation reuse its image buffer (1x memory, not 2x)
        prepared = prepare(dataset, sel, project.preparation, task=task, in_place=True)
    else:
        prepared = prepare(dataset, sel, project.preparation, task=task)
    # keep what preparation learned (task, class names) with the project's own relative paths
    project.data.task = sel.task
    project.data.class_names = sel.class_names
    project.data.inputs = list(sel.inputs)
    project.data.target = sel.target
    return prepared


def load_and_prepare(project: Project, task: Task | None = None):
    """Read and prepare the project's data in one job: returns ``(dataset, prepared)``."""
    from nnstudio.core.data.readers import read_dataset

    sel = resolved_selection(project)
    dataset = read_dataset(sel, task=task)
    return dataset, prepare_project(project, dataset=dataset, task=task)


# -- projects -------------------------------------------------------------------------------------
def new_project(data: str, out: str | Path, labels: str | None = None, target: str | None = None,
                task: str | None = None, template: str | None = None, seed: int = 0,
                hdu: int | str | None = None, inputs: list[str] | None = None) -> Project:
    """Make and save a project for any supported data (checked by preparing it once)."""
    from nnstudio.core.model import default_template, make_template

    data_path = Path(data).absolute()
    if not data_path.exists():
        raise NnstudioError(f"No such data file or folder: {data}")
    out = Path(out)
    if out.suffix != ".nnproj":
        raise NnstudioError(f"The project file must end in .nnproj (got {out.name}).")
    if labels and not Path(labels).exists():
        raise NnstudioError(f"No such label file: {labels}")
    project = Project(name=out.stem)
    project.data = DataSelection(path=str(data_path), hdu=hdu,
                                 labels_path=str(Path(labels).absolute()) if labels else None,
                                 target=target, task=task, inputs=list(inputs or []))
    project.preparation = PreparationSpec(seed=seed)
    prepared = prepare_project(project)
    name = template or default_template(prepared.kind, prepared.task)
    project.model = make_template(name, prepared.input_shape, prepared.task, prepared.n_classes)
    project.data.fingerprint = file_fingerprint(data_path)
    project.save(out)
    return project


def write_example_project(name: str, out_dir: str | Path) -> Path:
    """Write a bundled example's data and a ready project ``DIR/NAME.nnproj``."""
    from nnstudio.core.examples import write_example_data

    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    sel = write_example_data(name, out_dir)
    project = new_project(data=sel.path, out=out_dir / f"{name}.nnproj", labels=sel.labels_path,
                          target=sel.target, task=sel.task, inputs=sel.inputs, hdu=sel.hdu)
    return project.path


# -- training -------------------------------------------------------------------------------------
def train_project(project: Project, epochs: int | None = None, task: Task | None = None,
                  prepared=None):
    """Train the project's model on its data; records the run in the project (not saved here)."""
    from nnstudio.core.training.trainer import train

    if project.model is None:
        raise NnstudioError("The project has no model yet: pick a template in the Model panel.")
    if project.path is None:
        raise NnstudioError("Save the project first, so the trained model has a folder to go into.")
    prepared = prepared if prepared is not None else prepare_project(project, task=task)
    config = project.training
    if epochs is not None:
        if epochs < 1:
            raise NnstudioError("--epochs must be at least 1.")
        from dataclasses import replace

        config = replace(config, epochs=epochs)
    run_id = project.next_run_id()
    record, _model = train(prepared, project.model, config, project.run_dir(run_id), task=task, run_id=run_id)
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


# -- evaluation -----------------------------------------------------------------------------------
def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:]), dtype="float32")
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")


def split_outputs(prepared, raw: np.ndarray) -> dict:
    """Model outputs in the data's terms: class probabilities, or mean (and σ) in data units."""
    if prepared.task == "classification":
        proba = raw[:, 0] if raw.ndim == 2 and raw.shape[1] == 1 else raw
        return {"proba": proba}
    mu = prepared.inverse_y(raw[:, 0] if raw.ndim == 2 else raw)
    out = {"mean": mu}
    if raw.ndim == 2 and raw.shape[1] == 2:
        out["sigma"] = prepared.inverse_sigma(raw[:, 1])
    return out


def evaluate_project(project: Project, split: str = "test", run_id: str | None = None,
                     task: Task | None = None, prepared=None, model=None, arrays: bool = False) -> dict:
    """Diagnostics and uncertainty of a trained run on a held-out split (test by default).

    Temperature is fitted on the validation split and conformal quantiles on the calibration
    split; every reported figure comes from ``split``. With ``arrays=True`` the result also holds
    the per-sample arrays (``"arrays"``) and the diagnostics object (``"diagnostics"``) for the GUI.
    """
    from nnstudio.core import evaluation as ev

    task = task or Task()
    if split not in ("test", "val"):
        raise NnstudioError("Evaluate on the test or the validation split.")
    run = project.run(run_id)
    prepared = prepared if prepared is not None else prepare_project(project, task=task)
    task.report_progress(0, 3, "loading the model")
    model = model if model is not None else load_run_model(project, run)
    if prepared.count(split) == 0:
        raise NnstudioError(f"The {split} split is empty: give it a non-zero fraction in the Data panel.")
    task.report_progress(1, 3, "predicting")
    outs = {s: split_outputs(prepared, predict(model, prepared.x[s])) for s in ("val", "cal", split)
            if prepared.count(s) > 0}
    task.report_progress(2, 3, "computing diagnostics")
    level = project.uncertainty.conformal_level
    result = {"task": prepared.task, "split": split, "run": run.id if run else None,
              "n": prepared.count(split), "target": prepared.target_name}
    per_sample = {"index": prepared.index[split]}
    alpha = 1.0 - level
    if prepared.task == "classification":
        y = prepared.y[split]
        proba = outs[split]["proba"]
        diag = ev.classification_diagnostics(y, proba, prepared.class_names)
        result["metrics"] = diag.summary()
        result["class_names"] = prepared.class_names
        T = 1.0
        if project.uncertainty.temperature_scaling and "val" in outs:
            T = ev.fit_temperature(outs["val"]["proba"], prepared.y["val"], kind="proba")
        unc = ev.summarise_classification_uncertainty(proba, y, T, method="temperature scaling + conformal sets")
        unc["temperature"] = T
        if "cal" in outs:
            unc["conformal"] = ev.summarise_conformal_classification(outs["cal"]["proba"], prepared.y["cal"],
                                                                     proba, y, alpha=alpha)
        result["uncertainty"] = unc
        per_sample.update(y_true=y, proba=proba, y_pred=diag.y_pred)
    else:
        y = prepared.inverse_y(prepared.y[split])
        mu = outs[split]["mean"]
        diag = ev.regression_diagnostics(y, mu)
        result["metrics"] = {k: getattr(diag, k) for k in ("rmse", "mae", "r2", "bias", "scatter",
                                                          "outlier_fraction", "outlier_threshold")}
        cal_split = "cal" if "cal" in outs else ("val" if "val" in outs else None)
        sigma = outs[split].get("sigma")
        if sigma is not None:
            method = "mean-and-variance head"
        else:
            # no predicted sigma: a constant sigma from the held-out calibration residuals
            if cal_split is None:
                raise NnstudioError("Uncertainty needs a calibration or validation split; give one a "
                                    "non-zero fraction.")
            resid = prepared.inverse_y(prepared.y[cal_split]) - outs[cal_split]["mean"]
            sigma = np.full_like(mu, max(float(np.std(resid)), 1e-12))
            method = f"constant sigma from the {cal_split} split residuals"
        unc = ev.summarise_regression_uncertainty(y, mu, sigma, method=method)
        if cal_split is not None:
            cal_sigma = outs[cal_split].get("sigma")
            unc["conformal"] = ev.summarise_conformal_regression(
                prepared.inverse_y(prepared.y[cal_split]), outs[cal_split]["mean"], y, mu, alpha=alpha,
                sigma_cal=cal_sigma, sigma_test=outs[split].get("sigma") if cal_sigma is not None else None)
        result["uncertainty"] = unc
        per_sample.update(y_true=y, mean=mu, sigma=sigma)
    if run is not None and run.history:
        loss_name = (run.model or {}).get("loss") or (project.model.loss if project.model else "mse")
        result["hint"] = ev.learning_curve_hint(
            run.history, baseline=ev.baseline_loss(loss_name, prepared.n_classes or None))
    task.report_progress(3, 3, "done")
    result = jsonable(result)
    if arrays:
        result["arrays"] = per_sample
        result["diagnostics"] = diag  # the object the Diagnostics panel draws
    return result



def format_evaluation(result: dict) -> str:
    lines = [f"{result['task']} · {result['split']} split · {result['n']} samples · {result.get('run')}"]
    for k, v in result["metrics"].items():
        if isinstance(v, float):
            lines.append(f"  {k:<22} {v:.4g}")
        elif isinstance(v, list) and k == "confusion_matrix":
            lines.append(f"  {k:<22} " + " | ".join(" ".join(str(c) for c in row) for row in v))
    unc = result.get("uncertainty") or {}
    if unc:
        lines.append(f"uncertainty ({unc.get('method')}):")
        for k, v in unc.items():
            if isinstance(v, float):
                lines.append(f"  {k:<22} {v:.4g}")
    if result.get("hint"):
        lines.append("hint: " + result["hint"])
    return "\n".join(lines)


# -- export ---------------------------------------------------------------------------------------
def export_project_script(project: Project, out: Path) -> Path:
    from nnstudio.core.export import write_script

    return write_script(project, Path(out))
