"""The Train panel: settings, Start / Pause / Stop, live curves, progress and the project's runs.

Training runs in a worker (``core.workflow.train_project`` through :meth:`Panel.start_job`); the
GUI thread never touches TensorFlow. Epoch and batch reports arrive as Qt signals, go into
buffers, and are drawn by timers at most ten times a second.
"""
from __future__ import annotations

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
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.panels.base import Panel

log = logging.getLogger(__name__)

PROGRESS_MS = 100           # progress widgets refresh at most ten times a second
RUN_COLUMNS = ("Run", "Status", "Epochs", "Best val loss", "Duration")
STATUS_TEXT = {"running": "running…", "completed": "completed", "stopped": "stopped",
               "nan": "NaN loss", "failed": "failed"}
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("gpu", "GPU"))


def format_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    s = round(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


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
        from nnstudio.gui.widgets.live_plot import LivePlots

        self._loading = False
        self._live = None            # state of the running job
        self._job_project = None
        self._runs_before = 0
        self.last_record = None
        self._shown_run = None
        self._batch_run = None       # the run whose per-batch losses the plots hold
        self._closing = False

        root = QSplitter(Qt.Horizontal)
        root.setChildrenCollapsible(False)

        # left: settings, controls, progress
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 6, 0)
        lcol.addWidget(self._build_settings())
        lcol.addLayout(self._build_controls())
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
        root.addWidget(right)
        root.setStretchFactor(0, 0)
        root.setStretchFactor(1, 1)

        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._update_progress)
        self._build_actions()
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
        running = self.is_training
        self.settings_box.setEnabled(not running)
        c = self.session.project.training
        self.patience_spin.setEnabled(c.early_stopping)
        self.restore_check.setEnabled(c.early_stopping)
        self.reduce_patience_spin.setEnabled(c.reduce_lr)
        self.reduce_factor_spin.setEnabled(c.reduce_lr)
        self.mixed_check.setEnabled(bool(self.gpus) and c.device != "cpu")

    # -- refresh from the session -----------------------------------------------------------------
    def refresh(self) -> None:
        if self.is_training:
            return
        self.load_settings()
        self.refresh_runs()

    def refresh_runs(self, select: str | None = None) -> None:
        project = self.session.project
        checked = set(self.checked_runs())
        current = select or self._shown_run
        self.run_list.blockSignals(True)
        try:
            self.run_list.clear()
            for r in reversed(project.runs):   # newest first
                self.run_list.addTopLevelItem(self._run_item(r, r.id in checked))
            if self._live is not None:
                item = QTreeWidgetItem([self._live["run_id"], STATUS_TEXT["running"], "", "", ""])
                item.setData(0, Qt.UserRole, self._live["run_id"])
                font = item.font(0)
                font.setItalic(True)
                for col in range(2):
                    item.setFont(col, font)
                self.run_list.insertTopLevelItem(0, item)
        finally:
            self.run_list.blockSignals(False)
        ids = [r.id for r in project.runs]
        if current not in ids:
            current = project.active_run if project.active_run in ids else (ids[-1] if ids else None)
        if self._live is None:
            self._select_run(current)
        self._apply_overlays()

    def _run_item(self, r, checked: bool) -> QTreeWidgetItem:
        key, best = best_value(r)
        best_text = "—" if best is None else f"{best:.4g}" + ("" if key == "val_loss" else " (train)")
        item = QTreeWidgetItem([r.id, STATUS_TEXT.get(r.status, r.status), str(r.epochs_run), best_text,
                                format_seconds(r.duration_s)])
        item.setData(0, Qt.UserRole, r.id)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(0, Qt.Checked if checked else Qt.Unchecked)
        tip = [f"started {r.started} on {r.device}"]
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
        for run_id in self.checked_runs():
            r = project.run(run_id)
            if r is not None and r.id == run_id and r.history:
                wanted[run_id] = r.history
        self.plots.set_overlays(wanted)

    # -- control ----------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        """From Start until the run's result (or error) has been handled."""
        return self._live is not None

    def start(self) -> bool:
        """Start training the project's model; False (with a message) when it cannot start."""
        from nnstudio.core.workflow import train_project
        from nnstudio.errors import NnstudioError

        if self.is_training or self.missing() is not None:
            return False
        project = self.session.project
        self.messages.clear("run")
        self.messages.clear("error")
        self.messages.clear("job")
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
        c = project.training
        self._job_project = project
        self._runs_before = len(project.runs)
        self._live = {"run_id": project.next_run_id(), "epochs": c.epochs, "t0": time.monotonic(),
                      "epoch": 0, "batch": 0, "steps": None, "done": 0.0, "total": None,
                      "rate": None, "lr": None, "epochs_done": 0, "paused_at": None, "paused_s": 0.0}
        self._shown_run = None
        self._batch_run = self._live["run_id"]
        self.plots.clear()
        self.curves_title.setText(f"<b>Curves</b> · {self._live['run_id']} (live)")
        device = "CPU" if c.device == "cpu" else (self.session.tf_info or {}).get("device", "…")
        self.device_label.setText(device)
        job = self.start_job(train_project, project, prepared=self.session.prepared,
                             on_done=self._on_trained, on_error=self._on_failed, name="train")
        job.partial.connect(self._on_epoch)
        job.batch.connect(self._on_batch)
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda: self._on_job_finished(job))
        job.message.connect(self._on_job_message)
        self._set_running(True)
        self.refresh_runs()
        self._update_progress()
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
        paused = running and self.job is not None and self.job.paused
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        st = self.style()
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(st.standardIcon(QStyle.SP_MediaPlay if paused else QStyle.SP_MediaPause))
        self.act_start.setEnabled(not running)
        self.act_pause.setEnabled(running)
        self.act_stop.setEnabled(running)
        self._update_enabled()
        if running:
            self.settings_box.setEnabled(False)

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
        if text == "Paused.":   # the worker is blocked after a batch: a state, not a warning
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
        self.run_bar.setValue(int(1000 * min(frac, 1.0)))
        self.run_bar.setFormat(f"{100 * frac:.0f}% · {live['epochs_done']} of {epochs} epochs")
        paused = self.job is not None and self.job.paused
        now = live["paused_at"] if live["paused_at"] is not None else time.monotonic()
        elapsed = now - live["t0"] - live["paused_s"]
        eta = elapsed * (1 - frac) / frac if frac > 0 else None
        self.eta_label.setText(f"{format_seconds(eta)} (elapsed {format_seconds(elapsed)})")
        if live["rate"]:
            self.speed_label.setText(f"{live['rate']:,.0f} samples/s")
        if live["lr"] is not None:
            self.lr_label.setText(f"{live['lr']:.3g}")
        if paused:
            state = "Paused — press Resume to continue"
        elif self.job is not None and self.job.task.stop.is_set():
            state = "Stopping after this batch…"
        else:
            state = f"Training {live['run_id']}"
        self.state_label.setText(state)
        self.status.emit(f"{state} · epoch {min(live['epoch'] + 1, epochs)}/{epochs}")

    # -- end of a run -----------------------------------------------------------------------------
    def _on_trained(self, record) -> None:
        self._finish_live()
        if self._closing:
            return
        self.last_record = record
        project = self._job_project
        self.messages.clear("job")
        where = f"{record.id}: {record.epochs_run} epochs in {format_seconds(record.duration_s)}"
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
        self._save_project(project)
        self._shown_run = record.id
        if project is self.session.project:
            self.session.run_finished.emit(record)   # -> refresh(): run list, curves of this run
            self.refresh_runs(select=record.id)

    def _on_failed(self, exc) -> None:
        self._finish_live()
        self.state_label.setText("Failed")
        self.show_error(exc)
        if not self._closing:
            self.refresh_runs()

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

    def _save_project(self, project) -> None:
        from nnstudio.errors import NnstudioError

        w = self.window()
        if project is self.session.project and hasattr(w, "save") and getattr(w, "session", None) is self.session:
            w.save()
            return
        try:
            project.save()
        except (NnstudioError, OSError) as exc:
            self.messages.error("save", f"The run finished but the project could not be saved: {exc}")

    def _save_as(self) -> None:
        w = self.window()
        if hasattr(w, "save_as"):
            ok = w.save_as()
        else:   # the panel on its own (preview)
            path, _ = QFileDialog.getSaveFileName(self, "Save project", "", "nnstudio projects (*.nnproj)")
            ok = bool(path) and bool(self.session.project.save(path))
        if ok:
            self.messages.clear("save-first")

    def shutdown(self, msecs: int = 30000) -> None:
        """Stop training after the current batch, wait for the worker, keep the run on disk."""
        was_training = self.is_training
        project = self._job_project
        self._closing = True
        super().shutdown(msecs)
        self._progress_timer.stop()
        # the run is already in the project (the worker added it); its result signal may never be
        # delivered once the window is closing, so write the project file now
        if was_training and project is not None and project.path is not None \
                and len(project.runs) > self._runs_before:
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
    from nnstudio.gui.app import configure_pyqtgraph, make_application
    from nnstudio.gui.session import Session
    from nnstudio.gui.workers import Job

    app = make_application()
    configure_pyqtgraph()
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

    from nnstudio.core.tfload import import_tensorflow

    loader = Job(lambda task: import_tensorflow())
    loader.returned.connect(tf_loaded)
    loader.start()
    sys.exit(app.exec())
