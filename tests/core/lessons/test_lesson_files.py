"""Lesson files: the bundled ones load; broken ones are refused naming file, step and field;
an instructor's folder adds or replaces lessons; translations replace texts only."""
import pytest

from nnstudio.core.lessons import BUNDLED_DIR, ENV_DIRS, get_lesson, load_lessons
from nnstudio.errors import NnstudioError

GOOD = '''
title = "My lesson"
example = "galaxy-mass"
[[steps]]
id = "first"
title = "First"
text = "Load the data."
do = "Wait."
check = ["data_loaded"]
'''


def test_bundled_lessons_follow_the_lecture():
    lessons = {lesson.id: lesson for lesson in load_lessons(language="en")}
    assert set(lessons) == {"galaxy-mass", "strong-lens"}
    for lesson in lessons.values():
        assert len(lesson.steps) >= 6 and lesson.path.parent == BUNDLED_DIR
        assert all(s.title and s.text and s.do and s.checks and s.hint for s in lesson.steps)
    gm = [s.title for s in lessons["galaxy-mass"].steps]
    assert any("sigmoid" in t for t in gm) and any("chain rule" in t for t in gm)
    sl = lessons["strong-lens"].steps
    assert [s.id for s in sl][-4:] == ["confusion", "roc", "calibration", "challenges"]
    text = sl[-1].text
    assert "Explain" in text and "Beside the network" in text and "Uncertainty" in text


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, message", [
    ("title = ", "mine.toml: is not valid TOML"),
    (GOOD.replace('example = "galaxy-mass"', 'example = "quasars"'), "mine.toml: field 'example' must be one of"),
    (GOOD.replace('title = "My lesson"\n', ""), "mine.toml: field 'title' is missing"),
    (GOOD.replace('check = ["data_loaded"]', 'check = ["data_loded"]'),
     "mine.toml: step 1 (first): field 'check': unknown key 'data_loded'"),
    (GOOD.replace('check = ["data_loaded"]', ""), "mine.toml: step 1 (first): field 'check' is missing"),
    (GOOD.replace('do = "Wait."', 'do = ""'), "mine.toml: step 1 (first): field 'do' must be a non-empty text"),
    (GOOD + 'colour = "red"\n', "mine.toml: step 1 (first): unknown field(s) colour"),
    (GOOD + GOOD.split("\n", 3)[3], "mine.toml: step 2 (first): field 'id' repeats"),
    (GOOD.replace('id = "first"', 'id = "First Step"'), "mine.toml: step 1: field 'id' must be lower-case"),
    (GOOD.replace('text = "Load the data."', 'text = "x"\npanel = "results"'),
     "mine.toml: step 1 (first): field 'panel' must be one of"),
    ('title = "x"\nexample = "galaxy-mass"\n', "mine.toml: has no steps"),
])
def test_broken_files_name_file_step_and_field(tmp_path, monkeypatch, text, message):
    write(tmp_path, "mine.toml", text)
    monkeypatch.setenv(ENV_DIRS, str(tmp_path))
    with pytest.raises(NnstudioError) as err:
        load_lessons()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_instructor_folder_adds_a_lesson_without_code(tmp_path, monkeypatch):
    write(tmp_path, "mine.toml", GOOD)
    monkeypatch.setenv(ENV_DIRS, str(tmp_path))
    ids = [lesson.id for lesson in load_lessons()]
    assert ids == ["galaxy-mass", "strong-lens", "mine"]
    assert get_lesson("mine").steps[0].checks[0].text == "data_loaded"
    assert [lesson.id for lesson in load_lessons(extra_dirs=[tmp_path])] == ids   # same folder twice: once
    monkeypatch.setenv(ENV_DIRS, str(tmp_path / "gone"))
    with pytest.raises(NnstudioError, match="Lesson folder not found"):
        load_lessons()


def test_a_translation_replaces_texts_only(tmp_path, monkeypatch):
    write(tmp_path, "mine.toml", GOOD)
    write(tmp_path, "mine.de.toml", 'title = "Meine Lektion"\n[steps.first]\ntext = "Lade die Daten."\n')
    monkeypatch.setenv(ENV_DIRS, str(tmp_path))
    de = get_lesson("mine", language="de")
    assert de.title == "Meine Lektion" and de.steps[0].text == "Lade die Daten." and de.steps[0].do == "Wait."
    assert de.language == "de" and de.languages == ["en", "de"]
    assert de.steps[0].checks[0].text == "data_loaded"
    assert get_lesson("mine", language="en").title == "My lesson"
    write(tmp_path, "mine.de.toml", '[steps.second]\ntext = "x"\n')
    with pytest.raises(NnstudioError, match="mine.de.toml: step second: no step with this id"):
        get_lesson("mine", language="de")
    write(tmp_path, "mine.de.toml", '[steps.first]\ncheck = ["data_loaded"]\n')
    with pytest.raises(NnstudioError, match="mine.de.toml: step first: may set only"):
        get_lesson("mine", language="de")


def test_unknown_lesson_lists_the_known_ones():
    with pytest.raises(NnstudioError, match="No lesson 'nope'. Lessons: galaxy-mass, strong-lens"):
        get_lesson("nope")
