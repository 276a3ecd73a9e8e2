"""Each benchmark runs in its quick mode and ends with its one JSON line (figures are not asserted:
the goals are checked by running the benchmarks in full, not by timed tests)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", BENCHMARKS)
def test_benchmark_smoke_prints_json(script, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], capture_output=True,
                         text=True, timeout=240, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == script.removesuffix(".py")
    assert {"goal", "pass"} <= set(result)
    assert isinstance(result["pass"], bool)
