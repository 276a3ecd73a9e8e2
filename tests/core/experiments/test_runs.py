"""The run table: settings diffs, rows, rename/annotate/hide/delete, CSV export (no TensorFlow)."""
import csv
import io

import pytest

from nnstudio.core.experiments.runs import (annotate_run, delete_run, export_runs_csv, hide_run, load_store,
                                            model_changes, rename_run, run_curves, run_rows, settings_diff)
from nnstudio.core.model import make_template
from nnstudio.core.training import RunRecord, TrainConfig
from nnstudio.errors import NnstudioError


def record(run_id, units=64, batch=32, seed=0, lr=1e-3, val=(0.9, 0.5, 0.7), final=None, layers=None):
    spec = make_template("mlp-regression", (3,), "regression")
    d = spec.to_dict()
    d["learning_rate"] = lr
    d["layers"][1]["config"]["units"] = units
    if layers is not None:
        d["layers"] = layers
    return RunRecord(id=run_id, started=f"2025-01-0{run_id[-1]}T10:00:00",
                     settings=TrainConfig(epochs=3, batch_size=batch, seed=seed).to_dict(), model=d,
                     status="completed", history={"loss": [1.0, 0.8, 0.6], "val_loss": list(val)},
                     final=final or {"loss": 0.8, "val_loss": 0.5}, epochs_run=3, duration_s=1.5)


def test_diff_names_what_changed():
    a, b = record("run-0001"), record("run-0002", units=32, batch=64, lr=3e-4)
    assert settings_diff(a, b) == ["learning_rate 0.001 → 0.0003", "dense_2.units 64 → 32", "batch_size 32 → 64"]
    assert settings_diff(a, record("run-0003")) == []
    assert settings_diff(None, a) == []


def test_diff_of_a_changed_layer_stack_is_short():
    a = record("run-0001")
    fewer = a.model["layers"][:2] + a.model["layers"][3:]
    assert model_changes(a.model, {**a.model, "layers": fewer}) == [
        "layers Dense(64)-Dense(64)-Dense(64)-Dense(1) → Dense(64)-Dense(64)-Dense(1)"]


@pytest.fixture
def with_runs(project):
    project.runs = [record("run-0001"), record("run-0002", seed=1, val=(0.8, None, 0.4)), record("run-0003")]
    project.active_run = "run-0003"
    for r in project.runs:
        d = project.run_dir(r.id)
        d.mkdir(parents=True)
        (d / "model.keras").write_bytes(b"x")
    return project


def test_rows_show_diff_against_previous_row_and_best_val_loss(with_runs):
    rows = run_rows(with_runs)
    assert [r.id for r in rows] == ["run-0001", "run-0002", "run-0003"]
    assert [r.changes for r in rows] == ["first run", "seed 0 → 1", "seed 1 → 0"]
    assert rows[1].best_val_loss == 0.4  # the None epoch is skipped
    assert rows[0].best_val_loss == 0.5 and rows[0].epochs == 3 and rows[0].seed == 0


def test_hide_keeps_run_out_of_table_until_asked(with_runs):
    hide_run(with_runs, "run-0002")
    rows = run_rows(with_runs)
    assert [r.id for r in rows] == ["run-0001", "run-0003"]
    assert rows[1].changes == "same settings"  # compared with the previous shown row
    assert [r.id for r in run_rows(with_runs, include_hidden=True)] == ["run-0001", "run-0002", "run-0003"]
    hide_run(with_runs, "run-0002", hidden=False)
    assert len(run_rows(with_runs)) == 3


def test_rename_annotate_and_unknown_run(with_runs):
    rename_run(with_runs, "run-0001", "  baseline ")
    annotate_run(with_runs, "run-0001", "before the new scaler")
    row = run_rows(with_runs)[0]
    assert (row.name, row.note) == ("baseline", "before the new scaler")
    assert with_runs.dirty
    with pytest.raises(NnstudioError, match="No run 'run-0009'.*run-0001"):
        rename_run(with_runs, "run-0009", "x")


def test_delete_removes_run_and_its_folder(with_runs):
    hide_run(with_runs, "run-0003")
    folder = with_runs.run_dir("run-0003")
    delete_run(with_runs, "run-0003")
    assert not folder.exists()
    assert [r.id for r in with_runs.runs] == ["run-0001", "run-0002"]
    assert with_runs.active_run == "run-0002"
    assert "run-0003" not in load_store(with_runs)["runs"]
    assert with_runs.run_dir("run-0001").exists()


def test_csv_export(with_runs, tmp_path):
    with_runs.runs[1].final = {"loss": 0.7, "val_loss": 0.4, "val_mae": 0.3}
    path = export_runs_csv(with_runs, tmp_path / "runs.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["id"] for r in rows] == ["run-0001", "run-0002", "run-0003"]
    assert rows[1]["changes"] == "seed 0 → 1"
    assert float(rows[1]["final_val_mae"]) == 0.3 and rows[0]["final_val_mae"] == ""
    assert float(rows[0]["best_val_loss"]) == 0.5 and rows[0]["hidden"] == "0"


def test_curves_for_overlay(with_runs):
    assert run_curves(with_runs, ["run-0001", "run-0002"]) == {"run-0001": [0.9, 0.5, 0.7],
                                                                "run-0002": [0.8, None, 0.4]}
