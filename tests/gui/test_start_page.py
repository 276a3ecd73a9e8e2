"""The start page: shown when the window opens with nothing to open; recent projects, examples,
lessons and "open your own data" each one click away; gone as soon as something is open; the last
project still reopens by itself when that setting is on."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt

from nnstudio.core.project import Project


def test_start_page_offers_recent_examples_lessons_and_own_data(make_window, qsettings, tmp_path, qtbot,
                                                                monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)
    for name in ("lenses", "masses"):
        Project(name=name).save(tmp_path / name / f"{name}.nnproj")
    qsettings.setValue("recent_files", '["%s", "%s", "%s"]' % (tmp_path / "lenses" / "lenses.nnproj",
                                                            tmp_path / "gone.nnproj",
                                                            tmp_path / "masses" / "masses.nnproj"))
    qsettings.setValue("reopen_last", False)
    qsettings.setValue("examples_dir", str(tmp_path / "examples"))
    w = make_window()
    w.resize(1280, 820)
    page = w.start_page
    assert page is not None and w.pages.currentWidget() is page and not w.workspace.isVisible()
    assert list(page.recent_buttons) == [str(tmp_path / "lenses" / "lenses.nnproj"),
                                         str(tmp_path / "masses" / "masses.nnproj")]     # gone.nnproj left out
    assert set(page.example_buttons) == {"galaxy-mass", "strong-lens", "photometric-classes"}
    assert set(page.lesson_buttons) == {"galaxy-mass", "strong-lens"}
    if os.environ.get("NNSTUDIO_START_SHOT"):
        w.grab().save(os.environ["NNSTUDIO_START_SHOT"])
    # "open your own data" asks for a file (the dialog is replaced here)
    asked = []
    w.open_data_dialog = lambda: asked.append("data")
    page.open_data.disconnect()
    page.open_data.connect(w.open_data_dialog)
    qtbot.mouseClick(page.data_button, Qt.LeftButton)
    assert asked == ["data"] and w.pages.currentWidget() is page
    # one click on a recent project opens it and brings the panels back
    qtbot.mouseClick(page.recent_buttons[str(tmp_path / "masses" / "masses.nnproj")], Qt.LeftButton)
    assert w.session.project.name == "masses"
    assert w.pages.currentWidget() is w.workspace and w.workspace.isVisible()


def test_an_example_opens_with_one_click(make_window, qsettings, tmp_path, qtbot):
    qsettings.setValue("reopen_last", False)
    qsettings.setValue("examples_dir", str(tmp_path / "examples"))
    w = make_window()
    with qtbot.waitSignal(w.session.prepared_changed, timeout=60_000,
                          check_params_cb=lambda *a: w.session.prepared is not None):
        qtbot.mouseClick(w.start_page.example_buttons["galaxy-mass"], Qt.LeftButton)
    assert w.session.project.name == "galaxy-mass" and w.pages.currentWidget() is w.workspace


def test_a_lesson_starts_from_the_start_page(make_window, qsettings, tmp_path, qtbot, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)
    qsettings.setValue("reopen_last", False)
    w = make_window()
    qtbot.mouseClick(w.start_page.lesson_buttons["galaxy-mass"], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.lesson_dock is not None, timeout=60_000)
    assert w.pages.currentWidget() is w.workspace
    assert w.session.project.path.is_relative_to(tmp_path / "state")


def test_last_project_still_reopens_without_the_start_page(make_window, qsettings, tmp_path):
    Project(name="lenses").save(tmp_path / "lenses.nnproj")
    w = make_window()
    w.open_path(str(tmp_path / "lenses.nnproj"))
    w2 = make_window()
    assert w2.session.project.name == "lenses" and w2.pages.currentWidget() is w2.workspace
    # a menu choice that shows a panel leaves the start page too
    qsettings.setValue("reopen_last", False)
    w3 = make_window()
    assert w3.pages.currentWidget() is w3.start_page
    w3.panel_actions[1].trigger()
    assert w3.pages.currentWidget() is w3.workspace and w3.current_panel_key() == "model"
