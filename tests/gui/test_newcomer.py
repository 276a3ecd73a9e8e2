"""The window as a newcomer meets it: nothing lost by an obvious click (Open Data on a trained
project asks, quit questions default to the safe choice, no raw exception text), the decision
threshold reaches every view and survives reopening, the last project reopens, Open Recent tells
same-named files apart, and MC dropout is offered only to a model with dropout."""
import numpy as np
import pytest
from binary_states import open_state, synthetic_binary, wait_result
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from nnstudio.core.project import Project


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tensorflow):
    """A saved project with one run trained on synthetic binary data (a model without dropout)."""
    from nnstudio.core.model import make_template
    from nnstudio.core.workflow import train_project

    prepared = synthetic_binary()
    project = Project(name="cancer")
    project.model = make_template("dense", (4,), "classification", 2)
    project.save(tmp_path_factory.mktemp("cancer") / "cancer.nnproj")
    train_project(project, epochs=2, prepared=prepared)
    project.save()
    return project.path, prepared


def _csv(path, columns=("x1", "x2", "x3", "size"), n=120):
    rng = np.random.default_rng(1)
    rows = [",".join(columns)] + [",".join(f"{v:.4f}" for v in rng.normal(size=len(columns))) for _ in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


# -- 1. nothing lost by an obvious click ---------------------------------------------------------------

def test_open_data_on_a_trained_project_asks_and_cancel_changes_nothing(make_window, trained, tmp_path):
    w = open_state(make_window, *trained)
    asked = []
    w.ask = lambda title, text, buttons=(), default=None: asked.append((title, text, buttons, default)) or "Cancel"
    before = w.session.project
    assert w.open_path(str(_csv(tmp_path / "other.csv"))) is False
    title, text, buttons, default = asked[0]
    assert title == "Open data" and "1 trained run" in text and "other.csv" in text
    assert buttons == ("New Project", "Replace Data", "Cancel") and default == "New Project"
    assert w.session.project is before and w.session.prepared is trained[1]


def test_open_data_as_a_new_project_leaves_the_trained_one_whole(make_window, trained, tmp_path, qtbot):
    w = open_state(make_window, *trained, answers={"Open data": "New Project"})
    old = w.session.project
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000,
                          check_params_cb=lambda *a: w.session.prepared is not None):
        assert w.open_path(str(_csv(tmp_path / "other.csv")))
    assert w.session.project is not old and not w.session.project.runs
    assert w.session.project.data.path.endswith("other.csv")
    reopened = Project.load(trained[0])
    assert [r.id for r in reopened.runs] == ["run-0001"] and reopened.data is None


def test_replaced_data_keeps_the_runs_and_the_old_model_is_refused_in_one_sentence(make_window, trained, tmp_path,
                                                                                     qtbot):
    w = open_state(make_window, *trained, answers={"Open data": "Replace Data"})
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000,
                          check_params_cb=lambda *a: w.session.prepared is not None):
        assert w.open_path(str(_csv(tmp_path / "other.csv")))
    assert [r.id for r in w.session.project.runs] == ["run-0001"]
    for key in ("diagnostics", "uncertainty"):
        panel = w.panels[key]
        w.show_panel(key)
        qtbot.waitUntil(lambda p=panel: p.messages.is_shown("error"), timeout=30_000)
        text = panel.messages.text("error")
        assert text == ("run-0001 was trained on 4 input columns, but the data now gives 3 input columns: "
                        "open the data it was trained on, or train a new model.")
        assert panel.job is None or not panel.job.running


def test_quit_with_unsaved_changes_defaults_to_cancel(make_window, tmp_path, monkeypatch):
    from nnstudio.gui.window import MainWindow

    w = make_window()
    w.session.project.save(tmp_path / "good.nnproj")
    good = (tmp_path / "good.nnproj").read_text()
    w.session.project.mark_changed("data")
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or 0)   # as if Enter were pressed
    w.ask = MainWindow.ask.__get__(w)
    assert not w.close()
    box = shown[0]
    assert box.defaultButton().text() == "Cancel" and box.escapeButton().text() == "Cancel"
    assert [b.text() for b in box.buttons()] == ["Save", "Discard", "Cancel"]
    assert (tmp_path / "good.nnproj").read_text() == good and w.isVisible()
    w.ask = lambda *a, **k: "Discard"


def test_no_raw_exception_text_or_colour_codes_reach_a_message(make_window):
    from nnstudio.errors import NnstudioError

    w = make_window()
    panel = w.panels["diagnostics"]
    panel.show_error(ValueError("\x1b[1m\x1b[31mInput 0 of layer \"dense\" is incompatible: expected "
                                "axis -1 of input shape to have value 4\x1b[0m"))
    text = panel.messages.text("error")
    assert "\x1b" not in text and "incompatible" not in text and "[31m" not in text
    assert text.startswith("Something went wrong") and "ValueError" in text and "log" in text
    panel.show_error(NnstudioError("\x1b[31mThe file is empty.\x1b[0m\n\n   Open another."))
    assert panel.messages.text("error") == "The file is empty. Open another."


# -- 4. the threshold reaches every view -----------------------------------------------------------------

def test_threshold_is_the_projects_and_reaches_uncertainty_report_and_reopening(make_window, trained, qtbot,
                                                                                  tmp_path):
    from nnstudio.core.evaluation import predicted_labels
    from nnstudio.core.workflow.report import report_context

    w = open_state(make_window, *trained)
    diag = w.panels["diagnostics"]
    w.show_panel("diagnostics")
    result = wait_result(qtbot, diag)
    assert diag.threshold == 0.5 and w.session.project.decision.threshold is None
    diag.set_threshold(0.109)
    rule = w.session.project.decision
    assert (rule.positive, rule.threshold, rule.split) == (1, 0.109, "test")
    assert w.session.project.dirty and w.isWindowModified()
    assert diag.messages.is_shown("decision") and "test split" in diag.messages.text("decision")
    expected = predicted_labels(result.arrays["proba"], 0.109, 1)
    assert not np.array_equal(expected, predicted_labels(result.arrays["proba"], 0.5, 1))
    # the Uncertainty table names the same class for every sample
    unc = w.panels["uncertainty"]
    w.show_panel("uncertainty")
    wait_result(qtbot, unc)
    a = unc.result.uncertainty.arrays
    np.testing.assert_array_equal(unc.predicted(a), expected)
    model = unc.browser.model
    shown = dict(zip(model.column("row").astype(int), model.column("predicted")))
    names = np.array(result.class_names)
    assert len(shown) == len(expected)
    assert all(shown[int(r)] == names[e] for r, e in zip(a["index"], expected))
    assert "conformal set" in model.names
    # the HTML report (its confusion matrix and notes) is at the project's threshold
    ctx = report_context(w.session.project, result, trained[1])
    assert ctx["classification"].threshold == pytest.approx(0.109)
    assert any("0.109" in n and "test split" in n for n in ctx["notes"])
    # saved, reopened: the slider comes back where it was left
    w.save()
    w2 = make_window()
    w2.open_path(str(trained[0]))
    w2.session.set_prepared(trained[1])
    d2 = w2.panels["diagnostics"]
    w2.show_panel("diagnostics")
    wait_result(qtbot, d2)
    assert d2.threshold == pytest.approx(0.109) and d2.threshold_slider.value() == pytest.approx(0.109)
    w2.session.project.decision = type(rule)()
    w2.save()


# -- 5. MC dropout needs dropout; 9. the Compute button stays put ----------------------------------------

def test_mc_dropout_greyed_out_with_its_reason_and_compute_does_not_move(make_window, trained, qtbot):
    w = open_state(make_window, *trained)
    panel = w.panels["uncertainty"]
    w.show_panel("uncertainty")
    item = panel.method_combo.model().item(panel.method_combo.findData("mc_dropout"))
    assert not item.isEnabled()
    assert "no Dropout layer" in item.toolTip() and "run-0001" in item.toolTip()
    x = []
    for method in ("auto", "ensemble", "heteroscedastic", "auto"):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData(method))
        panel.layout().activate()
        QApplication.sendPostedEvents(None, QEvent.LayoutRequest)
        x.append(panel.compute_button.mapTo(panel, panel.compute_button.rect().topLeft()).x())
    assert len(set(x)) == 1


# -- 6, 7. finding the way back ---------------------------------------------------------------------------

def test_last_project_reopens_unless_turned_off(make_window, tmp_path, qsettings):
    Project(name="lenses").save(tmp_path / "lenses.nnproj")
    w = make_window()
    w.open_path(str(tmp_path / "lenses.nnproj"))
    assert w.act_reopen.isChecked()
    w2 = make_window()
    assert w2.session.project.name == "lenses" and w2.session.project.path == tmp_path / "lenses.nnproj"
    w2.act_reopen.setChecked(False)
    w3 = make_window()
    assert w3.session.project.path is None


def test_open_recent_shows_folders_and_drops_missing_files(make_window, tmp_path):
    w = make_window()
    paths = []
    for folder in ("a", "b", "c"):
        p = tmp_path / folder / "galaxy-mass.nnproj"
        Project(name="galaxy-mass").save(p)
        paths.append(p)
    gone = tmp_path / "gone.nnproj"
    Project(name="gone").save(gone)
    for p in [gone, *paths]:
        w.add_recent(str(p))
    gone.unlink()
    w._rebuild_recent_menu()
    labels = [a.text() for a in w.recent_menu.actions() if a.text() and a.text() != "Clear List"]
    assert len(labels) == 3 and len(set(labels)) == 3
    assert all(label.startswith("galaxy-mass.nnproj — ") for label in labels)
    assert labels[0].endswith("/c") and labels[2].endswith("/a")
    assert str(gone) not in w.recent_files()


# -- 8. Apply says what it did ------------------------------------------------------------------------------

def test_apply_says_what_changed_or_that_nothing_did(make_window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    w = make_window()
    panel = w.panels["data"]
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000,
                          check_params_cb=lambda *a: w.session.prepared is not None):
        w.open_path(str(_csv(tmp_path / "sizes.csv")))
    qtbot.waitUntil(lambda: not panel.job.running, timeout=60_000)
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000):
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    assert panel.messages.text("applied") == "Prepared again with the same choices: nothing changed."
    qtbot.waitUntil(lambda: not panel.job.running, timeout=60_000)
    panel.seed_spin.setValue(7)
    panel.columns.set_checked("x3", False)
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000):
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    text = panel.messages.text("applied")
    assert text.startswith("Prepared again: ") and "inputs removed: x3" in text and "split seed 0 → 7" in text
