"""pyqtgraph colours that follow the application's light or dark palette."""
from __future__ import annotations


def plot_colours() -> tuple[str, str]:
    """(background, foreground) for the current theme."""
    from nnstudio.gui.app import is_dark

    return ("#1e1e1e", "#dddddd") if is_dark() else ("#ffffff", "#222222")


def apply_plot_theme(plot) -> None:
    """Recolour a PlotWidget's background and axes (after a theme change)."""
    bg, fg = plot_colours()
    plot.setBackground(bg)
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getPlotItem().getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
    title = plot.getPlotItem().titleLabel
    if title.text:
        title.setText(title.text, color=fg)
