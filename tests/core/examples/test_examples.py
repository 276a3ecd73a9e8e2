"""The bundled examples: deterministic, of the right kind, readable and preparable."""
from __future__ import annotations

import time

import numpy as np
import pytest

from nnstudio.core.data.prepare import class_balance, prepare
from nnstudio.core.data.readers import read_dataset
from nnstudio.core.data.spec import PreparationSpec
from nnstudio.core.examples import (
    EXAMPLES,
    galaxy_mass,
    photometric,
    strong_lens,
    write_example_data,
)
from nnstudio.errors import NnstudioError


def test_registry():
    assert list(EXAMPLES) == ["galaxy-mass", "strong-lens", "photometric-classes"]
    assert EXAMPLES["galaxy-mass"].problem == "regression"
    assert all(e.title and e.description for e in EXAMPLES.values())


def test_unknown_example_lists_names(tmp_path):
    with pytest.raises(NnstudioError, match="no example 'nope'. Examples: galaxy-mass, "
                                            "strong-lens, photometric-classes"):
        write_example_data("nope", tmp_path)


def test_galaxy_mass_fast_deterministic_and_regression(tmp_path):
    t0 = time.perf_counter()
    sel = write_example_data("galaxy-mass", tmp_path / "a")
    assert time.perf_counter() - t0 < 0.5
    sel2 = write_example_data("galaxy-mass", tmp_path / "b")
    a = (tmp_path / "a" / "galaxy_mass.csv").read_bytes()
    assert a == (tmp_path / "b" / "galaxy_mass.csv").read_bytes()
    assert sel.path.startswith(str(tmp_path)) and sel.problem == "regression"
    assert sel.target == "log_stellar_mass" and sel2.inputs == sel.inputs
    ds = read_dataset(sel)
    assert ds.n_rows == 5000
    p = prepare(ds, sel, PreparationSpec())
    assert p.problem == "regression" and p.input_shape == (3,)


def test_galaxy_mass_scatter_grows_for_faint_galaxies():
    c = galaxy_mass.generate()
    resid = c["log_stellar_mass"] - (c["log_luminosity"] - 0.306 + 1.097 * c["g_r"])
    faint = c["log_luminosity"] < 9.5
    bright = c["log_luminosity"] > 10.5
    assert faint.sum() > 100 and bright.sum() > 100
    assert resid[faint].std() > 1.5 * resid[bright].std()
    slope = np.polyfit(c["log_luminosity"], c["log_stellar_mass"], 1)[0]
    assert 0.9 < slope < 1.3        # mass roughly follows light


def test_photometric_classes(tmp_path):
    sel = write_example_data("photometric-classes", tmp_path)
    ds = read_dataset(sel)
    assert ds.n_rows == 6000 and ds.columns["class"].dtype.kind == "U"
    p = prepare(ds, sel, PreparationSpec())
    assert p.class_names == ["GALAXY", "QSO", "STAR"] and p.problem == "classification"
    bal = class_balance(p)["train"]
    assert min(bal.values()) > 300
    # quasars show the UV excess on average
    c = photometric.generate()
    assert np.median(c["u_g"][c["class"] == "QSO"]) < np.median(c["u_g"][c["class"] == "STAR"]) - 0.5
    np.testing.assert_array_equal(photometric.generate(seed=1)["u_g"],
                                  photometric.generate(seed=1)["u_g"])


@pytest.fixture(scope="module")
def lens_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("lens")
    return out, write_example_data("strong-lens", out)


def test_strong_lens_files(lens_files):
    _, sel = lens_files
    ds = read_dataset(sel)
    assert ds.kind == "images" and ds.images.shape == (1500, 64, 64, 1)
    assert np.isfinite(ds.images).all()
    assert list(ds.columns) == ["id", "is_lens", "einstein_radius", "kind"]
    assert ds.columns["is_lens"].sum() == 750
    assert set(ds.columns["kind"]) == {"lens", "elliptical", "companions", "spiral", "ring",
                                       "edge-on"}
    theta = ds.columns["einstein_radius"]
    assert np.all((theta > 0) == (ds.columns["is_lens"] == 1))
    p = prepare(ds, sel, PreparationSpec())
    assert p.kind == "images" and p.class_names == ["0", "1"] and p.input_shape == (64, 64, 1)


def test_strong_lens_deterministic_small():
    a, ca = strong_lens.generate(n=40, seed=5)
    b, cb = strong_lens.generate(n=40, seed=5)
    c, _ = strong_lens.generate(n=40, seed=6)
    np.testing.assert_array_equal(a, b)
    assert ca["kind"].tolist() == cb["kind"].tolist()
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == (40, 64, 64)


def test_lenses_have_light_in_a_ring_around_the_centre():
    """Lensed arcs put more flux at about the Einstein radius than a lone elliptical does."""
    cube, cols = strong_lens.generate(n=300, seed=2)
    yy, xx = np.mgrid[:64, :64] - 31.5
    r = np.hypot(xx, yy)

    def ring_share(i):
        img = np.clip(cube[i], 0, None)
        th = cols["einstein_radius"][i] or 8.0
        return img[(r > th - 2) & (r < th + 2)].sum() / img[r < 3].sum()

    lens = [ring_share(i) for i in np.flatnonzero(cols["kind"] == "lens")]
    ell = [ring_share(i) for i in np.flatnonzero(cols["kind"] == "elliptical")]
    assert np.median(lens) > 1.25 * np.median(ell)   # measured: 0.81 vs 0.55
