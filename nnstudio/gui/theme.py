"""The look of the app, defined once: the light and dark palettes, pyqtgraph's global options and
the plot colours.

pyqtgraph's global background/foreground options only reach plots created after they are set, so
plots recolour themselves when the palette changes: ``ThemedPlot`` does it on its own, and a widget
that holds a plain ``PlotWidget`` calls :func:`apply_plot_theme` from its ``changeEvent``.

Imports nothing from the rest of the GUI, and pyqtgraph (which pulls in numpy) only inside the
functions that need it, so the window can use it before its first paint.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

DARK_PLOT = ("#1e1e1e", "#dddddd")      # (background, foreground)
LIGHT_PLOT = ("#ffffff", "#222222")

# series colours, in the order plots draw them (matplotlib's tab10)
SERIES = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (23, 190, 207), (127, 127, 127), (188, 189, 34)]

# Fusion draws check boxes with an outline derived from the window colour, which vanishes on a
# dark palette: give them a visible border there
DARK_INDICATORS = """
QCheckBox::indicator, QGroupBox::indicator, QAbstractItemView::indicator {
    width: 12px; height: 12px; border: 1px solid #9a9a9a; border-radius: 2px; background: #1f1f1f; }
QCheckBox::indicator:checked, QGroupBox::indicator:checked, QAbstractItemView::indicator:checked {
    background: #2a82da; border-color: #6cb0f0; image: none; }
QCheckBox::indicator:disabled { border-color: #5a5a5a; background: #2a2a2a; }
QCheckBox::indicator:checked:disabled { border-color: #5a7a99; background: #35597d; }
"""

_pg_configured = False


def series_colour(i: int) -> tuple[int, int, int]:
    """The colour of the ``i``-th series in a plot (cycles)."""
    return SERIES[i % len(SERIES)]


# -- the application palette -----------------------------------------------------------------------
def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    base, window, text, mid = QColor(37, 37, 38), QColor(45, 45, 48), QColor(230, 230, 230), QColor(80, 80, 85)
    for role, colour in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                         (QPalette.AlternateBase, QColor(52, 52, 56)), (QPalette.ToolTipBase, window),
                         (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, window),
                         (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)),
                         (QPalette.Highlight, QColor(42, 130, 218)), (QPalette.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.Link, QColor(100, 170, 255)), (QPalette.PlaceholderText, QColor(150, 150, 150)),
                         (QPalette.Mid, mid), (QPalette.Dark, QColor(25, 25, 25)), (QPalette.Light, QColor(70, 70, 75))):
        p.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor(127, 127, 127))
    return p


def apply_theme(name: str) -> None:
    """"system", "light" or "dark". An explicit palette, so the choice holds on every platform
    (some platform themes ignore Qt's colour-scheme hint); plot colours follow."""
    app = QApplication.instance()
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(name, Qt.ColorScheme.Unknown)
    try:
        if scheme == Qt.ColorScheme.Unknown:
            hints.unsetColorScheme()
        else:
            hints.setColorScheme(scheme)
    except AttributeError:  # Qt < 6.8
        pass
    if name == "dark":
        app.setPalette(dark_palette())
    elif name == "light":
        app.setPalette(app.style().standardPalette())
    else:
        from PySide6.QtGui import QPalette

        app.setPalette(QPalette())  # the platform's own
    app.setStyleSheet(DARK_INDICATORS if is_dark() else "")
    if _pg_configured:
        _pyqtgraph_colours()


def is_dark() -> bool:
    """Whether the application's palette is dark."""
    return QApplication.instance().palette().window().color().lightness() < 128


# -- pyqtgraph -------------------------------------------------------------------------------------
def configure_pyqtgraph() -> None:
    """pyqtgraph's global options, once, before any plot exists."""
    global _pg_configured
    if _pg_configured:
        return
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")
    _pg_configured = True
    _pyqtgraph_colours()


def _pyqtgraph_colours() -> None:
    import pyqtgraph as pg

    background, foreground = plot_colours()
    pg.setConfigOption("background", background)
    pg.setConfigOption("foreground", foreground)


def plot_colours() -> tuple[str, str]:
    """(background, foreground) for the application's palette. Not a widget's own: when a theme
    changes, a widget hears of it before the plots inside it have taken the new palette."""
    return DARK_PLOT if is_dark() else LIGHT_PLOT


def apply_plot_theme(plot) -> None:
    """Recolour a PlotWidget (or a PlotItem inside a layout): axes, title and legend labels; the
    background too where the plot owns it."""
    bg, fg = plot_colours()
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    if item is None:     # a closed PlotWidget still hears palette changes
        return
    if hasattr(plot, "setBackground"):
        plot.setBackground(bg)
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
    if item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text, color=fg)
    if item.legend is not None:
        recolour_legend(item.legend, fg)


def recolour_legend(legend, colour: str) -> None:
    """Give a legend's labels a new colour. pyqtgraph's ``setLabelTextColor`` only records it for
    labels added later: the ones shown keep the old colour (dark on dark) until drawn again."""
    legend.setLabelTextColor(colour)
    for _sample, label in legend.items:
        label.setText(label.text, color=colour)
