"""The Diagnostics panel: how good the trained model is, on data it never trained on.

Evaluation runs in a worker (``core.uncertainty_jobs.evaluate_split``: predictions, metrics,
curves); the GUI thread only draws and, when the threshold slider moves, recomputes the confusion
matrix and the operating point with cheap numpy calls (``confusion_at``, ``operating_point``).
Clicking a confusion cell, a point or a histogram bar lists those samples in the sample browser.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.errors import Cancelled, NnstudioError
from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.diagnostics.baselines import BaselineCard, baseline_curves, show_baseline_points
from nnstudio.gui.panels.diagnostics.decision import ARGMAX, project_decision, store_decision, test_split_warning
from nnstudio.gui.panels.diagnostics.heatmap import ConfusionHeatmap
from nnstudio.gui.panels.diagnostics.why import WhyCard
from nnstudio.gui.widgets.legend import mark_guide
from nnstudio.gui.widgets.sample_browser import (
    SampleBrowser,
    dataset_columns,
    image_source,
)
from nnstudio.gui.widgets.themed_plot import ThemedPlot, colour

SPLITS = [("test", "Test split"), ("val", "Validation split (used for early stopping)")]
SPLIT_NAMES = {"test": "test", "val": "validation"}
THRESHOLD_MS = 50           # at most ~20 threshold redraws a second while the slider is dragged
MISTAKES_LIMIT = 500
CURVE_POINTS = 1000


def _f(v) -> str:
    if v is None:
        return "—"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(v):
        return "—"
    return f"{v:.3f}"


class DiagnosticsPanel(Panel):
    key = "diagnostics"
    title = "Diagnostics"
    # "run" first: with nothing loaded, point at training (whose own page then leads to the data)
    requires = ("run", "data")

    # declared messages (keys of self.messages)
    MSG_NOTES = "notes"
    MSG_EXPORT = "export"
    MSG_SPLIT = "split"
    MSG_DECISION = "decision"

    def build(self) -> QWidget:
        self.result: dict | None = None
        self.diag = None
        self.arrays: dict | None = None
        self._threshold = 0.5
        self._positive: int = 1
        self._cm = None
        self._eval_key = None
        self._failed_key = None
        self._pending_threshold = False
        self._thr_timer = QTimer(self)
        self._thr_timer.setSingleShot(True)
        self._thr_timer.setInterval(THRESHOLD_MS)
        self._thr_timer.timeout.connect(self._threshold_tick)

        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._build_top_bar())
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setObjectName("hint")
        self.hint_label.setStyleSheet("QLabel#hint { border-left: 4px solid rgba(44,160,44,0.8); "
                                      "background: rgba(44,160,44,0.10); padding: 4px 8px; }")
        self.hint_label.setVisible(False)
        lay.addWidget(self.hint_label)

        self.body = QStackedWidget()
        self.empty_label = QLabel("Evaluate the trained model on the held-out test split to see its "
                                  "confusion matrix or residuals, ROC and precision–recall curves.")
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.body.addWidget(self.empty_label)

        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self._build_classification_plots())
        self.plot_stack.addWidget(self._build_regression_plots())
        self.control_stack = QStackedWidget()
        self.control_stack.addWidget(self._build_classification_controls())
        self.control_stack.addWidget(self._build_regression_controls())
        self.browser = SampleBrowser()
        self.browser.enable_explain(lambda: (self.session.project, self.session.prepared, self.session.dataset))
        bottom = QSplitter(Qt.Horizontal)
        bottom.setChildrenCollapsible(False)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.control_stack, "Metrics")
        self.baseline_card = BaselineCard()
        self.baseline_card.formula_submitted.connect(self._on_formula)
        self.side_tabs.addTab(self.baseline_card, "Beside the network")
        self.side_tabs.setTabToolTip(1, "Models without a network and the project's physical formula, fitted "
                                        "on the training split and scored on the same samples")
        self.why_card = WhyCard(lambda: (self.session.project, self.session.prepared, self.split))
        self.side_tabs.addTab(self.why_card, "Why")     # table data only: which inputs the network relies on
        bottom.addWidget(self.side_tabs)
        bottom.addWidget(self.browser)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 3)
        bottom.setSizes([440, 660])
        main = QSplitter(Qt.Vertical)
        main.setChildrenCollapsible(False)
        main.addWidget(self.plot_stack)
        main.addWidget(bottom)
        main.setStretchFactor(0, 5)
        main.setStretchFactor(1, 4)
        main.setSizes([380, 300])
        self.body.addWidget(main)
        lay.addWidget(self.body, 1)

        s = self.session
        s.run_finished.connect(self._on_run_finished)
        s.prepared_changed.connect(self.clear_result)
        s.project_changed.connect(self.clear_result)
        return w

    # -- building --------------------------------------------------------------------------------
    def _build_top_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Evaluate on"))
        self.split_combo = QComboBox()
        for key, label in SPLITS:
            self.split_combo.addItem(label, key)
        self.split_combo.setToolTip("The test split is never used in training; the validation split "
                                    "chose the best epoch, so its figures are slightly optimistic.")
        self.split_combo.currentIndexChanged.connect(self._on_split_changed)
        row.addWidget(self.split_combo)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Predict the chosen split with the active run's model")
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        row.addWidget(self.evaluate_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 3)
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        row.addWidget(self.progress)
        self.state_label = QLabel("")
        row.addWidget(self.state_label, 1)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Plots as PNG and SVG…", self._export_plots_dialog)
        menu.addAction("Metrics as CSV…", lambda: self._save_dialog("csv", "CSV files (*.csv)", self.export_csv))
        menu.addAction("Metrics as JSON…", lambda: self._save_dialog("json", "JSON files (*.json)", self.export_json))
        menu.addSeparator()
        menu.addAction("HTML report…", lambda: self._save_dialog("html", "HTML files (*.html)", self.export_report))
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        row.addWidget(self.export_button)
        return row

    def _build_classification_plots(self) -> QWidget:
        page = QWidget()
        lay = QHBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(2)
        self.heatmap = ConfusionHeatmap()
        self.heatmap.cellClicked.connect(self.show_cell)
        ll.addWidget(self.heatmap, 1)
        toggle = QHBoxLayout()
        toggle.addWidget(QLabel("Show"))
        self.counts_radio = QRadioButton("counts")
        self.fraction_radio = QRadioButton("row fractions (recall)")
        self.counts_radio.setChecked(True)
        group = QButtonGroup(page)
        group.addButton(self.counts_radio)
        group.addButton(self.fraction_radio)
        self.counts_radio.toggled.connect(lambda _on: self._draw_confusion())
        toggle.addWidget(self.counts_radio)
        toggle.addWidget(self.fraction_radio)
        toggle.addStretch(1)
        ll.addLayout(toggle)
        # legends where the curves leave room: ROC bottom right, precision-recall bottom left
        self.roc_plot = ThemedPlot("ROC", "false positive rate", "true positive rate", legend=True,
                                   legend_offset=(-8, -8))
        self.pr_plot = ThemedPlot("Precision–recall", "recall", "precision", legend=True,
                                  legend_offset=(8, -8))
        for p in (self.roc_plot, self.pr_plot):
            p.plot_item.setXRange(0, 1, padding=0.02)
            p.plot_item.setYRange(0, 1.02, padding=0.02)
            p.plot_item.setLimits(xMin=-0.05, xMax=1.05, yMin=-0.05, yMax=1.1)
        self.roc_diagonal = mark_guide(self.roc_plot.plot_item.plot(
            [0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.DashLine)))
        self.pr_chance = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.DashLine))
        self.pr_plot.plot_item.addItem(self.pr_chance, ignoreBounds=True)
        self.roc_curves: list[pg.PlotDataItem] = []
        self.pr_curves: list[pg.PlotDataItem] = []
        marker = {"size": 13, "pen": pg.mkPen((0, 0, 0), width=1.5), "brush": pg.mkBrush(255, 140, 0), "symbol": "o"}
        self.roc_marker = pg.ScatterPlotItem(**marker)
        self.pr_marker = pg.ScatterPlotItem(**marker)
        for m, p in ((self.roc_marker, self.roc_plot), (self.pr_marker, self.pr_plot)):
            m.setZValue(30)
            p.plot_item.addItem(m)
        lay.addWidget(left, 1)
        lay.addWidget(self.roc_plot, 1)
        lay.addWidget(self.pr_plot, 1)
        return page

    def _build_regression_plots(self) -> QWidget:
        page = QWidget()
        lay = QHBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        self.scatter_plot = ThemedPlot("Predicted against true", "true", "predicted", legend=True, legend_offset=(8, 8))
        self.residual_plot = ThemedPlot("Residuals against true", "true", "predicted − true")
        self.hist_plot = ThemedPlot("Residual histogram", "predicted − true", "samples")
        brush = pg.mkBrush(31, 119, 180, 110)
        self.scatter_points = pg.ScatterPlotItem(size=5, pen=None, brush=brush, hoverable=False)
        self.scatter_points.sigClicked.connect(self._points_clicked)
        self.one_to_one = pg.PlotDataItem(pen=pg.mkPen((214, 39, 40), width=1.5, style=Qt.DashLine))
        # a baseline's predictions of the same samples, grey and behind the network's
        self.baseline_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(128, 128, 128, 90))
        self.scatter_plot.plot_item.addItem(self.baseline_points)
        self.scatter_plot.plot_item.addItem(self.scatter_points)
        self.scatter_plot.plot_item.addItem(self.one_to_one)
        self.residual_points = pg.ScatterPlotItem(size=5, pen=None, brush=brush)
        self.residual_points.sigClicked.connect(self._points_clicked)
        self.residual_plot.plot_item.addItem(self.residual_points)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((214, 39, 40), width=1.5, style=Qt.DashLine))
        self.residual_plot.plot_item.addItem(self.zero_line, ignoreBounds=True)
        self.outlier_lines = [pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.DotLine))
                              for _ in range(2)]
        for line in self.outlier_lines:
            self.residual_plot.plot_item.addItem(line, ignoreBounds=True)
        self.hist_bars = pg.BarGraphItem(x0=[0], x1=[1], height=[0], brush=pg.mkBrush(31, 119, 180, 170),
                                         pen=pg.mkPen((31, 119, 180)))
        self.hist_plot.plot_item.addItem(self.hist_bars)
        self.hist_selected = pg.BarGraphItem(x0=[0], x1=[0], height=[0], brush=pg.mkBrush(255, 140, 0, 200),
                                             pen=pg.mkPen((255, 140, 0)))
        self.hist_plot.plot_item.addItem(self.hist_selected)
        self.hist_plot.scene().sigMouseClicked.connect(self._hist_clicked)
        for p in (self.scatter_plot, self.residual_plot, self.hist_plot):
            lay.addWidget(p, 1)
        return page

    def _build_classification_controls(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        grid = QGridLayout()
        grid.addWidget(QLabel("Positive class"), 0, 0)
        self.positive_combo = QComboBox()
        self.positive_combo.currentIndexChanged.connect(self._on_positive_changed)
        grid.addWidget(self.positive_combo, 0, 1)
        grid.addWidget(QLabel("Threshold"), 1, 0)
        from superqt import QLabeledDoubleSlider

        self.threshold_slider = QLabeledDoubleSlider(Qt.Horizontal)
        self.threshold_slider.setRange(0.0, 1.0)
        self.threshold_slider.setDecimals(3)
        self.threshold_slider.setSingleStep(0.01)
        self.threshold_slider.setValue(0.5)
        self.threshold_slider.setToolTip("Predict the positive class when its probability is at least "
                                         "this; the ROC and PR markers, the matrix and the numbers follow.")
        self.threshold_slider.valueChanged.connect(self._on_slider)
        grid.addWidget(self.threshold_slider, 1, 1)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        self.op_label = QLabel(" ")
        self.op_label.setWordWrap(True)
        self.op_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.op_label)
        self.summary_label = QLabel(" ")
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        f = self.summary_label.font()
        f.setBold(True)
        self.summary_label.setFont(f)
        lay.addWidget(self.summary_label)
        self.metrics_table = QTableWidget(0, 6)
        self.metrics_table.setHorizontalHeaderLabels(["precision", "recall", "F1", "support", "AUC", "AP"])
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.metrics_table.verticalHeader().setDefaultSectionSize(22)
        self.metrics_table.setEditTriggers(QTableWidget.NoEditTriggers)
        lay.addWidget(self.metrics_table, 1)
        row = QHBoxLayout()
        self.mistakes_button = QPushButton("Most confident mistakes")
        self.mistakes_button.setToolTip("Wrong predictions, the most confident first")
        self.mistakes_button.clicked.connect(self.show_confident_mistakes)
        row.addWidget(self.mistakes_button)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    def _build_regression_controls(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        self.reg_table = QTableWidget(0, 3)
        self.reg_table.setHorizontalHeaderLabels(["metric", "value", "95% interval"])
        self.reg_table.horizontalHeaderItem(2).setToolTip(
            "From resampling the evaluated samples (bootstrap, 1,000 resamples): how much the figure "
            "would move on another draw of the same size.")
        self.reg_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.reg_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.reg_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.reg_table.verticalHeader().setVisible(False)
        self.reg_table.verticalHeader().setDefaultSectionSize(22)
        self.reg_table.setEditTriggers(QTableWidget.NoEditTriggers)
        lay.addWidget(self.reg_table, 1)
        row = QHBoxLayout()
        self.worst_button = QPushButton("Largest errors")
        self.worst_button.setToolTip("The samples with the largest |predicted − true|")
        self.worst_button.clicked.connect(self.show_largest_errors)
        row.addWidget(self.worst_button)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    # -- evaluation ------------------------------------------------------------------------------
    @property
    def split(self) -> str:
        return self.split_combo.currentData()

    def set_split(self, split: str) -> None:
        self.split_combo.setCurrentIndex([k for k, _ in SPLITS].index(split))

    def _key(self):
        p = self.session.project
        run = p.run()
        return (id(p), run.id if run else None, self.split, id(self.session.prepared))

    def evaluate(self) -> None:
        """Evaluate the active run on the chosen split in the background."""
        from nnstudio.core.workflow.evaluate import evaluate as evaluate_run

        if self.missing() is not None:
            return
        self.messages.clear("error")
        self._eval_key = self._key()
        if not self._run_fits():
            return
        self.evaluate_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.state_label.setText(f"Evaluating on the {SPLIT_NAMES[self.split]} split…")
        self.status.emit("Evaluating…")
        job = self.start_job(evaluate_run, self.session.project, split=self.split,
                             prepared=self.session.prepared, on_done=self._on_evaluated,
                             on_error=self._on_eval_error, name="evaluate")
        job.progress.connect(lambda done, total, text: self.progress.setValue(int(done)))
        job.finished.connect(self._on_job_finished)
        self._job_key = self._eval_key

    def _run_fits(self) -> bool:
        """Refuse, in one sentence, a model trained on other inputs than the data now prepared."""
        from nnstudio.core.workflow.compat import check_run_fits

        try:
            check_run_fits(self.session.project, self.session.prepared)
        except NnstudioError as exc:
            self._failed_key = self._eval_key
            self.state_label.setText("")
            self.messages.error("error", exc.message)
            return False
        return True

    def _on_job_finished(self) -> None:
        if self.job is None or not self.job.running:
            self.evaluate_button.setEnabled(True)
            self.progress.setVisible(False)

    def _on_eval_error(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        self._failed_key = self._eval_key
        self.state_label.setText("Evaluation failed")
        self.show_error(exc)

    def _on_evaluated(self, result) -> None:
        if self._job_key != self._key():   # the project, run, data or split changed meanwhile
            return
        self.show_result(result)
        self.session.set_evaluation(result)

    def _on_run_finished(self, _record=None) -> None:
        self.result = None
        if self.missing() is None:
            self.evaluate()

    def _on_split_changed(self, _i) -> None:
        if self.result is not None and self.result.split != self.split:
            self.evaluate()

    def _maybe_evaluate(self) -> None:
        if (self.result is None and self.isVisible() and self.missing() is None
                and not (self.job is not None and self.job.running) and self._failed_key != self._key()):
            self.evaluate()

    def refresh(self) -> None:
        self._maybe_evaluate()

    def showEvent(self, e):
        super().showEvent(e)
        QTimer.singleShot(0, self._maybe_evaluate)

    def clear_result(self) -> None:
        self.result = self.diag = self.arrays = None
        self._cm = None
        self._failed_key = None
        self.body.setCurrentIndex(0)
        self.export_button.setEnabled(False)
        self.hint_label.setVisible(False)
        self.state_label.setText("")
        self.browser.clear()
        self.messages.clear(self.MSG_NOTES)
        self.baseline_card.clear()
        self.why_card.clear()

    # -- showing a result --------------------------------------------------------------------------
    def show_result(self, result) -> None:
        """Draw an :class:`EvaluationResult` (also used by the preview)."""
        self.result = result
        self.diag = result.diagnostics
        self.arrays = result.arrays
        split = result.split_label
        run = f" · {result.run}" if result.run else ""
        self.state_label.setText(f"{split.capitalize()} split · {result.n} samples{run}")
        if result.split == "val":
            self.messages.warning(self.MSG_SPLIT, "Showing the validation split: it chose the best epoch "
                                  "(early stopping), so these figures are slightly optimistic. The test "
                                  "split gives the honest ones.")
        else:
            self.messages.clear(self.MSG_SPLIT)
        hint = result.hint
        self.hint_label.setText("Learning curves: " + (hint or "training and validation loss behaved; "
                                                       "no sign of over- or under-fitting."))
        self.hint_label.setVisible(True)
        notes = list(getattr(self.diag, "notes", []) or [])
        if notes:
            self.messages.info(self.MSG_NOTES, " ".join(notes))
        else:
            self.messages.clear(self.MSG_NOTES)
        self.browser.clear()
        if result.problem == "classification":
            self._show_classification(split)
        else:
            self._show_regression(split)
        self._show_baselines(result)
        self.why_card.clear()
        self.side_tabs.setTabVisible(2, getattr(self.session.prepared, "kind", None) == "table")
        self.body.setCurrentIndex(1)
        self.export_button.setEnabled(True)

    def _show_baselines(self, result) -> None:
        prepared, project = self.session.prepared, self.session.project
        table = prepared is not None and prepared.kind == "table" and result.problem == "regression"
        self.baseline_card.set_columns(prepared.feature_names if table else [], project.physics.formula,
                                       enabled=table, why="" if table else
                                       "A formula is written over a table's columns and predicts a number: "
                                       "it applies to regression on tables.")
        self.baseline_card.show_result(result)

    def _on_formula(self, text: str) -> None:
        from nnstudio.core.project import PhysicsSettings

        project = self.session.project
        if (project.physics.formula or "") != text:
            project.physics = PhysicsSettings(text or None)
            project.mark_changed("physics")
        self.evaluate()

    def _show_classification(self, split: str) -> None:
        d = self.diag
        k = d.n_classes
        self.plot_stack.setCurrentIndex(0)
        self.control_stack.setCurrentIndex(0)
        self.heatmap.set_title(f"Confusion matrix · {split}")
        self.roc_plot.set_title(f"ROC · {split}")
        self.pr_plot.set_title(f"Precision–recall · {split}")
        self.positive_combo.blockSignals(True)
        self.positive_combo.clear()
        if k > 2:
            self.positive_combo.addItem("none: most probable class", ARGMAX)
        for i, name in enumerate(d.class_names):
            self.positive_combo.addItem(name, i)
        self._positive, self._threshold = project_decision(self.session.project, k)
        self.positive_combo.setCurrentIndex(self.positive_combo.findData(self._positive))
        self.positive_combo.blockSignals(False)
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(self._threshold)
        self.threshold_slider.blockSignals(False)
        self._say_where_decided()
        self._draw_curves()
        self.apply_threshold()

    def _draw_curves(self) -> None:
        d = self.diag
        for item in self.roc_curves:
            self.roc_plot.plot_item.removeItem(item)
        for item in self.pr_curves:
            self.pr_plot.plot_item.removeItem(item)
        for p in (self.roc_plot, self.pr_plot):
            p.legend.clear()
        self.roc_curves, self.pr_curves = [], []
        shown = range(d.n_classes) if d.n_classes > 2 else [d.positive]
        for i in shown:
            c = d.curves[i].to_dict(CURVE_POINTS)
            pen = pg.mkPen(colour(i), width=2)
            if c["auc"] is not None:
                item = self.roc_plot.plot_item.plot(c["roc"]["fpr"], c["roc"]["tpr"], pen=pen,
                                                   name=f"{c['label']} (AUC {_f(c['auc'])})")
                item.class_index = i
                self.roc_curves.append(item)
            if c["average_precision"] is not None:
                item = self.pr_plot.plot_item.plot(c["pr"]["recall"], c["pr"]["precision"], pen=pen,
                                                  name=f"{c['label']} (AP {_f(c['average_precision'])})")
                item.class_index = i
                self.pr_curves.append(item)
        if d.n_classes == 2 and self.result is not None:       # the baselines, dashed grey
            pen = pg.mkPen((128, 128, 128), width=1.5, style=Qt.DashLine)
            for label, c in baseline_curves(self.result, d.positive):
                self.roc_curves.append(self.roc_plot.plot_item.plot(*c["roc"], pen=pen,
                                                                    name=f"{label} (AUC {_f(c['auc'])})"))
                self.pr_curves.append(self.pr_plot.plot_item.plot(
                    *c["pr"], pen=pen, name=f"{label} (AP {_f(c['average_precision'])})"))

    # -- the threshold ------------------------------------------------------------------------------
    @property
    def threshold(self) -> float | None:
        return None if self._positive == ARGMAX else self._threshold

    @property
    def positive(self) -> int:
        return self.diag.positive if self._positive == ARGMAX else self._positive

    def _store_decision(self) -> None:
        store_decision(self.session.project, self._positive, self._threshold, self.split)
        self._say_where_decided()

    def _say_where_decided(self) -> None:
        text = test_split_warning(self.session.project.decision)
        if text:
            self.messages.warning(self.MSG_DECISION, text)
        else:
            self.messages.clear(self.MSG_DECISION)

    def _on_positive_changed(self, _i) -> None:
        data = self.positive_combo.currentData()
        if data is None or self.diag is None:
            return
        self._positive = int(data)
        self.apply_threshold()
        self._store_decision()

    def _on_slider(self, value: float) -> None:
        self._threshold = float(value)
        if self.diag is not None:
            self._store_decision()
        if self._thr_timer.isActive():
            self._pending_threshold = True
        else:
            self.apply_threshold()
            self._thr_timer.start()

    def _threshold_tick(self) -> None:
        if self._pending_threshold:
            self._pending_threshold = False
            self.apply_threshold()
            self._thr_timer.start()

    def apply_threshold(self) -> None:
        """Confusion matrix, numbers and curve markers at the current threshold (cheap numpy)."""
        from nnstudio.core.evaluation import (
            confusion_at,
            metrics_from_confusion,
            operating_point,
        )

        if self.diag is None or self.result.problem != "classification":
            return
        a, d = self.arrays, self.diag
        thr = self.threshold
        self.threshold_slider.setEnabled(thr is not None)
        self._cm = confusion_at(a["y_true"], a["proba"], thr, self.positive)
        self._metrics = metrics_from_confusion(self._cm)
        self._draw_confusion()
        self._fill_metrics_table()
        m = self._metrics
        ci = self.result.metrics_ci
        # the intervals are of the evaluated decision; the curves' areas do not depend on it
        default = (thr == d.threshold and self.positive == d.positive) or (thr is None and d.n_classes > 2)
        areas = (f"ROC AUC {_f(d.roc_auc)}" + (" (macro)" if d.n_classes > 2 else "")
                 + (self._ci("roc_auc") if self.positive == d.positive else ""))
        precision_area = (f"average precision {_f(d.average_precision)}"
                          + (self._ci("average_precision") if self.positive == d.positive else ""))
        accuracy = f"ccuracy {_f(m['accuracy'])}{self._ci('accuracy') if default else ''}"
        if self.result.imbalanced:  # accuracy rewards saying the common class: what matters comes first
            support = np.asarray(m["support"])
            rare = int(np.argmin(np.where(support > 0, support, np.inf)))
            same = default and d.n_classes == 2 and rare == d.positive
            self.summary_label.setText(
                f"Balanced accuracy {_f(m['macro']['recall'])}{self._ci('balanced_accuracy') if default else ''}"
                f" · recall of {d.class_names[rare]} {_f(m['recall'][rare])}{self._ci('recall') if same else ''}"
                f" · {precision_area} · {areas} · a{accuracy}")
        else:
            self.summary_label.setText(f"A{accuracy} · {areas} · {precision_area}")
        self.summary_label.setToolTip("In brackets: 95% intervals from resampling the evaluated samples "
                                      "(bootstrap, 1,000 resamples, stratified by class)." if ci else "")
        if thr is None:
            for mk in (self.roc_marker, self.pr_marker):
                mk.setData([], [])
            self.op_label.setText("Each sample is given its most probable class. Pick a positive class "
                                  "to move a threshold along its one-vs-rest curves.")
            self.pr_chance.setVisible(False)
            return
        curves = d.curves[self.positive]
        fpr, tpr, precision, recall = operating_point(curves, thr)
        self.roc_marker.setData([fpr], [tpr])
        self.pr_marker.setData([recall], [precision])
        total = curves.n_pos + curves.n_neg
        self.pr_chance.setValue(curves.n_pos / total if total else 0)
        self.pr_chance.setVisible(True)
        name = d.class_names[self.positive]
        rule = ("" if d.n_classes == 2 else
                " (samples below it get the most probable other class)")
        self.op_label.setText(
            f"'{name}' when P({name}) ≥ {thr:.3f}{rule}: recall (TPR) {_f(tpr)} · false positive rate "
            f"{_f(fpr)} · precision {_f(precision)}")

    @property
    def confusion(self) -> np.ndarray | None:
        """The confusion matrix (counts) now shown."""
        return None if self._cm is None else self._cm.copy()

    def _draw_confusion(self) -> None:
        from nnstudio.core.evaluation import normalise_rows

        if self._cm is None:
            return
        cm = self._cm
        frac = normalise_rows(cm)
        if self.fraction_radio.isChecked():
            texts = [[f"{v:.2f}" for v in row] for row in frac]
        else:
            texts = [[str(int(v)) for v in row] for row in cm]
        self.heatmap.set_matrix(frac, texts, self.diag.class_names)

    def _ci(self, key: str) -> str:
        lo_hi = self.result.metrics_ci.get(key) if self.result is not None else None
        return f" {fmt_interval(*lo_hi)}" if lo_hi else ""

    def _fill_metrics_table(self) -> None:
        d, m = self.diag, self._metrics
        names = list(d.class_names) + ["macro average", "weighted average"]
        t = self.metrics_table
        t.setRowCount(len(names))
        t.setVerticalHeaderLabels(names)
        for i, name in enumerate(d.class_names):
            c = d.curves[i]
            values = [_f(m["precision"][i]), _f(m["recall"][i]), _f(m["f1"][i]), str(int(m["support"][i])),
                      _f(c.auc), _f(c.average_precision)]
            self._set_row(t, i, values)
        n = int(np.sum(m["support"]))
        for j, avg in enumerate(("macro", "weighted")):
            values = [_f(m[avg]["precision"]), _f(m[avg]["recall"]), _f(m[avg]["f1"]), str(n),
                      _f(d.roc_auc_macro) if avg == "macro" else "", ""]
            self._set_row(t, len(d.class_names) + j, values)

    @staticmethod
    def _set_row(t: QTableWidget, row: int, values) -> None:
        for col, v in enumerate(values):
            item = t.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(row, col, item)
            item.setText(v)

    def metrics_rows(self) -> dict[str, list[str]]:
        """The metrics table as text (row header -> cells), for tests and quick checks."""
        t = self.metrics_table if self.result and self.result.problem == "classification" else self.reg_table
        out = {}
        for r in range(t.rowCount()):
            head = t.verticalHeaderItem(r).text() if t.verticalHeaderItem(r) else t.item(r, 0).text()
            out[head] = [t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())]
        return out

    def set_threshold(self, value: float, positive: int | None = None) -> None:
        """Move the slider (and optionally pick the positive class) as a person would."""
        if positive is not None:
            self.positive_combo.setCurrentIndex(self.positive_combo.findData(positive))
        self.threshold_slider.setValue(value)

    # -- the sample browser --------------------------------------------------------------------------
    def current_predictions(self) -> np.ndarray:
        from nnstudio.core.evaluation import predicted_labels

        return predicted_labels(self.arrays["proba"], self.threshold, self.positive)

    def show_cell(self, true_class: int, pred_class: int) -> None:
        from nnstudio.core.evaluation import cell_indices

        if self.diag is None:
            return
        pred = self.current_predictions()
        idx = cell_indices(self.arrays["y_true"], pred, true_class, pred_class)
        names = self.diag.class_names
        self.heatmap.select_cell(true_class, pred_class)
        what = "correct" if true_class == pred_class else "wrong"
        self._browse_classification(idx, pred, f"True '{names[true_class]}', predicted "
                                               f"'{names[pred_class]}' ({what})")

    def show_confident_mistakes(self) -> None:
        from nnstudio.core.evaluation import confident_mistakes

        if self.diag is None:
            return
        idx = confident_mistakes(self.arrays["y_true"], self.arrays["proba"], self.threshold, self.positive,
                                 limit=MISTAKES_LIMIT)
        self.heatmap.clear_selection()
        self._browse_classification(idx, self.current_predictions(),
                                    "Most confident mistakes", sort_by="P(predicted)")

    def _probability_matrix(self) -> np.ndarray:
        p = np.asarray(self.arrays["proba"], dtype=np.float64)
        return np.stack([1.0 - p, p], axis=1) if p.ndim == 1 else p

    def _browse_classification(self, idx: np.ndarray, pred: np.ndarray, title: str,
                               sort_by: str = "P(predicted)") -> None:
        a, names = self.arrays, np.asarray(self.diag.class_names)
        p = self._probability_matrix()
        rows = np.asarray(a["index"])[idx]
        cols = {"row": rows, "true": names[a["y_true"][idx]], "predicted": names[pred[idx]],
                "P(predicted)": p[idx, pred[idx]]}
        if self.diag.n_classes == 2:
            cols[f"P({names[self.positive]})"] = p[idx, self.positive]
        cols["entropy"] = a["entropy"][idx] if "entropy" in a else np.zeros(len(idx))
        target = self.result.target
        cols.update(dataset_columns(self.session.dataset, rows, skip={target} | set(cols)))
        images = image_source(self.session.dataset, rows)
        true_names, pred_names, conf = cols["true"], cols["predicted"], cols["P(predicted)"]
        self.browser.set_samples(
            title, cols, sort_by=sort_by, images=images,
            caption=lambda i: f"{true_names[i]} → {pred_names[i]}\n{conf[i]:.2f}",
            tips={"row": "Row (or cutout) number in the original data",
                  "P(predicted)": "The model's probability for the class it predicted",
                  "entropy": "Predictive entropy in nats: 0 is certain, log K is a coin toss"})

    def _browse_regression(self, idx: np.ndarray, title: str) -> None:
        a = self.arrays
        rows = np.asarray(a["index"])[idx]
        res = np.asarray(a["residual"])[idx]
        cols = {"row": rows, "true": np.asarray(a["y_true"])[idx], "predicted": np.asarray(a["mean"])[idx],
                "residual": res, "|residual|": np.abs(res)}
        if "sigma" in a:
            cols["σ"] = np.asarray(a["sigma"])[idx]
        cols.update(dataset_columns(self.session.dataset, rows, skip={self.result.target} | set(cols)))
        images = image_source(self.session.dataset, rows)
        self.browser.set_samples(title, cols, sort_by="|residual|", images=images,
                                 caption=lambda i: f"{cols['true'][i]:.3g} → {cols['predicted'][i]:.3g}",
                                 tips={"residual": "predicted − true",
                                       "σ": "The predicted (or constant) standard deviation"})

    def show_largest_errors(self, limit: int = MISTAKES_LIMIT) -> None:
        if self.diag is None:
            return
        r = np.abs(np.asarray(self.arrays["residual"]))
        idx = np.argsort(-r, kind="stable")[:limit]
        self._browse_regression(idx, "Largest errors")

    def show_points(self, positions) -> None:
        idx = np.unique(np.asarray(positions, dtype=np.int64))
        self._browse_regression(idx, "Selected point" + ("s" if len(idx) > 1 else ""))

    def _points_clicked(self, _item, points, _ev=None) -> None:
        self.show_points([p.data() for p in points])

    def show_bin(self, i: int) -> None:
        from nnstudio.core.evaluation import bin_members

        d = self.diag
        idx = bin_members(d.residuals, d.hist_edges, i)
        lo, hi = d.hist_edges[i], d.hist_edges[i + 1]
        self.hist_selected.setOpts(x0=[lo], x1=[hi], height=[d.hist_counts[i]])
        self.hist_selected.setVisible(True)
        self._browse_regression(idx, f"Residuals from {fmt_number(lo)} to {fmt_number(hi)}")

    def _hist_clicked(self, ev) -> None:
        from nnstudio.gui.widgets.themed_plot import clicked_bin

        if self.diag is None or self.result.problem != "regression":
            return
        i = clicked_bin(self.hist_plot, ev, self.diag.hist_edges)
        if i is not None:
            self.show_bin(i)

    # -- regression ------------------------------------------------------------------------------------
    def _show_regression(self, split: str) -> None:
        d = self.diag
        self.plot_stack.setCurrentIndex(1)
        self.control_stack.setCurrentIndex(1)
        target = self.result.target or "target"
        self.scatter_plot.set_title(f"Predicted against true · {split}")
        self.residual_plot.set_title(f"Residuals against true · {split}")
        below, above = d.hist_below, d.hist_above
        extra = f" ({below} below, {above} above the range)" if below or above else ""
        self.hist_plot.set_title(f"Residual histogram · {split}")
        for p, (x, y) in ((self.scatter_plot, (f"true {target}", f"predicted {target}")),
                          (self.residual_plot, (f"true {target}", "predicted − true")),
                          (self.hist_plot, ("predicted − true" + extra, "samples"))):
            p.plot_item.setLabel("bottom", x)
            p.plot_item.setLabel("left", y)
        self.scatter_points.setData(d.plot_true, d.plot_pred, data=d.plot_index)
        lo = float(min(d.plot_true.min(), d.plot_pred.min()))
        hi = float(max(d.plot_true.max(), d.plot_pred.max()))
        self.one_to_one.setData([lo, hi], [lo, hi])
        show_baseline_points(self.scatter_plot.legend, self.baseline_points, self.scatter_points, self.result, d)
        self.residual_points.setData(d.plot_true, d.plot_residual, data=d.plot_index)
        self.outlier_lines[0].setValue(d.outlier_threshold)
        self.outlier_lines[1].setValue(-d.outlier_threshold)
        self.hist_bars.setOpts(x0=d.hist_edges[:-1], x1=d.hist_edges[1:], height=d.hist_counts)
        self.hist_selected.setVisible(False)
        for p in (self.scatter_plot, self.residual_plot, self.hist_plot):
            p.plot_item.enableAutoRange()
        ci = self.result.metrics_ci

        def interval(key, scale=1.0):
            lo_hi = ci.get(key)
            return fmt_interval(lo_hi[0] * scale, lo_hi[1] * scale) if lo_hi else ""

        rows = [("RMSE", fmt_number(d.rmse), interval("rmse")), ("MAE", fmt_number(d.mae), interval("mae")),
                ("R²", fmt_number(d.r2), interval("r2")),
                ("bias (mean residual)", fmt_number(d.bias), interval("bias")),
                ("scatter (NMAD)", fmt_number(d.scatter), interval("scatter")),
                (f"outlier fraction ({d.outlier_rule} = {fmt_number(d.outlier_threshold)})",
                 f"{100 * d.outlier_fraction:.2f}%", interval("outlier_fraction", 100.0)),
                ("samples", str(d.n_samples), "")]
        t = self.reg_table
        t.setRowCount(len(rows))
        for i, (name, value, band) in enumerate(rows):
            t.setItem(i, 0, QTableWidgetItem(name))
            for col, text in ((1, value), (2, band)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(i, col, item)

    # -- export -------------------------------------------------------------------------------------
    def plots(self) -> dict:
        """The plots now shown, by file name."""
        if self.result is None:
            return {}
        if self.result.problem == "classification":
            return {"confusion_matrix": self.heatmap, "roc": self.roc_plot, "precision_recall": self.pr_plot}
        return {"predicted_vs_true": self.scatter_plot, "residuals_vs_true": self.residual_plot,
                "residual_histogram": self.hist_plot}

    def current_diagnostics(self):
        """The diagnostics object at the decision shown now (threshold and positive class)."""
        from nnstudio.core.evaluation import diagnostics_at

        if self.result.problem != "classification" or self._cm is None:
            return self.diag
        return diagnostics_at(self.diag, self.arrays["y_true"], self.arrays["proba"], self.threshold,
                              self.positive, confusion=self._cm)

    def _require_result(self) -> None:
        if self.result is None:
            raise NnstudioError("Nothing to export yet: evaluate the model first.")

    def export_plots(self, folder, formats=("png", "svg")) -> list[Path]:
        from nnstudio.gui.widgets.plot_export import export_plots

        self._require_result()
        prefix = f"{self.result.run or 'run'}_{self.result.split}_"
        return export_plots(self.plots(), folder, formats, prefix=prefix)

    def export_csv(self, path) -> Path:
        from nnstudio.core.files import atomic_write_text

        self._require_result()
        atomic_write_text(Path(path), self.current_diagnostics().metrics_csv())
        return Path(path)

    def export_data(self) -> dict:
        """Everything the JSON export holds (strict JSON: NaN becomes null)."""
        from nnstudio.core.files import jsonable

        self._require_result()
        d = self.current_diagnostics()
        out = self.result.to_dict()
        out["diagnostics"] = d.to_dict()
        if self.result.problem == "classification":
            out["metrics_at_threshold"] = d.summary()
        return jsonable(out)

    def export_json(self, path) -> Path:
        from nnstudio.core.files import atomic_write_json

        return atomic_write_json(Path(path), self.export_data())

    def report_context(self) -> dict:
        from nnstudio.core.workflow.report import report_context

        self._require_result()
        shown = self.why_card.result or self.browser.explain_view.result     # what was computed, not a new job
        return report_context(self.session.project, self.result, self.session.prepared,
                              diagnostics=self.current_diagnostics(), explanation=shown)

    def export_report(self, path) -> Path:
        from nnstudio.core.evaluation import write_html_report

        write_html_report(Path(path), self.report_context())
        return Path(path)

    def _export_dir(self) -> str:
        p = self.session.project
        return str(p.folder if p.folder and p.folder.exists() else Path.home())

    def _save_dialog(self, suffix: str, filter_: str, writer) -> None:
        name = f"{self.result.run or 'run'}_{self.result.split}.{suffix}" if self.result else f"x.{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(Path(self._export_dir()) / name), filter_)
        if path:
            self._run_export(writer, path)

    def _export_plots_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export plots to folder", self._export_dir())
        if folder:
            self._run_export(self.export_plots, folder)

    def _run_export(self, writer, target) -> None:
        try:
            out = writer(target)
        except (NnstudioError, OSError) as exc:
            self.messages.error(self.MSG_EXPORT, f"Export failed: {exc}")
            return
        n = len(out) if isinstance(out, list) else 1
        self.messages.info(self.MSG_EXPORT, f"Exported {n} file{'s' if n != 1 else ''} to {target}.")


if __name__ == "__main__":
    import sys

    from nnstudio.gui.preview import preview_application, preview_session

    app = preview_application()
    session, result = preview_session("regression" if "--regression" in sys.argv else "classification")
    panel = DiagnosticsPanel(session)
    panel.show_result(result)
    panel.resize(1180, 800)
    panel.show()
    sys.exit(app.exec())
