"""The sample browsers' Explain page: attribution maps of the chosen cutouts drawn over them, with
the randomised-model verdict and the deletion curve.

The maps come from :func:`nnstudio.core.workflow.explain.explain_samples` in a background job
(TensorFlow only there); this widget only draws them. Each (rows, method) result is kept, so
switching back to a method already computed is immediate; opacity and band redraw without a job.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
)

from nnstudio.gui.widgets.background_view import BackgroundView
from nnstudio.gui.widgets.themed_plot import ThemedPlot
from nnstudio.gui.widgets.verdict import VerdictLabel

TILE = 120
METHOD_CHOICES = (("ig", "Integrated gradients"), ("gradcam", "Grad-CAM"), ("occlusion", "Occlusion"))
METHOD_TIPS = {
    "ig": "The gradient averaged along the path from the image's sky level to the image, per band",
    "gradcam": "Where the last convolution's feature maps raise the score (convolutional models; one map)",
    "occlusion": "How much the score drops when a patch is replaced by the sky level (one map)",
}


def overlay_qimage(image, attribution, opacity: float) -> QImage:
    """The cutout in grey with the positive attribution in red-orange (the core's overlay, the
    same as the exported PNGs), row 0 at the bottom as the thumbnails draw it."""
    from nnstudio.core.workflow.explain import overlay

    rgb = np.clip(overlay(image, attribution, opacity=opacity, zoom=1), 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb[::-1])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def sanity_words(s) -> str:
    """The randomised-model verdict in two short lines (the full one is the tooltip)."""
    from nnstudio.core.evaluation.explain_images import METHOD_LABELS

    label = METHOD_LABELS.get(s.method, s.method)
    label = label[:1].upper() + label[1:]
    d = 2 if f"{s.mean_linear:.2f}" != f"{s.threshold:.2f}" else 3     # never "0.40, below 0.40"
    figures = f"correlation with a randomised model's maps {s.mean_linear:.{d}f} (ranks {s.mean:.2f})"
    if s.informative:
        return f"{label}: the maps change when the weights are randomised: {figures}, below {s.threshold:.{d}f}."
    return f"{label}: not informative for this model: {figures}, {s.threshold:.{d}f} or more."


def deletion_words(d) -> str:
    """How the score fell as the top-attributed pixels went, against random ones, in a few words: a
    difference of areas under 2% of the random one counts as none."""
    gap = d.area_random - d.area_attributed
    if abs(gap) < 0.02 * max(abs(d.area_random), 1e-12):
        return "no faster than random"
    return "faster than random" if gap > 0 else "slower than random"


class ExplainView(BackgroundView):
    """Method, band and opacity controls, one overlay tile per sample, the sanity verdict and the
    deletion curve. ``source()`` gives (project, prepared, dataset); ``rows()`` the data-file rows.
    ``compute(rows, method, task=…)``, when given, makes the maps instead of the project's own
    samples' (the Predict step: ``rows`` are catalog positions, ``dataset`` its result)."""

    shown = Signal(object)      # the Explanation now drawn

    def __init__(self, source, rows, parent=None, compute=None):
        super().__init__(parent)
        self._source = source
        self._rows = rows
        self._compute = compute
        self._asked: list[int] = []         # the rows last asked for (a new method follows them)
        self.result = None
        self._cache: dict = {}

        self.explain_button = QPushButton("Explain selected")
        self.explain_button.setToolTip("Compute the attribution maps of the samples selected in the list "
                                       "(or the first ones shown) in the background")
        self.explain_button.clicked.connect(lambda: self.explain())
        self.method_combo = QComboBox()
        for key, label in METHOD_CHOICES:
            self.method_combo.addItem(label, key)
            self.method_combo.setItemData(self.method_combo.count() - 1, METHOD_TIPS[key], Qt.ToolTipRole)
        self.method_combo.currentIndexChanged.connect(self._on_method)
        top = QHBoxLayout()
        top.addWidget(self.explain_button)
        top.addWidget(self.method_combo)

        self.band_combo = QComboBox()
        self.band_combo.setToolTip("The map summed over bands, or one band's share of it (integrated "
                                   "gradients only: the other methods give one map per sample)")
        self.band_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(80)
        self.opacity_slider.setMinimumWidth(80)
        self.opacity_slider.setMaximumWidth(160)
        self.opacity_slider.setToolTip("How strongly the map is drawn over the cutout")
        self.opacity_slider.valueChanged.connect(lambda _v: self.redraw())
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(QLabel("Show"))
        second.addWidget(self.band_combo)
        second.addWidget(QLabel("Opacity"))
        second.addWidget(self.opacity_slider, 1)
        second.addStretch(1)

        self.status_label.setText("Select samples in the list, then Explain: which pixels raised the "
                                  "network's score, drawn in red-orange over the cutout.")
        self.tiles = QListWidget()
        self.tiles.setViewMode(QListView.IconMode)
        self.tiles.setIconSize(QSize(TILE, TILE))
        self.tiles.setGridSize(QSize(TILE + 16, TILE + 44))
        self.tiles.setResizeMode(QListView.Adjust)
        self.tiles.setMovement(QListView.Static)
        self.tiles.setWordWrap(True)
        self.verdict = VerdictLabel("The sanity check appears here: the same maps from a copy of the model "
                                    "with random weights should look different.")
        self.deletion_plot = ThemedPlot("Deletion curve", "fraction of pixels deleted", "mean score", legend=True)
        self.deletion_plot.setMinimumSize(170, 190)
        self.deletion_plot.set_placeholder("Explain samples to see how fast the score falls as their "
                                           "most-attributed pixels are deleted.")
        self.curve_attributed = self.deletion_plot.plot_item.plot(
            [], [], name="most attributed first", pen=pg.mkPen((230, 85, 13), width=2), symbol="o", symbolSize=5,
            symbolBrush=(230, 85, 13), symbolPen=None)
        self.curve_random = self.deletion_plot.plot_item.plot(
            [], [], name="random pixels", pen=pg.mkPen((128, 128, 128), width=2, style=Qt.DashLine))
        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self.tiles)
        split.addWidget(self.deletion_plot)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 0)
        lay.addLayout(top)
        lay.addLayout(second)
        lay.addWidget(self.status_label)
        lay.addWidget(self.verdict)
        lay.addWidget(split, 1)
        self._set_bands(1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_labels()

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Give the wrapped lines the height their text needs at this width: inside a tab the
        layout does not ask a wrapped label for its height at the width it gets, and cuts its last lines."""
        width = self.width() - 4
        for label in (self.status_label, self.verdict):
            label.setMinimumHeight(label.heightForWidth(width) if width > 0 else 0)

    # -- computing --------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self.method_combo.currentData()

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))

    def _key(self, rows, method):
        project, prepared, data = self._source()
        run = project.run() if project is not None else None
        return (id(project), run.id if run else None, id(prepared), id(data), tuple(int(r) for r in rows), method)

    def explain(self, rows=None) -> None:
        """Compute (or recall) the maps of ``rows`` (default: the browser's choice) with the chosen method."""
        from nnstudio.core.workflow.explain import explain_samples
        from nnstudio.gui.workers import Job

        rows = [int(r) for r in (self._rows() if rows is None else rows)]
        if not rows:
            self.set_status("No samples listed: click a cell, a point or a bar first.")
            return
        self._asked = rows
        key = self._key(rows, self.method)
        if key in self._cache:
            self.show_result(self._cache[key])
            return
        project, prepared, dataset = self._source()
        self.set_status(f"Computing {self.method_combo.currentText().lower()} for "
                        f"{len(rows)} sample{'s' if len(rows) != 1 else ''} and a randomised copy of the model…")
        if self._compute is not None:
            job = Job(self._compute, rows, self.method, name="explain")
        else:
            job = Job(explain_samples, project, rows, self.method, prepared=prepared, dataset=dataset, name="explain")
        job.returned.connect(lambda result: self._cache.__setitem__(key, result))   # kept even if replaced
        self.run(job, self.show_result, "attribution maps")

    def _on_method(self, _i) -> None:
        if self.result is not None and self._asked:       # follow the shown samples with the new method
            self.explain(list(self._asked))

    def clear(self) -> None:
        self.cancel()
        self.result = None
        self._asked = []
        self._cache.clear()
        self.tiles.clear()
        self.curve_attributed.setData([], [])
        self.curve_random.setData([], [])
        self.deletion_plot.set_placeholder("Explain samples to see how fast the score falls as their "
                                           "most-attributed pixels are deleted.")
        self.verdict.set_verdict("none", "The sanity check appears here: the same maps from a copy of the "
                                         "model with random weights should look different.")

    # -- drawing ----------------------------------------------------------------------------------
    def _set_bands(self, n: int) -> None:
        keep = self.band_combo.currentIndex()
        self.band_combo.blockSignals(True)
        self.band_combo.clear()
        self.band_combo.addItem("all bands summed", -1)
        if n > 1:
            for b in range(n):
                self.band_combo.addItem(f"band {b + 1}", b)
        self.band_combo.setCurrentIndex(keep if 0 <= keep < self.band_combo.count() else 0)
        self.band_combo.setEnabled(n > 1)
        self.band_combo.blockSignals(False)

    @property
    def band(self) -> int:
        return int(self.band_combo.currentData())

    def show_result(self, result) -> None:
        from nnstudio.core.evaluation.explain_images import METHOD_LABELS

        self.result = result
        self.method_combo.blockSignals(True)
        self.set_method(result.method)
        self.method_combo.blockSignals(False)
        self._set_bands(result.maps.maps.shape[-1])
        label = METHOD_LABELS.get(result.method, result.method)
        what = sorted(set(result.explained))
        self.set_status(f"{label[:1].upper() + label[1:]} of {len(result.rows)} sample"
                                  f"{'s' if len(result.rows) != 1 else ''}: red-orange marks the pixels that "
                                  f"raised {' / '.join(what)} (units: {result.units})."
                                  + "".join(f" {n}" for n in result.notes))
        self.redraw()
        s = result.sanity
        self.verdict.set_verdict("good" if s.informative else "warn", sanity_words(s) + " Deleting the most "
                                 f"attributed pixels first lowers the score {deletion_words(result.deletion)}.")
        self.verdict.setToolTip(s.verdict + ".")
        d = result.deletion
        self.curve_attributed.setData(d.fractions, d.attributed)
        self.curve_random.setData(d.fractions, d.random)
        item = self.deletion_plot.plot_item
        if result.problem == "classification":
            item.setLabel("left", "mean probability")
            item.setYRange(0, 1, padding=0.02)          # a fall of 0.002 is not drawn as a cliff
        else:
            item.setLabel("left", f"mean {result.explained[0]}" if result.explained else "mean prediction")
            item.enableAutoRange(axis="y")
        self.deletion_plot.set_title("Deletion curve")
        self.deletion_plot.setToolTip(f"Mean score over the deleted fractions (lower: the map found what "
                                      f"matters): {d.area_attributed:.3g} deleting the most attributed pixels "
                                      f"first, {d.area_random:.3g} deleting random ones")
        self.deletion_plot.set_placeholder(None)
        self._fit_labels()
        self.shown.emit(result)

    def redraw(self) -> None:
        r = self.result
        self.tiles.clear()
        if r is None:
            return
        opacity = self.opacity_slider.value() / 100.0
        band = self.band if r.maps.maps.shape[-1] > 1 else -1
        for k, row in enumerate(r.rows):
            img = r.images[k]
            if band >= 0:
                q = overlay_qimage(img[..., band], r.maps.maps[k, ..., band], opacity)
            else:
                q = overlay_qimage(img, r.maps.summed[k], opacity)
            q = q.scaled(TILE, TILE, Qt.KeepAspectRatio, Qt.FastTransformation)
            item = QListWidgetItem(QIcon(QPixmap.fromImage(q)), f"row {int(row)}\n{r.explained[k]} {r.scores[k]:.3g}")
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            c = r.sanity.correlations[k] if k < len(r.sanity.correlations) else np.nan
            where = f"{r.splits[k]} split" if r.splits[k] in ("train", "val", "cal", "test") else r.splits[k]
            item.setToolTip(f"Row {int(row)} ({where}). Rank correlation with the randomised model's map: "
                            f"{c:.2f}" if np.isfinite(c) else f"Row {int(row)} ({where})")
            self.tiles.addItem(item)


__all__ = ["ExplainView", "deletion_words", "overlay_qimage", "sanity_words"]
