"""Legends that keep off the data: each plot's legend sits in the corner of its plot area that
covers the fewest plotted points, chosen again whenever the data or the view changes.

:func:`keep_legend_clear` hooks a plot once; :func:`legend_overlap` counts the points a legend
covers (the layout test asserts it is zero). Reference lines marked with :func:`mark_guide` (the
chance diagonal, perfect calibration) may pass under a legend: they are not data.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

MARGIN = 8
MAX_POINTS = 1500           # per curve, enough to see where a line runs
# (legend anchor, plot-area anchor, offset): the corners, top right first (the usual place),
# then the middles of the edges
CORNERS = (((1, 0), (1, 0), (-MARGIN, MARGIN)), ((0, 0), (0, 0), (MARGIN, MARGIN)),
           ((1, 1), (1, 1), (-MARGIN, -MARGIN)), ((0, 1), (0, 1), (MARGIN, -MARGIN)),
           ((0.5, 0), (0.5, 0), (0, MARGIN)), ((0.5, 1), (0.5, 1), (0, -MARGIN)),
           ((0, 0.5), (0, 0.5), (MARGIN, 0)), ((1, 0.5), (1, 0.5), (-MARGIN, 0)))


def mark_guide(item):
    """Mark a plotted reference line (not data) that a legend may cover; returns the item."""
    item.legend_guide = True
    return item


def _items(plot_item: pg.PlotItem):
    for item in plot_item.listDataItems():
        if item.isVisible() and not getattr(item, "legend_guide", False):
            yield item
    for item in plot_item.items:
        if isinstance(item, pg.BarGraphItem) and item.isVisible():
            yield item


def _scene_points(plot_item: pg.PlotItem) -> np.ndarray:
    """Points along every visible curve, scatter and bar top, in scene coordinates (lines are
    sampled between their vertices, so a line crossing a corner counts)."""
    vb = plot_item.getViewBox()
    out = []
    for item in _items(plot_item):
        if isinstance(item, pg.BarGraphItem):
            o = item.opts
            x = o.get("x") if o.get("x") is not None else o.get("x0")
            h = o.get("height")
            if x is None or h is None:
                continue
            x, h = np.broadcast_arrays(np.asarray(x, float), np.asarray(h, float))
            x, y = x.ravel(), h.ravel()
        else:
            x, y = item.getData()
            if x is None or len(x) == 0:
                continue
            x, y = np.asarray(x, float), np.asarray(y, float)
            if len(x) > 1 and not isinstance(item, pg.ScatterPlotItem) and item.opts.get("pen") is not None:
                t = np.linspace(0, len(x) - 1, min(MAX_POINTS, 8 * len(x)))
                x, y = np.interp(t, np.arange(len(x)), x), np.interp(t, np.arange(len(y)), y)
        ok = np.isfinite(x) & np.isfinite(y)
        if len(x) > MAX_POINTS:
            ok &= np.arange(len(x)) % (len(x) // MAX_POINTS + 1) == 0
        if not ok.any():
            continue
        log_x, log_y = plot_item.ctrl.logXCheck.isChecked(), plot_item.ctrl.logYCheck.isChecked()
        x, y = x[ok], y[ok]
        if log_x:
            x = np.log10(np.where(x > 0, x, np.nan))
        if log_y:
            y = np.log10(np.where(y > 0, y, np.nan))
        to_scene = vb.childGroup.sceneTransform()
        pts = np.column_stack([x, y])
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts):
            m = to_scene
            sx = m.m11() * pts[:, 0] + m.m21() * pts[:, 1] + m.dx()
            sy = m.m12() * pts[:, 0] + m.m22() * pts[:, 1] + m.dy()
            out.append(np.column_stack([sx, sy]))
    return np.concatenate(out) if out else np.zeros((0, 2))


def legend_overlap(plot_item: pg.PlotItem, points: np.ndarray | None = None) -> int:
    """How many plotted points the legend of ``plot_item`` covers (0 without a legend)."""
    legend = plot_item.legend
    if legend is None or not legend.isVisible() or not legend.items:
        return 0
    pts = _scene_points(plot_item) if points is None else points
    r = legend.sceneBoundingRect()
    inside = ((pts[:, 0] >= r.left()) & (pts[:, 0] <= r.right()) & (pts[:, 1] >= r.top())
              & (pts[:, 1] <= r.bottom()))
    return int(inside.sum())


def place_legend(plot_item: pg.PlotItem) -> int:
    """Move the legend to the corner (else the edge) covering the fewest points, top right on a
    tie; returns how many it still covers."""
    legend = plot_item.legend
    if legend is None or not legend.items:
        return 0
    pts = _scene_points(plot_item)
    best = None
    for corner in CORNERS:
        legend.anchor(*corner)
        n = legend_overlap(plot_item, pts)
        if best is None or n < best[0]:
            best = (n, corner)
        if n == 0:
            break
    legend.anchor(*best[1])
    return best[0]


def keep_legend_clear(plot_item: pg.PlotItem) -> None:
    """Place the legend again before a paint whenever the data, the view or the size changed."""
    state = {"key": None}

    def key():
        vb = plot_item.getViewBox()
        parts = [tuple(vb.viewRange()[0]), tuple(vb.viewRange()[1]), vb.width(), vb.height(),
                 len(plot_item.legend.items) if plot_item.legend is not None else 0]
        for item in _items(plot_item):
            if isinstance(item, pg.BarGraphItem):
                h = item.opts.get("height")
                parts.append(("bars", None if h is None else float(np.nansum(np.asarray(h, float)))))
            else:
                x, y = item.getData()
                n = 0 if x is None else len(x)
                parts.append((id(item), n, float(y[-1]) if n else 0.0, float(np.nansum(y)) if n else 0.0))
        return tuple(parts)

    def before_paint():
        if plot_item.legend is None:
            return
        k = key()
        if k != state["key"]:
            state["key"] = k
            place_legend(plot_item)

    scene = plot_item.scene()
    if scene is not None:
        scene.sigPrepareForPaint.connect(before_paint)
    plot_item._legend_placer = before_paint      # for tests and explicit calls


__all__ = ["keep_legend_clear", "legend_overlap", "mark_guide", "place_legend"]
