"""Writers for example files, atomic through :mod:`nnstudio.core.files`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.files import atomic_path, atomic_write_text


def write_csv(path, columns: dict[str, np.ndarray], formats: dict[str, str] | None = None) -> Path:
    """A plain CSV with a header; floats formatted per column (default 6 significant digits)."""
    formats = formats or {}
    names = list(columns)
    cells = []
    for name in names:
        col = np.asarray(columns[name])
        if col.dtype.kind == "f":
            fmt = formats.get(name, "%.6g")
            cells.append(np.char.mod(fmt, col))
        else:
            cells.append(col.astype(str))
    body = "\n".join(",".join(row) for row in zip(*cells))
    return atomic_write_text(path, ",".join(names) + "\n" + body + "\n")


def write_fits_cube(path, cube: np.ndarray, header_cards: dict | None = None) -> Path:
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.asarray(cube, dtype=np.float32))
    for key, value in (header_cards or {}).items():
        hdu.header[key] = value
    with atomic_path(path) as tmp:
        hdu.writeto(tmp, overwrite=True)
    return Path(path)
