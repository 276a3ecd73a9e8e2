"""Every regression figure a person reads is in the target's units (mean 1000, std 50 here), or
labelled as standardised where it cannot be (the loss)."""
import json
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def project_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("units")
    rng = np.random.default_rng(3)
    n = 600
    a, b, c = rng.normal(size=(3, n))
    y = 1000.0 + 50.0 * (0.8 * a - 0.5 * b + 0.3 * rng.normal(size=n))
    lines = ["a,b,c,mass"] + [f"{a[i]:.6f},{b[i]:.6f},{c[i]:.6f},{y[i]:.4f}" for i in range(n)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    from nnstudio.core.workflow.projects import new_project

    project = new_project(str(folder / "data.csv"), folder / "units.nnproj", target="mass")
    project.training.epochs = 4
    project.save()
    return project.path


def test_runs_train_repeat_and_curves_are_in_target_units(project_path, run_cli, tensorflow):
    from nnstudio.core.project import Project
    from nnstudio.core.workflow.evaluate import evaluate

    code, out, err = run_cli("train", project_path, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert "standardised" in res["units"]
    project = Project.load(project_path)
    scale = project.preparation.fitted["target"]["std"]
    assert 40 < scale < 60
    # the kept epoch's validation MAE (the curves' MAE axis and the run's final figures) is the
    # evaluation's MAE on the same split, in the target's units
    val = evaluate(project, split="val")
    assert res["final"]["val_mae"] == pytest.approx(val.metrics["mae"], rel=1e-3)
    assert res["history"]["val_mae"][-1] > 5           # not a standardised 0.1–0.3
    code, out, err = run_cli("runs", project_path, "--json")
    rows = json.loads(out)
    assert rows["runs"][0]["final"]["val_mae"] == pytest.approx(val.metrics["mae"], rel=1e-3)
    assert "standardised" in rows["units"]
    code, out, err = run_cli("train", project_path, "--repeat", "2", "--epochs", "2", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["summary"]["val_mae"]["mean"] > 5, rep["summary"]["val_mae"]


def test_exported_script_prints_test_figures_in_target_units(project_path, tmp_path, tensorflow):
    from nnstudio.core.project import Project
    from nnstudio.core.workflow.evaluate import evaluate
    from nnstudio.core.workflow.export import export_project_script

    project = Project.load(project_path)
    script = export_project_script(project, tmp_path / "train.py")
    out = subprocess.run([sys.executable, str(script), "--epochs", "4", "--out", str(tmp_path / "t")],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    test, ci = res["test"], res["test_ci"]
    assert 5 < test["rmse"] < 60 and 5 < test["mae"] < 60    # the noise is 15 in the target's units
    assert ci["rmse"][0] <= test["rmse"] <= ci["rmse"][1]
    assert "loss (standardised target)" in test
    app = evaluate(project).metrics                             # the app's own figures, same scale
    assert test["rmse"] == pytest.approx(app["rmse"], rel=0.5)
