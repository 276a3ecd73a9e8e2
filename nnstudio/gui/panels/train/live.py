"""Live training: the settings form, Start / Pause / Stop / Resume, the progress box and the live
curves of the one job that trains (a run, a resumed run, or the runs of a repeat).

Epoch and batch reports arrive as Qt signals, go into buffers, and are drawn by timers at most ten
times a second; the GUI thread never touches TensorFlow.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_count, fmt_number, fmt_percent, fmt_seconds
from nnstudio.gui.panels.train.live_plot import LivePlots
from nnstudio.gui.panels.train.run_table import STATUS_TEXT, best_loss

PROGRESS_MS = 100           # progress widgets refresh at most ten times a second
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("gpu", "GPU"))

AUGMENTATIONS = (("auto", "Automatic: sky symmetries for square images"), ("none", "None"),
                 ("sky", "Sky symmetries (8 flips and quarter turns)"))
AUGMENT_TIP = ("Training batches only (never validation, calibration or test): each cutout is shown in one of "
               "its 8 exact flips and quarter turns, drawn afresh every epoch with the run's seed. A cutout "
               "has no preferred orientation on the sky, so this teaches the network that. Turn it off when "
               "the label depends on handedness (e.g. the winding of spiral arms).")
CLASS_WEIGHTS = (("auto", "Automatic: balanced past 5:1"), ("none", "None"), ("balanced", "Balanced"))
WEIGHT_TIP = ("Balanced weights count each class as much as the others in the loss (n / (K · n_class)), so a "
              "rare class is still learnt. They shift the probabilities: the threshold and the calibration "
              "are then read on the validation split.")
SCHEDULES = (("auto", "Automatic: warm-up + cosine for images"), ("constant", "Constant"),
             ("cosine", "Warm-up, then cosine decay"))
SCHEDULE_TIP = ("How the learning rate moves during a run. Warm-up + cosine: it climbs from a tenth of the rate "
                "over the first epochs (up to 3), then falls along a cosine to 1% by the last epoch, so late "
                "epochs refine instead of wander. Such a run goes its full length and keeps its best "
                "validation epoch: early stopping's patience and reduce-on-plateau do not apply. Automatic "
                "uses it for images (whose validation scores jump from epoch to epoch at a constant rate) "
                "and a constant rate for tables.")
RESIDUAL_TIP = ("The project's physical formula, fitted on the training split, is built into the model and the "
                "network learns only what it misses: predictions are formula + network. Diagnostics shows the "
                "formula alone beside it.")


class _FormScroll(QScrollArea):
    """A vertical scroller that is never narrower than its form (plus a scroll bar)."""

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        w = self.widget()
        if w is not None:
            hint.setWidth(w.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2)
        return hint


class LiveTraining(QObject):
    """The controls column (:attr:`column`) and the curves (:attr:`curves`) of the Train panel.

    The panel lends its session, message bar and its one background job; the experiments start
    their repeats through :meth:`begin` / :meth:`watch` so a repeat's runs train live here too.
    """

    started = Signal()                    # a training job began (its run joins the run list)
    running_changed = Signal()            # a training job began or ended, paused or resumed
    progress_shown = Signal(float, object, str)   # done, total, state line (drawn, throttled)

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.session = panel.session
        self.messages = panel.messages
        self._loading = False
        self.state = None            # the running training job: train, repeat or resume
        self.job_project = None
        self.runs_snapshot = None    # the project's run records when the job started
        self.shown_run = None
        self.batch_run = None        # the run whose per-batch losses the plots hold
        self._resumable = []

        self.column = self._build_column()
        self.curves = self._build_curves()
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self.update_progress)

    @property
    def running(self) -> bool:
        """From Start until the run's result (or error) has been handled (also repeats and resumes)."""
        return self.state is not None

    # -- layout ---------------------------------------------------------------------------------
    def _build_column(self) -> QWidget:
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
        return scroll

    def _build_curves(self) -> QWidget:
        box = QWidget()
        pv = QVBoxLayout(box)
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
        return box

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
        self.schedule_combo = QComboBox()
        for value, text in SCHEDULES:
            self.schedule_combo.addItem(text, value)
        self.schedule_combo.setToolTip(SCHEDULE_TIP)
        form.addRow("Schedule", self.schedule_combo)

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
        self.augment_combo = QComboBox()
        for value, text in AUGMENTATIONS:
            self.augment_combo.addItem(text, value)
        self.augment_combo.setToolTip(AUGMENT_TIP)
        form.addRow("Augmentation", self.augment_combo)
        self.weight_combo = QComboBox()
        for value, text in CLASS_WEIGHTS:
            self.weight_combo.addItem(text, value)
        self.weight_combo.setToolTip(WEIGHT_TIP)
        form.addRow("Class weights", self.weight_combo)
        self.residual_check = QCheckBox("Learn what the formula misses")
        self.residual_check.setToolTip(RESIDUAL_TIP)
        form.addRow("", self.residual_check)

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
        self.residual_check.toggled.connect(lambda v: self._set("residual", bool(v)))
        self.augment_combo.currentIndexChanged.connect(
            lambda i: self._set("augmentation", self.augment_combo.itemData(i)))
        self.weight_combo.currentIndexChanged.connect(
            lambda i: self._set("class_weight", self.weight_combo.itemData(i)))
        self.schedule_combo.currentIndexChanged.connect(
            lambda i: self._set("schedule", self.schedule_combo.itemData(i)))
        self.settings_box = box
        return box

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        st = self.panel.style()
        self.start_button = QPushButton(st.standardIcon(QStyle.SP_MediaPlay), "Start")
        self.start_button.setToolTip("Train the model (Ctrl+Return)")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton(st.standardIcon(QStyle.SP_MediaPause), "Pause")
        self.pause_button.setToolTip("Pause after the batches running now (small models run up to 16 at a time); "
                                     "Resume continues (Ctrl+P)")
        self.stop_button = QPushButton(st.standardIcon(QStyle.SP_MediaStop), "Stop")
        self.stop_button.setToolTip("End after the batches running now and keep the weights (Ctrl+.)")
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
        self.resume_button = QPushButton(self.panel.style().standardIcon(QStyle.SP_MediaSeekForward), "Resume")
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

    # -- settings <-> project.training ------------------------------------------------------------
    def _set(self, name: str, value) -> None:
        if self._loading:
            return
        project = self.session.project
        if getattr(project.training, name) == value:
            return
        setattr(project.training, name, value)
        project.mark_changed("training")
        self.update_enabled()

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
            self.augment_combo.setCurrentIndex(max(0, self.augment_combo.findData(c.augmentation)))
            self.weight_combo.setCurrentIndex(max(0, self.weight_combo.findData(c.class_weight)))
            self.schedule_combo.setCurrentIndex(max(0, self.schedule_combo.findData(c.schedule)))
            formula = self.session.project.physics.formula
            self.residual_check.setChecked(c.residual)
            self.residual_check.setEnabled(bool(formula) or c.residual)
            self.residual_check.setToolTip(RESIDUAL_TIP + (f"\n\nThe project's formula: {formula}" if formula else
                                                           "\n\nSet a formula first (Diagnostics ▸ Baselines, or "
                                                           "`nnstudio baseline PROJECT --formula EXPR`)."))
        finally:
            self._loading = False
        self.update_enabled()

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
        self.update_enabled()

    def update_enabled(self) -> None:
        self.settings_box.setEnabled(not self.panel.busy)
        c = self.session.project.training
        prepared = self.session.prepared
        # a warm-up + cosine run goes its full length: patience and plateau reduction do not apply
        cosine = c.schedule == "cosine" or (c.schedule == "auto" and prepared is not None
                                            and prepared.kind == "images")
        why = "Not used: the warm-up + cosine schedule runs the full length and keeps the best epoch."
        self.patience_spin.setEnabled(c.early_stopping and not cosine)
        self.patience_spin.setToolTip(why if cosine else "Epochs without improvement before stopping")
        self.restore_check.setEnabled(c.early_stopping)
        self.reduce_check.setEnabled(not cosine)
        self.reduce_check.setToolTip(why if cosine else "Multiply the learning rate by the factor when the "
                                     "validation loss stalls")
        self.reduce_patience_spin.setEnabled(c.reduce_lr and not cosine)
        self.reduce_factor_spin.setEnabled(c.reduce_lr and not cosine)
        self.mixed_check.setEnabled(bool(self.gpus) and c.device != "cpu")

    def update_controls(self) -> None:
        """Buttons and shortcuts for the current state (``running``: a training job owns them)."""
        running = self.running
        job = self.panel.job
        paused = running and job is not None and job.paused
        busy = self.panel.busy
        self.start_button.setEnabled(not busy)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(self.panel.style().standardIcon(QStyle.SP_MediaPlay if paused
                                                                  else QStyle.SP_MediaPause))
        self.resume_button.setEnabled(not busy and self.panel.missing() is None)
        self.update_enabled()

    # -- the curves of a finished run -------------------------------------------------------------
    def show_run(self, run_id: str | None) -> None:
        """Draw a recorded run's curves (nothing while a job trains: the live run owns them)."""
        if self.running:
            return
        run = self.session.project.run(run_id) if run_id else None
        if run is not None and run.id != run_id:
            run = None
        self.shown_run = run.id if run is not None else None
        if run is None:
            self.plots.set_history({})
            self.curves_title.setText("<b>Curves</b>")
        else:
            self.plots.set_history(run.history, with_batches=run.id == self.batch_run)
            self.curves_title.setText(f"<b>Curves</b> · {run.id} ({STATUS_TEXT.get(run.status, run.status)})")
        self.plots.flush()

    # -- one training job -------------------------------------------------------------------------
    def begin(self, kind: str, run_id: str, epochs: int, **extra) -> None:
        """Take the curves and the progress box for a job that trains ``run_id`` (``kind``: train,
        resume or repeat; ``extra`` goes into :attr:`state`)."""
        project = self.session.project
        self.job_project = project
        self.runs_snapshot = [id(r) for r in project.runs]
        self.state = {"kind": kind, "run_id": run_id, "epochs": epochs, "t0": time.monotonic(),
                      "epoch": 0, "batch": 0, "steps": None, "done": 0.0, "total": None, "frac0": 0.0,
                      "rate": None, "lr": None, "epochs_done": 0, "paused_at": None, "paused_s": 0.0,
                      "finished": [], **extra}
        self.shown_run = None
        self.batch_run = run_id
        self.plots.clear()
        self.curves_title.setText(f"<b>Curves</b> · {run_id} (live)")
        c = project.training
        device = "CPU" if c.device == "cpu" else (self.session.tf_info or {}).get("device", "…")
        self.device_label.setText(device)

    def watch(self, job, on_partial) -> None:
        """Follow ``job``'s reports; ``on_partial`` gets its epoch (or repeat) reports."""
        job.partial.connect(on_partial)
        job.batch.connect(self._on_batch)
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda: self._on_job_finished(job))
        job.message.connect(self._on_job_message)
        self.running_changed.emit()
        self.started.emit()
        self.update_progress()

    def next_run(self, run_id: str, index: int) -> None:
        """A repeat moved on to its next seed's run: fresh curves and progress for it."""
        self.state.update(run_id=run_id, index=index, epoch=0, batch=0, steps=None, epochs_done=0)
        self.batch_run = run_id
        self.plots.clear()
        self.curves_title.setText(f"<b>Curves</b> · {run_id} (live, {index + 1} of {self.state['n']})")

    def start(self) -> bool:
        """Start training the project's model; False (with a message) when it cannot start."""
        from nnstudio.core.workflow import train_project

        if not self.panel.prepare_start():
            return False
        project = self.session.project
        self.begin("train", project.next_run_id(), project.training.epochs)
        job = self.panel.start_job(train_project, project, prepared=self.session.prepared,
                                   on_done=self._on_trained, on_error=self.on_failed, name="train")
        self.watch(job, self.on_epoch)
        self.panel.show_curves()
        return True

    def toggle_pause(self) -> None:
        if not self.running:
            return
        job = self.panel.job
        paused = not job.paused
        job.set_paused(paused)
        if paused:
            self.state["paused_at"] = time.monotonic()
        else:
            if self.state["paused_at"] is not None:
                self.state["paused_s"] += time.monotonic() - self.state["paused_at"]
            self.state["paused_at"] = None
            self.messages.clear("job")   # the worker's "Paused." note
        self.running_changed.emit()
        self.update_progress()

    def stop(self) -> None:
        """End after the current batch; the trained weights are kept and saved as a run."""
        if not self.running:
            return
        if self.state["paused_at"] is not None:
            self.state["paused_s"] += time.monotonic() - self.state["paused_at"]
            self.state["paused_at"] = None
        self.messages.clear("job")
        self.panel.job.cancel()
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.state_label.setText("Stopping after this batch…")

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

        if not self.panel.prepare_start():
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
        self.begin("resume", rec.id, total, epoch=rec.epochs_run, epochs_done=rec.epochs_run,
                   frac0=rec.epochs_run / max(total, 1))
        self.plots.set_history(rec.history, with_batches=True)   # the curves continue from here
        self.plots.flush()
        self.curves_title.setText(f"<b>Curves</b> · {rec.id} (resumed at epoch {rec.epochs_run + 1}, live)")
        job = self.panel.start_job(resume_project, project, rec.id, epochs=epochs, prepared=self.session.prepared,
                                   on_done=self._on_trained, on_error=self.on_failed, name="resume")
        self.watch(job, self.on_epoch)
        self.resume_row.setVisible(False)
        self.panel.show_curves()
        return True

    # -- live reports (GUI thread, buffered) ------------------------------------------------------
    def on_epoch(self, obj) -> None:
        if self.state is None:
            return
        epoch, logs = int(obj["epoch"]), obj["logs"]
        self.plots.add_epoch(epoch, logs)
        self.state["epochs_done"] = epoch + 1
        self.state["lr"] = logs.get("learning_rate")
        self._schedule_progress()

    def _on_batch(self, d: dict) -> None:
        if self.state is None:
            return
        steps = max(int(d["steps"]), 1)
        self.plots.add_batch(d["step"] / steps, d["loss"])
        self.state.update(epoch=int(d["epoch"]), batch=int(d["batch"]), steps=steps,
                          rate=d.get("samples_per_s"))
        self._schedule_progress()

    def _on_job_message(self, text: str) -> None:
        # "Paused." (a repeat's runs: "run-0003: Paused.")
        if text == "Paused." or text.endswith(": Paused."):   # blocked after a batch: a state, not a warning
            job = self.panel.job
            if not (job is not None and job.paused):
                self.messages.clear("job")   # resumed before the note arrived
                return
            self.messages.info("job", "Paused after a batch; the optimizer state is kept. "
                                      "Press Resume to continue.")

    def _on_progress(self, done: float, total, text: str) -> None:
        if self.state is None:
            return
        self.state["done"] = done
        self.state["total"] = total
        self.state["text"] = text
        self._schedule_progress()

    def _schedule_progress(self) -> None:
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def update_progress(self) -> None:
        """Draw the progress box from the buffered reports (on a timer, at most ten times a second)."""
        live = self.state
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
            self.run_bar.setFormat(f"{fmt_percent(frac, 0)} · run {live['index'] + 1} of {live['n']}")
        else:
            self.run_bar.setFormat(f"{fmt_percent(frac, 0)} · {live['epochs_done']} of {epochs} epochs")
        job = self.panel.job
        paused = job is not None and job.paused
        now = live["paused_at"] if live["paused_at"] is not None else time.monotonic()
        elapsed = now - live["t0"] - live["paused_s"]
        # a resumed run starts part-way: time left from the progress made since then
        gained = frac - live["frac0"]
        eta = elapsed * (1 - frac) / gained if gained > 0 else None
        self.eta_label.setText(f"{fmt_seconds(eta)} (elapsed {fmt_seconds(elapsed)})")
        if live["rate"]:
            self.speed_label.setText(f"{fmt_count(live['rate'])} samples/s")
        if live["lr"] is not None:
            self.lr_label.setText(fmt_number(live["lr"], 3))
        if paused:
            state = "Paused — press Resume to continue"
        elif job is not None and job.task.stop.is_set():
            state = "Stopping after this batch…"
        elif kind == "repeat":
            state = f"Repeat ×{live['n']}: training {live['run_id']} ({live['index'] + 1} of {live['n']})"
        elif kind == "resume":
            state = f"Resuming {live['run_id']}"
        else:
            state = f"Training {live['run_id']}"
        self.state_label.setText(state)
        where = f"epoch {min(live['epoch'] + 1, epochs)}/{epochs}"
        self.panel.status.emit(f"{state} · {where}")
        self.progress_shown.emit(live["done"], total, f"{state} · {where}")

    # -- end of a run -----------------------------------------------------------------------------
    def _on_trained(self, record) -> None:
        resumed = self.state is not None and self.state["kind"] == "resume"
        self.finish()
        if self.panel.closing:
            return
        project = self.job_project
        self.messages.clear("job")
        where = f"{record.id}: {record.epochs_run} epochs in {fmt_seconds(record.duration_s)}"
        if resumed:
            where += " (resumed)"
        key, best = best_loss(record)
        best_text = "" if best is None else f", best {key} {fmt_number(best)} (epoch {record.best_epoch + 1})"
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
        self.panel.save_project(project, "The run finished")
        self.shown_run = record.id   # the refresh that follows selects it
        if project is self.session.project:
            self.session.run_finished.emit(record)   # -> the panel's refresh: runs, curves of this run

    def on_failed(self, exc) -> None:
        self.finish()
        self.state_label.setText("Failed")
        self.panel.show_error(exc)
        if not self.panel.closing:
            self.panel.refresh()

    def _on_job_finished(self, job) -> None:
        if job is not self.panel.job:
            return   # a finished signal from an earlier run, late in the queue
        if self.state is not None:   # neither result nor error arrived (shut down)
            self.finish()
        self.running_changed.emit()

    def finish(self) -> None:
        """The job's result (or error) is in: give back the curves and the controls."""
        self._progress_timer.stop()
        self.state = None
        self.plots.flush()
        self.running_changed.emit()

    def stop_timers(self) -> None:
        self._progress_timer.stop()

    def clear_progress(self, state: str) -> None:
        """The bars belong to single runs: blank them while another job (a sweep) runs."""
        for bar in (self.epoch_bar, self.run_bar):
            bar.setValue(0)
            bar.setFormat("—")
        self.state_label.setText(state)
