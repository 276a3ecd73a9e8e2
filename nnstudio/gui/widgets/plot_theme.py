"""Plot colours for the light and dark themes, defined once.

pyqtgraph's global background/foreground options only reach plots created after they are set, so
plots recolour themselves when the palette changes: ``ThemedPlot`` does it on its own, and a widget
that holds a plain ``PlotWidget`` calls :func:`apply_plot_theme` from its ``changeEvent``.
"""
from __future__ import annotations

DARK = ("#1e1e1e", "#dddddd")      # (background, foreground)
LIGHT = ("#ffffff", "#222222")


def plot_colours() -> tuple[str, str]:
    """(background, foreground) for the application's palette. Not a widget's own: when a theme
    changes, a widget hears of it before the plots inside it have taken the new palette."""
    from nnstudio.gui.app import is_dark

    return DARK if is_dark() else LIGHT


def apply_plot_theme(plot) -> None:
    """Recolour a PlotWidget's background and axes."""
    bg, fg = plot_colours()
    plot.setBackground(bg)
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getPlotItem().getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)


def preview_application():
    """The application for a panel's ``python -m`` preview; ``--dark`` shows the dark theme."""
    import sys

    from nnstudio.gui.app import apply_theme, configure_pyqtgraph, make_application

    app = make_application()
    if "--dark" in sys.argv:
        apply_theme("dark")
    configure_pyqtgraph()
    return app
