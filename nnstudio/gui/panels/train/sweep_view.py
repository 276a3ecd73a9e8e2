"""The sweep view: a form that chooses which settings to search (written as the same ``NAME=SPEC``
strings as ``nnstudio sweep --param``), the budget, and the results: a table sorted by the
validation metric, one scatter plot per setting against the metric, and "Apply best".

The view runs nothing: the panel starts :func:`~nnstudio.core.experiments.sweep.run_sweep` in the
background and feeds finished trials and the final result back here.
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
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_number, fmt_percent
from nnstudio.gui.widgets.themed_plot import ThemedPlot

SAMPLER_TEXT = (("tpe", "Model-based (TPE)"), ("random", "Random"), ("grid", "Grid (every combination)"))
STATE_ORDER = {"complete": 0, "pruned": 1, "running": 2, "waiting": 3, "failed": 4}
STATE_TEXT = {"complete": "complete", "pruned": "pruned", "failed": "failed", "running": "running",
              "waiting": "waiting"}
COMPLETE_COLOUR = (31, 119, 180)
PRUNED_COLOUR = (150, 150, 150)
BEST_COLOUR = (214, 39, 40)
MAX_SCATTERS = 5
PARAMETERS = "parameters"        # the scatter of validation loss against the trial model's parameter count
SELECTED_BY = "selected by validation"


def trial_sort_key(t: dict):
    """Completed trials by the validation metric, then pruned, running and failed ones."""
    v = t.get("value")
    return STATE_ORDER.get(t.get("state"), 5), v if v is not None else math.inf, t.get("number", 0)


def wants_log_axis(values) -> bool:
    """A setting spanning more than a decade and a half (e.g. learning rates) reads best on a log axis."""
    vals = [float(v) for v in values if isinstance(v, (int, float)) and v is not None]
    return bool(vals) and min(vals) > 0 and max(vals) / min(vals) >= 30


def log_ticks(values) -> list[tuple[float, str]]:
    """Ticks for a log axis (positions in log10): every decade, and 2 and 5 times a decade when
    the values lie within one decade (pyqtgraph's own minor labels overlap on small plots)."""
    vals = [float(v) for v in values if v is not None and float(v) > 0]
    if not vals:
        return []
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    steps = (1,) if hi - lo >= 2 else (1, 2, 5)
    return [(math.log10(m * 10.0 ** d), f"{m * 10.0 ** d:g}") for d in range(lo, hi + 1) for m in steps]


def _spin(lo, hi, value, special="", suffix="", tip=""):
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    if special:
        s.setSpecialValueText(special)
    if suffix:
        s.setSuffix(suffix)
    s.setToolTip(tip)
    return s


class _Scatter(ThemedPlot):
    """One swept setting against the validation metric: completed trials, pruned ones (their
    last value, hollow) and the best trial."""

    def __init__(self, name: str, metric: str):
        if name == PARAMETERS:
            super().__init__(title="How many parameters do you need?", xlabel="trainable parameters",
                             ylabel=metric)
        else:
            super().__init__(title=name, xlabel=name, ylabel=metric)
        self.name = name
        self.setMinimumSize(200, 140)
        self.complete = pg.PlotDataItem(pen=None, symbol="o", symbolSize=8, symbolPen=None,
                                        symbolBrush=(*COMPLETE_COLOUR, 200))
        self.pruned = pg.PlotDataItem(pen=None, symbol="o", symbolSize=8, symbolBrush=None,
                                      symbolPen=pg.mkPen(PRUNED_COLOUR, width=1.2))
        self.best = pg.PlotDataItem(pen=None, symbol="star", symbolSize=16, symbolPen=None,
                                    symbolBrush=BEST_COLOUR)
        for item in (self.pruned, self.complete, self.best):
            self.plot_item.addItem(item)

    def x_of(self, t: dict):
        """The trial's value on this plot's axis: its setting, or its model's parameter count."""
        return t.get("parameters") if self.name == PARAMETERS else t["params"].get(self.name)

    def set_trials(self, trials: list[dict], best: dict | None) -> None:
        def pts(state, key):
            xy = [(self.x_of(t), t[key]) for t in trials
                  if t["state"] == state and self.x_of(t) is not None and t.get(key) is not None]
            return (np.array([p[0] for p in xy], dtype=float), np.array([p[1] for p in xy], dtype=float))

        cx, cy = pts("complete", "value")
        px, py = pts("pruned", "last_value")
        # pruned trials can be far worse than the rest: decades of loss read best on a log axis
        logs = wants_log_axis([*cx, *px]), wants_log_axis([*cy, *py])
        self.plot_item.setLogMode(*logs)
        for name, on, vals in (("bottom", logs[0], [*cx, *px]), ("left", logs[1], [*cy, *py])):
            self.plot_item.getAxis(name).setTicks([log_ticks(vals), []] if on else None)
        self.complete.setData(cx, cy)
        self.pruned.setData(px, py)
        if best is not None and self.x_of({"params": {}, **best}) is not None and best.get("value") is not None:
            self.best.setData([float(self.x_of({"params": {}, **best}))], [best["value"]])
        else:
            self.best.setData([], [])
        self.set_placeholder(None if len(cx) or len(px) else "no finished trial yet")


class SweepView(QWidget):
    start_requested = Signal()
    cancel_requested = Signal()
    apply_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._trials: list[dict] = []
        self._names: list[str] = []
        self._result = None
        self._best = None
        self._running = False
        self._can_start = True
        self._project_epochs = None
        self._depth_ok = False

        # the form on top (what to sweep | budget and controls), the results below it
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self._build_settings(), 3)
        side = QVBoxLayout()
        side.addWidget(self._build_budget())
        side.addLayout(self._build_controls())
        side.addStretch(1)
        top.addLayout(side, 2)
        lay.addLayout(top)
        self.command_label = QLabel("")
        self.command_label.setWordWrap(True)
        self.command_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.command_label.setToolTip("The same sweep from a terminal")
        self.command_label.setEnabled(False)
        lay.addWidget(self.command_label)
        lay.addWidget(self._build_results(), 1)
        self.set_model(None)
        self._update_command()
        self.set_running(False)

    # -- form -------------------------------------------------------------------------------------
    def _build_settings(self) -> QGroupBox:
        box = QGroupBox("Settings to sweep")
        g = QGridLayout(box)
        g.setColumnStretch(2, 1)
        g.setHorizontalSpacing(6)

        self.lr_check = QCheckBox("Learning rate")
        self.lr_check.setChecked(True)
        self.lr_low = QLineEdit("1e-4")
        self.lr_high = QLineEdit("1e-2")
        for e in (self.lr_low, self.lr_high):
            e.setMaximumWidth(80)
        self.lr_log = QCheckBox("log scale")
        self.lr_log.setChecked(True)
        self.lr_log.setToolTip("Sample the range evenly in log(learning rate): as many tries in 1e-4…1e-3 "
                               "as in 1e-3…1e-2")
        lr = QHBoxLayout()
        lr.addWidget(QLabel("from"))
        lr.addWidget(self.lr_low)
        lr.addWidget(QLabel("to"))
        lr.addWidget(self.lr_high)
        lr.addWidget(self.lr_log)
        lr.addStretch(1)
        g.addWidget(self.lr_check, 0, 0)
        g.addLayout(lr, 0, 1, 1, 2)

        self.batch_check = QCheckBox("Batch size")
        self.batch_edit = QLineEdit("16,32,64")
        self.batch_edit.setToolTip("A list (16,32,64) or a range (16:128)")
        g.addWidget(self.batch_check, 1, 0)
        g.addWidget(self.batch_edit, 1, 1, 1, 2)

        self.units_check = QCheckBox("Size of")
        self.units_layer = QComboBox()
        self.units_layer.setToolTip("A hidden layer: units of a Dense layer, filters of a convolution")
        self.units_edit = QLineEdit("16,32,64,128")
        self.units_edit.setToolTip("A list (16,32,64) or a range (8:256:log)")
        g.addWidget(self.units_check, 2, 0)
        g.addWidget(self.units_layer, 2, 1)
        g.addWidget(self.units_edit, 2, 2)

        self.dropout_check = QCheckBox("Dropout of")
        self.dropout_layer = QComboBox()
        self.dropout_edit = QLineEdit("0.0:0.5")
        self.dropout_edit.setToolTip("A range (0.0:0.5) or a list (0.1,0.3)")
        g.addWidget(self.dropout_check, 3, 0)
        g.addWidget(self.dropout_layer, 3, 1)
        g.addWidget(self.dropout_edit, 3, 2)

        self.depth_check = QCheckBox("Depth")
        self.depth_edit = QLineEdit("1,2,3")
        self.depth_edit.setToolTip("Number of hidden blocks of the model: the last one is repeated or dropped")
        g.addWidget(self.depth_check, 4, 0)
        g.addWidget(self.depth_edit, 4, 1, 1, 2)

        self.width_check = QCheckBox("Width ×")
        self.width_check.setToolTip("Every hidden layer's units and filters times a factor: the results then "
                                    "show validation loss against the number of parameters")
        self.width_edit = QLineEdit("0.25,0.5,1,2")
        self.width_edit.setToolTip("Factors on the model's hidden layer sizes: a list (0.25,0.5,1,2) or a range")
        g.addWidget(self.width_check, 5, 0)
        g.addWidget(self.width_edit, 5, 1, 1, 2)

        for c in (self.lr_check, self.batch_check, self.units_check, self.dropout_check, self.depth_check,
                  self.width_check, self.lr_log):
            c.toggled.connect(self._update_command)
        for e in (self.lr_low, self.lr_high, self.batch_edit, self.units_edit, self.dropout_edit,
                  self.depth_edit, self.width_edit):
            e.textChanged.connect(self._update_command)
        for c in (self.units_layer, self.dropout_layer):
            c.currentIndexChanged.connect(self._update_command)
        return box

    def _build_budget(self) -> QGroupBox:
        box = QGroupBox("Budget")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.trials_spin = _spin(0, 100_000, 20, special="no limit",
                                 tip="Trials in this study, counting those of an earlier session")
        self.minutes_spin = _spin(0, 100_000, 0, special="no limit", suffix=" min",
                                  tip="Wall-clock budget: no trial starts after it")
        self.epochs_spin = _spin(0, 100_000, 0, special="the project's",
                                 tip="Epochs per trial (early stopping and pruning may end a trial sooner)")
        self.sampler_combo = QComboBox()
        for value, text in SAMPLER_TEXT:
            self.sampler_combo.addItem(text, value)
        self.sampler_combo.setToolTip("Model-based sampling learns from earlier trials; a grid needs lists of "
                                      "values, not ranges")
        self.prune_check = QCheckBox("Prune hopeless trials")
        self.prune_check.setChecked(True)
        self.prune_check.setToolTip("Stop a trial whose validation loss is worse than the median of earlier "
                                    "trials at the same epoch")
        form.addRow("Trials", self.trials_spin)
        form.addRow("Time limit", self.minutes_spin)
        form.addRow("Epochs per trial", self.epochs_spin)
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("", self.prune_check)
        for s in (self.trials_spin, self.minutes_spin, self.epochs_spin):
            s.valueChanged.connect(self._update_command)
        self.sampler_combo.currentIndexChanged.connect(self._update_command)
        self.prune_check.toggled.connect(self._update_command)
        return box

    def _build_controls(self) -> QVBoxLayout:
        col = QVBoxLayout()
        row = QHBoxLayout()
        st = self.style()
        self.start_button = QPushButton(st.standardIcon(QStyle.SP_MediaPlay), "Start sweep")
        self.start_button.setToolTip("Run the trials in the background; the same sweep started again "
                                     "resumes its study")
        self.cancel_button = QPushButton(st.standardIcon(QStyle.SP_MediaStop), "Cancel")
        self.cancel_button.setToolTip("End the current trial and start no more; finished trials are kept")
        for b in (self.start_button, self.cancel_button):
            b.setMinimumHeight(28)
            row.addWidget(b)
        self.start_button.clicked.connect(self.start_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        col.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("—")
        col.addWidget(self.progress)
        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)
        self.state_label.setMinimumHeight(self.state_label.fontMetrics().height() * 2)
        self.state_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        col.addWidget(self.state_label)
        return col

    def _build_results(self) -> QWidget:
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(0, 4, 0, 0)
        self.title_label = QLabel("<b>Trials</b> — sorted by validation loss (lower is better)")
        self.title_label.setWordWrap(True)
        bl.addWidget(self.title_label)
        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumSize(260, 120)
        split.addWidget(self.table)
        self.scatter_box = QWidget()
        self.scatter_grid = QGridLayout(self.scatter_box)
        self.scatter_grid.setContentsMargins(0, 0, 0, 0)
        self.scatter_grid.setSpacing(4)
        self.scatters: dict[str, _Scatter] = {}
        split.addWidget(self.scatter_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([600, 380])
        bl.addWidget(split, 1)
        best = QHBoxLayout()
        self.best_label = QLabel("No finished trial yet.")
        self.best_label.setWordWrap(True)
        self.best_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        best.addWidget(self.best_label, 1)
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setToolTip("Copy the best trial's settings into the model and the training settings")
        self.apply_button.setMinimumHeight(28)
        self.apply_button.clicked.connect(self.apply_requested)
        best.addWidget(self.apply_button, 0, Qt.AlignTop)
        bl.addLayout(best)
        self.test_label = QLabel("")
        self.test_label.setWordWrap(True)
        self.test_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        bl.addWidget(self.test_label)
        return box

    # -- the model's layers -----------------------------------------------------------------------
    def set_model(self, spec) -> None:
        """Offer the layers of ``spec`` whose size or dropout rate can be swept."""
        from nnstudio.core.experiments.sweep import check_params, parse_param
        from nnstudio.errors import NnstudioError

        def fits(text):
            try:
                check_params([parse_param(text)], spec)
                return True
            except NnstudioError:
                return False

        names = spec.layer_names() if spec is not None else []
        sizes, drops = [], []
        for name, layer in zip(names, spec.layers if spec is not None else []):
            for setting in ("units", "filters"):
                if fits(f"{setting}:{name}=8"):
                    sizes.append((f"{name} ({setting})", f"{setting}:{name}"))
            if fits(f"dropout:{name}=0.1"):
                drops.append((f"{name} (rate)", f"dropout:{name}"))
        for combo, items, check, edit, none_tip in (
                (self.units_layer, sizes, self.units_check, self.units_edit,
                 "The model has no hidden Dense or convolution layer to resize."),
                (self.dropout_layer, drops, self.dropout_check, self.dropout_edit,
                 "The model has no Dropout layer: add one in the Model panel to sweep its rate.")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for text, data in items:
                combo.addItem(text, data)
            i = combo.findData(current)
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
            for w in (combo, check, edit):
                w.setEnabled(bool(items))
            check.setToolTip("" if items else none_tip)
            if not items:
                check.setChecked(False)
        depth_ok = self._depth_ok = spec is not None and fits("depth=1")
        for w in (self.depth_check, self.depth_edit):
            w.setEnabled(depth_ok)
        if not depth_ok:
            self.depth_check.setChecked(False)
        for w in (self.width_check, self.width_edit):
            w.setEnabled(depth_ok)          # widening needs hidden layers, as depth does
        if not depth_ok:
            self.width_check.setChecked(False)
        self._update_command()

    def set_project_epochs(self, n: int | None) -> None:
        self._project_epochs = n
        self.epochs_spin.setSpecialValueText(f"the project's ({n})" if n else "the project's")

    # -- what to run ------------------------------------------------------------------------------
    def params(self) -> list[str]:
        """The ticked settings as ``NAME=SPEC`` strings (checked by ``parse_param`` later)."""
        def clean(text):
            return "".join(text.split())

        out = []
        if self.lr_check.isChecked():
            out.append(f"learning_rate={clean(self.lr_low.text())}:{clean(self.lr_high.text())}"
                       + (":log" if self.lr_log.isChecked() else ""))
        if self.batch_check.isChecked():
            out.append(f"batch_size={clean(self.batch_edit.text())}")
        if self.units_check.isChecked() and self.units_layer.currentData():
            out.append(f"{self.units_layer.currentData()}={clean(self.units_edit.text())}")
        if self.dropout_check.isChecked() and self.dropout_layer.currentData():
            out.append(f"{self.dropout_layer.currentData()}={clean(self.dropout_edit.text())}")
        if self.depth_check.isChecked():
            out.append(f"depth={clean(self.depth_edit.text())}")
        if self.width_check.isChecked():
            out.append(f"width={clean(self.width_edit.text())}")
        return out

    def budget(self) -> dict:
        """Keyword arguments for ``run_sweep``: trials, timeout (s), sampler, prune, epochs."""
        return {"trials": self.trials_spin.value() or None,
                "timeout": 60.0 * self.minutes_spin.value() if self.minutes_spin.value() else None,
                "sampler": self.sampler_combo.currentData(), "prune": self.prune_check.isChecked(),
                "epochs": self.epochs_spin.value() or None}

    def command_line(self) -> str:
        b = self.budget()
        parts = ["nnstudio sweep PROJECT"] + [f"--param {p}" for p in self.params()]
        if b["trials"]:
            parts.append(f"--trials {b['trials']}")
        if b["timeout"]:
            parts.append(f"--timeout {b['timeout']:g}")
        if b["sampler"] != "tpe":
            parts.append(f"--sampler {b['sampler']}")
        if b["epochs"]:
            parts.append(f"--epochs {b['epochs']}")
        if not b["prune"]:
            parts.append("--no-prune")
        return " ".join(parts)

    def _update_command(self, *_) -> None:
        self.command_label.setText(self.command_line())

    def form_state(self) -> dict:
        """The form as plain values (kept between sessions, so the same sweep can be resumed)."""
        return {"lr": [self.lr_check.isChecked(), self.lr_low.text(), self.lr_high.text(), self.lr_log.isChecked()],
                "batch": [self.batch_check.isChecked(), self.batch_edit.text()],
                "units": [self.units_check.isChecked(), self.units_layer.currentData(), self.units_edit.text()],
                "dropout": [self.dropout_check.isChecked(), self.dropout_layer.currentData(),
                            self.dropout_edit.text()],
                "depth": [self.depth_check.isChecked(), self.depth_edit.text()],
                "width": [self.width_check.isChecked(), self.width_edit.text()],
                "trials": self.trials_spin.value(), "minutes": self.minutes_spin.value(),
                "epochs": self.epochs_spin.value(), "sampler": self.sampler_combo.currentData(),
                "prune": self.prune_check.isChecked()}

    def set_form_state(self, d: dict) -> None:
        try:
            on, low, high, log = d["lr"]
            self.lr_check.setChecked(bool(on))
            self.lr_low.setText(str(low))
            self.lr_high.setText(str(high))
            self.lr_log.setChecked(bool(log))
            on, text = d["batch"]
            self.batch_check.setChecked(bool(on))
            self.batch_edit.setText(str(text))
            for (check, combo, edit), key in (((self.units_check, self.units_layer, self.units_edit), "units"),
                                              ((self.dropout_check, self.dropout_layer, self.dropout_edit),
                                               "dropout")):
                on, layer, text = d[key]
                i = combo.findData(layer)
                if i >= 0:
                    combo.setCurrentIndex(i)
                check.setChecked(bool(on) and i >= 0)
                edit.setText(str(text))
            on, text = d["depth"]
            self.depth_check.setChecked(bool(on) and self._depth_ok)
            self.depth_edit.setText(str(text))
            on, text = d.get("width", [False, self.width_edit.text()])
            self.width_check.setChecked(bool(on) and self._depth_ok)
            self.width_edit.setText(str(text))
            self.trials_spin.setValue(int(d["trials"]))
            self.minutes_spin.setValue(int(d["minutes"]))
            self.epochs_spin.setValue(int(d["epochs"]))
            self.sampler_combo.setCurrentIndex(max(self.sampler_combo.findData(d["sampler"]), 0))
            self.prune_check.setChecked(bool(d["prune"]))
        except (KeyError, TypeError, ValueError):
            pass   # a form saved by another version: keep the defaults
        self._update_command()

    # -- running ----------------------------------------------------------------------------------
    def set_running(self, running: bool, can_start: bool = True) -> None:
        self._running = running
        self._can_start = can_start
        self.start_button.setEnabled(can_start and not running)
        self.cancel_button.setEnabled(running)
        for box in (self.lr_check.parentWidget(), self.trials_spin.parentWidget()):
            box.setEnabled(not running)
        self._update_apply()

    def set_progress(self, done: float, total, text: str) -> None:
        frac = done / total if total else 0.0
        self.progress.setValue(int(1000 * min(max(frac, 0.0), 1.0)))
        self.progress.setFormat(fmt_percent(frac, 0) if total else "…")
        self.state_label.setText(text)

    def set_state(self, text: str) -> None:
        self.state_label.setText(text)

    def begin(self, names: list[str]) -> None:
        """A sweep starts: empty the results (earlier trials of its study come back at the end)."""
        self._result = None
        self._trials = []
        self._best = None
        self._names = list(names)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._show()

    def add_trial(self, trial: dict) -> None:
        """A trial finished (live)."""
        self._trials = [t for t in self._trials if t["number"] != trial["number"]] + [trial]
        for k in trial.get("params", {}):
            if k not in self._names:
                self._names.append(k)
        self._show()

    def set_result(self, result, note: str = "") -> None:
        self._result = result
        self._trials = list(result.trials)
        names = list(self._names)
        for t in self._trials:
            names += [k for k in t["params"] if k not in names]
        self._names = names
        self._show(note)

    @property
    def result(self):
        return self._result

    @property
    def trials(self) -> list[dict]:
        return sorted(self._trials, key=trial_sort_key)

    @property
    def best(self) -> dict | None:
        return self._best

    # -- drawing ----------------------------------------------------------------------------------
    def _show(self, note: str = "") -> None:
        trials = self.trials
        if self._result is not None:
            best = self._result.best
        else:
            best = next((t for t in trials if t["state"] == "complete" and t["value"] is not None), None)
        self._best = best
        self._fill_table(trials, best)
        # a width sweep also reads as validation loss against the model's size
        self._ensure_scatters(self._names[:MAX_SCATTERS] + ([PARAMETERS] if "width" in self._names else []))
        for s in self.scatters.values():
            s.set_trials(trials, best)
        counts: dict[str, int] = {}
        for t in trials:
            counts[t["state"]] = counts.get(t["state"], 0) + 1
        parts = [f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: STATE_ORDER.get(kv[0], 5))]
        study = f" · {self._result.study}" if self._result is not None else ""
        self.title_label.setText(f"<b>Trials</b>{study} — sorted by validation loss (lower is better)"
                                 + (f" · {', '.join(parts)}" if parts else ""))
        if best is None:
            self.best_label.setText("No finished trial yet." if not trials else
                                    "No trial has completed yet, so there is no best setting.")
            self.test_label.setText(note)
        else:
            ps = ", ".join(f"{k}={fmt_number(v)}" for k, v in best["params"].items())
            where = "Best" if self._result is not None else "Best so far"
            self.best_label.setText(f"<b>{where}: trial {best['number']}</b> — validation loss "
                                    f"{fmt_number(best['value'])} · {ps}")
            test = best.get("test") if self._result is not None else None
            lines = []
            if test:
                from nnstudio.core.experiments.sweep import best_scored_text, best_test_text

                lines.append(f"Test figures of this trial in the target's units, {SELECTED_BY} (the test split "
                             f"played no part in the choice; {best_scored_text(best)}): {best_test_text(best)}")
            elif self._result is not None:
                lines.append(f"This trial was {SELECTED_BY}; its test figures are computed when a sweep "
                             "finishes in this session.")
            if note:
                lines.append(note)
            self.test_label.setText("\n".join(lines))
        self._update_apply()

    def _fill_table(self, trials: list[dict], best: dict | None) -> None:
        t = self.table
        heads = ["Trial", "State", "Val. loss", *self._names, "Epochs", "Time"]
        t.setColumnCount(len(heads))
        t.setHorizontalHeaderLabels(heads)
        t.setRowCount(len(trials))
        for i, tr in enumerate(trials):
            value = tr.get("value")
            if value is None and tr["state"] == "pruned" and tr.get("last_value") is not None:
                vtext = f"({fmt_number(tr['last_value'])} when pruned)"
            else:
                vtext = fmt_number(value)
            dur = tr.get("duration_s")
            cells = [str(tr["number"]), STATE_TEXT.get(tr["state"], tr["state"]), vtext,
                     *(fmt_number(tr["params"].get(k)) for k in self._names),
                     "" if tr.get("epochs") is None else str(tr["epochs"]),
                     "" if dur is None else f"{dur:.1f} s"]
            for col, text in enumerate(cells):
                it = QTableWidgetItem(text)
                if col != 1:
                    it.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if tr.get("error"):
                    it.setToolTip(tr["error"])
                if best is not None and tr["number"] == best["number"]:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
                t.setItem(i, col, it)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)

    def _ensure_scatters(self, names: list[str]) -> None:
        if list(self.scatters) == names:
            return
        for s in self.scatters.values():
            self.scatter_grid.removeWidget(s)
            s.setParent(None)
            s.deleteLater()
        self.scatters = {}
        columns = 1 if len(names) <= 2 else 2
        for i, name in enumerate(names):
            s = _Scatter(name, "validation loss")
            self.scatters[name] = s
            self.scatter_grid.addWidget(s, i // columns, i % columns)

    def _update_apply(self) -> None:
        ok = self._result is not None and self._result.best is not None and not self._running
        self.apply_button.setEnabled(ok)
        self.apply_button.setToolTip("Copy the best trial's settings into the model and the training settings"
                                     if ok else "Available when a sweep has a completed trial")

    def table_rows(self) -> list[list[str]]:
        t = self.table
        return [[t.item(i, c).text() for c in range(t.columnCount())] for i in range(t.rowCount())]
