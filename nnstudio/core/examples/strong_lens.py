"""strong-lens: 64×64 cutouts of simulated galaxy-scale strong lenses and look-alikes.

Lenses: a Sérsic lens galaxy whose singular isothermal ellipsoid (plus a little external
shear) maps a small Sérsic source into arcs, rings or multiple images (ray shooting with 2×2
sub-pixels). Non-lenses: lone ellipticals, ellipticals with compact companions, spirals, ring
galaxies and edge-on discs. Every image is convolved with a Gaussian PSF of random width and
gets sky and source noise. Some arcs are faint or hidden in the lens light and some non-lenses
look arc-like, so a good classifier is right roughly 90–97% of the time, not always.
"""
from __future__ import annotations

import math

import numpy as np

SIZE = 64
PAD = 8                       # simulate a larger field so the PSF does not wrap around
N_IMAGES = 1500
LENS_FRACTION = 0.5
NEGATIVE_KINDS = ("elliptical", "companions", "spiral", "ring", "edge-on")
NEGATIVE_SHARES = (0.34, 0.24, 0.20, 0.06, 0.16)
_BATCH = 100


def _bn(n):
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n)


def _sersic_ie(flux, n, re):
    """Surface brightness at R_e for a given total flux (ellipticity preserves area here)."""
    b = _bn(n)
    lg = np.vectorize(math.lgamma)(2.0 * n)
    norm = 2.0 * np.pi * n * re ** 2 * np.exp(b + lg - 2.0 * n * np.log(b))
    return flux / norm


def _sersic(x, y, flux, n, re, q, pa):
    """Elliptical Sérsic on coordinate arrays (B, H, W); per-image parameters of shape (B,)."""
    e = (slice(None), None, None)
    c, s = np.cos(pa)[e], np.sin(pa)[e]
    xr = c * x + s * y
    yr = -s * x + c * y
    r = np.sqrt(q[e] * xr ** 2 + yr ** 2 / q[e] + 1e-6)
    ie = _sersic_ie(flux, n, re)[e]
    return (ie * np.exp(-_bn(n)[e] * ((r / re[e]) ** (1.0 / n[e]) - 1.0))).astype(np.float32)


def _grid(b, oversample=1):
    size = (SIZE + 2 * PAD) * oversample
    c = (np.arange(size) + 0.5) / oversample - (SIZE + 2 * PAD) / 2.0
    y, x = np.meshgrid(c, c, indexing="ij")
    return np.broadcast_to(x, (b, size, size)), np.broadcast_to(y, (b, size, size))


def _sie_deflection(x, y, theta_e, q, pa, g1, g2):
    """Kormann et al. (1994) SIE deflection (intermediate-axis normalisation) plus shear."""
    e = (slice(None), None, None)
    q = np.minimum(q, 0.999)[e]
    c, s = np.cos(pa)[e], np.sin(pa)[e]
    x1 = c * x + s * y
    x2 = -s * x + c * y
    f = np.sqrt(1.0 - q ** 2)
    psi = np.sqrt(q ** 2 * x1 ** 2 + x2 ** 2) + 1e-6
    k = theta_e[e] * np.sqrt(q) / f
    a1 = k * np.arctan(f * x1 / psi)
    a2 = k * np.arctanh(np.clip(f * x2 / psi, -0.999999, 0.999999))
    ax = c * a1 - s * a2 + g1[e] * x + g2[e] * y
    ay = s * a1 + c * a2 + g2[e] * x - g1[e] * y
    return ax, ay


def _block_mean(a, k):
    b, h, w = a.shape
    return a.reshape(b, h // k, k, w // k, k).mean(axis=(2, 4))


def _psf_convolve(img, fwhm):
    """Gaussian PSF by multiplying with its analytic Fourier transform (one FFT per image)."""
    sigma = fwhm / 2.3548
    h, w = img.shape[1:]
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.rfftfreq(w)[None, :]
    kernel = np.exp(-2.0 * np.pi ** 2 * sigma[:, None, None] ** 2 * (kx ** 2 + ky ** 2))
    return np.fft.irfft2(np.fft.rfft2(img) * kernel, s=(h, w)).astype(np.float32)


def _lens_galaxy(rng, b):
    return {"flux": 10 ** rng.uniform(3.0, 3.9, b), "n": rng.uniform(2.5, 5.0, b),
            "re": rng.uniform(3.0, 8.0, b), "q": rng.uniform(0.55, 1.0, b),
            "pa": rng.uniform(0, np.pi, b)}


def _companions(rng, b, x, y, present):
    """1-3 compact galaxies 6-18 px from the centre: they can mimic multiple images."""
    img = np.zeros(x.shape, dtype=np.float32)
    counts = rng.integers(1, 4, b) * present
    for k in range(3):
        on = counts > k
        if not on.any():
            continue
        r = rng.uniform(6.0, 18.0, b)
        phi = rng.uniform(0, 2 * np.pi, b)
        e = (slice(None), None, None)
        xs = x - (r * np.cos(phi))[e]
        ys = y - (r * np.sin(phi))[e]
        tangential = rng.random(b) < 0.2      # some are stretched along a circle, like arcs
        blob = _sersic(xs, ys, 10 ** rng.uniform(1.8, 2.7, b), rng.uniform(1.0, 3.0, b),
                       rng.uniform(0.7, 2.0, b),
                       np.where(tangential, rng.uniform(0.4, 0.7, b), rng.uniform(0.7, 1.0, b)),
                       phi + np.pi / 2 + rng.normal(0, 0.3, b))
        img += blob * on[e]
    return img


def _lenses(rng, b):
    x, y = _grid(b)
    gal = _lens_galaxy(rng, b)
    img = _sersic(x, y, **gal)
    theta_e = rng.uniform(5.0, 12.0, b)
    xs, ys = _grid(b, oversample=2)
    ax, ay = _sie_deflection(xs, ys, theta_e, rng.uniform(0.6, 1.0, b),
                             gal["pa"] + rng.normal(0, 0.2, b), rng.normal(0, 0.03, b),
                             rng.normal(0, 0.03, b))
    beta = theta_e * 0.7 * np.sqrt(rng.random(b))     # source inside the caustic region
    phi = rng.uniform(0, 2 * np.pi, b)
    e = (slice(None), None, None)
    bx = xs - ax - (beta * np.cos(phi))[e]
    by = ys - ay - (beta * np.sin(phi))[e]
    # faint sources make hard lenses: arcs near the noise or buried in the lens light
    src_flux = 10 ** rng.uniform(1.85, 3.0, b)
    src = _sersic(bx, by, src_flux, rng.uniform(0.6, 1.5, b), rng.uniform(0.6, 2.2, b),
                  rng.uniform(0.45, 1.0, b), rng.uniform(0, np.pi, b))
    img += _block_mean(src, 2)
    img += _companions(rng, b, x, y, rng.random(b) < 0.15)
    return img, theta_e


def _negatives(rng, kinds):
    b = len(kinds)
    x, y = _grid(b)
    gal = _lens_galaxy(rng, b)
    e = (slice(None), None, None)
    img = np.zeros(x.shape, dtype=np.float32)
    ell = np.isin(kinds, ("elliptical", "companions"))
    img += _sersic(x, y, **gal) * ell[e]
    img += _companions(rng, b, x, y, kinds == "companions")

    disc = np.isin(kinds, ("spiral", "ring"))
    if disc.any():
        pa = rng.uniform(0, np.pi, b)
        q = rng.uniform(0.45, 1.0, b)
        c, s = np.cos(pa)[e], np.sin(pa)[e]
        xr = c * x + s * y
        yr = (-s * x + c * y) / q[e]
        r = np.sqrt(xr ** 2 + yr ** 2) + 1e-3
        theta = np.arctan2(yr, xr)
        h = rng.uniform(4.0, 8.0, b)[e]
        pitch = np.tan(np.radians(rng.uniform(12, 30, b)))[e]
        m = rng.integers(2, 4, b)[e]
        arms = 1.0 + 0.8 * np.cos(m * (theta - np.log(r) / pitch))
        flux = 10 ** rng.uniform(3.0, 3.7, b)[e]
        spiral = flux / (2 * np.pi * h ** 2) * np.exp(-r / h) * arms
        ring_r = rng.uniform(5.0, 11.0, b)[e]
        ring = flux / (2 * np.pi * ring_r * 2.5) * np.exp(-0.5 * ((r - ring_r) / 1.2) ** 2) \
            * (1.0 + 0.6 * np.cos(theta - rng.uniform(0, 2 * np.pi, b)[e]))
        bulge = _sersic(x, y, 0.4 * flux[:, 0, 0], np.full(b, 2.0), rng.uniform(1.0, 2.5, b),
                        q, pa)
        body = np.where((kinds == "spiral")[e], spiral, ring) + bulge
        img += (body * disc[e]).astype(np.float32)

    edge = kinds == "edge-on"
    if edge.any():
        pa = rng.uniform(0, np.pi, b)
        disc_img = _sersic(x, y, 10 ** rng.uniform(2.9, 3.6, b), np.full(b, 1.0),
                           rng.uniform(6.0, 12.0, b), rng.uniform(0.08, 0.22, b), pa)
        bulge = _sersic(x, y, 10 ** rng.uniform(2.3, 3.0, b), np.full(b, 3.0),
                        rng.uniform(1.5, 3.0, b), rng.uniform(0.6, 0.9, b), pa)
        img += (disc_img + bulge) * edge[e]
    return img


def generate(n: int = N_IMAGES, seed: int = 0):
    """(cube float32 (n, 64, 64), columns) with columns id, is_lens, einstein_radius, kind."""
    rng = np.random.default_rng(seed)
    n_lens = round(n * LENS_FRACTION)
    kinds = np.array(["lens"] * n_lens
                     + list(rng.choice(NEGATIVE_KINDS, size=n - n_lens, p=NEGATIVE_SHARES)))
    kinds = kinds[rng.permutation(n)]
    cube = np.empty((n, SIZE, SIZE), dtype=np.float32)
    theta = np.zeros(n)
    for start in range(0, n, _BATCH):
        sl = slice(start, min(n, start + _BATCH))
        k = kinds[sl]
        b = len(k)
        img = np.zeros((b, SIZE + 2 * PAD, SIZE + 2 * PAD), dtype=np.float32)
        is_lens = k == "lens"
        if is_lens.any():
            lens_img, th = _lenses(rng, int(is_lens.sum()))
            img[is_lens] = lens_img
            theta[start:start + b][is_lens] = th
        if (~is_lens).any():
            img[~is_lens] = _negatives(rng, k[~is_lens])
        img = _psf_convolve(img, rng.uniform(1.8, 3.2, b))[:, PAD:-PAD, PAD:-PAD]
        sky = rng.uniform(0.8, 1.2, b)[:, None, None]
        noise = np.sqrt(sky ** 2 + np.maximum(img, 0) / 8.0)
        img = img + noise * rng.standard_normal(img.shape, dtype=np.float32)
        cube[sl] = img + rng.normal(0, 0.05, b)[:, None, None]   # imperfect sky subtraction
    columns = {
        "id": np.arange(n),
        "is_lens": (kinds == "lens").astype(np.int64),
        "einstein_radius": np.round(theta, 3),
        "kind": kinds,
    }
    return cube, columns
