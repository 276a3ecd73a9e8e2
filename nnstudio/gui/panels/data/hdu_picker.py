"""The parts of a file: the HDUs of a FITS file or the tables of a VOTable; pick the one to use.

Each row shows the part's type and shape; a part nnstudio cannot train on is greyed out and
says why (the ``reason`` of the core's listing).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from nnstudio.core.formatting import fmt_count

MAX_VISIBLE_ROWS = 5


def describe_shape(hdu: dict) -> str:
    if hdu["kind"] == "image":
        dims = "×".join(fmt_count(d) for d in hdu["shape"])
        return f"{dims} {hdu.get('dtype') or ''}".strip()
    if hdu["kind"] == "table":
        n = hdu["shape"][0] if hdu["shape"] else 0
        k = len(hdu["columns"])
        return f"{fmt_count(n)} row{'s' * (n != 1)} × {fmt_count(k)} column{'s' * (k != 1)}"
    return "no data"


def is_votable(parts: list[dict]) -> bool:
    return bool(parts) and parts[0].get("type") == "VOTable table"


class HduPicker(QTreeWidget):
    """One row per HDU (``list_hdus``) or VOTable table; ``chosen(index)`` when one is picked."""

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
        votable = is_votable(hdus)
        self.setHeaderLabels(["Table" if votable else "HDU", "Type", "Shape / columns"])
        self.setColumnHidden(1, votable)    # a VOTable holds tables only: no type to tell apart
        for h in hdus:
            name = h["name"] or ""
            kind = h.get("type", h["kind"])
            shape = describe_shape(h)
            usable = h.get("usable", h["kind"] != "empty")
            reason = h.get("reason", "")
            shown = shape if usable or not reason or h["kind"] == "empty" else \
                f"{shape} — not usable: {reason}"
            item = QTreeWidgetItem([f"{h['index']}  {name}".rstrip(), kind, shown])
            item.setData(0, Qt.UserRole, h["index"])
            tip = shape
            if h["columns"]:
                tip += "\nColumns: " + ", ".join(h["columns"])
            if not usable and reason:
                tip += f"\nNot usable: {reason}"
            for c in range(3):
                item.setToolTip(c, tip)
            if not usable:
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
