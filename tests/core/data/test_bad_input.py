"""Each kind of bad input gets a specific NnstudioError, never a traceback."""
from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data.dataset import Dataset
from nnstudio.core.data.inspect import inspect_file
from nnstudio.core.data.prepare import prepare
from nnstudio.core.data.readers import list_hdus, read_dataset
from nnstudio.core.data.spec import DataSelection, PreparationSpec
from nnstudio.errors import NnstudioError

fits = pytest.importorskip("astropy.io.fits")


def read(path, **kw):
    return read_dataset(DataSelection(path=str(path), **kw))


def load_and_prepare(path, **kw):
    s = DataSelection(path=str(path), **kw)
    return prepare(read_dataset(s), s, PreparationSpec())


def test_missing_file(tmp_path):
    with pytest.raises(NnstudioError, match="does not exist"):
        read(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    for name in ("e.csv", "e.fits"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(NnstudioError, match=r"empty \(0 bytes\)"):
            read(tmp_path / name)
        with pytest.raises(NnstudioError, match="empty"):
            inspect_file(tmp_path / name)


def test_blank_csv(write_csv):
    with pytest.raises(NnstudioError, match="is empty"):
        read(write_csv("b.csv", "\n\n  \n"))


def test_header_only_csv(write_csv):
    with pytest.raises(NnstudioError, match=r"column names \(a, b\) but no data rows"):
        read(write_csv("h.csv", "a,b\n"))


def test_short_rows_read_as_missing_long_rows_refused(write_csv):
    # like astropy and pandas: a short row's missing trailing values are missing values
    ds = read(write_csv("r.csv", "a,b,c,name\n1,2,3,x\n4,5\n6,7,8,y\n9\n"))
    assert ds.columns["a"].tolist() == [1, 4, 6, 9]
    assert np.isnan(ds.columns["c"][[1, 3]]).all() and ds.columns["c"][[0, 2]].tolist() == [3, 8]
    assert ds.columns["name"].tolist() == ["x", "", "y", ""]
    assert any("2 rows are shorter than the header (lines 3, 5); their 5 missing values read "
               "as missing" in n for n in ds.notes)
    tsv = write_csv("r.tsv", "a\tb\n1\t2\n3\n")
    assert np.isnan(read(tsv).columns["b"][1])
    with pytest.raises(NnstudioError, match=r"a row longer than its header: line 2 has 4 fields "
                                            r"but the header \(line 1\) has 3"):
        read(write_csv("r2.csv", "a,b,c\n1,2,3,4\n"))
    # quoted fields holding the separator are not ragged
    ds = read(write_csv("q.csv", 'a,b\n"x,y",1\n"z",2\n'))
    assert ds.columns["a"].tolist() == ["x,y", "z"]


def test_text_in_numeric_column(write_csv):
    p = write_csv("t.csv", "x,flux,y\n1,1.5,0\n2,abc,1\n3,2.5,0\n4,3.5,1\n5,1.0,0\n")
    with pytest.raises(NnstudioError, match=r"'flux' has text in a numeric column: row 2 "
                                            r"holds 'abc'"):
        load_and_prepare(p, target="y")
    with pytest.raises(NnstudioError, match="row 2 holds 'abc'"):
        load_and_prepare(p, target="y", inputs=["flux"])


def test_text_column_chosen_as_input(write_csv):
    p = write_csv("t.csv", "name,x,y\na,1,0\nb,2,1\nc,3,0\nd,4,1\ne,5,0\n")
    with pytest.raises(NnstudioError, match="'name' holds text, so it cannot be an input"):
        load_and_prepare(p, target="y", inputs=["name", "x"])


def test_one_class_target(write_csv):
    p = write_csv("one.csv", "x,label\n" + "".join(f"{i},star\n" for i in range(20)))
    with pytest.raises(NnstudioError, match=r"only one class \('star'\)"):
        load_and_prepare(p)


def test_constant_regression_target(write_csv):
    p = write_csv("c.csv", "x,mass\n" + "".join(f"{i}.5,3.25\n" for i in range(30)))
    with pytest.raises(NnstudioError, match=r"same value \(3.25\) in every row"):
        load_and_prepare(p, problem="regression")


def test_too_few_rows_for_the_split(write_csv):
    p = write_csv("few.csv", "x,y\n1,0\n2,1\n3,0\n4,1\n")
    with pytest.raises(NnstudioError, match="Only 4 usable rows: too few .* 60/15/10/15 %; "
                                            "at least 5 are needed"):
        load_and_prepare(p)


def test_label_table_length_differs_from_image_count(tmp_path, cube_with_labels):
    path, _, _, _ = cube_with_labels
    short = tmp_path / "short.csv"
    short.write_text("y\n" + "0\n1\n" * 5)
    with pytest.raises(NnstudioError, match="has 10 rows but there are 40 images"):
        read(path, labels_path=str(short))


def test_label_ids_missing(tmp_path, cube_with_labels):
    path = cube_with_labels[0]
    t = tmp_path / "ids.csv"
    t.write_text("obj,y\n" + "".join(f"{i},{i % 2}\n" for i in range(38)))
    with pytest.raises(NnstudioError, match=r"2 of 40 images have no row in ids.csv .*'38'"):
        read(path, labels_path=str(t), id_column="obj")
    with pytest.raises(NnstudioError, match="no column 'nope'"):
        read(path, labels_path=str(t), id_column="nope")


def test_images_without_labels(cube_with_labels):
    path = cube_with_labels[0]
    s = DataSelection(path=str(path))
    with pytest.raises(NnstudioError, match="have no labels"):
        prepare(read_dataset(s), s, PreparationSpec())


def test_images_of_different_sizes(tmp_path):
    root = tmp_path / "cut" / "a"
    root.mkdir(parents=True)
    fits.PrimaryHDU(np.zeros((4, 4), dtype=np.float32)).writeto(root / "a.fits")
    fits.PrimaryHDU(np.zeros((5, 4), dtype=np.float32)).writeto(root / "b.fits")
    with pytest.raises(NnstudioError, match=r"different sizes: a/a.fits is 4×4 but a/b.fits "
                                            r"is 5×4"):
        read(tmp_path / "cut")


def test_truncated_fits(tmp_path):
    p = tmp_path / "c.fits"
    fits.PrimaryHDU(np.ones((10, 20, 20), dtype=np.float32)).writeto(p)
    raw = p.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(raw[: 2880 + 5000])
    with pytest.raises(NnstudioError, match=r"cut.fits is truncated: it ends inside the data of "
                                            r"HDU 0 \(PRIMARY\), after 5,000 of its 16,000 bytes"):
        read(cut)
    header_only = tmp_path / "hdr.fits"
    header_only.write_bytes(raw[:1000])
    for call in (read, list_hdus, inspect_file):
        with pytest.raises(NnstudioError, match="hdr.fits is truncated: it ends inside the "
                                                "header of HDU 0"):
            call(header_only)


def test_multi_extension_file_cut_in_a_later_header(tmp_path):
    """The extensions after the cut are not silently lost: the file is refused, naming HDU 2."""
    cube = fits.ImageHDU(np.ones((4, 8, 8), dtype=np.float32), name="SCI")
    cat = fits.BinTableHDU.from_columns([fits.Column(name="id", format="J", array=range(4))])
    p = tmp_path / "m.fits"
    fits.HDUList([fits.PrimaryHDU(), cube, cat]).writeto(p)
    raw = p.read_bytes()
    start_of_hdu2 = 2880 * 2 + 4 * 8 * 8 * 4 + (2880 - 4 * 8 * 8 * 4 % 2880) % 2880
    assert raw[start_of_hdu2:start_of_hdu2 + 8] == b"XTENSION"
    cases = {start_of_hdu2 + 100: "the header of HDU 2", start_of_hdu2 + 1: "the header of HDU 2",
             start_of_hdu2 + 2880: "the data of HDU 2, after 0 of its 16 bytes"}
    for n, where in cases.items():
        cut = tmp_path / f"cut{n}.fits"
        cut.write_bytes(raw[:n])
        for call in (read, list_hdus, inspect_file):
            with pytest.raises(NnstudioError, match=rf"cut{n}.fits is truncated: it ends inside "
                                                    rf"{where}"):
                call(cut)
    # cut in the padding after HDU 1's data: astropy warns, and so the file is refused
    cut = tmp_path / "pad.fits"
    cut.write_bytes(raw[:start_of_hdu2 - 10])
    with pytest.raises(NnstudioError, match=r"pad.fits is truncated: it ends inside the padding "
                                            r"after the data of HDU 1 \(SCI\)"):
        read(cut)
    # ending exactly where HDU 1's data does: some writers leave the padding out; said, not refused
    cut = tmp_path / "unpadded.fits"
    cut.write_bytes(raw[:2880 * 2 + 4 * 8 * 8 * 4])
    ds = read(cut)
    assert ds.images.shape == (4, 8, 8, 1)
    assert any("ends right after the data of HDU 1, without the padding" in n for n in ds.notes)
    assert any("without the padding" in n for n in inspect_file(cut)["notes"])


def test_truncated_gzipped_fits(tmp_path):
    import gzip

    p = tmp_path / "c.fits"
    fits.PrimaryHDU(np.ones((10, 20, 20), dtype=np.float32)).writeto(p)
    gz = tmp_path / "c.fits.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()[: 2880 + 4000]))
    with pytest.raises(NnstudioError, match="c.fits.gz"):
        read(gz)


def test_non_fits_file_named_fits(tmp_path):
    p = tmp_path / "fake.fits"
    p.write_text("id,flux\n1,2\n")
    with pytest.raises(NnstudioError, match="fake.fits is named like a FITS file but is not one"):
        read(p)
    with pytest.raises(NnstudioError, match="not one"):
        inspect_file(p)
    with pytest.raises(NnstudioError, match="not a FITS file"):
        list_hdus(p)


def test_unknown_format(tmp_path):
    p = tmp_path / "notes.docx"
    p.write_bytes(b"PK\x03\x04 something")
    with pytest.raises(NnstudioError, match="cannot read notes.docx"):
        read(p)


def test_all_nan_column_chosen_as_input(write_csv):
    rows = "".join(f"{i},,{i % 2}\n" for i in range(20))
    p = write_csv("n.csv", "x,empty,y\n" + rows)
    with pytest.raises(NnstudioError, match=r"'empty' has no values \(all missing\)"):
        load_and_prepare(p, target="y", inputs=["x", "empty"])
    prepared = load_and_prepare(p, target="y")  # left out of the default inputs, with a note
    assert prepared.feature_names == ["x"]
    assert any("'empty'" in n for n in prepared.notes)


def test_missing_values_refused_with_a_count(write_csv):
    rows = "".join(f"{i},{'nan' if i < 3 else i},{'inf' if i == 5 else 1},{i % 2}\n"
                   for i in range(20))
    p = write_csv("m.csv", "a,b,c,y\n" + rows)
    s = DataSelection(path=str(p), target="y")
    with pytest.raises(NnstudioError, match=r"4 row\(s\) have missing or infinite input values "
                                            r"\(b: 3 missing; c: 1 infinite\)"):
        prepare(read_dataset(s), s, PreparationSpec(missing="refuse"))


def test_nan_images_refused(cube_with_labels):
    path, labels, _, _ = cube_with_labels
    s = DataSelection(path=str(path), labels_path=str(labels), target="kind")
    ds = read_dataset(s)
    ds.images[3, 0, 0, 0] = np.nan
    ds.images[7, 1, 1, 0] = np.inf
    with pytest.raises(NnstudioError, match=r"2 image\(s\) have missing or infinite pixels"):
        prepare(ds, s, PreparationSpec(missing="refuse"))


def test_unknown_target_and_input_names(write_csv):
    p = write_csv("t.csv", "a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    with pytest.raises(NnstudioError, match="no column 'zz' to use as the target"):
        load_and_prepare(p, target="zz")
    with pytest.raises(NnstudioError, match="no column 'qq'"):
        load_and_prepare(p, target="b", inputs=["qq"])
    with pytest.raises(NnstudioError, match="also chosen as an input"):
        load_and_prepare(p, target="b", inputs=["a", "b"])


def test_text_target_for_regression(write_csv):
    p = write_csv("t.csv", "a,kind\n" + "".join(f"{i},k{i % 3}\n" for i in range(12)))
    with pytest.raises(NnstudioError, match="holds text .* cannot be a regression target"):
        load_and_prepare(p, target="kind", problem="regression")


def test_bad_hdu_choice(tmp_path):
    p = tmp_path / "x.fits"
    fits.PrimaryHDU(np.zeros((2, 2), dtype=np.float32)).writeto(p)
    with pytest.raises(NnstudioError, match="no HDU 3"):
        read(p, hdu=3)
    with pytest.raises(NnstudioError, match="no HDU named 'SCI'"):
        read(p, hdu="SCI")


def test_prepared_in_place_dataset_cannot_be_reused(cube_with_labels):
    path, labels, _, _ = cube_with_labels
    s = DataSelection(path=str(path), labels_path=str(labels), target="kind")
    ds = read_dataset(s)
    prepare(ds, s, PreparationSpec(), in_place=True)
    assert ds.images is None
    with pytest.raises(NnstudioError, match="already prepared in place"):
        prepare(ds, s, PreparationSpec())


def test_dataset_rejects_unknown_kind():
    with pytest.raises(ValueError):
        Dataset("video")
