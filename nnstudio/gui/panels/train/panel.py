"""The Train panel: settings, Start / Pause / Stop, live curves, progress and the project's runs,
and the experiments on them: the run table, Repeat ×N over seeds (mean ± spread, two groups
compared), sweeps of settings, and resuming a stopped or crashed run.

Training, repeats, sweeps and resumes run in a worker (core functions through
:meth:`Panel.start_job`, one job at a time); the GUI thread never touches TensorFlow or Optuna.
Epoch and batch reports arrive as Qt signals, go into buffers, and are drawn by timers at most ten
times a second.
"""
from __future__ import annotations

import json
import logging
import math
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.train.run_table import fmt_seconds as format_seconds

log = logging.getLogger(__name__)

PROGRESS_MS = 100           # progress widgets refresh at most ten times a second
RUN_COLUMNS = ("Run", "Status", "Epochs", "Best val loss", "Duration")
STATUS_TEXT = {"running": "running…", "completed": "completed", "stopped": "stopped",
               "nan": "NaN loss", "failed": "failed"}
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("gpu", "GPU"))
SWEEP_FORM_KEY = "train/sweep_form"     # the last sweep's form, so the same sweep can be resumed



def _latest_sweep(project, task=None):
    """The project's latest sweep, or None when its sweeps.db holds none of this project's."""
    from nnstudio.core.experiments.sweep import load_sweep
    from nnstudio.errors import NnstudioError

    try:
        return load_sweep(project)
    except NnstudioError as exc:
        if exc.message.startswith("No sweep of this project"):
            return None
        raise


def best_value(record) -> tuple[str, float | None]:
    """The monitored loss at the run's best epoch ("val_loss", or "loss" without validation)."""
    key = "val_loss" if record.history.get("val_loss") else "loss"
    vals = record.history.get(key) or []
    i = record.best_epoch
    if i is None or not (0 <= i < len(vals)):
        return key, None
    return key, vals[i]


class _FormScroll(QScrollArea):
    """A vertical scroller that is never narrower than its form (plus a scroll bar)."""

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        w = self.widget()
        if w is not None:
            hint.setWidth(w.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2)
        return hint


class TrainPanel(Panel):
    key = "train"
    title = "Train"
    requires = ("data", "model")

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> QWidget:
        from nnstudio.gui.panels.train.group_view import RepeatView
        from nnstudio.gui.panels.train.live_plot import LivePlots
        from nnstudio.gui.panels.train.run_table import RunTable
        from nnstudio.gui.panels.train.sweep_view import SweepView

        self._loading = False
        self._live = None            # state of the running training job (train, repeat, resume)
        self._sweep = None           # state of the running sweep
        self._job_project = None
        self._runs_snapshot = None   # the project's run records when the job started
        self._project_seen = None    # the project the experiment views show
        self._sweep_loaded_for = None
        self._sweep_form_restored = False
        self._pending_delete: list[str] = []
        self._resumable = []
        self._shown_run = None
        self._batch_run = None       # the run whose per-batch losses the plots hold
        self._closing = False
        self._deferring = False      # a session signal arrived while hidden: refresh when shown
        self._stale = False

        root = QSplitter(Qt.Horizontal)
        root.setChildrenCollapsible(False)

        # left: settings, controls, progress
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 6, 0)
        lcol.addWidget(self._build_settings())
        lcol.addLayout(self._build_controls())
        lcol.addWidget(self._build_resume())
        lcol.addWidget(self._build_progress())
        lcol.addStretch(1)
        scroll = _FormScroll()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMaximumWidth(460)
        root.addWidget(scroll)

        # right: plots over the run list
        right = QSplitter(Qt.Vertical)
        right.setChildrenCollapsible(False)
        plots_box = QWidget()
        pv = QVBoxLayout(plots_box)
        pv.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.curves_title = QLabel("<b>Curves</b>")
        bar.addWidget(self.curves_title)
        bar.addStretch(1)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Logarithmic y axes (losses spanning decades)")
        self.log_check.toggled.connect(lambda on: self.plots.set_log_y(on))
        bar.addWidget(self.log_check)
        pv.addLayout(bar)
        self.plots = LivePlots()
        pv.addWidget(self.plots, 1)
        right.addWidget(plots_box)
        right.addWidget(self._build_runs())
        right.setStretchFactor(0, 4)
        right.setStretchFactor(1, 1)

        # right: live curves, the run table, repeats over seeds, sweeps
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(right, "Curves")
        self.run_table = RunTable()
        self.tabs.addTab(self.run_table, "Runs")
        self.repeat_view = RepeatView()
        self.tabs.addTab(self.repeat_view, "Repeat")
        self.sweep_view = SweepView()
        self.tabs.addTab(self.sweep_view, "Sweep")
        self.tabs.setTabToolTip(1, "Every run: what changed, results; rename, annotate, hide, delete, export")
        self.tabs.setTabToolTip(2, "Train the same settings with several seeds: mean ± spread, and compare "
                                   "two groups")
        self.tabs.setTabToolTip(3, "Search learning rate, batch size, layer sizes… by the validation loss")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        root.addWidget(self.tabs)
        root.setStretchFactor(0, 0)
        root.setStretchFactor(1, 1)

        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._update_progress)
        self._build_actions()
        self._connect_experiments()
        self.on_tf_ready(self.session.tf_info)
        self._set_running(False)
        return root

    def _build_settings(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        def spin(lo, hi, tip, step=1):
            s = QSpinBox()
            s.setRange(lo, hi)
            s.setSingleStep(step)
            s.setToolTip(tip)
            s.setKeyboardTracking(False)   # one edit per value, not per key press
            return s

        self.epochs_spin = spin(1, 100_000, "Passes over the training data (early stopping may end sooner)")
        self.batch_spin = spin(1, 65_536, "Samples per gradient step; smaller uses less memory")
        self.lr_edit = QLineEdit()
        self.lr_edit.setToolTip("Adam's step size. Leave blank to use the model's own.")
        self.lr_edit.setClearButtonEnabled(True)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_edit)

        self.early_check = QCheckBox("Early stopping")
        self.early_check.setToolTip("Stop when the validation loss has not improved for a while")
        self.patience_spin = spin(1, 10_000, "Epochs without improvement before stopping")
        self.restore_check = QCheckBox("Restore best weights")
        self.restore_check.setToolTip("Keep the weights of the best epoch, not the last")
        es = QHBoxLayout()
        es.addWidget(QLabel("patience"))
        es.addWidget(self.patience_spin, 1)
        form.addRow(self.early_check)
        form.addRow("", es)
        form.addRow("", self.restore_check)

        self.reduce_check = QCheckBox("Reduce learning rate on plateau")
        self.reduce_check.setToolTip("Multiply the learning rate by the factor when the validation "
                                     "loss stalls")
        self.reduce_patience_spin = spin(1, 10_000, "Epochs without improvement before reducing")
        self.reduce_factor_spin = QDoubleSpinBox()
        self.reduce_factor_spin.setRange(0.01, 0.99)
        self.reduce_factor_spin.setSingleStep(0.05)
        self.reduce_factor_spin.setDecimals(2)
        self.reduce_factor_spin.setKeyboardTracking(False)
        self.reduce_factor_spin.setToolTip("New learning rate = factor × old")
        rl = QHBoxLayout()
        rl.addWidget(QLabel("patience"))
        rl.addWidget(self.reduce_patience_spin, 1)
        rl.addWidget(QLabel("factor"))
        rl.addWidget(self.reduce_factor_spin, 1)
        form.addRow(self.reduce_check)
        form.addRow("", rl)

        self.seed_spin = spin(0, 2**31 - 1, "Random seed: on a CPU the same seed gives the same losses")
        form.addRow("Seed", self.seed_spin)
        self.device_combo = QComboBox()
        for value, text in DEVICES:
            self.device_combo.addItem(text, value)
        self.device_combo.setToolTip("Where the network trains")
        self.mixed_check = QCheckBox("Mixed precision (float16)")
        self.tensorboard_check = QCheckBox("TensorBoard logs")
        self.tensorboard_check.setToolTip("Write TensorBoard logs into the run's folder")
        form.addRow("Device", self.device_combo)
        form.addRow("", self.mixed_check)
        form.addRow("", self.tensorboard_check)

        # every edit goes straight into project.training
        self.epochs_spin.valueChanged.connect(lambda v: self._set("epochs", int(v)))
        self.batch_spin.valueChanged.connect(lambda v: self._set("batch_size", int(v)))
        self.lr_edit.textChanged.connect(self._on_lr_text)
        self.early_check.toggled.connect(lambda v: self._set("early_stopping", bool(v)))
        self.patience_spin.valueChanged.connect(lambda v: self._set("patience", int(v)))
        self.restore_check.toggled.connect(lambda v: self._set("restore_best", bool(v)))
        self.reduce_check.toggled.connect(lambda v: self._set("reduce_lr", bool(v)))
        self.reduce_patience_spin.valueChanged.connect(lambda v: self._set("reduce_lr_patience", int(v)))
        self.reduce_factor_spin.valueChanged.connect(lambda v: self._set("reduce_lr_factor", float(v)))
        self.seed_spin.valueChanged.connect(lambda v: self._set("seed", int(v)))
        self.device_combo.currentIndexChanged.connect(
            lambda i: self._set("device", self.device_combo.itemData(i)))
        self.mixed_check.toggled.connect(lambda v: self._set("mixed_precision", bool(v)))
        self.tensorboard_check.toggled.connect(lambda v: self._set("tensorboard", bool(v)))
        self.settings_box = box
        return box

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        st = self.style()
        self.start_button = QPushButton(st.standardIcon(QStyle.SP_MediaPlay), "Start")
        self.start_button.setToolTip("Train the model (Ctrl+Return)")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton(st.standardIcon(QStyle.SP_MediaPause), "Pause")
        self.pause_button.setToolTip("Pause after the current batch; Resume continues (Ctrl+P)")
        self.stop_button = QPushButton(st.standardIcon(QStyle.SP_MediaStop), "Stop")
        self.stop_button.setToolTip("End after the current batch and keep the weights (Ctrl+.)")
        for b in (self.start_button, self.pause_button, self.stop_button):
            b.setMinimumHeight(30)
            row.addWidget(b)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        return row

    def _build_resume(self) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        self.resume_button = QPushButton(self.style().standardIcon(QStyle.SP_MediaSeekForward), "Resume")
        self.resume_button.setMinimumHeight(30)
        self.resume_button.clicked.connect(lambda: self.resume_run())
        row.addWidget(self.resume_button)
        w.setVisible(False)
        self.resume_row = w
        return w

    def _build_progress(self) -> QGroupBox:
        box = QGroupBox("Progress")
        form = QFormLayout(box)
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setRange(0, 1000)
        self.epoch_bar.setFormat("—")
        self.run_bar = QProgressBar()
        self.run_bar.setRange(0, 1000)
        self.run_bar.setFormat("—")
        self.eta_label = QLabel("—")
        self.speed_label = QLabel("—")
        self.lr_label = QLabel("—")
        self.device_label = QLabel("…")
        self.device_label.setWordWrap(True)
        self.state_label = QLabel("Idle")
        self.state_label.setWordWrap(True)
        form.addRow("Epoch", self.epoch_bar)
        form.addRow("Run", self.run_bar)
        form.addRow("Time left", self.eta_label)
        form.addRow("Speed", self.speed_label)
        form.addRow("Learning rate", self.lr_label)
        form.addRow("Device", self.device_label)
        form.addRow("State", self.state_label)
        return box

    def _build_runs(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Runs</b>"))
        hint = QLabel("select a run to show its curves · tick runs to overlay them")
        hint.setEnabled(False)
        head.addWidget(hint)
        head.addStretch(1)
        lay.addLayout(head)
        self.run_list = QTreeWidget()
        self.run_list.setColumnCount(len(RUN_COLUMNS))
        self.run_list.setHeaderLabels(list(RUN_COLUMNS))
        self.run_list.setRootIsDecorated(False)
        self.run_list.setUniformRowHeights(True)
        self.run_list.setAlternatingRowColors(True)
        self.run_list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.run_list.header().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.run_list.header().setStretchLastSection(False)
        self.run_list.setMinimumHeight(90)
        self.run_list.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.run_list.itemSelectionChanged.connect(self._on_run_selected)
        self.run_list.itemChanged.connect(self._on_run_checked)
        lay.addWidget(self.run_list)
        return w

    def _connect_experiments(self) -> None:
        t = self.run_table
        t.overlay_toggled.connect(self.set_overlay)
        t.renamed.connect(self.rename_run)
        t.annotated.connect(self.annotate_run)
        t.hide_requested.connect(self.hide_runs)
        t.delete_requested.connect(self.delete_runs)
        t.export_requested.connect(lambda: self.export_csv())
        t.show_hidden_changed.connect(lambda _on: self.refresh_run_table())
        r = self.repeat_view
        r.repeat_requested.connect(lambda n: self.start_repeat(n))
        r.cancel_requested.connect(self.stop)
        r.selection_changed.connect(self._show_groups)
        v = self.sweep_view
        v.start_requested.connect(lambda: self.start_sweep())
        v.cancel_requested.connect(self.cancel_sweep)
        v.apply_requested.connect(lambda: self.apply_best())

    def _build_actions(self) -> None:
        # shortcuts live on the panel, so they act only while the Train panel is shown
        def action(text, keys, slot):
            a = QAction(text, self)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_start = action("Start training", ["Ctrl+Return", "Ctrl+Enter"], self.start)
        self.act_pause = action("Pause or resume training", ["Ctrl+P"], self.toggle_pause)
        self.act_stop = action("Stop training", ["Ctrl+."], self.stop)

    # -- settings <-> project.training ------------------------------------------------------------
    def _set(self, name: str, value) -> None:
        if self._loading:
            return
        project = self.session.project
        if getattr(project.training, name) == value:
            return
        setattr(project.training, name, value)
        project.mark_changed("training")
        self._update_enabled()

    def _on_lr_text(self, text: str) -> None:
        if self._loading:
            return
        text = text.strip()
        if not text:
            value = None
        else:
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not (math.isfinite(value) and value > 0):
                self.lr_edit.setStyleSheet("QLineEdit { border: 1px solid rgb(220, 53, 69); }")
                self.messages.error("settings", "The learning rate must be a number above zero, "
                                                "e.g. 0.001 or 1e-3 (blank: the model's own).")
                return
        self.lr_edit.setStyleSheet("")
        self.messages.clear("settings")
        self._set("learning_rate", value)

    def load_settings(self) -> None:
        """Fill the form from ``session.project.training`` (no edits are echoed back)."""
        c = self.session.project.training
        self._loading = True
        try:
            self.epochs_spin.setValue(c.epochs)
            self.batch_spin.setValue(c.batch_size)
            self.lr_edit.setText("" if c.learning_rate is None else f"{c.learning_rate:g}")
            self.lr_edit.setStyleSheet("")
            model = self.session.project.model
            self.lr_edit.setPlaceholderText(f"model's: {model.learning_rate:g}" if model is not None
                                            else "the model's")
            self.early_check.setChecked(c.early_stopping)
            self.patience_spin.setValue(c.patience)
            self.restore_check.setChecked(c.restore_best)
            self.reduce_check.setChecked(c.reduce_lr)
            self.reduce_patience_spin.setValue(c.reduce_lr_patience)
            self.reduce_factor_spin.setValue(c.reduce_lr_factor)
            self.seed_spin.setValue(c.seed)
            i = self.device_combo.findData(c.device)
            self.device_combo.setCurrentIndex(max(i, 0))
            self.mixed_check.setChecked(c.mixed_precision)
            self.tensorboard_check.setChecked(c.tensorboard)
        finally:
            self._loading = False
        self._update_enabled()

    @property
    def gpus(self) -> list:
        info = self.session.tf_info
        return list(info.get("gpus") or []) if info else []

    def on_tf_ready(self, info) -> None:
        gpu_item = self.device_combo.model().item(2)
        has_gpu = bool(self.gpus)
        gpu_item.setEnabled(has_gpu)
        if info is None:
            gpu_item.setToolTip("TensorFlow is still loading")
            self.device_label.setText("TensorFlow is loading…")
        elif has_gpu:
            gpu_item.setToolTip(", ".join(self.gpus))
            self.device_label.setText(info["device"])
        else:
            gpu_item.setToolTip("No GPU was found: TensorFlow sees only the CPU")
            self.device_label.setText(info["device"])
        self.mixed_check.setToolTip("Faster training on recent GPUs; needs a GPU" if has_gpu else
                                    "Mixed precision needs a GPU; none was found")
        self._update_enabled()

    def _update_enabled(self) -> None:
        running = self.busy
        self.settings_box.setEnabled(not running)
        c = self.session.project.training
        self.patience_spin.setEnabled(c.early_stopping)
        self.restore_check.setEnabled(c.early_stopping)
        self.reduce_patience_spin.setEnabled(c.reduce_lr)
        self.reduce_factor_spin.setEnabled(c.reduce_lr)
        self.mixed_check.setEnabled(bool(self.gpus) and c.device != "cpu")

    # -- refresh from the session -----------------------------------------------------------------
    def update_requirements(self, *args) -> None:
        # The session's signals come with every model edit (each spin-box step in the Model panel)
        # and every run, and a refresh reads the project's run files: ~30 ms with 40 runs. Hidden,
        # the panel only notes that it is stale and catches up when it is shown.
        self._deferring = not self.isVisible()
        try:
            super().update_requirements(*args)
        finally:
            self._deferring = False

    def showEvent(self, e):
        super().showEvent(e)
        if self._stale and self.missing() is None:
            self.refresh()

    def refresh(self) -> None:
        if self.is_training:
            return
        if self._deferring:
            self._stale = True
            return
        self._stale = False
        self.load_settings()
        self.refresh_runs()
        self.refresh_experiments()

    def _hidden_ids(self) -> set[str]:
        from nnstudio.core.experiments.runs import load_store
        from nnstudio.errors import NnstudioError

        try:
            store = load_store(self.session.project)
        except NnstudioError:
            return set()
        return {rid for rid, meta in store["runs"].items() if meta.get("hidden")}

    def refresh_runs(self, select: str | None = None) -> None:
        project = self.session.project
        checked = set(self.checked_runs())
        current = select or self._shown_run
        hidden = self._hidden_ids()
        runs = [r for r in project.runs if r.id not in hidden]
        live = self._live
        live_id = live["run_id"] if live is not None and live["run_id"] not in live["finished"] else None
        self.run_list.blockSignals(True)
        try:
            self.run_list.clear()
            for r in reversed(runs):   # newest first
                item = self._run_item(r, r.id in checked)
                if r.id == live_id:    # a resumed run trains again under its own id
                    item.setText(1, STATUS_TEXT["running"])
                    self._italic(item)
                self.run_list.addTopLevelItem(item)
            if live_id is not None and live_id not in {r.id for r in runs}:
                item = QTreeWidgetItem([live_id, STATUS_TEXT["running"], "", "", ""])
                item.setData(0, Qt.UserRole, live_id)
                self._italic(item)
                self.run_list.insertTopLevelItem(0, item)
        finally:
            self.run_list.blockSignals(False)
        ids = [r.id for r in runs]
        if current not in ids:
            current = project.active_run if project.active_run in ids else (ids[-1] if ids else None)
        if self._live is None:
            self._select_run(current)
        self._apply_overlays()

    @staticmethod
    def _italic(item: QTreeWidgetItem) -> None:
        font = item.font(0)
        font.setItalic(True)
        for col in range(2):
            item.setFont(col, font)

    def _run_item(self, r, checked: bool) -> QTreeWidgetItem:
        key, best = best_value(r)
        best_text = "—" if best is None else f"{best:.4g}" + ("" if key == "val_loss" else " (train)")
        item = QTreeWidgetItem([r.id, STATUS_TEXT.get(r.status, r.status), str(r.epochs_run), best_text,
                                format_seconds(r.duration_s)])
        item.setData(0, Qt.UserRole, r.id)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(0, Qt.Checked if checked else Qt.Unchecked)
        tip = [f"started {r.started} on {r.device}"]
        if r.name:
            tip.insert(0, r.name)
        if r.note:
            tip.append(r.note)
        if r.message:
            tip.append(r.message)
        s = r.settings or {}
        tip.append(f"epochs {s.get('epochs')}, batch size {s.get('batch_size')}, seed {s.get('seed')}")
        item.setToolTip(0, "\n".join(tip))
        item.setToolTip(1, r.message or item.text(1))
        for col in (2, 3, 4):
            item.setTextAlignment(col, Qt.AlignRight | Qt.AlignVCenter)
        return item

    def run_ids(self) -> list[str]:
        return [self.run_list.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.run_list.topLevelItemCount())]

    def run_row(self, run_id: str) -> list[str] | None:
        for i in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(i)
            if item.data(0, Qt.UserRole) == run_id:
                return [item.text(c) for c in range(len(RUN_COLUMNS))]
        return None

    def checked_runs(self) -> list[str]:
        out = []
        for i in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(i)
            if item.flags() & Qt.ItemIsUserCheckable and item.checkState(0) == Qt.Checked:
                out.append(item.data(0, Qt.UserRole))
        return out

    def set_overlay(self, run_id: str, on: bool) -> None:
        for i in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(i)
            if item.data(0, Qt.UserRole) == run_id and item.flags() & Qt.ItemIsUserCheckable:
                item.setCheckState(0, Qt.Checked if on else Qt.Unchecked)

    def _select_run(self, run_id: str | None) -> None:
        for i in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(i)
            if item.data(0, Qt.UserRole) == run_id:
                self.run_list.blockSignals(True)
                self.run_list.setCurrentItem(item)
                self.run_list.blockSignals(False)
                self._show_run(run_id)
                return
        self._show_run(None)

    def _on_run_selected(self) -> None:
        if self._live is not None:
            return   # the live run owns the curves while training
        items = self.run_list.selectedItems()
        if items:
            self._show_run(items[0].data(0, Qt.UserRole))

    def _show_run(self, run_id: str | None) -> None:
        if self._live is not None:
            return
        run = self.session.project.run(run_id) if run_id else None
        if run is not None and run.id != run_id:
            run = None
        self._shown_run = run.id if run is not None else None
        if run is None:
            self.plots.set_history({})
            self.curves_title.setText("<b>Curves</b>")
        else:
            self.plots.set_history(run.history, with_batches=run.id == self._batch_run)
            self.curves_title.setText(f"<b>Curves</b> · {run.id} ({STATUS_TEXT.get(run.status, run.status)})")
        self.plots.flush()

    def _on_run_checked(self, item, column) -> None:
        if column == 0:
            self._apply_overlays()

    def _apply_overlays(self) -> None:
        project = self.session.project
        wanted = {}
        checked = self.checked_runs()
        for run_id in checked:
            r = project.run(run_id)
            if r is not None and r.id == run_id and r.history:
                wanted[run_id] = r.history
        self.plots.set_overlays(wanted)
        self.run_table.set_overlaid(checked)

    # -- control ----------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        """From Start until the run's result (or error) has been handled (also repeats and resumes)."""
        return self._live is not None

    @property
    def is_sweeping(self) -> bool:
        return self._sweep is not None

    @property
    def busy(self) -> bool:
        """A job that trains is running: nothing else may start (one job per panel)."""
        return self._live is not None or self._sweep is not None

    def _prepare_start(self) -> bool:
        """The checks every training job shares; False (with a message) when it cannot start."""
        from nnstudio.errors import NnstudioError

        if self.busy or self.missing() is not None:
            return False
        project = self.session.project
        for key in ("run", "error", "job", "resume"):
            self.messages.clear(key)
        if project.path is None:
            self.messages.info("save-first", "Training writes the model and its history into the project's "
                                             "folder: save the project first.",
                               actions=[("Save As…", self._save_as)])
            return False
        self.messages.clear("save-first")
        try:
            project.training.validate()
        except NnstudioError as exc:
            self.messages.error("settings", exc.message)
            return False
        return True

    def _begin_live(self, kind: str, run_id: str, epochs: int, **extra) -> None:
        project = self.session.project
        self._job_project = project
        self._runs_snapshot = [id(r) for r in project.runs]
        self._live = {"kind": kind, "run_id": run_id, "epochs": epochs, "t0": time.monotonic(),
                      "epoch": 0, "batch": 0, "steps": None, "done": 0.0, "total": None, "frac0": 0.0,
                      "rate": None, "lr": None, "epochs_done": 0, "paused_at": None, "paused_s": 0.0,
                      "finished": [], **extra}
        self._shown_run = None
        self._batch_run = run_id
        self.plots.clear()
        self.curves_title.setText(f"<b>Curves</b> · {run_id} (live)")
        c = project.training
        device = "CPU" if c.device == "cpu" else (self.session.tf_info or {}).get("device", "…")
        self.device_label.setText(device)

    def _connect_live(self, job, on_partial) -> None:
        job.partial.connect(on_partial)
        job.batch.connect(self._on_batch)
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda: self._on_job_finished(job))
        job.message.connect(self._on_job_message)
        self._set_running(True)
        self.refresh_runs()
        self._update_progress()

    def start(self) -> bool:
        """Start training the project's model; False (with a message) when it cannot start."""
        from nnstudio.core.workflow import train_project

        if not self._prepare_start():
            return False
        project = self.session.project
        self._begin_live("train", project.next_run_id(), project.training.epochs)
        job = self.start_job(train_project, project, prepared=self.session.prepared,
                             on_done=self._on_trained, on_error=self._on_failed, name="train")
        self._connect_live(job, self._on_epoch)
        self.tabs.setCurrentIndex(0)
        return True

    def toggle_pause(self) -> None:
        if not self.is_training:
            return
        paused = not self.job.paused
        self.job.set_paused(paused)
        if paused:
            self._live["paused_at"] = time.monotonic()
        else:
            if self._live["paused_at"] is not None:
                self._live["paused_s"] += time.monotonic() - self._live["paused_at"]
            self._live["paused_at"] = None
            self.messages.clear("job")   # the worker's "Paused." note
        self._set_running(True)
        self._update_progress()

    def stop(self) -> None:
        """End after the current batch; the trained weights are kept and saved as a run."""
        if not self.is_training:
            return
        if self._live["paused_at"] is not None:
            self._live["paused_s"] += time.monotonic() - self._live["paused_at"]
            self._live["paused_at"] = None
        self.messages.clear("job")
        self.job.cancel()
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.state_label.setText("Stopping after this batch…")

    def _set_running(self, running: bool) -> None:
        """``running``: a training job (train, repeat, resume) owns the curves and the controls."""
        paused = running and self.job is not None and self.job.paused
        busy = self.busy
        self.start_button.setEnabled(not busy)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        st = self.style()
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(st.standardIcon(QStyle.SP_MediaPlay if paused else QStyle.SP_MediaPause))
        self.act_start.setEnabled(not busy)
        self.act_pause.setEnabled(running)
        self.act_stop.setEnabled(running)
        self._update_enabled()
        self._update_experiment_controls()

    def _update_experiment_controls(self) -> None:
        busy = self.busy
        can = not busy and self.missing() is None
        repeating = self._live is not None and self._live["kind"] == "repeat"
        self.repeat_view.set_running(repeating, can_start=can)
        self.sweep_view.set_running(self._sweep is not None, can_start=can)
        self.resume_button.setEnabled(can)
        self.run_table.set_actions_enabled(not busy)

    # -- live reports (GUI thread, buffered) ------------------------------------------------------
    def _on_epoch(self, obj) -> None:
        if self._live is None:
            return
        epoch, logs = int(obj["epoch"]), obj["logs"]
        self.plots.add_epoch(epoch, logs)
        self._live["epochs_done"] = epoch + 1
        self._live["lr"] = logs.get("learning_rate")
        self._schedule_progress()

    def _on_batch(self, d: dict) -> None:
        if self._live is None:
            return
        steps = max(int(d["steps"]), 1)
        self.plots.add_batch(d["step"] / steps, d["loss"])
        self._live.update(epoch=int(d["epoch"]), batch=int(d["batch"]), steps=steps,
                          rate=d.get("samples_per_s"))
        self._schedule_progress()

    def _on_job_message(self, text: str) -> None:
        # "Paused." (a repeat's runs: "run-0003: Paused.")
        if text == "Paused." or text.endswith(": Paused."):   # blocked after a batch: a state, not a warning
            if not (self.job is not None and self.job.paused):
                self.messages.clear("job")   # resumed before the note arrived
                return
            self.messages.info("job", "Paused after a batch; the optimizer state is kept. "
                                      "Press Resume to continue.")

    def _on_progress(self, done: float, total, text: str) -> None:
        if self._live is None:
            return
        self._live["done"] = done
        self._live["total"] = total
        self._live["text"] = text
        self._schedule_progress()

    def _schedule_progress(self) -> None:
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def _update_progress(self) -> None:
        live = self._live
        if live is None:
            return
        epochs = live["epochs"]
        steps = live["steps"]
        if steps:
            if live["epochs_done"] > live["epoch"]:
                # an epoch that has just ended shows full until the next one reports
                self.epoch_bar.setValue(1000)
                self.epoch_bar.setFormat(f"{live['epochs_done']} of {epochs} · done")
            else:
                self.epoch_bar.setValue(int(1000 * (live["batch"] + 1) / steps))
                self.epoch_bar.setFormat(f"{live['epoch'] + 1} of {epochs} · batch {live['batch'] + 1}/{steps}")
        total = live["total"]
        frac = live["done"] / total if total else 0.0
        kind = live["kind"]
        self.run_bar.setValue(int(1000 * min(frac, 1.0)))
        if kind == "repeat":
            self.run_bar.setFormat(f"{100 * frac:.0f}% · run {live['index'] + 1} of {live['n']}")
        else:
            self.run_bar.setFormat(f"{100 * frac:.0f}% · {live['epochs_done']} of {epochs} epochs")
        paused = self.job is not None and self.job.paused
        now = live["paused_at"] if live["paused_at"] is not None else time.monotonic()
        elapsed = now - live["t0"] - live["paused_s"]
        # a resumed run starts part-way: time left from the progress made since then
        gained = frac - live["frac0"]
        eta = elapsed * (1 - frac) / gained if gained > 0 else None
        self.eta_label.setText(f"{format_seconds(eta)} (elapsed {format_seconds(elapsed)})")
        if live["rate"]:
            self.speed_label.setText(f"{live['rate']:,.0f} samples/s")
        if live["lr"] is not None:
            self.lr_label.setText(f"{live['lr']:.3g}")
        if paused:
            state = "Paused — press Resume to continue"
        elif self.job is not None and self.job.task.stop.is_set():
            state = "Stopping after this batch…"
        elif kind == "repeat":
            state = f"Repeat ×{live['n']}: training {live['run_id']} ({live['index'] + 1} of {live['n']})"
        elif kind == "resume":
            state = f"Resuming {live['run_id']}"
        else:
            state = f"Training {live['run_id']}"
        self.state_label.setText(state)
        where = f"epoch {min(live['epoch'] + 1, epochs)}/{epochs}"
        self.status.emit(f"{state} · {where}")
        if kind == "repeat":
            self.repeat_view.set_progress(live["done"], total, f"{state} · {where}")

    # -- end of a run -----------------------------------------------------------------------------
    def _on_trained(self, record) -> None:
        resumed = self._live is not None and self._live["kind"] == "resume"
        self._finish_live()
        if self._closing:
            return
        project = self._job_project
        self.messages.clear("job")
        where = f"{record.id}: {record.epochs_run} epochs in {format_seconds(record.duration_s)}"
        if resumed:
            where += " (resumed)"
        key, best = best_value(record)
        best_text = "" if best is None else f", best {key} {best:.4g} (epoch {record.best_epoch + 1})"
        if record.status == "nan":
            self.messages.warning("run", f"{record.message} ({where}.)")
        elif record.status == "stopped":
            self.messages.info("run", f"{record.message} ({where}{best_text}.)")
        else:
            self.messages.info("run", f"Training completed — {where}{best_text}.")
        self.state_label.setText({"completed": "Completed", "stopped": "Stopped",
                                  "nan": "Stopped: NaN loss"}.get(record.status, record.status))
        self.epoch_bar.setValue(1000)
        self.epoch_bar.setFormat(f"{record.epochs_run} of {record.settings.get('epochs', '?')} · done")
        self.run_bar.setValue(1000 if record.status == "completed" else self.run_bar.value())
        self.save_project(project, "The run finished")
        self._shown_run = record.id
        if project is self.session.project:
            self.session.run_finished.emit(record)   # -> refresh(): run list, curves of this run

    def _on_failed(self, exc) -> None:
        self._finish_live()
        self.state_label.setText("Failed")
        self.show_error(exc)
        if not self._closing:
            self.refresh_runs()
            self.refresh_experiments()

    def _on_job_finished(self, job) -> None:
        if job is not self.job:
            return   # a finished signal from an earlier run, late in the queue
        if self._live is not None:   # neither result nor error arrived (shut down)
            self._finish_live()
        self._set_running(False)

    def _finish_live(self) -> None:
        self._progress_timer.stop()
        self._live = None
        self.plots.flush()
        self._set_running(False)

    def _save_as(self) -> None:
        w = self.window()
        if hasattr(w, "save_as"):
            ok = w.save_as()
        else:   # the panel on its own (preview)
            path, _ = QFileDialog.getSaveFileName(self, "Save project", "", "nnstudio projects (*.nnproj)")
            ok = bool(path) and bool(self.session.project.save(path))
        if ok:
            self.messages.clear("save-first")

    # -- experiments: the views beside the curves -------------------------------------------------
    def refresh_experiments(self) -> None:
        """Run table, groups, the resumable run and the sweep form, from the session's project."""
        project = self.session.project
        if self._project_seen is not project:   # another project: forget the last one's sweep
            self._project_seen = project
            self._sweep_loaded_for = None
            if self._sweep is None:
                self.sweep_view.begin([])
                self.sweep_view.set_state("")
                self.sweep_view.progress.setFormat("—")
        self.refresh_run_table()
        self.refresh_groups()
        self.refresh_resumable()
        self.sweep_view.set_model(project.model)
        self.sweep_view.set_project_epochs(project.training.epochs)
        self._update_experiment_controls()
        if self.tabs.currentWidget() is self.sweep_view:
            self._load_sweep_once()

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.sweep_view:
            self._restore_sweep_form()
            self._load_sweep_once()

    def _settings(self):
        w = self.window()
        return getattr(w, "settings", None) if w is not self else None

    # run table
    def refresh_run_table(self) -> None:
        from nnstudio.core.experiments.runs import run_rows
        from nnstudio.errors import NnstudioError

        try:
            rows = run_rows(self.session.project, include_hidden=self.run_table.show_hidden_check.isChecked())
        except NnstudioError as exc:
            self.messages.error("runs", exc.message)
            rows = []
        self.run_table.set_rows(rows, overlaid=self.checked_runs())

    def rename_run(self, run_id: str, name: str) -> None:
        from nnstudio.core.experiments.runs import rename_run

        self._run_action(rename_run, run_id, name)
        self.refresh_runs()

    def annotate_run(self, run_id: str, note: str) -> None:
        from nnstudio.core.experiments.runs import annotate_run

        self._run_action(annotate_run, run_id, note)
        self.refresh_runs()

    def hide_runs(self, run_ids: list[str], hidden: bool = True) -> None:
        from nnstudio.core.experiments.runs import hide_run

        if self.busy:
            return
        for rid in run_ids:
            if hidden:
                self.set_overlay(rid, False)
            self._run_action(hide_run, rid, hidden)
        self.refresh_runs()
        self.refresh_run_table()

    def _run_action(self, fn, *args) -> bool:
        from nnstudio.errors import NnstudioError

        try:
            fn(self.session.project, *args)
        except (NnstudioError, OSError) as exc:
            self.messages.error("runs", getattr(exc, "message", None) or str(exc))
            return False
        self.messages.clear("runs")
        return True

    def delete_runs(self, run_ids: list[str]) -> None:
        """Ask (in the message bar, not a dialog) before deleting runs and their files."""
        if not run_ids or self.busy:
            return
        project = self.session.project
        self._pending_delete = list(run_ids)
        what = ", ".join(run_ids) if len(run_ids) <= 4 else f"{len(run_ids)} runs"
        where = project.folder / "runs" if project.folder is not None else "the project folder"
        self.messages.warning("delete", f"Delete {what} and {'its' if len(run_ids) == 1 else 'their'} files in "
                                        f"{where}? This cannot be undone.",
                              actions=[("Delete", self.confirm_delete), ("Keep", self.cancel_delete)])

    def cancel_delete(self) -> None:
        self._pending_delete = []
        self.messages.clear("delete")

    def confirm_delete(self) -> list[str]:
        from nnstudio.core.experiments.runs import delete_run

        ids, self._pending_delete = self._pending_delete, []
        self.messages.clear("delete")
        if self.busy:
            return []
        project = self.session.project
        deleted = []
        for rid in ids:
            self.set_overlay(rid, False)
            if self._run_action(delete_run, rid):
                deleted.append(rid)
        if self._shown_run in deleted:
            self._shown_run = None
        if deleted:
            self.save_project(project, "The runs were deleted")   # the project file must not name runs whose files are gone
            self.messages.info("runs", f"Deleted {', '.join(deleted)}.")
        self.refresh_runs()
        self.refresh_experiments()
        return deleted

    def export_csv(self, path=None):
        """Write the run table (hidden runs included) as CSV; asks for a file name without ``path``."""
        from pathlib import Path

        from nnstudio.core.experiments.runs import export_runs_csv

        project = self.session.project
        if path is None:
            start = str(project.folder / "runs.csv") if project.folder is not None else "runs.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Export runs as CSV", start, "CSV files (*.csv)")
            if not path:
                return None
        if not self._run_action(export_runs_csv, Path(path)):
            return None
        self.messages.info("runs", f"Wrote {len(project.runs)} runs to {path}.")
        return Path(path)

    # repeat over seeds
    def start_repeat(self, n: int | None = None) -> bool:
        """Train the current settings with ``n`` seeds in the background (a group of runs)."""
        from nnstudio.core.experiments.repeat import repeat_project

        n = int(n or self.repeat_view.n_spin.value())
        if not self._prepare_start():
            return False
        project = self.session.project
        self._begin_live("repeat", project.next_run_id(), project.training.epochs, n=n, index=0,
                         group=None, group_a=self.repeat_view.group_a())
        self.curves_title.setText(f"<b>Curves</b> · {self._live['run_id']} (live, 1 of {n})")
        self.repeat_view.reset_progress("starting…")
        prepared = self.session.prepared
        evaluate = self.repeat_view.test_check.isChecked() and prepared.count("test") > 0
        job = self.start_job(repeat_project, project, n, prepared=prepared, evaluate=evaluate,
                             on_done=self._on_repeated, on_error=self._on_failed, name="repeat")
        self._connect_live(job, self._on_repeat_partial)
        return True

    def _on_repeat_partial(self, obj) -> None:
        live = self._live
        if live is None or not isinstance(obj, dict):
            return
        if "run_done" in obj:
            live["finished"].append(obj["run_done"])
            self._on_group_grew(obj["run_done"])
            return
        rid = obj.get("run_id")
        if rid is not None and rid != live["run_id"]:   # the next seed's run has started
            live.update(run_id=rid, index=int(obj.get("run", 0)), epoch=0, batch=0, steps=None, epochs_done=0)
            self._batch_run = rid
            self.plots.clear()
            self.curves_title.setText(f"<b>Curves</b> · {rid} (live, {live['index'] + 1} of {live['n']})")
            self.refresh_runs()
        if "epoch" in obj:
            self._on_epoch(obj)

    def _on_group_grew(self, run_id: str) -> None:
        """A run of the repeat finished: the group's band gains it at once."""
        from nnstudio.core.experiments.runs import load_store
        from nnstudio.errors import NnstudioError

        try:
            gid = load_store(self.session.project)["runs"].get(run_id, {}).get("group")
        except NnstudioError:
            gid = None
        if gid and self._live is not None:
            self._live["group"] = gid
            self._show_new_group(gid, self._live.get("group_a"))
        self.refresh_runs()
        self.refresh_run_table()

    def _show_new_group(self, gid: str, a_before: str | None) -> None:
        """A new group is shown as A, or as B beside the group that was shown before."""
        if a_before and a_before != gid:
            self.refresh_groups(a=a_before, b=gid)
        else:
            self.refresh_groups(a=gid)

    def _on_repeated(self, result) -> None:
        a_before = self._live.get("group_a") if self._live is not None else None
        self._finish_live()
        if self._closing:
            return
        project = self._job_project
        self.save_project(project, "The run finished")
        done = [r for r in result.runs if r.status == "completed"]
        n = len(result.runs)
        stat = result.summary.metrics.get("val_loss")
        spread = f"; validation loss {stat.text()}" if stat is not None and stat.mean is not None else ""
        if result.cancelled:
            self.messages.info("run", f"Repeat stopped: {result.group} has {len(done)} completed of {n} runs"
                                      f"{spread}.")
        else:
            self.messages.clear("job")
            self.messages.info("run", f"Repeat ×{n} done: {result.group}, {len(done)} completed runs{spread}.")
        self.state_label.setText("Repeat stopped" if result.cancelled else "Repeat done")
        self._show_new_group(result.group, a_before)
        self.repeat_view.progress.setValue(1000 if not result.cancelled else self.repeat_view.progress.value())
        self.repeat_view.progress.setFormat(f"{len(done)} of {n} runs completed")
        if result.runs and project is self.session.project:
            last = result.runs[-1]
            self._shown_run = last.id
            self.session.run_finished.emit(last)   # -> refresh(): run list, curves of the last run
        self.tabs.setCurrentWidget(self.repeat_view)

    def refresh_groups(self, a: str | None = None, b: str | None = None) -> None:
        from nnstudio.core.experiments.runs import load_store
        from nnstudio.errors import NnstudioError

        try:
            groups = load_store(self.session.project)["groups"]
        except NnstudioError:
            groups = {}
        items = []
        for gid, g in groups.items():
            n = len(g.get("runs", []))
            items.append((gid, f"{gid} ({n} run{'s' if n != 1 else ''})"))
        self.repeat_view.set_groups(items, a=a, b=b)
        self._show_groups()

    def _show_groups(self) -> None:
        from nnstudio.core.experiments.repeat import load_group
        from nnstudio.core.experiments.runs import settings_diff
        from nnstudio.errors import NnstudioError

        project = self.session.project
        a, b = self.repeat_view.group_a(), self.repeat_view.group_b()

        def load(gid):
            if not gid:
                return None
            try:
                return gid, load_group(project, gid)
            except NnstudioError:
                return None

        sa = load(a)
        sb = load(b) if b != a else None
        differs = ""
        if sa is not None and sb is not None and sa[1].runs and sb[1].runs:
            ra, rb = project.run(sa[1].runs[0]), project.run(sb[1].runs[0])
            changes = [c for c in settings_diff(ra, rb) if not c.startswith("seed ")]
            differs = ("B differs from A in: " + "; ".join(changes) if changes else
                       "A and B have the same settings: only the seeds differ.")
        self.repeat_view.show_summaries(sa, sb, differs)

    # resume a stopped or crashed run
    def refresh_resumable(self) -> None:
        from nnstudio.core.experiments.resume import find_resumable

        try:
            self._resumable = find_resumable(self.session.project)
        except (OSError, ValueError):
            self._resumable = []
        if not self._resumable:
            self.resume_row.setVisible(False)
            return
        rec = self._resumable[-1]
        total = (rec.settings or {}).get("epochs", "?")
        self.resume_button.setText(f"Resume {rec.id}")
        self.resume_button.setToolTip(f"{rec.id} {'stopped' if rec.status == 'stopped' else 'did not finish'} after "
                                      f"{rec.epochs_run} of {total} epochs: continue it from its last checkpoint, "
                                      "with its optimizer state and its curves")
        self.resume_row.setVisible(True)

    def resume_run(self, run_id: str | None = None, epochs: int | None = None) -> bool:
        """Continue ``run_id`` (default: the latest resumable run) in the background."""
        from nnstudio.core.experiments.resume import find_resumable, resume_project

        if not self._prepare_start():
            return False
        project = self.session.project
        candidates = find_resumable(project)
        rec = next((r for r in candidates if r.id == run_id), None) if run_id else \
            (candidates[-1] if candidates else None)
        if rec is None:
            self.messages.info("resume", f"{run_id or 'No run'} cannot be resumed: only a run that stopped or "
                                         "crashed before its last epoch, with a checkpoint, can.")
            self.refresh_resumable()
            return False
        total = epochs or int((rec.settings or {}).get("epochs", rec.epochs_run + 1))
        self._begin_live("resume", rec.id, total, epoch=rec.epochs_run, epochs_done=rec.epochs_run,
                         frac0=rec.epochs_run / max(total, 1))
        self.plots.set_history(rec.history, with_batches=True)   # the curves continue from here
        self.plots.flush()
        self.curves_title.setText(f"<b>Curves</b> · {rec.id} (resumed at epoch {rec.epochs_run + 1}, live)")
        job = self.start_job(resume_project, project, rec.id, epochs=epochs, prepared=self.session.prepared,
                             on_done=self._on_trained, on_error=self._on_failed, name="resume")
        self._connect_live(job, self._on_epoch)
        self.resume_row.setVisible(False)
        self.tabs.setCurrentIndex(0)
        return True

    # sweeps
    def start_sweep(self) -> bool:
        """Start the sweep the form describes (the same sweep again resumes its study)."""
        from nnstudio.core.experiments.sweep import check_params, parse_param, run_sweep
        from nnstudio.errors import NnstudioError

        if not self._prepare_start():
            return False
        project = self.session.project
        budget = self.sweep_view.budget()
        try:
            params = [parse_param(p) for p in self.sweep_view.params()]
            check_params(params, project.model)
            if budget["trials"] is None and budget["timeout"] is None:
                raise NnstudioError("Give the sweep a budget: a number of trials, a time limit, or both.")
        except NnstudioError as exc:
            self.messages.error("sweep", exc.message)
            return False
        self.messages.clear("sweep")
        settings = self._settings()
        if settings is not None:
            settings.setValue(SWEEP_FORM_KEY, json.dumps(self.sweep_view.form_state()))
        self._sweep_form_restored = True   # the form on screen is the one to keep
        self._sweep = {"seen": set(), "params": params, "t0": time.monotonic()}
        self._sweep_loaded_for = self._project_key()
        self.sweep_view.begin([p.name for p in params])
        job = self.start_job(run_sweep, project, params, prepared=self.session.prepared,
                             on_done=self._on_swept, on_error=self._on_sweep_failed, name="sweep", **budget)
        job.partial.connect(self._on_sweep_partial)
        job.progress.connect(self._on_sweep_progress)
        job.finished.connect(lambda: self._on_sweep_finished(job))
        for bar in (self.epoch_bar, self.run_bar):   # they belong to single runs
            bar.setValue(0)
            bar.setFormat("—")
        self.state_label.setText("Sweeping — see the Sweep tab")
        self._set_running(False)
        self.tabs.setCurrentWidget(self.sweep_view)
        return True

    def cancel_sweep(self) -> None:
        if self._sweep is not None and self.job is not None and self.job.running:
            self.job.cancel()
            self.sweep_view.set_state("Stopping: the current trial ends after its batch; finished trials "
                                      "are kept…")
            self.sweep_view.cancel_button.setEnabled(False)

    def _on_sweep_partial(self, obj) -> None:
        if self._sweep is None or not isinstance(obj, dict):
            return
        if "trial_done" in obj:
            d = obj["trial_done"]
            self._sweep["seen"].add(d["number"])
            self.sweep_view.add_trial(d)

    def _on_sweep_progress(self, done: float, total, text: str) -> None:
        if self._sweep is None:
            return
        self.sweep_view.set_progress(done, total, text)
        self.status.emit(f"Sweep: {text}")

    def _on_swept(self, result) -> None:
        if self._closing:
            return
        seen = self._sweep["seen"] if self._sweep is not None else set()
        earlier = [t for t in result.trials if t["number"] not in seen and t["state"] in ("complete", "pruned")]
        n = len(earlier)
        resumed = f"Resumed {n} finished trial{'s' if n != 1 else ''} of this study from before." if n else ""
        self.sweep_view.set_result(result, resumed)
        c = result.counts
        parts = [f"{c[k]} {k}" for k in ("complete", "pruned", "failed") if c.get(k)]
        text = f"Sweep {result.study}: {', '.join(parts) or 'no trials'}"
        if n:
            text += f" (resumed {n} finished trial{'s' if n != 1 else ''})"
        if result.cancelled:
            text += ". Stopped: start the same sweep again to resume it."
        else:
            self.messages.clear("job")   # trial failures were noted while it ran; the table keeps them
            text += "."
        self.messages.info("sweep", text)
        self.sweep_view.set_state("Stopped" if result.cancelled else "Finished")

    def _on_sweep_failed(self, exc) -> None:
        self.sweep_view.set_state("Failed")
        self.show_error(exc)

    def _on_sweep_finished(self, job) -> None:
        if job is not self.job:
            return
        self._sweep = None
        self.state_label.setText("Idle")
        self._set_running(False)
        if not self._closing:
            self.refresh_resumable()

    def _project_key(self):
        project = self.session.project
        return (id(project), str(project.path))

    def _load_sweep_once(self) -> None:
        """Show the project's latest sweep the first time the Sweep tab is opened (read in the
        background: Optuna stays off the GUI thread)."""
        project = self.session.project
        key = self._project_key()
        if self._sweep_loaded_for == key or self.busy or project.folder is None:
            return
        self._sweep_loaded_for = key
        if not (project.folder / "sweeps.db").exists():
            return

        def loaded(result):
            if result is not None and self._sweep is None and self._project_key() == key \
                    and self.sweep_view.result is None:
                self.sweep_view.set_result(result, "The latest sweep of this project; start the same sweep "
                                                   "to continue it.")

        self.start_job(_latest_sweep, project, on_done=loaded, name="load-sweep",
                       on_error=lambda exc: self.messages.warning("sweep", f"Could not read the earlier sweeps: "
                                                                           f"{getattr(exc, 'message', exc)}"))

    def _restore_sweep_form(self) -> None:
        if self._sweep_form_restored:
            return
        settings = self._settings()
        if settings is None:
            return
        self._sweep_form_restored = True
        raw = settings.value(SWEEP_FORM_KEY, "")
        try:
            state = json.loads(raw) if raw else None
        except (TypeError, ValueError):
            state = None
        if isinstance(state, dict):
            self.sweep_view.set_model(self.session.project.model)
            self.sweep_view.set_form_state(state)

    def apply_best(self) -> bool:
        """Copy the best trial's settings into the project's model and training settings."""
        from nnstudio.core.experiments.sweep import best_settings
        from nnstudio.errors import NnstudioError

        result = self.sweep_view.result
        if result is None or self.busy:
            return False
        project = self.session.project
        try:
            spec, config = best_settings(project, result)
        except NnstudioError as exc:
            self.messages.error("sweep", exc.message)
            return False
        project.model, project.training = spec, config
        project.mark_changed("model")
        project.mark_changed("training")
        self.session.model_changed.emit()
        self.load_settings()
        best = result.best
        ps = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items())
        self.messages.info("sweep", f"Applied trial {best['number']}'s settings ({ps}), chosen by the validation "
                                    "loss, to the model and the training settings; train a run to use them.")
        return True

    def shutdown(self, msecs: int = 30000) -> None:
        """Stop training (or a sweep's trial) after the current batch, wait for the worker, keep
        the runs on disk. A stopped sweep resumes when the same sweep is started again."""
        was_training = self.is_training
        project = self._job_project
        self._closing = True
        super().shutdown(msecs)
        self._progress_timer.stop()
        # the runs are already in the project (the worker added or replaced them); the result
        # signal may never be delivered once the window is closing, so write the project file now
        if was_training and project is not None and project.path is not None \
                and [id(r) for r in project.runs] != self._runs_snapshot:
            try:
                project.save()
            except (OSError, ValueError) as exc:   # closing: report, never block the exit
                log.warning("could not save %s after stopping training: %s", project.path, exc)


if __name__ == "__main__":
    import sys
    import tempfile
    from pathlib import Path

    import numpy as np

    from nnstudio.core.data.prepared import PreparedData
    from nnstudio.core.model import make_template
    from nnstudio.gui.widgets.plot_theme import preview_application
    from nnstudio.gui.session import Session
    from nnstudio.gui.workers import Job

    app = preview_application()  # --dark for the dark theme
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=n)).astype("float32")
    cut = [0, 1800, 2250, 2550, n]
    splits = ("train", "val", "cal", "test")
    prepared = PreparedData(kind="table", task="regression",
                            x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                            y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                            index={s: np.arange(cut[i], cut[i + 1]) for i, s in enumerate(splits)},
                            feature_names=[f"x{i}" for i in range(8)], target_name="y",
                            target_scaler={"mean": 0.0, "std": 1.0})
    session = Session()
    session.project.model = make_template("mlp-regression", prepared.input_shape, "regression")
    session.project.training.epochs = 40
    session.project.save(Path(tempfile.mkdtemp(prefix="nnstudio-train-preview-")) / "preview.nnproj")
    session.set_prepared(prepared)
    panel = TrainPanel(session)
    panel.resize(1200, 780)
    panel.show()

    def tf_loaded(info):
        session.tf_info = info
        panel.on_tf_ready(info)

    from nnstudio.core.training.tf_runtime import import_tensorflow

    loader = Job(lambda task: import_tensorflow())
    loader.returned.connect(tf_loaded)
    loader.start()
    sys.exit(app.exec())
