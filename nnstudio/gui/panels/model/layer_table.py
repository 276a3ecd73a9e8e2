"""The layer list: one row for the input, then one per layer, with shape and parameter counts.

A layer that infer() rejects is drawn red with an icon and its reason as the tooltip. Rows can be
dragged to a new place; the table model only reports the wish (``move_requested``) and the panel
turns it into an undoable edit.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QByteArray, QMimeData, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from nnstudio.core.formatting import fmt_count

MIME = "application/x-nnstudio-layer-row"
ERROR_BG = QColor(220, 53, 69, 55)
ERROR_FG = QColor(220, 53, 69)
COLUMNS = ("Layer", "Type", "Settings", "Output shape", "Trainable", "Non-trainable")
NUMERIC = (4, 5)
DISPLAY, DECORATION, TOOLTIP = int(Qt.DisplayRole), int(Qt.DecorationRole), int(Qt.ToolTipRole)
ALIGN, BACKGROUND, FOREGROUND = int(Qt.TextAlignmentRole), int(Qt.BackgroundRole), int(Qt.ForegroundRole)
RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)


@dataclass
class Row:
    name: str
    kind: str               # Keras class name, or "Input"
    detail: str
    shape: str
    trainable: int | None   # None when unknown (after an error)
    non_trainable: int | None
    error: str | None = None
    movable: bool = True
    kind_tip: str = ""      # what the layer type does


def error_icon(size: int = 14) -> QIcon:
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setBrush(ERROR_FG)
    p.setPen(Qt.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.setPen(QColor("white"))
    f = p.font()
    f.setBold(True)
    f.setPixelSize(int(size * 0.75))
    p.setFont(f)
    p.drawText(0, 0, size, size, Qt.AlignCenter, "!")
    p.end()
    return QIcon(pm)


class LayerTableModel(QAbstractTableModel):
    move_requested = Signal(int, int)   # layer index, its new index

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Row] = []
        self._cells: list[dict[int, list]] = []
        self._icon = None

    def set_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._cells = [self._row_cells(r) for r in self.rows]
        self.endResetModel()

    def _row_cells(self, row: Row) -> dict[int, list]:
        """Every role's value per column, worked out once: views ask data() thousands of times."""
        def num(v):
            return fmt_count(v, blank="?")

        n = len(COLUMNS)
        cells: dict[int, list] = {
            DISPLAY: [row.name, row.kind, row.detail, row.shape, num(row.trainable),
                      num(row.non_trainable)],
            ALIGN: [None] * 4 + [RIGHT, RIGHT],
        }
        if row.error:
            if self._icon is None:
                self._icon = error_icon()
            tip = f"<p style='white-space:normal'><b>{_escape(row.name)}</b>: {_escape(row.error)}</p>"
            cells[DECORATION] = [self._icon] + [None] * (n - 1)
            cells[BACKGROUND] = [QBrush(ERROR_BG)] * n
            cells[FOREGROUND] = [QBrush(ERROR_FG), None, None, QBrush(ERROR_FG), None, None]
            cells[TOOLTIP] = [tip] * n
        else:
            kind_tip = f"<p style='white-space:normal'>{_escape(row.kind_tip)}</p>" if row.kind_tip else None
            tips = [None, kind_tip, None, None, None, None]
            if row.trainable is None:
                grey = QBrush(QColor(128, 128, 128))
                cells[FOREGROUND] = [None] * 3 + [grey] * 3
                tips[3:] = ["Unknown until the problem above is fixed."] * 3
            cells[TOOLTIP] = tips
        return cells

    # -- QAbstractTableModel ----------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if role == DISPLAY:
                return COLUMNS[section]
            if role == ALIGN and section in NUMERIC:
                return RIGHT
            if role == TOOLTIP:
                return {4: "Weights changed by training", 5: "Statistics kept by batch "
                        "normalisation (moving mean and variance), not trained by gradients"}.get(section)
        elif role == DISPLAY:
            return str(section)  # the input is row 0; layers count from 1
        return None

    def data(self, index, role=Qt.DisplayRole):
        values = self._cells[index.row()].get(role) if index.isValid() else None
        return values[index.column()] if values else None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemIsDropEnabled
        return _MOVABLE if self.rows[index.row()].movable else _FIXED

    # -- drag and drop ----------------------------------------------------------------------
    def supportedDropActions(self):
        return Qt.MoveAction

    def supportedDragActions(self):
        return Qt.MoveAction

    def mimeTypes(self):
        return [MIME]

    def mimeData(self, indexes):
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        if rows:
            mime.setData(MIME, QByteArray(str(rows[0]).encode()))
        return mime

    def canDropMimeData(self, data, action, row, column, parent):
        return data.hasFormat(MIME) and action == Qt.MoveAction

    def dropMimeData(self, data, action, row, column, parent):
        """Ask for the move; returns False so the view never deletes the dragged row itself."""
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        try:
            src = int(bytes(data.data(MIME)).decode())
        except ValueError:
            return False
        n_layers = len(self.rows) - 1
        if not 1 <= src <= n_layers:
            return False
        if row < 0 and parent.isValid():       # dropped onto a row: take its place
            dest = max(parent.row(), 1) - 1
        else:                                  # dropped between rows (or below the last)
            gap = len(self.rows) if row < 0 else max(row, 1)
            dest = gap - 1 if gap - 1 < src else gap - 2
        dest = min(max(dest, 0), n_layers - 1)
        if dest != src - 1:
            self.move_requested.emit(src - 1, dest)
        return False


_FIXED = Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDropEnabled
_MOVABLE = _FIXED | Qt.ItemIsDragEnabled


def _escape(text: str) -> str:
    import html

    return html.escape(text)


class LayerTable(QTableView):
    """The table view: whole-row selection, one row at a time, rows dragged to reorder."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table_model = LayerTableModel(self)
        self.setModel(self.table_model)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.InternalMove)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        h = self.horizontalHeader()
        h.setHighlightSections(False)
        h.setSectionResizeMode(QHeaderView.ResizeToContents)
        h.setMinimumSectionSize(40)
        # names and types can be long (global_average_pooling2d_1): fixed widths the user can
        # drag, so the settings column keeps its room
        em = self.fontMetrics().horizontalAdvance("m")
        for col, width in ((0, 11 * em), (1, 9 * em)):
            h.setSectionResizeMode(col, QHeaderView.Interactive)
            h.resizeSection(col, width)
        h.setSectionResizeMode(2, QHeaderView.Stretch)
        v = self.verticalHeader()
        v.setSectionResizeMode(QHeaderView.Fixed)
        v.setDefaultSectionSize(self.fontMetrics().height() + 10)

    def selected_row(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_row(self, row: int) -> None:
        if 0 <= row < self.table_model.rowCount():
            self.selectRow(row)
            self.scrollTo(self.table_model.index(row, 0))


__all__ = ["LayerTable", "LayerTableModel", "Row", "COLUMNS", "MIME"]
