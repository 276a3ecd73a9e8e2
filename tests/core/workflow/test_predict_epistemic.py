"""Predict's epistemic column: MC dropout as the Uncertainty step measures it, with masks seeded
per row so that a row's value does not depend on its shard, chunk or batch."""
import numpy as np
import pytest
from predict_projects import lens_project

from nnstudio.core.workflow.predict import predict_project
from nnstudio.errors import NnstudioError


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"))


def test_mc_dropout_mutual_information_is_the_same_in_any_shard_chunk_or_batch(lens, tmp_path):
    from nnstudio.core.examples._write import write_fits_cube

    project, images, _ = lens
    project.uncertainty.mc_samples = 6
    write_fits_cube(tmp_path / "new.fits", images[:60])
    whole = predict_project(project, tmp_path / "new.fits", epistemic="mc", batch_size=64)
    mi = whole.columns["mutual_information"]
    assert mi.shape == (60,) and np.isfinite(mi).all() and (mi >= 0).all() and mi.max() > 0
    assert whole.meta["epistem"].startswith("mc_dropout T=6")
    again = predict_project(project, tmp_path / "new.fits", epistemic="mc", batch_size=7,
                            chunk_bytes=4 * 32 * 32 * 11)
    np.testing.assert_allclose(again.columns["mutual_information"], mi, rtol=1e-5, atol=1e-7)
    for k in (1, 2, 3):
        part = predict_project(project, tmp_path / "new.fits", epistemic="mc", shard=(k, 3), batch_size=5)
        np.testing.assert_allclose(part.columns["mutual_information"], mi[k - 1::3], rtol=1e-5, atol=1e-7)
    # "auto" follows the project's method; without one there is no epistemic column
    assert "mutual_information" not in predict_project(project, tmp_path / "new.fits").columns


def test_seeded_passes_spread_as_much_as_the_uncertainty_steps_mc_dropout(lens):
    from nnstudio.core import evaluation as ev
    from nnstudio.core.data.prepare import apply_scaler
    from nnstudio.core.evaluation.seeded_dropout import SeededMC
    from nnstudio.core.workflow.train import load_run_model

    project, images, _ = lens
    model = load_run_model(project)
    x = apply_scaler(project.preparation.fitted["input"], images[:150, ..., None].astype(np.float32))
    seeded = SeededMC(model, 30, x.shape[1:], seed=0)(x, np.arange(len(x)))
    plain = ev.mc_dropout_predict(model, x, n_passes=30)
    assert seeded.shape == plain.shape
    # the same dropout rate: the spread of the passes agrees on average (the masks differ)
    ratio = ev.mutual_information(seeded).mean() / ev.mutual_information(plain).mean()
    assert 0.75 < ratio < 1.33, ratio
    assert np.mean(np.abs(seeded.mean(axis=0) - plain.mean(axis=0))) < 0.04


def test_an_unknown_choice_or_a_missing_ensemble_is_refused_in_one_line(lens, tmp_path):
    from nnstudio.core.examples._write import write_fits_cube

    project, images, _ = lens
    write_fits_cube(tmp_path / "new.fits", images[:4])
    with pytest.raises(NnstudioError, match="--epistemic takes"):
        predict_project(project, tmp_path / "new.fits", epistemic="bayes")
    with pytest.raises(NnstudioError, match="Train an ensemble first"):
        predict_project(project, tmp_path / "new.fits", epistemic="ensemble")
