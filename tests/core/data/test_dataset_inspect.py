"""Dataset statistics and the inspection report (dict and text)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.core.data.dataset import Dataset
from nnstudio.core.data.inspect import format_inspection, inspect_file

fits = pytest.importorskip("astropy.io.fits")


def test_column_stats_by_hand():
    ds = Dataset("table", {"x": np.array([1.0, 2.0, np.nan, 4.0]),
                           "s": np.array(["a", "b", "a", ""]),
                           "i": np.array([3, 3, 5, 7], dtype=">i4")})
    st = ds.column_stats("x")
    assert (st["min"], st["max"], st["n_nan"], st["n_unique"]) == (1.0, 4.0, 1, 3)
    assert st["mean"] == pytest.approx(7 / 3)
    assert st["std"] == pytest.approx(np.sqrt(42 / 27))
    assert st["dtype"] == "float64"
    s = ds.column_stats("s")
    assert s["n_unique"] == 3 and s["n_nan"] == 1 and s["min"] is None and s["dtype"] == "str"
    i = ds.column_stats("i")
    assert i["dtype"] == "int32" and i["n_unique"] == 3 and i["mean"] == 4.5
    assert ds.n_rows == 4 and ds.numeric_columns() == ["x", "i"]
    with pytest.raises(KeyError):
        ds.column_stats("nope")


def test_n_rows_for_images_without_labels():
    ds = Dataset("images", {}, np.zeros((7, 2, 2, 1), dtype=np.float32))
    assert ds.n_rows == 7 and ds.image_shape == (2, 2, 1)


def test_inspect_fits_multi_extension(tmp_path):
    cube = np.zeros((3, 4, 5), dtype=np.float32)
    cube[0, 0, :2] = np.nan
    tab = fits.BinTableHDU.from_columns([
        fits.Column(name="flux", format="D", array=[1.0, np.nan, 3.0]),
        fits.Column(name="name", format="3A", array=["a", "b", "c"])], name="CAT")
    p = tmp_path / "m.fits"
    fits.HDUList([fits.PrimaryHDU(cube), tab]).writeto(p)
    d = inspect_file(p)
    json.dumps(d)
    assert d["format"] == "fits" and len(d["hdus"]) == 2
    h0, h1 = d["hdus"]
    assert (h0["kind"], h0["shape"], h0["dtype"], h0["n_nan"]) == ("image", [3, 4, 5], "float32", 2)
    assert (h1["name"], h1["kind"], h1["shape"], h1["n_nan"]) == ("CAT", "table", [3], 1)
    assert h1["columns"] == [{"name": "flux", "dtype": "float64", "n_nan": 1},
                             {"name": "name", "dtype": "str", "n_nan": 0}]
    text = format_inspection(d)
    assert "HDU 0 PRIMARY: image, 3×4×5, float32, 2 NaN" in text
    assert "HDU 1 CAT: binary table, 3 rows, 2 columns" in text
    assert (h0["type"], h0["usable"], h0["reason"], h1["type"], h1["usable"]) == \
        ("primary", True, "", "binary table", True)
    assert d["default"] == 0 and "← read by default" in text.splitlines()[1]


def test_inspect_csv(write_csv):
    p = write_csv("t.csv", "a,b,c\n1,x,2.5\n2,y,\n3,z,0.5\n")
    d = inspect_file(p)
    json.dumps(d)
    assert d["format"] == "csv" and d["n_rows"] == 3
    assert d["columns"][0] == {"name": "a", "dtype": "int64", "n_nan": 0, "min": 1.0, "max": 3.0}
    assert d["columns"][2]["n_nan"] == 1 and d["columns"][2]["max"] == 2.5
    assert d["columns"][1]["dtype"] == "str"
    assert "3 rows, 3 columns" in format_inspection(d)


def test_inspect_folder(tmp_path):
    for cls, k in (("lens", 2), ("other", 3)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(k):
            fits.PrimaryHDU(np.zeros((8, 6), dtype=np.float32)).writeto(
                tmp_path / "f" / cls / f"{i}.fits")
    d = inspect_file(tmp_path / "f")
    assert d["format"] == "folder" and d["classes"] == {"lens": 2, "other": 3}
    assert d["image_shape"] == [8, 6] and d["n_images"] == 5
    assert "class other: 3" in format_inspection(d)
