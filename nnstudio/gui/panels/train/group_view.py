"""Repeat ×N and its groups: curves as the mean with a band (±1 standard deviation or min–max),
every metric as mean ± standard deviation (test figures with their 95 % interval), and two groups
side by side: one verdict on a metric chosen before looking, the other metrics with their
Holm-corrected p-values and no verdict.

The view draws :class:`~nnstudio.core.experiments.groups.GroupSummary` objects that the panel
loads; the comparison itself is :func:`~nnstudio.core.experiments.compare.compare`.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_p, fmt_percent
from nnstudio.gui.panels.train.live_plot import NOT_PLOTTED
from nnstudio.gui.widgets.themed_plot import ThemedPlot

COLOURS = {"A": (31, 119, 180), "B": (255, 127, 14)}
BAND_ALPHA = 55
BANDS = (("std", "±1 std"), ("minmax", "min – max"))
COLUMNS = {"metric": 0, "A": 1, "B": 2, "diff": 3, "p": 4, "verdict": 5}
WHY_ONE_METRIC = (
    "Why one metric?\n"
    "Test a dozen metrics at 95% and, even when nothing really changed, one of them looks \"better\" "
    "about 4 times in 10. So the verdict rests on one metric picked before looking at the results "
    "(the validation loss unless you pick another).\n"
    "The other metrics show Holm-corrected p-values: a difference counts only if its corrected p is "
    "below 0.05, and none of them names a winner.\n"
    "Test figures are never used to choose: choosing by them tunes the model to the test split. They are "
    "shown with their 95% interval.")
RESAMPLE_TIP = ("Each run also draws its own train / validation / test split (split seed, +1, …), so the "
                "spread covers which samples were tested as well as the training seed: "
                "\"spread over seeds and splits\". Off: every run uses the project's split, "
                "\"spread over seeds\".")


def band_arrays(band, mode: str = "std") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, mean, low, high) of a :class:`Band` for plotting: epochs are 1-based; an epoch
    reached by a single run has no spread, so its band closes on the mean."""
    x, m, lo, hi = [], [], [], []
    for i, mean in enumerate(band.mean):
        if mean is None or not math.isfinite(mean):
            continue
        if mode == "minmax":
            low, high = band.min[i], band.max[i]
        else:
            s = band.std[i]
            low, high = (mean - s, mean + s) if s is not None else (mean, mean)
        x.append(i + 1)
        m.append(mean)
        lo.append(mean if low is None else low)
        hi.append(mean if high is None else high)
    return tuple(np.asarray(v, dtype=float) for v in (x, m, lo, hi))


def metric_order(names) -> list[str]:
    """val_loss first, then other validation figures, training ones, and test ones last."""
    def key(k):
        group = 0 if k == "val_loss" else 1 if k.startswith("val_") else 3 if k.startswith("test_") else 2
        return group, k
    return sorted(names, key=key)


def short_verdict(c) -> str:
    """The verdict in a table cell (the sentence is in its tooltip)."""
    return c.short()


def _stat_text(s) -> str:
    """"4.21 ± 0.05", with the 95 % interval of a test figure: "4.21 ± 0.05 [3.9, 4.5]"."""
    if s is None:
        return "—"
    return s.text() + (f" {s.interval_text()}" if s.interval else "")


def _side_head(name: str, side) -> str:
    """"A (group-001): mean ± std over seeds": the table says which spread it shows."""
    if side is None:
        return f"{name}: mean ± std"
    return f"{name} ({side[0]}): mean ± std over {_spread_words(side[1].spread)}"


def _p_text(c) -> str:
    if c is None or c.p_value is None:
        return ""
    return fmt_p(c.p_value) if c.role == "primary" else fmt_p(c.p_holm)


def _row_tip(metric: str, primary: bool) -> str:
    if primary:
        return "The verdict rests on this metric alone (its p-value is not corrected: it is one test)."
    if metric.startswith("test_"):
        return ("A test figure with its 95% interval: shown, never used to choose (choosing by it would tune "
                "the model to the test split).")
    return "Shown beside the verdict with its Holm-corrected p-value; it does not decide."


def _spread_words(spread: str) -> str:
    return "seeds and splits" if spread == "seeds_and_splits" else "seeds"


class _BandPlot(ThemedPlot):
    def colours_changed(self) -> None:
        # legend labels keep the colour they were drawn with: draw them again
        if self.legend is not None:
            fg = self.foreground_colour()
            for _sample, label in self.legend.items:
                label.setText(label.text, color=fg)


class _Side:
    """The plot items of one group (created once, updated with setData)."""

    def __init__(self, plot: pg.PlotItem, name: str):
        colour = COLOURS[name]
        self.mean = pg.PlotDataItem(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, symbolPen=None,
                                    symbolBrush=colour)
        self.low = pg.PlotCurveItem(pen=pg.mkPen((*colour, 90), width=1))
        self.high = pg.PlotCurveItem(pen=pg.mkPen((*colour, 90), width=1))
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush((*colour, BAND_ALPHA)))
        for item in (self.fill, self.low, self.high, self.mean):
            plot.addItem(item)

    def set(self, x, m, lo, hi) -> None:
        self.mean.setData(x, m)
        self.low.setData(x, lo)
        self.high.setData(x, hi)

    def clear(self) -> None:
        self.set([], [], [], [])


class RepeatView(QWidget):
    repeat_requested = Signal(int)
    cancel_requested = Signal()
    selection_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._a = self._b = None          # (group id, GroupSummary)
        self._comparison = None           # GroupComparison of B with A
        self._comparisons: dict = {}      # metric -> Comparison
        self._loading = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)

        # repeat controls
        row = QHBoxLayout()
        row.addWidget(QLabel("Train the current settings with"))
        self.n_spin = QSpinBox()
        self.n_spin.setRange(2, 100)
        self.n_spin.setValue(3)
        self.n_spin.setSuffix(" seeds")
        self.n_spin.setToolTip("Seeds seed, seed+1, …: the spread over them is the seed-to-seed scatter")
        row.addWidget(self.n_spin)
        st = self.style()
        self.repeat_button = QPushButton(st.standardIcon(QStyle.SP_BrowserReload), "Repeat ×3")
        self.repeat_button.setToolTip("Train the same settings once per seed in the background; the runs "
                                      "form a group shown as mean ± spread")
        self.repeat_button.setMinimumHeight(28)
        self.repeat_button.clicked.connect(lambda: self.repeat_requested.emit(self.n_spin.value()))
        self.n_spin.valueChanged.connect(lambda n: self.repeat_button.setText(f"Repeat ×{n}"))
        row.addWidget(self.repeat_button)
        self.cancel_button = QPushButton(st.standardIcon(QStyle.SP_MediaStop), "Cancel")
        self.cancel_button.setToolTip("End the current run (kept as stopped) and start no more")
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.cancel_button)
        self.test_check = QCheckBox("with test figures")
        self.test_check.setChecked(True)
        self.test_check.setToolTip("Evaluate each run on the test split, so the group shows test metrics as "
                                   "mean ± std too")
        row.addWidget(self.test_check)
        self.resample_check = QCheckBox("resample the split too")
        self.resample_check.setToolTip(RESAMPLE_TIP)
        row.addWidget(self.resample_check)
        row.addStretch(1)
        lay.addLayout(row)
        prow = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("—")
        self.progress.setMinimumWidth(220)
        self.progress.setMaximumWidth(360)
        prow.addWidget(self.progress)
        self.state_label = QLabel("")
        self.state_label.setEnabled(False)
        prow.addWidget(self.state_label, 1)
        lay.addLayout(prow)

        # which groups, which curve, which band
        sel = QHBoxLayout()
        self.a_combo = QComboBox()
        self.b_combo = QComboBox()
        for c in (self.a_combo, self.b_combo):
            c.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            c.currentIndexChanged.connect(self._on_selection)
        self.a_combo.setToolTip("The group to show (blue)")
        self.b_combo.setToolTip("A second group to compare with (orange)")
        self.curve_combo = QComboBox()
        self.curve_combo.setToolTip("Which curve to show")
        self.curve_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.band_combo = QComboBox()
        for value, text in BANDS:
            self.band_combo.addItem(text, value)
        self.band_combo.setToolTip("The band around the mean: one standard deviation over the seeds, "
                                   "or the lowest and highest run")
        self.band_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        for text, w in (("Group A", self.a_combo), ("B", self.b_combo), ("Curve", self.curve_combo),
                        ("Band", self.band_combo)):
            lab = QLabel(text)
            sel.addWidget(lab)
            sel.addWidget(w)
            sel.addSpacing(6)
        sel.addStretch(1)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Logarithmic y axis (losses spanning decades)")
        self.log_check.toggled.connect(lambda on: self.plot.plot_item.setLogMode(False, on))
        sel.addWidget(self.log_check)
        lay.addLayout(sel)

        split = QSplitter(Qt.Vertical)
        split.setChildrenCollapsible(False)
        self.plot = _BandPlot(title="", xlabel="epoch", ylabel="", legend=True)
        self.plot.setMinimumHeight(200)
        self.sides = {"A": _Side(self.plot.plot_item, "A"), "B": _Side(self.plot.plot_item, "B")}
        self.plot.set_placeholder("No group yet: press Repeat to train the current settings with several seeds.")
        split.addWidget(self.plot)

        lower = QWidget()
        low = QVBoxLayout(lower)
        low.setContentsMargins(0, 0, 0, 0)
        self.groups_label = QLabel("")
        self.groups_label.setWordWrap(True)
        self.groups_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        low.addWidget(self.groups_label)
        self.differs_label = QLabel("")
        self.differs_label.setWordWrap(True)
        self.differs_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        low.addWidget(self.differs_label)
        prow = QHBoxLayout()
        on = QLabel("Verdict on")
        on.setToolTip(WHY_ONE_METRIC)
        prow.addWidget(on)
        self.primary_combo = QComboBox()
        self.primary_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.primary_combo.setToolTip(WHY_ONE_METRIC)
        self.primary_combo.addItem("val_loss", "val_loss")
        self.primary_combo.currentIndexChanged.connect(self._on_primary_changed)
        prow.addWidget(self.primary_combo)
        note = QLabel("— pick it before looking; the other metrics never decide")
        note.setEnabled(False)
        note.setToolTip(WHY_ONE_METRIC)
        prow.addWidget(note)
        prow.addStretch(1)
        low.addLayout(prow)
        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        f = self.verdict_label.font()
        f.setBold(True)
        self.verdict_label.setFont(f)
        low.addWidget(self.verdict_label)
        self.metrics_table = QTableWidget(0, len(COLUMNS))
        self.metrics_table.setHorizontalHeaderLabels(["Metric", "A: mean ± std", "B: mean ± std", "B − A [95%]",
                                                      "p", "Verdict"])
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.verticalHeader().setDefaultSectionSize(self.metrics_table.fontMetrics().height() + 8)
        self.metrics_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.metrics_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.metrics_table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.metrics_table.setAlternatingRowColors(True)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.metrics_table.horizontalHeader().setStretchLastSection(True)
        self.metrics_table.setToolTip("Select a metric to read its comparison in words")
        self.metrics_table.itemSelectionChanged.connect(self._on_metric_selected)
        self.metrics_table.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        low.addWidget(self.metrics_table, 1)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 400])
        lay.addWidget(split, 1)
        self._metric = "val_loss"
        self._primary = "val_loss"
        self.set_running(False)

    # -- groups -----------------------------------------------------------------------------------
    def set_groups(self, groups: list[tuple[str, str]], a: str | None = None, b: str | None = None) -> None:
        """``groups``: (id, label) pairs; keeps the current choice unless ``a`` / ``b`` say otherwise."""
        a = a if a is not None else self.group_a()
        b = b if b is not None else self.group_b()
        self._loading = True
        try:
            for combo, want, none_text in ((self.a_combo, a, None), (self.b_combo, b, "— none —")):
                combo.clear()
                if none_text:
                    combo.addItem(none_text, None)
                for gid, label in groups:
                    combo.addItem(label, gid)
                i = combo.findData(want)
                if i < 0:
                    i = combo.count() - 1 if combo is self.a_combo else 0
                combo.setCurrentIndex(max(i, 0))
        finally:
            self._loading = False
        for combo in (self.a_combo, self.b_combo):   # a squeezed row must not cut the names
            combo.setMinimumWidth(combo.sizeHint().width())
        self.a_combo.setEnabled(bool(groups))
        self.b_combo.setEnabled(len(groups) > 1)

    def group_a(self) -> str | None:
        return self.a_combo.currentData()

    def group_b(self) -> str | None:
        return self.b_combo.currentData()

    def select(self, a: str | None = None, b: str | None = None) -> None:
        """Choose the groups shown (None leaves a side unchanged; ``b=""`` clears B)."""
        self._loading = True
        try:
            if a is not None:
                self.a_combo.setCurrentIndex(max(self.a_combo.findData(a), 0))
            if b is not None:
                self.b_combo.setCurrentIndex(max(self.b_combo.findData(b or None), 0))
        finally:
            self._loading = False
        self.selection_changed.emit()

    def _on_selection(self, _i) -> None:
        if not self._loading:
            self.selection_changed.emit()

    def show_summaries(self, a, b=None, differs: str = "") -> None:
        """Draw group A (``(id, GroupSummary)``) and, if given, B beside it."""
        self._a, self._b = a, b
        self._fill_primary()
        self._compare()
        keys = []
        for side in (a, b):
            if side is not None:
                keys += [k for k in side[1].curves if k not in keys and k not in NOT_PLOTTED]
        keys = metric_order(keys)
        current = self.curve_combo.currentData() or "val_loss"
        self.curve_combo.blockSignals(True)
        self.curve_combo.clear()
        for k in keys:
            self.curve_combo.addItem(k, k)
        i = self.curve_combo.findData(current)
        self.curve_combo.setCurrentIndex(max(i, 0))
        self.curve_combo.blockSignals(False)
        lines = [f"<b>{name}</b> {side[0]}: {side[1].headline()}" for name, side in (("A", a), ("B", b))
                 if side is not None]
        self.groups_label.setText("<br>".join(lines))
        self.groups_label.setVisible(bool(lines))
        self.differs_label.setText(differs)
        self.differs_label.setVisible(bool(differs))
        self._fill_metrics()
        self._redraw()

    def _compare(self) -> None:
        from nnstudio.core.experiments.compare import compare
        from nnstudio.errors import NnstudioError

        self._comparison, self._comparisons = None, {}
        if self._a is None or self._b is None:
            return
        try:
            self._comparison = compare(self._a[1], self._b[1], primary=self._primary)
        except NnstudioError:
            return
        self._comparisons = dict(self._comparison.metrics)

    def _fill_primary(self) -> None:
        """The metrics a verdict may rest on: validation and training figures both groups have."""
        from nnstudio.core.evaluation.direction import higher_is_better

        sides = [s[1] for s in (self._a, self._b) if s is not None]
        names = [k for k in (sides[0].metrics if sides else {}) if all(k in s.metrics for s in sides)
                 and not k.startswith("test_") and higher_is_better(k) is not None]
        names = metric_order(names) or ["val_loss"]
        if self._primary not in names:
            self._primary = "val_loss" if "val_loss" in names else names[0]
        self.primary_combo.blockSignals(True)
        self.primary_combo.clear()
        for k in names:
            self.primary_combo.addItem(k, k)
        self.primary_combo.setCurrentIndex(max(self.primary_combo.findData(self._primary), 0))
        self.primary_combo.blockSignals(False)
        self.primary_combo.setEnabled(self._b is not None and len(names) > 1)

    def primary_metric(self) -> str:
        return self._primary

    def set_primary_metric(self, metric: str) -> None:
        i = self.primary_combo.findData(metric)
        if i >= 0:
            self.primary_combo.setCurrentIndex(i)

    def _on_primary_changed(self, _i) -> None:
        metric = self.primary_combo.currentData()
        if metric and metric != self._primary:
            self._primary = metric
            self._metric = metric
            self._compare()
            self._fill_metrics()

    def band_mode(self) -> str:
        return self.band_combo.currentData()

    def set_band_mode(self, mode: str) -> None:
        self.band_combo.setCurrentIndex(self.band_combo.findData(mode))

    # -- drawing ----------------------------------------------------------------------------------
    def _redraw(self) -> None:
        key = self.curve_combo.currentData()
        mode = self.band_mode()
        legend = self.plot.legend
        legend.clear()
        any_data = False
        for name, side in (("A", self._a), ("B", self._b)):
            items = self.sides[name]
            band = side[1].curves.get(key) if side is not None and key else None
            if band is None:
                items.clear()
                continue
            items.set(*band_arrays(band, mode))
            any_data = True
            legend.addItem(items.mean, f"{name}: {side[0]} mean of {side[1].n}")
        self.plot.colours_changed()
        self.plot.plot_item.setLabel("left", key or "")
        band_text = "±1 std" if mode == "std" else "min–max"
        self.plot.set_title(f"{key}: mean with {band_text} band" if key else "")
        if self._a is None:
            self.plot.set_placeholder("No group yet: press Repeat to train the current settings with several seeds.")
        elif not any_data:
            self.plot.set_placeholder("The group has no completed run yet.")
        else:
            self.plot.set_placeholder(None)
        self.plot.plot_item.enableAutoRange()

    def band_data(self, side: str = "A") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What is drawn for a side: (epochs, mean, low, high)."""
        items = self.sides[side]
        x, m = items.mean.getData()
        _, lo = items.low.getData()
        _, hi = items.high.getData()
        empty = np.zeros(0)
        return (empty if x is None else x, empty if m is None else m,
                empty if lo is None else lo, empty if hi is None else hi)

    def _fill_metrics(self) -> None:
        t = self.metrics_table
        a, b = self._a, self._b
        names = []
        for side in (a, b):
            if side is not None:
                names += [k for k in side[1].metrics if k not in names and k not in NOT_PLOTTED]
        names = metric_order(names)
        if self._primary in names:   # the metric the verdict rests on comes first
            names.remove(self._primary)
            names.insert(0, self._primary)
        t.setRowCount(len(names))
        for i, k in enumerate(names):
            sa = a[1].metrics.get(k) if a else None
            sb = b[1].metrics.get(k) if b else None
            c = self._comparisons.get(k)
            cells = [k, _stat_text(sa), _stat_text(sb), c.difference_text() if c is not None else "",
                     _p_text(c), short_verdict(c) if c is not None else ""]
            for col, text in enumerate(cells):
                it = QTableWidgetItem(text)
                if col in (1, 2, 3, 4):
                    it.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if c is not None and col in (3, 4, 5):
                    it.setToolTip(c.verdict)
                if col == 0:
                    it.setToolTip(_row_tip(k, k == self._primary and c is not None))
                if k == self._primary and c is not None:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
                t.setItem(i, col, it)
        for col in (2, 3, 4, 5):
            t.setColumnHidden(col, b is None)
        heads = ["Metric", _side_head("A", a), _side_head("B", b), "B − A [95% interval]", "p (others: Holm)",
                 "Verdict"]
        t.setHorizontalHeaderLabels(heads)
        for col in (4, 5):
            t.horizontalHeaderItem(col).setToolTip(WHY_ONE_METRIC)
        t.horizontalHeaderItem(3).setToolTip("The difference of the means, B − A, and its 95% interval (Welch)")
        for col in (1, 2):
            t.horizontalHeaderItem(col).setToolTip("Mean ± standard deviation of the completed runs; test figures "
                                                   "also show their 95% interval, test-sample noise included")
        row = names.index(self._metric) if self._metric in names else (0 if names else -1)
        if row >= 0:
            t.selectRow(row)
        self._show_verdict()

    def _on_metric_selected(self) -> None:
        rows = {ix.row() for ix in self.metrics_table.selectedIndexes()}
        if rows:
            item = self.metrics_table.item(min(rows), 0)
            if item is not None:
                self._metric = item.text()
        self._show_verdict()

    def metric_text(self, metric: str, side: str = "A") -> str:
        col = COLUMNS[side]
        for i in range(self.metrics_table.rowCount()):
            if self.metrics_table.item(i, 0).text() == metric:
                return self.metrics_table.item(i, col).text()
        return ""

    def _show_verdict(self) -> None:
        c = self._comparisons.get(self._metric)
        whole = self._comparison
        if self._a is None:
            text = ""
        elif self._b is None:
            text = "Pick a group B to compare (for instance the same model with another setting)."
        elif whole is not None and whole.primary is None:
            text = whole.note
        elif c is None:
            text = f"The groups share no {self._metric} to compare."
        elif c.role != "primary" and whole is not None and whole.primary is not None:
            text = f"{c.verdict}\nVerdict on {whole.primary_metric}: {short_verdict(whole.primary)}."
        else:
            text = c.verdict
        if whole is not None and whole.spread_a != whole.spread_b:
            text += (f"\nA's spread is over {_spread_words(whole.spread_a)}, B's over "
                     f"{_spread_words(whole.spread_b)}: the noise they measure differs.")
        self.verdict_label.setText(text)

    @property
    def verdict(self) -> str:
        return self.verdict_label.text()

    # -- running ----------------------------------------------------------------------------------
    def set_running(self, running: bool, can_start: bool = True) -> None:
        self.repeat_button.setEnabled(can_start and not running)
        self.n_spin.setEnabled(not running)
        self.test_check.setEnabled(not running)
        self.resample_check.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running:
            self.state_label.setText("")

    def set_progress(self, done: float, total, text: str) -> None:
        frac = done / total if total else 0.0
        self.progress.setValue(int(1000 * min(max(frac, 0.0), 1.0)))
        self.progress.setFormat(fmt_percent(frac, 0))
        self.state_label.setText(text)

    def reset_progress(self, text: str = "—") -> None:
        self.progress.setValue(0)
        self.progress.setFormat(text)
