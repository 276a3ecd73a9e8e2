"""A virtual table model over a data set's columns.

The model keeps references to the column arrays and formats a cell only when a view asks for
it, so a million rows cost nothing up front and scrolling formats only the visible cells.
``cells_formatted`` counts the formatting work (tests assert on it).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from nnstudio.core.formatting import fmt_number

VECTOR_SHOWN = 3   # elements of a vector cell written out before "…"
_ROOT = QModelIndex()


def format_value(v) -> str:
    """One cell as text: floats to 6 significant digits, vectors summarised. A raw cell shows
    what the file holds, so a missing value reads "NaN" and an infinity "inf"."""
    if isinstance(v, np.ndarray):
        return _format_vector(v)
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "NaN" if np.isnan(v) else str(float(v))
        return fmt_number(float(v), digits=6)
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("ascii", "replace")
    return str(v)


def _format_vector(v: np.ndarray) -> str:
    flat = v.ravel()
    head = ", ".join(format_value(x) for x in flat[:VECTOR_SHOWN])
    if flat.size <= VECTOR_SHOWN:
        return f"[{head}]"
    shape = "×".join(str(d) for d in v.shape)
    return f"[{head}, …] ({shape})"


def is_missing(v) -> bool:
    return isinstance(v, (float, np.floating)) and not np.isfinite(v)


class ColumnTableModel(QAbstractTableModel):
    """Rows × columns of ``{name: array}``; nothing is copied or converted up front."""

    def __init__(self, columns: dict[str, np.ndarray] | None = None, parent=None):
        super().__init__(parent)
        self._names: list[str] = []
        self._cols: list[np.ndarray] = []
        self._numeric: list[bool] = []
        self._n = 0
        self.cells_formatted = 0
        if columns:
            self._set(columns)

    def _set(self, columns: dict[str, np.ndarray]) -> None:
        self._names = list(columns)
        self._cols = [columns[n] for n in self._names]
        self._numeric = [c.dtype.kind in "biuf" for c in self._cols]
        self._n = len(self._cols[0]) if self._cols else 0

    def set_columns(self, columns: dict[str, np.ndarray] | None) -> None:
        self.beginResetModel()
        self._set(columns or {})
        self.endResetModel()

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def column(self, name: str) -> np.ndarray:
        return self._cols[self._names.index(name)]

    # -- the Qt model ------------------------------------------------------------------------
    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._names)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        c = index.column()
        if role == Qt.DisplayRole:
            self.cells_formatted += 1
            return format_value(self._cols[c][index.row()])
        if role == Qt.TextAlignmentRole:
            return int((Qt.AlignRight if self._numeric[c] else Qt.AlignLeft) | Qt.AlignVCenter)
        if role == Qt.ForegroundRole and self._numeric[c] \
                and is_missing(self._cols[c][index.row()]):
            from PySide6.QtGui import QColor

            return QColor(150, 150, 150)
        if role == Qt.ToolTipRole and self._cols[c].ndim > 1:
            v = self._cols[c][index.row()]
            return np.array2string(np.asarray(v), threshold=64, precision=4)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            if orientation == Qt.Horizontal:
                return self._names[section] if section < len(self._names) else None
            return str(section)
        if role == Qt.ToolTipRole and orientation == Qt.Horizontal and section < len(self._cols):
            from nnstudio.core.data.dataset import dtype_name

            return f"{self._names[section]} ({dtype_name(self._cols[section])})"
        return None
