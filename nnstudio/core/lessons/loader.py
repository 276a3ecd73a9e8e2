"""Lesson files: one TOML file per lesson (data, not code), validated on load.

Bundled lessons live in ``files/`` beside this module; an instructor adds folders with
``NNSTUDIO_LESSONS_DIR`` (several joined by the path separator) or ``--lessons-dir``. A lesson in a
later folder replaces a bundled one with the same id. Translations are ``ID.LANG.toml`` files
beside the lesson with the texts only. The format is documented in docs/lessons.md.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nnstudio.core.lessons.checks import Check, CheckError, parse_check
from nnstudio.errors import NnstudioError

BUNDLED_DIR = Path(__file__).with_name("files")
ENV_DIRS = "NNSTUDIO_LESSONS_DIR"
EXAMPLES = ("galaxy-mass", "strong-lens", "photometric-classes")
START_MODELS = ("example", "output-only")
PANELS = ("data", "model", "train", "diagnostics", "uncertainty", "predict")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_LESSON_KEYS = {"id", "title", "summary", "example", "start_model", "minutes", "steps"}
_STEP_KEYS = {"id", "title", "text", "do", "check", "panel", "done", "hint"}
TEXT_FIELDS = ("title", "text", "do", "done", "hint")


@dataclass
class LessonStep:
    id: str
    title: str
    text: str
    do: str
    checks: list[Check]
    panel: str | None = None      # where "Show me" goes
    done: str = ""                # said once the check holds
    hint: str = ""                # said when the learner asks for help

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "text": self.text, "do": self.do,
                "check": [c.text for c in self.checks], "panel": self.panel, "done": self.done,
                "hint": self.hint}


@dataclass
class Lesson:
    id: str
    title: str
    summary: str
    example: str
    steps: list[LessonStep]
    start_model: str = "example"
    minutes: int | None = None
    path: Path | None = None
    language: str = "en"
    languages: list[str] = field(default_factory=lambda: ["en"])

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "summary": self.summary, "example": self.example,
                "start_model": self.start_model, "minutes": self.minutes, "language": self.language,
                "path": str(self.path) if self.path else None,
                "steps": [s.to_dict() for s in self.steps]}


def _fail(where: str, message: str):
    raise NnstudioError(f"{where}: {message}")


def _text(d: dict, key: str, where: str, required: bool = True) -> str:
    v = d.get(key, None)
    if v is None:
        if required:
            _fail(where, f"field '{key}' is missing")
        return ""
    if not isinstance(v, str) or (required and not v.strip()):
        _fail(where, f"field '{key}' must be a non-empty text")
    return v.strip()


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NnstudioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise NnstudioError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise NnstudioError(f"{path}: is not valid TOML ({exc})") from None


def parse_lesson(d: dict, path: Path) -> Lesson:
    """A :class:`Lesson` from a parsed lesson file; every error names the file, step and field."""
    name = path.name
    extra = set(d) - _LESSON_KEYS
    if extra:
        _fail(name, f"unknown field(s) {', '.join(sorted(extra))}; a lesson has {', '.join(sorted(_LESSON_KEYS))}")
    lesson_id = d.get("id", path.name.split(".")[0])
    if not isinstance(lesson_id, str) or not _ID.match(lesson_id):
        _fail(name, f"field 'id' must be lower-case letters, digits and '-' (got {lesson_id!r})")
    title = _text(d, "title", name)
    summary = _text(d, "summary", name, required=False)
    example = d.get("example")
    if example not in EXAMPLES:
        _fail(name, f"field 'example' must be one of {', '.join(EXAMPLES)} (got {example!r})")
    start_model = d.get("start_model", "example")
    if start_model not in START_MODELS:
        _fail(name, f"field 'start_model' must be one of {', '.join(START_MODELS)} (got {start_model!r})")
    minutes = d.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1):
        _fail(name, f"field 'minutes' must be a whole number of minutes (got {minutes!r})")
    raw_steps = d.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        _fail(name, "has no steps: add at least one [[steps]] table")
    steps, seen = [], set()
    for i, s in enumerate(raw_steps, 1):
        where = f"{name}: step {i}"
        if not isinstance(s, dict):
            _fail(where, "must be a [[steps]] table")
        sid = s.get("id", f"step-{i}")
        if not isinstance(sid, str) or not _ID.match(sid):
            _fail(where, f"field 'id' must be lower-case letters, digits and '-' (got {sid!r})")
        where = f"{name}: step {i} ({sid})"
        if sid in seen:
            _fail(where, "field 'id' repeats an earlier step's id")
        seen.add(sid)
        extra = set(s) - _STEP_KEYS
        if extra:
            _fail(where, f"unknown field(s) {', '.join(sorted(extra))}; a step has {', '.join(sorted(_STEP_KEYS))}")
        raw_checks = s.get("check")
        if isinstance(raw_checks, str):
            raw_checks = [raw_checks]
        if not isinstance(raw_checks, list) or not raw_checks:
            _fail(where, "field 'check' is missing: list at least one condition, e.g. check = [\"data_loaded\"]")
        checks = []
        for c in raw_checks:
            try:
                checks.append(parse_check(c))
            except CheckError as exc:
                _fail(where, f"field 'check': {exc}")
        panel = s.get("panel")
        if panel is not None and panel not in PANELS:
            _fail(where, f"field 'panel' must be one of {', '.join(PANELS)} (got {panel!r})")
        steps.append(LessonStep(id=sid, title=_text(s, "title", where), text=_text(s, "text", where),
                                do=_text(s, "do", where), checks=checks, panel=panel,
                                done=_text(s, "done", where, required=False),
                                hint=_text(s, "hint", where, required=False)))
    return Lesson(id=lesson_id, title=title, summary=summary, example=example, steps=steps,
                  start_model=start_model, minutes=minutes, path=path)


def translate(lesson: Lesson, d: dict, path: Path) -> Lesson:
    """Apply a translation file's texts (``title``, ``summary``, ``[steps.ID]`` text fields)."""
    name = path.name
    extra = set(d) - {"title", "summary", "steps"}
    if extra:
        _fail(name, f"a translation holds only title, summary and [steps.ID] texts (found {', '.join(sorted(extra))})")
    if "title" in d:
        lesson.title = _text(d, "title", name)
    if "summary" in d:
        lesson.summary = _text(d, "summary", name)
    by_id = {s.id: s for s in lesson.steps}
    steps = d.get("steps", {})
    if not isinstance(steps, dict):
        _fail(name, "field 'steps' must be tables named by step id: [steps.data]")
    for sid, texts in steps.items():
        where = f"{name}: step {sid}"
        if sid not in by_id:
            _fail(where, f"no step with this id in {lesson.path.name if lesson.path else lesson.id}")
        if not isinstance(texts, dict) or set(texts) - set(TEXT_FIELDS):
            _fail(where, f"may set only {', '.join(TEXT_FIELDS)}")
        for key in texts:
            setattr(by_id[sid], key, _text(texts, key, where))
    return lesson


def lesson_dirs(extra=()) -> list[Path]:
    """Where lessons are read from: the bundled folder, then NNSTUDIO_LESSONS_DIR, then ``extra``."""
    dirs = [BUNDLED_DIR]
    env = os.environ.get(ENV_DIRS, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p.strip()]
    dirs += [Path(p) for p in extra]
    return dirs


def default_language() -> str:
    for var in ("NNSTUDIO_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        v = os.environ.get(var, "")
        if v and v not in ("C", "POSIX"):
            return v.split(":")[0].split("_")[0].split(".")[0].lower() or "en"
    return "en"


def load_lessons(extra_dirs=(), language: str | None = None) -> list[Lesson]:
    """Every lesson, validated, in file-name order (bundled first); a broken file raises with its name."""
    language = (language or default_language()).lower()
    found: dict[str, Lesson] = {}
    for folder in lesson_dirs(extra_dirs):
        if folder != BUNDLED_DIR and not folder.is_dir():
            raise NnstudioError(f"Lesson folder not found: {folder}")
        for path in sorted(folder.glob("*.toml")):
            if path.name.count(".") > 1:        # ID.LANG.toml: a translation
                continue
            lesson = parse_lesson(_read_toml(path), path)
            langs = sorted(p.name.split(".")[1] for p in folder.glob(f"{path.stem}.*.toml"))
            lesson.languages = ["en", *langs]
            tr = folder / f"{path.stem}.{language}.toml"
            if language != "en" and tr.exists():
                translate(lesson, _read_toml(tr), tr)
                lesson.language = language
            found[lesson.id] = lesson
    return list(found.values())


def get_lesson(lesson_id: str, extra_dirs=(), language: str | None = None) -> Lesson:
    lessons = load_lessons(extra_dirs, language)
    for lesson in lessons:
        if lesson.id == lesson_id:
            return lesson
    raise NnstudioError(f"No lesson {lesson_id!r}. Lessons: {', '.join(x.id for x in lessons) or 'none'} "
                        "(see 'nnstudio lessons').")
