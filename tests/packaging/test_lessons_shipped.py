"""The lesson files are package data: the wheel's package-data globs and the frozen build's data
filter both keep every bundled lesson."""
import sys
import tomllib
from pathlib import Path

from nnstudio.core.lessons import BUNDLED_DIR

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import lean


def lesson_files():
    files = sorted(BUNDLED_DIR.glob("*.toml"))
    assert len(files) >= 2
    return files


def test_wheel_package_data_matches_every_lesson_file():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["nnstudio"]
    package = ROOT / "nnstudio"
    shipped = {p for g in globs for p in package.glob(g)}
    assert set(lesson_files()) <= shipped


def test_frozen_build_keeps_the_lesson_files():
    datas = [(p.relative_to(ROOT).as_posix(), str(p), "DATA") for p in lesson_files()]
    _binaries, kept, _report = lean.filter_toc([], datas, log=lambda *_: None)
    assert kept == datas
