"""Baselines beside the network: fitted on the training split, scored like the network, and a
paired verdict that tells a network that earns its parameters from one that does not."""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import mean_squared_error, roc_auc_score

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.evaluation.baselines import features, fit_baselines
from nnstudio.core.examples.synthetic import ToyPredictor, _in_order, toy_classification, toy_regression
from nnstudio.core.workflow.evaluate import evaluate


class Circle:
    """The true probabilities of :func:`ring` (no TensorFlow): a model no linear one can match."""

    output_shape = (None, 1)

    def predict(self, x, batch_size=256, verbose=0):
        r2 = (np.asarray(x, dtype=np.float64)[:, :2] ** 2).sum(axis=1)
        return (1.0 / (1.0 + np.exp(-6.0 * (r2 - 1.4))))[:, None]


def ring(n=2000, seed=0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    p = Circle().predict(x)[:, 0]
    y = (rng.random(n) < p).astype("int64")
    return _in_order(x, y, problem="classification", feature_names=["a", "b", "c"],
                     class_names=["inside", "outside"], target_name="ring")


def test_baseline_scores_are_scikit_learns_own_on_the_same_split():
    prepared = toy_classification(n=1200)
    by_name = {b.name: b for b in fit_baselines(prepared, splits=("test",))}
    direct = LogisticRegressionCV(Cs=8, cv=5, max_iter=2000, scoring="neg_log_loss").fit(prepared.x["train"], prepared.y["train"])
    np.testing.assert_allclose(by_name["logistic"].scores["test"], direct.predict_proba(prepared.x["test"]),
                               rtol=1e-10)
    prior = np.bincount(prepared.y["train"], minlength=3) / len(prepared.y["train"])
    np.testing.assert_allclose(by_name["majority"].scores["test"], np.tile(prior, (prepared.count("test"), 1)))

    reg = toy_regression(n=400)
    ridge = {b.name: b for b in fit_baselines(reg)}["ridge"]
    direct = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(reg.x["train"], reg.y["train"])
    np.testing.assert_allclose(ridge.scores["test"], direct.predict(reg.x["test"]), rtol=1e-6)


def test_images_are_averaged_down_to_a_small_grid():
    x = np.arange(2 * 48 * 48 * 2, dtype=np.float32).reshape(2, 48, 48, 2)
    f = features(x, "images")
    assert f.shape == (2, 16 * 16 * 2)
    assert f[0, 0] == pytest.approx(x[0, :3, :3, 0].mean())


def test_evaluation_reports_two_baselines_with_intervals_in_the_targets_units():
    prepared = toy_regression(n=600)
    prepared.target_scaler = {"mean": 1000.0, "std": 50.0}
    r = evaluate(prepared=prepared, model=ToyPredictor("regression"))
    names = [b.name for b in r.baselines]
    assert names == ["mean", "ridge"]
    t = r.arrays["y_true"]
    mean = r.baselines[0]
    assert mean.metrics["rmse"] == pytest.approx(
        np.sqrt(mean_squared_error(t, np.full_like(t, 1000.0 + 50.0 * prepared.y["train"].mean()))), rel=1e-6)
    assert mean.metrics["rmse"] > 40            # the target's own units (std 50), not standardised
    lo, hi = mean.metrics_ci["rmse"]
    assert lo < mean.metrics["rmse"] < hi
    js = r.to_dict()
    assert set(js["baselines"]) == {"mean", "ridge"} and js["versus_baseline"]["baseline"] == "ridge"
    # the data are linear: ridge is as good as the true relation, and the verdict says so
    assert js["versus_baseline"]["verdict"]["level"] == "warn"


def test_the_verdict_tells_earning_from_not_earning():
    prepared = ring()
    r = evaluate(prepared=prepared, model=Circle())
    v = r.versus_baseline
    assert v["metric"] == "roc_auc" and v["a"] == pytest.approx(r.metrics["roc_auc"])
    assert v["a"] == pytest.approx(roc_auc_score(r.arrays["y_true"], r.arrays["proba"]))
    assert v["interval"][0] > 0.2 and v["verdict"]["level"] == "good"
    assert "beats the best baseline beyond the noise" in v["verdict"]["text"]

    calibrated = toy_classification(n=3000)            # labels drawn from a logistic model
    v2 = evaluate(prepared=calibrated, model=ToyPredictor("classification")).versus_baseline
    assert v2["baseline"] == "logistic" and v2["verdict"]["level"] == "warn"
    assert v2["interval"][0] < 0 < v2["interval"][1]


def test_the_report_sets_the_network_beside_its_baselines(tmp_path):
    from nnstudio.core.project import Project
    from nnstudio.core.workflow.report import write_report

    prepared = toy_regression(n=600)
    r = evaluate(prepared=prepared, model=ToyPredictor("regression"), formula="k + m*a")
    html = write_report(Project(name="toy"), r, tmp_path / "r.html", prepared=prepared).read_text()
    section = html[html.index("Beside the network"):]
    assert "training mean" in section and "ridge regression" in section and "formula k + m*a" in section
    assert r.versus_baseline["verdict"]["text"] in section and "m = " in section and "(95%: [" in section
    assert "<th>problem</th>" in html
