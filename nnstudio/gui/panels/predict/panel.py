"""The Predict panel: a trained run on new data (a folder of cutouts, a FITS file, a table), its
catalog as a sortable, filterable table with thumbnails, best candidates first, the project's
decision threshold, a histogram of scores, and the selected rows exported for follow-up.

The prediction runs in a worker through ``core.workflow.predict.predict_project``; the panel only
draws its result.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.errors import Cancelled, NnstudioError
from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.predict.catalog_model import CatalogFilter, CatalogModel
from nnstudio.gui.widgets.themed_plot import ThemedPlot, colour

BAR_BRUSH = (31, 119, 180, 170)
DETAIL_SIZE = 192
EXPLAIN_DEFAULT = 4          # rows explained when none is selected: the first listed (best first)


class PredictPanel(Panel):
    key = "predict"
    title = "Predict"
    requires = ("run",)

    def build(self) -> QWidget:
        self.result = None
        self.input_paths: list[str] = []
        self.labels_path: str | None = None
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._build_input_row())
        lay.addLayout(self._build_decision_row())
        self.summary_label = QLabel("Choose new data the model never saw, then Predict.")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.summary_label)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: file name, id, class, flag…")
        self.filter_edit.setClearButtonEnabled(True)
        row.addWidget(self.filter_edit, 1)
        self.above_check = QCheckBox("Only above the threshold")
        row.addWidget(self.above_check)
        self.ood_check = QCheckBox("Only inputs unlike the training data")
        row.addWidget(self.ood_check)
        ll.addLayout(row)
        self.model = CatalogModel(self)
        self.proxy = CatalogFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        ll.addWidget(self.table, 1)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.ood_check.toggled.connect(self._on_filter)
        self.above_check.toggled.connect(self._on_filter)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.hist = ThemedPlot("Scores of the new data", "score", "rows")
        self.hist_bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=pg.mkBrush(*BAR_BRUSH), pen=None)
        self.hist.plot_item.addItem(self.hist_bars)
        self.threshold_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen(colour(3), width=2))
        self.threshold_line.sigPositionChangeFinished.connect(
            lambda line: self.threshold_spin.setValue(float(line.value())))
        self.threshold_line.setVisible(False)
        self.hist.plot_item.addItem(self.threshold_line)
        self.hist.set_placeholder("No prediction yet")
        from nnstudio.gui.widgets.explain_view import ExplainView

        self.explain_view = ExplainView(lambda: (self.session.project, self.session.prepared, self.result),
                                        self.explain_rows, compute=self._explain_job)
        self.explain_view.explain_button.setToolTip("Compute the attribution maps of the rows selected in the "
                                                    "catalog (or the first 4 listed) in the background")
        self.explain_view.set_status("Select rows in the catalog, then Explain: which pixels raised the "
                                     "network's score, drawn in red-orange over the cutout.")
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.hist, "Scores")
        self.right_tabs.addTab(self.explain_view, "Explain")
        self.right_tabs.setTabToolTip(1, "Attribution maps of the selected cutouts, checked against a model with "
                                         "random weights (image inputs)")
        self.right_tabs.setTabEnabled(1, False)
        detail_box = QWidget()
        detail = QHBoxLayout(detail_box)
        detail.setContentsMargins(0, 0, 0, 0)
        self.detail_image = QLabel()
        self.detail_image.setFixedSize(DETAIL_SIZE, DETAIL_SIZE)
        self.detail_image.setAlignment(Qt.AlignCenter)
        self.detail_image.setStyleSheet("border: 1px solid palette(mid);")
        detail.addWidget(self.detail_image)
        self.detail_label = QLabel("Click a row to see it here.")
        self.detail_label.setWordWrap(True)
        self.detail_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.detail_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        detail.addWidget(self.detail_label, 1)
        right_split = QSplitter(Qt.Vertical)       # the detail folds away to give the maps its room
        right_split.addWidget(self.right_tabs)
        right_split.addWidget(detail_box)
        right_split.setCollapsible(0, False)
        right_split.setStretchFactor(0, 1)
        rl.addWidget(right_split, 1)

        body = QSplitter(Qt.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([700, 420])
        lay.addWidget(body, 1)

        bottom = QHBoxLayout()
        self.selected_label = QLabel("")
        bottom.addWidget(self.selected_label, 1)
        self.export_button = QPushButton("Export selected…")
        self.export_button.setToolTip("Write the selected rows as a catalog, and their cutouts as a FITS cube")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.explain_button = QPushButton("Explain selected")
        self.explain_button.setToolTip("Which pixels made the network say that: attribution maps of the selected "
                                       "cutouts (up to 8), in the Explain tab")
        self.explain_button.setEnabled(False)
        self.explain_button.clicked.connect(lambda: self.explain_selected())
        bottom.addWidget(self.explain_button)
        bottom.addWidget(self.export_button)
        lay.addLayout(bottom)
        self.session.project_changed.connect(self.clear_result)
        self.session.run_finished.connect(lambda *_: self.clear_result())
        return w

    def _build_input_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("New data:"))
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("a folder of cutouts, a FITS file or a table")
        self.input_edit.textEdited.connect(lambda text: setattr(self, "input_paths", [text] if text else []))
        row.addWidget(self.input_edit, 1)
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(self._choose_files)
        row.addWidget(self.file_button)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._choose_folder)
        row.addWidget(self.folder_button)
        self.labels_button = QPushButton("Labels…")
        self.labels_button.setToolTip("Optional: a table with the true target of these rows (in row order, or "
                                      "matched by the project's id column): the catalog then gets an external "
                                      "test of the model, with 95% intervals")
        self.labels_button.clicked.connect(self._choose_labels)
        row.addWidget(self.labels_button)
        self.labels_clear = QPushButton("✕")
        self.labels_clear.setToolTip("Predict without labels")
        self.labels_clear.setFixedWidth(28)
        self.labels_clear.setVisible(False)
        self.labels_clear.clicked.connect(lambda: self.set_labels(None))
        row.addWidget(self.labels_clear)
        self.skip_check = QCheckBox("Skip unreadable files")
        self.skip_check.setToolTip("Flag files that cannot be read instead of refusing the whole input")
        row.addWidget(self.skip_check)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setDefault(True)
        self.predict_button.clicked.connect(lambda: self.run_predict())
        row.addWidget(self.predict_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(150)
        self.progress.setVisible(False)
        row.addWidget(self.progress)
        return row

    def _build_decision_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.decision_label = QLabel("")
        self.decision_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        row.addWidget(self.decision_label, 1)
        self.threshold_title = QLabel("Threshold:")
        row.addWidget(self.threshold_title)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setToolTip("On the calibrated probability shown in the table; starts at the "
                                       "project's decision threshold")
        self.threshold_spin.setEnabled(False)
        self.threshold_spin.valueChanged.connect(self._on_threshold)
        row.addWidget(self.threshold_spin)
        return row

    # -- input -----------------------------------------------------------------------------------
    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "New data to predict on", "",
                                                "Data (*.fits *.fit *.fts *.fz *.gz *.csv *.ecsv *.vot *.xml);;"
                                                "All files (*)")
        if paths:
            self.set_input(paths)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of cutouts")
        if path:
            self.set_input([path])

    def _choose_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The true target of the new data", "",
                                              "Tables (*.csv *.ecsv *.fits *.fit *.vot *.xml *.txt *.dat);;All files (*)")
        if path:
            self.set_labels(path)

    def set_labels(self, path) -> None:
        """A table holding the target for the input's rows (None: none), for an external test."""
        self.labels_path = str(path) if path else None
        self.labels_button.setText(f"Labels: {Path(path).name}" if path else "Labels…")
        self.labels_clear.setVisible(bool(path))

    def _label_id_column(self) -> str | None:
        data = self.session.project.data
        return data.id_column if data is not None else None

    def set_input(self, paths) -> None:
        self.input_paths = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        self.input_edit.setText(self.input_paths[0] if len(self.input_paths) == 1
                                else f"{len(self.input_paths)} files")

    # -- the job ---------------------------------------------------------------------------------
    def run_predict(self):
        from nnstudio.core.workflow.predict import predict_project

        self.messages.clear("error")
        if not self.input_paths:
            self.messages.error("error", "Choose the new data first: a folder of cutouts, a FITS file or a table.")
            return None
        inputs = self.input_paths[0] if len(self.input_paths) == 1 else list(self.input_paths)
        job = self.start_job(predict_project, self.session.project, inputs, None,
                             skip_bad=self.skip_check.isChecked(), thumbnails=True, labels=self.labels_path,
                             id_column=self._label_id_column() if self.labels_path else None,
                             prepared=self.session.prepared, on_done=self.show_result, on_error=self._on_error)
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda: self._set_busy(False))
        self._set_busy(True)
        return job

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.predict_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    def _on_progress(self, done, total, text) -> None:
        if total:
            self.progress.setValue(int(100 * done / total))
        self.status.emit(text)

    def _on_error(self, exc) -> None:
        if isinstance(exc, Cancelled):
            self.messages.info("error", "Prediction cancelled; nothing was written.")
            return
        self.show_error(exc)

    # -- drawing ---------------------------------------------------------------------------------
    def clear_result(self) -> None:
        self.result = None
        self.explain_view.clear()
        self.right_tabs.setCurrentIndex(0)
        self.right_tabs.setTabEnabled(1, False)
        self.explain_button.setEnabled(False)
        self.model.set_result(None)
        self.hist_bars.setOpts(x0=[], x1=[], height=[])
        self.threshold_line.setVisible(False)
        self.hist.set_placeholder("No prediction yet")
        self.export_button.setEnabled(False)
        self.threshold_spin.setEnabled(False)
        self.summary_label.setText("Choose new data the model never saw, then Predict.")
        self.refresh()

    def refresh(self) -> None:
        p = self.session.project
        run = p.run()
        rule = p.decision
        names = (p.data.class_names if p.data else None) or []
        if run is None:
            self.decision_label.setText("")
            return
        if p.data is not None and p.data.problem == "classification":
            if rule.threshold is not None and rule.positive is not None and rule.positive < len(names):
                where = f", chosen on the {rule.split} split" if rule.split else ""
                text = f"Decision: {names[rule.positive]!r} when its score ≥ {fmt_number(rule.threshold)}{where}"
            else:
                text = "Decision: the most probable class (no threshold set in Diagnostics)"
        else:
            text = "Predictions in the target's units, with σ and conformal intervals"
        self.decision_label.setText(f"Run {run.id} · {text}")

    def show_result(self, result) -> None:
        self.result = result
        self.explain_view.clear()
        images = result.source is not None and result.source.kind == "images"
        self.right_tabs.setTabEnabled(1, images)
        self.explain_button.setEnabled(images)
        if not images:
            self.right_tabs.setCurrentIndex(0)
        self._set_busy(False)
        self.model.set_result(result)
        self.table.resizeColumnsToContents()
        if result.thumbnails is not None:
            self.table.verticalHeader().setDefaultSectionSize(36)
            self.table.setIconSize(pg.QtCore.QSize(32, 32))
        score = result.score_column
        if score in result.columns:
            self.table.sortByColumn(list(result.columns).index(score), Qt.DescendingOrder)
        self._draw_histogram()
        self._summarise()
        binary = result.problem == "classification" and result.positive is not None \
            and len(result.class_names) == 2
        self.threshold_spin.setEnabled(binary)
        self.threshold_spin.setVisible(result.problem == "classification")
        self.threshold_title.setVisible(result.problem == "classification")
        self.detail_image.setVisible(result.thumbnails is not None)
        if binary:
            t = result.threshold_calibrated if result.threshold_calibrated is not None else 0.5
            self.threshold_spin.setValue(t)
            self._on_threshold(t)
        self.export_button.setEnabled(True)

    def _summarise(self) -> None:
        r = self.result
        bits = [f"{r.n_rows} rows", f"{r.n_flagged} flagged", f"run {r.meta.get('nnrun')}"]
        if r.problem == "classification":
            bits.append(f"temperature {fmt_number(float(r.meta.get('temperat', 1.0)))}")
        n_ood = int(np.count_nonzero(r.columns["ood"]))
        bits.append(f"{n_ood} unlike the training data")
        text = " · ".join(bits)
        if r.metrics is not None:
            key = "roc_auc" if r.problem == "classification" and "roc_auc" in r.metrics else \
                ("accuracy" if r.problem == "classification" else "rmse")
            ci = r.metrics_ci.get(key)
            text += (f"\nExternal test on the input's own labels ({r.metrics['n']} rows): {key} "
                     f"{fmt_number(r.metrics[key])}" + (f", 95% {fmt_interval(*ci)}" if ci else ""))
        for note in r.notes:
            text += f"\n{note}"
        self.summary_label.setText(text)

    def _scores(self) -> np.ndarray:
        v = np.asarray(self.result.columns[self.result.score_column], dtype=np.float64)
        return v[np.isfinite(v)]

    def _draw_histogram(self) -> None:
        r = self.result
        v = self._scores()
        if v.size == 0:
            self.hist.set_placeholder("Nothing could be predicted")
            return
        self.hist.set_placeholder(None)
        rng = (0.0, 1.0) if r.problem == "classification" else (float(v.min()), float(v.max()) or 1.0)
        counts, edges = np.histogram(v, bins=40, range=rng)
        self.hist_bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        label = f"{r.score_column} (calibrated)" if r.problem == "classification" else "predicted (target's units)"
        self.hist.plot_item.setLabel("bottom", label)
        self.hist.set_title("Scores of the new data" if r.problem == "classification" else "Predictions for the new data")
        self.hist.plot_item.enableAutoRange()

    def _on_threshold(self, value: float) -> None:
        from nnstudio.core.evaluation import predicted_labels
        from nnstudio.core.workflow.predict import class_column

        r = self.result
        if r is None or r.problem != "classification" or r.positive is None:
            return
        self.threshold_line.setVisible(True)
        self.threshold_line.blockSignals(True)
        self.threshold_line.setValue(value)
        self.threshold_line.blockSignals(False)
        names = r.class_names
        proba = np.stack([r.columns[class_column(c)] for c in names], axis=1)
        ok = np.isfinite(proba).all(axis=1)
        pred = np.full(len(proba), "", dtype=object)
        if ok.any():
            labels = predicted_labels(proba[ok], value, r.positive)
            pred[ok] = [names[k] for k in labels]
        self.model.set_predicted(pred)
        self._on_selection()                            # the detail view shows the class at this threshold
        above = int(np.count_nonzero(proba[ok, r.positive] >= value))
        self.selected_label.setText(f"{above} of {int(ok.sum())} predicted {names[r.positive]!r} at "
                                    f"{fmt_number(value)}")
        if self.above_check.isChecked():
            self._on_filter()

    def _on_filter(self, *_args) -> None:
        self.proxy.set_text(self.filter_edit.text())
        self.proxy.set_only_ood(self.ood_check.isChecked())
        r = self.result
        if self.above_check.isChecked() and r is not None and r.score_column in r.columns:
            value = self.threshold_spin.value() if r.problem == "classification" else -np.inf
            self.proxy.set_min_score(r.score_column, value)
        else:
            self.proxy.set_min_score(None, None)

    def selected_rows(self) -> list[int]:
        """Positions in the catalog of the selected table rows."""
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return sorted(rows)

    def _on_selection(self, *_args) -> None:
        rows = self.selected_rows()
        r = self.result
        if not rows or r is None:
            return
        k = rows[-1]
        c = r.columns
        lines = [f"<b>{c['source'][k]}</b> · row {c['row'][k]}"]
        names = list(c)
        identity = names[1:names.index("flag")]         # the catalog carries identity before the flag
        lines += [f"{name} {c[name][k]}" for name in identity if name not in ("source", "hdu", "index", "ra", "dec")]
        if c["flag"][k]:
            lines.append(f"flag: {c['flag'][k]}")
        if r.problem == "classification":
            lines.append(f"predicted: {self.model.predicted[k]}")
            from nnstudio.core.workflow.predict import class_column

            lines += [f"p({name}) = {fmt_number(float(c[class_column(name)][k]))}" for name in r.class_names]
            lines.append(f"conformal set: {{{', '.join(str(c['conformal_set'][k]).split('|'))}}}")
        else:
            lines.append(f"predicted {fmt_number(float(c['predicted'][k]))} ± {fmt_number(float(c['sigma'][k]))}")
            lines.append(f"conformal interval [{fmt_number(float(c['lower'][k]))}, {fmt_number(float(c['upper'][k]))}]")
        if "ra" in c and np.isfinite(c["ra"][k]):
            lines.append(f"RA {c['ra'][k]:.6f}°, Dec {c['dec'][k]:.6f}°")
        lines.append(f"distance to the training data {fmt_number(float(c['ood_score'][k]))}"
                     + (" — unlike the training data" if c["ood"][k] else ""))
        self.detail_label.setText("<br>".join(lines))
        if r.thumbnails is not None:
            pm = self.model._pixmap(k).scaled(DETAIL_SIZE, DETAIL_SIZE, Qt.KeepAspectRatio, Qt.FastTransformation)
            self.detail_image.setPixmap(pm)
        else:
            self.detail_image.setPixmap(QPixmap())
        self.selected_label.setText(f"{len(rows)} selected")

    # -- explaining -------------------------------------------------------------------------------
    def explain_rows(self) -> list[int]:
        """Catalog positions the Explain tab explains: the selection in the order shown (best
        first when sorted by score), or the first rows listed; at most a browser's worth."""
        from nnstudio.core.workflow.explain import BROWSER_SAMPLES

        picked = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        if picked:
            rows = [self.proxy.mapToSource(i).row() for i in picked]
        else:
            n = min(self.proxy.rowCount(), EXPLAIN_DEFAULT)
            rows = [self.proxy.mapToSource(self.proxy.index(i, 0)).row() for i in range(n)]
        c = self.result.columns if self.result is not None else {}
        rows = [r for r in rows if not c or not c["flag"][r]]    # a flagged row has no cutout to explain
        return rows[:BROWSER_SAMPLES]

    def _explain_job(self, rows, method, task=None):
        from nnstudio.core.workflow.predict_explain import explain_catalog_rows

        return explain_catalog_rows(self.session.project, self.result, rows, method, prepared=self.session.prepared,
                                    task=task)

    def explain_selected(self) -> None:
        """Show the Explain tab and compute the maps of the chosen rows."""
        if self.result is None or not self.right_tabs.isTabEnabled(1):
            return
        self.right_tabs.setCurrentIndex(1)
        self.explain_view.explain()

    def shutdown(self, msecs: int = 30000) -> None:
        self.explain_view.shutdown(msecs)
        super().shutdown(msecs)

    def export_selected(self, path: str | None = None) -> list[Path] | None:
        from nnstudio.core.workflow.predict import export_rows

        rows = self.selected_rows()
        if self.result is None or not rows:
            self.messages.error("export", "Select the rows to export first.")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the selected rows", "candidates.fits",
                                                  "Catalogs (*.fits *.csv *.ecsv *.vot)")
            if not path:
                return None
        try:
            written = export_rows(self.result, rows, path)
        except (NnstudioError, OSError) as exc:
            self.show_error(exc if isinstance(exc, NnstudioError) else NnstudioError(f"Cannot export: {exc}"))
            return None
        self.messages.info("export", "Wrote " + ", ".join(p.name for p in written) + ".")
        return written


if __name__ == "__main__":
    import sys

    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.session import Session

    app = preview_application()
    panel = PredictPanel(Session())
    panel.resize(1180, 800)
    panel.show()
    sys.exit(app.exec())
