"""GUI → file → CLI → file → GUI: the same project works from both sides."""
import json
import shutil

from nnstudio.core.project import Project


def test_gui_cli_gui_round_trip(make_window, qtbot, qsettings, tmp_path, run_cli):
    qsettings.setValue("examples_dir", str(tmp_path / "examples"))
    w = make_window()
    w.open_example("galaxy-mass")
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    w.session.project.training.epochs = 2
    w.session.project.mark_changed("training")
    target = tmp_path / "mine.nnproj"
    assert w._save_to(str(target))
    assert w.windowTitle().startswith("nnstudio — mine") and not w.isWindowModified()

    code, out, err = run_cli("train", target, "--json")
    assert code == 0, err
    trained = json.loads(out)
    code, out, err = run_cli("evaluate", target, "--json")
    assert code == 0, err
    evaluated = json.loads(out)

    w2 = make_window()
    assert w2.open_path(str(target))
    qtbot.waitUntil(lambda: w2.session.prepared is not None, timeout=60_000)
    project = w2.session.project
    assert [r.id for r in project.runs] == [trained["run"]]
    assert project.runs[0].history["loss"] == trained["history"]["loss"]
    assert w2.session.has_run and not w2.panels["diagnostics"].is_missing_shown
    # the GUI saves it again and the CLI still reads it
    project.mark_changed("note")
    assert w2.save()
    code, out, _ = run_cli("evaluate", target, "--json")
    assert code == 0 and json.loads(out)["metrics"] == evaluated["metrics"]


def test_missing_data_offers_to_locate(make_window, qtbot, tmp_path):
    from nnstudio.core.workflow import write_example_project

    path = write_example_project("galaxy-mass", tmp_path / "w")
    csv = next((tmp_path / "w").glob("*.csv"))
    moved = tmp_path / "moved.csv"
    shutil.move(csv, moved)
    w = make_window()
    w.open_path(str(path))
    bar = w.panels["data"].messages
    assert bar.is_shown("project-0") and "missing" in bar.text("project-0")
    assert [b.text() for b in bar.line("project-0").buttons] == ["Locate…"]
    w.locate_data(str(moved))
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    assert not bar.is_shown("project-0")
    assert Project.load(path).warnings  # not saved yet: the file still points at the old place
    assert w.save()
    assert Project.load(path).warnings == []


def test_open_command_starts_the_gui_on_the_project(run_cli, tmp_path, monkeypatch):
    import nnstudio.gui.app as app

    seen = []
    monkeypatch.setattr(app, "run_app", lambda path=None: seen.append(path) or 0)
    p = Project(name="x")
    p.save(tmp_path / "x.nnproj")
    code, _, _ = run_cli("open", tmp_path / "x.nnproj")
    assert code == 0 and seen == [str(tmp_path / "x.nnproj")]
    code, _, _ = run_cli(tmp_path / "x.nnproj")  # as a file manager calls it
    assert code == 0 and seen[-1] == str(tmp_path / "x.nnproj")
