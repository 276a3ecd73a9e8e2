"""Property-based tests of the readers and the split (hypothesis)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnstudio.core.data.readers import read_dataset
from nnstudio.core.data.spec import DataSelection
from nnstudio.core.data.splits import assign_splits, split_counts
from nnstudio.errors import NnstudioError

fits = pytest.importorskip("astropy.io.fits")

SETTINGS = settings(deadline=None, max_examples=25,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

floats32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6))


@SETTINGS
@given(data=arrays(np.float32, shapes, elements=floats32),
       dtype=st.sampled_from([">f4", ">f8", "<f4"]))
def test_float_cube_round_trips_through_fits(tmp_path_factory, data, dtype):
    p = tmp_path_factory.mktemp("rt") / "c.fits"
    fits.PrimaryHDU(data.astype(dtype)).writeto(p)
    ds = read_dataset(DataSelection(path=str(p)))
    assert ds.images.dtype == np.float32 and ds.images.dtype.isnative
    np.testing.assert_array_equal(ds.images[..., 0], data)   # NaN == NaN here


@SETTINGS
@given(raw=arrays(np.int16, shapes), bscale=st.sampled_from([1.0, 0.5, 2.0, 1e-3]),
       bzero=st.sampled_from([0.0, 32768.0, -7.25]))
def test_scaled_integer_cube(tmp_path_factory, raw, bscale, bzero):
    p = tmp_path_factory.mktemp("sc") / "s.fits"
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"] = bscale
    hdu.header["BZERO"] = bzero
    hdu.writeto(p)
    ds = read_dataset(DataSelection(path=str(p)))
    np.testing.assert_allclose(ds.images[..., 0], raw * bscale + bzero, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(values=arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)),
                     elements=st.floats(allow_nan=True, allow_infinity=False, width=64)))
def test_float_table_with_nans_round_trips_through_csv(tmp_path_factory, values):
    p = tmp_path_factory.mktemp("csv") / "t.csv"
    names = [f"c{k}" for k in range(values.shape[1])]
    # an empty field is a missing value; in a one-column file that would be a blank line (no row at
    # all), so there the missing value is spelt "nan"
    missing = "" if values.shape[1] > 1 else "nan"
    lines = [",".join(names)] + [",".join(missing if np.isnan(v) else repr(float(v)) for v in row)
                                 for row in values]
    p.write_text("\n".join(lines) + "\n")
    ds = read_dataset(DataSelection(path=str(p)))
    for k, name in enumerate(names):
        got = np.asarray(ds.columns[name], dtype=np.float64)
        np.testing.assert_array_equal(got, values[:, k])


fractions = st.tuples(st.integers(1, 10), st.integers(0, 5), st.integers(0, 5),
                      st.integers(1, 5)).map(lambda t: {s: v / sum(t) for s, v in
                                                        zip(("train", "val", "cal", "test"), t)})


@SETTINGS
@given(n=st.integers(5, 400), fr=fractions, seed=st.integers(0, 2**31),
       n_classes=st.integers(1, 4))
def test_split_assignment_properties(n, fr, seed, n_classes):
    strata = np.arange(n) % n_classes
    try:
        counts = split_counts(n, fr)
    except NnstudioError as exc:   # only "too few rows" may be refused
        assert "too few" in str(exc)
        return
    assert sum(counts) == n
    assert all(c >= 1 for c, f in zip(counts, fr.values()) if f > 0)
    codes = assign_splits(n, fr, seed, strata)
    assert np.bincount(codes, minlength=4).tolist() == counts
    np.testing.assert_array_equal(codes, assign_splits(n, fr, seed, strata))
