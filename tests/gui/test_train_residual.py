"""The Train step's "learn what the formula misses" switch."""
from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.model import make_template
from nnstudio.core.project import PhysicsSettings, Project


def _window(make_window, tmp_path, formula):
    w = make_window()
    prepared = toy_regression()
    project = Project(name="toy")
    project.model = make_template("mlp-regression", prepared.input_shape, "regression")
    project.training.epochs = 3
    project.physics = PhysicsSettings(formula)
    project.save(tmp_path / "toy.nnproj")
    w.session.set_project(project)
    w.session.set_prepared(prepared)
    w.show_panel("train")
    return w, w.panels["train"]


def test_the_switch_needs_a_formula(make_window, tmp_path):
    _w, panel = _window(make_window, tmp_path, None)
    assert not panel.residual_check.isEnabled() and "Set a formula first" in panel.residual_check.toolTip()


def test_a_residual_run_trains_from_the_window(make_window, tmp_path, qtbot):
    w, panel = _window(make_window, tmp_path, "k + m*a + n*b")
    assert panel.residual_check.isEnabled() and "k + m*a + n*b" in panel.residual_check.toolTip()
    panel.residual_check.setChecked(True)
    project = w.session.project
    assert project.training.residual is True and project.dirty
    with qtbot.waitSignal(w.session.run_finished, timeout=60_000):
        panel.start_button.click()
    record = project.runs[-1]
    assert record.status == "completed" and record.settings["residual"] is True
    from nnstudio.core.workflow.train import load_run_model

    assert any(type(la).__name__ == "FormulaOffset" for la in load_run_model(project, record).layers)


def test_augmentation_and_class_weights_are_training_settings(make_window, tmp_path):
    w, panel = _window(make_window, tmp_path, None)
    project = w.session.project
    assert panel.augment_combo.currentData() == "auto" and panel.weight_combo.currentData() == "auto"
    panel.augment_combo.setCurrentIndex(panel.augment_combo.findData("none"))
    panel.weight_combo.setCurrentIndex(panel.weight_combo.findData("balanced"))
    assert (project.training.augmentation, project.training.class_weight) == ("none", "balanced")
    assert "handedness" in panel.augment_combo.toolTip()


def test_the_learning_rate_schedule_is_a_training_setting(make_window, tmp_path):
    w, panel = _window(make_window, tmp_path, None)
    project = w.session.project
    assert panel.schedule_combo.currentData() == "auto" == project.training.schedule
    panel.schedule_combo.setCurrentIndex(panel.schedule_combo.findData("constant"))
    assert project.training.schedule == "constant"
    assert "full length" in panel.schedule_combo.toolTip()
    assert panel.patience_spin.isEnabled() and panel.reduce_check.isEnabled()
    panel.schedule_combo.setCurrentIndex(panel.schedule_combo.findData("cosine"))
    assert not panel.patience_spin.isEnabled() and not panel.reduce_check.isEnabled()
    assert "full length" in panel.patience_spin.toolTip()
