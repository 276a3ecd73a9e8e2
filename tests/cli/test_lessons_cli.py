"""`nnstudio lessons [--json]` and `nnstudio open --lesson ID` (checked before any window opens)."""
import json

from nnstudio.cli import main


def test_lessons_json_lists_both_lessons_with_steps(run_cli):
    code, out, err = run_cli("lessons", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    ids = [lesson["id"] for lesson in d["lessons"]]
    assert ids == ["galaxy-mass", "strong-lens"]
    for lesson in d["lessons"]:
        assert lesson["title"] and len(lesson["steps"]) >= 6
        assert all({"id", "title", "text", "do", "check"} <= set(s) for s in lesson["steps"])
    assert d["lessons"][1]["steps"][5]["check"] == ["threshold_moved"]


def test_lessons_text_and_an_instructors_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)
    (tmp_path / "own.toml").write_text('title = "Own"\nexample = "strong-lens"\n[[steps]]\ntitle = "Look"\n'
                                       'text = "Look at the cutouts."\ndo = "Scroll."\ncheck = ["data_loaded"]\n')
    code, out, _ = run_cli("lessons", "--lessons-dir", tmp_path)
    assert code == 0
    assert "galaxy-mass: Coding a neural network" in out and "own: Own (1 steps)" in out
    assert "nnstudio open --lesson ID" in out


def test_broken_lesson_file_is_one_line_and_exit_1(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("NNSTUDIO_LESSONS_DIR", raising=False)
    (tmp_path / "bad.toml").write_text('title = "Bad"\nexample = "galaxy-mass"\n[[steps]]\ntitle = "x"\n'
                                       'text = "x"\ndo = "x"\ncheck = ["n_layers > 1"]\n')
    code, out, err = run_cli("lessons", "--json", "--lessons-dir", tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("nnstudio: error: bad.toml: step 1 (step-1): field 'check': unknown key 'n_layers'")
    assert err.count("\n") == 1


def test_open_lesson_checks_the_id_and_starts_the_app(run_cli, monkeypatch):
    started = []
    monkeypatch.setattr("nnstudio.gui.app.run_app", lambda path=None, lesson=None: started.append((path, lesson)) or 0)
    code, _, err = run_cli("open", "--lesson", "nope")
    assert code == 1 and "No lesson 'nope'" in err and not started
    assert run_cli("open", "--lesson", "strong-lens")[0] == 0
    assert started == [(None, "strong-lens")]
    code, _, err = run_cli("open")
    assert code == 2 and "give a PATH or --lesson ID" in err
    assert main(["open", "--lesson", "galaxy-mass", "x.nnproj"]) == 1
