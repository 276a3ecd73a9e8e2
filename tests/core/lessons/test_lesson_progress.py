"""Progress per user survives a restart, a broken file is no progress, and a lesson's project is
its own copy of the example: restarting it deletes only that copy."""
import json

from nnstudio.core.lessons import (
    LessonProgress,
    forget_progress,
    get_lesson,
    lesson_project_path,
    load_progress,
    output_only,
    prepare_lesson_project,
    progress_path,
    save_progress,
)
from nnstudio.core.model import make_template
from nnstudio.core.project import Project


def test_progress_round_trips_per_lesson(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert load_progress() == {}
    save_progress("galaxy-mass", LessonProgress(step=2, done=["data", "dense"]))
    save_progress("strong-lens", LessonProgress(step=0))
    got = load_progress()
    assert got["galaxy-mass"] == LessonProgress(step=2, done=["data", "dense"], finished=False)
    assert set(got) == {"galaxy-mass", "strong-lens"}
    assert progress_path() == tmp_path / "nnstudio" / "lessons.json"
    forget_progress("galaxy-mass")
    assert set(load_progress()) == {"strong-lens"}
    progress_path().write_text("{not json")
    assert load_progress() == {}


def test_output_only_keeps_flatten_for_images():
    cnn = make_template("small-cnn", (64, 64, 1), "classification", 2)
    assert [layer.class_name for layer in output_only(cnn).layers] == ["Flatten", "Dense"]
    mlp = make_template("mlp-regression", (3,), "regression")
    assert [layer.class_name for layer in output_only(mlp).layers] == ["Dense"]


def test_lesson_project_is_a_fresh_copy_and_restart_touches_only_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    mine = tmp_path / "mine" / "galaxy-mass.nnproj"
    Project(name="galaxy-mass").save(mine)
    before = mine.read_text()
    lesson = get_lesson("galaxy-mass")
    path = prepare_lesson_project(lesson)
    assert path == lesson_project_path(lesson) and path.is_relative_to(tmp_path / "state" / "nnstudio" / "lessons")
    project = Project.load(path)
    assert [layer.class_name for layer in project.model.layers] == ["Dense"] and project.physics.formula
    d = json.loads(path.read_text())
    d["name"] = "edited"
    path.write_text(json.dumps(d))
    assert Project.load(prepare_lesson_project(lesson)).name == "edited"       # resumed, not rewritten
    assert Project.load(prepare_lesson_project(lesson, fresh=True)).name != "edited"
    assert mine.read_text() == before
