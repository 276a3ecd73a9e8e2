"""Both lessons driven start to finish through the real widgets: Help ▸ Lessons, the panels' own
buttons, menus, tabs and slider; each step unlocks only when its check holds. With
NNSTUDIO_LESSON_SHOTS=DIR every step is rendered (the window with the dock beside the panel)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from nnstudio.core.project import Project

SHOTS = os.environ.get("NNSTUDIO_LESSON_SHOTS")


@pytest.fixture
def lesson_home(tmp_path, monkeypatch):
    """Progress and lesson copies go to this test's own state folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)
    return tmp_path / "state" / "nnstudio"


def open_from_help_menu(w, qtbot, lesson_id):
    w._fill_lessons_menu()
    titles = {a.text(): a for a in w.lessons_menu.actions()}
    from nnstudio.core.lessons import get_lesson

    titles[get_lesson(lesson_id).title].trigger()
    qtbot.waitUntil(lambda: w.lesson_dock is not None, timeout=60_000)
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    return w.lesson_dock


def click_tab(qtbot, tabs, title):
    bar = tabs.tabBar()
    i = next(k for k in range(tabs.count()) if tabs.tabText(k) == title)
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(i).center())
    assert tabs.currentIndex() == i


def shot(w, lesson, i, when="a"):
    """``a``: the step as it opens; ``b``: done, on the panel the learner worked in."""
    if SHOTS:
        d = Path(SHOTS)
        d.mkdir(parents=True, exist_ok=True)
        w.grab().save(str(d / f"{lesson}-{i + 1:02d}{when}-{w.lesson_dock.lesson.steps[i].id}.png"))


def finish_step(qtbot, w, dock, step_id, act, lesson):
    """The step is locked until ``act`` has been done through the widgets, then Next moves on."""
    assert dock.step.id == step_id
    i = dock.index
    dock.poll()
    shot(w, lesson, i)
    assert not dock.is_done(i) and not dock.next_button.isEnabled(), f"{step_id} was done before its action"
    assert "Waiting for" in dock.status_text()
    act()
    qtbot.waitUntil(lambda: dock.is_done(i), timeout=90_000)
    assert "Done" in dock.status_text()
    shot(w, lesson, i, "b")
    if i + 1 < len(dock.lesson.steps):
        assert dock.next_button.isEnabled()
        qtbot.mouseClick(dock.next_button, Qt.LeftButton)
        assert dock.index == i + 1


def train_briefly(qtbot, w, epochs=2):
    train = w.panels["train"]
    w.show_panel("train")
    train.epochs_spin.setValue(epochs)
    with qtbot.waitSignal(w.session.run_finished, timeout=120_000):
        qtbot.mouseClick(train.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not train.busy, timeout=30_000)


def test_galaxy_mass_lesson_start_to_finish(make_window, qtbot, lesson_home, tmp_path):
    w = make_window()
    own = tmp_path / "mine" / "mine.nnproj"
    Project(name="mine").save(own)
    w.open_path(str(own))
    own_text = own.read_text()
    w.show_panel("predict")
    dock = open_from_help_menu(w, qtbot, "galaxy-mass")
    assert w.current_panel_key() == "data"          # the first step's panel, not the one left open
    w.resize(1500, 900)
    assert w.session.project.path.is_relative_to(lesson_home / "lessons" / "galaxy-mass")
    # the lesson starts from a straight-line fit: only the output layer
    assert [layer.class_name for layer in w.session.project.model.layers] == ["Dense"]
    model = w.panels["model"]

    # the data step holds as soon as the table is in: it is done on arrival
    qtbot.waitUntil(lambda: dock.is_done(0), timeout=30_000)
    shot(w, "galaxy-mass", 0)
    qtbot.mouseClick(dock.show_button, Qt.LeftButton)
    assert w.current_panel_key() == "data"
    qtbot.mouseClick(dock.next_button, Qt.LeftButton)

    def insert_dense():
        qtbot.mouseClick(dock.show_button, Qt.LeftButton)      # "Show me: Model"
        assert w.current_panel_key() == "model"
        # a newcomer's slip: Add layer puts the Dense after the output layer; not done, and the dock says why
        next(a for a in model.add_menu.actions() if a.data() == "Dense").trigger()
        assert [layer.config["units"] for layer in w.session.project.model.layers] == [1, 32]
        dock.poll()
        assert not dock.is_done(1) and "no red row" in dock.status_text()
        qtbot.mouseClick(model.undo_button, Qt.LeftButton)
        next(a for a in model.insert_menu.actions() if a.data() == "Dense").trigger()
    finish_step(qtbot, w, dock, "dense", insert_dense, "galaxy-mass")
    assert [layer.class_name for layer in w.session.project.model.layers] == ["Dense", "Dense"]

    def sigmoid():
        t = model.table
        qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=t.visualRect(t.table_model.index(1, 0)).center())
        combo = model.form.widget("activation")
        combo.setCurrentIndex(combo.findData("sigmoid"))
    finish_step(qtbot, w, dock, "activation", sigmoid, "galaxy-mass")
    assert w.session.project.model.layers[0].config["activation"] == "sigmoid"

    finish_step(qtbot, w, dock, "loss", lambda: click_tab(qtbot, model.tabs, "Diagram"), "galaxy-mass")
    finish_step(qtbot, w, dock, "train", lambda: train_briefly(qtbot, w), "galaxy-mass")
    diag = w.panels["diagnostics"]
    finish_step(qtbot, w, dock, "residuals", lambda: qtbot.mouseClick(dock.show_button, Qt.LeftButton),
                "galaxy-mass")
    assert diag.result is not None and diag.result.split == "test"
    finish_step(qtbot, w, dock, "physics", lambda: click_tab(qtbot, diag.side_tabs, "Beside the network"),
                "galaxy-mass")
    finished = []
    dock.finished.connect(lambda: finished.append(True))
    finish_step(qtbot, w, dock, "uncertainty", lambda: qtbot.mouseClick(dock.show_button, Qt.LeftButton),
                "galaxy-mass")
    assert finished and not dock.next_button.isEnabled() and "last step" in dock.status_text()
    # progress is remembered per user, on disk
    saved = json.loads((lesson_home / "lessons.json").read_text())["lessons"]["galaxy-mass"]
    assert saved["finished"] and len(saved["done"]) == 8
    # the learner's own project was never written
    assert own.read_text() == own_text


def test_strong_lens_lesson_start_to_finish(make_window, qtbot, lesson_home):
    w = make_window()
    dock = open_from_help_menu(w, qtbot, "strong-lens")
    w.resize(1500, 900)
    assert [layer.class_name for layer in w.session.project.model.layers] == ["Flatten", "Dense"]
    model, diag = w.panels["model"], w.panels["diagnostics"]
    # the cutouts step holds as soon as the images are in: it is done on arrival
    qtbot.waitUntil(lambda: dock.is_done(0), timeout=30_000)
    shot(w, "strong-lens", 0)
    qtbot.mouseClick(dock.next_button, Qt.LeftButton)

    def small_cnn():
        w.show_panel("model")
        model.template_combo.setCurrentIndex(model.template_combo.findData("small-cnn"))
        qtbot.mouseClick(model.apply_template_button, Qt.LeftButton)
    finish_step(qtbot, w, dock, "cnn", small_cnn, "strong-lens")
    finish_step(qtbot, w, dock, "params", lambda: click_tab(qtbot, model.tabs, "Parameter budget"), "strong-lens")
    finish_step(qtbot, w, dock, "train", lambda: train_briefly(qtbot, w), "strong-lens")
    finish_step(qtbot, w, dock, "confusion", lambda: w.show_panel("diagnostics"), "strong-lens")
    qtbot.waitUntil(lambda: diag.result is not None, timeout=60_000)

    def move_threshold():
        diag.threshold_slider.setValue(0.3)
    finish_step(qtbot, w, dock, "roc", move_threshold, "strong-lens")
    assert w.session.project.decision.threshold == pytest.approx(0.3)
    finish_step(qtbot, w, dock, "calibration", lambda: w.show_panel("uncertainty"), "strong-lens")

    def challenges():
        w.show_panel("diagnostics")
        click_tab(qtbot, diag.side_tabs, "Metrics")
        qtbot.mouseClick(diag.mistakes_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: diag.browser.explain_button.isVisible(), timeout=30_000)
        qtbot.mouseClick(diag.browser.explain_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: diag.browser.explain_view.result is not None, timeout=90_000)
        click_tab(qtbot, diag.side_tabs, "Beside the network")
    finish_step(qtbot, w, dock, "challenges", challenges, "strong-lens")
    assert dock.progress.finished


def test_unsaved_project_asks_first_and_cancel_keeps_it(make_window, qtbot, lesson_home, tmp_path):
    w = make_window()
    asked = []
    w.ask = lambda title, text, buttons=(), default=None: asked.append((title, buttons, default)) or "Cancel"
    project = w.session.project
    project.name = "unsaved work"
    project.mark_changed("data")
    assert w.start_lesson("galaxy-mass") is None
    assert asked == [("Unsaved changes", ("Save", "Discard", "Cancel"), "Cancel")]
    assert w.session.project is project and project.dirty and w.lesson_dock is None
    assert not (lesson_home / "lessons").exists()


def test_progress_is_remembered_and_restart_begins_again(make_window, qtbot, lesson_home):
    from nnstudio.core.lessons import LessonProgress, load_progress, save_progress

    save_progress("galaxy-mass", LessonProgress(step=2, done=["data", "dense"]))
    w = make_window()
    job = w.start_lesson("galaxy-mass")
    qtbot.waitUntil(lambda: w.lesson_dock is not None, timeout=60_000)
    dock = w.lesson_dock
    assert job.done and dock.index == 2 and dock.step.id == "activation"
    assert "Step 3 of 8" in dock.count_label.text()
    # a later, still locked step cannot be jumped to; an earlier, done one can
    dock._jump(6)
    assert dock.index == 2
    dock._jump(0)
    assert dock.index == 0
    # restart: a fresh copy of the example, progress forgotten, step 1
    w.session.project.name = "changed in the lesson"
    w.session.project.mark_changed("data")
    qtbot.mouseClick(dock.restart_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.lesson_dock is not None and w.lesson_dock is not dock, timeout=60_000)
    assert w.lesson_dock.index == 0 and w.session.project.name != "changed in the lesson"
    assert load_progress()["galaxy-mass"].done in ([], ["data"])
    # closing the dock and choosing the lesson again brings it back on the project already open
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    prepared, old = w.session.prepared, w.lesson_dock
    old.close()
    assert not old.timer.isActive()
    w.start_lesson("galaxy-mass")
    qtbot.waitUntil(lambda: w.lesson_dock is not None and w.lesson_dock is not old, timeout=60_000)
    assert w.session.prepared is prepared and w.lesson_dock.is_done(0)


def test_a_broken_lesson_file_shows_its_error_from_the_menu(make_window, lesson_home, tmp_path, monkeypatch):
    (tmp_path / "bad.toml").write_text('title = "Bad"\nexample = "galaxy-mass"\n')
    monkeypatch.setenv("NNSTUDIO_LESSONS_DIR", str(tmp_path))
    w = make_window()
    w._fill_lessons_menu()
    [action] = w.lessons_menu.actions()
    action.trigger()
    assert "bad.toml: has no steps" in w.panels["data"].messages.text("lesson")
