"""The house: the layers named in pyproject.toml hold (import-linter), no module is over 1,000
lines, and every package says what it holds."""
import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnstudio"


def test_import_contracts_hold(capsys):
    """Core is Qt-free; cli above gui above core; core's own layers (science never sees a Project
    or the workflow); no import circles between siblings at any depth, imports inside functions
    included."""
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    finally:
        os.chdir(cwd)
    report = capsys.readouterr().out
    assert status == 0, report[report.find("Broken contracts"):] or report


def test_no_module_is_over_a_thousand_lines():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 1000}
    assert big == {}


def test_every_package_has_a_docstring():
    missing = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("__init__.py")
               if p.parent.name != "resources" and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None]
    assert missing == []
