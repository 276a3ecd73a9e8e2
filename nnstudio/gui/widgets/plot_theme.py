"""Moved to :mod:`nnstudio.gui.theme` and :mod:`nnstudio.gui.preview`; kept for older imports."""
from nnstudio.gui.preview import preview_application  # noqa: F401
from nnstudio.gui.theme import apply_plot_theme, plot_colours  # noqa: F401
