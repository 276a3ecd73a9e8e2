"""Write pyqtgraph plots to PNG and SVG files (atomically).

SVG goes through pyqtgraph's SVGExporter, which draws with PySide6.QtSvg.
"""
from __future__ import annotations

from pathlib import Path

from nnstudio.core.files import atomic_path
from nnstudio.errors import NnstudioError

FORMATS = ("png", "svg")
MIN_PNG_WIDTH = 900          # pixels: a plot exported from a small panel is still legible


def _plot_item(plot):
    return plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot


def _ensure_size(plot) -> None:
    """An offscreen or never-shown widget has no size; give it one so the scene has extent."""
    if hasattr(plot, "width") and callable(plot.width) and (plot.width() < 50 or plot.height() < 50):
        plot.resize(480, 360)


def export_plot(plot, path) -> Path:
    """Write ``plot`` (a PlotWidget or PlotItem) to ``path``; the suffix (.png or .svg) picks the format."""
    from pyqtgraph.exporters import ImageExporter, SVGExporter

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise NnstudioError(f"Plots can be exported as PNG or SVG, not '{path.suffix or path.name}'.")
    if not path.parent.exists():
        raise NnstudioError(f"The folder {path.parent} does not exist.")
    _ensure_size(plot)
    item = _plot_item(plot)
    with atomic_path(path) as tmp:   # the temporary file keeps the suffix the exporters go by
        if fmt == "png":
            exporter = ImageExporter(item)
            width = int(item.sceneBoundingRect().width())
            if width < MIN_PNG_WIDTH:
                exporter.parameters()["width"] = MIN_PNG_WIDTH
            exporter.export(str(tmp))
        else:
            SVGExporter(item).export(str(tmp))
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise NnstudioError(f"Nothing was drawn into {path.name}.")
    return path


def export_plots(plots: dict, folder, formats=FORMATS, prefix: str = "") -> list[Path]:
    """Every plot of ``{name: plot}`` as ``folder/PREFIXname.FORMAT``; returns the written paths."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NnstudioError(f"The folder {folder} does not exist.")
    written = []
    for name, plot in plots.items():
        for fmt in formats:
            written.append(export_plot(plot, folder / f"{prefix}{name}.{fmt}"))
    return written

