"""A grid of image thumbnails with captions, astronomy-style display, and an enlarged view.

Each thumbnail gets its own display limits (z-scale or a percentile, from
``astropy.visualization``) and stretch (linear, sqrt, log, asinh). Images are drawn with the
FITS convention: row 0 at the bottom.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListView, QListWidget,
                               QListWidgetItem, QSplitter, QToolButton, QVBoxLayout, QWidget)

from nnstudio.core.formatting import fmt_number
from nnstudio.gui.theme import apply_plot_theme

STRETCHES = ("linear", "sqrt", "log", "asinh")
INTERVALS = {"zscale": "z-scale", "99.5": "99.5%", "99": "99%", "95": "95%", "minmax": "min–max"}
PAGE_SIZE = 48
THUMB = 96
ORDER_SEED = 0


def _interval(name: str):
    from astropy.visualization import MinMaxInterval, PercentileInterval, ZScaleInterval

    if name == "zscale":
        return ZScaleInterval()
    if name == "minmax":
        return MinMaxInterval()
    return PercentileInterval(float(name))


def _stretch(name: str):
    from astropy.visualization import AsinhStretch, LinearStretch, LogStretch, SqrtStretch

    return {"linear": LinearStretch, "sqrt": SqrtStretch, "log": LogStretch,
            "asinh": AsinhStretch}[name]()


def display_image(img: np.ndarray, stretch: str = "asinh", interval: str = "zscale") -> np.ndarray:
    """A 2-D image as uint8 for display: limits from ``interval``, then ``stretch``.

    NaN and infinite pixels are drawn black; a flat image is mid-grey.
    """
    a = np.asarray(img, dtype=np.float32)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, dtype=np.uint8)
    values = a[finite]
    lo, hi = _interval(interval).get_limits(values)
    if not hi > lo:
        return np.where(finite, 128, 0).astype(np.uint8)
    with np.errstate(invalid="ignore"):
        x = np.clip((a - lo) / (hi - lo), 0.0, 1.0)
    x[~finite] = 0.0
    y = _stretch(stretch)(x, clip=True)
    return (y * 255.0 + 0.5).astype(np.uint8)


def to_qimage(u8: np.ndarray) -> QImage:
    """A (H, W) uint8 array as a grey QImage, row 0 at the bottom (FITS orientation)."""
    a = np.ascontiguousarray(u8[::-1])
    h, w = a.shape
    return QImage(a.data, w, h, a.strides[0], QImage.Format_Grayscale8).copy()


def caption_value(v) -> str:
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else fmt_number(float(v), digits=3)
    return str(v)


class ImageGrid(QWidget):
    """Thumbnails of ``images`` (N, H, W, C) a page at a time; click one to enlarge it."""

    clicked = Signal(int)       # the image's row in the data set
    redrawn = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images: np.ndarray | None = None
        self.captions = None                        # row -> caption text, or None
        self.groups: np.ndarray | None = None
        self.total = 0
        self.page = 0
        self.order = np.zeros(0, dtype=np.int64)
        self.shown: list[int] = []                  # data set rows on the current page
        self.rendered: list[np.ndarray] = []        # their uint8 thumbnails
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.controls = QWidget()   # its own widget, so a parent can lay it out across more space
        bar = QHBoxLayout(self.controls)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Stretch"))
        self.stretch_combo = QComboBox()
        self.stretch_combo.addItems(STRETCHES)
        self.stretch_combo.setCurrentText("asinh")
        self.stretch_combo.setToolTip("How pixel values map to brightness between the limits")
        bar.addWidget(self.stretch_combo)
        bar.addWidget(QLabel("Limits"))
        self.interval_combo = QComboBox()
        for key, title in INTERVALS.items():
            self.interval_combo.addItem(title, key)
        self.interval_combo.setToolTip("Display limits, computed for each image on its own")
        bar.addWidget(self.interval_combo)
        self.band_label = QLabel("Band")
        self.band_combo = QComboBox()
        bar.addWidget(self.band_label)
        bar.addWidget(self.band_combo)
        bar.addSpacing(8)
        self.show_label = QLabel("Show")
        self.group_combo = QComboBox()
        self.group_combo.setToolTip("Only images of one class")
        bar.addWidget(self.show_label)
        bar.addWidget(self.group_combo)
        self.order_combo = QComboBox()
        self.order_combo.addItems(["in order", "random"])
        self.order_combo.setToolTip("Page through the images in file order or in a random order")
        bar.addWidget(self.order_combo)
        bar.addStretch(1)
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("Previous page")
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setToolTip("Next page")
        self.page_label = QLabel()
        bar.addWidget(self.prev_button)
        bar.addWidget(self.page_label)
        bar.addWidget(self.next_button)
        lay.addWidget(self.controls)
        self.view = QListWidget()
        self.view.setViewMode(QListView.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 18, THUMB + 26))
        self.view.setResizeMode(QListView.Adjust)
        self.view.setMovement(QListView.Static)
        self.view.setUniformItemSizes(True)
        self.view.setWordWrap(False)
        self.view.setSpacing(2)
        self.view.setMouseTracking(True)
        self.view.setCursor(Qt.PointingHandCursor)
        self.view.itemClicked.connect(self._on_item)
        lay.addWidget(self.view, 1)
        self.stretch_combo.currentIndexChanged.connect(self.redraw)
        self.interval_combo.currentIndexChanged.connect(self.redraw)
        self.band_combo.currentIndexChanged.connect(self.redraw)
        self.group_combo.currentIndexChanged.connect(self._reorder)
        self.order_combo.currentIndexChanged.connect(self._reorder)
        self.prev_button.clicked.connect(lambda: self.set_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.set_page(self.page + 1))
        self.set_images(None)

    # -- data ---------------------------------------------------------------------------------
    def set_images(self, images: np.ndarray | None, captions=None,
                   groups: np.ndarray | None = None, total: int | None = None) -> None:
        """``images`` (N, H, W, C); ``captions(row)`` gives each caption (default ``#row``);
        ``groups`` (one value a row) fills the class filter; ``total`` > N while only the first
        images are loaded."""
        self.images = images
        self.captions = captions
        self.groups = None if groups is None else np.asarray(groups)
        n = 0 if images is None else int(images.shape[0])
        self.total = max(n, total or 0)
        channels = 1 if images is None or images.ndim < 4 else int(images.shape[3])
        for w in (self.band_label, self.band_combo):
            w.setVisible(channels > 1)
        self.band_combo.blockSignals(True)
        self.band_combo.clear()
        self.band_combo.addItems([f"{k}" for k in range(channels)])
        self.band_combo.blockSignals(False)
        self.group_combo.blockSignals(True)
        self.group_combo.clear()
        self.group_combo.addItem("all", None)
        if self.groups is not None:
            for g in sorted(set(self.groups.tolist()), key=str):
                self.group_combo.addItem(str(g), g)
        self.group_combo.blockSignals(False)
        for w in (self.show_label, self.group_combo):
            w.setVisible(self.groups is not None)
        self._reorder()

    def _reorder(self) -> None:
        n = 0 if self.images is None else int(self.images.shape[0])
        rows = np.arange(n)
        g = self.group_combo.currentData()
        if self.groups is not None and g is not None:
            rows = rows[self.groups[:n] == g]
        if self.order_combo.currentText() == "random":
            rows = np.random.default_rng(ORDER_SEED).permutation(rows)
        self.order = rows
        self.set_page(0)

    @property
    def n_pages(self) -> int:
        return max(1, -(-len(self.order) // PAGE_SIZE))

    def set_page(self, page: int) -> None:
        self.page = int(min(max(page, 0), self.n_pages - 1))
        self.shown = [int(i) for i in self.order[self.page * PAGE_SIZE:(self.page + 1) * PAGE_SIZE]]
        self.redraw()

    # -- drawing ------------------------------------------------------------------------------
    @property
    def stretch(self) -> str:
        return self.stretch_combo.currentText()

    @property
    def interval(self) -> str:
        return self.interval_combo.currentData()

    @property
    def band(self) -> int:
        return max(0, self.band_combo.currentIndex())

    def plane(self, row: int) -> np.ndarray:
        """The 2-D image shown for data set row ``row`` (the chosen band)."""
        img = self.images[row]
        return img[..., self.band] if img.ndim == 3 else img

    def redraw(self) -> None:
        self.view.clear()
        self.rendered = []
        for row in self.shown:
            u8 = display_image(self.plane(row), self.stretch, self.interval)
            self.rendered.append(u8)
            pix = QPixmap.fromImage(to_qimage(u8)).scaled(
                THUMB, THUMB, Qt.KeepAspectRatio,
                Qt.FastTransformation if max(u8.shape) <= THUMB else Qt.SmoothTransformation)
            text = self.caption(row)
            item = QListWidgetItem(QIcon(pix), text)
            item.setData(Qt.UserRole, row)
            item.setToolTip(text)
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            self.view.addItem(item)
        self._update_page_label()
        self.redrawn.emit()

    def caption(self, row: int) -> str:
        return self.captions(row) if self.captions is not None else f"#{row}"

    def _update_page_label(self) -> None:
        n = len(self.order)
        loaded = 0 if self.images is None else int(self.images.shape[0])
        if not n:
            self.page_label.setText("no images")
        else:
            first = self.page * PAGE_SIZE + 1
            last = first + len(self.shown) - 1
            more = f" (loading {self.total})" if self.total > loaded else ""
            self.page_label.setText(f"{first}–{last} of {n}{more}")
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < self.n_pages - 1)

    def _on_item(self, item: QListWidgetItem) -> None:
        self.clicked.emit(int(item.data(Qt.UserRole)))


class ImageZoom(QWidget):
    """One image, large, with pan/zoom and a pixel readout; a view inside the panel."""

    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row: int | None = None
        self.data: np.ndarray | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setWordWrap(True)
        head.addWidget(self.title, 1)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close the enlarged view")
        self.close_button.clicked.connect(self.close_view)
        head.addWidget(self.close_button, 0, Qt.AlignTop)
        lay.addLayout(head)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.item = pg.ImageItem()
        self.plot.addItem(self.item)
        lay.addWidget(self.plot, 1)
        self.readout = QLabel(" ")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.readout)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        apply_plot_theme(self.plot)

    def show_image(self, row: int, img: np.ndarray, title: str, stretch: str,
                   interval: str) -> None:
        self.row = row
        self.data = np.asarray(img)
        u8 = display_image(self.data, stretch, interval)
        self.item.setImage(u8, levels=(0, 255), autoLevels=False)
        h, w = u8.shape
        self.plot.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        finite = self.data[np.isfinite(self.data)]
        rng = (f"; values {fmt_number(finite.min())} to {fmt_number(finite.max())}" if finite.size
               else "; no finite values")
        self.title.setText(f"<b>{title}</b><br>{w}×{h} pixels{rng}")
        self.readout.setText("Point at a pixel for its value; drag to pan, wheel to zoom.")
        self.setVisible(True)

    def close_view(self) -> None:
        self.setVisible(False)
        self.closed.emit()

    def _on_mouse(self, pos) -> None:
        if self.data is None:
            return
        p = self.item.mapFromScene(pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        h, w = self.data.shape[:2]
        if 0 <= x < w and 0 <= y < h:
            self.readout.setText(f"x {x}, y {y}: {fmt_number(self.data[y, x], digits=6)}")

    def changeEvent(self, e):
        super().changeEvent(e)
        if e.type() == QEvent.PaletteChange:
            apply_plot_theme(self.plot)


class ImageBrowser(QWidget):
    """The display controls over the grid and, beside it, the enlarged view (shown on click)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.grid = ImageGrid()
        self.zoom = ImageZoom()
        self.zoom.setMinimumWidth(240)
        lay.addWidget(self.grid.controls)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(self.zoom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay.addWidget(self.splitter, 1)
        self.zoom.setVisible(False)
        self.grid.clicked.connect(self.enlarge)
        self.grid.redrawn.connect(self._refresh_zoom)

    def set_images(self, *args, **kwargs) -> None:
        self.grid.set_images(*args, **kwargs)
        if self.grid.images is None or (self.zoom.row is not None
                                        and self.zoom.row >= self.grid.images.shape[0]):
            self.zoom.row = None
            self.zoom.setVisible(False)

    def enlarge(self, row: int) -> None:
        g = self.grid
        opening = self.zoom.isHidden()
        self.zoom.show_image(row, g.plane(row), g.caption(row), g.stretch, g.interval)
        if opening:  # the grid keeps most of the room
            total = max(self.splitter.width(), 500)
            self.splitter.setSizes([total * 3 // 5, total * 2 // 5])

    def _refresh_zoom(self) -> None:
        if not self.zoom.isHidden() and self.zoom.row is not None and self.grid.images is not None:
            self.enlarge(self.zoom.row)
