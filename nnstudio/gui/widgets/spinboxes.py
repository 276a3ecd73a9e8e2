"""Spin boxes that refuse what a check function refuses, and a log-scale one for rates."""
from __future__ import annotations

import math
import re
from collections.abc import Callable

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox

from nnstudio.core.formatting import fmt_number

Check = Callable[[object], "str | None"]

# text that may still become a number while it is typed ("", "-", "1e", "0.")
_PARTIAL_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d*)?([eE][+-]?\d*)?$")
_PARTIAL_INT = re.compile(r"^[+-]?\d*$")
LADDER = (1.0, 2.0, 5.0)


def ladder_step(value: float, steps: int, lowest: float) -> float:
    """Move ``steps`` rungs along 1-2-5 × 10^k (0 sits below ``lowest``)."""
    v = value
    for _ in range(abs(steps)):
        if steps > 0:
            if v <= 0:
                v = lowest
                continue
            e = math.floor(math.log10(v)) - 1
            rungs = sorted(float(f"{m:g}e{k}") for k in range(e, e + 3) for m in LADDER)
            v = next(c for c in rungs if c > v * (1 + 1e-9))
        else:
            if v <= lowest * (1 + 1e-9):
                v = 0.0
                continue
            e = math.floor(math.log10(v)) + 1
            rungs = sorted((float(f"{m:g}e{k}") for k in range(e - 3, e + 1) for m in LADDER),
                           reverse=True)
            v = next(c for c in rungs if c < v * (1 - 1e-9))
    return v


class IntSpin(QSpinBox):
    """An integer spin box whose range comes from ``check``; out-of-range text is Intermediate
    (so Qt reverts it on Enter) instead of silently clamped."""

    def __init__(self, check: Check, lo: int = 0, hi: int = 1_000_000, parent=None):
        super().__init__(parent)
        self.check = check
        self.setRange(lo, hi)
        self.setKeyboardTracking(False)  # commit on Enter, focus-out and steps, not every key

    def validate(self, text, pos):
        t = text.strip()
        if not _PARTIAL_INT.match(t):
            return QValidator.Invalid, text, pos
        try:
            v = int(t)
        except ValueError:
            return QValidator.Intermediate, text, pos
        if self.check(v) or not self.minimum() <= v <= self.maximum():
            return QValidator.Intermediate, text, pos
        return QValidator.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:
        target = self.value() + steps * self.singleStep()
        if self.check(target) is None and self.minimum() <= target <= self.maximum():
            self.setValue(target)


class FloatSpin(QDoubleSpinBox):
    """A float spin box shown with up to 6 significant digits. ``check(v)`` returns a message
    for a refused value. ``log=True`` steps along 1-2-5 × 10^k (learning rates, penalties)."""

    def __init__(self, check: Check, step: float = 0.05, log: bool = False, lowest: float = 1e-6,
                 parent=None):
        super().__init__(parent)
        self.check = check
        self.log = log
        self.lowest = lowest
        self.setDecimals(12)           # no rounding of typed values; display is textFromValue
        self.setRange(-1e12, 1e12)     # the check function decides, Qt never clamps
        self.setSingleStep(step)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return fmt_number(value, digits=6)

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        t = text.strip()
        if not _PARTIAL_FLOAT.match(t):
            return QValidator.Invalid, text, pos
        try:
            v = float(t)
        except ValueError:
            return QValidator.Intermediate, text, pos
        if not math.isfinite(v) or self.check(v):
            return QValidator.Intermediate, text, pos
        return QValidator.Acceptable, text, pos

    def fixup(self, text):
        return text  # Qt then restores the last good value

    def stepBy(self, steps: int) -> None:
        v = self.value()
        if self.log:
            target = ladder_step(v, steps, self.lowest)
        else:
            target = round(v + steps * self.singleStep(), 10)
        if self.check(target) is None:
            self.setValue(target)
        self.selectAll()

    def stepEnabled(self):
        return QAbstractSpinBox.StepEnabledFlag.StepUpEnabled | QAbstractSpinBox.StepEnabledFlag.StepDownEnabled


__all__ = ["IntSpin", "FloatSpin", "ladder_step"]
