"""Deep ensembles: members as seeded runs stored with the project, their predictions, and what a
stop keeps."""
import json

import numpy as np
import pytest

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.data.spec import DataSelection
from nnstudio.core.experiments.ensemble import train_ensemble
from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.training import TrainConfig
from nnstudio.core.workflow.ensembles import (
    ensemble_info,
    ensemble_members,
    ensemble_outputs,
    ensemble_predict,
)
from nnstudio.errors import NnstudioError

SPLITS = ("train", "val", "cal", "test")


def toy(task="regression", n=240, seed=0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    if task == "regression":
        y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=n)).astype("float32")
        names, scaler = None, {"mean": 0.0, "std": 1.0}
    else:
        y = np.digitize(x[:, 0] + 0.5 * rng.normal(size=n), [-0.5, 0.5]).astype("int64")
        names, scaler = ["a", "b", "c"], None
    cut = [0, int(0.6 * n), int(0.75 * n), int(0.85 * n), n]
    return PreparedData(kind="table", problem=task,
                        x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                        y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                        index={s: np.arange(cut[i], cut[i + 1]) for i, s in enumerate(SPLITS)},
                        feature_names=["a", "b", "c"], class_names=names, target_name="y",
                        target_scaler=scaler)


def make_project(folder, template="mlp-regression", task="regression", n_classes=None) -> Project:
    from nnstudio.core.model import make_template

    p = Project(name="toy")
    p.data = DataSelection(path=str(folder / "data.csv"), target="y", fingerprint={"size": 1, "sha256": "aa"})
    p.model = make_template(template, (3,), task, n_classes)
    p.training = TrainConfig(epochs=1, batch_size=32, seed=7)
    p.save(folder / "toy.nnproj")
    return p


class StopAfterFirst(Task):
    """Asks to stop as soon as the first member has finished (repeat reports ``run_done``)."""

    def __init__(self):
        super().__init__()
        self.progress, self.messages = [], []

    def report_partial(self, obj):
        if isinstance(obj, dict) and "run_done" in obj:
            self.stop.set()

    def report_progress(self, done, total, text=""):
        self.progress.append(text)

    def report_message(self, text):
        self.messages.append(text)


@pytest.fixture(scope="module")
def plain(tmp_path_factory, tensorflow):
    """A point-prediction regressor's project with a 3-member ensemble beside its own run."""
    from nnstudio.core.workflow.train import train_project

    prepared = toy()
    project = make_project(tmp_path_factory.mktemp("plain"))
    own = train_project(project, prepared=prepared)
    result = train_ensemble(project, k=3, prepared=prepared)
    project.save()
    return project, prepared, own, result


def test_members_are_seeded_runs_stored_with_the_project(plain):
    project, _prepared, own, result = plain
    assert [r.settings["seed"] for r in result.members] == [7, 8, 9]
    assert not result.cancelled and result.is_project_ensemble
    assert [r.id for r in ensemble_members(project)] == ["run-0002", "run-0003", "run-0004"]
    assert project.active_run == own.id                 # the ensemble does not replace the model
    assert all("ensemble member" in r.name for r in result.members)
    # stored: reloading the project finds the same ensemble
    again = Project.load(project.path)
    assert [r.id for r in ensemble_members(again)] == ["run-0002", "run-0003", "run-0004"]
    store = json.loads((project.folder / "experiments.json").read_text())
    assert store["ensemble"] == result.group and store["groups"][result.group]["kind"] == "ensemble"
    info = ensemble_info(again)
    assert info["k"] == 3 and info["seeds"] == [7, 8, 9] and info["matches_model"]


def test_members_differ_and_predict_k_by_n(plain):
    from nnstudio.core.workflow.train import load_run_model, predict

    project, prepared, _own, result = plain
    weights = [load_run_model(project, r).get_weights()[0] for r in result.members]
    assert not np.allclose(weights[0], weights[1]) and not np.allclose(weights[1], weights[2])
    samples = ensemble_predict(project, prepared, "test")
    assert samples.shape == (3, prepared.count("test"), 1)
    np.testing.assert_allclose(samples[1], predict(load_run_model(project, result.members[1]), prepared.x["test"]))
    assert np.std(samples, axis=0).min() > 0               # the members disagree everywhere a little
    many = ensemble_outputs(project, {"a": prepared.x["val"], "b": prepared.x["test"][:5]})
    assert many["a"].shape == (3, prepared.count("val"), 1) and many["b"].shape == (3, 5, 1)
    with pytest.raises(NnstudioError, match="inputs of shape"):
        ensemble_outputs(project, {"x": np.zeros((4, 5), "float32")})


def test_plain_regression_sigma_is_the_members_spread_and_says_so(plain):
    from nnstudio.core.workflow.evaluate import evaluate

    project, prepared, _own, result = plain
    u = evaluate(project, method="ensemble", prepared=prepared, reference_size=50)
    samples = ensemble_predict(project, prepared, "test")[..., 0]
    a = u.uncertainty.arrays
    np.testing.assert_allclose(a["mean"], samples.mean(axis=0))
    np.testing.assert_allclose(a["sigma"], samples.std(axis=0))         # population spread of K members
    np.testing.assert_allclose(a["sigma_epistemic"], a["sigma"])
    assert "epistemic only" in u.uncertainty.method_label and "conformal intervals are the honest" in u.uncertainty.notes[0]
    assert u.uncertainty.ensemble["members"] == [r.id for r in result.members]
    np.testing.assert_array_equal(a["ood"], a["sigma_epistemic"] > a["ood_threshold"])
    # conformal on the ensemble mean, not on the project's own model
    cal = ensemble_predict(project, prepared, "cal")[..., 0].mean(axis=0)
    resid = np.sort(np.abs(prepared.y["cal"] - cal))
    n = len(resid)
    q = resid[int(np.ceil((n + 1) * 0.9)) - 1]                        # split-conformal quantile at 90%
    np.testing.assert_allclose(a["conformal_high"] - a["mean"], q, rtol=1e-6)


def test_stopped_ensemble_keeps_the_finished_member(tmp_path, tensorflow):
    prepared = toy()
    project = make_project(tmp_path)
    task = StopAfterFirst()
    result = train_ensemble(project, k=3, task=task, prepared=prepared)
    assert result.cancelled and len(result.runs) == 1
    assert [r.id for r in ensemble_members(project)] == ["run-0001"]
    assert "stopped after 1 of 3 members" in task.messages[-1]
    assert any(t.startswith("member 1/3") for t in task.progress)
    from nnstudio.core.workflow.evaluate import evaluate

    with pytest.raises(NnstudioError, match="only 1 finished member"):
        evaluate(project, method="ensemble", prepared=prepared)
    # a second stopped retrain leaves a usable ensemble alone
    full = train_ensemble(project, k=2, prepared=prepared)
    assert [r.id for r in ensemble_members(project)] == [r.id for r in full.members]
    again = train_ensemble(project, k=2, task=StopAfterFirst(), prepared=prepared)
    assert not again.is_project_ensemble
    assert [r.id for r in ensemble_members(project)] == [r.id for r in full.members]


def test_heteroscedastic_members_add_their_own_sigma(tmp_path, tensorflow):
    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow.evaluate import evaluate

    prepared = toy()
    project = make_project(tmp_path, template="heteroscedastic-mlp")
    train_ensemble(project, k=2, epochs=2, prepared=prepared)
    samples = ensemble_predict(project, prepared, "test")
    assert samples.shape == (2, prepared.count("test"), 2)
    u = evaluate(project, method="ensemble", prepared=prepared, reference_size=50)
    a = u.uncertainty.arrays
    spread = samples[..., 0].std(axis=0)
    # total σ² = spread² + mean of the members' σ², worked out here from the raw outputs
    np.testing.assert_allclose(a["sigma"], np.sqrt(spread ** 2 + np.mean(samples[..., 1] ** 2, axis=0)))
    assert np.all(a["sigma"] >= spread) and np.all(a["sigma"] > a["sigma_epistemic"])
    assert "mean-and-variance heads" in u.uncertainty.method_label and not u.uncertainty.notes
    y = prepared.y["test"].astype(float)
    assert u.uncertainty.summary["coverage_95"] == ev.gaussian_coverage(y, a["mean"], a["sigma"], 0.95)


def test_classification_ensemble_entropy_and_mutual_information(tmp_path, tensorflow):
    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow.evaluate import evaluate

    prepared = toy("classification")
    project = make_project(tmp_path, template="dense", task="classification", n_classes=3)
    train_ensemble(project, k=3, prepared=prepared)
    u = evaluate(project, method="ensemble", prepared=prepared)   # every training row
    samples = ensemble_predict(project, prepared, "test")
    a = u.uncertainty.arrays
    assert u.uncertainty.method == "ensemble" and u.uncertainty.method_label == "deep ensemble of 3"
    np.testing.assert_allclose(a["proba"], samples.mean(axis=0))
    mi, h = a["mutual_information"], a["entropy"]
    assert np.all(mi >= 0) and mi.max() > 0
    assert np.all(h >= mi - 1e-12)                      # the epistemic part is part of the entropy
    np.testing.assert_allclose(mi, ev.mutual_information(samples))
    np.testing.assert_allclose(h, ev.predictive_entropy(samples.mean(axis=0)))
    # the reference is the held-out calibration split, never the (fitted) training split
    ref = ev.mutual_information(ensemble_outputs(project, {"r": prepared.x["cal"]})["r"])
    assert a["ood_threshold"] == pytest.approx(float(np.quantile(ref, 0.99)))
    assert u.uncertainty.summary["ood_reference"] == "calibration"
    assert u.uncertainty.summary["ood_flag_rate"] == pytest.approx(a["ood"].mean())
    np.testing.assert_array_equal(a["ood"], mi > a["ood_threshold"])
    assert u.uncertainty.summary["mean_mutual_information"] == pytest.approx(mi.mean())
    assert u.uncertainty.histograms["mutual_information"][0].sum() == prepared.count("test")


def test_no_ensemble_and_bad_sizes(tmp_path, tensorflow):
    from nnstudio.core.workflow.evaluate import evaluate

    prepared = toy()
    project = make_project(tmp_path)
    assert ensemble_members(project) == [] and ensemble_info(project) is None
    with pytest.raises(NnstudioError, match="Train an ensemble first"):
        ensemble_predict(project, prepared)
    with pytest.raises(NnstudioError, match="Train an ensemble first"):
        evaluate(project, method="ensemble", prepared=prepared)
    for k in (1, 0, 2.5, True):
        with pytest.raises(NnstudioError, match="between 2 and 100 members"):
            train_ensemble(project, k=k, prepared=prepared)
    project.uncertainty.ensemble_size = 1                  # the default K comes from the project
    with pytest.raises(NnstudioError, match=r"got 1\)"):
        train_ensemble(project, prepared=prepared)
    unsaved = Project()
    unsaved.model = project.model
    with pytest.raises(NnstudioError, match="Save the project first"):
        train_ensemble(unsaved, k=2, prepared=prepared)
