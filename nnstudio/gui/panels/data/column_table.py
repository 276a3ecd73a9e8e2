"""Columns of a data set with their statistics; tick the ones that are model inputs."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from nnstudio.core.formatting import fmt_number

HEADERS = ("Column", "Min", "Max", "Mean", "Std", "Missing")


class ColumnTable(QTableWidget):
    """One row per column. ``inputs_changed`` when a tick changes, ``current_changed(name)`` when
    another row becomes current. The target's row is marked and cannot be ticked."""

    inputs_changed = Signal()
    current_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeToContents)
        h.setStretchLastSection(False)
        h.setMinimumSectionSize(48)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._names: list[str] = []
        self._usable: set[str] = set()
        self._target: str | None = None
        self._tips: dict[str, str] = {}
        self.checkable = True
        self.itemChanged.connect(self._on_item_changed)
        self.currentCellChanged.connect(self._on_current)

    def set_columns(self, stats: dict[str, dict], usable: list[str], checked: list[str],
                    target: str | None, checkable: bool = True) -> None:
        """``stats`` from ``column_stats`` per column; ``usable`` columns may be ticked."""
        self.blockSignals(True)
        self.checkable = checkable
        self._names = list(stats)
        self._usable = set(usable)
        self.setRowCount(len(self._names))
        for r, name in enumerate(self._names):
            s = stats[name]
            item = QTableWidgetItem(name)
            self.setItem(r, 0, item)
            missing = (s.get("n_nan") or 0) + (s.get("n_inf") or 0)
            dtype = s.get("dtype", "")
            if s.get("min") is None and dtype in ("str", "object"):
                values = (dtype, "", "", "", str(missing))  # no statistics: say why
            else:
                values = (*(fmt_number(s.get(k), blank="") for k in ("min", "max", "mean", "std")),
                          str(missing))
            for c, text in enumerate(values, start=1):
                cell = QTableWidgetItem(text)
                cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.setItem(r, c, cell)
            self._tips[name] = f"{name}: {dtype}" + (
                f", {s['n_unique']} distinct values" if s.get("n_unique") else "")
        self.blockSignals(False)
        self.set_target(target, checked)

    def set_target(self, target: str | None, checked: list[str] | None = None) -> None:
        """Mark ``target``'s row; ``checked`` (default: the ticks as they are) minus the target."""
        keep = set(self.inputs() if checked is None else checked)
        self._target = target
        self.blockSignals(True)
        for r, name in enumerate(self._names):
            item = self.item(r, 0)
            flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable
            font = QFont(item.font())
            font.setBold(name == target)
            item.setFont(font)
            if name == target:
                item.setText(f"{name}  (target)")
            else:
                item.setText(name)
            if self.checkable and name in self._usable and name != target:
                flags |= Qt.ItemIsUserCheckable
                item.setFlags(flags)
                item.setCheckState(Qt.Checked if name in keep else Qt.Unchecked)
            else:
                item.setFlags(flags)
                item.setData(Qt.CheckStateRole, None)
            tip = self._tips.get(name, name)
            if name == target:
                tip += " (the target)"
            elif self.checkable and name not in self._usable:
                tip += "; not numeric, so it cannot be an input"
            item.setToolTip(tip)
        self.blockSignals(False)

    def inputs(self) -> list[str]:
        """The ticked columns, in the file's order."""
        out = []
        for r, name in enumerate(self._names):
            item = self.item(r, 0)
            if item is not None and item.flags() & Qt.ItemIsUserCheckable \
                    and item.checkState() == Qt.Checked:
                out.append(name)
        return out

    def set_checked(self, name: str, on: bool) -> None:
        r = self._names.index(name)
        self.item(r, 0).setCheckState(Qt.Checked if on else Qt.Unchecked)

    def select_column(self, name: str) -> None:
        if name in self._names:
            self.setCurrentCell(self._names.index(name), 0)

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def _on_item_changed(self, item) -> None:
        if item.column() == 0:
            self.inputs_changed.emit()

    def _on_current(self, row, _col, prow, _pcol) -> None:
        if row != prow and 0 <= row < len(self._names):
            self.current_changed.emit(self._names[row])
