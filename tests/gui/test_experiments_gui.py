"""The experiments inside the Train panel, driven offscreen: the run table, Repeat ×N with mean ±
spread and group comparison, sweeps with Apply best and resume after closing, resuming a run."""
import csv
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.experiments.runs import load_store, record_test_metrics, save_store
from nnstudio.core.model import make_template
from nnstudio.core.project import Project
from nnstudio.core.training.config import RunRecord, TrainConfig


def make_project(path, epochs=2, **training) -> Project:
    project = Project(name="toy")
    project.model = make_template("mlp-regression", (3,), "regression")  # dense_1..3 (64), dense_4 out
    project.training = TrainConfig(epochs=epochs, batch_size=32, **training)
    project.save(path)
    return project


@pytest.fixture
def exp_window(make_window, tmp_path):
    """A window showing the Train panel of a saved toy project with prepared data."""
    def make(project=None, answers=None, **kw):
        w = make_window(answers=answers)
        project = project or make_project(tmp_path / "toy.nnproj", **kw)
        w.session.set_project(project)
        w.session.set_prepared(toy_regression())
        w.show_panel("train")
        panel = w.panels["train"]
        assert not panel.is_missing_shown
        return w, panel
    return make


def record(i, val, lr=1e-3, batch=32, seed=0, started=None) -> RunRecord:
    """A finished run whose validation loss goes down to ``val[-1]``."""
    model = make_template("mlp-regression", (3,), "regression")
    model.learning_rate = lr
    val = list(val)
    return RunRecord(id=f"run-{i:04d}", started=started or f"2025-01-{i:02d}T10:00:00",
                     settings=TrainConfig(batch_size=batch, seed=seed).to_dict(), model=model.to_dict(),
                     status="completed", epochs_run=len(val),
                     history={"loss": [v - 0.5 for v in val], "val_loss": val},
                     final={"loss": val[-1] - 0.5, "val_loss": val[-1]}, best_epoch=len(val) - 1,
                     duration_s=10.0 * i, device="CPU")


# -- the run table --------------------------------------------------------------------------------
def test_run_table_lists_runs_with_diffs_overlays_and_exports_csv(exp_window, tmp_path):
    w, panel = exp_window()
    project = w.session.project
    project.add_run(record(1, [4.5, 2.5, 1.5]))
    project.add_run(record(2, [3.0, 1.0], batch=64))
    project.add_run(record(3, [2.0, 1.2], lr=1e-2, batch=64))
    record_test_metrics(project, "run-0002", {"rmse": 0.5, "mae": 0.4, "note": "text is skipped"})
    panel.refresh()
    table = panel.run_table
    assert table.row_ids() == ["run-0003", "run-0002", "run-0001"]   # newest first
    changes = "Changes vs previous run"
    assert table.row_texts("run-0001")[changes] == "first run"
    assert table.row_texts("run-0002")[changes] == "batch_size 32 → 64"
    assert table.row_texts("run-0003")[changes] == "learning_rate 0.001 → 0.01"
    row = table.row_texts("run-0002")
    assert (row["Epochs"], row["Best val loss"], row["Test rmse"], row["Test mae"]) == ("2", "1", "0.5", "0.4")
    assert (row["When"], row["Time"], row["Device"]) == ("2025-01-02 10:00", "0:20", "CPU")
    assert table.row_texts("run-0001")["Test rmse"] == "—"
    # sorting by the best validation loss, numerically
    table.table.sortItems(table.headers().index("Best val loss"), Qt.AscendingOrder)
    assert table.row_ids() == ["run-0002", "run-0003", "run-0001"]
    # ticking a run overlays its curves (the same overlay as the run list under the curves)
    table.cell("run-0001", "Run").setCheckState(Qt.Checked)
    assert panel.plots.overlay_ids == ["run-0001"] and panel.checked_runs() == ["run-0001"]
    panel.set_overlay("run-0001", False)
    assert table.cell("run-0001", "Run").checkState() == Qt.Unchecked and panel.plots.overlay_ids == []

    out = panel.export_csv(tmp_path / "runs.csv")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["run-0001", "run-0002", "run-0003"]
    assert rows[1]["changes"] == "batch_size 32 → 64" and rows[1]["test_rmse"] == "0.5"
    assert rows[0]["best_val_loss"] == "1.5" and rows[0]["test_rmse"] == ""
    assert panel.messages.is_shown("runs") and "Wrote 3 runs" in panel.messages.text("runs")


def test_rename_annotate_hide_and_delete_runs(exp_window, tmp_path):
    w, panel = exp_window()
    project = w.session.project
    for i in (1, 2):
        project.add_run(record(i, [2.0, 1.0]))
        project.run_dir(f"run-000{i}").mkdir(parents=True)
        (project.run_dir(f"run-000{i}") / "model.keras").write_bytes(b"weights")
    project.save()
    panel.refresh()
    table = panel.run_table
    # inline edits reach the run records
    table.cell("run-0001", "Name").setText("baseline")
    table.cell("run-0001", "Note").setText("lr from the paper")
    assert (project.run("run-0001").name, project.run("run-0001").note) == ("baseline", "lr from the paper")
    assert project.dirty
    # hide: gone from the table and the run list, kept on disk; "Show hidden" brings it back greyed
    table.select(["run-0001"])
    assert table.hide_button.text() == "Hide"
    table.hide_button.click()
    assert table.row_ids() == ["run-0002"] and panel.run_ids() == ["run-0002"]
    assert load_store(project)["runs"]["run-0001"]["hidden"] is True
    table.show_hidden_check.setChecked(True)
    assert table.row_ids() == ["run-0002", "run-0001"]
    assert table.row_texts("run-0001")["Status"] == "completed (hidden)"
    table.select(["run-0001"])
    assert table.hide_button.text() == "Unhide"
    # delete asks in the message bar first; "Keep" leaves everything, "Delete" removes the files
    table.select(["run-0002"])
    table.delete_button.click()
    assert panel.messages.is_shown("delete") and "run-0002" in panel.messages.text("delete")
    panel.messages.line("delete").buttons[1].click()   # Keep
    assert not panel.messages.is_shown("delete") and project.run_dir("run-0002").exists()
    table.delete_button.click()
    confirm = panel.messages.line("delete").buttons[0]
    assert confirm.text() == "Delete"
    confirm.click()
    assert not project.run_dir("run-0002").exists() and project.run_dir("run-0001").exists()
    assert [r.id for r in project.runs] == ["run-0001"] and table.row_ids() == ["run-0001"]
    on_disk = json.loads(project.path.read_text())
    assert [r["id"] for r in on_disk["runs"]] == ["run-0001"]   # saved: no run without files


# -- repeat and compare ---------------------------------------------------------------------------
def test_repeat_two_seeds_makes_a_group_with_band_and_mean_std(exp_window, qtbot):
    w, panel = exp_window(epochs=2, early_stopping=False)
    view = panel.repeat_view
    view.n_spin.setValue(2)
    assert view.repeat_button.text() == "Repeat ×2"
    with qtbot.waitSignal(w.session.run_finished, timeout=120_000):
        qtbot.mouseClick(view.repeat_button, Qt.LeftButton)
        assert panel.is_training and not view.repeat_button.isEnabled() and view.cancel_button.isEnabled()
    project = w.session.project
    runs = project.runs
    assert [r.settings["seed"] for r in runs] == [0, 1] and all(r.status == "completed" for r in runs)
    assert [r.name for r in runs] == ["group-001 · seed 0", "group-001 · seed 1"]
    assert view.group_a() == "group-001" and panel.tabs.currentWidget() is view
    # the band: per epoch the mean of the two validation curves ± their sample standard deviation
    vals = np.array([r.history["val_loss"] for r in runs])
    x, mean, lo, hi = view.band_data("A")
    assert list(x) == [1, 2]
    assert np.allclose(mean, vals.mean(axis=0))
    assert np.allclose(hi - mean, vals.std(axis=0, ddof=1)) and np.allclose(mean - lo, hi - mean)
    view.set_band_mode("minmax")
    _, _, lo, hi = view.band_data("A")
    assert np.allclose(lo, vals.min(axis=0)) and np.allclose(hi, vals.max(axis=0))
    # every metric as mean ± std over the group, test figures included
    finals = [r.final["val_loss"] for r in runs]
    assert view.metric_text("val_loss") == f"{np.mean(finals):.4g} ± {np.std(finals, ddof=1):.2g}"
    tests = [load_store(project)["runs"][r.id]["test"]["rmse"] for r in runs]
    text = view.metric_text("test_rmse")   # with its 95% interval, never below 0 for an RMSE
    assert text.startswith(f"{np.mean(tests):.4g} ± {np.std(tests, ddof=1):.2g} [") and "[-" not in text
    assert panel.run_table.row_texts(runs[0].id)["Test rmse"] == f"{tests[0]:.4g}"
    assert "Pick a group B" in view.verdict
    assert panel.messages.is_shown("run") and "group-001, 2 completed runs" in panel.messages.text("run")
    assert json.loads(project.path.read_text())["runs"][1]["id"] == runs[1].id   # saved


def test_two_groups_compared_in_plain_words(exp_window):
    w, panel = exp_window()
    project = w.session.project
    finals = {"group-001": ([1.00, 1.02, 0.98], 1e-3), "group-002": ([0.50, 0.52, 0.48], 1e-2),
              "group-003": ([1.01, 0.99, 1.03], 1e-3)}
    store = load_store(project)
    i = 0
    for gid, (vals, lr) in finals.items():
        store["groups"][gid] = {"kind": "repeat", "runs": [], "seeds": [0, 1, 2], "created": "2025-02-01T09:00:00"}
        for seed, v in enumerate(vals):
            i += 1
            project.add_run(record(i, [v + 1.0, v], lr=lr, seed=seed))
            rid = f"run-{i:04d}"
            store["groups"][gid]["runs"].append(rid)
            # test figures 4.0, 4.1, 4.2 in every group, each with a bootstrap interval ±0.5
            store["runs"][rid] = {"group": gid, "test": {"rmse": 4.0 + 0.1 * seed},
                                  "test_ci": {"rmse": [3.5 + 0.1 * seed, 4.5 + 0.1 * seed]}}
    # a fourth run of group-002 ended in NaN: counted, not in the mean ± std
    nan_run = record(10, [0.6, float("nan")], lr=1e-2, seed=3)
    nan_run.status = "nan"
    project.add_run(nan_run)
    store["groups"]["group-002"]["runs"].append("run-0010")
    store["runs"]["run-0010"] = {"group": "group-002"}
    save_store(project, store)
    panel.refresh()
    view = panel.repeat_view
    view.select(a="group-001", b="group-002")
    # A: 1.00 ± 0.02, B: 0.50 ± 0.02 (3 runs each); B − A = −0.5, its error sqrt(2 · 0.02² / 3) = 0.0163,
    # Welch dof 4: the 95 % interval is −0.5 ± 2.776 · 0.0163 = [−0.545, −0.455]
    assert view.metric_text("val_loss", "A") == "1 ± 0.02" and view.metric_text("val_loss", "B") == "0.5 ± 0.02"
    assert view.metric_text("val_loss", "diff") == "-0.5 [-0.55, -0.45]"
    assert view.metric_text("val_loss", "p") == "< 0.001"
    assert view.metric_text("val_loss", "verdict") == "B is better"
    assert view.metrics_table.item(0, 0).text() == "val_loss"    # the verdict's metric comes first
    assert view.metrics_table.item(0, 5).toolTip() == view.verdict
    assert view.verdict.startswith("B is better by 0.5 ± 0.016 in val_loss (3 runs each; p < 0.001)")
    assert view.differs_label.text() == "B differs from A in: learning_rate 0.001 → 0.01"
    assert "mean ± std of 3 of 4 runs; 1 ended in NaN · spread over seeds" in view.groups_label.text()
    # the training loss is shown beside, Holm-corrected, and names no winner
    assert view.metric_text("loss", "verdict") == "B lower"
    assert view.metric_text("loss", "p") not in ("", "—")
    # test figures: with their 95 % interval, never a verdict, and no difference beyond their noise
    assert view.metric_text("test_rmse", "A").startswith("4.1 ± 0.1 [")
    assert view.metric_text("test_rmse", "verdict") == "within noise"
    assert "never used to choose" in view.metrics_table.item(
        [view.metrics_table.item(r, 0).text() for r in range(view.metrics_table.rowCount())].index("test_rmse"),
        5).toolTip()
    assert "Holm" in view.metrics_table.horizontalHeaderItem(4).toolTip()
    # a verdict on another metric, picked before looking, replaces it
    assert view.primary_metric() == "val_loss" and view.primary_combo.findData("test_rmse") < 0
    view.set_primary_metric("loss")
    assert view.metric_text("loss", "verdict") == "B is better" and view.metric_text("val_loss", "verdict") == "B lower"
    assert view.verdict.startswith("B is better by 0.5 ± 0.016 in loss")
    view.set_primary_metric("val_loss")
    # the same settings again: the difference (+0.01 [−0.035, 0.055]) is within the scatter
    view.select(b="group-003")
    assert view.metric_text("val_loss", "diff") == "+0.01 [-0.035, 0.055]"
    assert "within the seed-to-seed scatter" in view.verdict and view.metric_text("val_loss", "verdict") == "within noise"
    assert view.differs_label.text() == "A and B have the same settings: only the seeds differ."
    # the band plot shows both groups
    assert len(view.band_data("A")[0]) == 2 and len(view.band_data("B")[0]) == 2


def test_repeat_can_resample_the_split_from_the_repeat_tab(make_window, tmp_path, qtbot):
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow.projects import new_project

    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 3))
    write_csv(tmp_path / "toy.csv", {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": 100 + 5 * x @ [1.0, -2.0, 0.5]})
    project = new_project(data=tmp_path / "toy.csv", out=tmp_path / "toy.nnproj", target="y", problem="regression")
    project.training = TrainConfig(epochs=1, batch_size=32)
    project.save()
    w = make_window()
    assert w.open_path(str(project.path))
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    project = w.session.project
    w.show_panel("train")
    panel = w.panels["train"]
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    view = panel.repeat_view
    view.n_spin.setValue(2)
    view.resample_check.setChecked(True)
    with qtbot.waitSignal(w.session.run_finished, timeout=120_000):
        qtbot.mouseClick(view.repeat_button, Qt.LeftButton)
    store = load_store(project)
    gid = view.group_a()
    assert store["groups"][gid]["spread"] == "seeds_and_splits"
    assert [store["runs"][r]["split_seed"] for r in store["groups"][gid]["runs"]] == [0, 1]
    assert "spread over seeds and splits" in view.groups_label.text()
    assert "seeds and splits" in view.a_combo.currentText()


# -- sweeps ---------------------------------------------------------------------------------------
def set_form(view, lr=False, units=None, sampler="tpe", trials=2, epochs=1):
    view.lr_check.setChecked(lr)
    if units:
        view.units_check.setChecked(True)
        view.units_layer.setCurrentIndex(view.units_layer.findData("units:dense_1"))
        view.units_edit.setText(units)
    view.sampler_combo.setCurrentIndex(view.sampler_combo.findData(sampler))
    view.trials_spin.setValue(trials)
    view.epochs_spin.setValue(epochs)


def test_sweep_lists_trials_and_apply_best_changes_the_model(exp_window, qtbot):
    w, panel = exp_window(epochs=3)
    view = panel.sweep_view
    panel.tabs.setCurrentWidget(view)
    assert view.dropout_check.isEnabled() is False   # this MLP has no Dropout layer
    set_form(view, units="8,16", sampler="grid", trials=2, epochs=1)
    assert view.params() == ["units:dense_1=8,16"]
    assert view.command_line() == "nnstudio sweep PROJECT --param units:dense_1=8,16 --trials 2 --sampler grid --epochs 1"
    assert panel.start_sweep()
    assert panel.is_sweeping and not panel.start_button.isEnabled() and not view.start_button.isEnabled()
    with qtbot.waitSignal(panel.job.returned, timeout=120_000) as sig:
        pass
    result = sig.args[0]
    qtbot.waitUntil(lambda: not panel.is_sweeping, timeout=30_000)
    values = sorted(t["value"] for t in result.trials)
    rows = view.table_rows()
    assert [r[1] for r in rows] == ["complete", "complete"]
    assert [r[2] for r in rows] == [f"{v:.4g}" for v in values]   # sorted by the validation loss
    assert sorted(r[3] for r in rows) == ["16", "8"]
    best = result.best
    assert best["value"] == values[0]
    assert f"trial {best['number']}" in view.best_label.text()
    text = view.test_label.text()
    assert "selected by validation" in text and "in the target's units" in text and "best validation epoch" in text
    assert f"rmse {best['test']['rmse']:.4g} [" in text   # with its 95% interval
    x, y = view.scatters["units:dense_1"].complete.getData()
    assert sorted(zip(x, y)) == sorted((t["params"]["units:dense_1"], t["value"]) for t in result.trials)
    # Apply best: the winning size goes into the model
    assert view.apply_button.isEnabled()
    with qtbot.waitSignal(w.session.model_changed, timeout=5_000):
        view.apply_button.click()
    project = w.session.project
    assert project.model.layers[0].config["units"] == best["params"]["units:dense_1"]
    assert project.dirty and panel.messages.is_shown("sweep")


def test_closing_mid_sweep_stops_cleanly_and_the_same_sweep_resumes(exp_window, qtbot, tmp_path):
    from PySide6.QtCore import QThreadPool

    from nnstudio.core.experiments.sweep import load_sweep

    answers = {"Work in progress": "Stop and quit", "Unsaved changes": "Discard"}
    w, panel = exp_window(epochs=4, answers=answers)
    view = panel.sweep_view
    panel.tabs.setCurrentWidget(view)
    set_form(view, lr=True, sampler="random", trials=3, epochs=0)   # the project's 4 epochs
    params = view.params()
    assert params == ["learning_rate=1e-4:1e-2:log"]
    assert panel.start_sweep()
    with qtbot.waitSignal(panel.job.partial, timeout=120_000, check_params_cb=lambda o: "trial_done" in o):
        pass
    w.close()   # asks, stops the running trial, waits for the worker
    assert not w.isVisible() and QThreadPool.globalInstance().activeThreadCount() == 0
    qtbot.waitUntil(lambda: not panel.job.running, timeout=5_000)   # its finished signal, queued
    project = Project.load(tmp_path / "toy.nnproj")
    before = load_sweep(project)
    finished = [t for t in before.trials if t["state"] in ("complete", "pruned")]
    assert 1 <= len(finished) < 3
    # reopen: the form comes back, and starting the same sweep continues its study
    _w2, panel2 = exp_window(project=project)
    panel2.tabs.setCurrentWidget(panel2.sweep_view)
    assert panel2.sweep_view.params() == params
    assert panel2.start_sweep()
    with qtbot.waitSignal(panel2.job.returned, timeout=120_000) as sig:
        pass
    result = sig.args[0]
    assert result.study == before.study
    n = len(finished)
    assert result.counts.get("complete", 0) + result.counts.get("pruned", 0) == 3
    assert f"resumed {n} finished trial" in panel2.messages.text("sweep")
    assert f"Resumed {n} finished trial" in panel2.sweep_view.test_label.text()


# -- resume ---------------------------------------------------------------------------------------
def test_resume_continues_a_stopped_run_and_its_curves(exp_window, qtbot):
    w, panel = exp_window(epochs=5000, early_stopping=False)
    assert panel.start()
    with qtbot.waitSignal(panel.job.partial, timeout=60_000):
        pass
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        panel.stop()
    first = sig.args[0]
    assert first.status == "stopped"
    k = first.epochs_run
    before = list(first.history["loss"])
    assert panel.resume_row.isVisible() and panel.resume_button.text() == f"Resume {first.id}"
    qtbot.mouseClick(panel.resume_button, Qt.LeftButton)
    assert panel.is_training and not panel.resume_button.isEnabled()
    with qtbot.waitSignal(panel.job.partial, timeout=60_000) as ep:
        pass
    assert ep.args[0]["epoch"] == k   # the epoch counter goes on
    panel.plots.flush()
    x, y = panel.plots.plot_item("loss").getData()
    assert list(x[:k + 1]) == list(range(1, k + 2)) and np.allclose(y[:k], before)
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        panel.stop()
    again = sig.args[0]
    assert again.id == first.id and again.epochs_run > k
    assert again.history["loss"][:k] == before
    assert [r.id for r in w.session.project.runs] == [first.id]
    assert "(resumed)" in panel.messages.text("run")
    # a checkpoint that no longer matches the model is refused, in words
    project = w.session.project
    project.model.layers[0] = project.model.layers[0].replace(units=8)
    assert panel.resume_run()
    with qtbot.waitSignal(panel.job.errored, timeout=60_000):   # delivered through the event loop
        pass
    assert "model changed" in panel.messages.text("error") and "no longer matches" in panel.messages.text("error")
    assert not panel.is_training and panel.resume_row.isVisible() and panel.resume_button.isEnabled()
