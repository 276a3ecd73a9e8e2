"""`nnstudio predict`: a catalog from the command line, shards and their merge, refusals in one line."""
import json

import numpy as np
import pytest
from predict_projects import galaxy_project, lens_project, write_cutouts

from nnstudio.core.data.catalog import read_catalog


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"))


def test_predict_a_folder_as_json_and_as_text(lens, run_cli, tmp_path):
    project, images, labels = lens
    write_cutouts(tmp_path / "new", images[:12], [f"{y}/c{i:02d}.fits" for i, y in enumerate(labels[:12])])
    code, out, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "cat.fits",
                             "--batch-size", "5", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["rows"] == 12 and d["flagged"] == 0 and d["problem"] == "classification"
    assert d["provenance"]["nnrun"] == project.active_run
    assert "roc_auc" in d["external_test"]["metrics_ci"]
    assert "Predicting: 12 of 12 rows" in err           # progress on stderr, stdout pure JSON
    cat = read_catalog(tmp_path / "cat.fits")
    assert list(cat["source"]) == sorted(f"{y}/c{i:02d}.fits" for i, y in enumerate(labels[:12]))

    code, out, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "cat.txt",
                             "--format", "csv")
    assert code == 0, err
    assert out.startswith(f"{tmp_path / 'cat.txt'}: 12 rows (0 flagged)")
    assert "external test on the input's own 'is_lens' (12 rows):" in out and "95% [" in out
    assert (tmp_path / "cat.txt").read_text().startswith("# nnproj = lens")


def test_shards_and_merge(lens, run_cli, tmp_path):
    project, images, _ = lens
    files = write_cutouts(tmp_path / "new", images[:10], [f"c{i}.fits" for i in range(10)])
    parts = []
    for k in (1, 2):
        out = tmp_path / f"part{k}.ecsv"
        code, _, err = run_cli("predict", project.path, *files, "--out", out, "--shard", f"{k}/2")
        assert code == 0, err
        parts.append(out)
    assert list(read_catalog(parts[0])["row"]) == [0, 2, 4, 6, 8]
    code, out, err = run_cli("predict", "--merge", *parts, "--out", tmp_path / "all.fits")
    assert code == 0, err
    cat = read_catalog(tmp_path / "all.fits")
    assert list(cat["row"]) == list(range(10))
    assert list(cat["source"]) == [str(f) for f in files]
    assert run_cli("predict", project.path, "--merge", *parts, "--out", tmp_path / "x.fits")[0] == 2
    assert run_cli("predict", "--out", tmp_path / "x.fits")[0] == 2
    code, _, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "x.fits", "--shard", "0/2")
    assert code == 1 and "K/N with K from 1 to N" in err


def test_refusals_are_one_line(lens, run_cli, tmp_path):
    project, images, _ = lens
    write_cutouts(tmp_path / "small", images[:2, :20, :20], ["a.fits", "b.fits"])
    code, out, err = run_cli("predict", project.path, tmp_path / "small", "--out", tmp_path / "c.fits")
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1] == "nnstudio: error: The images are 20×20, the model takes 32×32."
    assert "Preparing" not in err       # refused before the project's own data are read
    assert not (tmp_path / "c.fits").exists()
    code, _, err = run_cli("predict", project.path, tmp_path / "small", "--out", tmp_path / "c.fits",
                           "--run", "run-0099")
    assert code == 1 and "no run run-0099" in err


def test_a_table_gets_predictions_in_the_targets_units(run_cli, tmp_path, tensorflow):
    from nnstudio.core.examples._write import write_csv

    project, cols = galaxy_project(tmp_path / "g", epochs=1)
    write_csv(tmp_path / "new.csv", {k: cols[k] for k in ("log_luminosity", "g_r", "redshift")})
    code, out, err = run_cli("predict", project.path, tmp_path / "new.csv", "--out", tmp_path / "m.fits", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["external_test"] is None
    cat = read_catalog(tmp_path / "m.fits")
    assert {"predicted", "sigma", "lower", "upper", "ood_score", "ood"} <= set(cat.colnames)
    assert 8.0 < float(np.median(cat["predicted"])) < 12.5      # log10 solar masses


def test_epistemic_mc_adds_mutual_information(lens, run_cli, tmp_path):
    project, images, _ = lens
    write_cutouts(tmp_path / "new", images[:8], [f"c{i}.fits" for i in range(8)])
    code, out, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "cat.fits",
                             "--epistemic", "mc", "--json")
    assert code == 0, err
    assert "mutual_information" in json.loads(out)["columns"]
    mi = np.asarray(read_catalog(tmp_path / "cat.fits")["mutual_information"])
    assert np.isfinite(mi).all() and (mi >= 0).all()
    code, _, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "e.fits",
                           "--epistemic", "ensemble")
    assert code == 1 and err.strip().splitlines()[-1].startswith("nnstudio: error: Train an ensemble first")


def test_a_label_table_gives_the_external_test(lens, run_cli, tmp_path):
    from nnstudio.core.examples._write import write_csv

    project, images, labels = lens
    write_cutouts(tmp_path / "new", images[:30], [f"c{i:02d}.fits" for i in range(30)])
    write_csv(tmp_path / "truth.csv", {"name": [f"c{i:02d}" for i in range(30)][::-1], "is_lens": labels[:30][::-1]})
    code, out, err = run_cli("predict", project.path, tmp_path / "new", "--out", tmp_path / "cat.fits",
                             "--labels", tmp_path / "truth.csv", "--id-column", "name", "--json")
    assert code == 0, err
    ext = json.loads(out)["external_test"]
    assert ext["metrics"]["n"] == 30 and len(ext["metrics_ci"]["roc_auc"]) == 2
