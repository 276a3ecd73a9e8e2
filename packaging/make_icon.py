"""Draw the nnstudio icon (a small 3-4-2 network on a rounded square) with Qt, offscreen.

Writes resources/nnstudio.png (512 px), resources/nnstudio.ico (16-256 px), resources/nnstudio.icns
(16-1024 px) and the package copy nnstudio/resources/nnstudio.png. Each size is drawn, not scaled,
so the small ones stay crisp. ICO and ICNS are written by hand with PNG entries, which Windows
Vista+ and macOS 10.7+ read, so no image-format plugin is needed.

    python packaging/make_icon.py
"""
from __future__ import annotations

import itertools
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPen,
)

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (3, 4, 2)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def draw(size: int) -> QImage:
    img = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    img.fill(Qt.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing)
    s = float(size)
    margin = s * 0.04
    grad = QLinearGradient(0, 0, s, s)
    grad.setColorAt(0.0, QColor("#1d4ed8"))
    grad.setColorAt(1.0, QColor("#172554"))
    p.setPen(Qt.NoPen)
    p.setBrush(grad)
    p.drawRoundedRect(QRectF(margin, margin, s - 2 * margin, s - 2 * margin), s * 0.2, s * 0.2)

    xs = (0.25 * s, 0.5 * s, 0.75 * s)
    span = 0.56 * s
    layers = []
    for x, n in zip(xs, LAYERS):
        step = span / (max(LAYERS) - 1)
        top = s / 2 - step * (n - 1) / 2
        layers.append([QPointF(x, top + i * step) for i in range(n)])

    edge = QColor(255, 255, 255, 110)
    p.setPen(QPen(edge, max(1.0, s * 0.016)))
    for left, right in itertools.pairwise(layers):
        for a in left:
            for b in right:
                p.drawLine(a, b)

    r = max(1.5, s * 0.062)
    for i, layer in enumerate(layers):
        fill = QColor("#fbbf24") if i == len(layers) - 1 else QColor("#f8fafc")
        p.setPen(QPen(QColor("#0f172a"), max(0.75, s * 0.012)))
        p.setBrush(fill)
        for c in layer:
            p.drawEllipse(c, r, r)
    p.end()
    return img


def png_bytes(img: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    if not img.save(buf, "PNG"):
        raise RuntimeError("could not encode PNG")
    return bytes(data)


def ico_bytes(sizes=ICO_SIZES) -> bytes:
    pngs = [png_bytes(draw(n)) for n in sizes]
    out = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    for n, data in zip(sizes, pngs):
        dim = 0 if n >= 256 else n  # 0 means 256 in an ICO directory entry
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(pngs)


def icns_bytes() -> bytes:
    body = b""
    for n, kind in ICNS_TYPES.items():
        data = png_bytes(draw(n))
        body += kind + struct.pack(">I", len(data) + 8) + data
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    print(f"{path.relative_to(ROOT)}  {len(data)} bytes")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, pixmaps)
    png = png_bytes(draw(512))
    write(ROOT / "resources" / "nnstudio.png", png)
    write(ROOT / "nnstudio" / "resources" / "nnstudio.png", png)
    write(ROOT / "resources" / "nnstudio.ico", ico_bytes())
    write(ROOT / "resources" / "nnstudio.icns", icns_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
