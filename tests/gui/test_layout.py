"""Every panel at 1280×800 and 1920×1080, light and dark: no widget's text is cut off (its font
metrics against its width) and no legend sits over plotted data. Set NNSTUDIO_LAYOUT_SHOTS to a
folder to keep the rendered PNGs."""
import os
from pathlib import Path

import numpy as np
import pytest
from binary_states import synthetic_binary
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTabBar,
)

from nnstudio.core.project import Project

SIZES = [(1280, 800), (1920, 1080)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tensorflow):
    from nnstudio.core.model import LayerSpec, make_template
    from nnstudio.core.workflow import train_project

    prepared = synthetic_binary(600, feature_names=("radius", "texture", "smoothness", "symmetry", "concavity"))
    project = Project(name="layout")
    project.model = make_template("dense", (5,), "classification", 2)
    project.model.layers.insert(1, LayerSpec("Dropout", {"rate": 0.2}))
    project.save(tmp_path_factory.mktemp("layout") / "layout.nnproj")
    train_project(project, epochs=3, prepared=prepared)
    project.save()
    return project.path, prepared


def _visible(w) -> bool:
    # a scroll area's own region is all covered by its viewport (a plot's, a table's)
    region = w.viewport().visibleRegion() if hasattr(w, "viewport") else w.visibleRegion()
    return w.isVisible() and w.width() > 0 and not (region.isEmpty() and w.visibleRegion().isEmpty())


def _fits(fm, text: str, width: int) -> bool:
    return not text or fm.horizontalAdvance(text) <= width


def _header_need(header, c: int, text: str) -> int:
    """The width a header section needs for its text (Qt's own margins, and the sort arrow on
    the sorted column)."""
    from PySide6.QtWidgets import QStyle

    margin = header.style().pixelMetric(QStyle.PM_HeaderMargin, None, header)
    need = header.fontMetrics().horizontalAdvance(text) + 2 * margin
    if header.isSortIndicatorShown() and header.sortIndicatorSection() == c:
        need += header.style().pixelMetric(QStyle.PM_HeaderMarkSize, None, header) + margin
    return need


def clipped_texts(root) -> list[str]:
    """Texts a person would see cut off in the visible widgets under ``root``."""
    bad = []
    for w in root.findChildren(QLabel):
        if not _visible(w) or not w.text() or w.textFormat() == Qt.RichText or "<" in w.text():
            continue
        if w.wordWrap():
            need = w.heightForWidth(w.width())
            if need > w.height() + 1:
                bad.append(f"label (wrapped) {w.text()[:50]!r}: needs {need}px height, has {w.height()}")
        elif w.sizePolicy().horizontalPolicy() != QSizePolicy.Ignored and \
                not _fits(w.fontMetrics(), w.text(), w.contentsRect().width() - 2 * w.margin()):
            bad.append(f"label {w.text()[:50]!r}: {w.fontMetrics().horizontalAdvance(w.text())} > "
                       f"{w.contentsRect().width()}")
    for w in root.findChildren(QAbstractButton):
        if not _visible(w) or not w.text() or isinstance(w.parent(), QTabBar):
            continue
        if w.width() < w.sizeHint().width() - 1:          # the style's own room for text and mark
            bad.append(f"button {w.text()!r}: {w.width()} wide, needs {w.sizeHint().width()}")
    for w in root.findChildren(QComboBox):
        if _visible(w) and w.sizeAdjustPolicy() != QComboBox.AdjustToMinimumContentsLengthWithIcon and \
                not _fits(w.fontMetrics(), w.currentText(), w.width() - 30):
            bad.append(f"combo {w.currentText()!r}: {w.fontMetrics().horizontalAdvance(w.currentText())} > "
                       f"{w.width() - 30}")
    for w in root.findChildren(QLineEdit):
        text = w.text() or w.placeholderText()
        room = w.contentsRect().width() - w.textMargins().left() - w.textMargins().right() - 4
        if _visible(w) and not _fits(w.fontMetrics(), text, room):
            bad.append(f"line edit {text!r}: {w.fontMetrics().horizontalAdvance(text)} > {room}")
    for view in root.findChildren(QAbstractItemView):
        header = getattr(view, "horizontalHeader", lambda: None)()
        if header is None or not _visible(view) or not header.isVisible() or view.model() is None:
            continue
        for c in range(header.count()):
            if header.isSectionHidden(c) or header.sectionViewportPosition(c) > view.viewport().width():
                continue
            text = str(view.model().headerData(c, Qt.Horizontal) or "")
            if text and header.sectionSize(c) < _header_need(header, c, text):
                bad.append(f"header {text!r}: {header.sectionSize(c)} wide, needs {_header_need(header, c, text)}")
    return bad


def covered_legends(root) -> list[str]:
    import pyqtgraph as pg

    from nnstudio.gui.widgets.legend import legend_overlap

    bad = []
    for view in root.findChildren(pg.GraphicsView):
        if not _visible(view):
            continue
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem) and item.legend is not None and item.isVisible():
                n = legend_overlap(item)
                if n:
                    title = item.titleLabel.text if item.titleLabel else ""
                    bad.append(f"legend of {title!r} covers {n} plotted points")
    return bad


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_clipped_text_and_no_legend_over_data(make_window, qtbot, trained, theme, size):
    path, prepared = trained
    w = make_window()
    w.set_theme(theme)
    w.open_path(str(path))
    w.session.set_prepared(prepared)
    w.resize(*size)
    shots = os.environ.get("NNSTUDIO_LAYOUT_SHOTS")
    problems = []
    for key in w.panel_keys:
        w.show_panel(key)
        panel = w.panels[key]
        # Diagnostics and Uncertainty evaluate on showing: wait for their result, then for no job
        qtbot.waitUntil(lambda p=panel, k=key: (k not in ("diagnostics", "uncertainty") or p.result is not None)
                        and (p.job is None or not p.job.running), timeout=120_000)
        QApplication.sendPostedEvents(None, QEvent.LayoutRequest)   # the layout settled
        w.grab()                          # a paint: legends take their places before it
        problems += [f"{key}: {p}" for p in clipped_texts(panel) + covered_legends(panel)]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            w.grab().save(str(Path(shots) / f"{key}-{size[0]}x{size[1]}-{theme}.png"))
    w.set_theme("light")
    assert not problems, "\n".join(problems)


def test_the_checks_see_cut_text_and_a_covered_legend(qtbot):
    """The checks above can fail: a narrow button, label and header, and a legend on a curve."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QPushButton, QTableWidget, QVBoxLayout, QWidget

    from nnstudio.gui.widgets.legend import place_legend

    root = QWidget()
    lay = QVBoxLayout(root)
    button = QPushButton("A button with a long caption")
    button.setFixedWidth(60)
    label = QLabel("A label that cannot fit in forty pixels")
    label.setFixedWidth(40)
    table = QTableWidget(1, 1)
    table.setHorizontalHeaderLabels(["a rather long column header"])
    table.setColumnWidth(0, 30)
    table.setFixedHeight(80)
    plot = pg.PlotWidget()
    legend = plot.getPlotItem().addLegend(offset=(-8, 8))
    for w in (button, label, table, plot):
        lay.addWidget(w)
    qtbot.addWidget(root)
    root.resize(500, 700)
    root.show()
    qtbot.waitExposed(root)
    found = clipped_texts(root)
    assert any(f.startswith("button") for f in found) and any(f.startswith("label") for f in found)
    assert any(f.startswith("header") for f in found)
    x = np.linspace(0, 1, 200)
    plot.getPlotItem().plot(x, x, name="a rising line")     # runs under the top-right legend
    root.grab()
    assert covered_legends(root)
    place_legend(plot.getPlotItem())
    assert legend.isVisible() and not covered_legends(root)


def test_a_reference_line_may_pass_under_a_legend_but_data_may_not(qtbot):
    import pyqtgraph as pg

    from nnstudio.gui.widgets.legend import legend_overlap, mark_guide

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    item = plot.getPlotItem()
    item.addLegend(offset=(-8, 8))                    # top right
    item.plot([0.0, 0.5], [0.0, 0.1], name="data")    # far from the legend
    level = item.plot(np.linspace(0, 1, 50), np.full(50, 0.1))   # a reference level along the top edge
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.grab()                                       # laid out and ranged
    assert legend_overlap(item) > 0
    mark_guide(level)
    assert legend_overlap(item) == 0
