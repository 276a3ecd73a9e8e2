"""The project's runs in one sortable table under the curves: select a run to see its curves, tick
runs to overlay them, see what changed against the run before, and act on runs (rename, annotate,
hide, delete, export).

The table only shows :class:`~nnstudio.core.experiments.runs.RunRow` objects and emits what the
person asked for; the panel carries it out with the core functions.
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_number, fmt_seconds, fmt_when

SORT_ROLE = Qt.UserRole + 1
ID_ROLE = Qt.UserRole
# a short list of test figures gets columns; the rest are in the tooltip
TEST_PREFERRED = ("accuracy", "balanced_accuracy", "auc", "rmse", "mae", "r2", "nll", "loss")
MAX_TEST_COLUMNS = 3
STATUS_TEXT = {"running": "running…", "completed": "completed", "stopped": "stopped",
               "nan": "NaN loss", "failed": "failed"}
BEST_HEADER = "Best val loss"
BEST_TIP = ("The validation loss at the run's best epoch, the lowest it reached: the weights the run "
            "kept when “Restore best weights” is on (the default). A run without a validation split "
            "shows its training loss there, marked “(train)”.")


def best_loss(record) -> tuple[str, float | None]:
    """The run's loss at its best epoch: ("val_loss", value), or ("loss", value) for a run trained
    without a validation split; the value is None when the run has no best epoch yet."""
    key = "val_loss" if record.history.get("val_loss") else "loss"
    vals = record.history.get(key) or []
    i = record.best_epoch
    if i is None or not (0 <= i < len(vals)):
        return key, None
    return key, vals[i]


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
    """Runs of a project, newest first: the one list of runs in the Train panel."""

    current_changed = Signal(str)              # the person selected a run: show its curves
    overlay_toggled = Signal(str, bool)
    renamed = Signal(str, str)
    annotated = Signal(str, str)
    hide_requested = Signal(list, bool)        # run ids, hidden
    delete_requested = Signal(list)
    export_requested = Signal()
    show_hidden_changed = Signal(bool)

    # what a glance needs first; the settings and notes after the figures
    FIXED = ("Run", "Name", "Status", "Epochs", BEST_HEADER)
    TAIL = ("Time", "Changes vs previous run", "When", "Device", "Seed", "Note")
    RIGHT = frozenset({"Epochs", BEST_HEADER, "Time", "Seed"})

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows = []
        self._records: dict = {}
        self._tests: list[str] = []
        self._filling = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        self.summary_label = QLabel("<b>Runs</b>")
        head.addWidget(self.summary_label)
        hint = QLabel("select a run to see its curves · tick runs to overlay them · double-click a name "
                      "or note to edit")
        hint.setEnabled(False)
        hint.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # a narrow window cuts it short
        hint.setToolTip("Select a run to see its curves; tick runs to overlay them; double-click a name or "
                        "note to edit. Click a column header to sort; Ctrl- or Shift-click to select "
                        "several runs.")
        head.addWidget(hint, 1)
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
        self.table.setMinimumHeight(110)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setSortIndicator(0, Qt.DescendingOrder)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._on_selection)
        lay.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Keep the selected runs but leave them out of lists and overlays")
        self.hide_button.clicked.connect(self._hide_clicked)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Remove the selected runs and their files (asks first)")
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self._run_selection()))
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

    def set_rows(self, rows, records=None, overlaid=(), live: str | None = None) -> None:
        """Show ``rows`` (oldest first, as ``run_rows`` gives them). ``records``: the runs'
        :class:`RunRecord` by id (best epoch, message, settings); ``overlaid``: ticked run ids;
        ``live``: the run a job is training now (its row says so, or is added on top)."""
        selected = self.selected_ids()
        current = self.current_id()
        self._rows = list(rows)
        self._records = dict(records or {})
        self._tests = test_columns(self._rows)
        overlaid = set(overlaid)
        ids = {r.id for r in self._rows}
        t = self.table
        self._filling = True
        t.setSortingEnabled(False)
        try:
            t.clear()
            heads = self.headers()
            t.setColumnCount(len(heads))
            t.setHorizontalHeaderLabels(heads)
            t.horizontalHeaderItem(heads.index(BEST_HEADER)).setToolTip(BEST_TIP)
            extra = live is not None and live not in ids
            t.setRowCount(len(self._rows) + extra)
            if extra:
                self._fill_live_row(0, live)
            for i, r in enumerate(reversed(self._rows), start=extra):   # newest first until sorted otherwise
                self._fill_row(i, r, r.id in overlaid, running=r.id == live)
            hh = t.horizontalHeader()
            hh.setSectionResizeMode(QHeaderView.Interactive)
            t.resizeColumnsToContents()
            changes = heads.index("Changes vs previous run")
            t.setColumnWidth(changes, max(200, min(t.columnWidth(changes), 380)))
            note = heads.index("Note")
            t.setColumnWidth(note, max(t.columnWidth(note), 160))
            hh.setStretchLastSection(True)
        finally:
            t.setSortingEnabled(True)   # keeps the person's sort column; newest first at the start
            self._select_ids(selected, current)
            self._filling = False
        n_hidden = sum(r.hidden for r in self._rows)
        self.summary_label.setText(f"<b>Runs</b> ({len(self._rows)}" + (f", {n_hidden} hidden" if n_hidden else "")
                                   + ")")
        self._update_buttons()

    @staticmethod
    def _cell(text, sort=None, tip=None, editable=False, right=False) -> QTableWidgetItem:
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

    def _fill_row(self, i: int, r, overlaid: bool, running: bool = False) -> None:
        cell = self._cell
        rec = self._records.get(r.id)
        status = STATUS_TEXT["running"] if running else STATUS_TEXT.get(r.status, r.status)
        message = getattr(rec, "message", "") or ""
        tip = [f"{r.id}: {status}" + (f", in {r.group}" if r.group else "")]
        tip += [r.name] if r.name else []
        tip.append(f"started {fmt_when(r.started)} on {r.device or '—'}")
        if rec is not None:
            s = rec.settings or {}
            tip.append(f"epochs {s.get('epochs', '—')}, batch size {s.get('batch_size', '—')}, "
                       f"seed {s.get('seed', '—')}")
        tip += [x for x in (r.note, message) if x]
        run = cell(r.id, tip="\n".join(tip))
        run.setData(ID_ROLE, r.id)
        if not r.hidden:
            run.setFlags(run.flags() | Qt.ItemIsUserCheckable)
            run.setCheckState(Qt.Checked if overlaid else Qt.Unchecked)
        key, best = best_loss(rec) if rec is not None else ("val_loss", r.best_val_loss)
        best_text = fmt_number(best) + (" (train)" if key == "loss" and best is not None else "")
        changes_tip = "\n".join(r.changes_full) if r.changes_full else r.changes
        tests_tip = "\n".join(f"{k}: {fmt_number(v)}" for k, v in sorted(r.test.items())) or "not evaluated"
        cells = {"Run": run,
                 "Name": cell(r.name, tip="Double-click to rename", editable=True),
                 "Status": cell(status + (" (hidden)" if r.hidden else ""), tip=message or status),
                 "Epochs": cell(str(r.epochs), sort=r.epochs),
                 BEST_HEADER: cell(best_text, sort=best, tip=BEST_TIP),
                 "Time": cell(fmt_seconds(r.duration_s), sort=r.duration_s),
                 "Changes vs previous run": cell(r.changes, tip=changes_tip),
                 "When": cell(fmt_when(r.started), sort=r.started, tip=r.started),
                 "Device": cell(r.device, tip=r.device),
                 "Seed": cell("" if r.seed is None else str(r.seed), sort=r.seed),
                 "Note": cell(r.note, tip="Double-click to write a note", editable=True)}
        for k in self._tests:
            v = r.test.get(k)
            cells[f"Test {k}"] = cell(fmt_number(v), sort=v, tip="Test split\n" + tests_tip, right=True)
        for col, head in enumerate(self.headers()):
            it = cells[head]
            if head in self.RIGHT:
                it.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if r.hidden or running:
                f = QFont(it.font())
                f.setItalic(True)
                it.setFont(f)
            if r.hidden:
                it.setForeground(self.palette().placeholderText())
            self.table.setItem(i, col, it)

    def _fill_live_row(self, i: int, run_id: str) -> None:
        """A run that is training and not yet in the project: its id and state, nothing to edit."""
        for col, head in enumerate(self.headers()):
            text = run_id if head == "Run" else STATUS_TEXT["running"] if head == "Status" else ""
            it = self._cell(text, sort=run_id if head == "Run" else None,
                            tip=f"{run_id} is training" if head in ("Run", "Status") else None)
            if head == "Run":
                it.setData(ID_ROLE, run_id)
            f = QFont(it.font())
            f.setItalic(True)
            it.setFont(f)
            self.table.setItem(i, col, it)

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

    def current_id(self) -> str | None:
        """The run whose curves are shown: the current row when it is selected, else the first
        selected one."""
        i = self.table.currentRow()
        item = self.table.item(i, 0) if i >= 0 else None
        if item is not None and self.table.selectionModel().isRowSelected(i, self.table.rootIndex()):
            return item.data(ID_ROLE)
        ids = self.selected_ids()
        return ids[0] if ids else None

    def _select_ids(self, run_ids, current: str | None = None) -> None:
        wanted = set(run_ids)
        model, sm = self.table.model(), self.table.selectionModel()
        last = model.columnCount() - 1
        selection = QItemSelection()
        current_row = -1
        for i in range(self.table.rowCount()):
            rid = self.table.item(i, 0).data(ID_ROLE)
            if rid in wanted:
                selection.select(model.index(i, 0), model.index(i, last))
            if rid == current:
                current_row = i
        sm.select(selection, QItemSelectionModel.ClearAndSelect)
        if current_row >= 0:
            sm.setCurrentIndex(model.index(current_row, 0), QItemSelectionModel.NoUpdate)

    def select(self, run_ids) -> None:
        """Select these runs, as a click (or Ctrl-clicks) would: the first one's curves are shown."""
        ids = list(run_ids)
        self._select_ids(ids, ids[0] if ids else None)

    def set_current(self, run_id: str | None) -> None:
        """Mark the run whose curves are shown (emits nothing). A selection of several runs that
        includes it is kept, so the Hide and Delete buttons still act on all of them."""
        self._filling = True
        try:
            selected = self.selected_ids()
            self._select_ids(selected if run_id in selected else [run_id] if run_id else [], run_id)
        finally:
            self._filling = False
        self._update_buttons()

    def checked_ids(self) -> list[str]:
        """The runs ticked to overlay their curves, in the order shown."""
        out = []
        for i in range(self.table.rowCount()):
            it = self.table.item(i, 0)
            if it.flags() & Qt.ItemIsUserCheckable and it.checkState() == Qt.Checked:
                out.append(it.data(ID_ROLE))
        return out

    def set_checked(self, run_id: str, on: bool) -> None:
        """Tick or untick one run (emits nothing)."""
        self._filling = True
        try:
            it = self.cell(run_id, "Run")
            if it is not None and it.flags() & Qt.ItemIsUserCheckable:
                it.setCheckState(Qt.Checked if on else Qt.Unchecked)
        finally:
            self._filling = False

    def set_actions_enabled(self, on: bool) -> None:
        """Hide and delete change the project's files: off while a job is running."""
        self._actions_enabled = bool(on)
        self._update_buttons()

    # -- edits ------------------------------------------------------------------------------------
    def _row_by_id(self, run_id):
        return next((r for r in self._rows if r.id == run_id), None)

    def _on_selection(self) -> None:
        if self._filling:
            return
        self._update_buttons()
        run_id = self.current_id()
        if run_id is not None:
            self.current_changed.emit(run_id)

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

    def _run_selection(self) -> list[str]:
        """The selected runs that are in the project (not a run still training)."""
        return [i for i in self.selected_ids() if self._row_by_id(i) is not None]

    def _hide_clicked(self) -> None:
        ids = self._run_selection()
        if not ids:
            return
        # all selected already hidden: the button unhides them
        hidden = not all(self._row_by_id(i).hidden for i in ids)
        self.hide_requested.emit(ids, hidden)

    def _update_buttons(self) -> None:
        ids = self._run_selection()
        on = self._actions_enabled and bool(ids)
        self.hide_button.setEnabled(on)
        self.delete_button.setEnabled(on)
        all_hidden = bool(ids) and all(self._row_by_id(i).hidden for i in ids)
        self.hide_button.setText("Unhide" if all_hidden else "Hide")
