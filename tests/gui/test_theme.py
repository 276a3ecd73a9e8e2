"""The light and dark themes reach every plot: ones created after a switch and ones already shown."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QColor


@pytest.fixture
def themed(qtbot):
    """The application with pyqtgraph configured; back to the light theme afterwards."""
    from nnstudio.gui.app import make_application
    from nnstudio.gui.theme import apply_theme, configure_pyqtgraph

    app = make_application()
    apply_theme("light")
    configure_pyqtgraph()
    yield app
    apply_theme("light")


def _corner(widget) -> QColor:
    """The colour drawn just inside the top-left corner (the plot's background)."""
    return widget.grab().toImage().pixelColor(3, 3)


def _legend_label_colours(plot) -> list[str]:
    """The colour each legend label is drawn with, from the HTML it renders."""
    out = []
    for _sample, label in plot.legend.items:
        html = label.item.toHtml()
        out.append(html[html.index("color:") + 6:].split(";")[0].strip())
    return out


def _plot_with_legend(qtbot):
    import pyqtgraph as pg

    from nnstudio.gui.widgets.themed_plot import ThemedPlot

    plot = ThemedPlot("Loss", "epoch", "loss", legend=True)
    qtbot.addWidget(plot)
    plot.resize(320, 240)
    plot.plot_item.plot([0, 1, 2], [3, 2, 1], pen=pg.mkPen((31, 119, 180), width=2), name="training")
    plot.plot_item.plot([0, 1, 2], [3, 3, 2], pen=pg.mkPen((214, 39, 40), width=2), name="validation")
    plot.show()
    return plot


def test_a_plot_created_after_switching_to_dark_is_dark(themed, qtbot):
    import pyqtgraph as pg

    from nnstudio.gui.theme import DARK_PLOT, LIGHT_PLOT, apply_theme, is_dark

    plain = pg.PlotWidget()
    qtbot.addWidget(plain)
    assert _corner(plain).name() == LIGHT_PLOT[0]
    apply_theme("dark")
    assert is_dark()
    later = pg.PlotWidget()           # takes pyqtgraph's global colours, set by the switch
    qtbot.addWidget(later)
    assert _corner(later).name() == DARK_PLOT[0]
    assert later.getPlotItem().getAxis("left").textPen().color().name() == DARK_PLOT[1]


def test_a_shown_plot_follows_the_switch_and_keeps_its_legend_labels(themed, qtbot):
    from nnstudio.gui.theme import DARK_PLOT, LIGHT_PLOT, apply_theme

    plot = _plot_with_legend(qtbot)
    assert _legend_label_colours(plot) == [LIGHT_PLOT[1]] * 2
    apply_theme("dark")
    qtbot.waitUntil(lambda: _corner(plot).name() == DARK_PLOT[0])
    # the labels are still there and drawn in the light foreground, readable on dark
    assert [label.text for _s, label in plot.legend.items] == ["training", "validation"]
    assert _legend_label_colours(plot) == [DARK_PLOT[1]] * 2
    apply_theme("light")
    qtbot.waitUntil(lambda: _corner(plot).name() == LIGHT_PLOT[0])
    assert _legend_label_colours(plot) == [LIGHT_PLOT[1]] * 2


def test_a_plot_made_in_the_dark_theme_has_readable_legend_labels(themed, qtbot):
    from nnstudio.gui.theme import DARK_PLOT, apply_theme

    apply_theme("dark")
    plot = _plot_with_legend(qtbot)
    assert _corner(plot).name() == DARK_PLOT[0]
    assert _legend_label_colours(plot) == [DARK_PLOT[1]] * 2
