"""Repeats over seeds: summaries with hand-worked numbers, group comparison, the repeat job."""
import json
import math

import pytest

from nnstudio.core.experiments.repeat import compare_groups, group_summary, repeat_project, summarize_values
from nnstudio.core.experiments.runs import load_store, run_rows
from nnstudio.core.tasks import Task
from nnstudio.core.training import RunRecord
from nnstudio.errors import NnstudioError


def rec(run_id, val_curve, final):
    return RunRecord(id=run_id, started="", settings={}, model={}, status="completed",
                     history={"val_loss": val_curve}, final=final)


def group(metric, values):
    return group_summary([rec(f"r{i}", [v], {metric: v}) for i, v in enumerate(values)])


def test_stat_is_mean_and_sample_std():
    s = summarize_values([1, 2, 3, 4, None, float("nan")])
    assert (s.mean, s.n, s.min, s.max) == (2.5, 4, 1.0, 4.0)
    assert s.std == pytest.approx(math.sqrt(5 / 3))  # squares 2.25+0.25+0.25+2.25 over n-1 = 3
    one = summarize_values([0.7])
    assert one.std is None and one.text() == "0.7 (1 run)"


def test_band_over_runs_of_different_length():
    summary = group_summary([rec("a", [3.0, 2.0, 1.0], {"val_loss": 1.0}), rec("b", [5.0, 4.0], {"val_loss": 4.0})],
                            test_metrics={"a": {"rmse": 0.2}, "b": {"rmse": 0.4}})
    band = summary.curves["val_loss"]
    assert band.mean == [4.0, 3.0, 1.0] and band.n == [2, 2, 1]
    assert band.std[:2] == pytest.approx([math.sqrt(2), math.sqrt(2)]) and band.std[2] is None
    assert (band.min, band.max) == ([3.0, 2.0, 1.0], [5.0, 4.0, 1.0])
    assert summary.metrics["val_loss"].mean == 2.5
    assert summary.metrics["test_rmse"].mean == pytest.approx(0.3)
    json.dumps(summary.to_dict())


def test_difference_within_scatter():
    c = compare_groups(group("val_loss", [1.0, 1.2, 0.8]), group("val_loss", [1.1, 0.9, 1.3]))
    assert c.difference == pytest.approx(0.1)
    assert c.standard_error == pytest.approx(math.sqrt(0.04 / 3 + 0.04 / 3))  # 0.163
    assert c.real is False and c.better is None
    assert "within the seed-to-seed scatter" in c.verdict


def test_real_difference_names_the_better_group():
    c = compare_groups(group("val_loss", [1.0, 1.1, 0.9]), group("val_loss", [0.5, 0.6, 0.4]))
    # s = 0.1 each: SE = sqrt(2 * 0.01 / 3) = 0.0816, t = -6.1; Welch dof = 4, t_0.975(4) = 2.776
    assert c.standard_error == pytest.approx(0.08165, rel=1e-3)
    assert c.dof == pytest.approx(4.0) and c.threshold == pytest.approx(2.776, rel=1e-3)
    assert c.real and c.better == "B"
    assert c.verdict.startswith("B is better by 0.5 ± 0.082 in val_loss")
    acc = compare_groups(group("test_accuracy", [0.90, 0.91, 0.89]), group("test_accuracy", [0.80, 0.81, 0.79]),
                         metric="test_accuracy")
    assert acc.better == "A"  # higher accuracy is better


def test_one_run_per_group_cannot_tell():
    c = compare_groups(group("val_loss", [1.0]), group("val_loss", [0.5, 0.6]))
    assert c.real is None and "at least 2 runs" in c.verdict
    with pytest.raises(NnstudioError, match="share"):
        compare_groups(group("val_loss", [1.0, 2.0]), group("val_mae", [1.0, 2.0]))


def test_repeat_trains_n_seeds_as_one_group(project, prepared, tensorflow):
    result = repeat_project(project, 2, epochs=1, prepared=prepared)
    assert [r.settings["seed"] for r in result.runs] == [0, 1]
    assert [r.id for r in project.runs] == ["run-0001", "run-0002"]
    a, b = (r.final["val_loss"] for r in result.runs)
    assert a != b
    s = result.summary.metrics["val_loss"]
    assert s.mean == pytest.approx((a + b) / 2) and s.std == pytest.approx(abs(a - b) / math.sqrt(2))
    store = load_store(project)
    assert store["groups"][result.group]["runs"] == ["run-0001", "run-0002"]
    assert [r.group for r in run_rows(project)] == [result.group] * 2
    out = result.to_dict()
    assert set(out) >= {"runs", "summary"} and json.dumps(out)


def test_stop_ends_the_repeat_after_the_current_run(project, prepared, tensorflow):
    class StopInFirstEpoch(Task):
        def report_partial(self, obj):
            self.stop.set()

    result = repeat_project(project, 3, epochs=2, prepared=prepared, task=StopInFirstEpoch())
    assert result.cancelled
    assert len(result.runs) == 1 and result.runs[0].status == "stopped"
    assert result.summary.n == 0  # only completed runs are summarised


def test_repeat_refuses_bad_counts(project, prepared):
    with pytest.raises(NnstudioError, match="at least 1"):
        repeat_project(project, 0, prepared=prepared)
    with pytest.raises(NnstudioError, match="one seed per run"):
        repeat_project(project, 2, seeds=[1], prepared=prepared)
