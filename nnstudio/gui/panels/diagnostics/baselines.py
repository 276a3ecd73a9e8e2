"""The network beside models without one: a table of their metrics with intervals, the formula's
parameters, and the paired verdict on whether the network earns its parameters."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.core.model.formula import PRESETS, parse_formula
from nnstudio.errors import NnstudioError
from nnstudio.gui.widgets.verdict import VerdictLabel

FORMULA_TIP = ("A physical formula over the input columns, fitted on the training split by least squares, "
               "e.g. a * luminosity**b or a + b*log10(x) + c*g_r. Parameters are a letter with optional "
               "digits (a, b2, x0) or a Greek name (alpha); functions: log, log10, exp, sqrt, abs, sin, cos, "
               "tan, tanh, …; comparisons (x < x0) give 0 or 1.")

COLUMNS = {"classification": (("roc_auc", "ROC AUC"), ("accuracy", "accuracy"),
                              ("balanced_accuracy", "balanced accuracy")),
           "regression": (("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R²"))}


class BaselineCard(QWidget):
    """Rows: the network, then each baseline; columns: the problem's main metrics as
    "value [low, high]" (95%, bootstrap). A formula's parameters ± errors sit under the table,
    and a formula can be typed or picked (regression on tables): ``formula_submitted(text)``
    ("" removes it) once it parses against the data's columns."""

    formula_submitted = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._columns: list[str] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self._build_formula_row())
        self.formula_error = QLabel("")
        self.formula_error.setWordWrap(True)
        self.formula_error.setStyleSheet("color: rgb(200, 40, 50);")
        self.formula_error.setVisible(False)
        lay.addWidget(self.formula_error)
        self.verdict = VerdictLabel("Evaluate to compare the network with models that have no network.")
        lay.addWidget(self.verdict)
        self.table = QTableWidget(0, 4)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Each model fitted on the training split and scored on the evaluated split; "
                              "intervals from resampling its samples (bootstrap, 1,000 resamples).")
        lay.addWidget(self.table)
        self.parameters = QLabel("")
        self.parameters.setWordWrap(True)
        self.parameters.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.parameters.setVisible(False)
        lay.addWidget(self.parameters)
        lay.addStretch(1)

    def _build_formula_row(self) -> QWidget:
        self.formula_row = row = QWidget()
        v = QVBoxLayout(row)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Physical formula"))
        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText("e.g. a * luminosity**b")
        self.formula_edit.setToolTip(FORMULA_TIP)
        self.formula_edit.textChanged.connect(self._check_formula)
        self.formula_edit.returnPressed.connect(self._submit)
        top.addWidget(self.formula_edit, 1)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Keep this formula in the project and fit it on the training split")
        self.fit_button.clicked.connect(self._submit)
        top.addWidget(self.fit_button)
        v.addLayout(top)
        h = QHBoxLayout()
        h.addWidget(QLabel("or a common form"))
        v.addLayout(h)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("pick a form…", None)
        for name, text in PRESETS.items():
            self.preset_combo.addItem(name, text)
        self.preset_combo.setToolTip("A common form, written over the column chosen beside it")
        self.preset_combo.activated.connect(self._use_preset)
        h.addWidget(self.preset_combo, 1)
        h.addWidget(QLabel("of"))
        self.column_combo = QComboBox()
        self.column_combo.setToolTip("The input column the picked form is written over")
        h.addWidget(self.column_combo, 1)
        return row

    def set_columns(self, columns, formula: str | None, enabled: bool = True, why: str = "") -> None:
        """The data's input columns, the project's formula, and whether a formula applies here."""
        self._columns = list(columns)
        self.column_combo.clear()
        self.column_combo.addItems(self._columns)
        self.formula_edit.blockSignals(True)
        self.formula_edit.setText(formula or "")
        self.formula_edit.blockSignals(False)
        for w in (self.formula_edit, self.preset_combo, self.column_combo, self.fit_button):
            w.setEnabled(enabled)
        self.formula_row.setVisible(enabled)
        self.formula_row.setToolTip(why)
        self._check_formula()

    def _use_preset(self, i: int) -> None:
        text = self.preset_combo.itemData(i)
        if text and self.column_combo.currentText():
            self.formula_edit.setText(text.format(x=self.column_combo.currentText()))
        self.preset_combo.setCurrentIndex(0)

    def _check_formula(self) -> bool:
        text = self.formula_edit.text().strip()
        error = ""
        if text and self.formula_edit.isEnabled():
            try:
                parse_formula(text, self._columns)
            except NnstudioError as exc:
                error = exc.message
        self.formula_error.setText(error)
        self.formula_error.setVisible(bool(error))
        self.formula_edit.setStyleSheet("QLineEdit { border: 1px solid rgb(200, 40, 50); }" if error else "")
        self.fit_button.setEnabled(self.formula_edit.isEnabled() and not error)
        return not error

    def _submit(self) -> None:
        if self._check_formula():
            self.formula_submitted.emit(self.formula_edit.text().strip())

    def show_result(self, result) -> None:
        cols = COLUMNS[result.problem]
        t = self.table
        t.clear()
        t.setColumnCount(1 + len(cols))
        t.setHorizontalHeaderLabels(["model", *[label for _, label in cols]])
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        for c in range(1, 1 + len(cols)):
            t.horizontalHeader().setSectionResizeMode(c, QHeaderView.Stretch)
        rows = [("network", result.metrics, result.metrics_ci, "")]
        rows += [("physical formula" if b.name == "formula" else b.label, b.metrics, b.metrics_ci,
                  "; ".join(filter(None, [b.label if b.name == "formula" else "", b.note])))
                 for b in result.baselines]
        t.setRowCount(len(rows))
        best = (result.versus_baseline or {}).get("baseline")
        names = ["network", *[b.name for b in result.baselines]]
        for i, (name, metrics, ci, note) in enumerate(rows):
            item = QTableWidgetItem(name + (" ★" if names[i] == best else ""))
            tips = [note] + (["★ the best baseline on the validation split, compared with the network "
                              "in the verdict above"] if names[i] == best else [])
            item.setToolTip("\n".join(filter(None, tips)))
            t.setItem(i, 0, item)
            for c, (key, _label) in enumerate(cols, start=1):
                v = metrics.get(key)
                text = "—" if not isinstance(v, float) else fmt_number(v) + (
                    f"\n{fmt_interval(*ci[key])}" if key in ci else "")
                cell = QTableWidgetItem(text if metrics else ("not scored" if c == 1 else ""))
                cell.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if note and not metrics:
                    cell.setToolTip(note)
                t.setItem(i, c, cell)
        vs = result.versus_baseline
        if vs:
            self.verdict.set_verdict(vs["verdict"]["level"], vs["verdict"]["text"])
        else:
            self.verdict.set_verdict("none", "No baseline could be scored on this split.")
        formula = next((b for b in result.baselines if b.name == "formula"), None)
        if formula is not None:
            if formula.parameters:
                params = ", ".join(f"{k} = {fmt_number(v['value'])} ± {fmt_number(v['error'])}"
                                   for k, v in formula.parameters.items())
                text = f"{formula.label}: {params}" + (f". {formula.note}" if formula.note else "")
            else:
                text = f"{formula.label}: {formula.note}"
            self.parameters.setText(text)
        self.parameters.setVisible(formula is not None)
        t.resizeRowsToContents()
        t.setFixedHeight(t.horizontalHeader().height() + sum(t.rowHeight(i) for i in range(len(rows)))
                         + 2 * t.frameWidth())

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.parameters.setVisible(False)
        self.verdict.set_verdict("none", "Evaluate to compare the network with models that have no network.")


def baseline_curves(result, positive: int) -> list[tuple[str, dict]]:
    """(name, curves) of each scored baseline for the positive class: ``curves`` holds
    ``roc`` (fpr, tpr), ``pr`` (recall, precision), ``auc`` and ``average_precision``."""
    import numpy as np

    from nnstudio.core.evaluation.classification import class_curves

    out = []
    y = np.asarray(result.arrays["y_true"])
    for b in result.baselines:
        proba = b.arrays.get("proba")
        if proba is None or b.name == "majority":          # a constant score: the diagonal
            continue
        c = class_curves(np.asarray(proba)[:, positive], y == positive, b.label).to_dict(1000)
        if c["auc"] is not None:
            out.append((b.label, {"roc": (c["roc"]["fpr"], c["roc"]["tpr"]),
                                  "pr": (c["pr"]["recall"], c["pr"]["precision"]),
                                  "auc": c["auc"], "average_precision": c["average_precision"]}))
    return out


def show_baseline_points(legend, points, network, result, d) -> None:
    """The formula's predictions (else the best baseline's) of the plotted samples, beside the
    network's on predicted-against-true, both named in the legend."""
    import numpy as np

    scored = {b.name: b for b in result.baselines if "mean" in b.arrays}
    best = (result.versus_baseline or {}).get("baseline")
    b = scored.get("formula") or scored.get(best)
    legend.removeItem(points)
    legend.removeItem(network)
    if b is None:
        points.setData([], [])
        return
    points.setData(d.plot_true, np.asarray(b.arrays["mean"])[d.plot_index])
    legend.addItem(network, "network")
    legend.addItem(points, b.label)
