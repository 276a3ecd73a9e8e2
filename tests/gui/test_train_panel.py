"""The Train panel, driven offscreen: settings, Start / Pause / Stop, live plots, runs."""
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.model import make_template
from nnstudio.core.project import Project


@pytest.fixture
def train_window(make_window, tmp_path):
    """A window with prepared toy data, an MLP and (unless save=False) a saved project."""
    def make(epochs=3, save=True, **training):
        w = make_window()
        prepared = toy_regression()
        project = Project(name="toy")
        project.model = make_template("mlp-regression", prepared.input_shape, "regression")
        project.training.epochs = epochs
        project.training.batch_size = 32
        for k, v in training.items():
            setattr(project.training, k, v)
        if save:
            project.save(tmp_path / "toy.nnproj")
        w.session.set_project(project)
        w.session.set_prepared(prepared)
        w.show_panel("train")
        panel = w.panels["train"]
        assert not panel.is_missing_shown
        return w, panel
    return make


def test_start_trains_records_and_plots_one_point_per_epoch(train_window, qtbot, tmp_path):
    w, panel = train_window(epochs=3)
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
        assert panel.is_training and not panel.start_button.isEnabled()
    record = sig.args[0]
    assert record.status == "completed" and record.epochs_run == 3
    qtbot.waitUntil(lambda: not panel.job.running, timeout=30_000)
    x, y = panel.plots.plot_item("loss").getData()
    assert list(x) == [1, 2, 3]
    assert np.allclose(y, record.history["loss"])
    vx, vy = panel.plots.plot_item("val_loss").getData()
    assert len(vx) == 3 and np.allclose(vy, record.history["val_loss"])
    # the template's metric gets its own plot, with its validation twin
    assert len(panel.plots.plot_item("mae").getData()[0]) == 3
    assert "Mean absolute error" in panel.plots.plot_titles()
    # the run list shows the run with its best validation loss
    row = panel.run_row(record.id)
    assert row[:3] == [record.id, "completed", "3"]
    assert row[3] == f"{record.history['val_loss'][record.best_epoch]:.4g}"
    # saved with the run, and the buttons are back
    on_disk = json.loads((tmp_path / "toy.nnproj").read_text())
    assert [r["id"] for r in on_disk["runs"]] == [record.id]
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.settings_box.isEnabled()
    assert panel.messages.is_shown("run") and "completed" in panel.messages.text("run")


def test_stop_ends_a_long_run_as_stopped_and_keeps_the_model(train_window, qtbot, tmp_path):
    w, panel = train_window(epochs=5000, early_stopping=False)
    assert panel.start()
    with qtbot.waitSignal(panel.job.partial, timeout=60_000):   # at least one epoch done
        pass
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    record = sig.args[0]
    assert record.status == "stopped"
    assert 1 <= record.epochs_run < 5000
    assert w.session.project.model_path(record) == tmp_path / "toy" / "runs" / record.id / "model.keras"
    assert w.session.project.model_path(record).exists()
    assert panel.run_row(record.id)[1] == "stopped"
    assert panel.state_label.text() == "Stopped"


def test_pause_blocks_the_worker_then_resume_continues(train_window, qtbot):
    w, panel = train_window(epochs=5000, early_stopping=False)
    assert panel.start()
    with qtbot.waitSignal(panel.job.batch, timeout=60_000):
        pass
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.job.paused and panel.pause_button.text() == "Resume"
    # the worker tells us when it is really blocked inside the batch hook
    with qtbot.waitSignal(panel.job.message, timeout=30_000, check_params_cb=lambda t: t == "Paused."):
        pass
    panel._update_progress()
    assert panel.state_label.text().startswith("Paused")
    steps = []
    panel.job.batch.connect(lambda d: steps.append(d["step"]))
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert not panel.job.paused and panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30_000)   # batches flow again
    assert steps[1] > steps[0]
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        panel.stop()
    assert sig.args[0].status == "stopped"


def test_start_without_saved_project_asks_to_save(train_window, qtbot):
    _w, panel = train_window(save=False)
    assert panel.start() is False           # the save dialog was cancelled
    assert panel.job is None and not panel.is_training
    assert panel.messages.is_shown("save-first")
    assert "save the project first" in panel.messages.text("save-first")


def test_start_of_an_unsaved_project_saves_then_trains_in_one_flow(train_window, qtbot, tmp_path):
    w, panel = train_window(epochs=1, save=False)
    asked = []
    w.choose_save_path = lambda title="": asked.append(title) or str(tmp_path / "chosen" / "toy.nnproj")
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000) as sig:
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert asked and "runs are kept in its folder" in asked[0]
    assert w.session.project.path == tmp_path / "chosen" / "toy.nnproj"
    assert sig.args[0].status == "completed"
    assert not panel.messages.is_shown("save-first")
    assert (tmp_path / "chosen" / "toy" / "runs" / sig.args[0].model_path).exists()


def test_settings_edits_reach_the_project(train_window, qtbot):
    w, panel = train_window(epochs=3)
    project = w.session.project
    seen = []
    project.changed.connect(seen.append)
    project.dirty = False
    panel.epochs_spin.setValue(12)
    panel.batch_spin.setValue(64)
    panel.lr_edit.setText("3e-4")
    panel.patience_spin.setValue(5)
    panel.reduce_check.setChecked(True)
    panel.reduce_factor_spin.setValue(0.25)
    panel.seed_spin.setValue(7)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    panel.tensorboard_check.setChecked(True)
    t = project.training
    assert (t.epochs, t.batch_size, t.learning_rate, t.patience) == (12, 64, 3e-4, 5)
    assert (t.reduce_lr, t.reduce_lr_factor, t.seed, t.device, t.tensorboard) == (True, 0.25, 7, "cpu", True)
    assert project.dirty and set(seen) == {"training"} and len(seen) == 9
    # blank learning rate = the model's own; nonsense is refused with a message
    panel.lr_edit.setText("")
    assert t.learning_rate is None
    assert panel.lr_edit.placeholderText() == "model's: 0.001"
    panel.lr_edit.setText("-1")
    assert t.learning_rate is None and panel.messages.is_shown("settings")
    panel.lr_edit.setText("0.01")
    assert t.learning_rate == 0.01 and not panel.messages.is_shown("settings")
    # patience is only editable with early stopping on
    panel.early_check.setChecked(False)
    assert t.early_stopping is False and not panel.patience_spin.isEnabled()


def test_gpu_choices_disabled_without_gpus(train_window):
    w, panel = train_window()
    assert w.session.tf_info["gpus"] == []
    gpu = panel.device_combo.model().item(panel.device_combo.findData("gpu"))
    assert not gpu.isEnabled()
    assert "No GPU" in gpu.toolTip()
    assert not panel.mixed_check.isEnabled()
    assert panel.device_label.text() == "CPU"


def test_gpu_choices_enabled_with_gpus(train_window):
    w, panel = train_window()
    w.session.tf_info = dict(w.session.tf_info, gpus=["NVIDIA H100"], device="GPU: NVIDIA H100")
    panel.on_tf_ready(w.session.tf_info)
    assert panel.device_combo.model().item(2).isEnabled()
    assert panel.mixed_check.isEnabled()
    assert panel.device_label.text() == "GPU: NVIDIA H100"


def test_earlier_runs_overlay_and_selection_shows_their_curves(train_window, qtbot):
    from nnstudio.core.training.config import RunRecord

    w, panel = train_window()
    project = w.session.project
    for i, losses in enumerate(([4.0, 2.0, 1.0], [3.0, 1.5])):
        project.add_run(RunRecord(id=f"run-{i + 1:04d}", started="2025-01-01T00:00:00", settings={},
                                  model={}, status="completed", epochs_run=len(losses),
                                  history={"loss": losses, "val_loss": [v + 0.5 for v in losses]},
                                  best_epoch=len(losses) - 1, duration_s=65.0))
    panel.refresh()
    assert panel.run_ids() == ["run-0002", "run-0001"]
    assert panel.run_row("run-0001") == ["run-0001", "completed", "3", "1.5", "1:05"]
    # the active (newest) run is shown; selecting another shows its curves
    assert list(panel.plots.plot_item("loss").getData()[1]) == [3.0, 1.5]
    panel.run_table.table.selectRow(1)   # a click on the second run
    assert list(panel.plots.plot_item("loss").getData()[1]) == [4.0, 2.0, 1.0]
    # ticking a run overlays it faintly
    panel.set_overlay("run-0002", True)
    assert panel.plots.overlay_ids == ["run-0002"]
    assert "run-0002 val_loss 2" in panel.plots.show_readout(2)
    panel.set_overlay("run-0002", False)
    assert panel.plots.overlay_ids == []


def test_hidden_panel_catches_up_when_shown(train_window):
    from nnstudio.core.training.config import RunRecord

    w, panel = train_window()
    w.show_panel("model")
    record = RunRecord(id="run-0001", started="2025-01-01T00:00:00", settings={}, model={},
                       status="completed", epochs_run=2, history={"loss": [2.0, 1.0]}, best_epoch=1)
    w.session.project.add_run(record)
    w.session.run_finished.emit(record)
    assert panel.run_ids() == []          # hidden: the run list waits …
    w.show_panel("train")
    assert panel.run_ids() == ["run-0001"]   # … until the panel is shown
    assert panel.run_row("run-0001")[:4] == ["run-0001", "completed", "2", "1 (train)"]


def test_one_run_list_under_the_curves_with_one_best_val_loss(train_window, qtbot):
    from PySide6.QtWidgets import QTreeWidget

    from nnstudio.core.training.config import RunRecord

    w, panel = train_window()
    project = w.session.project
    # run-0001 was best at its second epoch (kept by early stopping), not at its last; run-0002
    # had no validation split
    project.add_run(RunRecord(id="run-0001", started="2025-01-01T00:00:00", settings={}, model={},
                              status="completed", epochs_run=3,
                              history={"loss": [3.0, 2.0, 1.0], "val_loss": [3.0, 1.25, 2.0]}, best_epoch=1,
                              final={"loss": 2.0, "val_loss": 1.25}))
    project.add_run(RunRecord(id="run-0002", started="2025-01-02T00:00:00", settings={}, model={},
                              status="stopped", epochs_run=2, history={"loss": [2.0, 0.5]}, best_epoch=1,
                              message="Stopped by request after 2 epochs; the weights are kept."))
    panel.refresh()
    # one list of runs, in the tab with the curves
    assert [panel.tabs.tabText(i) for i in range(panel.tabs.count())] == ["Curves and runs", "Repeat", "Sweep"]
    assert panel.tabs.widget(0).isAncestorOf(panel.run_table) and not panel.findChildren(QTreeWidget)
    # "Best val loss": the validation loss at the best epoch, whose weights the run kept
    table = panel.run_table
    assert table.row_texts("run-0001")["Best val loss"] == "1.25"
    assert table.row_texts("run-0002")["Best val loss"] == "0.5 (train)"
    assert panel.run_row("run-0001") == ["run-0001", "completed", "3", "1.25", "0:00"]
    head = table.table.horizontalHeaderItem(table.headers().index("Best val loss")).toolTip()
    assert "best epoch" in head and head == table.cell("run-0001", "Best val loss").toolTip()
    assert "Stopped by request" in table.cell("run-0002", "Status").toolTip()
    # the newest run is selected and shown; a click on another shows its curves
    assert table.selected_ids() == ["run-0002"]
    assert list(panel.plots.plot_item("loss").getData()[1]) == [2.0, 0.5]
    table.table.selectRow(table.row_ids().index("run-0001"))
    assert list(panel.plots.plot_item("val_loss").getData()[1]) == [3.0, 1.25, 2.0]
    # a tick overlays; selection and ticks survive a refresh (an edit of a name)
    table.cell("run-0002", "Run").setCheckState(Qt.Checked)
    assert panel.plots.overlay_ids == ["run-0002"] and panel.checked_runs() == ["run-0002"]
    table.cell("run-0001", "Name").setText("early best")
    assert project.run("run-0001").name == "early best"
    assert table.selected_ids() == ["run-0001"] and panel.checked_runs() == ["run-0002"]
    assert panel.plots.overlay_ids == ["run-0002"]
    assert list(panel.plots.plot_item("val_loss").getData()[1]) == [3.0, 1.25, 2.0]


def test_the_run_in_training_is_listed_as_running(train_window, qtbot):
    w, panel = train_window(epochs=5000, early_stopping=False)
    assert panel.start()
    run_id = panel.live.state["run_id"]
    assert panel.run_ids() == [run_id]
    assert panel.run_row(run_id)[:2] == [run_id, "running…"]
    assert not panel.run_table.cell(run_id, "Run").flags() & Qt.ItemIsUserCheckable
    panel.run_table.select([run_id])   # nothing to hide or delete yet
    assert not panel.run_table.hide_button.isEnabled() and not panel.run_table.delete_button.isEnabled()
    with qtbot.waitSignal(panel.job.partial, timeout=60_000):
        pass
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000):
        panel.stop()
    assert panel.run_row(run_id)[:2] == [run_id, "stopped"]
    assert panel.run_table.cell(run_id, "Run").flags() & Qt.ItemIsUserCheckable


def test_live_plot_throttles_and_log_scale(qtbot):
    from nnstudio.gui.panels.train.live_plot import SMOOTHING, LivePlots
    from nnstudio.gui.theme import configure_pyqtgraph

    configure_pyqtgraph()
    plots = LivePlots()
    qtbot.addWidget(plots)
    for step in range(500):          # a flood of batch reports …
        plots.add_batch(step / 100, 1.0 / (1 + step))
    plots.add_epoch(0, {"loss": 0.5, "val_loss": 0.6, "learning_rate": 1e-3})
    assert plots.redraw_count == 0   # … is drawn once, by the timer
    with qtbot.waitSignal(plots.redrawn, timeout=2_000):
        pass
    assert plots.redraw_count == 1
    assert len(plots.batch_raw_item.getData()[0]) == 500
    assert "learning_rate" not in plots.keys
    # smoothed curve: exponential average starting at the first loss
    sy = plots.batch_smooth_item.getData()[1]
    assert sy[0] == 1.0 and sy[1] == pytest.approx(SMOOTHING * 1.0 + (1 - SMOOTHING) * 0.5)
    plots.set_log_y(True)
    assert plots.plot_item("loss").opts["logMode"][1] is True
    assert plots.show_readout(1) == "epoch 1 · loss 0.5 · val_loss 0.6"


def test_shutdown_stops_training_cleanly(train_window, qtbot, tmp_path):
    _w, panel = train_window(epochs=5000, early_stopping=False)
    assert panel.start()
    with qtbot.waitSignal(panel.job.partial, timeout=60_000):
        pass
    from PySide6.QtCore import QThreadPool

    panel.shutdown()
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    on_disk = json.loads((tmp_path / "toy.nnproj").read_text())
    assert [r["status"] for r in on_disk["runs"]] == ["stopped"]


def test_a_regression_loss_is_labelled_as_on_the_standardised_target(train_window, qtbot):
    from nnstudio.core.examples.synthetic import toy_classification

    w, panel = train_window(epochs=1)
    assert "Loss (on the standardised target)" in panel.plots.plot_titles()
    w.session.set_prepared(toy_classification(300))
    panel.refresh()
    assert "Loss" in panel.plots.plot_titles()
    assert "Loss (on the standardised target)" not in panel.plots.plot_titles()


def test_epochs_that_end_several_times_a_second_redraw_the_epoch_plots_once_a_second(qtbot, monkeypatch):
    from nnstudio.gui.panels.train import live_plot
    from nnstudio.gui.theme import configure_pyqtgraph

    configure_pyqtgraph()
    plots = live_plot.LivePlots()
    qtbot.addWidget(plots)
    clock = [100.0]
    monkeypatch.setattr(live_plot.time, "monotonic", lambda: clock[0])
    item = plots._items["loss"]
    plots.add_epoch(0, {"loss": 0.5, "val_loss": 0.6})
    plots.redraw()
    assert len(item.getData()[0]) == 1                         # the first epoch at once
    clock[0] += 0.3
    plots.add_epoch(1, {"loss": 0.4, "val_loss": 0.5})
    plots.add_batch(1.5, 0.45)
    plots.redraw()
    assert len(item.getData()[0]) == 1                         # the epoch waits …
    assert len(plots.batch_raw_item.getData()[0]) == 1         # … the batch curve does not
    assert plots._timer.isActive() and plots._timer.interval() <= live_plot.REDRAW_MS
    clock[0] += 0.8
    plots.redraw()
    assert len(item.getData()[0]) == 2                         # due: every epoch since
    plots.add_epoch(2, {"loss": 0.3, "val_loss": 0.4})
    plots.flush()                                              # the end of a run draws at once
    assert len(item.getData()[0]) == 3
