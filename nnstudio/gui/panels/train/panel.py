"""The Train panel: live training on the left and over the curves, the experiments on the project's
runs beside them. It composes two parts and lends them its session, message bar and its one
background job:

- :class:`~nnstudio.gui.panels.train.live.LiveTraining`: settings, Start / Pause / Stop / Resume,
  progress and the live curves;
- :class:`~nnstudio.gui.panels.train.experiments.Experiments`: the runs, Repeat ×N over seeds
  (mean ± spread, two groups compared) and sweeps of settings.

Training, repeats, sweeps and resumes run in a worker (core functions through
:meth:`Panel.start_job`, one job at a time); the GUI thread never touches TensorFlow or Optuna.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QSplitter, QTabWidget, QWidget

from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.train.experiments import Experiments
from nnstudio.gui.panels.train.live import LiveTraining

log = logging.getLogger(__name__)

# The parts' controls under the panel's own names, where the window, scripts and tests reach them.
LIVE_WIDGETS = ("settings_box", "epochs_spin", "batch_spin", "lr_edit", "early_check", "patience_spin",
                "restore_check", "reduce_check", "reduce_patience_spin", "reduce_factor_spin", "seed_spin",
                "device_combo", "mixed_check", "tensorboard_check", "augment_combo", "weight_combo", "schedule_combo", "residual_check", "start_button", "pause_button",
                "stop_button", "resume_row", "resume_button", "state_label", "device_label", "plots")
EXPERIMENT_WIDGETS = ("run_table", "repeat_view", "sweep_view")


class TrainPanel(Panel):
    key = "train"
    title = "Train"
    requires = ("data", "model")

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> QWidget:
        self.closing = False
        self._deferring = False      # a session signal arrived while hidden: refresh when shown
        self._stale = False
        self.live = LiveTraining(self)
        self.experiments = Experiments(self, self.live)
        for name in LIVE_WIDGETS:
            setattr(self, name, getattr(self.live, name))
        for name in EXPERIMENT_WIDGETS:
            setattr(self, name, getattr(self.experiments, name))

        root = QSplitter(Qt.Horizontal)
        root.setChildrenCollapsible(False)
        root.addWidget(self.live.column)

        # right: the curves over the one list of runs, then repeats over seeds and sweeps
        runs = QSplitter(Qt.Vertical)
        runs.setChildrenCollapsible(False)
        runs.addWidget(self.live.curves)
        runs.addWidget(self.run_table)
        runs.setStretchFactor(0, 3)
        runs.setStretchFactor(1, 2)
        runs.setSizes([460, 300])   # room for the plots and about ten runs
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(runs, "Curves and runs")
        self.tabs.addTab(self.repeat_view, "Repeat")
        self.tabs.addTab(self.sweep_view, "Sweep")
        self.tabs.setTabToolTip(0, "Live curves while a run trains; every run below: select one to see its "
                                   "curves, tick runs to overlay them; rename, annotate, hide, delete, export")
        self.tabs.setTabToolTip(1, "Train the same settings with several seeds: mean ± spread, and compare "
                                   "two groups")
        self.tabs.setTabToolTip(2, "Search learning rate, batch size, layer sizes… by the validation loss")
        self.tabs.currentChanged.connect(lambda _i: self.experiments.on_tab_changed())
        root.addWidget(self.tabs)
        root.setStretchFactor(0, 0)
        root.setStretchFactor(1, 1)

        self._build_actions()
        self.live.running_changed.connect(self.update_controls)
        self.on_tf_ready(self.session.tf_info)
        self.update_controls()
        return root

    def _build_actions(self) -> None:
        # shortcuts live on the panel, so they act only while the Train panel is shown
        def action(text, keys, slot):
            a = QAction(text, self)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_start = action("Start training", ["Ctrl+Return", "Ctrl+Enter"], self.live.start)
        self.act_pause = action("Pause or resume training", ["Ctrl+P"], self.live.toggle_pause)
        self.act_stop = action("Stop training", ["Ctrl+."], self.live.stop)

    def show_curves(self) -> None:
        self.tabs.setCurrentIndex(0)

    # -- state shared by the parts ----------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        """From Start until the run's result (or error) has been handled (also repeats and resumes)."""
        return self.live.running

    @property
    def is_sweeping(self) -> bool:
        return self.experiments.sweeping

    @property
    def busy(self) -> bool:
        """A job that trains is running: nothing else may start (one job per panel)."""
        return self.live.running or self.experiments.sweeping

    def update_controls(self) -> None:
        running = self.live.running
        self.act_start.setEnabled(not self.busy)
        self.act_pause.setEnabled(running)
        self.act_stop.setEnabled(running)
        self.live.update_controls()
        self.experiments.update_controls()

    def prepare_start(self) -> bool:
        """The checks every training job shares; False (with a message) when it cannot start."""
        from nnstudio.errors import NnstudioError

        if self.busy or self.missing() is not None:
            return False
        project = self.session.project
        for key in ("run", "error", "job", "resume"):
            self.messages.clear(key)
        if project.path is None and not self._save_as("Save the project: its runs are kept in its folder"):
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

    def _save_as(self, title: str = "Save project") -> bool:
        """Save the project where the person chooses (Start asks this of an unsaved project and
        then goes on starting); False when cancelled."""
        w = self.window()
        if hasattr(w, "save_as"):
            ok = w.save_as(title)
        else:   # the panel on its own (preview)
            path, _ = QFileDialog.getSaveFileName(self, title, "", "nnstudio projects (*.nnproj)")
            ok = bool(path) and bool(self.session.project.save(path))
        if ok:
            self.messages.clear("save-first")
        return bool(ok)

    # -- refresh from the session -----------------------------------------------------------------
    def on_tf_ready(self, info) -> None:
        self.live.on_tf_ready(info)

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
        self.live.load_settings()
        prepared = self.session.prepared
        self.live.plots.set_standardised_loss(prepared is not None and prepared.problem == "regression")
        self.experiments.refresh()

    # -- what a person (or a script) can do -------------------------------------------------------
    def start(self) -> bool:
        """Start training the project's model; False (with a message) when it cannot start."""
        return self.live.start()

    def toggle_pause(self) -> None:
        self.live.toggle_pause()

    def stop(self) -> None:
        """End after the current batch; the trained weights are kept and saved as a run."""
        self.live.stop()

    def resume_run(self, run_id: str | None = None, epochs: int | None = None) -> bool:
        """Continue ``run_id`` (default: the latest resumable run) in the background."""
        return self.live.resume_run(run_id, epochs)

    def start_repeat(self, n: int | None = None) -> bool:
        return self.experiments.start_repeat(n)

    def start_sweep(self) -> bool:
        return self.experiments.start_sweep()

    def cancel_sweep(self) -> None:
        self.experiments.cancel_sweep()

    def apply_best(self) -> bool:
        return self.experiments.apply_best()

    def export_csv(self, path=None):
        return self.experiments.export_csv(path)

    def run_ids(self) -> list[str]:
        return self.experiments.run_ids()

    def run_row(self, run_id: str) -> list[str] | None:
        return self.experiments.run_row(run_id)

    def checked_runs(self) -> list[str]:
        return self.experiments.checked_runs()

    def set_overlay(self, run_id: str, on: bool) -> None:
        self.experiments.set_overlay(run_id, on)

    def _update_progress(self) -> None:
        self.live.update_progress()

    def shutdown(self, msecs: int = 30000) -> None:
        """Stop training (or a sweep's trial) after the current batch, wait for the worker, keep
        the runs on disk. A stopped sweep resumes when the same sweep is started again."""
        was_training = self.is_training
        project = self.live.job_project
        self.closing = True
        super().shutdown(msecs)
        self.live.stop_timers()
        # the runs are already in the project (the worker added or replaced them); the result
        # signal may never be delivered once the window is closing, so write the project file now
        if was_training and project is not None and project.path is not None \
                and [id(r) for r in project.runs] != self.live.runs_snapshot:
            try:
                project.save()
            except (OSError, ValueError) as exc:   # closing: report, never block the exit
                log.warning("could not save %s after stopping training: %s", project.path, exc)


if __name__ == "__main__":
    import sys
    import tempfile
    from pathlib import Path

    from nnstudio.core.examples.synthetic import toy_regression
    from nnstudio.core.model import make_template
    from nnstudio.core.training.tf_runtime import import_tensorflow
    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.session import Session
    from nnstudio.gui.workers import Job

    app = preview_application()  # --dark for the dark theme
    prepared = toy_regression(3000)
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

    loader = Job(lambda task: import_tensorflow())
    loader.returned.connect(tf_loaded)
    loader.start()
    sys.exit(app.exec())
