"""Atomic writers for example files: a temporary file in the same folder, then os.replace."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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
    text = ",".join(names) + "\n" + body + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)

    return _atomic(path, write)


def write_fits_cube(path, cube: np.ndarray, header_cards: dict | None = None) -> Path:
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.asarray(cube, dtype=np.float32))
    for key, value in (header_cards or {}).items():
        hdu.header[key] = value
    return _atomic(path, lambda tmp: hdu.writeto(tmp, overwrite=True))
