"""Diagnostics' "Why" tab for table data: which inputs the network relies on (permutation
importance with 95% bootstrap intervals) and how its output follows one input (partial dependence
with ICE curves), from :func:`nnstudio.core.workflow.explain.explain` in a background job."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
)

from nnstudio.gui.widgets.background_view import BackgroundView
from nnstudio.gui.widgets.themed_plot import ThemedPlot

MAX_ICE = 60                    # ICE curves drawn (the partial dependence averages over all of them)
BAR = (31, 119, 180)


class WhyCard(BackgroundView):
    """Compute button with progress and cancel, the importance bars and the partial-dependence
    plot. ``source()`` gives (project, prepared, split)."""

    shown = Signal(object)

    def __init__(self, source, parent=None):
        super().__init__(parent)
        self._source = source
        self.result = None

        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Shuffle each input in turn on the evaluated split and measure how much "
                                       "worse the network gets (200 bootstrap resamples of the rows give the "
                                       "95% interval); then the output against each input")
        self.compute_button.clicked.connect(lambda: self.compute())
        self.input_combo = QComboBox()
        self.input_combo.setToolTip("The input whose partial dependence is drawn")
        self.input_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.input_combo.currentIndexChanged.connect(lambda _i: self._draw_partial())
        top = QHBoxLayout()
        top.addWidget(self.compute_button)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        top.addWidget(QLabel("Output against"))
        top.addWidget(self.input_combo)
        self.status_label.setText("Which inputs does the network rely on? Compute shuffles each one on the "
                                  "evaluated split and measures the loss in skill.")

        self.importance_plot = ThemedPlot("Permutation importance", "loss of skill when shuffled", "")
        self.importance_plot.set_placeholder("Compute to see each input's importance with its 95% interval.")
        self.bars = pg.BarGraphItem(x0=[0], y=[0], width=[0], height=[0.6], brush=pg.mkBrush(*BAR, 170),
                                    pen=pg.mkPen(BAR))
        self.whiskers = pg.ErrorBarItem(x=np.zeros(1), y=np.zeros(1), left=np.zeros(1), right=np.zeros(1),
                                        beam=0.25, pen=pg.mkPen((40, 40, 40), width=1.5))
        self.zero_line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((150, 150, 150), style=Qt.DashLine))
        for item in (self.bars, self.whiskers):
            self.importance_plot.plot_item.addItem(item)
        self.importance_plot.plot_item.addItem(self.zero_line, ignoreBounds=True)
        self.bars.setVisible(False)
        self.whiskers.setVisible(False)

        self.partial_plot = ThemedPlot("Partial dependence", "input", "output", legend=True)
        self.partial_plot.set_placeholder("The network's output against one input, the others held as they are.")
        self.ice_curves = self.partial_plot.plot_item.plot([], [], name="single rows (ICE)",
                                                           pen=pg.mkPen((150, 150, 150, 90), width=1),
                                                           connect="finite")
        self.average_curve = self.partial_plot.plot_item.plot([], [], name="average (partial dependence)",
                                                              pen=pg.mkPen((230, 85, 13), width=3))
        plots = QSplitter(Qt.Horizontal)
        plots.setChildrenCollapsible(False)
        plots.addWidget(self.importance_plot)
        plots.addWidget(self.partial_plot)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.status_label)
        lay.addWidget(plots, 1)

    # -- computing --------------------------------------------------------------------------------
    def compute(self) -> None:
        from nnstudio.core.workflow.explain import explain
        from nnstudio.gui.workers import Job

        project, prepared, split = self._source()
        if prepared is None or prepared.kind != "table":
            self.set_status("Importance is computed for table data.")
            return
        self.set_status(f"Shuffling each input on the {split} split…")
        self.run(Job(explain, project, split=split, prepared=prepared, name="importance"), self.show_result,
                 "input importance")

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.compute_button.setEnabled(not busy)

    def progress_text(self, text: str) -> None:
        self.set_status(f"{text[:1].upper()}{text[1:]}…")

    def clear(self) -> None:
        self.cancel()
        self.result = None
        self.bars.setVisible(False)
        self.whiskers.setVisible(False)
        self.importance_plot.set_placeholder("Compute to see each input's importance with its 95% interval.")
        self.partial_plot.set_placeholder("The network's output against one input, the others held as they are.")
        self.ice_curves.setData([], [])
        self.average_curve.setData([], [])
        self.input_combo.blockSignals(True)
        self.input_combo.clear()
        self.input_combo.blockSignals(False)

    # -- drawing ----------------------------------------------------------------------------------
    def ranked(self):
        """The importances, most important first."""
        return sorted(self.result.importance, key=lambda r: -r.mean) if self.result else []

    def show_result(self, result) -> None:
        self.result = result
        ranked = self.ranked()
        n = len(ranked)
        y = np.arange(n)[::-1].astype(float)          # the most important at the top
        mean = np.array([r.mean for r in ranked])
        low = np.array([r.low for r in ranked])
        high = np.array([r.high for r in ranked])
        self.bars.setOpts(x0=np.zeros(n), y=y, width=mean, height=np.full(n, 0.6))
        self.whiskers.setData(x=mean, y=y, left=mean - low, right=high - mean)
        self.bars.setVisible(True)
        self.whiskers.setVisible(True)
        item = self.importance_plot.plot_item
        item.getAxis("left").setTicks([[(float(y[i]), ranked[i].input) for i in range(n)]])
        item.setLabel("bottom", result.units)
        item.setYRange(-0.6, n - 0.4, padding=0)
        lo, hi = min(0.0, float(low.min())), max(0.0, float(high.max()))
        item.setXRange(lo, hi if hi > lo else lo + 1, padding=0.05)
        self.importance_plot.set_placeholder(None)
        self.input_combo.blockSignals(True)
        self.input_combo.clear()
        for r in ranked:
            self.input_combo.addItem(r.input)
        self.input_combo.blockSignals(False)
        top = ranked[0]
        what = "the test" if result.split == "test" else f"the {result.split}"
        self.set_status(f"On {what} split ({len(result.rows)} rows), shuffling {top.input} costs the "
                                  f"most: {top.mean:.3g} [{top.low:.3g}, {top.high:.3g}] ({result.units}). "
                                  "An interval that reaches 0 means the network may not need that input.")
        self._draw_partial()
        self.shown.emit(result)

    def _draw_partial(self) -> None:
        if self.result is None or not self.result.partial:
            return
        name = self.input_combo.currentText()
        pd = next((p for p in self.result.partial if p.input == name), self.result.partial[0])
        ice = pd.individual[:MAX_ICE]
        xs = np.concatenate([np.append(pd.grid, np.nan) for _ in ice]) if len(ice) else []
        ys = np.concatenate([np.append(row, np.nan) for row in ice]) if len(ice) else []
        self.ice_curves.setData(xs, ys)
        self.average_curve.setData(pd.grid, pd.average)
        item = self.partial_plot.plot_item
        item.setLabel("bottom", pd.input)
        item.setLabel("left", "probability" if self.result.problem == "classification"
                      else "prediction (the target's units)")
        self.partial_plot.set_title(f"Output against {pd.input}")
        self.partial_plot.set_placeholder(None)


__all__ = ["WhyCard"]
