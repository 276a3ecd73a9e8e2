"""The exported training script repeats the app's preparation, model and training exactly."""
import json
import subprocess
import sys

import pytest

from nnstudio.core.project import Project
from nnstudio.core.workflow import export_project_script, train_project, write_example_project
from nnstudio.errors import NnstudioError


def _run_script(script, tmp_path, *args):
    out = subprocess.run([sys.executable, str(script), "--epochs", "1", "--out", str(tmp_path / "trained"), *args],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_exported_script_matches_first_epoch_loss(tmp_path, tensorflow):
    project = Project.load(write_example_project("galaxy-mass", tmp_path / "work"))
    project.training.epochs = 1
    record = train_project(project)
    project.save()
    script = export_project_script(project, tmp_path / "train.py")
    text = script.read_text()
    assert "import nnstudio" not in text and "from nnstudio" not in text
    result = _run_script(script, tmp_path)
    assert result["first_epoch_loss"] == pytest.approx(record.history["loss"][0], abs=1e-4)
    assert (tmp_path / "trained" / "model.keras").exists()


def test_exported_script_runs_under_a_distribution_strategy(tmp_path, tensorflow):
    """The multi-worker code path on one CPU worker (TF_CONFIG unset: a single local worker)."""
    project = Project.load(write_example_project("galaxy-mass", tmp_path / "work"))
    from nnstudio.core.workflow import prepare_project

    prepare_project(project)
    script = export_project_script(project, tmp_path / "train.py")
    result = _run_script(script, tmp_path, "--strategy", "multiworker")
    assert result["first_epoch_loss"] > 0


def test_export_needs_a_model(tmp_path):
    with pytest.raises(NnstudioError, match="no model"):
        export_project_script(Project(), tmp_path / "x.py")


def test_export_refuses_non_py_name(tmp_path):
    project = Project.load(write_example_project("galaxy-mass", tmp_path / "work"))
    with pytest.raises(NnstudioError, match=r"\.py"):
        export_project_script(project, tmp_path / "train.txt")


def test_export_refuses_a_residual_run_and_carries_the_augmentation(tmp_path):
    from nnstudio.core.project import PhysicsSettings
    from nnstudio.core.workflow.export import export_project_script
    from nnstudio.core.workflow.projects import write_example_project
    from nnstudio.errors import NnstudioError

    from nnstudio.core.project import Project

    project = Project.load(write_example_project("galaxy-mass", tmp_path))
    project.physics = PhysicsSettings("a + b*log_luminosity")
    project.training.residual = True
    with pytest.raises(NnstudioError, match="formula misses is not supported"):
        export_project_script(project, tmp_path / "t.py")
    project.training.residual = False
    project.training.augmentation = "none"
    text = export_project_script(project, tmp_path / "t.py").read_text()
    assert "AUGMENTATION = 'none'" in text and "def sky_symmetries(ds, seed: int):" in text
    assert "class_weight=weights" in text


def test_exported_script_trains_a_gaussian_head(tmp_path, tensorflow):
    """nnstudio's own Keras objects travel in the script; the per-sample loss is then a plain function."""
    from nnstudio.core.model.importer import load_keras
    from nnstudio.core.model.spec import LayerSpec
    from nnstudio.core.workflow import prepare_project

    project = Project.load(write_example_project("galaxy-mass", tmp_path / "work"))
    project.model.layers[-1] = LayerSpec("GaussianHead")
    project.model.loss, project.model.metrics = "gaussian_nll", ["mae"]
    prepare_project(project)
    script = export_project_script(project, tmp_path / "train.py")
    result = _run_script(script, tmp_path, "--strategy", "multiworker")
    assert result["test"]["rmse"] > 0
    model = load_keras(tmp_path / "trained" / "model.keras")
    assert type(model.layers[-1]).__name__ == "GaussianHead"


def test_exported_script_repeats_the_image_schedule(tmp_path, tensorflow):
    """Cutouts train with warm-up + cosine: the script's rate and losses follow the app's, epoch by epoch."""
    project = Project.load(write_example_project("strong-lens", tmp_path / "work"))
    project.training.epochs = 3
    record = train_project(project)
    assert record.settings["schedule"] == "cosine" and record.epochs_run == 3
    project.save()
    script = export_project_script(project, tmp_path / "train.py")
    assert "SCHEDULE = 'auto'" in script.read_text()
    out = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "trained")],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    history = json.loads((tmp_path / "trained" / "history.json").read_text())["history"]
    assert history["loss"] == pytest.approx(record.history["loss"], rel=1e-4)
