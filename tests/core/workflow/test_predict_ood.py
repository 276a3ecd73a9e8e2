"""Predict's out-of-distribution score: cheap for big inputs, and honest: held-out data like the
training data are flagged at about the nominal 1%, inputs unlike it almost always."""
import numpy as np
import pytest
from predict_projects import galaxy_project

from nnstudio.core.workflow.predict import predict_project


def _features(rng, n, d=12):
    mix = np.random.default_rng(7).normal(size=(d, d))       # correlated, one direction nearly flat
    mix[:, 0] *= 1e-4
    return rng.normal(size=(n, d)) @ mix + 3.0


def test_the_score_is_the_mahalanobis_distance_under_the_training_covariance():
    from nnstudio.core.workflow.predict_calibration import OodScorer

    rng = np.random.default_rng(0)
    train = rng.normal(size=(5000, 4)) @ np.array([[2, 0, 0, 0], [1, 1, 0, 0], [0, 0, .5, 0], [0, 0, 0, 3.]])
    new = rng.normal(0, 3, size=(50, 4))
    prec = np.linalg.inv(np.cov(train, rowvar=False))
    d = new - train.mean(axis=0)
    expected = np.sqrt(np.einsum("ij,jk,ik->i", d, prec, d))
    assert np.allclose(OodScorer(train)(new), expected, rtol=0.02)


def test_the_false_alarm_rate_on_held_out_data_is_near_nominal_and_shifted_data_are_flagged():
    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow.predict_calibration import OodScorer

    rng = np.random.default_rng(1)
    scorer = OodScorer(_features(rng, 2000))
    threshold = ev.ood_threshold(scorer(_features(rng, 2000)), 0.99)
    held_out = scorer(_features(rng, 50_000)) > threshold
    rate = held_out.mean()
    se = np.sqrt(0.01 * 0.99 / 2000)        # the threshold's own sampling error dominates
    assert abs(rate - 0.01) < 4 * se, rate
    shifted = (_features(rng, 2000) - 3.0) * 3.0 + 3.0   # three times as spread: unlike the training data
    assert (scorer(shifted) > threshold).mean() > 0.9


@pytest.fixture(scope="module")
def galaxy(tmp_path_factory, tensorflow):
    return galaxy_project(tmp_path_factory.mktemp("galaxy"))


def test_a_real_projects_new_data_are_flagged_about_as_often_as_nominal(galaxy, tmp_path):
    from nnstudio.core.examples import galaxy_mass
    from nnstudio.core.examples._write import write_csv

    project, _ = galaxy
    keys = ("log_luminosity", "g_r", "redshift")
    cols = galaxy_mass.generate(n=3000, seed=11)
    write_csv(tmp_path / "new.csv", {k: cols[k] for k in keys})
    result = predict_project(project, tmp_path / "new.csv")
    assert result.meta["oodscore"].startswith("mahalanobis")
    rate = float(np.mean(result.columns["ood"]))
    assert rate < 0.05, rate              # nominal 1%, threshold from a calibration split of ~180 rows
    far = {k: cols[k][:200] + (4.0 if k == "log_luminosity" else 0.0) for k in keys}
    write_csv(tmp_path / "far.csv", far)
    assert np.mean(predict_project(project, tmp_path / "far.csv").columns["ood"]) > 0.9


def test_the_held_out_fits_are_kept_beside_the_run_and_refitted_when_what_they_depend_on_changes(galaxy, tmp_path):
    from nnstudio.core.examples import galaxy_mass
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow import predict_calibration as pc

    project, _ = galaxy
    cols = galaxy_mass.generate(n=300, seed=12)
    write_csv(tmp_path / "new.csv", {k: cols[k] for k in ("log_luminosity", "g_r", "redshift")})
    cache = project.run_dir(project.run().id) / pc.CACHE_NAME
    cache.unlink(missing_ok=True)
    first = predict_project(project, tmp_path / "new.csv")
    assert cache.exists()
    fits = []
    real_fit = pc._fit
    pc._fit = lambda *a, **k: fits.append(1) or real_fit(*a, **k)
    try:
        again = predict_project(project, tmp_path / "new.csv")
        assert fits == []                               # read back, not fitted again
        for name in ("predicted", "lower", "upper", "ood_score", "ood"):
            np.testing.assert_array_equal(again.columns[name], first.columns[name])
        level = project.uncertainty.conformal_level
        project.uncertainty.conformal_level = 0.8
        narrower = predict_project(project, tmp_path / "new.csv")
        assert fits == [1]
        assert np.all(narrower.columns["upper"] - narrower.columns["lower"]
                      < first.columns["upper"] - first.columns["lower"])
    finally:
        pc._fit = real_fit
        project.uncertainty.conformal_level = level
