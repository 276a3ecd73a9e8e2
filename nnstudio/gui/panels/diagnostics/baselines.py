"""The network beside models without one: a table of their metrics with intervals, the formula's
parameters, and the paired verdict on whether the network earns its parameters."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.gui.widgets.verdict import VerdictLabel

COLUMNS = {"classification": (("roc_auc", "ROC AUC"), ("accuracy", "accuracy"),
                              ("balanced_accuracy", "balanced accuracy")),
           "regression": (("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R²"))}


class BaselineCard(QWidget):
    """Rows: the network, then each baseline; columns: the problem's main metrics as
    "value [low, high]" (95%, bootstrap). A formula's parameters ± errors sit under the table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.verdict = VerdictLabel("Evaluate to compare the network with models that have no network.")
        lay.addWidget(self.verdict)
        self.table = QTableWidget(0, 4)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setToolTip("Each model fitted on the training split and scored on the evaluated split; "
                              "intervals from resampling its samples (bootstrap, 1,000 resamples).")
        lay.addWidget(self.table)
        self.parameters = QLabel("")
        self.parameters.setWordWrap(True)
        self.parameters.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.parameters.setVisible(False)
        lay.addWidget(self.parameters)
        lay.addStretch(1)

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
                    f"  {fmt_interval(*ci[key])}" if key in ci else "")
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
        t.setFixedHeight(t.horizontalHeader().height() + 22 * len(rows) + 2 * t.frameWidth())

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.parameters.setVisible(False)
        self.verdict.set_verdict("none", "Evaluate to compare the network with models that have no network.")
