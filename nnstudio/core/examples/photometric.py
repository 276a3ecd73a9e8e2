"""photometric-classes: stars, galaxies and quasars from SDSS-like colours (multi-class).

Stars lie on a stellar locus (FGK stars and M dwarfs), low-redshift quasars show the UV excess,
high-redshift quasars move into the stellar locus, galaxies form a red and a blue population.
Magnitude-dependent photometric errors (per band, with SDSS-like depths) blur the classes at
the faint end, so colours alone cannot separate them perfectly.
"""
from __future__ import annotations

import numpy as np

N_OBJECTS = 6000
DEPTH = {"u": 22.0, "g": 23.0, "r": 22.6, "i": 22.1, "z": 20.8}


def _stars(rng, n):
    m = rng.random(n) < 0.3
    g_r = np.clip(rng.normal(0.42, 0.15, n), 0.0, 1.2)
    u_g = 0.45 + 2.2 * g_r - 0.55 * g_r ** 2
    r_i = 0.36 * g_r - 0.02
    i_z = 0.22 * g_r - 0.01
    r_i_m = rng.uniform(0.6, 1.8, n)
    g_r = np.where(m, 1.42 + 0.05 * (r_i_m - 1.0), g_r)
    u_g = np.where(m, 2.5 + rng.normal(0, 0.1, n), u_g)
    r_i = np.where(m, r_i_m, r_i)
    i_z = np.where(m, 0.55 * r_i_m - 0.05, i_z)
    width = 0.03
    r = np.clip(21.8 - rng.exponential(2.0, n), 14.0, 21.8)
    return (u_g + rng.normal(0, width, n), g_r + rng.normal(0, width, n),
            r_i + rng.normal(0, width, n), i_z + rng.normal(0, width, n), r)


def _galaxies(rng, n):
    red = rng.random(n) < 0.45
    u_g = np.where(red, rng.normal(1.85, 0.2, n), rng.normal(1.25, 0.25, n))
    g_r = np.where(red, rng.normal(0.85, 0.08, n), rng.normal(0.45, 0.12, n))
    r_i = np.where(red, rng.normal(0.40, 0.07, n), rng.normal(0.27, 0.09, n))
    i_z = np.where(red, rng.normal(0.32, 0.07, n), rng.normal(0.17, 0.10, n))
    r = np.clip(21.8 - rng.exponential(1.3, n), 15.0, 21.8)
    return u_g, g_r, r_i, i_z, r


def _quasars(rng, n):
    high_z = rng.random(n) < 0.18   # Lyman-alpha forest in u: quasars among the stars
    u_g = np.where(high_z, rng.normal(1.5, 0.5, n), rng.normal(0.22, 0.13, n))
    g_r = np.where(high_z, rng.normal(0.32, 0.15, n), rng.normal(0.15, 0.10, n))
    r_i = np.where(high_z, rng.normal(0.12, 0.10, n), rng.normal(0.12, 0.08, n))
    i_z = np.where(high_z, rng.normal(0.08, 0.10, n), rng.normal(0.05, 0.10, n))
    r = np.clip(21.8 - rng.exponential(1.0, n), 16.5, 21.8)
    return u_g, g_r, r_i, i_z, r


def generate(n: int = N_OBJECTS, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, [0.40, 0.42, 0.18])
    parts = [f(rng, k) for f, k in zip((_stars, _galaxies, _quasars), counts)]
    u_g, g_r, r_i, i_z, r = (np.concatenate([p[k] for p in parts]) for k in range(5))
    labels = np.repeat(np.array(["STAR", "GALAXY", "QSO"]), counts)
    # observe each band with its own magnitude-dependent error, then re-form the colours
    mags = {"r": r}
    mags["g"] = r + g_r
    mags["u"] = mags["g"] + u_g
    mags["i"] = r - r_i
    mags["z"] = mags["i"] - i_z
    obs = {b: m + rng.normal(0, 1, n) * (0.01 + 0.2 * 10 ** (0.4 * (m - DEPTH[b])))
           for b, m in mags.items()}
    order = rng.permutation(n)
    cols = {
        "id": np.arange(1, n + 1),
        "u_g": np.round(obs["u"] - obs["g"], 4)[order],
        "g_r": np.round(obs["g"] - obs["r"], 4)[order],
        "r_i": np.round(obs["r"] - obs["i"], 4)[order],
        "i_z": np.round(obs["i"] - obs["z"], 4)[order],
        "r": np.round(obs["r"], 4)[order],
        "class": labels[order],
    }
    return cols
