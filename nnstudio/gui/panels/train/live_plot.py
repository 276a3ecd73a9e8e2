"""Live training curves: one plot per quantity (loss, each metric) with train and validation
series, a smoothed per-batch loss plot, faint overlays of earlier runs, log scale, a legend and a
hover readout.

Incoming data only goes into growing numpy buffers and marks the view dirty; a single-shot timer
redraws at most every ``REDRAW_MS``, so a flood of signals costs no more than ten redraws a
second, and the epoch plots (every axis rescaled: ~30 ms) at most every ``EPOCH_REDRAW_MS``, so
epochs that end several times a second do not make the window stutter. Every plot item is created
once and then updated with ``setData``.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from nnstudio.core.formatting import fmt_number
from nnstudio.gui.theme import apply_plot_theme, plot_colours
from nnstudio.gui.widgets.legend import keep_legend_clear

REDRAW_MS = 100
EPOCH_REDRAW_MS = 1000
SMOOTHING = 0.6            # weight of the past in the batch-loss moving average (reports come ~10/s)
MAX_COLUMNS = 3            # epoch plots per row
TRAIN_COLOUR = (31, 119, 180)
VAL_COLOUR = (255, 127, 14)
OVERLAY_COLOURS = [(44, 160, 44), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
                   (188, 189, 34), (23, 190, 207), (214, 39, 40)]
OVERLAY_ALPHA = 110
NAMES = {"loss": "Loss", "mae": "Mean absolute error", "mse": "Mean squared error",
         "accuracy": "Accuracy", "auc": "AUC", "rmse": "RMS error",
         "root_mean_squared_error": "RMS error", "precision": "Precision", "recall": "Recall"}
NOT_PLOTTED = {"learning_rate", "lr"}
BATCH_TITLE = "Loss per batch (smoothed)"
NO_BATCH_TITLE = "Loss per batch: recorded while a run trains (kept for the latest run)"


def base_name(key: str) -> str:
    return key.removeprefix("val_")


def pretty(key: str) -> str:
    return NAMES.get(key, key.replace("_", " ").capitalize())


class Series:
    """A growable pair of float arrays (doubling capacity, so appends are amortised O(1))."""

    def __init__(self, capacity: int = 64):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1

    def set(self, x, y) -> None:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.clear()
        for a, b in zip(x, y):
            self.append(a, b)

    def clear(self) -> None:
        self.n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self.n]


def _values(history_list) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in history_list], dtype=float)


class LivePlots(QWidget):
    """Epoch plots (one per quantity) above a per-batch loss plot, plus a readout line."""

    redrawn = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.redraw_count = 0
        self._log = False
        self._dirty: set[str] = set()     # "epochs", "batches": only what changed is redrawn
        self._live: dict[str, Series] = {}           # "loss", "val_loss", "mae", …
        self._items: dict[str, pg.PlotDataItem] = {}
        self._plots: dict[str, pg.PlotItem] = {}     # by base name
        self._lines: dict[str, pg.InfiniteLine] = {}
        self._overlays: dict[str, dict[str, pg.PlotDataItem]] = {}   # run id -> key -> item
        self._overlay_data: dict[str, dict] = {}
        self._batch_raw = Series(1024)
        self._batch_smooth = Series(1024)
        self._ema = None
        self._batch_shown = True

        self.epoch_view = pg.GraphicsLayoutWidget()
        self.epoch_view.setMinimumHeight(180)
        self.epoch_view.ci.setSpacing(14)
        self.batch_view = pg.PlotWidget()
        self.batch_view.setMinimumHeight(120)
        self.batch_plot: pg.PlotItem = self.batch_view.getPlotItem()
        self.batch_plot.setTitle(BATCH_TITLE)
        self.batch_plot.setLabel("bottom", "epoch")
        self.batch_plot.addLegend(offset=(-10, 10))
        keep_legend_clear(self.batch_plot)
        # An hour of batch reports is ~36k points. One peak pair per pixel (pyqtgraph keeps five by
        # default) and no antialiasing of the thin, dense raw curve cut a repaint to about a quarter.
        self.batch_raw_item = self.batch_plot.plot(name="batch", pen=pg.mkPen((*TRAIN_COLOUR, 120), width=1),
                                                   antialias=False, autoDownsampleFactor=1.0)
        self.batch_smooth_item = self.batch_plot.plot(name="smoothed", pen=pg.mkPen(TRAIN_COLOUR, width=2),
                                                      autoDownsampleFactor=1.0)
        for item in (self.batch_raw_item, self.batch_smooth_item):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.batch_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128), style=Qt.DashLine))
        self.batch_line.setVisible(False)
        self.batch_plot.addItem(self.batch_line, ignoreBounds=True)

        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.readout.setToolTip("Values under the mouse pointer")

        split = QSplitter(Qt.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.epoch_view)
        split.addWidget(self.batch_view)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split, 1)
        row = QHBoxLayout()
        row.addWidget(self.readout, 1)
        lay.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._epochs_drawn = -math.inf      # when the epoch plots were last redrawn (monotonic s)
        self._hover_proxies = [
            pg.SignalProxy(self.epoch_view.scene().sigMouseMoved, rateLimit=30, slot=self._epoch_hover),
            pg.SignalProxy(self.batch_view.scene().sigMouseMoved, rateLimit=30, slot=self._batch_hover)]
        self.ensure_series(["loss", "val_loss"])
        self._apply_colours()

    def set_standardised_loss(self, on: bool) -> None:
        """Say on the loss plot when the loss is on a standardised regression target (the error
        metrics beside it are in the target's units)."""
        title = "Loss (on the standardised target)" if on else pretty("loss")
        plot = self._plot_for("loss")
        if plot.titleLabel.text != title:
            plot.setTitle(title, color=plot_colours()[1])

    # -- plot items (created once) ------------------------------------------------------------
    def _plot_for(self, base: str) -> pg.PlotItem:
        plot = self._plots.get(base)
        if plot is None:
            i = len(self._plots)
            plot = self.epoch_view.addPlot(row=i // MAX_COLUMNS, col=i % MAX_COLUMNS, title=pretty(base))
            plot.setLabel("bottom", "epoch")
            plot.addLegend(offset=(-10, 10))
            keep_legend_clear(plot)
            plot.setLogMode(False, self._log)
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128), style=Qt.DashLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._plots[base] = plot
            self._lines[base] = line
            apply_plot_theme(plot)
        return plot

    def ensure_series(self, keys) -> None:
        """Create the plot items for these history keys (train first, then validation)."""
        for key in sorted((k for k in keys if k not in NOT_PLOTTED), key=lambda k: k.startswith("val_")):
            if key in self._items:
                continue
            plot = self._plot_for(base_name(key))
            val = key.startswith("val_")
            pen = pg.mkPen(VAL_COLOUR if val else TRAIN_COLOUR, width=2)
            item = plot.plot(name="validation" if val else "training", pen=pen,
                             symbol="o", symbolSize=5, symbolPen=None,
                             symbolBrush=VAL_COLOUR if val else TRAIN_COLOUR)
            self._items[key] = item
            self._live[key] = Series()
            # runs already overlaid get this quantity too
            for run_id, hist in self._overlay_data.items():
                if key in hist:
                    self._add_overlay_item(run_id, key, hist[key])

    @property
    def keys(self) -> list[str]:
        return list(self._items)

    def plot_item(self, key: str) -> pg.PlotDataItem:
        return self._items[key]

    def plot_titles(self) -> list[str]:
        return [p.titleLabel.text for p in self._plots.values()]

    # -- data in -------------------------------------------------------------------------------
    def clear(self) -> None:
        """Empty every live series (a new run starts)."""
        for s in self._live.values():
            s.clear()
        self._batch_raw.clear()
        self._batch_smooth.clear()
        self._ema = None
        self._batch_shown = True
        self.readout.setText(" ")
        self._schedule("epochs", "batches")

    def add_epoch(self, epoch: int, logs: dict) -> None:
        """Epoch ``epoch`` (0-based, as Keras counts) finished with ``logs``."""
        new = [k for k in logs if k not in self._items and k not in NOT_PLOTTED]
        if new:
            self.ensure_series(new)
        for k, v in logs.items():
            if k in self._live:
                self._live[k].append(epoch + 1, np.nan if v is None else float(v))
        self._schedule("epochs")

    def add_batch(self, x_epochs: float, loss: float) -> None:
        """A batch's own loss at ``x_epochs`` (fractional epochs since the start)."""
        loss = float(loss)
        self._batch_raw.append(x_epochs, loss)
        if math.isfinite(loss):
            # starts at the first loss, so the curve is not pulled towards zero at the start
            self._ema = loss if self._ema is None else SMOOTHING * self._ema + (1 - SMOOTHING) * loss
            self._batch_smooth.append(x_epochs, self._ema)
        self._schedule("batches")

    def set_history(self, history: dict, with_batches: bool = False) -> None:
        """Show a finished run's per-epoch history as the main curves. The batch curve of the
        latest live run is kept in memory; ``with_batches`` shows it (it belongs to this run)."""
        self.ensure_series(history)
        for key, s in self._live.items():
            vals = history.get(key) or []
            s.set(np.arange(1, len(vals) + 1), _values(vals))
        self._batch_shown = with_batches
        self._schedule("epochs", "batches")

    # -- overlays of earlier runs ---------------------------------------------------------------
    def set_overlays(self, runs: dict[str, dict]) -> None:
        """Faint curves for earlier runs: ``{run_id: history}``."""
        for run_id in list(self._overlays):
            if run_id not in runs:
                for key, item in self._overlays.pop(run_id).items():
                    self._plots[base_name(key)].removeItem(item)  # also leaves the legend
                self._overlay_data.pop(run_id, None)
        for run_id, hist in runs.items():
            if run_id in self._overlays:
                continue
            self._overlays[run_id] = {}
            self._overlay_data[run_id] = hist
            for key, vals in hist.items():
                if key in self._items:
                    self._add_overlay_item(run_id, key, vals)

    def _add_overlay_item(self, run_id: str, key: str, vals) -> None:
        index = sorted(self._overlay_data).index(run_id) % len(OVERLAY_COLOURS)
        colour = (*OVERLAY_COLOURS[index], OVERLAY_ALPHA)
        val = key.startswith("val_")
        pen = pg.mkPen(colour, width=1.5, style=Qt.DashLine if val else Qt.SolidLine)
        plot = self._plots[base_name(key)]
        y = _values(vals)
        item = pg.PlotDataItem(np.arange(1, len(y) + 1), y, pen=pen,
                               name=None if val else run_id)
        item.setZValue(-10)
        plot.addItem(item)
        self._overlays[run_id][key] = item

    @property
    def overlay_ids(self) -> list[str]:
        return list(self._overlays)

    # -- view options ---------------------------------------------------------------------------
    def set_log_y(self, on: bool) -> None:
        self._log = bool(on)
        for plot in [*self._plots.values(), self.batch_plot]:
            plot.setLogMode(False, self._log)

    # -- drawing --------------------------------------------------------------------------------
    def _schedule(self, *what: str) -> None:
        self._dirty.update(what)
        if not self._timer.isActive():
            self._timer.start(REDRAW_MS)

    def redraw(self, force: bool = False) -> None:
        """Push the changed buffers into their plot items (timer-driven, ≤ 10 times a second).

        Only what changed is set: the epoch plots repaint once per epoch (at most once a second),
        the batch plot with each batch report, which keeps the GUI thread's painting short."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        wait = self._epochs_drawn + EPOCH_REDRAW_MS / 1000 - time.monotonic()
        if "epochs" in dirty and wait > 0 and not force:
            dirty.discard("epochs")                 # drawn when due, with every epoch since
            self._dirty.add("epochs")
            self._timer.start(max(1, min(REDRAW_MS, int(wait * 1000))))     # batches keep their pace
            if not dirty:
                return
        if "epochs" in dirty:
            self._epochs_drawn = time.monotonic()
            for key, item in self._items.items():
                s = self._live[key]
                item.setData(s.x, s.y)
        if "batches" in dirty:
            if self._batch_shown:
                self.batch_raw_item.setData(self._batch_raw.x, self._batch_raw.y)
                self.batch_smooth_item.setData(self._batch_smooth.x, self._batch_smooth.y)
            else:
                self.batch_raw_item.setData([], [])
                self.batch_smooth_item.setData([], [])
            has = self._batch_shown and self._batch_raw.n > 0
            title = BATCH_TITLE if has else NO_BATCH_TITLE
            if self.batch_plot.titleLabel.text != title:
                self.batch_plot.setTitle(title, color=plot_colours()[1])
        self.redraw_count += 1
        self.redrawn.emit()

    def flush(self) -> None:
        """Draw now (end of a run, tests)."""
        self._timer.stop()
        self._dirty = {"epochs", "batches"}
        self.redraw(force=True)

    # -- hover readout --------------------------------------------------------------------------
    def _epoch_hover(self, args) -> None:
        pos = args[0]
        for plot in self._plots.values():
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_readout(round(x))
                return

    def _batch_hover(self, args) -> None:
        pos = args[0]
        if (not self.batch_plot.sceneBoundingRect().contains(pos) or self._batch_raw.n == 0
                or not self._batch_shown):
            return
        x = self.batch_plot.vb.mapSceneToView(pos).x()
        i = int(np.clip(np.searchsorted(self._batch_raw.x, x), 0, self._batch_raw.n - 1))
        bx = self._batch_raw.x[i]
        self.batch_line.setPos(bx)
        self.batch_line.setVisible(True)
        smooth = self._batch_smooth.y[min(i, self._batch_smooth.n - 1)] if self._batch_smooth.n else None
        self.readout.setText(f"epoch {bx:.2f} · batch loss {fmt_number(self._batch_raw.y[i])}"
                             f" · smoothed {fmt_number(smooth)}")

    def show_readout(self, epoch: int) -> str:
        """Mark ``epoch`` (1-based) in every plot and list the values there; returns the text."""
        parts = []
        for key in self._items:
            s = self._live[key]
            hit = np.nonzero(s.x == epoch)[0]
            if hit.size:
                parts.append(f"{key} {fmt_number(s.y[hit[0]])}")
        for run_id, items in self._overlay_data.items():
            v = items.get("val_loss") or items.get("loss") or []
            if 0 < epoch <= len(v):
                parts.append(f"{run_id} {'val_loss' if 'val_loss' in items else 'loss'} "
                             f"{fmt_number(v[epoch - 1])}")
        if not parts:
            for line in self._lines.values():
                line.setVisible(False)
            self.readout.setText(" ")
            return ""
        for line in self._lines.values():
            line.setPos(epoch)
            line.setVisible(True)
        text = f"epoch {epoch} · " + " · ".join(parts)
        self.readout.setText(text)
        return text

    # -- theme ------------------------------------------------------------------------------------
    def changeEvent(self, e):
        if e.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            self._apply_colours()
        super().changeEvent(e)

    def _apply_colours(self) -> None:
        bg, _fg = plot_colours()
        self.epoch_view.setBackground(bg)      # the layout owns the epoch plots' background
        apply_plot_theme(self.batch_view)
        for plot in self._plots.values():
            apply_plot_theme(plot)
