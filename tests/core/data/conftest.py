"""Small data files written on the fly for the data-layer tests."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def write_csv(tmp_path):
    def write(name: str, text: str):
        p = tmp_path / name
        p.write_text(text)
        return p
    return write


@pytest.fixture
def cube_with_labels(tmp_path):
    """A 3-D FITS cube of 40 images (image i is filled with the value i) and a label CSV."""
    from astropy.io import fits

    n = 40
    cube = np.repeat(np.arange(n, dtype=np.float32), 6 * 5).reshape(n, 6, 5)
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(cube).writeto(path)
    labels = tmp_path / "labels.csv"
    cls = np.where(np.arange(n) % 4 == 0, "lens", "other")
    labels.write_text("id,kind\n" + "\n".join(f"{i},{c}" for i, c in enumerate(cls)) + "\n")
    return path, labels, cube, cls
