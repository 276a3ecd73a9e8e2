"""galaxy-mass: stellar mass from luminosity and colour (regression).

Luminosities follow a Schechter-like distribution; the red fraction rises with luminosity; the
mass-to-light ratio follows Bell et al. (2003), log(M/L_r) = -0.306 + 1.097 (g - r). Scatter
is luminosity dependent: faint galaxies have noisier colours and a wider spread of star-formation
histories, so their mass is less well determined.
"""
from __future__ import annotations

import numpy as np

N_GALAXIES = 5000


def generate(n: int = N_GALAXIES, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # log10 L_r / L_sun: many faint galaxies, an exponential cut-off above ~10^11
    log_l = np.clip(11.35 - rng.gamma(2.0, 0.45, n), 8.5, 11.7)
    faint = np.clip((10.8 - log_l) / 2.3, 0.0, 1.0)          # 0 bright .. 1 faintest
    red = rng.random(n) < 1.0 / (1.0 + np.exp(-(log_l - 10.3) / 0.35))
    g_r = np.where(red,
                   0.74 + 0.04 * (log_l - 10.5) + rng.normal(0, 0.04, n),
                   0.45 + 0.08 * (log_l - 10.0) + rng.normal(0, 0.09, n))
    log_ml = -0.306 + 1.097 * g_r
    sigma_int = 0.06 + 0.12 * faint                            # dust, bursts, metallicity
    log_m = log_l + log_ml + rng.normal(0, 1, n) * sigma_int
    # what is measured: noisier for faint galaxies
    g_r_obs = g_r + rng.normal(0, 1, n) * (0.015 + 0.07 * faint)
    log_l_obs = log_l + rng.normal(0, 1, n) * (0.01 + 0.04 * faint)
    # flux-limited survey: faint galaxies are only seen nearby (uniform in volume below z_max)
    z_max = 0.3 * 10 ** (0.5 * (log_l - 11.5))
    z = np.maximum(0.003, z_max * rng.random(n) ** (1 / 3))
    return {
        "id": np.arange(1, n + 1),
        "log_luminosity": np.round(log_l_obs, 4),
        "g_r": np.round(g_r_obs, 4),
        "redshift": np.round(z, 5),
        "log_stellar_mass": np.round(log_m, 4),
    }
