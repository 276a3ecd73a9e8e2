"""A drawing of the network: one box per layer (type, settings, output shape, parameters) joined
by arrows. The same painting code draws on screen, into a PNG and into an SVG (QSvgGenerator)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from nnstudio.core.formatting import fmt_count
from nnstudio.core.model import LAYER_TYPES
from nnstudio.core.model.diagram import DiagramBox, box_title
from nnstudio.errors import NnstudioError

BOX_W = 300
PAD = 20
GAP = 26          # vertical room for an arrow between boxes
LINE_H = 17


@dataclass
class Colours:
    background: QColor
    text: QColor
    muted: QColor
    border: QColor
    arrow: QColor
    error: QColor
    fills: dict[str, QColor]

    @classmethod
    def light(cls) -> "Colours":
        return cls(QColor("white"), QColor(30, 30, 30), QColor(95, 95, 95), QColor(150, 150, 150),
                   QColor(120, 120, 120), QColor(200, 35, 51),
                   {"input": QColor(230, 230, 230), "core": QColor(221, 235, 252),
                    "convolution": QColor(222, 242, 225), "shape": QColor(255, 242, 214),
                    "regularisation": QColor(238, 228, 248), "output": QColor(252, 225, 225)})

    @classmethod
    def dark(cls) -> "Colours":
        return cls(QColor(37, 37, 38), QColor(232, 232, 232), QColor(175, 175, 175),
                   QColor(110, 110, 115), QColor(150, 150, 150), QColor(255, 100, 110),
                   {"input": QColor(62, 62, 66), "core": QColor(35, 60, 92),
                    "convolution": QColor(36, 74, 48), "shape": QColor(88, 70, 30),
                    "regularisation": QColor(68, 50, 88), "output": QColor(92, 42, 46)})


def _category(box: DiagramBox) -> str:
    if box.kind == "Input":
        return "input"
    lt = LAYER_TYPES.get(box.kind)
    return lt.category if lt else "core"


def _lines(box: DiagramBox) -> int:
    return 2 + (1 if box.detail else 0) + (1 if box.error else 0)


def box_height(box: DiagramBox) -> float:
    return 10 + LINE_H * _lines(box)


def diagram_size(boxes: list[DiagramBox]) -> QSize:
    h = 2 * PAD + sum(box_height(b) for b in boxes) + GAP * max(len(boxes) - 1, 0)
    return QSize(BOX_W + 2 * PAD, int(h))


def box_rects(boxes: list[DiagramBox], x0: float = PAD) -> list[QRectF]:
    rects, y = [], float(PAD)
    for b in boxes:
        h = box_height(b)
        rects.append(QRectF(x0, y, BOX_W, h))
        y += h + GAP
    return rects


def _params_text(box: DiagramBox) -> str:
    if box.kind == "Input":
        return box.shape
    if box.shape == "?":
        return "output ?"
    p = f"{fmt_count(box.params)} param{'s' if box.params != 1 else ''}" if box.params else "no parameters"
    return f"→ {box.shape}   ·   {p}"


def draw_diagram(p: QPainter, boxes: list[DiagramBox], c: Colours, x0: float = PAD,
                 selected: int | None = None, highlight: QColor | None = None) -> None:
    """Paint the boxes top to bottom (the caller has filled the background)."""
    p.setRenderHint(QPainter.Antialiasing)
    # pixel sizes: the same look on screen, in a 2× PNG and in an SVG whatever their DPI
    base = QFont(p.font())
    base.setPixelSize(12)
    bold = QFont(base)
    bold.setBold(True)
    small = QFont(base)
    small.setPixelSize(11)
    rects = box_rects(boxes, x0)
    for i, (box, r) in enumerate(zip(boxes, rects)):
        if i:  # arrow from the previous box
            top = rects[i - 1].bottom()
            x = r.center().x()
            p.setPen(QPen(c.arrow, 1.5))
            p.drawLine(QPointF(x, top + 3), QPointF(x, r.top() - 6))
            p.setBrush(c.arrow)
            p.setPen(Qt.NoPen)
            p.drawPolygon(QPolygonF([QPointF(x - 5, r.top() - 9), QPointF(x + 5, r.top() - 9),
                                     QPointF(x, r.top() - 2)]))
        p.setBrush(c.fills.get(_category(box), c.fills["core"]))
        p.setPen(QPen(c.error, 2.2) if box.error else QPen(c.border, 1))
        p.drawRoundedRect(r, 6, 6)
        if i == selected and highlight is not None:
            p.setBrush(Qt.NoBrush)
            p.setPen(QPen(highlight, 2))
            p.drawRoundedRect(r.adjusted(-4, -4, 4, 4), 8, 8)
        inner = r.adjusted(10, 5, -10, -5)
        line = QRectF(inner.left(), inner.top(), inner.width(), LINE_H)
        p.setPen(c.text)
        p.setFont(bold)
        p.drawText(line, Qt.AlignLeft | Qt.AlignVCenter, box.name)
        room = int(line.width() - QFontMetrics(bold).horizontalAdvance(box.name) - 12)
        p.setFont(small)
        p.setPen(c.muted)
        title = box_title(box.kind)
        if QFontMetrics(small).horizontalAdvance(title) > room:
            title = box.kind
        p.drawText(line, Qt.AlignRight | Qt.AlignVCenter,
                   QFontMetrics(small).elidedText(title, Qt.ElideRight, max(room, 0)))
        p.setFont(base)
        p.setPen(c.text)
        if box.detail:
            line.translate(0, LINE_H)
            p.drawText(line, Qt.AlignLeft | Qt.AlignVCenter,
                       QFontMetrics(base).elidedText(box.detail, Qt.ElideRight, int(line.width())))
        line.translate(0, LINE_H)
        p.drawText(line, Qt.AlignLeft | Qt.AlignVCenter, _params_text(box))
        if box.error:
            line.translate(0, LINE_H)
            p.setPen(c.error)
            p.setFont(small)
            text = "✖ " + box.error
            p.drawText(line, Qt.AlignLeft | Qt.AlignVCenter,
                       QFontMetrics(small).elidedText(text, Qt.ElideRight, int(line.width())))


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise NnstudioError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if not write(str(tmp)) or not tmp.exists():
            raise NnstudioError(f"Could not write {path}.")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def export_png(boxes: list[DiagramBox], path, scale: float = 2.0) -> Path:
    """Write the diagram as a PNG (light colours, ``scale`` × for print)."""
    size = diagram_size(boxes)
    img = QImage(int(size.width() * scale), int(size.height() * scale), QImage.Format_ARGB32)
    img.setDotsPerMeterX(int(3780 * scale))   # 192 dpi: prints at the on-screen size
    img.setDotsPerMeterY(int(3780 * scale))
    c = Colours.light()
    img.fill(c.background)
    p = QPainter(img)
    p.scale(scale, scale)
    draw_diagram(p, boxes, c)
    p.end()
    return _atomic(path, lambda tmp: img.save(tmp, "PNG"))


def export_svg(boxes: list[DiagramBox], path, title: str = "Network") -> Path:
    """Write the diagram as an SVG drawing (vector text and shapes, light colours)."""
    from PySide6.QtSvg import QSvgGenerator

    size = diagram_size(boxes)

    def write(tmp: str) -> bool:
        gen = QSvgGenerator()
        gen.setFileName(tmp)
        gen.setSize(size)
        gen.setResolution(96)  # so the drawing keeps its on-screen size in mm
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(title)
        gen.setDescription("Network diagram drawn by nnstudio")
        c = Colours.light()
        p = QPainter()
        if not p.begin(gen):
            return False
        p.fillRect(QRectF(0, 0, size.width(), size.height()), c.background)
        draw_diagram(p, boxes, c)
        return p.end()

    return _atomic(path, write)


class DiagramView(QWidget):
    """The diagram on screen, centred; put it in a QScrollArea. Hover a box for its details."""

    box_clicked = Signal(int)   # index in the boxes (0 = input)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.boxes: list[DiagramBox] = []
        self.selected: int | None = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMouseTracking(True)

    def set_boxes(self, boxes: list[DiagramBox]) -> None:
        self.boxes = list(boxes)
        self.setMinimumSize(diagram_size(self.boxes))
        self.updateGeometry()
        self.update()

    def set_selected(self, index: int | None) -> None:
        """Outline box ``index`` (0 = input)."""
        self.selected = index
        self.update()

    def box_rect(self, index: int) -> QRectF:
        return box_rects(self.boxes, self._x0())[index]

    def sizeHint(self) -> QSize:
        return diagram_size(self.boxes)

    def _x0(self) -> float:
        return max(PAD, (self.width() - BOX_W) / 2)

    def box_at(self, pos) -> int | None:
        for i, r in enumerate(box_rects(self.boxes, self._x0())):
            if r.contains(QPointF(pos)):
                return i
        return None

    def paintEvent(self, event):
        from nnstudio.gui.theme import is_dark

        c = Colours.dark() if is_dark() else Colours.light()
        c.background = self.palette().base().color()
        p = QPainter(self)
        p.fillRect(self.rect(), c.background)
        draw_diagram(p, self.boxes, c, self._x0(), self.selected,
                     self.palette().highlight().color())
        p.end()

    def event(self, e):
        if e.type() == e.Type.ToolTip:
            i = self.box_at(e.pos())
            if i is None:
                QToolTip.hideText()
            else:
                b = self.boxes[i]
                detail = f"{escape(b.detail)}<br>" if b.detail else ""
                text = (f"<b>{escape(b.name)}</b> ({escape(box_title(b.kind))})<br>"
                        f"{detail}{escape(_params_text(b))}")
                if b.error:
                    text += f"<br><span style='color:#dc3545'>{escape(b.error)}</span>"
                QToolTip.showText(e.globalPos(), text, self)
            return True
        return super().event(e)

    def mousePressEvent(self, e):
        i = self.box_at(e.position())
        if i is not None:
            self.box_clicked.emit(i)
        super().mousePressEvent(e)


__all__ = ["DiagramView", "Colours", "draw_diagram", "diagram_size", "export_png", "export_svg"]
