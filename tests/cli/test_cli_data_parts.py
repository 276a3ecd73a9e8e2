"""inspect and new-project on files with several parts: --hdu for FITS, --table for VOTables."""
from __future__ import annotations

import json

import numpy as np
import pytest

fits = pytest.importorskip("astropy.io.fits")


@pytest.fixture
def two_table_votable(tmp_path):
    """A VOTable with a 3-row 'meta' table, then a 90-row 'galaxies' table (x1, x2, target)."""
    from astropy.io.votable.tree import Resource, VOTableFile
    from astropy.table import Table

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2))
    galaxies = Table({"x1": x[:, 0], "x2": x[:, 1], "target": x @ [1.5, -2.0]})
    meta = Table({"key": ["a", "b", "c"], "value": [1, 2, 3]})
    vot = VOTableFile()
    resource = Resource()
    vot.resources.append(resource)
    for name, table in (("meta", meta), ("galaxies", galaxies)):
        vt = VOTableFile.from_table(table).get_first_table()
        vt.ID = vt.name = name
        resource.tables.append(vt)
    path = tmp_path / "two.xml"
    vot.to_xml(str(path))
    return path


def test_inspect_lists_tables_and_narrows_to_one(run_cli, two_table_votable):
    code, out, err = run_cli("inspect", two_table_votable, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert [(t["name"], t["shape"], t["usable"]) for t in info["tables"]] == \
        [("meta", [3], True), ("galaxies", [90], True)]
    code, out, _ = run_cli("inspect", two_table_votable, "--table", "galaxies")
    assert code == 0 and "table 1 galaxies: 90 rows, 3 columns" in out and "meta" not in out
    code, out, err = run_cli("inspect", two_table_votable, "--hdu", "1", "--table", "1")
    assert code == 2 and "not allowed with argument" in err
    code, _, err = run_cli("inspect", two_table_votable, "--table", "5")
    assert code == 1 and err.count("\n") == 1 and "has tables 0 to 1; there is no table 5" in err


def test_inspect_fits_hdu_option_and_truncated_file(run_cli, tmp_path):
    p = tmp_path / "m.fits"
    cat = fits.BinTableHDU.from_columns([fits.Column(name="id", format="J", array=range(4))],
                                        name="CAT")
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 6, 6), np.float32)), cat]).writeto(p)
    code, out, _ = run_cli("inspect", p, "--hdu", "CAT", "--json")
    assert code == 0 and [h["name"] for h in json.loads(out)["hdus"]] == ["CAT"]
    cut = tmp_path / "cut.fits"
    cut.write_bytes(p.read_bytes()[: 2880 * 2 + 100])   # inside the header of HDU 1
    code, out, err = run_cli("inspect", cut)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "cut.fits is truncated: it ends inside the header of HDU 1" in err


def test_new_project_remembers_the_chosen_table(run_cli, tmp_path, two_table_votable, tensorflow):
    from nnstudio.core.data.readers import read_dataset
    from nnstudio.core.data.spec import DataSelection
    from nnstudio.core.project import Project

    out = tmp_path / "p.nnproj"
    code, _, err = run_cli("new-project", "--data", two_table_votable, "--table", "1",
                           "--target", "target", "--out", out)
    assert code == 0, err
    project = Project.load(out)
    assert project.data.hdu == 1 and project.data.target == "target"
    sel = DataSelection.from_dict(project.data.to_dict())
    sel.path = str(project.resolve(sel.path))
    assert read_dataset(sel).n_rows == 90      # the saved project reads the same table again
    # without --table the first usable table (meta: text and three rows) is read, and refused
    code, _, err = run_cli("new-project", "--data", two_table_votable, "--target", "target",
                           "--out", tmp_path / "q.nnproj")
    assert code == 1 and "target" in err and err.count("\n") == 1
