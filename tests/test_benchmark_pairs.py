"""The benchmarks' shared pair timing: its interval and verdict on known inputs (no timing)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _paired import interleaved, meets, summary  # noqa: E402


def test_the_median_ratio_and_its_interval():
    s = summary([1.0] * 9, [1.1, 1.2, 1.0, 1.1, 1.1, 1.2, 1.1, 1.0, 1.1])
    assert s["ratio"] == 1.1 and s["interval"][0] <= 1.1 <= s["interval"][1] and s["pairs"] == 9
    assert meets(s, 1.25) and not meets(s, 1.05) and meets(s, 0.9, ">=") and not meets(s, 1.15, ">=")


def test_pairs_alternate_and_stop_once_the_interval_is_narrow():
    calls = []
    s = interleaved(lambda: calls.append("a") or 2.0, lambda: calls.append("b") or 1.0, min_pairs=7)
    assert s["pairs"] == 7 and s["ratio"] == 0.5 and s["interval"] == [0.5, 0.5]
    assert calls[:4] == ["a", "b", "b", "a"]
    q = interleaved(lambda: 1.0, lambda: 1.0, quick=True)
    assert q["pairs"] == 2
