"""Predict with a run trained on the sky symmetries: the same test-time augmentation as evaluation,
so the catalog's probabilities on the project's own test images are evaluation's."""
import numpy as np
import pytest
from predict_projects import lens_project

from nnstudio.core.workflow.predict import predict_project


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"), epochs=1)


def test_predict_averages_the_eight_views_as_evaluate_does(lens):
    from nnstudio.core.training.augment import uses_tta
    from nnstudio.core.workflow.data import prepare_project
    from nnstudio.core.workflow.evaluate import evaluate

    project, _, _ = lens
    run = project.run()
    assert uses_tta(run.settings, prepare_project(project))     # square cutouts: trained on the symmetries
    ev = evaluate(project, baselines=False)
    rows = np.asarray(ev.arrays["index"])
    result = predict_project(project, project.resolve(project.data.path))
    assert result.meta["tta"].startswith("mean of the 8")
    # the temperature fitted on the validation split's view-averaged logits is evaluation's
    assert float(result.meta["temperat"]) == pytest.approx(ev.uncertainty.temperature, rel=1e-4)
    project.uncertainty.temperature_scaling = False
    try:
        raw = predict_project(project, project.resolve(project.data.path))
    finally:
        project.uncertainty.temperature_scaling = True
    np.testing.assert_allclose(raw.columns["p_1"][rows], ev.arrays["proba"], atol=2e-6)
    # and not the single view's: the augmentation changes the numbers
    from nnstudio.core.workflow.train import load_run_model, predict

    prepared = prepare_project(project)
    single = predict(load_run_model(project), prepared.x["test"])[:, -1]
    assert np.max(np.abs(single - ev.arrays["proba"])) > 1e-4
