"""A pyqtgraph plot that follows the light/dark theme and can say why it is empty.

pyqtgraph's global background/foreground options only reach plots created after they are set, so
each plot re-applies its colours (from :mod:`nnstudio.gui.theme`) when the application palette
changes, legend labels included.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel

from nnstudio.gui.theme import apply_plot_theme, plot_colours
from nnstudio.gui.theme import series_colour as colour  # noqa: F401 (the panels import it here)


class ThemedPlot(pg.PlotWidget):
    """One plot with a title, axis labels, a light grid, an optional legend and a placeholder."""

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", legend: bool = False,
                 parent=None, legend_offset=(-8, 8)):
        super().__init__(parent)
        self.plot_item: pg.PlotItem = self.getPlotItem()
        self._title = title
        self.plot_item.setLabel("bottom", xlabel)
        self.plot_item.setLabel("left", ylabel)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):   # "(x0.001)" beside a label puzzles more than it helps
            self.plot_item.getAxis(name).enableAutoSIPrefix(False)
        self.plot_item.setMenuEnabled(True)
        self.legend = (self.plot_item.addLegend(offset=legend_offset, labelTextSize="8pt", brush=None)
                       if legend else None)
        if legend:      # legend_offset is where it starts; it moves off the data when they meet
            from nnstudio.gui.widgets.legend import keep_legend_clear

            keep_legend_clear(self.plot_item)
        self.setMinimumSize(200, 170)
        self._placeholder = QLabel(self)
        self._placeholder.setAlignment(Qt.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setAttribute(Qt.WA_TransparentForMouseEvents)
        self._placeholder.hide()
        self.apply_colours()

    # -- text -------------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self._title

    def set_title(self, text: str) -> None:
        self._title = text
        self.plot_item.setTitle(text, color=self.foreground_colour(), size="10pt")

    def set_placeholder(self, text: str | None) -> None:
        """A centred note in place of the plot ("needs MC dropout", "no data yet"); the empty
        axes are hidden meanwhile, so no tick label runs through the text. None hides it."""
        self._placeholder.setText(text or "")
        self._placeholder.setVisible(bool(text))
        for name in ("left", "bottom"):
            self.plot_item.showAxis(name, not text)
        self.plot_item.showGrid(x=not text, y=not text, alpha=0.15)
        self._place()

    @property
    def placeholder(self) -> str:
        return self._placeholder.text()

    def _place(self) -> None:
        m = 24
        top = 40        # below the title
        self._placeholder.setGeometry(m, top, max(10, self.width() - 2 * m), max(10, self.height() - top - m))

    def resizeEvent(self, e):
        super().resizeEvent(e)
        if "_placeholder" in self.__dict__:
            self._place()

    # -- theme ------------------------------------------------------------------------------------
    def foreground_colour(self) -> str:
        return plot_colours()[1]

    def apply_colours(self) -> None:
        apply_plot_theme(self)    # axes, background and legend labels
        fg = self.foreground_colour()
        self.plot_item.setTitle(self._title or None, color=fg, size="10pt")
        self._placeholder.setStyleSheet(f"color: {fg}; background: transparent;")
        self.colours_changed()

    def colours_changed(self) -> None:
        """Hook for subclasses with theme-dependent items (text in cells, reference lines)."""

    def changeEvent(self, e):
        # the base constructor already sends palette events, before our items exist
        if e.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange) and "_placeholder" in self.__dict__:
            self.apply_colours()
        super().changeEvent(e)


def clicked_bin(plot: ThemedPlot, ev, edges) -> int | None:
    """The histogram bin under a left click on ``plot`` (``edges`` as ``np.histogram`` gives
    them), or None when the click is not a left click on a bin."""
    import numpy as np

    if ev.button() != Qt.LeftButton:
        return None
    vb = plot.plot_item.getViewBox()
    if not vb.sceneBoundingRect().contains(ev.scenePos()):
        return None
    i = int(np.searchsorted(edges, vb.mapSceneToView(ev.scenePos()).x(), side="right")) - 1
    return i if 0 <= i < len(edges) - 1 else None
