"""Small pictures of activation curves, for tooltips (HTML with a data URI) and a side box."""
from __future__ import annotations

import base64
import html

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnstudio.core.formatting import fmt_number
from nnstudio.core.model import ACTIVATIONS, ALPHA_DEFAULTS

X_RANGE = (-4.0, 4.0)
CURVE = QColor(42, 130, 218)
AXES = QColor(128, 128, 128)

_uri_cache: dict[tuple, str] = {}


def curve_points(name: str, alpha: float | None = None, n: int = 161) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the activation over X_RANGE (alpha only where the activation takes one)."""
    x = np.linspace(*X_RANGE, n)
    fn = ACTIVATIONS[name].function
    if name in ALPHA_DEFAULTS:
        y = fn(x, alpha=ALPHA_DEFAULTS[name] if alpha is None else alpha)
    else:
        y = fn(x)
    return x, np.asarray(y, dtype=float)


def _y_limits(y: np.ndarray) -> tuple[float, float]:
    lo, hi = float(np.min(y)), float(np.max(y))
    lo, hi = min(lo, 0.0), max(hi, 1.0)    # always show y = 0 and 1 so curves compare
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def curve_pixmap(name: str, alpha: float | None = None, width: int = 170, height: int = 110,
                 text_colour: QColor | None = None) -> QPixmap:
    """The curve on a transparent background: axes through 0, tick labels at the ends."""
    ratio = 2.0  # drawn at twice the size so it stays sharp on high-density screens
    pm = QPixmap(int(width * ratio), int(height * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.transparent)
    x, y = curve_points(name, alpha)
    y0, y1 = _y_limits(y)
    x0, x1 = X_RANGE
    left, right, top, bottom = 22.0, 6.0, 6.0, 16.0
    plot = QRectF(left, top, width - left - right, height - top - bottom)

    def to_px(xv, yv):
        return QPointF(plot.left() + (xv - x0) / (x1 - x0) * plot.width(),
                       plot.bottom() - (yv - y0) / (y1 - y0) * plot.height())

    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    labels = text_colour or AXES
    p.setPen(QPen(AXES, 1))
    p.drawLine(to_px(x0, 0), to_px(x1, 0))
    p.drawLine(to_px(0, y0), to_px(0, y1))
    dash = QPen(AXES, 1, Qt.DotLine)
    p.setPen(dash)
    p.drawLine(to_px(x0, 1), to_px(x1, 1))
    font = QFont()
    font.setPixelSize(9)
    p.setFont(font)
    p.setPen(labels)
    for xv in (x0, x1):
        pt = to_px(xv, 0)
        p.drawText(QRectF(pt.x() - 12, plot.bottom() + 2, 24, 12), Qt.AlignCenter, fmt_number(xv, digits=6))
    for yv in (0.0, 1.0):
        pt = to_px(0, yv)
        p.drawText(QRectF(0, pt.y() - 6, left - 3, 12), Qt.AlignRight | Qt.AlignVCenter,
                   fmt_number(yv, digits=6))
    path = QPainterPath(to_px(x[0], y[0]))
    for xv, yv in zip(x[1:], y[1:]):
        path.lineTo(to_px(xv, yv))
    p.setPen(QPen(CURVE, 2))
    p.drawPath(path)
    p.end()
    return pm


def pixmap_data_uri(pm: QPixmap) -> str:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    pm.save(buf, "PNG")
    buf.close()
    return "data:image/png;base64," + base64.b64encode(bytes(data)).decode("ascii")


def _curve_uri(name: str, alpha: float | None) -> str:
    key = (name, alpha)
    if key not in _uri_cache:
        # stored at twice the size; the <img> width/height draw it at 170 × 110
        _uri_cache[key] = pixmap_data_uri(curve_pixmap(name, alpha))
    return _uri_cache[key]


def alpha_text(name: str, alpha: float | None) -> str:
    if name not in ALPHA_DEFAULTS:
        return ""
    return f"α = {fmt_number(ALPHA_DEFAULTS[name] if alpha is None else alpha, digits=6)}"


def activation_tooltip(name: str, alpha: float | None = None) -> str:
    """Rich-text tooltip: name, formula, what it does, and its curve."""
    info = ACTIVATIONS[name]
    a = alpha_text(name, alpha)
    # a fixed-width table: Qt's tooltip wraps rich text, and would otherwise stretch it wide
    return (f"<table width='280' cellspacing='0' cellpadding='2'>"
            f"<tr><td><b>{html.escape(name)}</b>{' (' + a + ')' if a else ''}<br>"
            f"<code>{html.escape(info.formula)}</code></td></tr>"
            f"<tr><td><img src='{_curve_uri(name, alpha)}' width='170' height='110'></td></tr>"
            f"<tr><td>{html.escape(info.description)}</td></tr></table>")


class ActivationBox(QWidget):
    """A side box for the chosen activation: its curve beside the formula and a sentence."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 4)
        self.plot = QLabel()
        self.plot.setFixedSize(170, 110)
        lay.addWidget(self.plot, 0, Qt.AlignTop)
        right = QVBoxLayout()
        self.formula = QLabel()
        self.formula.setTextFormat(Qt.RichText)
        self.description = QLabel()
        self.description.setWordWrap(True)
        right.addWidget(self.formula)
        right.addWidget(self.description)
        right.addStretch(1)
        lay.addLayout(right, 1)
        self.name: str | None = None
        self.alpha: float | None = None

    def changeEvent(self, e):
        super().changeEvent(e)
        if e.type() == QEvent.PaletteChange and self.name:  # theme switched: redraw the labels
            self.set_activation(self.name, self.alpha)

    def set_activation(self, name: str, alpha: float | None = None) -> None:
        if name not in ACTIVATIONS:
            self.setVisible(False)
            return
        self.setVisible(True)
        self.name, self.alpha = name, alpha
        info = ACTIVATIONS[name]
        text = self.palette().windowText().color()
        self.plot.setPixmap(curve_pixmap(name, alpha, text_colour=text))
        a = alpha_text(name, alpha)
        self.formula.setText(f"<b>{html.escape(name)}</b>{' &nbsp;' + a if a else ''}<br>"
                             f"<code>{html.escape(info.formula)}</code>")
        self.description.setText(info.description)


__all__ = ["curve_points", "curve_pixmap", "activation_tooltip", "ActivationBox", "pixmap_data_uri"]
