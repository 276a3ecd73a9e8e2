"""Small trained projects for the Predict tests (core, CLI and GUI): one model over 32×32 lens
cutouts and one over a galaxy-mass table, each with held-out data the model never saw."""
from __future__ import annotations

from pathlib import Path

import numpy as np

N_TRAIN = 400
SIZE = 32


def lens_project(folder: Path, epochs: int = 2):
    """(project, held-out cutouts (n, 32, 32), their labels): a CNN trained on 400 cutouts."""
    from nnstudio.core.examples import strong_lens
    from nnstudio.core.examples._write import write_csv, write_fits_cube
    from nnstudio.core.workflow.projects import new_project
    from nnstudio.core.workflow.train import train_project

    folder.mkdir(parents=True, exist_ok=True)
    cube, cols = strong_lens.generate(n=N_TRAIN + 200, seed=1)
    cube = np.ascontiguousarray(cube[:, 16:16 + SIZE, 16:16 + SIZE])
    write_fits_cube(folder / "train.fits", cube[:N_TRAIN])
    write_csv(folder / "train.csv", {k: v[:N_TRAIN] for k, v in cols.items()})
    project = new_project(str(folder / "train.fits"), folder / "lens.nnproj", labels=str(folder / "train.csv"),
                          target="is_lens", problem="classification")
    train_project(project, epochs=epochs)
    project.save()
    return project, cube[N_TRAIN:], cols["is_lens"][N_TRAIN:]


def galaxy_project(folder: Path, epochs: int = 2):
    """(project, held-out columns): an MLP for log stellar mass trained on 1200 galaxies."""
    from nnstudio.core.examples import galaxy_mass
    from nnstudio.core.examples._write import write_csv
    from nnstudio.core.workflow.projects import new_project
    from nnstudio.core.workflow.train import train_project

    folder.mkdir(parents=True, exist_ok=True)
    cols = galaxy_mass.generate(n=1600, seed=2)
    write_csv(folder / "train.csv", {k: v[:1200] for k, v in cols.items()})
    project = new_project(str(folder / "train.csv"), folder / "mass.nnproj", target="log_stellar_mass",
                          problem="regression", inputs=["log_luminosity", "g_r", "redshift"])
    train_project(project, epochs=epochs)
    project.save()
    return project, {k: v[1200:] for k, v in cols.items()}


def write_cutouts(folder: Path, images, names) -> list[Path]:
    from astropy.io import fits

    paths = []
    for img, name in zip(images, names):
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        fits.PrimaryHDU(np.asarray(img, np.float32)).writeto(p, overwrite=True)
        paths.append(p)
    return paths
