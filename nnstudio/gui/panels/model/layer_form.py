"""A form for one layer, built from its LAYER_TYPES fields; emits only valid values.

Numbers with a range get spin boxes that refuse out-of-range text; sizes, shapes and optional
values get line edits parsed and checked with the core's ``check_field``. A refused value leaves
its message under the field and the layer unchanged.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QLineEdit,
                               QVBoxLayout, QWidget)

from nnstudio.core.formatting import fmt_count, fmt_number
from nnstudio.core.model import ACTIVATIONS, ALPHA_DEFAULTS, LAYER_TYPES, shape_text
from nnstudio.core.model.layers import Field, check_field
from nnstudio.gui.panels.model.activation_plot import ActivationBox, activation_tooltip
from nnstudio.gui.widgets.spinboxes import FloatSpin, IntSpin

ERROR_STYLE = "color: rgb(220, 53, 69);"
LOG_FIELDS = {"l2", "epsilon"}          # values spread over decades
_INT = re.compile(r"^[+-]?\d+$")


def field_label(name: str) -> str:
    special = {"l2": "L2 penalty", "use_bias": "Use bias", "alpha": "α (alpha)"}
    return special.get(name, name.replace("_", " ").capitalize())


def parse_value(f: Field, text: str):
    """Text typed for a size, shape or optional field -> the value to check (which may be
    invalid: check_field then says why)."""
    t = text.strip()
    if not t:
        return None
    if f.type in ("size", "shape"):
        parts = [p for p in re.split(r"[\s,;x×*()\[\]]+", t) if p]
        values = [_number(p) for p in parts]
        if f.type == "size" and len(values) == 1:
            return values[0]
        return values
    return _number(t)


def _number(t: str):
    if _INT.match(t):
        return int(t)
    try:
        return float(t)
    except ValueError:
        return t


def format_value(f: Field, v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, float):
        return fmt_number(v, digits=6)
    return str(v)


class _Row:
    """One field: its editor widget, error label and how to read/write it."""

    def __init__(self, f: Field, widget: QWidget, error: QLabel, container: QWidget):
        self.field = f
        self.widget = widget
        self.error = error
        self.container = container
        self.refused: str | None = None   # message for the last refused input

    def set_message(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))


class LayerForm(QWidget):
    """Shows one layer's settings. ``edited(name, value)`` is emitted for valid changes only."""

    edited = Signal(str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel()
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title.setFont(f)
        self.help = QLabel()
        self.help.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setTextInteractionFlags(Qt.TextSelectableByMouse)
        for w in (self.title, self.help, self.summary, self.problem):
            lay.addWidget(w)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        line.setFrameShadow(QFrame.Sunken)
        lay.addWidget(line)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        lay.addWidget(self.form_host)
        self.activation_box = ActivationBox()
        self.activation_box.setVisible(False)
        lay.addWidget(self.activation_box)
        lay.addStretch(1)
        self.rows: dict[str, _Row] = {}
        self.identity: tuple | None = None
        self.layer = None
        self.set_input(None)

    # -- public -----------------------------------------------------------------------------
    def set_input(self, shape) -> None:
        """Show the input row: its shape comes from the data, nothing to edit."""
        self._clear()
        self.identity = ("input",)
        self.layer = None
        self.title.setText("Input")
        self.help.setText("The shape of one sample, taken from the prepared data. Change it in "
                          "the Data panel." if shape is not None else "Select a layer to edit it.")
        self.summary.setText(f"Shape {shape_text(shape)}" if shape is not None else "")
        self.summary.setVisible(shape is not None)
        self.problem.setVisible(False)

    def set_layer(self, index: int, layer, info=None) -> None:
        """Show ``layer`` (a LayerSpec) at position ``index`` with its inferred ``info``. The same
        layer shown again is updated in place, so focus and typing survive a refresh."""
        identity = (index, layer.class_name)
        if identity != self.identity:
            self._build(layer)
            self.identity = identity
        self.layer = layer
        self._load(layer)
        if info is not None:
            parts = [f"Output {shape_text(info.output_shape)}"]
            if info.output_shape is not None:
                parts.append(f"{fmt_count(info.trainable_params)} trainable")
                if info.non_trainable_params:
                    parts.append(f"{fmt_count(info.non_trainable_params)} non-trainable")
                parts[-1] += " parameters"
            self.summary.setText(" · ".join(parts))
            self.summary.setVisible(True)
            self.problem.setText(info.error or "")
            self.problem.setVisible(bool(info.error))
        else:
            self.summary.setVisible(False)
            self.problem.setVisible(False)

    def widget(self, name: str) -> QWidget:
        return self.rows[name].widget

    def message(self, name: str) -> str:
        """The message shown under field ``name`` ("" when none)."""
        row = self.rows[name]
        return row.error.text() if not row.error.isHidden() else ""

    # -- building ---------------------------------------------------------------------------
    def _clear(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = {}
        self.activation_box.setVisible(False)

    def _build(self, layer) -> None:
        self._clear()
        lt = LAYER_TYPES[layer.class_name]
        self.title.setText(lt.title)
        self.help.setText(lt.help)
        if not lt.fields:
            note = QLabel("This layer has no settings.")
            note.setEnabled(False)
            self.form.addRow(note)
        for f in lt.fields:
            widget = self._editor(f)
            widget.setToolTip(f.help)
            error = QLabel()
            error.setWordWrap(True)
            error.setStyleSheet(ERROR_STYLE)
            error.setVisible(False)
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(1)
            v.addWidget(widget)
            v.addWidget(error)
            label = QLabel(field_label(f.name))
            label.setToolTip(f.help)
            self.form.addRow(label, box)
            self.rows[f.name] = _Row(f, widget, error, box)

    def _editor(self, f: Field) -> QWidget:
        name = f.name
        if f.type == "int" and not f.optional:
            lo = int(f.min) if f.min is not None else -1_000_000
            w = IntSpin(lambda v, f=f: check_field(f, v), lo=lo,
                        hi=int(f.max) if f.max is not None else 1_000_000)
            w.valueChanged.connect(lambda v, n=name: self._commit(n, int(v)))
            w.lineEdit().textEdited.connect(lambda t, n=name: self._typed(n, t))
            return w
        if f.type == "float" and not f.optional:
            w = FloatSpin(lambda v, f=f: check_field(f, v), step=0.05, log=name in LOG_FIELDS,
                          lowest=1e-5)
            w.valueChanged.connect(lambda v, n=name: self._commit(n, float(v)))
            w.lineEdit().textEdited.connect(lambda t, n=name: self._typed(n, t))
            return w
        if f.type == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda v, n=name: self._commit(n, bool(v)))
            return w
        if f.type == "choice":
            w = QComboBox()
            for i, c in enumerate(f.choices):
                w.addItem(c, c)
                if name == "activation":
                    w.setItemData(i, activation_tooltip(c), Qt.ToolTipRole)
            w.currentIndexChanged.connect(lambda i, n=name, w=w: self._commit(n, w.itemData(i)))
            return w
        w = QLineEdit()
        if f.type == "size":
            w.setPlaceholderText("e.g. 3 or 3, 5" if f.ndim == 2 else "e.g. 3")
        elif f.type == "shape":
            w.setPlaceholderText("e.g. 8, 8, 1 (one entry may be -1)")
        w.textEdited.connect(lambda t, n=name: self._typed(n, t))
        w.editingFinished.connect(lambda n=name: self._finish_text(n))
        return w

    # -- values -----------------------------------------------------------------------------
    def _load(self, layer) -> None:
        for name, row in self.rows.items():
            v = layer.config.get(name)
            w = row.widget
            w.blockSignals(True)
            try:
                if isinstance(w, (IntSpin, FloatSpin)):
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and w.value() != v:
                        w.setValue(v)
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(v))
                elif isinstance(w, QComboBox):
                    i = w.findData(v)
                    if i >= 0:
                        w.setCurrentIndex(i)
                elif not w.hasFocus() or row.refused is None:
                    text = format_value(row.field, v)
                    if w.text() != text:
                        w.setText(text)
            finally:
                w.blockSignals(False)
            row.set_message(row.refused or check_field(row.field, v))
        self._update_alpha(layer)

    def _update_alpha(self, layer) -> None:
        act = layer.config.get("activation")
        if "alpha" in self.rows:
            row = self.rows["alpha"]
            uses = act in ALPHA_DEFAULTS
            row.widget.setEnabled(uses)
            row.widget.setPlaceholderText(f"default ({ALPHA_DEFAULTS[act]:g})" if uses
                                          else f"not used by {act}")
            self.form.labelForField(row.container).setEnabled(uses)
        if act in ACTIVATIONS:
            self.activation_box.set_activation(act, layer.config.get("alpha"))
        else:
            self.activation_box.setVisible(False)

    def _typed(self, name: str, text: str) -> None:
        """Live message while typing; nothing is committed until Enter or focus-out."""
        row = self.rows[name]
        f = row.field
        if isinstance(row.widget, (IntSpin, FloatSpin)):
            value = _number(text.strip()) if text.strip() else None
        else:
            value = parse_value(f, text)
        msg = check_field(f, value)
        row.refused = msg
        row.set_message(msg)

    def _finish_text(self, name: str) -> None:
        row = self.rows[name]
        value = parse_value(row.field, row.widget.text())
        msg = check_field(row.field, value)
        if msg:
            row.refused = msg
            row.set_message(msg)
            return
        self._commit(name, value)

    def _commit(self, name: str, value) -> None:
        row = self.rows.get(name)
        if row is None or self.layer is None:
            return
        msg = check_field(row.field, value)
        if msg:  # never happens for spin boxes; kept so no path can write a bad value
            row.refused = msg
            row.set_message(msg)
            return
        row.refused = None
        row.set_message(None)
        if self.layer.config.get(name) != value:
            self.edited.emit(name, value)


__all__ = ["LayerForm", "parse_value", "format_value", "field_label"]
