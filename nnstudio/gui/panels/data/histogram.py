"""The distribution of one column: a histogram for numbers, bars of counts for labels."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.gui.theme import apply_plot_theme

MAX_BINS = 60
MIN_BINS = 10
MAX_CATEGORIES = 25
FILL = (31, 119, 180, 150)
EDGE = (31, 119, 180)


def histogram_bins(n: int) -> int:
    return int(np.clip(np.sqrt(max(n, 1)), MIN_BINS, MAX_BINS))


def category_counts(values: np.ndarray) -> tuple[list[str], np.ndarray, int]:
    """(labels, counts) of the most common values, and how many other values there are."""
    uniq, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
    labels = [str(u) for u in uniq[order]]
    return labels, counts[order], max(0, len(uniq) - MAX_CATEGORIES)


class ColumnHistogram(QWidget):
    """``set_column(name, values)`` draws it; the items are created once and updated."""

    drawn = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().setLabel("left", "count")
        lay.addWidget(self.plot, 1)
        self.steps = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=FILL, pen=pg.mkPen(EDGE))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=FILL, pen=pg.mkPen(EDGE))
        self.plot.addItem(self.steps)
        self.plot.addItem(self.bars)
        self.name: str | None = None
        self.counts = np.zeros(0)
        self.edges = np.zeros(0)
        apply_plot_theme(self.plot)
        self.clear()

    def clear(self) -> None:
        self.name = None
        self.steps.setData([], [])
        self.bars.setOpts(x=[], height=[])
        self.caption.setText("Click a column to see its distribution.")

    def set_column(self, name: str, values: np.ndarray) -> None:
        self.name = name
        v = np.asarray(values)
        bottom = self.plot.getPlotItem().getAxis("bottom")
        uniq = counts = None
        if v.dtype.kind in "biu" and v.ndim == 1:
            uniq, counts = np.unique(v, return_counts=True)
        few = uniq is not None and uniq.size <= MAX_CATEGORIES  # class labels: a bar each
        if v.dtype.kind in "biuf" and v.ndim == 1 and not few:
            x = v.astype(np.float64, copy=False)
            finite = x[np.isfinite(x)]
            n_bad = len(x) - finite.size
            if finite.size:
                counts, edges = np.histogram(finite, bins=histogram_bins(finite.size))
            else:
                counts, edges = np.zeros(1), np.array([0.0, 1.0])
            self.counts, self.edges = counts, edges
            bottom.setTicks(None)
            self.bars.setOpts(x=[], height=[])
            self.steps.setData(edges, counts)
            self.plot.getPlotItem().setLabel("bottom", name)
            extra = f", {n_bad} missing" if n_bad else ""
            self.caption.setText(f"<b>{name}</b>: {finite.size} values in {len(counts)} bins{extra}")
        elif (v.dtype.kind in "US" or few) and v.ndim == 1:
            if few:  # numeric labels read best in their own (np.unique's) order
                labels, others = [str(u) for u in uniq], 0
            else:
                labels, counts, others = category_counts(v.astype(str))
            self.counts, self.edges = counts, np.arange(len(counts) + 1) - 0.5
            self.steps.setData([], [])
            self.bars.setOpts(x=np.arange(len(counts)), height=counts, width=0.8)
            bottom.setTicks([list(enumerate(labels))])
            self.plot.getPlotItem().setLabel("bottom", name)
            more = f" (and {others} rarer values)" if others else ""
            self.caption.setText(f"<b>{name}</b>: {len(labels)} distinct values{more}")
        else:
            self.counts, self.edges = np.zeros(0), np.zeros(0)
            self.steps.setData([], [])
            self.bars.setOpts(x=[], height=[])
            self.caption.setText(f"<b>{name}</b> holds arrays: no histogram.")
        self.plot.getPlotItem().enableAutoRange()
        self.drawn.emit()

    def changeEvent(self, e):
        super().changeEvent(e)
        if e.type() == QEvent.PaletteChange:
            apply_plot_theme(self.plot)
