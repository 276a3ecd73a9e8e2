"""Repeats over seeds (and splits): summaries with hand-worked numbers, one verdict on a primary
metric with Holm-corrected p-values beside it, runs that end in NaN counted, the repeat job."""
import json
import math

import numpy as np
import pytest

from nnstudio.core.evaluation.direction import higher_is_better, is_better
from nnstudio.core.experiments.compare import compare, holm
from nnstudio.core.experiments.groups import GroupSummary
from nnstudio.core.experiments.repeat import (compare_groups, group_summary, load_group, repeat_project,
                                              split_twin, summarize_values)
from nnstudio.core.experiments.runs import load_store, run_rows
from nnstudio.core.tasks import Task
from nnstudio.core.training import RunRecord
from nnstudio.errors import NnstudioError


def rec(run_id, val_curve, final, status="completed"):
    return RunRecord(id=run_id, started="", settings={}, model={}, status=status,
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
    # s = 0.1 each: SE = sqrt(2 * 0.01 / 3) = 0.0816, t = -6.1; Welch dof = 4, t_0.975(4) = 2.776,
    # two-sided p = 2·P(T_4 > 6.124) = 0.0036; the 95 % interval of B − A is −0.5 ± 2.776·0.0816
    assert c.standard_error == pytest.approx(0.08165, rel=1e-3)
    assert c.dof == pytest.approx(4.0) and c.threshold == pytest.approx(2.776, rel=1e-3)
    assert c.p_value == pytest.approx(0.00360, rel=0.01)
    assert c.interval == pytest.approx([-0.5 - 0.2267, -0.5 + 0.2267], rel=1e-3)
    assert c.real and c.better == "B"
    assert c.verdict.startswith("B is better by 0.5 ± 0.082 in val_loss (3 runs each; p = 0.0036)")
    acc = compare_groups(group("val_accuracy", [0.90, 0.91, 0.89]), group("val_accuracy", [0.80, 0.81, 0.79]),
                         metric="val_accuracy")
    assert acc.better == "A"  # higher accuracy is better
    with pytest.raises(NnstudioError, match="not test_accuracy: choosing by test figures tunes to the test split"):
        compare_groups(group("test_accuracy", [0.9, 0.91]), group("test_accuracy", [0.8, 0.81]), "test_accuracy")


@pytest.mark.parametrize("metric,higher", [
    ("roc_auc", True), ("val_average_precision", True), ("test_accuracy", True), ("f1", True), ("precision", True),
    ("recall", True), ("test_r2", True), ("balanced_accuracy", True), ("val_auc", True),
    ("val_loss", False), ("test_rmse", False), ("mae", False), ("ece", False), ("scatter", False),
    ("val_nll", False), ("bias", None), ("threshold", None)])
def test_every_metric_knows_its_direction(metric, higher):
    """roc_auc and average_precision are higher-is-better like accuracy; errors and losses lower."""
    assert higher_is_better(metric) is higher
    if higher is not None:
        assert is_better(0.9, 0.8, metric) is higher


def test_auc_is_compared_higher_is_better():
    c = compare_groups(group("val_roc_auc", [0.80, 0.81, 0.79]), group("val_roc_auc", [0.90, 0.91, 0.89]),
                       metric="val_roc_auc")
    assert c.better == "B" and c.verdict.startswith("B is better by 0.1")


def test_holm_step_down_by_hand():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # at 5 %: 0.005 ≤ 0.05/4 and 0.01 ≤ 0.05/3 are rejected; 0.03 > 0.05/2 stops the steps
    assert [q < 0.05 for q in holm([0.01, 0.04, 0.03, 0.005])] == [True, False, False, True]
    assert holm([0.5, None, 0.9]) == pytest.approx([1.0, None, 1.0]) and holm([]) == []
    assert holm([0.2]) == [0.2]


def summary_of(values: dict, spread="seeds") -> GroupSummary:
    return GroupSummary(runs=[f"r{i}" for i in range(len(next(iter(values.values()))))], curves={},
                        metrics={k: summarize_values(v) for k, v in values.items()}, spread=spread)


DIRECTED = ["val_loss", "val_mae", "val_rmse", "val_mse", "val_accuracy", "val_auc", "val_precision", "val_recall",
            "val_f1", "val_r2", "val_balanced_accuracy", "val_roc_auc"]


def test_no_true_difference_gives_a_false_better_verdict_about_5_percent_of_the_time():
    """12 metrics, groups of 5 runs drawn from one distribution: the old rule (a Welch test at
    95 % on every metric, "better" on each) finds a winner in about 4 comparisons of 10; one
    primary metric keeps "better" at 5 %, and Holm keeps any "differs" among the others at ≤ 5 %."""
    rng = np.random.default_rng(16)
    reps, runs = 2000, 5
    better = uncorrected = others = 0
    for _ in range(reps):
        x = rng.normal(1.0, 0.1, size=(2, len(DIRECTED), runs))
        c = compare(summary_of(dict(zip(DIRECTED, x[0]))), summary_of(dict(zip(DIRECTED, x[1]))))
        assert c.primary.metric == "val_loss" and all(o.better is None for o in c.others)
        better += any(m.better for m in c.metrics.values())
        uncorrected += any(m.p_value < 0.05 for m in c.metrics.values())
        others += any(o.real for o in c.others)
    assert 0.035 <= better / reps <= 0.065
    assert uncorrected / reps >= 0.35     # 1 − 0.95¹² = 0.46
    assert others / reps <= 0.065


def test_other_metrics_get_holm_p_values_and_test_figures_never_a_verdict():
    a = summary_of({"val_loss": [1.0, 1.02, 0.98], "val_mae": [2.0, 2.1, 1.9], "learning_rate": [1e-3] * 3,
                    "test_rmse": [4.0, 4.1, 3.9]})
    b = summary_of({"val_loss": [1.0, 1.03, 0.99], "val_mae": [1.0, 1.1, 0.9], "learning_rate": [1e-2] * 3,
                    "test_rmse": [3.0, 3.1, 2.9]})
    a.metrics["test_rmse"].test_noise = b.metrics["test_rmse"].test_noise = 0.05
    c = compare(a, b)
    assert not c.primary.real and "within the seed-to-seed scatter" in c.verdict
    assert set(c.metrics) == {"val_loss", "val_mae", "test_rmse"}   # a setting is not compared
    mae, rmse = c.metrics["val_mae"], c.metrics["test_rmse"]
    assert [mae.p_holm, rmse.p_holm] == pytest.approx(holm([mae.p_value, rmse.p_value]))   # one family of 2
    assert mae.p_holm >= mae.p_value
    assert mae.real and mae.better is None and "rests on val_loss alone" in mae.verdict
    assert rmse.role == "test" and rmse.better is None and "never used to choose" in rmse.verdict
    assert mae.short() == "B lower"
    # a test difference smaller than the test split's own sampling noise says so
    a.metrics["test_rmse"].test_noise = 1.5
    small = compare(a, b).metrics["test_rmse"]
    assert small.short() == "B lower, below test noise" and "smaller than the test split's own sampling noise" \
        in small.verdict
    with pytest.raises(NnstudioError, match="choosing by test figures"):
        compare(a, b, primary="test_rmse")
    other = compare(a, b, primary="val_mae")
    assert other.primary.better == "B" and other.primary_metric == "val_mae"
    json.dumps(other.to_dict())
    assert "verdict on val_mae (chosen before looking)" in other.format()


def test_runs_that_end_in_nan_or_fail_are_counted_not_dropped():
    records = [rec(f"r{i}", [v], {"val_loss": v}) for i, v in enumerate([1.0, 1.2, 0.8, 1.1])]
    records.append(rec("r4", [0.9, None], {"val_loss": 0.9}, status="nan"))
    records.append(rec("r5", [], {}, status="failed"))
    s = group_summary(records)
    assert s.n == 4 and s.total == 6 and s.runs == ["r0", "r1", "r2", "r3"]
    assert s.metrics["val_loss"].n == 4 and s.metrics["val_loss"].mean == pytest.approx(1.025)
    assert s.counts_text() == "4 of 6 runs; 1 ended in NaN, 1 failed"
    assert s.headline() == "mean ± std of 4 of 6 runs; 1 ended in NaN, 1 failed · spread over seeds"
    assert s.to_dict()["outcomes"] == {"completed": 4, "nan": 1, "failed": 1}
    assert group_summary(records[:3]).counts_text() == "3 runs"


def test_test_figures_carry_their_interval():
    recs = [rec(f"r{i}", [1.0], {"val_loss": 1.0}) for i in range(3)]
    tests = {"r0": {"rmse": 4.0, "outlier_threshold": 0.15}, "r1": {"rmse": 4.2}, "r2": {"rmse": 4.4}}
    cis = {r: {"rmse": [v["rmse"] - 0.3, v["rmse"] + 0.3]} for r, v in tests.items()}
    # seeds only: one shared test split, its noise (±0.3) added to the seed part t(2)·s/√3 = 4.303·0.2/√3
    s = group_summary(recs, tests, cis).metrics["test_rmse"]
    seed_part = 4.303 * 0.2 / math.sqrt(3)
    assert s.test_noise == pytest.approx(0.3)
    assert s.interval == pytest.approx([4.2 - math.hypot(seed_part, 0.3), 4.2 + math.hypot(seed_part, 0.3)],
                                       rel=1e-3)
    # over seeds and splits the spread already holds the test-sample noise
    s = group_summary(recs, tests, cis, spread="seeds_and_splits").metrics["test_rmse"]
    assert s.interval == pytest.approx([4.2 - seed_part, 4.2 + seed_part], rel=1e-3)
    assert "test_outlier_threshold" not in group_summary(recs, tests).metrics   # a setting, not a figure
    # an interval keeps to the metric's range: an RMSE is never negative, an AUC never above 1
    wide = {r: {"rmse": [0.0, 9.0]} for r in tests}
    assert group_summary(recs, tests, wide).metrics["test_rmse"].interval[0] == 0.0
    aucs = {"r0": {"roc_auc": 0.99}, "r1": {"roc_auc": 0.97}, "r2": {"roc_auc": 0.95}}
    assert group_summary(recs, aucs).metrics["test_roc_auc"].interval[1] == 1.0


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


def test_a_run_that_fails_or_ends_in_nan_is_kept_and_counted(project, prepared, monkeypatch):
    from nnstudio.core.training import trainer

    def fake_train(prepared, spec, config, run_dir, task=None, run_id="run", **kw):
        if config.seed == 1:
            raise NnstudioError("Out of memory while training with batch size 32.")
        v = 1.0 + config.seed / 10
        return RunRecord(id=run_id, started="", settings=config.to_dict(), model={},
                         status="nan" if config.seed == 2 else "completed",
                         history={"val_loss": [v]}, final={"val_loss": v}), None

    monkeypatch.setattr(trainer, "train", fake_train)
    result = repeat_project(project, 4, prepared=prepared)
    assert [r.status for r in result.runs] == ["completed", "failed", "nan", "completed"]
    assert "Out of memory" in result.runs[1].message
    assert result.summary.counts_text() == "2 of 4 runs; 1 failed, 1 ended in NaN"
    assert result.summary.metrics["val_loss"].mean == pytest.approx(1.15)   # seeds 0 and 3
    assert load_group(project, result.group).counts_text() == "2 of 4 runs; 1 failed, 1 ended in NaN"
    out = result.to_dict()
    assert out["counts"] == "2 of 4 runs; 1 failed, 1 ended in NaN" and out["spread"] == "seeds"
    assert [r.id for r in project.runs] == [r["id"] for r in out["runs"]]


def test_repeat_can_resample_the_split_too(tmp_path, tensorflow):
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.training import TrainConfig
    from nnstudio.core.workflow.data import prepare_project
    from nnstudio.core.workflow.projects import new_project

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = 1000.0 + 50.0 * (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)) / 2.3
    write_csv(tmp_path / "toy.csv", {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    project = new_project(data=tmp_path / "toy.csv", out=tmp_path / "toy.nnproj", target="y", problem="regression")
    project.training = TrainConfig(epochs=1, batch_size=32)
    fitted = json.dumps(project.preparation.fitted)
    # each split seed draws its own test split (the project's own preparation is not touched)
    p0, p1 = (prepare_project(split_twin(project, s)) for s in (0, 1))
    assert set(p0.index["test"]) != set(p1.index["test"]) and p0.count("test") == p1.count("test")

    result = repeat_project(project, 2, evaluate=True, resample_splits=True)
    assert result.split_seeds == [0, 1] and result.summary.spread == "seeds_and_splits"
    assert [r.status for r in result.runs] == ["completed", "completed"]
    assert project.preparation.seed == 0 and json.dumps(project.preparation.fitted) == fitted
    assert project.active_run is None   # the project's split is not these runs'
    store = load_store(project)
    assert store["groups"][result.group]["spread"] == "seeds_and_splits"
    assert [store["runs"][r.id]["split_seed"] for r in result.runs] == [0, 1]
    assert result.summary.headline() == "mean ± std of 2 runs · spread over seeds and splits"
    assert "spread over seeds and splits" in result.summary.format()
    rmse = result.summary.metrics["test_rmse"]
    assert rmse.n == 2 and rmse.mean > 5   # in the target's units (its std is about 50)
    assert rmse.interval[0] < rmse.mean < rmse.interval[1]
    first = store["runs"][result.runs[0].id]
    low, high = first["test_ci"]["rmse"]
    assert low <= first["test"]["rmse"] <= high
    loaded = load_group(project, result.group)
    assert loaded.spread == "seeds_and_splits" and loaded.metrics["test_rmse"].interval == pytest.approx(rmse.interval)
    assert result.to_dict()["runs"][1]["split_seed"] == 1


def test_a_run_on_its_own_split_is_evaluated_on_that_split_not_the_projects(tmp_path, tensorflow, monkeypatch):
    """A repeat over seeds and splits trains run 2 on split seed 1: evaluating it later (the CLI, the
    Diagnostics panel with the project's prepared data) uses the test samples of its own split."""
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.training import TrainConfig
    from nnstudio.core.workflow.data import prepare_project, run_split_seed
    from nnstudio.core.workflow.evaluate import evaluate
    from nnstudio.core.workflow.projects import new_project

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    write_csv(tmp_path / "toy.csv", {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x @ np.array([1.0, -2.0, 0.5])})
    project = new_project(data=tmp_path / "toy.csv", out=tmp_path / "toy.nnproj", target="y", problem="regression")
    project.training = TrainConfig(epochs=1, batch_size=32)
    result = repeat_project(project, 2, resample_splits=True)
    first, second = result.runs
    assert first.settings["split_seed"] == 0 and second.settings["split_seed"] == 1
    assert run_split_seed(project, first) is None and run_split_seed(project, second) == 1
    own = prepare_project(split_twin(project, 1))
    projects = prepare_project(project)
    assert set(own.index["test"]) != set(projects.index["test"])
    r = evaluate(project, run_id=second.id, prepared=projects, baselines=False)
    assert set(r.arrays["index"]) == set(own.index["test"])
    assert any("its own data split" in n for n in r.uncertainty.notes)
    r = evaluate(project, run_id=first.id, prepared=projects, baselines=False)
    assert set(r.arrays["index"]) == set(projects.index["test"])
    # continuing it goes on with its own split, and leaves the project's active run alone
    from nnstudio.core.experiments import resume as resume_mod
    from nnstudio.core.training import trainer

    seen = []
    original = trainer.resume

    def spy(prepared, *a, **kw):
        seen.append(set(prepared.index["test"]))
        return original(prepared, *a, **kw)

    monkeypatch.setattr(trainer, "resume", spy)
    record = resume_mod.resume_project(project, second.id, epochs=2)
    assert seen == [set(own.index["test"])] and record.epochs_run == 2
    assert project.active_run is None
