"""The sample browser: the samples behind a clicked cell, point or bar, as a sortable table and,
for image data, cutout thumbnails in the table's order.

The table model holds numpy columns and sorts them with one ``argsort`` (no per-row Python), so
a confusion-matrix cell of 50 000 samples lists and sorts at once.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_number
from nnstudio.gui.widgets.image_grid import display_image
from nnstudio.gui.widgets.image_grid import to_qimage as grey_qimage

MAX_THUMBNAILS = 120
THUMB_SIZE = 72
MAX_DATA_COLUMNS = 10
EXPLAIN_DEFAULT = 4             # samples explained when none is selected: the first ones in the table
FLAG_COLOUR = QColor(230, 120, 0)


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else ""
    if isinstance(v, (float, np.floating)):
        a = abs(float(v))     # tiny and huge values in exponent form, one digit shorter
        return fmt_number(float(v), digits=3 if a and (a < 1e-3 or a >= 1e5) else 4)
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


class ArrayTableModel(QAbstractTableModel):
    """Columns of equal-length numpy arrays; sorting permutes one index array."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._names: list[str] = []
        self._cols: list[np.ndarray] = []
        self._tips: dict[str, str] = {}
        self._order = np.zeros(0, dtype=np.int64)
        self.flag_column: str | None = None     # rows where this boolean column is True are tinted

    def set_columns(self, columns: dict, tips: dict | None = None) -> None:
        self.beginResetModel()
        self._names = list(columns)
        self._cols = [np.asarray(c) for c in columns.values()]
        self._tips = dict(tips or {})
        n = len(self._cols[0]) if self._cols else 0
        self._order = np.arange(n)
        self.endResetModel()

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self._order)

    def columnCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self._names)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        col = self._cols[index.column()]
        v = col[self._order[index.row()]]
        if role == Qt.DisplayRole:
            return _fmt(v)
        if role == Qt.TextAlignmentRole:
            return int((Qt.AlignRight if col.dtype.kind in "biuf" else Qt.AlignLeft) | Qt.AlignVCenter)
        if role == Qt.BackgroundRole and self.flag_column in self._names:
            flags = self._cols[self._names.index(self.flag_column)]
            if bool(flags[self._order[index.row()]]):
                c = QColor(FLAG_COLOUR)
                c.setAlpha(60)
                return c
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and 0 <= section < len(self._names):
            if role == Qt.DisplayRole:
                return self._names[section]
            if role == Qt.ToolTipRole:
                return self._tips.get(self._names[section])
        return None

    def sort(self, column, order=Qt.AscendingOrder):
        if not 0 <= column < len(self._cols):
            return
        self.layoutAboutToBeChanged.emit()
        key = self._cols[column]
        if key.dtype.kind == "O":
            key = np.array([str(v) for v in key])
        if order == Qt.DescendingOrder:
            # descending but still stable for ties: reverse the order of the reversed array
            order_idx = len(key) - 1 - np.argsort(key[::-1], kind="stable")[::-1]
        else:
            order_idx = np.argsort(key, kind="stable")
        if key.dtype.kind == "f":   # NaN last either way
            nan = np.isnan(key[order_idx])
            order_idx = np.concatenate([order_idx[~nan], order_idx[nan]])
        self._order = order_idx.astype(np.int64)
        self.layoutChanged.emit()

    # -- for callers -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._names)

    def column(self, name: str) -> np.ndarray:
        """The column in the order shown."""
        return self._cols[self._names.index(name)][self._order]


class SampleBrowser(QWidget):
    """Title line, thumbnails (image data only) and the sortable table of the selected samples.

    ``set_samples(title, columns, sort_by=..., images=...)``: ``columns`` is an ordered dict of
    equal-length arrays whose first column is the original row number; ``images`` maps a row of
    the table to a 2-D or (H, W, C) array (called lazily for the first thumbnails only).
    """

    sampleActivated = Signal(int)   # original row number of a double-clicked sample

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Click a cell, a point or a bar to list its samples here.")
        self.title.setWordWrap(True)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.model = ArrayTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        # fit columns to the first rows only: measuring 50 000 rows would stall a click
        self.table.horizontalHeader().setResizeContentsPrecision(100)
        self.table.doubleClicked.connect(self._activated)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.IconMode)
        self.thumbs.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.thumbs.setGridSize(QSize(THUMB_SIZE + 34, THUMB_SIZE + 40))
        self.thumbs.setResizeMode(QListView.Adjust)
        self.thumbs.setMovement(QListView.Static)
        self.thumbs.setWordWrap(True)
        self.thumbs.setUniformItemSizes(True)
        self.thumbs.setVisible(False)
        self.split = QSplitter(Qt.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.thumbs)
        self.split.addWidget(self.table)
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip("Attribution maps of the selected cutouts (or the first ones listed): "
                                       "which pixels made the network say what it said")
        self.explain_button.clicked.connect(self._explain_clicked)
        self.explain_button.setVisible(False)
        self.explain_view = None
        # the Explain page is a second tab, shown only where a panel enables it and the samples are images
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.setTabBarAutoHide(True)
        self.pages.addTab(self.split, "Samples")
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.explain_button, 0, Qt.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.pages, 1)
        self._images = None
        self._caption = None
        self.model.layoutChanged.connect(self._fill_thumbnails)

    # -- content ----------------------------------------------------------------------------------
    def set_samples(self, title: str, columns: dict, sort_by: str | None = None, descending: bool = True,
                    images=None, caption=None, tips: dict | None = None, flag_column: str | None = None) -> None:
        n = len(next(iter(columns.values()))) if columns else 0
        self.title.setText(f"{title} — {n} sample{'s' if n != 1 else ''}")
        self._images = None    # no thumbnails until the table is sorted: they are drawn once, below
        self._caption = caption
        self.model.flag_column = flag_column
        self.model.set_columns(columns, tips)
        header = self.table.horizontalHeader()
        col = list(columns).index(sort_by) if sort_by in columns else -1
        order = Qt.DescendingOrder if descending and col >= 0 else Qt.AscendingOrder
        # the indicator alone sorts through the view only when it changes: block that, sort once
        header.blockSignals(True)
        header.setSortIndicator(col, order)
        header.blockSignals(False)
        if col >= 0:
            self.model.sort(col, order)
        self.table.resizeColumnsToContents()
        for i in range(self.model.columnCount()):
            self.table.setColumnWidth(i, min(max(self.table.columnWidth(i), 56), 180))
        self._images = images
        self.thumbs.setVisible(images is not None)
        self._fill_thumbnails()
        self._show_explain(images is not None)
        self.pages.setCurrentIndex(0)       # new samples: the list first (the maps shown are of others)

    def clear(self, text: str = "Click a cell, a point or a bar to list its samples here.") -> None:
        self.model.set_columns({})
        self.title.setText(text)
        self.thumbs.clear()
        self.thumbs.setVisible(False)
        self._show_explain(False)
        if self.explain_view is not None:
            self.explain_view.clear()

    # -- explaining ---------------------------------------------------------------------------------
    def enable_explain(self, source) -> None:
        """Offer the Explain page for image samples; ``source()`` gives (project, prepared, dataset)."""
        from nnstudio.gui.widgets.explain_view import ExplainView

        self.explain_view = ExplainView(source, self.explain_rows)
        self.pages.addTab(self.explain_view, "Explain")
        self._show_explain(False)

    def _show_explain(self, on: bool) -> None:
        if self.explain_view is None:
            return
        self.explain_button.setVisible(on)
        self.pages.setTabVisible(1, on)
        self.pages.tabBar().setVisible(on)
        if not on:
            self.pages.setCurrentIndex(0)

    def _explain_clicked(self) -> None:
        self.pages.setCurrentIndex(1)
        self.explain_view.explain()

    def selected_rows(self) -> np.ndarray:
        """Original row numbers of the samples selected in the table or among the thumbnails."""
        order = self.model._order
        picked = [i.row() for i in self.table.selectionModel().selectedRows()]
        picked += [self.thumbs.row(it) for it in self.thumbs.selectedItems()]
        picked = sorted({p for p in picked if 0 <= p < len(order)})
        if not picked or not self.model.names:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.model._cols[0])[order[picked]]

    def explain_rows(self) -> list[int]:
        """The rows the Explain page explains: the selection, or the first listed ones."""
        from nnstudio.core.workflow.explain import BROWSER_SAMPLES

        rows = self.selected_rows()
        if not len(rows):
            rows = self.rows()[:EXPLAIN_DEFAULT]
        return [int(r) for r in rows[:BROWSER_SAMPLES]]

    def rows(self) -> np.ndarray:
        """Original row numbers in the order shown."""
        if not self.model.names:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.model.column(self.model.names[0]))

    def _activated(self, index) -> None:
        self.sampleActivated.emit(int(self.rows()[index.row()]))

    # -- thumbnails ---------------------------------------------------------------------------------
    def _fill_thumbnails(self) -> None:
        self.thumbs.clear()
        if self._images is None or not self.model.names:
            return
        order = self.model._order[:MAX_THUMBNAILS]
        for i in order:
            img = self._images(int(i))
            item = QListWidgetItem(QIcon(QPixmap.fromImage(thumbnail(img))),
                                   self._caption(int(i)) if self._caption else "")
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            self.thumbs.addItem(item)
        if self.model.rowCount() > MAX_THUMBNAILS:
            self.thumbs.setToolTip(f"The first {MAX_THUMBNAILS} samples in the table's order.")


def thumbnail(img: np.ndarray) -> QImage:
    """A cutout drawn as the Data panel's image grid draws it (its default asinh stretch and
    limits, row 0 at the bottom), three channels as colour, scaled to the thumbnail size."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] != 3:
        a = a[..., 0]
    u8 = display_image(a)
    if u8.ndim == 3:
        rgb = np.ascontiguousarray(u8[::-1])
        h, w = rgb.shape[:2]
        q = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    else:
        q = grey_qimage(u8)
    return q.scaled(THUMB_SIZE, THUMB_SIZE, Qt.KeepAspectRatio, Qt.FastTransformation)


def dataset_columns(dataset, index: np.ndarray, skip=()) -> dict:
    """The data set's own columns (1-D numbers or text, at most ``MAX_DATA_COLUMNS``) for the
    samples at original rows ``index``; empty when there is no data set or the rows do not fit."""
    out: dict = {}
    if dataset is None or not len(index):
        return out
    index = np.asarray(index, dtype=np.int64)
    for name, col in dataset.columns.items():
        if len(out) >= MAX_DATA_COLUMNS:
            break
        col = np.asarray(col)
        if name in skip or col.ndim != 1 or col.dtype.kind not in "biufUS" or index.max() >= len(col):
            continue
        out[name] = col[index]
    return out


def image_source(dataset, index: np.ndarray):
    """``row -> cutout`` for the samples at original rows ``index`` (None for tables)."""
    if dataset is None or getattr(dataset, "images", None) is None or not len(index):
        return None
    images = dataset.images
    index = np.asarray(index, dtype=np.int64)
    if index.max() >= len(images):
        return None
    return lambda i: images[index[i]]
