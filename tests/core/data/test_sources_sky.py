"""RA/Dec of each plane of a cube by the cube's own WCS, or the reason there are none."""
import warnings

import numpy as np
import pytest

from nnstudio.core.data.sources import open_source


def _cube(path, n=5, coupled=0.0, celestial=True):
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.random.default_rng(0).normal(size=(n, 16, 16)).astype(np.float32))
    h = hdu.header
    if celestial:
        h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CTYPE3="TIME", CRPIX1=8.5, CRPIX2=8.5, CRPIX3=1,
                 CRVAL1=150.0, CRVAL2=2.2, CRVAL3=0.0, CDELT1=-1e-4, CDELT2=1e-4, CDELT3=1.0,
                 CUNIT1="deg", CUNIT2="deg", CUNIT3="s", PC1_3=coupled)
    hdu.writeto(path)
    return h


def _expected(header, n):
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        w = WCS(header)
        out = []
        for k in range(n):
            sky = w.pixel_to_world(7.5, 7.5, k)[0].icrs
            out.append((sky.ra.deg, sky.dec.deg))
    return np.array(out)


def test_each_plane_gets_its_centres_position(tmp_path):
    header = _cube(tmp_path / "c.fits", coupled=0.5)          # the pointing drifts plane by plane
    src = open_source(tmp_path / "c.fits")
    exp = _expected(header, 5)
    np.testing.assert_allclose(src.identity["ra"], exp[:, 0], atol=1e-9)
    np.testing.assert_allclose(src.identity["dec"], exp[:, 1], atol=1e-9)
    assert np.ptp(src.identity["ra"]) > 1e-5
    assert src.sky.startswith("ra/dec: each plane")


def test_a_still_pointing_gives_every_plane_the_same_position(tmp_path):
    _cube(tmp_path / "c.fits")
    src = open_source(tmp_path / "c.fits")
    assert src.identity["ra"] == pytest.approx(np.full(5, src.identity["ra"][0]))
    assert src.identity["ra"][0] == pytest.approx(150.0, abs=1e-3)


def test_without_a_celestial_wcs_the_reason_is_kept(tmp_path):
    _cube(tmp_path / "c.fits", celestial=False)
    src = open_source(tmp_path / "c.fits")
    assert "ra" not in src.identity
    assert src.sky == "no ra/dec: the cube's header has no celestial WCS"
