"""The HDUs of a FITS file (name, type, shape, columns); pick the one that holds the data."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

MAX_VISIBLE_ROWS = 5


def describe_shape(hdu: dict) -> str:
    if hdu["kind"] == "image":
        dims = "×".join(str(d) for d in hdu["shape"])
        return f"{dims} {hdu.get('dtype') or ''}".strip()
    if hdu["kind"] == "table":
        n = hdu["shape"][0] if hdu["shape"] else 0
        return f"{n} rows × {len(hdu['columns'])} columns"
    return "no data"


class HduPicker(QTreeWidget):
    """One row per HDU from ``list_hdus``; ``chosen(index)`` when the person picks one."""

    chosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["HDU", "Type", "Shape / columns"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setAlternatingRowColors(True)
        h = self.header()
        h.setStretchLastSection(True)
        h.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.hdus: list[dict] = []
        self.itemClicked.connect(self._on_clicked)

    def set_hdus(self, hdus: list[dict], current: int | None) -> None:
        self.blockSignals(True)
        self.clear()
        self.hdus = list(hdus)
        for h in hdus:
            name = h["name"] or ""
            item = QTreeWidgetItem([f"{h['index']}  {name}".rstrip(), h["kind"], describe_shape(h)])
            item.setData(0, Qt.UserRole, h["index"])
            tip = describe_shape(h)
            if h["columns"]:
                tip += "\nColumns: " + ", ".join(h["columns"])
            for c in range(3):
                item.setToolTip(c, tip)
            if h["kind"] == "empty":
                item.setFlags(Qt.NoItemFlags)
            self.addTopLevelItem(item)
            if h["index"] == current:
                item.setSelected(True)
                self.setCurrentItem(item)
        self.blockSignals(False)
        rows = min(len(hdus), MAX_VISIBLE_ROWS)
        row_h = max(self.sizeHintForRow(0) if hdus else 0, self.fontMetrics().height() + 4)
        self.setFixedHeight(self.header().sizeHint().height() + rows * row_h + 2 * self.frameWidth())

    def _on_clicked(self, item, _col) -> None:
        index = item.data(0, Qt.UserRole)
        if index is not None and item.flags() & Qt.ItemIsEnabled:
            self.chosen.emit(int(index))
