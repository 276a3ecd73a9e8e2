"""The class ratio of the training split in words, and the one click that weighs rare classes."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from nnstudio.core.training.augment import balance_advice


class BalanceAdvice(QWidget):
    """Shown under the per-split class counts. Past 3:1 it offers to weigh the classes; the
    choice lives in the project's training settings (the Train step shows the same combo)."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        lay.addWidget(self.label, 1)
        self.weigh_button = QPushButton("Weigh classes")
        self.weigh_button.setToolTip(
            "Train with balanced class weights: each class counts as much in the loss as the others, "
            "so the network cannot score well by always saying the common class. Probabilities then "
            "lean towards rare classes; temperature and threshold are fitted on validation.")
        self.weigh_button.clicked.connect(self.weigh)
        lay.addWidget(self.weigh_button)
        self.advice = None
        self.setVisible(False)

    def show_counts(self, counts: dict[str, int] | None) -> None:
        """``counts``: training rows per class name (None for regression or no data)."""
        self._counts = counts
        if not counts:
            self.advice = None
            self.setVisible(False)
            return
        self.advice = balance_advice(counts, self.session.project.training.class_weight)
        self.label.setText(self.advice.text)
        self.weigh_button.setVisible(self.advice.level in ("propose", "off"))
        self.setVisible(bool(self.advice.text))

    def refresh(self) -> None:
        self.show_counts(getattr(self, "_counts", None))

    def weigh(self) -> None:
        project = self.session.project
        if project.training.class_weight != "balanced":
            project.training.class_weight = "balanced"
            project.mark_changed("training")
        self.refresh()
