"""Every supported format reads into the right Dataset; labels attach by order, id or HDU."""
from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest

from nnstudio.core.data.readers import find_reader, list_hdus, read_dataset
from nnstudio.core.data.spec import DataSelection

fits = pytest.importorskip("astropy.io.fits")


def sel(path, **kw):
    return DataSelection(path=str(path), **kw)


# -- tables -------------------------------------------------------------------------------------

def test_csv_columns_types_and_missing_values(write_csv):
    p = write_csv("t.csv", "id,flux,name,flag\n1,2.5,a,1\n2,,b,0\n3,NA,c,1\n")
    ds = read_dataset(sel(p))
    assert ds.kind == "table" and ds.images is None and ds.n_rows == 3
    assert list(ds.columns) == ["id", "flux", "name", "flag"]
    flux = ds.columns["flux"]
    assert flux.dtype == np.float64
    assert flux[0] == 2.5 and np.isnan(flux[1]) and np.isnan(flux[2])
    assert ds.columns["name"].tolist() == ["a", "b", "c"]
    assert ds.numeric_columns() == ["id", "flux", "flag"]
    assert any("'flux'" in n and "NaN" in n for n in ds.notes)


def test_ecsv_votable_and_fits_table_read_the_same(tmp_path):
    from astropy.table import Table

    t = Table({"a": [1.5, 2.5, 3.5], "b": [1, 2, 3], "s": ["x", "y", "z"]})
    paths = [tmp_path / "t.ecsv", tmp_path / "t.vot", tmp_path / "t.fits"]
    t.write(paths[0])
    t.write(paths[1], format="votable")
    t.write(paths[2])
    for p in paths:
        ds = read_dataset(sel(p))
        assert ds.kind == "table", p
        assert ds.columns["a"].tolist() == [1.5, 2.5, 3.5]
        assert ds.columns["b"].tolist() == [1, 2, 3]
        assert ds.columns["s"].tolist() == ["x", "y", "z"]
        assert ds.columns["a"].dtype.isnative


@pytest.mark.skipif(importlib.util.find_spec("h5py") is None, reason="h5py not installed")
def test_hdf5_table(tmp_path):
    from astropy.table import Table

    p = tmp_path / "t.h5"
    Table({"x": [1.0, 2.0], "y": [3, 4]}).write(p, path="data")
    ds = read_dataset(sel(p))
    assert ds.columns["x"].tolist() == [1.0, 2.0] and ds.columns["y"].tolist() == [3, 4]


def test_fits_table_with_tdim_and_variable_length_columns(tmp_path):
    cols = [
        fits.Column(name="vec", format="3E", array=np.arange(9, dtype=np.float32).reshape(3, 3)),
        fits.Column(name="img", format="6E", dim="(3,2)",
                    array=np.arange(18, dtype=np.float32).reshape(3, 2, 3)),
        fits.Column(name="same", format="PE()",
                    array=np.array([np.ones(2), np.zeros(2), np.ones(2)], dtype=object)),
        fits.Column(name="ragged", format="PD()",
                    array=np.array([np.ones(1), np.ones(2), np.ones(3)], dtype=object)),
        fits.Column(name="y", format="J", array=np.array([0, 1, 0])),
    ]
    p = tmp_path / "vt.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(p)
    ds = read_dataset(sel(p))
    assert ds.kind == "table"
    assert ds.columns["vec"].shape == (3, 3) and ds.columns["vec"][1].tolist() == [3, 4, 5]
    assert ds.columns["img"].shape == (3, 2, 3) and ds.columns["img"][2, 1, 2] == 17
    assert ds.columns["same"].shape == (3, 2) and ds.columns["same"][1].tolist() == [0, 0]
    assert ds.columns["ragged"].dtype == object
    assert "ragged" not in ds.numeric_columns()
    assert any("'ragged'" in n and "1 to 3" in n for n in ds.notes)


# -- FITS images ------------------------------------------------------------------------------

def test_2d_image_is_one_image(tmp_path):
    img = np.arange(12, dtype=np.float32).reshape(3, 4)
    p = tmp_path / "im.fits"
    fits.PrimaryHDU(img).writeto(p)
    ds = read_dataset(sel(p))
    assert ds.kind == "images" and ds.images.shape == (1, 3, 4, 1)
    assert ds.images.dtype == np.float32 and ds.images.dtype.isnative
    np.testing.assert_array_equal(ds.images[0, :, :, 0], img)


def test_3d_cube_big_endian_float64_becomes_native_float32(tmp_path):
    cube = np.arange(2 * 3 * 4, dtype=">f8").reshape(2, 3, 4) / 8
    p = tmp_path / "c.fits"
    fits.PrimaryHDU(cube).writeto(p)
    ds = read_dataset(sel(p))
    assert ds.images.shape == (2, 3, 4, 1) and ds.images.dtype == np.dtype("float32")
    assert ds.images[1, 2, 3, 0] == pytest.approx(23 / 8)


def test_4d_cube_channels_last_and_bands_second(tmp_path):
    nhwc = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    p1 = tmp_path / "nhwc.fits"
    fits.PrimaryHDU(nhwc).writeto(p1)
    ds = read_dataset(sel(p1))
    np.testing.assert_array_equal(ds.images, nhwc)

    nchw = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))  # (2, 3, 5, 6): bands second
    p2 = tmp_path / "nchw.fits"
    fits.PrimaryHDU(nchw).writeto(p2)
    ds2 = read_dataset(sel(p2))
    np.testing.assert_array_equal(ds2.images, nhwc)
    assert any("bands" in n for n in ds2.notes)


def test_bscale_bzero_blank(tmp_path):
    raw = np.array([[[1, 2], [3, -99]]], dtype=np.int16)
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"] = 2.0
    hdu.header["BZERO"] = 10.0
    hdu.header["BLANK"] = -99
    p = tmp_path / "s.fits"
    hdu.writeto(p)
    ds = read_dataset(sel(p))
    got = ds.images[0, :, :, 0]
    assert got[0].tolist() == [12.0, 14.0] and got[1, 0] == 16.0 and np.isnan(got[1, 1])
    assert any("NaN" in n for n in ds.notes)


def test_unsigned_16_bit_via_bzero(tmp_path):
    data = np.array([[0, 1000, 65535]], dtype=np.uint16)
    p = tmp_path / "u.fits"
    fits.PrimaryHDU(data).writeto(p)  # astropy stores uint16 as int16 + BZERO=32768
    ds = read_dataset(sel(p))
    assert ds.images[0, 0, :, 0].tolist() == [0.0, 1000.0, 65535.0]


def test_compressed_image_hdu(tmp_path):
    cube = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    p = tmp_path / "comp.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.CompImageHDU(cube, compression_type="GZIP_1")]).writeto(p)
    assert [h["kind"] for h in list_hdus(p)] == ["empty", "image"]
    ds = read_dataset(sel(p))
    np.testing.assert_allclose(ds.images[..., 0], cube)


def test_gzipped_fits(tmp_path):
    cube = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    p = tmp_path / "c.fits"
    fits.PrimaryHDU(cube).writeto(p)
    gz = tmp_path / "c.fits.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert find_reader(gz).label == "FITS file"
    ds = read_dataset(sel(gz))
    np.testing.assert_array_equal(ds.images[..., 0], cube)


def test_hdu_selection_by_index_and_name_and_list_hdus(tmp_path):
    a = np.zeros((2, 3, 3), dtype=np.float32)
    b = np.ones((4, 2, 2), dtype=np.float32)
    tab = fits.BinTableHDU.from_columns([fits.Column(name="y", format="J", array=[1, 2, 3, 4])],
                                        name="LABELS")
    p = tmp_path / "multi.fits"
    fits.HDUList([fits.PrimaryHDU(a), fits.ImageHDU(b, name="SCI"), tab]).writeto(p)
    hdus = list_hdus(p)
    assert [(h["index"], h["name"], h["kind"]) for h in hdus] == [
        (0, "PRIMARY", "image"), (1, "SCI", "image"), (2, "LABELS", "table")]
    assert hdus[1]["shape"] == [4, 2, 2] and hdus[1]["dtype"] == "float32"
    assert hdus[2]["columns"] == ["y"] and hdus[2]["shape"] == [4]
    assert read_dataset(sel(p)).images.shape == (2, 3, 3, 1)
    assert read_dataset(sel(p, hdu=1)).images.shape == (4, 2, 2, 1)
    assert read_dataset(sel(p, hdu="sci")).images.shape == (4, 2, 2, 1)
    ds = read_dataset(sel(p, hdu="SCI", labels_hdu="LABELS"))
    assert ds.columns["y"].tolist() == [1, 2, 3, 4]
    table = read_dataset(sel(p, hdu=2))
    assert table.kind == "table" and table.columns["y"].tolist() == [1, 2, 3, 4]


def test_table_hdu_with_as_many_rows_as_images_is_taken_as_labels(tmp_path):
    cube = np.zeros((3, 2, 2), dtype=np.float32)
    tab = fits.BinTableHDU.from_columns([fits.Column(name="cls", format="5A",
                                                     array=["a", "b", "a"])])
    p = tmp_path / "c.fits"
    fits.HDUList([fits.PrimaryHDU(cube), tab]).writeto(p)
    ds = read_dataset(sel(p))
    assert ds.columns["cls"].tolist() == ["a", "b", "a"]


# -- labels -------------------------------------------------------------------------------------

def test_labels_by_row_order(cube_with_labels):
    path, labels, _, cls = cube_with_labels
    ds = read_dataset(sel(path, labels_path=str(labels)))
    assert ds.images.shape == (40, 6, 5, 1)
    assert ds.columns["kind"].tolist() == cls.tolist()
    assert ds.columns["id"].tolist() == list(range(40))


def test_labels_by_id_column_in_shuffled_table(tmp_path, cube_with_labels):
    path, _, _, cls = cube_with_labels
    order = np.random.default_rng(1).permutation(40)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("kind,obj\n" + "\n".join(f"{cls[i]},{i}" for i in order)
                        + "\n" + "extra,999\n")
    ds = read_dataset(sel(path, labels_path=str(shuffled), id_column="obj"))
    assert ds.columns["obj"].tolist() == list(range(40))
    assert ds.columns["kind"].tolist() == cls.tolist()
    assert any("1 row(s)" in n for n in ds.notes)


def _write_cutout(path, value, shape=(4, 4)):
    fits.PrimaryHDU(np.full(shape, value, dtype=np.float32)).writeto(path)


def test_folder_labelled_by_subfolder(tmp_path):
    root = tmp_path / "cutouts"
    for cls, values in (("lens", (1, 2)), ("nonlens", (3, 4, 5))):
        (root / cls).mkdir(parents=True)
        for v in values:
            _write_cutout(root / cls / f"obj{v}.fits", v)
    sel_ = sel(root)
    assert find_reader(root).label == "Folder of FITS cutouts"
    ds = read_dataset(sel_)
    assert ds.kind == "images" and ds.images.shape == (5, 4, 4, 1)
    assert ds.columns["label"].tolist() == ["lens", "lens", "nonlens", "nonlens", "nonlens"]
    assert ds.images[:, 0, 0, 0].tolist() == [1, 2, 3, 4, 5]
    assert ds.columns["file"][0] == "lens/obj1.fits"


def test_folder_with_companion_table_by_id(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    for v in (1, 2, 3):
        _write_cutout(root / f"src{v}.fits", v)
    table = tmp_path / "cat.csv"
    table.write_text("name,z\nsrc3,0.3\nsrc1,0.1\nsrc2,0.2\n")
    ds = read_dataset(sel(root, labels_path=str(table), id_column="name"))
    assert ds.columns["z"].tolist() == [0.1, 0.2, 0.3]
    assert ds.images[:, 0, 0, 0].tolist() == [1, 2, 3]


def test_multiband_cutouts_in_folder(tmp_path):
    root = tmp_path / "bands" / "a"
    root.mkdir(parents=True)
    cube = np.stack([np.full((4, 4), k, dtype=np.float32) for k in range(3)])  # (bands, H, W)
    fits.PrimaryHDU(cube).writeto(root / "x.fits")
    ds = read_dataset(sel(tmp_path / "bands"))
    assert ds.images.shape == (1, 4, 4, 3) and ds.images[0, 0, 0].tolist() == [0, 1, 2]


def test_task_progress_reported(cube_with_labels):
    from nnstudio.core.tasks import Task

    class Recorder(Task):
        def __init__(self):
            super().__init__()
            self.calls = []

        def report_progress(self, done, total, text=""):
            self.calls.append((done, total))

    path = cube_with_labels[0]
    task = Recorder()
    read_dataset(sel(path), task=task)
    assert task.calls and task.calls[-1] == (40, 40)


def test_cancel_stops_reading(cube_with_labels):
    from nnstudio.core.tasks import Task
    from nnstudio.errors import Cancelled

    task = Task()
    task.stop.set()
    with pytest.raises(Cancelled):
        read_dataset(sel(cube_with_labels[0]), task=task)


def test_csv_comment_lines_and_trailing_commas(write_csv):
    from nnstudio.core.data.prepare import prepare
    from nnstudio.core.data.spec import PreparationSpec

    p = write_csv("c.csv", "# exported by a survey\na,y,\n" +
                  "".join(f"{i},{i % 2}," + "\n" for i in range(10)))
    ds = read_dataset(sel(p))
    assert ds.columns["a"].tolist() == list(range(10)) and len(ds.columns) == 3
    s = sel(p, target="y")
    prepared = prepare(ds, s, PreparationSpec())
    assert prepared.feature_names == ["a"]          # the empty trailing column is left out
