"""`nnstudio explain`: maps as FITS (with the cutouts' WCS) and PNG for images, importance with
intervals for tables, one-line refusals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.core.evaluation.point_sources import point_source_images


def _wcs_header(k: int):
    from astropy.io import fits

    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=16.5, CRPIX2=16.5, CRVAL1=150.0 + k * 0.01,
             CRVAL2=2.0, CDELT1=-5e-5, CDELT2=5e-5, CUNIT1="deg", CUNIT2="deg")
    return h


@pytest.fixture(scope="module")
def images_project(tmp_path_factory, tensorflow):
    from astropy.io import fits

    from nnstudio.core.workflow.projects import new_project
    from nnstudio.core.workflow.train import train_project

    folder = tmp_path_factory.mktemp("sources")
    x, y, _ = point_source_images(160, seed=3)
    for k, (img, label) in enumerate(zip(x, y)):
        d = folder / "cutouts" / ("source" if label else "empty")
        d.mkdir(parents=True, exist_ok=True)
        fits.PrimaryHDU(img[..., 0], header=_wcs_header(k)).writeto(d / f"c{k:03d}.fits")
    project = new_project(str(folder / "cutouts"), folder / "sources.nnproj")
    train_project(project, epochs=1)
    project.save()
    return project


@pytest.fixture(scope="module")
def table_project(tmp_path_factory, tensorflow):
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow.projects import new_project
    from nnstudio.core.workflow.train import train_project

    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    cols = {"a": rng.normal(size=600), "b": rng.normal(size=600), "c": rng.normal(size=600)}
    cols["y"] = 2.0 * cols["b"] + 0.1 * rng.normal(size=600)          # b decides
    write_csv(folder / "t.csv", cols)
    project = new_project(str(folder / "t.csv"), folder / "t.nnproj", target="y", problem="regression",
                          inputs=["a", "b", "c"])
    train_project(project, epochs=30)
    project.save()
    return project


def test_images_give_one_fits_map_per_row_with_the_cutouts_wcs(images_project, run_cli, tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS

    code, out, err = run_cli("explain", images_project.path, "--rows", "3,10,17", "--out", tmp_path / "maps", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["kind"] == "images" and d["rows"] == [3, 10, 17] and d["method"] == "ig"
    assert set(d["sanity"]) >= {"mean_correlation", "informative", "verdict", "correlations"}
    assert len(d["sanity"]["correlations"]) == 3
    assert d["deletion"]["fractions"][0] == 0.0
    for row in (3, 10, 17):
        with fits.open(tmp_path / "maps" / f"row-{row:06d}.fits") as hdul:
            assert hdul[0].data.shape == (32, 32)
            assert hdul[0].header["EXPLROW"] == row
            assert WCS(hdul[0].header).has_celestial
        assert (tmp_path / "maps" / f"row-{row:06d}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the FITS map is the attribution summed over bands: integrated gradients are complete, so the sum of
    # the map is close to the explained score minus the score of the sky level
    assert all(0.0 <= s <= 1.0 for s in d["scores"])


def test_a_split_with_gradcam_as_text(images_project, run_cli, tmp_path):
    code, out, err = run_cli("explain", images_project.path, "--split", "test", "--method", "gradcam",
                             "--out", tmp_path / "cam")
    assert code == 0, err
    assert "Grad-CAM" in out and "deletion" in out
    n = len(list((tmp_path / "cam").glob("row-*.fits")))
    assert n > 10 and n == len(list((tmp_path / "cam").glob("row-*.png")))


def test_tables_rank_the_deciding_input_with_intervals(table_project, run_cli, tmp_path):
    code, out, err = run_cli("explain", table_project.path, "--out", tmp_path / "t", "--json")
    assert code == 0, err
    d = json.loads(out)
    imp = d["importance"]
    assert imp[0]["input"] == "b"
    assert imp[0]["low"] > 0.5                                    # RMSE in y's units rises by ~2.8
    for r in imp[1:]:
        assert r["low"] <= 0.0 <= r["high"] or r["high"] < 0.1
    assert {p["input"] for p in d["partial_dependence"]} == {"a", "b", "c"}
    assert (tmp_path / "t" / "explanation.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--rows", "1,x"], "--rows takes"),
    (["--rows", "99999"], "not in the prepared data"),
])
def test_refusals_are_one_line(images_project, run_cli, tmp_path, argv, message):
    code, _out, err = run_cli("explain", images_project.path, *argv, "--out", tmp_path / "x")
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("nnstudio:")]
    assert len(errors) == 1 and message in errors[0]


def test_a_table_with_a_method_is_bad_usage(run_cli, tmp_path):
    code, _out, err = run_cli("explain", tmp_path / "p.nnproj", "--method", "shap", "--out", tmp_path)
    assert code == 2 and "invalid choice" in err


def test_report_explains_tables_with_intervals_and_can_skip_it(table_project, run_cli, tmp_path):
    code, _, err = run_cli("report", table_project.path, "--out", tmp_path / "r.html")
    assert code == 0, err
    html = (tmp_path / "r.html").read_text()
    assert "Explain: which inputs matter" in html
    # b decides, so it heads the importance table, with its interval
    table = html.split("Explain: which inputs matter")[1]
    first = table.index("<td>b</td>")
    assert first < table.index("<td>a</td>") and first < table.index("<td>c</td>")
    assert "95% interval" in table and "Partial dependence on b" in table
    code, _, err = run_cli("report", table_project.path, "--out", tmp_path / "plain.html", "--no-explain")
    assert code == 0, err
    assert "Explain:" not in (tmp_path / "plain.html").read_text()


def test_report_shows_image_overlays_with_their_sanity_verdict(images_project, run_cli, tmp_path):
    from nnstudio.core.workflow.report import REPORT_SAMPLES

    code, _, err = run_cli("report", images_project.path, "--out", tmp_path / "r.html")
    assert code == 0, err
    html = (tmp_path / "r.html").read_text()
    section = html.split("Explain: which pixels matter")[1]
    assert section.count("data:image/png;base64,") == REPORT_SAMPLES
    assert "integrated gradients" in section and "randomised" in section and "Deletion curve" in section


def test_png_overlays_put_row_0_at_the_bottom_as_the_fits_map(images_project, run_cli, tmp_path):
    import zlib

    from astropy.io import fits

    code, _, err = run_cli("explain", images_project.path, "--rows", "5", "--out", tmp_path)
    assert code == 0, err
    data = (tmp_path / "row-000005.png").read_bytes()
    w = int.from_bytes(data[16:20], "big")
    raw = zlib.decompress(data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8])
    rgb = np.frombuffer(raw, np.uint8).reshape(-1, 1 + 3 * w)[:, 1:].reshape(-1, w, 3).astype(float)
    m = fits.getdata(tmp_path / "row-000005.fits")
    zoom = w // m.shape[1]
    redness = (rgb[..., 0] - rgb[..., 2])[::zoom, ::zoom]        # orange over grey: red minus blue
    top = np.unravel_index(np.argmax(m), m.shape)
    # the most attributed pixel is the reddest, counted from the bottom of the PNG
    assert redness[m.shape[0] - 1 - top[0], top[1]] == redness.max()


def test_new_cutouts_are_explained_as_the_same_cutout_in_the_project(images_project, run_cli, tmp_path):
    """`explain --input`: rows of new data (numbered as the Predict catalog's `row`), prepared as
    `predict` prepares them, give the same maps as the same cutouts inside the project, with their WCS."""
    import shutil

    from astropy.io import fits
    from astropy.wcs import WCS

    from nnstudio.core.workflow.data import load_dataset

    files = load_dataset(images_project).columns["file"]
    new = tmp_path / "new"
    new.mkdir()
    for k, row in enumerate((4, 11)):          # copied under new names, so the folder's order is known
        shutil.copy(Path(images_project.resolved_selection().path) / str(files[row]), new / f"n{k}.fits")
    code, out, err = run_cli("explain", images_project.path, "--input", new, "--rows", "1,0", "--out",
                             tmp_path / "new_maps", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["rows"] == [0, 1] and d["splits"] == ["new data", "new data"]
    code, out, err = run_cli("explain", images_project.path, "--rows", "4,11", "--out", tmp_path / "own", "--json")
    assert code == 0, err
    own = json.loads(out)
    np.testing.assert_allclose(d["scores"], own["scores"], rtol=1e-5)
    for k, row in enumerate((4, 11)):
        new_map = fits.getdata(tmp_path / "new_maps" / f"row-{k:06d}.fits")
        own_map = fits.getdata(tmp_path / "own" / f"row-{row:06d}.fits")
        assert np.abs(own_map).max() > 0
        np.testing.assert_allclose(new_map, own_map, rtol=1e-4, atol=1e-4 * np.abs(own_map).max())
        assert WCS(fits.getheader(tmp_path / "new_maps" / f"row-{k:06d}.fits")).has_celestial


@pytest.mark.parametrize("argv, code, message", [
    (["--input", "NEW", "--rows", "0,7"], 1, "not row 7"),
    (["--input", "NEW"], 2, "needs --rows"),
    (["--input", "CSV", "--rows", "0"], 1, "is a table"),
    (["--rows", "0", "--hdu", "1"], 2, "part of --input"),
])
def test_new_input_refusals_are_one_line(images_project, run_cli, tmp_path, argv, code, message):
    import shutil

    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow.data import load_dataset

    files = load_dataset(images_project).columns["file"]
    (tmp_path / "new").mkdir()
    shutil.copy(Path(images_project.resolved_selection().path) / str(files[0]), tmp_path / "new" / "a.fits")
    write_csv(tmp_path / "t.csv", {"a": np.arange(3.0)})
    paths = {"NEW": tmp_path / "new", "CSV": tmp_path / "t.csv"}
    got, _out, err = run_cli("explain", images_project.path, *[paths.get(a, a) for a in argv],
                             "--out", tmp_path / "x")
    assert got == code
    said = [line for line in err.splitlines() if line.strip() and not line[:7].rstrip().endswith("%")]  # not progress
    assert len(said) == 1 and message in said[0]


def test_cascade_reinitialises_the_layers_from_the_top(images_project, run_cli, tmp_path):
    from nnstudio.core.workflow.train import load_run_model

    code, out, err = run_cli("explain", images_project.path, "--rows", "3,10", "--cascade", "--out", tmp_path / "c",
                             "--json")
    assert code == 0, err
    d = json.loads(out)
    weighted = [layer.name for layer in load_run_model(images_project).layers if layer.weights]
    assert [c["layer"] for c in d["cascade"]] == weighted[::-1]           # the output layer first
    # with every layer re-initialised, the check is the full randomisation's
    assert d["cascade"][-1]["mean_correlation"] == pytest.approx(d["sanity"]["mean_correlation"], abs=1e-6)
    code, out, err = run_cli("explain", images_project.path, "--rows", "3", "--cascade", "--out", tmp_path / "t")
    assert code == 0, err
    assert out.count("re-initialised from") == len(weighted)
    code, out, _ = run_cli("explain", images_project.path, "--rows", "3", "--out", tmp_path / "n", "--json")
    assert json.loads(out)["cascade"] is None
