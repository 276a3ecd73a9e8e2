"""Real files nnstudio did not write: the FITS, VOTable and ASCII test data shipped with astropy.

Every file either inspects (exit 0) or is refused in one line (exit 1), never a traceback; the
files astropy itself reads whole are described, and the named ones hold what they should.
"""
from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

astropy = pytest.importorskip("astropy")

from nnstudio.core.data.readers import read_dataset
from nnstudio.core.data.spec import DataSelection
from nnstudio.errors import NnstudioError

IO = Path(astropy.__file__).parent / "io"
FITS_DIR = IO / "fits" / "tests" / "data"
VOTABLE_DIR = IO / "votable" / "tests" / "data"
ASCII_DIR = IO / "ascii" / "tests" / "data"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


ALL = _files(FITS_DIR) + _files(VOTABLE_DIR) + _files(ASCII_DIR)
if not ALL:
    pytest.skip("this astropy ships no test data", allow_module_level=True)


def _id(p: Path) -> str:
    return str(p.relative_to(IO))


def _astropy_opens_whole(p: Path) -> bool:
    """astropy opens the FITS file without a truncation warning and some HDU holds data."""
    from astropy.io import fits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fits.open(p, lazy_load_hdus=False) as hdul:
                has_data = any(h.data is not None and np.size(h.data) > 0 for h in hdul)
        except Exception:  # noqa: BLE001 - astropy cannot open it: outside this promise
            return False
    return has_data and not any("truncated" in str(w.message) for w in caught)


def _astropy_tables(p: Path) -> int | None:
    """The number of tables astropy finds in a VOTable, or None when it cannot parse it."""
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return len(list(parse(str(p), verify="ignore").iter_tables()))
        except Exception:  # noqa: BLE001
            return None


@contextlib.contextmanager
def _warnings_fail():
    """A warning that gets out would print lines of its own on the terminal: make it fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ResourceWarning)
        yield


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_inspect_answers_or_refuses_in_one_line(run_cli, path):
    with _warnings_fail():
        code, out, err = run_cli("inspect", path, "--json")
    assert code in (0, 1), err
    assert "Traceback" not in err and "unexpected error" not in err
    if code == 1:
        assert out == "" and len(err.strip().splitlines()) == 1 and path.name in err
    else:
        info = json.loads(out)
        for part in info.get("hdus", []) + info.get("tables", []):
            assert isinstance(part["usable"], bool)
            assert part["usable"] == (part["reason"] == "")
    if path.suffix.lower() in (".fits", ".fit") and _astropy_opens_whole(path):
        assert code == 0, err
    if path.suffix == ".xml" and (_astropy_tables(path) or 0) >= 1:
        assert code == 0, err
        assert len(json.loads(out)["tables"]) == _astropy_tables(path)


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_reading_raises_only_nnstudio_errors(path):
    with _warnings_fail():
        try:
            ds = read_dataset(DataSelection(path=str(path)))
        except NnstudioError as exc:
            assert "\n" not in str(exc)
        else:
            assert ds.n_rows > 0


def test_every_hdu_kind_is_described(run_cli):
    def hdus(name):
        code, out, err = run_cli("inspect", FITS_DIR / name, "--json")
        assert code == 0, err
        return json.loads(out)["hdus"]

    h = hdus("compressed_float_bzero.fits")      # a 1-D compressed image: listed, not usable
    assert [x["type"] for x in h] == ["primary", "compressed image"]
    assert not h[1]["usable"] and "1-D array" in h[1]["reason"]
    h = hdus("ascii.fits")                        # an ASCII table with TNULL values
    assert h[1]["type"] == "ASCII table" and h[1]["usable"]
    assert [c["n_nan"] for c in h[1]["columns"]] == [1, 1]
    h = hdus("random_groups.fits")
    assert (h[0]["type"], h[0]["shape"], h[0]["usable"]) == ("random groups", [3], True)
    assert h[0]["columns"][-1]["name"] == "DATA"
    h = hdus("zerowidth.fits")                    # an empty primary with a zero-length axis
    assert (h[0]["kind"], h[0]["usable"], h[0]["reason"]) == ("empty", False, "no data")
    assert all(x["type"] == "binary table" and x["usable"] for x in h[1:])


def test_scaled_integer_images_are_read():
    from astropy.io import fits

    for name in ("double_ext.fits", "scale.fits", "blank.fits", "o4sp040b0_raw.fits"):
        ds = read_dataset(DataSelection(path=str(FITS_DIR / name)))
        with fits.open(FITS_DIR / name) as hdul:
            expected = np.asarray(hdul[ds.hdu].data, dtype=np.float32)
        np.testing.assert_allclose(ds.images[0, ..., 0], expected, rtol=1e-6)


def test_ascii_table_nulls_are_missing_values():
    ds = read_dataset(DataSelection(path=str(FITS_DIR / "ascii.fits")))
    assert np.isnan(ds.columns["a"][3]) and np.isnan(ds.columns["b"][3])
    assert ds.columns["b"][[0, 1, 2, 4]].tolist() == [37, 23, 17, 345]


def test_multi_table_votable_lists_and_picks_tables(run_cli):
    path = VOTABLE_DIR / "regression.xml"
    code, out, err = run_cli("inspect", path, "--json")
    assert code == 0, err
    tables = json.loads(out)["tables"]
    assert [(t["index"], t["name"], t["shape"], t["usable"]) for t in tables] == [
        (0, "main_table", [5], True), (1, "", [1], True), (2, "last_table", [0], False)]
    assert tables[2]["reason"] == "a table with no rows"
    code, out, err = run_cli("inspect", path, "--table", "1")
    assert code == 0 and "table 1 (no name): 1 row, 29 columns\n" in out and "main_table" not in out
    assert read_dataset(DataSelection(path=str(path))).hdu == 0
    assert read_dataset(DataSelection(path=str(path), hdu=1)).n_rows == 1
    assert read_dataset(DataSelection(path=str(path), hdu="main_table")).n_rows == 5
    with pytest.raises(NnstudioError, match="last_table.*cannot be used: it is a table with no rows"):
        read_dataset(DataSelection(path=str(path), hdu="last_table"))
    code, _, err = run_cli("inspect", path, "--table", "nope")
    assert code == 1 and "has no table 'nope'. Its tables: main_table, 1, last_table" in err


def test_gappy_csv_loads_with_its_gaps_reported(run_cli):
    path = ASCII_DIR / "simple_csv_missing.csv"
    ds = read_dataset(DataSelection(path=str(path)))
    assert ds.columns["a"].tolist() == [1, 4]
    assert np.isnan(ds.columns["b"][0]) and ds.columns["c"][1] == 6
    assert any("1 row is shorter than the header (line 2); its 2 missing values" in n
               for n in ds.notes)
    code, out, _ = run_cli("inspect", path)
    assert code == 0 and "its 2 missing values read as missing" in out


def test_service_error_votable_says_what_the_service_said(run_cli):
    code, _, err = run_cli("inspect", VOTABLE_DIR / "irsa-nph-error.xml")
    assert code == 1
    assert "holds no table: the service that wrote it reported an error (Either wrong" in err


def test_compressed_tables_are_read():
    plain = read_dataset(DataSelection(path=str(ASCII_DIR / "short.rdb")))
    for name in ("short.rdb.gz", "short.rdb.bz2", "short.rdb.xz"):
        ds = read_dataset(DataSelection(path=str(ASCII_DIR / name)))
        assert list(ds.columns) == list(plain.columns) and ds.n_rows == plain.n_rows
