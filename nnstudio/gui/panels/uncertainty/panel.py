"""The Uncertainty panel: an error bar or probability for every prediction, and on the same
screen whether those error bars can be trusted.

The computation (predictions, MC dropout passes, coverage, calibration, conformal) runs in a
worker through the one evaluation core (``core.workflow.evaluate``); the panel draws its result. A deep
ensemble is trained here too, in the background (``core.experiments.ensemble.train_ensemble``), and stored
with the project.
"""
from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_number, fmt_percent
from nnstudio.errors import Cancelled
from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.uncertainty.methods import set_names
from nnstudio.gui.widgets.legend import mark_guide
from nnstudio.gui.widgets.sample_browser import (
    SampleBrowser,
    dataset_columns,
    image_source,
)
from nnstudio.gui.widgets.themed_plot import ThemedPlot, colour

VERDICT_STYLE = {
    "good": ("rgba(44, 160, 44, 0.16)", "rgba(44, 160, 44, 0.9)", "✔"),
    "warn": ("rgba(255, 170, 0, 0.18)", "rgba(230, 150, 0, 0.9)", "⚠"),
    "bad": ("rgba(220, 53, 69, 0.18)", "rgba(220, 53, 69, 0.9)", "✖"),
    "none": ("transparent", "rgba(128, 128, 128, 0.5)", ""),
}
BAR_BRUSH = (31, 119, 180, 170)
MC_TIP = "T passes with dropout switched on: the spread is the model's own (epistemic) uncertainty"
AFTER_COLOUR = (255, 127, 14)


class UncertaintyPanel(Panel):
    key = "uncertainty"
    title = "Uncertainty"
    # "run" first: with nothing loaded, point at training (whose own page then leads to the data)
    requires = ("run", "data")

    MSG_NOTES = "notes"

    def build(self) -> QWidget:
        self.result: dict | None = None
        self._job_key = None
        self._failed_key = None
        self._ensemble: dict | None = None      # core.workflow.ensembles.ensemble_info of the project
        self._training_ensemble = False
        self._compute_after_job = False
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._build_settings())
        self.verdict_label = QLabel("Compute to see whether the model's error bars can be trusted.")
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        f = self.verdict_label.font()
        f.setPointSizeF(f.pointSizeF() * 1.2)
        f.setBold(True)
        self.verdict_label.setFont(f)
        self._style_verdict("none")
        lay.addWidget(self.verdict_label)
        self.details_label = QLabel(" ")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.details_label)

        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self._build_regression_plots())
        self.plot_stack.addWidget(self._build_classification_plots())
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.most_uncertain_button = QPushButton("Most uncertain first")
        self.most_uncertain_button.clicked.connect(self.show_all_samples)
        row.addWidget(self.most_uncertain_button)
        self.flagged_check = QCheckBox("Only inputs unlike the training data")
        self.flagged_check.setToolTip("Samples whose epistemic (model) uncertainty is above the 99th "
                                      "percentile of the training data's; needs MC dropout or a deep "
                                      "ensemble")
        self.flagged_check.toggled.connect(lambda _on: self.show_all_samples())
        row.addWidget(self.flagged_check)
        row.addStretch(1)
        rl.addLayout(row)
        self.browser = SampleBrowser()
        self.browser.enable_explain(lambda: (self.session.project, self.session.prepared, self.session.dataset))
        rl.addWidget(self.browser, 1)
        body = QSplitter(Qt.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(self.plot_stack)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([640, 440])
        lay.addWidget(body, 1)

        s = self.session
        s.run_finished.connect(self._on_run_finished)
        s.prepared_changed.connect(self.clear_result)
        s.project_changed.connect(self._on_project)
        s.model_changed.connect(self._refresh_ensemble)
        s.project_edited.connect(self._on_project_edited)
        s.run_finished.connect(lambda _r: self._update_enabled())
        self._refresh_ensemble()
        self._load_settings()
        return w

    # -- building ----------------------------------------------------------------------------------
    def _build_settings(self) -> QHBoxLayout:
        from nnstudio.core.workflow.results import METHODS

        row = QHBoxLayout()
        row.addWidget(QLabel("Method"))
        self.method_combo = QComboBox()
        tips = {"auto": "A mean-and-variance head's σ when the model has one; otherwise the "
                        "classifier's probabilities, or a constant σ from held-out residuals",
                "heteroscedastic": "The σ the model predicts for every sample (regression models "
                                   "trained with Gaussian NLL)",
                "mc_dropout": MC_TIP,
                "ensemble": "K copies of the model trained with different seeds: their spread is the "
                            "model's own (epistemic) uncertainty; members with a mean-and-variance "
                            "head add the noise in the data"}
        for key, label in METHODS.items():
            self.method_combo.addItem(label, key)
            self.method_combo.setItemData(self.method_combo.count() - 1, tips[key], Qt.ToolTipRole)
        self.method_combo.currentIndexChanged.connect(self._on_settings_edited)
        # narrower than its longest item (the popup still shows it whole): the row is full
        self.method_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.method_combo.setMinimumContentsLength(14)
        row.addWidget(self.method_combo)
        # the chosen method's own settings, one page each (nothing for the quick methods)
        self.options_stack = QStackedWidget()
        self.options_stack.addWidget(QWidget())
        self.t_spin, _ = self._option_page("passes T", 2, 1000, 50, "Number of MC dropout passes")
        self.k_spin, ens = self._option_page(
            "members K", 2, 100, 5, "Members of the next ensemble: copies of the model trained with the "
                                    "Train panel's settings and seeds seed, seed + 1, …")
        self.train_ensemble_button = QPushButton("Train ensemble")
        self.train_ensemble_button.setToolTip("Train K members in the background; they are stored with "
                                              "the project as ordinary runs")
        self.train_ensemble_button.clicked.connect(lambda: self.train_ensemble())
        ens.addWidget(self.train_ensemble_button)
        self.ensemble_label = QLabel("")
        self.ensemble_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        ens.addWidget(self.ensemble_label)
        self._option_pages = {"mc_dropout": 1, "ensemble": 2}
        row.addWidget(QLabel("conformal level"))
        self.level_spin = QDoubleSpinBox()
        self.level_spin.setRange(50.0, 99.5)
        self.level_spin.setDecimals(1)
        self.level_spin.setSingleStep(1.0)
        self.level_spin.setSuffix(" %")
        self.level_spin.setValue(90.0)
        self.level_spin.setToolTip("Target coverage of conformal intervals / sets, calibrated on the "
                                   "calibration split (guaranteed on average whatever the model)")
        self.level_spin.valueChanged.connect(self._on_settings_edited)
        row.addWidget(self.level_spin)
        row.addWidget(QLabel("on"))
        self.split_combo = QComboBox()
        self.split_combo.addItem("test split", "test")
        self.split_combo.addItem("validation split", "val")
        row.addWidget(self.split_combo)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(lambda: self.compute())
        row.addWidget(self.compute_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.cancel_button)
        # the chosen method's options after the buttons, so that nothing before them moves
        row.addWidget(self.options_stack)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        row.addWidget(self.progress)
        self.progress_label = QLabel("")
        # long stage texts ("member 2/5 · epoch 3/30 …") must not widen the whole panel
        self.progress_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        row.addWidget(self.progress_label, 1)
        return row

    def _option_page(self, label: str, lo: int, hi: int, value: int, tip: str) -> tuple[QSpinBox, QHBoxLayout]:
        """A page of the options stack: a labelled spin box that edits the project's settings."""
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(label))
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.valueChanged.connect(self._on_settings_edited)
        row.addWidget(spin)
        self.options_stack.addWidget(page)
        return spin, row

    def _grid(self, plots) -> QWidget:
        page = QWidget()
        g = QGridLayout(page)
        g.setContentsMargins(0, 0, 0, 0)
        g.setSpacing(4)
        for i, p in enumerate(plots):
            g.addWidget(p, i // 2, i % 2)
        return page

    def _dash(self, plot: ThemedPlot):
        return mark_guide(plot.plot_item.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.DashLine)))

    def _build_regression_plots(self) -> QWidget:
        self.errorbar_plot = ThemedPlot("Predicted ± σ against true", "true", "predicted")
        self.errorbars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0),
                                         pen=pg.mkPen((31, 119, 180, 90)))
        self.errorbar_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(31, 119, 180, 200))
        self.errorbar_points.sigClicked.connect(self._points_clicked)
        self.errorbar_plot.plot_item.addItem(self.errorbars)
        self.errorbar_plot.plot_item.addItem(self.errorbar_points)
        self.errorbar_line = self.errorbar_plot.plot_item.plot(
            pen=pg.mkPen((214, 39, 40), width=1.5, style=Qt.DashLine))
        self.coverage_plot = ThemedPlot("Interval calibration",
                                        "expected coverage", "observed coverage")
        self._dash(self.coverage_plot)
        self.coverage_curve = self.coverage_plot.plot_item.plot(pen=pg.mkPen(colour(0), width=2.5))
        self.coverage_marks = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k"), brush=pg.mkBrush(255, 140, 0))
        self.coverage_plot.plot_item.addItem(self.coverage_marks)
        self.coverage_plot.plot_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.pit_plot = ThemedPlot("PIT histogram (flat when calibrated)", "PIT = Φ((y − μ)/σ)", "samples")
        self.pit_bars = pg.BarGraphItem(x0=[0], x1=[1], height=[0], brush=pg.mkBrush(*BAR_BRUSH),
                                        pen=pg.mkPen(BAR_BRUSH[:3]))
        self.pit_plot.plot_item.addItem(self.pit_bars)
        self.pit_uniform = pg.InfiniteLine(angle=0, pen=pg.mkPen((214, 39, 40), width=1.5, style=Qt.DashLine))
        self.pit_plot.plot_item.addItem(self.pit_uniform)
        self.sigma_plot = ThemedPlot("Error against predicted σ", "RMS predicted σ (bins)", "RMS error")
        self.sigma_line = self._dash(self.sigma_plot)
        self.sigma_points = self.sigma_plot.plot_item.plot(pen=pg.mkPen(colour(0), width=2), symbol="o",
                                                           symbolSize=7, symbolBrush=colour(0))
        return self._grid([self.errorbar_plot, self.coverage_plot, self.pit_plot, self.sigma_plot])

    def _build_classification_plots(self) -> QWidget:
        self.reliability_plot = ThemedPlot("Reliability", "confidence", "accuracy", legend=True,
                                           legend_offset=(8, 8))
        self._dash(self.reliability_plot)
        self.reliability_before = self.reliability_plot.plot_item.plot(
            pen=pg.mkPen(colour(0), width=2), symbol="o", symbolSize=6, symbolBrush=colour(0), name="before")
        self.reliability_after = self.reliability_plot.plot_item.plot(
            pen=pg.mkPen(AFTER_COLOUR, width=2), symbol="s", symbolSize=6, symbolBrush=AFTER_COLOUR,
            name="after")
        self.reliability_plot.plot_item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.entropy_plot = ThemedPlot("Predictive entropy", "entropy (nats)", "samples")
        self.entropy_bars = pg.BarGraphItem(x0=[0], x1=[1], height=[0], brush=pg.mkBrush(*BAR_BRUSH),
                                            pen=pg.mkPen(BAR_BRUSH[:3]))
        self.entropy_plot.plot_item.addItem(self.entropy_bars)
        self.entropy_plot.scene().sigMouseClicked.connect(
            lambda ev: self._hist_clicked(ev, self.entropy_plot, "entropy"))
        self.mi_plot = ThemedPlot("Mutual information (epistemic)", "mutual information (nats)", "samples")
        self.mi_bars = pg.BarGraphItem(x0=[0], x1=[1], height=[0], brush=pg.mkBrush(148, 103, 189, 170),
                                       pen=pg.mkPen((148, 103, 189)))
        self.mi_plot.plot_item.addItem(self.mi_bars)
        self.mi_threshold = pg.InfiniteLine(angle=90, pen=pg.mkPen((214, 39, 40), width=1.5, style=Qt.DashLine))
        self.mi_plot.plot_item.addItem(self.mi_threshold, ignoreBounds=True)
        self.mi_plot.scene().sigMouseClicked.connect(
            lambda ev: self._hist_clicked(ev, self.mi_plot, "mutual_information"))
        self.sets_plot = ThemedPlot("Conformal prediction sets", "classes in the set", "samples")
        self.sets_bars = pg.BarGraphItem(x=[0], width=0.7, height=[0], brush=pg.mkBrush(44, 160, 44, 170),
                                         pen=pg.mkPen((44, 160, 44)))
        self.sets_plot.plot_item.addItem(self.sets_bars)
        return self._grid([self.reliability_plot, self.entropy_plot, self.mi_plot, self.sets_plot])

    # -- settings (stored in the project) ----------------------------------------------------------------
    def _load_settings(self) -> None:
        u = self.session.project.uncertainty
        widgets = (self.method_combo, self.t_spin, self.k_spin, self.level_spin)
        for wdg in widgets:
            wdg.blockSignals(True)
        i = self.method_combo.findData(u.method)
        self.method_combo.setCurrentIndex(max(i, 0))
        self.t_spin.setValue(int(u.mc_samples))
        self.k_spin.setValue(int(u.ensemble_size))
        self.level_spin.setValue(100.0 * float(u.conformal_level))
        for wdg in widgets:
            wdg.blockSignals(False)
        self._update_enabled()

    def _on_settings_edited(self, *_args) -> None:
        u = self.session.project.uncertainty
        u.method = self.method
        u.mc_samples = int(self.t_spin.value())
        u.ensemble_size = int(self.k_spin.value())
        u.conformal_level = round(self.level_spin.value() / 100.0, 4)
        self.session.project.mark_changed("uncertainty")
        self._update_enabled()

    def _update_mc_item(self) -> None:
        """MC dropout needs a Dropout layer: greyed out, with the reason, for a model without."""
        from nnstudio.gui.panels.uncertainty.methods import mc_dropout_unavailable

        i = self.method_combo.findData("mc_dropout")
        item = self.method_combo.model().item(i)
        reason = mc_dropout_unavailable(self.session.project)
        item.setEnabled(reason is None)
        item.setToolTip(reason or MC_TIP)
        self.mc_unavailable = reason

    def _update_enabled(self) -> None:
        self._update_mc_item()
        page = self._option_pages.get(self.method, 0)
        self.options_stack.setCurrentIndex(page)
        for i in range(self.options_stack.count()):    # the row is as wide as the shown page only
            self.options_stack.widget(i).setSizePolicy(
                QSizePolicy.Preferred if i == page else QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.options_stack.adjustSize()
        busy = self.job is not None and self.job.running
        self.train_ensemble_button.setEnabled(not busy and self.session.has_model)
        self.k_spin.setEnabled(not self._training_ensemble)
        # room for the progress bar; the stage text goes to the status bar meanwhile
        self.ensemble_label.setVisible(not self._training_ensemble)
        self.progress_label.setVisible(not self._training_ensemble)
        self.compute_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if self.method == "ensemble" and not self.has_ensemble and not self._training_ensemble:
            self.messages.info("ensemble", f"No ensemble yet: press Train ensemble to train {self.k_spin.value()} "
                                           "copies of the model with different seeds (with the Train "
                                           "panel's settings), then Compute.")
        else:
            self.messages.clear("ensemble")

    @property
    def method(self) -> str:
        return self.method_combo.currentData()

    def set_method(self, method: str, mc_samples: int | None = None, level: float | None = None,
                   ensemble_size: int | None = None) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))
        if mc_samples is not None:
            self.t_spin.setValue(mc_samples)
        if ensemble_size is not None:
            self.k_spin.setValue(ensemble_size)
        if level is not None:
            self.level_spin.setValue(100.0 * level)

    # -- computing ----------------------------------------------------------------------------------
    def _key(self):
        p = self.session.project
        run = p.run()
        members = tuple((self._ensemble or {}).get("members", ())) if self.method == "ensemble" else ()
        return (id(p), run.id if run else None, id(self.session.prepared), self.method,
                self.t_spin.value(), self.level_spin.value(), self.split_combo.currentData(), members)

    def compute(self) -> None:
        from nnstudio.core.workflow.evaluate import evaluate

        if self.missing() is not None:
            return
        self.messages.clear("error")
        self.messages.clear("job")
        self._job_key = self._key()
        if not self._run_fits():
            return
        done = self._evaluation_shown_elsewhere()
        if done is not None:        # the Diagnostics panel evaluated exactly this: no second pass
            self.show_result(done)
            return
        self.status.emit("Computing uncertainty…")
        job = self.start_job(evaluate, self.session.project, method=self.method,
                             split=self.split_combo.currentData(), n_passes=int(self.t_spin.value()),
                             level=self.level_spin.value() / 100.0, prepared=self.session.prepared,
                             baselines=False, on_done=self._on_computed, on_error=self._on_error, name="uncertainty")
        self._job_started(job)

    def _run_fits(self) -> bool:
        """Refuse, in one sentence, a model trained on other inputs than the data now prepared."""
        from nnstudio.core.workflow.compat import check_run_fits
        from nnstudio.errors import NnstudioError

        try:
            check_run_fits(self.session.project, self.session.prepared)
        except NnstudioError as exc:
            self._failed_key = self._job_key
            self.messages.error("error", exc.message)
            return False
        return True

    def _evaluation_shown_elsewhere(self):
        """The session's evaluation when it is this panel's request with the automatic method."""
        ev, run = self.session.evaluation, self.session.project.run()
        if (ev is None or self.method != "auto" or run is None or ev.run != run.id
                or ev.split != self.split_combo.currentData()
                or abs(ev.uncertainty.level - self.level_spin.value() / 100.0) > 1e-12):
            return None
        return ev

    def _job_started(self, job) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setVisible(True)
        self.progress_label.setText("starting…")
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_job_finished)
        self._update_enabled()

    # -- the deep ensemble ---------------------------------------------------------------------------
    def train_ensemble(self) -> bool:
        """Train K members in the background (K from the spin box); False when it cannot start."""
        from nnstudio.core.experiments.ensemble import train_ensemble

        project = self.session.project
        if self.missing() is not None or (self.job is not None and self.job.running):
            return False
        self.messages.clear("error")
        self.messages.clear("job")
        if project.path is None:
            self.messages.info("ensemble", "An ensemble's members are stored in the project's folder: save "
                                           "the project first.")
            return False
        self._training_ensemble = True
        self._ensemble_project = project
        self.status.emit("Training a deep ensemble…")
        job = self.start_job(train_ensemble, project, k=int(self.k_spin.value()),
                             prepared=self.session.prepared, on_done=self._on_ensemble_trained,
                             on_error=self._on_ensemble_error, name="ensemble")
        self._job_started(job)
        self.progress_label.setText(f"training {self.k_spin.value()} members…")
        return True

    def _on_ensemble_trained(self, result) -> None:
        project = self._ensemble_project
        self.save_project(project, "The ensemble was trained")
        if project is not self.session.project:
            return
        self._refresh_ensemble()
        if result.runs:
            self.session.run_finished.emit(result.runs[-1])   # run lists elsewhere show the members
        self._compute_after_job = self.method == "ensemble"

    def _on_ensemble_error(self, exc) -> None:
        if self._ensemble_project is self.session.project:
            self._refresh_ensemble()      # members that finished before the error still count
        if isinstance(exc, Cancelled):
            self.progress_label.setText("cancelled")
        else:
            self.show_error(exc)

    def _refresh_ensemble(self) -> None:
        """Read which ensemble the project has (a small JSON file beside it) and say so."""
        from nnstudio.core.workflow.ensembles import ensemble_info
        from nnstudio.errors import NnstudioError

        try:
            self._ensemble = ensemble_info(self.session.project)
        except NnstudioError as exc:
            self._ensemble = None
            self.messages.warning("ensemble-store", exc.message)
        e = self._ensemble
        if not e or not e["members"]:
            self.ensemble_label.setText("none yet")
            self.ensemble_label.setToolTip("")
            self.ensemble_label.setStyleSheet("")
            self._update_enabled()
            return
        n = len(e["members"])
        text = f"{n} trained"
        tip = (f"Stored as {e['group']}: runs {', '.join(e['members'])}; seeds "
               f"{', '.join(str(s) for s in e['seeds'])}" + (f"; trained {e['created']}" if e.get("created") else ""))
        if n < 2:
            text += " (needs 2)"
        if not e["matches_model"]:
            text += " · older model"
            tip += ". The model has changed since: train the ensemble again to use the new settings."
        self.ensemble_label.setText(text)
        self.ensemble_label.setToolTip(tip)
        self.ensemble_label.setStyleSheet("" if e["matches_model"] and n >= 2 else "color: rgb(230, 150, 0);")
        self._update_enabled()

    @property
    def has_ensemble(self) -> bool:
        return bool(self._ensemble) and len(self._ensemble["members"]) >= 2

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.progress_label.setText("cancelling…")

    def _on_progress(self, done, total, text) -> None:
        if total:
            self.progress.setValue(round(100.0 * done / float(total)))
        self.progress_label.setText(text)
        self.progress_label.setToolTip(text)
        if self._training_ensemble:      # the status bar has room for the whole line
            self.status.emit(f"Training a deep ensemble · {text}")
            member = re.match(r"member (\d+/\d+)", text or "")
            self.progress.setFormat(f"{member.group(1)} · %p%" if member else "%p%")

    def _on_job_finished(self) -> None:
        if self.job is None or not self.job.running:
            self._training_ensemble = False
            self.progress.setVisible(False)
            if self.progress_label.text() != "cancelled":
                self.progress_label.setText("")
            self._update_enabled()
            if self._compute_after_job:
                self._compute_after_job = False
                self._maybe_compute()

    def _on_error(self, exc) -> None:
        if isinstance(exc, Cancelled):
            self.progress_label.setText("cancelled")
            return
        self._failed_key = self._job_key
        self.show_error(exc)

    def _on_computed(self, result) -> None:
        if self._job_key != self._key():
            return
        self.show_result(result)

    def _on_run_finished(self, _record=None) -> None:
        self.clear_result()
        QTimer.singleShot(0, self._maybe_compute)

    def _on_project(self) -> None:
        self._load_settings()
        self._refresh_ensemble()
        self.clear_result()

    def _maybe_compute(self) -> None:
        """Compute the quick methods by itself when shown; MC dropout waits for the button, and a
        deep ensemble for its members."""
        if self.method == "ensemble" and not self.has_ensemble:
            return
        if (self.result is None and self.isVisible() and self.missing() is None
                and self.method != "mc_dropout" and not (self.job is not None and self.job.running)
                and self._failed_key != self._key()):
            self.compute()

    def refresh(self) -> None:
        prepared = self.session.prepared
        if self.result is None and prepared is not None:  # the empty plots of the right task
            self.plot_stack.setCurrentIndex(0 if prepared.problem == "regression" else 1)
        self._maybe_compute()

    def showEvent(self, e):
        super().showEvent(e)
        QTimer.singleShot(0, self._maybe_compute)

    def clear_result(self) -> None:
        self.result = None
        self._failed_key = None
        self.verdict_label.setText("Compute to see whether the model's error bars can be trusted.")
        self._style_verdict("none")
        self.details_label.setText(" ")
        self.browser.clear("Per-sample uncertainties appear here after Compute.")
        self.messages.clear(self.MSG_NOTES)

    # -- showing -------------------------------------------------------------------------------------
    def _style_verdict(self, level: str) -> None:
        bg, border, _sym = VERDICT_STYLE[level]
        self.verdict_label.setStyleSheet(f"QLabel#verdict {{ background: {bg}; border: 1px solid {border}; "
                                         "border-radius: 4px; padding: 6px 10px; }")

    def show_result(self, result) -> None:
        """Draw an :class:`EvaluationResult`'s uncertainty (also used by the preview)."""
        self.result = result
        v = result.uncertainty.verdict
        sym = VERDICT_STYLE[v["level"]][2]
        self.verdict_label.setText(f"{sym}  {v['text']}")
        self._style_verdict(v["level"])
        if result.uncertainty.notes:
            self.messages.info(self.MSG_NOTES, " ".join(result.uncertainty.notes))
        else:
            self.messages.clear(self.MSG_NOTES)
        has_ood = "ood" in result.uncertainty.arrays
        self.flagged_check.setEnabled(has_ood)
        if not has_ood:
            self.flagged_check.blockSignals(True)
            self.flagged_check.setChecked(False)
            self.flagged_check.blockSignals(False)
        if result.problem == "regression":
            self._show_regression()
        else:
            self._show_classification()
        self.show_all_samples()

    @property
    def split_name(self) -> str:
        return self.result.split_label

    def _show_regression(self) -> None:
        r = self.result.uncertainty
        s, a = r.summary, r.arrays
        self.plot_stack.setCurrentIndex(0)
        if not s:               # no σ to judge (no calibration split): say why, draw nothing
            self.details_label.setText(" ".join(r.notes) or " ")
            for item in (self.errorbars,):
                item.setData(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0))
            for item in (self.errorbar_points, self.errorbar_line, self.coverage_curve, self.coverage_marks,
                         self.sigma_points, self.sigma_line):
                item.setData([], [])
            self.pit_bars.setOpts(x0=[], x1=[], height=[])
            self.sigma_plot.set_placeholder("No error bars: give the calibration split a non-zero fraction.")
            return
        c = r.conformal or {}
        parts = [f"<b>Method:</b> {s['method']}",
                 f"<b>68% intervals</b> {fmt_percent(s['coverage_68'])} (nominal {fmt_percent(s['nominal_68'])})",
                 f"<b>95% intervals</b> {fmt_percent(s['coverage_95'])} (nominal 95%)",
                 f"<b>NLL</b> {fmt_number(s['nll'])}", f"<b>sharpness</b> (RMS σ) {fmt_number(s['sharpness'])}"]
        if c:
            width = c.get("mean_width")
            parts.append(f"<b>conformal {100 * c['nominal']:.3g}%</b> coverage {fmt_percent(c['coverage'])}"
                         + (f", mean width {fmt_number(width)}" if width is not None else ""))
        if "ood" in a:
            parts.append(self._ood_text(s, a))
        self.details_label.setText(" · ".join(parts))
        idx = a["plot_index"]
        y, mu, sig = a["y_true"][idx], a["mean"][idx], a["sigma"][idx]
        self.errorbar_plot.set_title(f"Predicted ± σ against true · {self.split_name}")
        self.errorbars.setData(x=y, y=mu, height=2 * sig)
        self.errorbar_points.setData(y, mu, data=idx)
        lo = float(min(y.min(), mu.min()))
        hi = float(max(y.max(), mu.max()))
        self.errorbar_line.setData([lo, hi], [lo, hi])
        self.errorbar_plot.plot_item.enableAutoRange()
        cc = s["calibration_curve"]
        self.coverage_curve.setData(cc["expected"], cc["observed"])
        self.coverage_marks.setData([s["nominal_68"], s["nominal_95"]], [s["coverage_68"], s["coverage_95"]])
        ph = s["pit_histogram"]
        edges, counts = np.asarray(ph["edges"]), np.asarray(ph["counts"])
        self.pit_bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self.pit_uniform.setValue(counts.sum() / max(len(counts), 1))
        self.pit_plot.plot_item.enableAutoRange()
        es = s["error_vs_sigma"]
        self.sigma_points.setData(es["rms_sigma"], es["rms_error"])
        top = max(max(es["rms_sigma"] or [1]), max(es["rms_error"] or [1]))
        self.sigma_line.setData([0, top], [0, top])
        self.sigma_plot.plot_item.enableAutoRange()
        self.sigma_plot.set_placeholder("Constant σ: every sample has the same error bar."
                                        if r.method == "residual" else None)

    @staticmethod
    def _ood_text(s: dict, a: dict) -> str:
        """How many samples the out-of-distribution flag marks, and against what: about 1% of
        ordinary samples when the flag works (its threshold is the held-out reference's 99th
        percentile)."""
        text = f"<b>unlike training data</b> {int(np.sum(a['ood']))} of {len(a['ood'])}"
        if "ood_reference" in s:
            text += (f" ({fmt_percent(s['ood_flag_rate'])}; about 1% expected, by {s['ood_by']}, "
                     f"against the {s['ood_reference']} split)")
        return text

    def _show_classification(self) -> None:
        r = self.result.uncertainty
        s, a = r.summary, r.arrays
        self.plot_stack.setCurrentIndex(1)
        c = r.conformal or {}
        parts = [f"<b>Method:</b> {s['method']}",
                 (f"<b>ECE</b> {fmt_number(s['ece'])} → {fmt_number(s['ece_after_temperature'])} after temperature "
                  f"scaling (T = {s['temperature']:.3g})"),
                 f"<b>NLL</b> {fmt_number(s['nll'])} → {fmt_number(s['nll_after_temperature'])}",
                 f"<b>mean entropy</b> {fmt_number(s['mean_entropy'])}"]
        if "mean_mutual_information" in s:
            parts.append(f"<b>mean mutual information</b> {fmt_number(s['mean_mutual_information'])}")
        if c:
            parts.append(f"<b>conformal {100 * c['nominal']:.3g}% sets</b> coverage {fmt_percent(c['coverage'])}, "
                         f"mean size {c['mean_set_size']:.2f}")
        if "ood" in a:
            parts.append(self._ood_text(s, a))
        self.details_label.setText(" · ".join(parts))

        def finite(rel):
            conf = np.array([np.nan if v is None else v for v in rel["confidence"]], dtype=float)
            acc = np.array([np.nan if v is None else v for v in rel["accuracy"]], dtype=float)
            ok = np.isfinite(conf) & np.isfinite(acc)
            return conf[ok], acc[ok]

        self.reliability_plot.set_title(f"Reliability · {self.split_name}")
        self.reliability_plot.legend.clear()
        # short labels leave the legend room beside the curves; T is in the line above the plots
        self.reliability_plot.legend.addItem(self.reliability_before, f"raw · ECE {s['ece']:.3f}")
        self.reliability_plot.legend.addItem(self.reliability_after, f"scaled · ECE {s['ece_after_temperature']:.3f}")
        self.reliability_before.setData(*finite(s["reliability"]))
        self.reliability_after.setData(*finite(s["reliability_after_temperature"]))
        hist = r.histograms
        counts, edges = hist["entropy"]
        self.entropy_bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self.entropy_plot.plot_item.enableAutoRange()
        if "mutual_information" in hist:
            counts, edges = hist["mutual_information"]
            self.mi_bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
            self.mi_bars.setVisible(True)
            self.mi_threshold.setValue(a.get("ood_threshold", 0.0))
            self.mi_threshold.setVisible("ood_threshold" in a)
            self.mi_plot.set_placeholder(None)
            self.mi_plot.plot_item.enableAutoRange()
        else:
            self.mi_bars.setVisible(False)
            self.mi_threshold.setVisible(False)
            self.mi_plot.set_placeholder("Mutual information (the model's own uncertainty) needs several "
                                         "predictions per sample: choose MC dropout or a deep ensemble.")
        if c:
            sizes = np.asarray(c["set_size_counts"])
            self.sets_bars.setOpts(x=np.arange(len(sizes)), height=sizes, width=0.7)
            self.sets_plot.plot_item.getAxis("bottom").setTicks([[(i, str(i)) for i in range(len(sizes))]])
            self.sets_bars.setVisible(True)
            self.sets_plot.set_placeholder(None)
            self.sets_plot.plot_item.enableAutoRange()
        else:
            self.sets_bars.setVisible(False)
            self.sets_plot.set_placeholder("Conformal sets need a calibration split.")

    # -- per sample ----------------------------------------------------------------------------------
    def show_all_samples(self) -> None:
        if self.result is None:
            return
        a = self.result.uncertainty.arrays
        idx = np.arange(len(a["index"]))
        title = f"Every {self.split_name} sample, most uncertain first"
        if self.flagged_check.isChecked() and "ood" in a:
            idx = np.flatnonzero(a["ood"])
            title = "Inputs unlike the training data (epistemic uncertainty above its 99th percentile)"
        self.browse(idx, title)

    def browse(self, idx: np.ndarray, title: str) -> None:
        a = self.result.uncertainty.arrays
        rows = np.asarray(a["index"])[idx]
        if self.result.problem == "regression":
            cols = {"row": rows, "true": a["y_true"][idx], "predicted": a["mean"][idx]}
            if "sigma" in a:
                cols.update({"σ": a["sigma"][idx], "|error|/σ": np.abs(a["z"][idx])})
                sort_by = "σ epistemic" if "sigma_epistemic" in a else "σ"
                caption = lambda i: f"{cols['predicted'][i]:.3g} ± {cols['σ'][i]:.2g}"
            else:                       # no calibration split: no error bars, the errors themselves
                cols["|error|"] = np.abs(a["mean"][idx] - a["y_true"][idx])
                sort_by = "|error|"
                caption = lambda i: f"{cols['predicted'][i]:.3g}"
            if "sigma_epistemic" in a:
                cols["σ epistemic"] = a["sigma_epistemic"][idx]
            if "conformal_low" in a:
                cols["conformal low"] = a["conformal_low"][idx]
                cols["conformal high"] = a["conformal_high"][idx]
        else:
            names = np.asarray(self.session.prepared.class_names or
                               [str(i) for i in range(int(a["y_pred"].max()) + 1)])
            # the sort column first after the labels, where the eye lands
            pred = self.predicted(a)
            cols = {"row": rows, "true": names[a["y_true"][idx]], "predicted": names[pred[idx]]}
            if "mutual_information" in a:
                cols["mutual info"] = a["mutual_information"][idx]
            cols.update({"entropy": a["entropy"][idx], "confidence": a["confidence"][idx],
                         "after T": a["confidence_scaled"][idx]})
            if "set_size" in a:
                cols["set size"] = a["set_size"][idx]
            if "conformal_set" in a:
                cols["conformal set"] = set_names(a["conformal_set"][idx], names)
            sort_by = "mutual info" if "mutual_information" in a else "entropy"
            caption = lambda i: f"{cols['predicted'][i]} {cols['confidence'][i]:.2f}\nH {cols['entropy'][i]:.2f}"
        if "ood" in a:
            cols["unlike training"] = a["ood"][idx]
        cols.update(dataset_columns(self.session.dataset, rows,
                                    skip={getattr(self.session.prepared, "target_name", None)} | set(cols)))
        self.browser.set_samples(
            title, cols, sort_by=sort_by, descending=True, images=image_source(self.session.dataset, rows),
            caption=caption, flag_column="unlike training" if "ood" in a else None,
            tips={"σ": "Predicted standard deviation (data units)",
                  "|error|/σ": "How many σ the prediction misses by; above 2 happens to 5% of samples "
                               "when the error bars are right",
                  "σ epistemic": "The spread of the MC dropout passes or ensemble members: the model's "
                                 "own uncertainty",
                  "after T": "Confidence after temperature scaling",
                  "entropy": "Predictive entropy (nats): 0 certain, log K a coin toss",
                  "mutual info": "Mutual information (nats): the model's own (epistemic) part",
                  "set size": "Classes in the conformal prediction set",
                  "conformal set": "The classes plausible at the conformal level; an empty set means none "
                                   "is: abstain, and look at the sample",
                  "predicted": "The class the project's decision rule gives (its positive class and "
                               "threshold, set in Diagnostics)",
                  "unlike training": "Out-of-distribution score above the 99th percentile of the same score "
                                     "on held-out data (the calibration split)"})

    def predicted(self, a: dict) -> np.ndarray:
        """The predicted class of every sample under the project's decision rule (the threshold
        chosen in Diagnostics), else the most probable class."""
        from nnstudio.core.evaluation import predicted_labels

        rule = self.session.project.decision
        proba = np.asarray(a["proba"])
        k = proba.shape[1] if proba.ndim == 2 else 2
        if rule.threshold is None or rule.positive is None or rule.positive >= k:
            return np.asarray(a["y_pred"])
        return predicted_labels(proba, rule.threshold, rule.positive)

    def _on_project_edited(self, what: str) -> None:
        if what == "decision" and self.result is not None and self.result.problem == "classification":
            self.show_all_samples()
        elif what in ("model", "runs", "run"):
            self._update_enabled()

    def _points_clicked(self, _item, points, _ev=None) -> None:
        idx = np.unique([int(p.data()) for p in points])
        self.browse(idx, "Selected point" + ("s" if len(idx) > 1 else ""))

    def _hist_clicked(self, ev, plot: ThemedPlot, name: str) -> None:
        from nnstudio.core.evaluation import bin_members
        from nnstudio.gui.widgets.themed_plot import clicked_bin

        if self.result is None or name not in self.result.uncertainty.histograms:
            return
        counts, edges = self.result.uncertainty.histograms[name]
        i = clicked_bin(plot, ev, edges)
        if i is not None:
            idx = bin_members(self.result.uncertainty.arrays[name], edges, i)
            label = name.replace("_", " ").capitalize()
            self.browse(idx, f"{label} from {fmt_number(edges[i], 3)} to {fmt_number(edges[i + 1], 3)}")


if __name__ == "__main__":
    import sys

    from nnstudio.gui.preview import preview_application, preview_session

    app = preview_application()
    session, result = preview_session("classification" if "--classification" in sys.argv else "regression", 3000)
    session.project.uncertainty.method = "heteroscedastic"    # no automatic computing in the preview
    panel = UncertaintyPanel(session)
    panel.show_result(result)
    panel.resize(1180, 800)
    panel.show()
    sys.exit(app.exec())
