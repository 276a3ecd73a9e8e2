"""The house: the layers named in pyproject.toml hold (import-linter), no module is over 1,000
lines, and every package says what it holds."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnstudio"


def test_import_contracts_hold():
    """Core is Qt-free; cli above gui above core; core's own layers (science never sees a Project
    or the workflow); no import circles between siblings at any depth, imports inside functions
    included. Run in its own process: the analysis must not share one with TensorFlow."""
    import subprocess
    import sys

    tool = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(tool), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[out.stdout.find("Broken contracts"):] or out.stdout + out.stderr


def test_no_module_is_over_a_thousand_lines():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 1000}
    assert big == {}


def test_every_package_has_a_docstring():
    missing = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("__init__.py")
               if p.parent.name != "resources" and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None]
    assert missing == []
