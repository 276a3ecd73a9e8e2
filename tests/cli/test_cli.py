"""The command line: usage errors, exit statuses, one-line messages, pure JSON on stdout."""
import json
import subprocess
import sys

import pytest


def test_help_lists_every_command(run_cli):
    code, out, err = run_cli("--help")
    assert code == 0
    for cmd in ("open", "inspect", "example", "new-project", "train", "evaluate", "baseline", "report", "export-script",
                "selftest"):
        assert cmd in out


def test_version(run_cli):
    from nnstudio import __version__

    code, out, _ = run_cli("--version")
    assert code == 0 and __version__ in out


@pytest.mark.parametrize("argv", [["frobnicate"], ["inspect"], ["example", "galaxy-mass"],
                                  ["train", "p.nnproj", "--epochs", "many"], ["new-project", "--out", "x.nnproj"]])
def test_bad_usage_is_status_2_and_one_line(run_cli, argv):
    code, out, err = run_cli(*argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file_is_status_1_one_line(run_cli, tmp_path):
    code, out, err = run_cli("inspect", tmp_path / "nope.fits")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "nope.fits" in err


def test_unknown_example_names_the_choices(run_cli, tmp_path):
    code, _, err = run_cli("example", "no-such-example", "--out", tmp_path)
    assert code == 1
    assert "galaxy-mass" in err and "Traceback" not in err


def test_open_missing_path_fails_without_gui(run_cli, tmp_path):
    code, _, err = run_cli("open", tmp_path / "missing.nnproj")
    assert code == 1 and "missing.nnproj" in err


def test_train_damaged_project(run_cli, tmp_path):
    p = tmp_path / "broken.nnproj"
    p.write_text('{"format": "nnstudio-project", "format_version": 1, "data": ')
    code, _, err = run_cli("train", p)
    assert code == 1 and "broken JSON" in err


def test_example_train_evaluate_export(run_cli, tmp_path, tensorflow):
    code, out, err = run_cli("example", "galaxy-mass", "--out", tmp_path)
    assert code == 0, err
    proj = tmp_path / "galaxy-mass.nnproj"
    assert out.strip() == str(proj) and proj.exists()

    code, out, err = run_cli("train", proj, "--epochs", "2", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert len(res["history"]["loss"]) == 2 and "loss" in res["final"]

    code, out, err = run_cli("evaluate", proj, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["task"] == "regression"
    for key in ("rmse", "mae", "r2", "bias"):
        assert isinstance(res["metrics"][key], float)
    for key in ("coverage_68", "coverage_95", "nll"):
        assert key in res["uncertainty"]
    for key in ("rmse", "mae", "r2", "bias", "scatter"):
        low, high = res["metrics_ci"][key]
        assert low <= res["metrics"][key] <= high
    assert res["uncertainty"]["method"] == "residual" and res["uncertainty"]["verdict"]["level"] in ("good", "warn", "bad")

    # the HTML report the Diagnostics panel exports, headless, from the same evaluation
    code, out, err = run_cli("report", proj, "--out", tmp_path / "report.html")
    assert code == 0, err
    html = (tmp_path / "report.html").read_text()
    assert out.strip() == str(tmp_path / "report.html") and html.startswith("<!DOCTYPE html>")
    assert f"{res['metrics']['rmse']:.4g}  (95%: [" in html and res["uncertainty"]["verdict"]["text"][:40] in html
    code, _, err = run_cli("report", proj, "--out", tmp_path / "report.txt")
    assert code == 1 and ".html" in err

    # a method the model cannot give: one line saying why
    code, out, err = run_cli("evaluate", proj, "--method", "mc_dropout", "--passes", "5", "--json")
    errors = [line for line in err.splitlines() if line.startswith("nnstudio: error:")]
    assert code == 1 and out == "" and len(errors) == 1 and "no dropout layers" in errors[0]
    assert "Traceback" not in err

    code, out, err = run_cli("export-script", proj, "--out", tmp_path / "train.py")
    assert code == 0, err
    assert (tmp_path / "train.py").exists() and out.strip() == str(tmp_path / "train.py")


def test_python_dash_m_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "nnstudio", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "new-project" in out.stdout


def test_bad_usage_exit_code_in_a_real_process():
    out = subprocess.run([sys.executable, "-m", "nnstudio", "train"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_inspect_project_and_keras_files(run_cli, tmp_path, tensorflow):
    import keras

    code, _, err = run_cli("example", "galaxy-mass", "--out", tmp_path)
    assert code == 0, err
    code, out, err = run_cli("inspect", tmp_path / "galaxy-mass.nnproj", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "nnproj" and info["task"] == "regression" and info["layers"][-1] == "Dense"

    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    plain.save(tmp_path / "plain.keras")
    code, out, err = run_cli("inspect", tmp_path / "plain.keras", "--json")
    assert code == 0, err
    assert json.loads(out)["editable"] is True

    lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    lam.save(tmp_path / "lambda.keras")
    code, out, err = run_cli("inspect", tmp_path / "lambda.keras")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Lambda" in err


def test_train_an_ensemble_headless(run_cli, tmp_path, tensorflow):
    code, _, err = run_cli("example", "galaxy-mass", "--out", tmp_path)
    assert code == 0, err
    code, out, err = run_cli("train", tmp_path / "galaxy-mass.nnproj", "--ensemble", "2", "--epochs", "1", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert len(result["members"]) == 2 and sorted(r["seed"] for r in result["runs"]) == [0, 1]
    code, _, err = run_cli("train", tmp_path / "galaxy-mass.nnproj", "--ensemble", "2", "--repeat", "2")
    assert code == 2


def test_train_takes_the_schedule_and_keeps_it_in_the_project(run_cli, tmp_path, tensorflow):
    import json as _json

    code, out, err = run_cli("example", "galaxy-mass", "--out", tmp_path)
    assert code == 0, err
    project = next(tmp_path.glob("*.nnproj"))
    code, out, err = run_cli("train", project, "--epochs", "3", "--schedule", "cosine", "--json")
    assert code == 0, err
    run = _json.loads(out)["run"]
    record = _json.loads((tmp_path / project.stem / "runs" / run / "run.json").read_text())
    assert record["settings"]["schedule"] == "cosine" and record["epochs_run"] == 3
    assert _json.loads(project.read_text())["training"]["schedule"] == "cosine"
    code, _, err = run_cli("train", project, "--schedule", "linear")
    assert code == 2 and "linear" in err


def test_evaluate_prints_no_tensorflow_retracing_advice(tmp_path, tensorflow):
    """Several models and shapes are predicted in one evaluation; TensorFlow's advice about that is
    not for the person running nnstudio (a subprocess: the logger is set at import)."""
    import subprocess
    import sys

    from nnstudio.core.project import Project
    from nnstudio.core.workflow import train_project, write_example_project

    project = Project.load(write_example_project("galaxy-mass", tmp_path))
    train_project(project, epochs=1)
    project.save()
    out = subprocess.run([sys.executable, "-m", "nnstudio", "evaluate", str(project.path)], capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "retracing" not in out.stderr and "WARNING:tensorflow" not in out.stderr
