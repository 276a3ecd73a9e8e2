"""The parameter budget card: how many numbers the network fits, where they sit, and a sense of scale."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_count
from nnstudio.core.model.budget import ParameterBudget


def _label(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


class BudgetCard(QScrollArea):
    """Shows a :class:`ParameterBudget`: the count in words, per training sample, per layer."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        body = QWidget()
        v = QVBoxLayout(body)
        v.setContentsMargins(10, 10, 10, 10)
        v.setSpacing(8)
        self.headline = _label()
        self.headline.setStyleSheet("font-weight: bold;")
        self.scale = _label()
        self.per_sample = _label()
        self.largest = _label()
        for w in (self.headline, self.scale, self.per_sample, self.largest):
            v.addWidget(w)
        title = _label("Parameters per layer")
        title.setStyleSheet("font-weight: bold; margin-top: 6px;")
        v.addWidget(title)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        self.grid.setColumnStretch(2, 1)
        v.addLayout(self.grid)
        self.without = _label()
        self.without.setStyleSheet("color: gray;")
        v.addWidget(self.without)
        v.addStretch(1)
        self.setWidget(body)
        self.budget: ParameterBudget | None = None

    def set_budget(self, budget: ParameterBudget) -> None:
        self.budget = budget
        self.headline.setText(budget.headline)
        self.scale.setText(budget.scale)
        self.per_sample.setText(budget.per_sample_text)
        self.largest.setText(budget.largest)
        self.largest.setVisible(bool(budget.largest))
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        with_params = [layer for layer in budget.layers if layer.params]
        none = [layer.name for layer in budget.layers if not layer.params]
        self.without.setText(f"No parameters of their own: {', '.join(none)}." if none else "")
        self.without.setVisible(bool(none))
        for row, layer in enumerate(with_params):
            name = _label(layer.name, wrap=False)
            name.setToolTip(layer.class_name)
            count = _label(fmt_count(layer.params), wrap=False)
            count.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(round(layer.share * 1000))
            bar.setFormat(f"{layer.share:.0%}" if layer.share >= 0.005 else "<1%")
            bar.setMaximumHeight(14)
            bar.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            bar.setToolTip(f"{layer.name}: {fmt_count(layer.params)} of {fmt_count(budget.total)} parameters")
            self.grid.addWidget(name, row, 0)
            self.grid.addWidget(count, row, 1)
            self.grid.addWidget(bar, row, 2)

    def rows(self) -> list[tuple[str, str]]:
        """(layer name, count text) of the layers with parameters, as shown."""
        out = []
        for row in range(self.grid.rowCount()):
            a, b = self.grid.itemAtPosition(row, 0), self.grid.itemAtPosition(row, 1)
            if a is not None and b is not None:
                out.append((a.widget().text(), b.widget().text()))
        return out


__all__ = ["BudgetCard"]
