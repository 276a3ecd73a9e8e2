"""The run table: every run of a project in a sortable table, with what changed against the run
before it, and the actions on runs (overlay, rename, annotate, hide, delete, export).

The table only shows :class:`~nnstudio.core.experiments.runs.RunRow` objects and emits what the
person asked for; the panel carries it out with the core functions.
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

SORT_ROLE = Qt.UserRole + 1
ID_ROLE = Qt.UserRole
# a short list of test figures gets columns; the rest are in the tooltip
TEST_PREFERRED = ("accuracy", "balanced_accuracy", "auc", "rmse", "mae", "r2", "nll", "loss")
MAX_TEST_COLUMNS = 3


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    s = round(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_when(iso: str) -> str:
    """``2025-01-01T12:03:04`` -> ``2025-01-01 12:03``."""
    return iso.replace("T", " ")[:16] if iso else "—"


def fmt_number(v) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{float(v):.4g}"


def test_columns(rows) -> list[str]:
    """The test figures that get their own column: the preferred ones present, then others."""
    present = []
    for r in rows:
        present += [k for k in r.test if k not in present]
    ordered = [k for k in TEST_PREFERRED if k in present] + sorted(k for k in present if k not in TEST_PREFERRED)
    return ordered[:MAX_TEST_COLUMNS]


class _Item(QTableWidgetItem):
    """A cell that sorts by its ``SORT_ROLE`` value (numbers as numbers, missing values last)."""

    def __lt__(self, other):
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is None or b is None:
            return a is not None and b is None
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class RunTable(QWidget):
    """Runs of a project, newest first; tick a run to overlay its curves."""

    overlay_toggled = Signal(str, bool)
    renamed = Signal(str, str)
    annotated = Signal(str, str)
    hide_requested = Signal(list, bool)        # run ids, hidden
    delete_requested = Signal(list)
    export_requested = Signal()
    show_hidden_changed = Signal(bool)

    FIXED = ("Run", "Name", "When", "Changes vs previous run", "Epochs", "Best val loss")
    TAIL = ("Time", "Device", "Seed", "Status", "Note")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows = []
        self._tests: list[str] = []
        self._filling = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        self.summary_label = QLabel("<b>Runs</b>")
        head.addWidget(self.summary_label)
        hint = QLabel("tick to overlay curves · double-click a name or note to edit · click a header to sort")
        hint.setEnabled(False)
        head.addWidget(hint)
        head.addStretch(1)
        self.show_hidden_check = QCheckBox("Show hidden")
        self.show_hidden_check.setToolTip("List hidden runs too (greyed)")
        self.show_hidden_check.toggled.connect(self.show_hidden_changed)
        head.addWidget(self.show_hidden_check)
        lay.addLayout(head)

        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setSortIndicator(0, Qt.DescendingOrder)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        lay.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Keep the selected runs but leave them out of lists and overlays")
        self.hide_button.clicked.connect(self._hide_clicked)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Remove the selected runs and their files (asks first)")
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self.selected_ids()))
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the whole table, hidden runs included, as a CSV file")
        self.export_button.clicked.connect(self.export_requested)
        for b in (self.hide_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.export_button)
        lay.addLayout(row)
        self._actions_enabled = True
        self._update_buttons()

    # -- content ----------------------------------------------------------------------------------
    def headers(self) -> list[str]:
        return [*self.FIXED, *(f"Test {k}" for k in self._tests), *self.TAIL]

    def set_rows(self, rows, overlaid=()) -> None:
        """Show ``rows`` (oldest first, as ``run_rows`` gives them); ``overlaid``: ticked run ids."""
        selected = set(self.selected_ids())
        self._rows = list(rows)
        self._tests = test_columns(self._rows)
        overlaid = set(overlaid)
        t = self.table
        self._filling = True
        t.setSortingEnabled(False)
        try:
            t.clear()
            heads = self.headers()
            t.setColumnCount(len(heads))
            t.setHorizontalHeaderLabels(heads)
            t.setRowCount(len(self._rows))
            for i, r in enumerate(reversed(self._rows)):   # newest first until sorted otherwise
                self._fill_row(i, r, r.id in overlaid)
            hh = t.horizontalHeader()
            hh.setSectionResizeMode(QHeaderView.Interactive)
            t.resizeColumnsToContents()
            changes = heads.index("Changes vs previous run")
            t.setColumnWidth(changes, max(220, min(t.columnWidth(changes), 420)))
            note = heads.index("Note")
            t.setColumnWidth(note, max(t.columnWidth(note), 160))
            hh.setStretchLastSection(True)
        finally:
            t.setSortingEnabled(True)   # keeps the person's sort column; newest first at the start
            self._filling = False
        for i in range(t.rowCount()):
            if t.item(i, 0).data(ID_ROLE) in selected:
                t.selectRow(i)
        n_hidden = sum(r.hidden for r in self._rows)
        self.summary_label.setText(f"<b>Runs</b> ({len(self._rows)}" + (f", {n_hidden} hidden" if n_hidden else "")
                                   + ")")
        self._update_buttons()

    def _fill_row(self, i: int, r, overlaid: bool) -> None:
        t = self.table

        def cell(text, sort=None, tip=None, editable=False, right=False):
            it = _Item(text)
            it.setData(SORT_ROLE, text if sort is None else sort)
            flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable
            if editable:
                flags |= Qt.ItemIsEditable
            it.setFlags(flags)
            if tip:
                it.setToolTip(tip)
            if right:
                it.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            return it

        run = cell(r.id, tip=f"{r.id}: {r.status}" + (f", in {r.group}" if r.group else ""))
        run.setData(ID_ROLE, r.id)
        if not r.hidden:
            run.setFlags(run.flags() | Qt.ItemIsUserCheckable)
            run.setCheckState(Qt.Checked if overlaid else Qt.Unchecked)
        changes_tip = "\n".join(r.changes_full) if r.changes_full else r.changes
        tests_tip = "\n".join(f"{k}: {fmt_number(v)}" for k, v in sorted(r.test.items())) or "not evaluated"
        cells = [run,
                 cell(r.name, tip="Double-click to rename", editable=True),
                 cell(fmt_when(r.started), sort=r.started, tip=r.started),
                 cell(r.changes, tip=changes_tip),
                 cell(str(r.epochs), sort=r.epochs, right=True),
                 cell(fmt_number(r.best_val_loss), sort=r.best_val_loss, right=True)]
        for k in self._tests:
            v = r.test.get(k)
            cells.append(cell(fmt_number(v), sort=v, tip="Test split\n" + tests_tip, right=True))
        cells += [cell(fmt_seconds(r.duration_s), sort=r.duration_s, right=True),
                  cell(r.device, tip=r.device),
                  cell("" if r.seed is None else str(r.seed), sort=r.seed, right=True),
                  cell(r.status + (" (hidden)" if r.hidden else "")),
                  cell(r.note, tip="Double-click to write a note", editable=True)]
        for col, it in enumerate(cells):
            if r.hidden:
                f = QFont(it.font())
                f.setItalic(True)
                it.setFont(f)
                it.setForeground(self.palette().placeholderText())
            t.setItem(i, col, it)

    # -- queries (tests, panel) -------------------------------------------------------------------
    def row_ids(self) -> list[str]:
        """Run ids in the order shown."""
        return [self.table.item(i, 0).data(ID_ROLE) for i in range(self.table.rowCount())]

    def row_texts(self, run_id: str) -> dict[str, str] | None:
        heads = self.headers()
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(ID_ROLE) == run_id:
                return {h: self.table.item(i, c).text() for c, h in enumerate(heads)}
        return None

    def cell(self, run_id: str, header: str) -> QTableWidgetItem | None:
        col = self.headers().index(header)
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(ID_ROLE) == run_id:
                return self.table.item(i, col)
        return None

    def selected_ids(self) -> list[str]:
        rows = sorted({ix.row() for ix in self.table.selectedIndexes()})
        return [self.table.item(i, 0).data(ID_ROLE) for i in rows if self.table.item(i, 0) is not None]

    def select(self, run_ids) -> None:
        wanted = set(run_ids)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.MultiSelection)
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(ID_ROLE) in wanted:
                self.table.selectRow(i)
        self.table.setSelectionMode(mode)

    def set_overlaid(self, run_ids) -> None:
        """Tick exactly these runs (echo of the curve overlays; emits nothing)."""
        wanted = set(run_ids)
        self._filling = True
        try:
            for i in range(self.table.rowCount()):
                it = self.table.item(i, 0)
                if it.flags() & Qt.ItemIsUserCheckable:
                    state = Qt.Checked if it.data(ID_ROLE) in wanted else Qt.Unchecked
                    if it.checkState() != state:
                        it.setCheckState(state)
        finally:
            self._filling = False

    def set_actions_enabled(self, on: bool) -> None:
        """Hide and delete change the project's files: off while a job is running."""
        self._actions_enabled = bool(on)
        self._update_buttons()

    # -- edits ------------------------------------------------------------------------------------
    def _row_by_id(self, run_id):
        return next((r for r in self._rows if r.id == run_id), None)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        run_id = self.table.item(item.row(), 0).data(ID_ROLE)
        head = self.headers()[item.column()]
        row = self._row_by_id(run_id)
        if row is None:
            return
        if item.column() == 0:
            self.overlay_toggled.emit(run_id, item.checkState() == Qt.Checked)
        elif head == "Name" and item.text() != row.name:
            row.name = item.text().strip()
            self.renamed.emit(run_id, row.name)
        elif head == "Note" and item.text() != row.note:
            row.note = item.text()
            self.annotated.emit(run_id, row.note)

    def _hide_clicked(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        # all selected already hidden: the button unhides them
        hidden = not all(getattr(self._row_by_id(i), "hidden", False) for i in ids)
        self.hide_requested.emit(ids, hidden)

    def _update_buttons(self) -> None:
        ids = self.selected_ids()
        on = self._actions_enabled and bool(ids)
        self.hide_button.setEnabled(on)
        self.delete_button.setEnabled(on)
        all_hidden = bool(ids) and all(getattr(self._row_by_id(i), "hidden", False) for i in ids)
        self.hide_button.setText("Unhide" if all_hidden else "Hide")
