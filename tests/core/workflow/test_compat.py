"""A run whose model no longer fits the prepared data is refused in one sentence naming the
difference (read from files only: no TensorFlow)."""
import json
import zipfile

import numpy as np
import pytest

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.model import make_template
from nnstudio.core.project import Project
from nnstudio.core.training.config import RunRecord
from nnstudio.core.workflow.compat import check_run_fits, saved_input_shape
from nnstudio.errors import NnstudioError


def _prepared(n_inputs: int, problem="classification", classes=("benign", "malignant")) -> PreparedData:
    x = np.zeros((10, n_inputs), "float32")
    y = np.arange(10) % len(classes) if problem == "classification" else np.linspace(0, 1, 10)
    splits = {s: slice(i * 2, i * 2 + 2) for i, s in enumerate(("train", "val", "cal", "test"))}
    return PreparedData(kind="table", problem=problem, x={s: x[sl] for s, sl in splits.items()},
                        y={s: y[sl] for s, sl in splits.items()},
                        index={s: np.arange(10)[sl] for s, sl in splits.items()},
                        feature_names=[f"c{i}" for i in range(n_inputs)],
                        class_names=list(classes) if problem == "classification" else None,
                        target_name="diagnosis" if problem == "classification" else "worst_fractal_dimension")


def _project(tmp_path, n_inputs=30, classes=2) -> Project:
    project = Project(name="cancer")
    project.save(tmp_path / "cancer.nnproj")
    spec = make_template("dense", (n_inputs,), "classification", classes).to_dict()
    (project.folder / "runs" / "run-0001").mkdir(parents=True)
    path = project.folder / "runs" / "run-0001" / "model.keras"
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, n_inputs]}}]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
    project.runs.append(RunRecord(id="run-0001", started="", settings={}, model=spec, status="completed",
                                  model_path="run-0001/model.keras"))
    project.active_run = "run-0001"
    return project


def test_the_same_data_fits(tmp_path):
    project = _project(tmp_path)
    assert saved_input_shape(project.model_path(project.run())) == (30,)
    check_run_fits(project, _prepared(30))


def test_other_inputs_are_refused_naming_both_shapes(tmp_path):
    with pytest.raises(NnstudioError) as exc:
        check_run_fits(_project(tmp_path), _prepared(29))
    assert exc.value.message == ("run-0001 was trained on 30 input columns, but the data now gives 29 input "
                                 "columns: open the data it was trained on, or train a new model.")


def test_another_problem_is_refused(tmp_path):
    with pytest.raises(NnstudioError) as exc:
        check_run_fits(_project(tmp_path), _prepared(30, "regression"))
    assert "trained for classification, but the data now asks for regression of worst_fractal_dimension" \
        in exc.value.message


def test_another_number_of_classes_is_refused(tmp_path):
    with pytest.raises(NnstudioError) as exc:
        check_run_fits(_project(tmp_path), _prepared(30, classes=("a", "b", "c")))
    assert "run-0001 predicts 2 classes, but the data now has 3 (a, b, c)" in exc.value.message
