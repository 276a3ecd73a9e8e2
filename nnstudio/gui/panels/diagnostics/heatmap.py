"""A confusion-matrix heatmap: ImageItem with fixed levels, category ticks, numbers in the cells,
a highlighted cell, and a signal when a cell is clicked.

Rows are the true class (top to bottom), columns the predicted class, as in
pyqtgraph's MatrixDisplayExample: the image is shifted by -0.5 so cells centre on integer ticks.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from nnstudio.gui.widgets.themed_plot import ThemedPlot

COLORMAP = "CET-L12"        # white to deep blue: sequential, readable numbers on both ends


class ConfusionHeatmap(ThemedPlot):
    """``set_matrix(colour_values, texts, labels)``; ``cellClicked(true_row, predicted_column)``."""

    cellClicked = Signal(int, int)

    def __init__(self, title: str = "Confusion matrix", parent=None):
        super().__init__(title, "predicted class", "true class", parent=parent)
        self.cmap = pg.colormap.get(COLORMAP)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.plot_item.addItem(self.image)
        self.plot_item.invertY(True)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.hideButtons()
        self.plot_item.showGrid(x=False, y=False)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.getViewBox().setAspectLocked(False)
        self._texts: list[list[pg.TextItem]] = []
        self._labels: list[str] = []
        self.selection = QGraphicsRectItem()
        self.selection.setVisible(False)
        self.selection.setZValue(20)
        self.plot_item.addItem(self.selection, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_click)

    @property
    def n(self) -> int:
        return len(self._labels)

    def texts(self) -> list[list[str]]:
        """What the cells say (for tests and the sample browser's title)."""
        return [[t.textItem.toPlainText() for t in row] for row in self._texts]

    def set_matrix(self, colour_values, texts, labels) -> None:
        """``colour_values`` (K, K) in 0..1 (fixed levels, so colours mean the same on every update),
        ``texts`` (K, K) strings drawn in the cells, ``labels`` the K class names."""
        values = np.asarray(colour_values, dtype=np.float64)
        k = values.shape[0]
        labels = [str(s) for s in labels]
        if k != len(self._texts) or labels != self._labels:
            self._build(k, labels)
        self.image.setImage(values, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, k, k))
        for i in range(k):
            for j in range(k):
                item = self._texts[i][j]
                item.setText(str(texts[i][j]))
                item.setColor(self._text_colour(values[i, j]))

    def _build(self, k: int, labels: list[str]) -> None:
        for row in self._texts:
            for t in row:
                self.plot_item.removeItem(t)
        self._labels = labels
        size = 11 if k <= 4 else (9 if k <= 8 else 7)
        font = QFont()
        font.setPointSize(size)
        font.setBold(True)
        self._texts = []
        for i in range(k):
            row = []
            for j in range(k):
                t = pg.TextItem("", anchor=(0.5, 0.5))
                t.setFont(font)
                t.setPos(j, i)
                t.setZValue(10)
                self.plot_item.addItem(t, ignoreBounds=True)
                row.append(t)
            self._texts.append(row)
        short = [s if len(s) <= 14 else s[:13] + "…" for s in labels]
        ticks = [[(i, s) for i, s in enumerate(short)]]
        self.plot_item.getAxis("bottom").setTicks(ticks)
        left = self.plot_item.getAxis("left")
        left.setTicks(ticks)
        # room for the longest class name beside the axis label
        width = max((self.fontMetrics().horizontalAdvance(s) for s in short), default=20)
        left.setWidth(width + 34)
        self.plot_item.setXRange(-0.5, k - 0.5, padding=0)
        self.plot_item.setYRange(-0.5, k - 0.5, padding=0)
        self.clear_selection()

    def _text_colour(self, v: float) -> QColor:
        c = self.cmap.map(float(np.clip(v, 0.0, 1.0)), mode="qcolor")
        return QColor("#ffffff") if c.lightnessF() < 0.55 else QColor("#111111")

    # -- selection ------------------------------------------------------------------------------
    def select_cell(self, row: int, col: int) -> None:
        self.selection.setRect(QRectF(col - 0.5, row - 0.5, 1.0, 1.0))
        pen = QPen(QColor(255, 140, 0))
        pen.setWidth(3)
        pen.setCosmetic(True)
        self.selection.setPen(pen)
        self.selection.setVisible(True)

    def clear_selection(self) -> None:
        self.selection.setVisible(False)

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        p = self.plot_item.getViewBox().mapSceneToView(scene_pos)
        row, col = round(p.y()), round(p.x())
        if 0 <= row < self.n and 0 <= col < self.n:
            return row, col
        return None

    def cell_centre_in_widget(self, row: int, col: int):
        """Widget coordinates of a cell's centre (lets tests click a cell like a person)."""
        scene = self.plot_item.getViewBox().mapViewToScene(QPointF(col, row))
        return self.mapFromScene(scene)

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is not None:
            ev.accept()
            self.select_cell(*cell)
            self.cellClicked.emit(*cell)
