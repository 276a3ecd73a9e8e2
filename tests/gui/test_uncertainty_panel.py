"""The Uncertainty panel, driven offscreen: methods computed in the background, the verdict line,
and the per-sample table."""
import numpy as np
import pytest
from binary_states import open_state, wait_result
from PySide6.QtCore import Qt

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.project import Project

SPLITS = ("train", "val", "cal", "test")


def _prepared(task, n=1200, seed=0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    cuts = [0, 700, 850, 1000, n]
    if task == "regression":
        y = (x[:, 0] + (0.2 + 0.3 * np.abs(x[:, 1])) * rng.normal(size=n)).astype("float32")
        names, scaler = None, {"mean": 10.0, "std": 0.5}
    else:
        y = np.digitize(x[:, 0] + 0.6 * rng.normal(size=n), [-0.5, 0.5]).astype("int64")
        names, scaler = ["star", "galaxy", "quasar"], None
    return PreparedData(kind="table", problem=task,
                        x={s: x[cuts[i]:cuts[i + 1]] for i, s in enumerate(SPLITS)},
                        y={s: y[cuts[i]:cuts[i + 1]] for i, s in enumerate(SPLITS)},
                        index={s: np.arange(cuts[i], cuts[i + 1]) for i, s in enumerate(SPLITS)},
                        feature_names=["a", "b", "c"], class_names=names, target_name="y",
                        target_scaler=scaler)


@pytest.fixture(scope="module")
def projects(tmp_path_factory, tensorflow):
    """Saved projects with one trained run each: a mean-and-variance regressor, and a 3-class
    classifier with dropout."""
    from nnstudio.core.model import make_template
    from nnstudio.core.model.spec import LayerSpec
    from nnstudio.core.workflow import train_project

    base = tmp_path_factory.mktemp("unc")
    out = {}
    for task in ("regression", "classification"):
        prepared = _prepared(task)
        project = Project(name=task)
        if task == "regression":
            project.model = make_template("heteroscedastic-mlp", (3,), "regression")
        else:
            project.model = make_template("dense", (3,), "classification", 3)
            project.model.layers.insert(1, LayerSpec("Dropout", {"rate": 0.3}))
        project.save(base / f"{task}.nnproj")
        train_project(project, epochs=2, prepared=prepared)
        project.save()
        out[task] = (project.path, prepared)
    return out


def test_heteroscedastic_regression_shows_core_coverages_and_verdict(make_window, qtbot, projects):
    from nnstudio.core.workflow.evaluate import evaluate

    path, prepared = projects["regression"]
    w = open_state(make_window, path, prepared)
    w.show_panel("uncertainty")             # the quick methods compute by themselves
    panel = w.panels["uncertainty"]
    result = wait_result(qtbot, panel)
    core = evaluate(w.session.project, prepared=prepared)
    s = result.uncertainty.summary
    assert result.uncertainty.method == "heteroscedastic"
    assert s["coverage_95"] == core.uncertainty.summary["coverage_95"]
    assert s["coverage_68"] == core.uncertainty.summary["coverage_68"]
    # ... and the same figures as evaluate's uncertainty object
    assert s["coverage_95"] == evaluate(w.session.project, prepared=prepared).to_dict()["uncertainty"]["coverage_95"]
    assert panel.verdict_label.text().endswith(core.uncertainty.verdict["text"])
    assert f"95% intervals</b> {100 * s['coverage_95']:.1f}%" in panel.details_label.text()
    assert f"<b>NLL</b> {s['nll']:.4g}" in panel.details_label.text()
    # every sample in the table, the largest sigma first, in data units
    rows = panel.browser.rows()
    assert sorted(rows.tolist()) == prepared.index["test"].tolist()
    sig = panel.browser.model.column("σ")
    assert np.all(np.diff(sig) <= 0)
    np.testing.assert_allclose(np.sort(sig)[::-1], np.sort(core.uncertainty.arrays["sigma"])[::-1])
    x, _ = panel.coverage_curve.getData()
    assert len(x) == 99
    assert panel.flagged_check.isEnabled()              # every model: distance to the training data
    assert result.uncertainty.summary["ood_reference"] == "calibration"
    # the conformal level is a project setting: changing it recomputes with the new level
    panel.set_method("auto", level=0.8)
    assert w.session.project.uncertainty.conformal_level == 0.8
    qtbot.mouseClick(panel.compute_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not result and panel.result is not None, timeout=60_000)
    assert panel.result.uncertainty.conformal["nominal"] == pytest.approx(0.8)
    assert "Conformal 80% intervals" in panel.verdict_label.text()


def test_mc_dropout_classification_runs_with_progress_and_flags(make_window, qtbot, projects):
    path, prepared = projects["classification"]
    w = open_state(make_window, path, prepared)
    panel = w.panels["uncertainty"]
    panel.set_method("mc_dropout", mc_samples=6)
    assert w.session.project.uncertainty.method == "mc_dropout"
    assert w.session.project.uncertainty.mc_samples == 6
    assert panel.t_spin.isEnabled()
    seen = []
    panel.compute()
    panel.job.progress.connect(lambda done, total, text: seen.append((done, text)))
    with qtbot.waitSignal(panel.job.finished, timeout=60_000):
        pass
    result = wait_result(qtbot, panel)
    assert result.uncertainty.method == "mc_dropout" and result.uncertainty.n_passes == 6
    assert any("MC dropout" in text for _d, text in seen)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert not panel.progress.isVisible() and panel.compute_button.isEnabled()
    a = result.uncertainty.arrays
    assert panel.mi_plot.placeholder == ""
    assert panel.browser.model.column("mutual info")[0] == pytest.approx(a["mutual_information"].max())
    assert f"mean mutual information</b> {result.uncertainty.summary['mean_mutual_information']:.4g}" in \
        panel.details_label.text()
    assert panel.verdict_label.text().endswith(result.uncertainty.verdict["text"])
    assert panel.flagged_check.isEnabled()
    panel.flagged_check.setChecked(True)
    assert sorted(panel.browser.rows().tolist()) == sorted(a["index"][a["ood"]].tolist())
    panel.flagged_check.setChecked(False)
    assert len(panel.browser.rows()) == prepared.count("test")


def test_cancel_and_classifier_without_mc(make_window, qtbot, projects):
    path, prepared = projects["classification"]
    w = open_state(make_window, path, prepared)
    panel = w.panels["uncertainty"]
    panel.set_method("mc_dropout", mc_samples=500)
    panel.compute()
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.job.running, timeout=60_000)
    assert panel.result is None and not panel.messages.is_shown("error")
    assert panel.compute_button.isEnabled()
    panel.set_method("auto")
    panel.compute()
    result = wait_result(qtbot, panel)
    assert result.uncertainty.method == "softmax"
    assert "needs several" in panel.mi_plot.placeholder
    assert f"ECE</b> {result.uncertainty.summary['ece']:.4g}" in panel.details_label.text()
    assert panel.browser.model.names[:6] == ["row", "true", "predicted", "entropy", "confidence", "after T"]
    panel.set_method("heteroscedastic")
    panel.compute()
    qtbot.waitUntil(lambda: panel.messages.is_shown("error"), timeout=60_000)
    assert "for regression" in panel.messages.text("error")


def _copy_of(path, tmp_path, prepared):
    """The fixture's project saved to a folder of its own (runs copied), so an ensemble trained
    in a test leaves the shared project alone."""
    project = Project.load(path)
    project.save(tmp_path / "copy.nnproj")
    project.training.epochs = 1
    project.save()
    return project.path


def test_deep_ensemble_trains_in_the_background_then_computes(make_window, qtbot, projects, tmp_path):
    from nnstudio.core.workflow.ensembles import ensemble_members
    from nnstudio.core.workflow.evaluate import evaluate

    path, prepared = projects["classification"]
    w = open_state(make_window, _copy_of(path, tmp_path, prepared), prepared)
    panel = w.panels["uncertainty"]
    panel.set_method("ensemble", ensemble_size=2)
    w.show_panel("uncertainty")
    assert w.session.project.uncertainty.method == "ensemble"
    assert w.session.project.uncertainty.ensemble_size == 2
    assert panel.k_spin.isVisible() and not panel.t_spin.isVisible()
    assert panel.messages.is_shown("ensemble") and "Train ensemble" in panel.messages.text("ensemble")
    assert panel.ensemble_label.text() == "none yet"
    assert panel.job is None and panel.result is None     # nothing to compute without members
    seen = []
    qtbot.mouseClick(panel.train_ensemble_button, Qt.LeftButton)
    panel.job.progress.connect(lambda done, total, text: seen.append(text))
    assert not panel.compute_button.isEnabled() and panel.cancel_button.isEnabled()
    assert not panel.train_ensemble_button.isEnabled()
    with qtbot.waitSignal(panel.job.finished, timeout=60_000):
        pass
    result = wait_result(qtbot, panel)                      # computed by itself once trained
    project = w.session.project
    members = ensemble_members(project)
    assert [r.settings["seed"] for r in members] == [0, 1]
    assert result.uncertainty.method == "ensemble" and result.uncertainty.ensemble["members"] == [r.id for r in members]
    assert project.active_run == "run-0001"                 # the panel's model is still the trained one
    assert any(t.startswith("member 2/2") for t in seen)
    assert panel.ensemble_label.text() == "2 trained" and not panel.messages.is_shown("ensemble")
    # stored with the project: saved, and found again on reload
    assert not project.dirty
    assert [r.id for r in ensemble_members(Project.load(project.path))] == result.uncertainty.ensemble["members"]
    # the same figures as the core job; the mutual-information plot has data
    core = evaluate(project, method="ensemble", prepared=prepared)
    assert result.uncertainty.summary["ece"] == core.uncertainty.summary["ece"]
    np.testing.assert_allclose(result.uncertainty.arrays["mutual_information"], core.uncertainty.arrays["mutual_information"])
    assert panel.mi_plot.placeholder == "" and panel.mi_bars.isVisible()
    assert panel.mi_bars.opts["height"].sum() == prepared.count("test")
    assert f"mean mutual information</b> {result.uncertainty.summary['mean_mutual_information']:.4g}" in \
        panel.details_label.text()
    assert "deep ensemble of 2" in panel.details_label.text()
    assert panel.browser.model.names[3] == "mutual info" and panel.flagged_check.isEnabled()


def test_cancelled_ensemble_training_says_so(make_window, qtbot, projects, tmp_path):
    path, prepared = projects["regression"]
    w = open_state(make_window, _copy_of(path, tmp_path, prepared), prepared)
    panel = w.panels["uncertainty"]
    panel.set_method("ensemble", ensemble_size=3)
    assert panel.train_ensemble()
    panel.cancel()
    with qtbot.waitSignal(panel.job.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: panel.messages.is_shown("job"), timeout=10_000)
    assert "stopped after 0 of 3 members" in panel.messages.text("job")
    assert not panel.messages.is_shown("error") and panel.result is None
    assert panel.ensemble_label.text() == "none yet"
    assert panel.compute_button.isEnabled() and panel.train_ensemble_button.isEnabled()
    assert not panel.progress.isVisible()
    # at most the first member started (a stopped run of the project); none completed
    runs = w.session.project.runs
    assert runs[0].status == "completed" and [r.status for r in runs[1:]] in ([], ["stopped"])


def test_without_a_calibration_split_the_panel_says_why_and_lists_the_errors(make_window):
    from dataclasses import replace

    from nnstudio.core.examples.synthetic import ToyPredictor, toy_regression
    from nnstudio.core.workflow.evaluate import evaluate

    p = toy_regression(600)
    p = replace(p, x={**p.x, "cal": p.x["cal"][:0]}, y={**p.y, "cal": p.y["cal"][:0]},
                index={**p.index, "cal": p.index["cal"][:0]})
    result = evaluate(prepared=p, model=ToyPredictor("regression"))
    w = make_window()
    w.session.set_prepared(p)
    panel = w.panels["uncertainty"]
    panel.show_result(result)
    assert "No calibration split" in panel.verdict_label.text()
    assert "|error|" in panel.browser.model.names and "σ" not in panel.browser.model.names
    assert "calibration split" in panel.sigma_plot.placeholder
