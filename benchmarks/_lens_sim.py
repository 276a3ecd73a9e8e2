"""Simulated strong-lens cutouts made differently from the bundled example, to test defaults on.

The example (``nnstudio.core.examples.strong_lens``) uses a Kormann SIE, Gaussian PSFs and 64×64
cutouts. Here: 48×48 cutouts; mass from an elliptical isothermal *potential* with external
shear; clumpy sources (a Sérsic disc plus star-forming knots); Moffat PSFs of random width and
wing; Poisson noise on the sky and the object plus read noise, then sky subtraction. Negatives are
lens-like ellipticals alone, with an *unlensed* source beside them (the same clumpy galaxy,
not ray-traced), with a companion elliptical, or with a tidal feature, so that blue neighbours
and blobs do not give a lens away.

    python benchmarks/_lens_sim.py OUT_DIR [--n 10000] [--lens-fraction 0.5] [--seed 1]

writes OUT_DIR/lenses.fits (a cube along the third axis) and OUT_DIR/lenses_labels.csv.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

SIZE = 48
PAD = 8
OVER = 2                       # sub-pixels per pixel for ray shooting
_BATCH = 200


def _grid(b: int, over: int = 1):
    size = (SIZE + 2 * PAD) * over
    c = (np.arange(size) + 0.5) / over - (SIZE + 2 * PAD) / 2.0
    y, x = np.meshgrid(c, c, indexing="ij")
    return np.broadcast_to(x, (b, size, size)), np.broadcast_to(y, (b, size, size))


def _e(a):
    return np.asarray(a, dtype=np.float64)[:, None, None]


def _sersic(x, y, flux, n, re, q, pa):
    b = 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n)
    c, s = np.cos(_e(pa)), np.sin(_e(pa))
    xr, yr = c * x + s * y, -s * x + c * y
    r = np.sqrt(_e(q) * xr ** 2 + yr ** 2 / _e(q) + 1e-4)
    lg = np.array([math.lgamma(2 * v) for v in np.atleast_1d(n)])
    norm = 2 * np.pi * n * re ** 2 * np.exp(b + lg - 2 * n * np.log(b))
    return _e(flux / norm) * np.exp(-_e(b) * ((r / _e(re)) ** (1.0 / _e(n)) - 1.0))


def _source(rng, x, y, cx, cy):
    """A clumpy star-forming galaxy centred at (cx, cy) on coordinates (x, y)."""
    b = len(cx)
    xs, ys = x - _e(cx), y - _e(cy)
    img = _sersic(xs, ys, rng.uniform(250, 1000, b), rng.uniform(0.6, 1.5, b), rng.uniform(0.8, 2.5, b),
                  rng.uniform(0.4, 1.0, b), rng.uniform(0, np.pi, b))
    for _ in range(3):
        on = rng.random(b) < 0.6
        dx, dy = rng.normal(0, 1.2, b), rng.normal(0, 1.2, b)
        w = rng.uniform(0.25, 0.6, b)
        f = rng.uniform(30, 180, b) * on
        img = img + _e(f / (2 * np.pi * w ** 2)) * np.exp(-((xs - _e(dx)) ** 2 + (ys - _e(dy)) ** 2) / (2 * _e(w) ** 2))
    return img


def _deflect(x, y, theta_e, q, pa, g1, g2):
    """Deflection of an elliptical isothermal potential psi = theta_E * sqrt(q x'^2 + y'^2/q)
    plus external shear (g1, g2)."""
    c, s = np.cos(_e(pa)), np.sin(_e(pa))
    xr, yr = c * x + s * y, -s * x + c * y
    qe = _e(q)
    r = np.sqrt(qe * xr ** 2 + yr ** 2 / qe + 1e-6)
    ax_r, ay_r = _e(theta_e) * qe * xr / r, _e(theta_e) * yr / (qe * r)
    ax, ay = c * ax_r - s * ay_r, s * ax_r + c * ay_r
    ax = ax + _e(g1) * x + _e(g2) * y
    ay = ay + _e(g2) * x - _e(g1) * y
    return ax, ay


def _block_mean(a, k):
    b, h, w = a.shape
    return a.reshape(b, h // k, k, w // k, k).mean(axis=(2, 4))


def _moffat_convolve(img, fwhm, beta):
    h = img.shape[1]
    c = np.fft.fftfreq(h) * h
    yy, xx = np.meshgrid(c, c, indexing="ij")
    alpha = _e(fwhm) / (2 * np.sqrt(2 ** (1 / _e(beta)) - 1))
    psf = (1 + (xx ** 2 + yy ** 2) / alpha ** 2) ** (-_e(beta))
    psf /= psf.sum(axis=(1, 2), keepdims=True)
    return np.real(np.fft.ifft2(np.fft.fft2(img) * np.fft.fft2(psf)))


def _deflector(rng, b):
    x, y = _grid(b)
    q = rng.uniform(0.55, 1.0, b)
    pa = rng.uniform(0, np.pi, b)
    light = _sersic(x, y, rng.uniform(2000, 9000, b), rng.uniform(2.5, 5.0, b), rng.uniform(2.5, 7.0, b),
                    q, pa)
    return light, q, pa


def _batch(rng, kinds):
    b = len(kinds)
    img, q, pa = _deflector(rng, b)
    theta = np.zeros(b)
    lens = kinds == "lens"
    if lens.any():
        k = int(lens.sum())
        th = rng.uniform(3.5, 10.0, k)
        xo, yo = _grid(k, OVER)
        ax, ay = _deflect(xo, yo, th, np.clip(q[lens] + rng.normal(0, 0.1, k), 0.5, 1.0), pa[lens],
                          rng.normal(0, 0.04, k), rng.normal(0, 0.04, k))
        r = th * np.sqrt(rng.uniform(0.0, 0.8, k))
        phi = rng.uniform(0, 2 * np.pi, k)
        src = _source(rng, xo - ax, yo - ay, r * np.cos(phi), r * np.sin(phi))
        img[lens] += _block_mean(src, OVER) * rng.uniform(0.3, 1.0, k)[:, None, None]
        theta[lens] = th
    near = kinds == "neighbour"                 # an unlensed star-forming galaxy beside the deflector
    if near.any():
        k = int(near.sum())
        x, y = _grid(k)
        r, phi = rng.uniform(4, 14, k), rng.uniform(0, 2 * np.pi, k)
        img[near] += _source(rng, x, y, r * np.cos(phi), r * np.sin(phi)) * rng.uniform(0.3, 1.0, k)[:, None, None]
    comp = kinds == "companion"
    if comp.any():
        k = int(comp.sum())
        x, y = _grid(k)
        r, phi = rng.uniform(6, 16, k), rng.uniform(0, 2 * np.pi, k)
        img[comp] += _sersic(x - _e(r * np.cos(phi)), y - _e(r * np.sin(phi)), rng.uniform(500, 2500, k),
                             rng.uniform(1.5, 4.0, k), rng.uniform(1.0, 3.0, k), rng.uniform(0.5, 1.0, k),
                             rng.uniform(0, np.pi, k))
    tidal = kinds == "tidal"                     # a faint curved shell, arc-like but not lensed
    if tidal.any():
        k = int(tidal.sum())
        x, y = _grid(k)
        rad = _e(rng.uniform(5, 12, k))
        ang = np.arctan2(y, x) - _e(rng.uniform(0, 2 * np.pi, k))
        shell = np.exp(-((np.hypot(x, y) - rad) ** 2) / 1.5) * np.exp(-(np.angle(np.exp(1j * ang)) ** 2) / 0.5)
        img[tidal] += shell * _e(rng.uniform(8.0, 30.0, k))
    img = _moffat_convolve(img, rng.uniform(1.4, 3.0, b), rng.uniform(2.5, 4.5, b))[:, PAD:-PAD, PAD:-PAD]
    sky = rng.uniform(8.0, 25.0, b)[:, None, None]
    counts = rng.poisson(np.maximum(img + sky, 0)).astype(np.float64)
    counts += rng.normal(0, 3.0, counts.shape)               # read noise
    return (counts - sky).astype(np.float32), theta


NEGATIVES = ("alone", "neighbour", "companion", "tidal")


def generate(n: int, lens_fraction: float = 0.5, seed: int = 1):
    """(cube (n, 48, 48) float32, labels dict with id, is_lens, einstein_radius, kind)."""
    rng = np.random.default_rng(seed)
    n_lens = round(n * lens_fraction)
    kinds = np.array(["lens"] * n_lens + list(rng.choice(NEGATIVES, n - n_lens, p=(0.3, 0.35, 0.2, 0.15))))
    kinds = kinds[rng.permutation(n)]
    cube = np.empty((n, SIZE, SIZE), np.float32)
    theta = np.zeros(n)
    for start in range(0, n, _BATCH):
        sl = slice(start, min(n, start + _BATCH))
        cube[sl], theta[sl] = _batch(rng, kinds[sl])
    return cube, {"id": np.arange(n), "is_lens": (kinds == "lens").astype(np.int64),
                  "einstein_radius": np.round(theta, 3), "kind": kinds}


def write(out_dir, n: int, lens_fraction: float = 0.5, seed: int = 1):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from nnstudio.core.examples._write import write_csv, write_fits_cube

    os.makedirs(out_dir, exist_ok=True)
    cube, cols = generate(n, lens_fraction, seed)
    cube_path = write_fits_cube(os.path.join(out_dir, "lenses.fits"), cube, {"OBJECT": "simulated lenses"})
    labels = write_csv(os.path.join(out_dir, "lenses_labels.csv"), cols)
    return str(cube_path), str(labels)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--lens-fraction", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(*write(a.out, a.n, a.lens_fraction, a.seed))
