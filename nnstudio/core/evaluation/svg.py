"""Tiny string-built SVG plots for the one-file HTML report (no plotting library needed)."""
from __future__ import annotations

import math
from html import escape

import numpy as np

from nnstudio.core.evaluation._common import downsample_indices

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_MAX_POINTS = 2000


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.2g}"
    return f"{v:.4g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda st: abs(st - raw))
    start = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(start, hi + step * 1e-6, step)
    return np.round(ticks / step) * step


def _range(values: list[np.ndarray], pad: float = 0.04) -> tuple[float, float]:
    finite = [v[np.isfinite(v)] for v in values if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite:
        return 0.0, 1.0
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    return lo - pad * span, hi + pad * span


def plot(series: list[dict], title: str = "", xlabel: str = "", ylabel: str = "",
         width: int = 420, height: int = 300, xlim=None, ylim=None, diagonal: bool = False,
         legend: str = "upper left") -> str:
    """One SVG chart. Each series: {"x", "y", "label", "kind": "line"|"points"|"hist", "color"}.

    For "hist", x holds the bin edges (len(y) + 1). ``diagonal`` draws the 1:1 line.
    ``legend`` is "upper left" or "lower right" (where ROC curves leave room).
    """
    left, right, top, bottom = 56, 12, 26, 42
    pw, ph = width - left - right, height - top - bottom
    xs, ys = [], []
    for s in series:
        x = np.asarray(s["x"], dtype=float)
        y = np.asarray(s["y"], dtype=float)
        xs.append(x)
        ys.append(np.concatenate([y, [0.0]]) if s.get("kind") == "hist" else y)
    x0, x1 = xlim if xlim else _range(xs)
    y0, y1 = ylim if ylim else _range(ys)
    if diagonal and not (xlim or ylim):
        x0 = y0 = min(x0, y0)
        x1 = y1 = max(x1, y1)

    def px(v):
        return left + (np.asarray(v, dtype=float) - x0) / (x1 - x0) * pw

    def py(v):
        return top + ph - (np.asarray(v, dtype=float) - y0) / (y1 - y0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="white" stroke="#444"/>',
           f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
           f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle">{escape(xlabel)}</text>',
           f'<text transform="translate(13,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
           f'{escape(ylabel)}</text>']
    for t in nice_ticks(x0, x1):
        if x0 <= t <= x1:
            out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top + ph}" y2="{top + ph + 4}" '
                       'stroke="#444"/>'
                       f'<text x="{px(t):.1f}" y="{top + ph + 15}" text-anchor="middle">{_fmt(t)}</text>')
    for t in nice_ticks(y0, y1):
        if y0 <= t <= y1:
            out.append(f'<line x1="{left - 4}" x2="{left}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#444"/>'
                       f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    clip = f"plotclip-{pw}x{ph}"      # same geometry, same clip: ids may repeat harmlessly
    out.append(f'<defs><clipPath id="{clip}"><rect x="{left}" y="{top}" width="{pw}" height="{ph}"/>'
               '</clipPath></defs>'
               f'<g clip-path="url(#{clip})">')
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        out.append(f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" y2="{py(hi):.1f}" '
                   'stroke="#888" stroke-dasharray="4 3"/>')
    for i, s in enumerate(series):
        color = escape(s.get("color") or PALETTE[i % len(PALETTE)])
        x, y = xs[i], np.asarray(s["y"], dtype=float)
        kind = s.get("kind", "line")
        if kind == "hist":
            for j in range(len(y)):
                xa, xb, yv = px(x[j]), px(x[j + 1]), py(y[j])
                out.append(f'<rect x="{xa:.1f}" y="{yv:.1f}" width="{max(xb - xa, 0.5):.1f}" '
                           f'height="{max(py(0) - yv, 0):.1f}" fill="{color}" fill-opacity="0.7"/>')
            continue
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if kind == "points":
            keep = downsample_indices(len(x), _MAX_POINTS)
            x, y = x[keep], y[keep]
            out.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="1.6" fill="{color}" fill-opacity="0.5"/>'
                       for a, b in zip(px(x), py(y)))
        elif len(x):
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x), py(y)))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.6"/>')
    out.append("</g>")
    labelled = [(i, s) for i, s in enumerate(series) if s.get("label")]
    lower = legend == "lower right"
    for row, (i, s) in enumerate(labelled):
        color = escape(s.get("color") or PALETTE[i % len(PALETTE)])
        yy = (top + ph - 6 - 14 * (len(labelled) - 1 - row)) if lower else (top + 12 + 14 * row)
        xx = left + pw - 170 if lower else left + 8
        out.append(f'<rect x="{xx}" y="{yy - 8}" width="10" height="3" fill="{color}"/>'
                   f'<text x="{xx + 14}" y="{yy - 3}">{escape(str(s["label"]))}</text>')
    out.append("</svg>")
    return "".join(out)


def heatmap(matrix, labels: list[str], title: str = "", values=None, cell: int = 44) -> str:
    """A confusion-matrix style heatmap: colour from ``values`` (e.g. row-normalised, 0..1),
    text from ``matrix`` (counts). Rows are true classes, columns predicted."""
    m = np.asarray(matrix)
    v = np.asarray(values if values is not None else m, dtype=float)
    vmax = float(np.nanmax(v)) if v.size and np.nanmax(v) > 0 else 1.0
    k = m.shape[0]
    left, top = 110, 40
    width, height = left + k * cell + 10, top + k * cell + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
           f'<text x="{left + k * cell / 2:.1f}" y="{height - 6}" text-anchor="middle">predicted</text>',
           f'<text x="10" y="{top - 8}">true ↓</text>']
    for i in range(k):
        out.append(f'<text x="{left - 6}" y="{top + i * cell + cell / 2 + 4:.1f}" text-anchor="end">'
                   f'{escape(labels[i][:14])}</text>')
        out.append(f'<text x="{left + i * cell + cell / 2:.1f}" y="{top + k * cell + 14}" '
                   f'text-anchor="middle">{escape(labels[i][:8])}</text>')
        for j in range(k):
            f = v[i, j] / vmax if math.isfinite(v[i, j]) else 0.0
            shade = int(round(255 - 200 * f))
            text_color = "white" if f > 0.6 else "black"
            out.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                       f'fill="rgb({shade},{shade},255)" stroke="white"/>'
                       f'<text x="{left + j * cell + cell / 2:.1f}" y="{top + i * cell + cell / 2 + 4:.1f}" '
                       f'text-anchor="middle" fill="{text_color}">{escape(str(m[i, j]))}</text>')
    out.append("</svg>")
    return "".join(out)
