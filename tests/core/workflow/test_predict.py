"""Predict: a trained run on new data, through the project's own preparation, as a catalog aligned
1:1 with the input."""
from pathlib import Path

import numpy as np
import pytest
from predict_projects import galaxy_project, lens_project, write_cutouts

from nnstudio.core.data.catalog import merge_catalogs, read_catalog
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.predict import parse_shard, predict_project
from nnstudio.errors import Cancelled, NnstudioError

ASTROPY_DATA = Path(__import__("astropy").__file__).parent / "io" / "fits" / "tests" / "data"


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"))


@pytest.fixture(scope="module")
def galaxy(tmp_path_factory, tensorflow):
    return galaxy_project(tmp_path_factory.mktemp("galaxy"))


def _model_scores(project, images):
    """The run's own P(lens) on ``images``, scaled as at training and averaged over the 8 sky
    symmetries it was trained on, as evaluation does: what the catalog must rank by."""
    from nnstudio.core.data.prepare import apply_scaler
    from nnstudio.core.workflow.train import load_run_model, predict

    model = load_run_model(project)
    x = apply_scaler(project.preparation.fitted, images[..., None])
    return predict(model, x, tta=project.run().settings.get("augmentation") == "sky")[:, -1]


def test_a_folder_gives_one_row_per_file_in_sorted_relative_path_order(lens, tmp_path):
    from sklearn.metrics import roc_auc_score

    project, images, labels = lens
    rng = np.random.default_rng(0)
    names = [f"{'lens' if y else 'other'}/night{rng.integers(1, 4)}/obj{i:03d}.fits" for i, y in enumerate(labels)]
    order = rng.permutation(len(names))
    write_cutouts(tmp_path / "new", images[order], [names[i] for i in order])
    result = predict_project(project, tmp_path / "new", tmp_path / "cat.fits")
    cat = read_catalog(tmp_path / "cat.fits")
    assert len(cat) == len(names) == result.n_rows
    expected = sorted(names)
    assert list(cat["source"]) == expected
    assert list(cat["row"]) == list(range(len(names)))
    # the catalog's calibrated probabilities rank the new cutouts exactly as the model does
    by_name = {n: i for i, n in enumerate(names)}
    truth = np.array([labels[by_name[n]] for n in expected])
    model_p = _model_scores(project, images[[by_name[n] for n in expected]])
    auc_catalog = roc_auc_score(truth, np.asarray(cat["p_1"]))
    # (the calibrated column ranks by the views' mean logit, the model's score by their mean probability)
    assert auc_catalog == pytest.approx(roc_auc_score(truth, model_p), abs=2e-3)
    assert auc_catalog > 0.6
    # temperature scaling changes the numbers, not their order
    assert float(cat.meta["temperat"]) > 0
    assert np.allclose(np.asarray(cat["p_0"]) + np.asarray(cat["p_1"]), 1.0)
    assert set(cat["predicted"]) <= {"0", "1"}
    for s in cat["conformal_set"]:
        assert set(str(s).split("|")) <= {"0", "1"}
    assert cat.meta["nnrun"] == project.active_run and len(cat.meta["modelsha"]) == 16
    assert "ood_score" in cat.colnames and np.isfinite(np.asarray(cat["ood_score"])).all()
    assert result.metrics is None   # sub-folders named 'lens'/'other' are not the model's classes


def test_class_sub_folders_give_an_external_test_with_intervals(lens, tmp_path):
    from sklearn.metrics import roc_auc_score

    project, images, labels = lens
    names = [f"{y}/obj{i:03d}.fits" for i, y in enumerate(labels)]
    write_cutouts(tmp_path / "new", images, names)
    result = predict_project(project, tmp_path / "new")
    truth = np.array([int(n.split("/")[0]) for n in sorted(names)])
    assert result.metrics["n"] == len(names)
    assert result.metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, result.columns["p_1"]), abs=2e-3)
    low, high = result.metrics_ci["roc_auc"]
    assert low <= result.metrics["roc_auc"] <= high


def test_ra_dec_come_from_each_cutouts_wcs(lens, tmp_path):
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS

    project, images, _ = lens
    with fits.open(ASTROPY_DATA / "test0.fits") as hdul:     # a real header with an RA---TAN WCS
        header = hdul[2].header
        data = hdul[2].data.astype(np.float32)
    wcs = WCS(header)
    (tmp_path / "new").mkdir()
    expected = []
    for i, centre in enumerate([(16.0, 16.0), (20.0, 23.0), (23.5, 18.0)]):
        cut = Cutout2D(data, centre, 32, wcs=wcs)
        fits.PrimaryHDU(images[i], header=cut.wcs.to_header()).writeto(tmp_path / "new" / f"c{i}.fits")
        sky = wcs.pixel_to_world(*cut.to_original_position((15.5, 15.5)))
        expected.append((sky.icrs.ra.deg, sky.icrs.dec.deg))
    result = predict_project(project, tmp_path / "new", tmp_path / "cat.ecsv")
    cat = read_catalog(tmp_path / "cat.ecsv")
    assert np.allclose(np.asarray(cat["ra"]), [e[0] for e in expected], atol=1e-7)
    assert np.allclose(np.asarray(cat["dec"]), [e[1] for e in expected], atol=1e-7)
    assert result.n_flagged == 0


def test_mismatched_inputs_are_refused_in_one_line(lens, galaxy, tmp_path):
    project, images, _ = lens
    with pytest.raises(NnstudioError, match=r"The images are 40×40, the model takes 32×32\."):
        predict_project(project, ASTROPY_DATA / "test0.fits", hdu=2)
    write_cutouts(tmp_path / "small", images[:3, :24, :24], ["a.fits", "b.fits", "c.fits"])
    with pytest.raises(NnstudioError, match=r"The images are 24×24, the model takes 32×32\."):
        predict_project(project, tmp_path / "small")
    gproject, cols = galaxy
    from nnstudio.core.examples._write import write_csv

    write_csv(tmp_path / "t.csv", {"log_luminosity": cols["log_luminosity"], "z": cols["redshift"]})
    with pytest.raises(NnstudioError, match=r"^Columns g_r, redshift are missing from t\.csv\.$"):
        predict_project(gproject, tmp_path / "t.csv")
    with pytest.raises(NnstudioError, match="holds images but the model takes the table columns"):
        predict_project(gproject, tmp_path / "small")


def test_bad_folders_unreadable_files_and_mixed_sizes(lens, tmp_path):
    project, images, _ = lens
    (tmp_path / "empty").mkdir()
    with pytest.raises(NnstudioError, match="holds no FITS cutouts"):
        predict_project(project, tmp_path / "empty")
    write_cutouts(tmp_path / "mixed", [images[0], images[1, :30, :30]], ["a.fits", "b.fits"])
    with pytest.raises(NnstudioError, match="different sizes: a.fits is 32×32 but b.fits is 30×30"):
        predict_project(project, tmp_path / "mixed")
    write_cutouts(tmp_path / "some", images[:4], ["a.fits", "b.fits", "d.fits", "e.fits"])
    (tmp_path / "some" / "c.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50 + b"garbage")
    with pytest.raises(NnstudioError, match=r"1 of 5 file\(s\) cannot be read: c.fits\. Use --skip-bad"):
        predict_project(project, tmp_path / "some")
    result = predict_project(project, tmp_path / "some", tmp_path / "cat.csv", skip_bad=True)
    cat = read_catalog(tmp_path / "cat.csv")
    assert list(cat["source"]) == ["a.fits", "b.fits", "c.fits", "d.fits", "e.fits"]
    flags = [str(f) if f is not np.ma.masked else "" for f in cat["flag"].filled("")]
    assert flags[2].startswith("unreadable") and not any(flags[:2] + flags[3:])
    assert not np.isfinite(cat["p_1"][2]) and np.isfinite(np.asarray(cat["p_1"])[[0, 1, 3, 4]]).all()
    assert result.n_flagged == 1


def test_shards_merge_back_into_the_whole_catalog(lens, tmp_path):
    project, images, _ = lens
    write_cutouts(tmp_path / "new", images[:25], [f"c{i:02d}.fits" for i in range(25)])
    whole = predict_project(project, tmp_path / "new", tmp_path / "all.fits")
    parts = [predict_project(project, tmp_path / "new", tmp_path / f"part{k}.fits", shard=(k, 3)).path
             for k in (1, 2, 3)]
    assert list(read_catalog(parts[1])["row"]) == list(range(1, 25, 3))
    with pytest.raises(NnstudioError, match="cover 17 of 25 rows; row 2 and 7 more are missing"):
        merge_catalogs(parts[:2], tmp_path / "bad.fits")
    merged = read_catalog(merge_catalogs(parts, tmp_path / "merged.fits"))
    assert list(merged["row"]) == list(range(25))
    assert list(merged["source"]) == list(whole.columns["source"])
    assert np.allclose(np.asarray(merged["p_1"]), whole.columns["p_1"], atol=1e-6)
    with pytest.raises(NnstudioError, match="K/N with K from 1 to N"):
        parse_shard("4/3")


def test_a_cube_is_predicted_in_chunks_and_can_be_cancelled(lens, tmp_path):
    from nnstudio.core.examples._write import write_fits_cube

    project, images, _ = lens
    write_fits_cube(tmp_path / "cube.fits", images)
    small = predict_project(project, tmp_path / "cube.fits", chunk_bytes=32 * 32 * 4 * 7)
    big = predict_project(project, tmp_path / "cube.fits")
    assert list(small.columns["index"]) == list(range(len(images)))
    assert np.allclose(small.columns["p_1"], big.columns["p_1"], atol=1e-6)

    class StopAfterFirst(Task):
        def report_progress(self, done, total, text=""):
            if text.startswith("Predicting"):
                self.stop.set()

    with pytest.raises(Cancelled):
        predict_project(project, tmp_path / "cube.fits", tmp_path / "cat.fits", chunk_bytes=32 * 32 * 4 * 7,
                        task=StopAfterFirst())
    assert not (tmp_path / "cat.fits").exists()
    assert not list(tmp_path.glob(".cat*"))


def test_a_table_without_its_target_gets_predictions_in_the_targets_units(galaxy, tmp_path):
    from nnstudio.core.examples._write import write_csv

    project, cols = galaxy
    inputs = {k: cols[k] for k in ("log_luminosity", "g_r", "redshift")}
    inputs["g_r"] = inputs["g_r"].copy()
    inputs["g_r"][3] = np.nan
    write_csv(tmp_path / "new.csv", {"objid": np.arange(len(cols["g_r"])) + 1000, **inputs})
    result = predict_project(project, tmp_path / "new.csv", tmp_path / "cat.vot")
    cat = read_catalog(tmp_path / "cat.vot")
    assert list(cat["objid"]) == list(range(1000, 1000 + len(cols["g_r"])))
    assert str(cat["flag"][3]) == "missing input: g_r" and not np.isfinite(cat["predicted"][3])
    pred = np.delete(np.asarray(cat["predicted"]), 3)
    truth = np.delete(cols["log_stellar_mass"], 3)
    assert abs(np.median(pred) - np.median(truth)) < 0.5          # solar masses in log10, not z-scores
    lower, upper = np.delete(np.asarray(cat["lower"]), 3), np.delete(np.asarray(cat["upper"]), 3)
    assert (lower < pred).all() and (pred < upper).all()
    assert (np.delete(np.asarray(cat["sigma"]), 3) > 0).all()
    assert result.metrics is None

    write_csv(tmp_path / "labelled.csv", {**{k: cols[k] for k in ("log_luminosity", "g_r", "redshift")},
                                          "log_stellar_mass": cols["log_stellar_mass"]})
    labelled = predict_project(project, tmp_path / "labelled.csv")
    rmse = float(np.sqrt(np.mean((labelled.columns["predicted"] - cols["log_stellar_mass"]) ** 2)))
    assert labelled.metrics["rmse"] == pytest.approx(rmse, rel=1e-6)
    low, high = labelled.metrics_ci["rmse"]
    assert low <= rmse <= high
    assert 0.0 <= labelled.metrics["conformal_coverage"] <= 1.0


def test_a_project_without_a_trained_run_is_refused(galaxy, tmp_path):
    from nnstudio.core.project import Project

    project, _ = galaxy
    fresh = Project.from_dict(project.to_dict(), path=project.path)
    fresh.runs, fresh.active_run = [], None
    with pytest.raises(NnstudioError, match="No trained model yet"):
        predict_project(fresh, project.resolve(project.data.path))
