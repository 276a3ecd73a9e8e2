"""The catalog as a Qt table: one row per input row, thumbnails beside image rows, numbers sorted
as numbers, and a filter over the text columns and the flags."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QImage, QPixmap

from nnstudio.core.formatting import fmt_number

SORT_ROLE = Qt.UserRole + 1
_ROOT = QModelIndex()


class CatalogModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: dict[str, np.ndarray] = {}
        self.names: list[str] = []
        self.thumbnails: np.ndarray | None = None
        self._pixmaps: dict[int, QPixmap] = {}
        self.predicted: np.ndarray | None = None   # the class shown: follows the threshold in the panel

    def set_result(self, result) -> None:
        self.beginResetModel()
        self.columns = dict(result.columns) if result is not None else {}
        self.names = list(self.columns)
        self.thumbnails = result.thumbnails if result is not None else None
        self.predicted = self.columns.get("predicted")
        self._pixmaps.clear()
        self.endResetModel()

    def set_predicted(self, predicted: np.ndarray) -> None:
        self.predicted = predicted
        if "predicted" in self.names and self.rowCount():
            col = self.names.index("predicted")
            self.dataChanged.emit(self.index(0, col), self.index(self.rowCount() - 1, col))

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() or not self.names else len(self.columns["row"])

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.names)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and section < len(self.names):
            return self.names[section]
        return None

    def value(self, row: int, name: str):
        if name == "predicted" and self.predicted is not None:
            return self.predicted[row]
        return self.columns[name][row]

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        name = self.names[index.column()]
        v = self.value(index.row(), name)
        if role == Qt.DisplayRole:
            if isinstance(v, (bool, np.bool_)):
                return "yes" if v else ""
            if isinstance(v, (float, np.floating)):
                return fmt_number(float(v)) if np.isfinite(v) else "—"
            return str(v)
        if role == SORT_ROLE:
            if isinstance(v, (float, np.floating)):
                return float(v) if np.isfinite(v) else -np.inf
            if isinstance(v, (int, np.integer, bool, np.bool_)):
                return int(v)
            return str(v)
        if role == Qt.DecorationRole and index.column() == 1 and self.thumbnails is not None:
            return self._pixmap(index.row())
        if role == Qt.TextAlignmentRole and isinstance(v, (float, np.floating, int, np.integer)):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def _pixmap(self, row: int) -> QPixmap:
        pm = self._pixmaps.get(row)
        if pm is None:
            a = np.ascontiguousarray(self.thumbnails[row])
            img = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format_Grayscale8).copy()
            pm = QPixmap.fromImage(img)
            self._pixmaps[row] = pm
        return pm


class CatalogFilter(QSortFilterProxyModel):
    """Rows whose text (source, ids, predicted class, flag) holds the filter text; optionally only
    predictions above the threshold or inputs unlike the training data."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.text = ""
        self.only_ood = False
        self.min_score: tuple[str, float] | None = None

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_only_ood(self, on: bool) -> None:
        self.beginFilterChange()
        self.only_ood = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_min_score(self, column: str | None, value: float | None) -> None:
        self.beginFilterChange()
        self.min_score = None if column is None or value is None else (column, value)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row, parent):
        m: CatalogModel = self.sourceModel()
        if not m.names:
            return True
        if self.only_ood and not bool(m.columns["ood"][row]):
            return False
        if self.min_score is not None:
            v = m.columns[self.min_score[0]][row]
            if not (np.isfinite(v) and v >= self.min_score[1]):
                return False
        if not self.text:
            return True
        for name in m.names:
            v = m.value(row, name)
            if isinstance(v, (str, np.str_)) and self.text in str(v).lower():
                return True
        return False
