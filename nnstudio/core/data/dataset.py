"""Dataset: what a reader returns, before any choice of inputs, target or split."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("table", "images")


@dataclass
class Dataset:
    """Columns of a table, or images with a label table (one row per image).

    ``columns`` keeps the file's column order. A column is a NumPy array of length ``n_rows``;
    FITS vector columns (TDIM) have more dimensions, variable-length columns of unequal lengths
    are object arrays. ``images`` is native-endian float32 of shape (N, H, W, C). Labels are
    matched to ``image_ids`` (cutout folders) or to image positions 0..N-1 (cubes).
    """

    kind: str
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    images: np.ndarray | None = None
    name: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)
    hdu: int | None = None                  # FITS: the HDU the data came from; VOTable: the table
    parts: list[dict] | None = None         # FITS: all its HDUs; VOTable: all its tables (as listed)
    image_ids: list[str] | None = None      # cutout folders: file names without extension

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def n_rows(self) -> int:
        if self.images is not None:
            return int(self.images.shape[0])
        for col in self.columns.values():
            return len(col)
        return 0

    @property
    def image_shape(self) -> tuple[int, ...] | None:
        return None if self.images is None else tuple(int(d) for d in self.images.shape[1:])

    def numeric_columns(self) -> list[str]:
        """Columns that can be model inputs as they are: int, float or bool (any width)."""
        return [name for name, col in self.columns.items() if is_numeric(col)]

    def column_stats(self, name: str) -> dict:
        """min, max, mean, std (NaN ignored), n_nan, n_unique and dtype of one column."""
        if name not in self.columns:
            raise KeyError(name)
        return column_stats(self.columns[name])


def is_numeric(col: np.ndarray) -> bool:
    return col.dtype.kind in "biuf"


def column_stats(col: np.ndarray) -> dict:
    col = np.asarray(col)
    stats = {"min": None, "max": None, "mean": None, "std": None, "n_nan": 0,
             "n_unique": 0, "dtype": dtype_name(col)}
    if len(col) == 0:
        return stats
    if col.dtype.kind in "biuf":
        values = col.astype(np.float64, copy=False).ravel()
        finite = np.isfinite(values)
        stats["n_nan"] = int(np.count_nonzero(np.isnan(values)))
        stats["n_inf"] = int(values.size - stats["n_nan"] - np.count_nonzero(finite))
        good = values[finite]
        if good.size:
            stats.update(min=float(good.min()), max=float(good.max()),
                         mean=float(good.mean()), std=float(good.std()))
        stats["n_unique"] = int(np.unique(good).size) if good.size else 0
    elif col.dtype.kind == "U" or col.dtype.kind == "S":
        stats["n_nan"] = int(np.count_nonzero(col == col.dtype.type("")))
        stats["n_unique"] = int(np.unique(col).size)
    else:  # object: variable-length arrays
        stats["n_unique"] = None
    return stats


def dtype_name(col: np.ndarray) -> str:
    col = np.asarray(col)
    if col.dtype.kind == "U":
        return "str"
    if col.dtype.kind == "O":
        return "object"
    name = col.dtype.newbyteorder("=").name
    if col.ndim > 1:
        return f"{name}[{','.join(str(d) for d in col.shape[1:])}]"
    return name
