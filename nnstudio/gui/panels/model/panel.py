"""The Model panel: build the network layer by layer with live shape and parameter checks.

Every edit is a snapshot of the whole ModelSpec on a QUndoStack, so undo and redo restore the
spec exactly. Shapes, parameter counts and problems come from the pure-Python ``infer`` on every
edit; Keras is not involved here.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QMenu, QPushButton, QScrollArea, QSplitter,
                               QTabWidget, QToolButton, QVBoxLayout, QWidget)

from nnstudio.core.formatting import fmt_count
from nnstudio.core.model import (LAYER_TYPES, LOSSES, METRICS, OPTIMIZERS, TEMPLATES,
                                 LayerSpec, ModelSpec, default_template, diagram_data, infer,
                                 make_template, metric_applies, output_kind, shape_text,
                                 suggest_output)
from nnstudio.core.model.budget import parameter_budget
from nnstudio.errors import NnstudioError
from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.model.budget import BudgetCard
from nnstudio.gui.panels.model.diagram import DiagramView, export_png, export_svg
from nnstudio.gui.panels.model.layer_form import LayerForm
from nnstudio.gui.panels.model.layer_table import LayerTable, Row
from nnstudio.gui.widgets.spinboxes import FloatSpin

MERGE_SECONDS = 2.0        # consecutive edits of one field within this time undo as one
CATEGORIES = (("core", "Core"), ("convolution", "Convolution and pooling"), ("shape", "Shape"),
              ("regularisation", "Regularisation"), ("output", "Output"))
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear")


def moved(items: list, src: int, dest: int) -> list:
    """``items`` with the item at ``src`` taken out and put back at index ``dest``."""
    out = list(items)
    out.insert(dest, out.pop(src))
    return out


class SpecEdit(QUndoCommand):
    """One edit: the spec before and after (as dicts) and which layer to select for each."""

    def __init__(self, panel: "ModelPanel", before: dict, after: dict, text: str,
                 select_before: int | None, select_after: int | None, merge=None):
        super().__init__(text)
        self.panel = panel
        self.before, self.after = before, after
        self.select_before, self.select_after = select_before, select_after
        self.merge = merge
        self.stamp = time.monotonic()

    def id(self) -> int:
        return 1 if self.merge is not None else -1

    def mergeWith(self, other) -> bool:
        if other.merge != self.merge or other.stamp - self.stamp > MERGE_SECONDS:
            return False
        self.after, self.select_after, self.stamp = other.after, other.select_after, other.stamp
        return True

    def redo(self) -> None:
        self.panel._set_spec(self.after, self.select_after)

    def undo(self) -> None:
        self.panel._set_spec(self.before, self.select_before)


class ModelPanel(Panel):
    key = "model"
    title = "Model"
    requires = ("data",)

    # -- building ---------------------------------------------------------------------------
    def build(self) -> QWidget:
        self.undo_stack = QUndoStack(self)
        self.inference = None
        self._emitting = False
        self._known: dict | None = None      # the spec last written or shown, to spot outside edits
        self._render_key = None
        self._select: int | None = None      # table row to select at the next render
        self._rendering = False

        w = QWidget()
        outer = QVBoxLayout(w)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._build_top_bar())
        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self._build_left())
        split.addWidget(self._build_right())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        self.splitter = split
        self._sized = False
        outer.addWidget(split, 1)
        self._build_actions()

        s = self.session
        s.project_changed.connect(self._on_project_changed)
        s.prepared_changed.connect(self._on_prepared)
        s.model_changed.connect(self._on_model_changed)
        return w

    def _build_top_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Template:"))
        self.template_combo = QComboBox()
        self.template_combo.setToolTip("A starting network that fits the prepared data")
        for name, (title, text) in TEMPLATES.items():
            self.template_combo.addItem(title, name)
            self.template_combo.setItemData(self.template_combo.count() - 1, text, Qt.ToolTipRole)
        bar.addWidget(self.template_combo)
        self.apply_template_button = QPushButton("Apply")
        self.apply_template_button.setToolTip("Replace the whole network with this template "
                                              "(undo brings the old one back)")
        self.apply_template_button.clicked.connect(
            lambda: self.apply_template(self.template_combo.currentData()))
        bar.addWidget(self.apply_template_button)
        bar.addSpacing(16)
        self.suggest_button = QToolButton()
        self.suggest_button.setText("Suggest output")
        self.suggest_button.setPopupMode(QToolButton.MenuButtonPopup)
        self.suggest_button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.suggest_menu = QMenu(self.suggest_button)
        self.suggest_menu.setToolTipsVisible(True)
        self.suggest_button.setMenu(self.suggest_menu)
        self.suggest_button.clicked.connect(lambda: self.suggest_output(False))
        bar.addWidget(self.suggest_button)
        bar.addStretch(1)
        self.undo_button = QToolButton()
        self.redo_button = QToolButton()
        bar.addWidget(self.undo_button)
        bar.addWidget(self.redo_button)
        return bar

    def _layer_menu(self, title: str, slot) -> QMenu:
        menu = QMenu(title, self)
        menu.setToolTipsVisible(True)
        for cat, cat_title in CATEGORIES:
            types = [lt for lt in LAYER_TYPES.values() if lt.category == cat]
            if not types:
                continue
            menu.addSection(cat_title)
            for lt in types:
                a = menu.addAction(f"{lt.title}")
                a.setData(lt.class_name)
                a.setToolTip(lt.help)
                a.triggered.connect(lambda _=False, c=lt.class_name: slot(c))
        return menu

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonTextOnly)
        b.clicked.connect(slot)
        return b

    def _build_left(self) -> QWidget:
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 4, 0)
        tools = QHBoxLayout()
        self.add_menu = self._layer_menu("Add layer", self.add_layer)
        self.insert_menu = self._layer_menu("Insert layer", self.insert_layer)
        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setToolTip("Add a layer after the selected one")
        self.add_button.setMenu(self.add_menu)
        self.add_button.setPopupMode(QToolButton.InstantPopup)
        self.insert_button = QToolButton()
        self.insert_button.setText("Insert")
        self.insert_button.setToolTip("Insert a layer before the selected one")
        self.insert_button.setMenu(self.insert_menu)
        self.insert_button.setPopupMode(QToolButton.InstantPopup)
        self.duplicate_button = self._tool("Duplicate", "Copy the selected layer below it",
                                           lambda: self.duplicate_layer())
        self.remove_button = self._tool("Remove", "Remove the selected layer (Delete)",
                                        lambda: self.remove_layer())
        self.up_button = self._tool("▲ Up", "Move the selected layer up (Alt+Up)", self.move_up)
        self.down_button = self._tool("▼ Down", "Move the selected layer down (Alt+Down)",
                                      self.move_down)
        for b in (self.add_button, self.insert_button, self.duplicate_button, self.remove_button,
                  self.up_button, self.down_button):
            tools.addWidget(b)
        tools.addStretch(1)
        lay.addLayout(tools)

        self.table = LayerTable()
        self.table_model = self.table.table_model
        self.table_model.move_requested.connect(self.move_layer)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        lay.addWidget(self.table, 1)

        self.totals = QLabel()
        self.totals.setTextFormat(Qt.RichText)
        self.totals.setWordWrap(True)
        lay.addWidget(self.totals)
        lay.addWidget(self._build_compile())
        return left

    def _build_compile(self) -> QGroupBox:
        box = QGroupBox("Training settings")
        grid = QGridLayout(box)
        self.loss_combo = QComboBox()
        for name, text in LOSSES.items():
            self.loss_combo.addItem(f"{text}", name)
            self.loss_combo.setItemData(self.loss_combo.count() - 1, name, Qt.ToolTipRole)
        self.loss_combo.setToolTip("What training minimises")
        self.loss_combo.currentIndexChanged.connect(
            lambda _i: self.set_compile(loss=self.loss_combo.currentData()))
        self.optimizer_combo = QComboBox()
        for name, text in OPTIMIZERS.items():
            self.optimizer_combo.addItem(text, name)
        self.optimizer_combo.setToolTip("How the weights are updated from the gradients")
        self.optimizer_combo.currentIndexChanged.connect(
            lambda _i: self.set_compile(optimizer=self.optimizer_combo.currentData()))
        self.lr_spin = FloatSpin(lambda v: None if 0 < v <= 10 else
                                 "The learning rate must be above 0 and at most 10.",
                                 log=True, lowest=1e-6)
        self.lr_spin.setToolTip("Step size of the optimizer. The arrows step 1-2-5 per decade.")
        self.lr_spin.valueChanged.connect(lambda v: self.set_compile(learning_rate=float(v)))
        self.momentum_spin = FloatSpin(lambda v: None if 0 <= v < 1 else
                                       "Momentum must be from 0 up to (not including) 1.", step=0.05)
        self.momentum_spin.setToolTip("Fraction of the previous update carried into the next "
                                      "(SGD and RMSprop)")
        self.momentum_spin.valueChanged.connect(lambda v: self.set_compile(momentum=float(v)))
        self.metrics_row = QHBoxLayout()
        self.metrics_row.setContentsMargins(0, 0, 0, 0)
        self.metric_boxes: dict[str, QCheckBox] = {}
        for m, (_applies, text) in METRICS.items():
            cb = QCheckBox(m)
            cb.setToolTip(text)
            cb.toggled.connect(self._on_metric_toggled)
            self.metrics_row.addWidget(cb)
            self.metric_boxes[m] = cb
        self.metrics_row.addStretch(1)
        for combo in (self.loss_combo, self.optimizer_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.momentum_label = QLabel("Momentum")
        for r, c, label, widget in ((0, 0, "Loss", self.loss_combo),
                                    (0, 2, "Optimizer", self.optimizer_combo),
                                    (1, 0, "Learning rate", self.lr_spin),
                                    (1, 2, self.momentum_label, self.momentum_spin)):
            grid.addWidget(label if isinstance(label, QLabel) else QLabel(label), r, c)
            grid.addWidget(widget, r, c + 1)
        grid.addWidget(QLabel("Metrics"), 2, 0)
        grid.addLayout(self.metrics_row, 2, 1, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return box

    def _build_right(self) -> QWidget:
        self.tabs = QTabWidget()
        self.tabs.setMinimumWidth(340)
        self.form = LayerForm()
        self.form.edited.connect(self._on_form_edit)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.tabs.addTab(scroll, "Layer settings")
        diagram_page = QWidget()
        v = QVBoxLayout(diagram_page)
        v.setContentsMargins(0, 0, 0, 0)
        self.diagram = DiagramView()
        self.diagram.box_clicked.connect(lambda i: self.table.select_row(i))
        self.diagram_scroll = dscroll = QScrollArea()
        dscroll.setWidgetResizable(True)
        dscroll.setWidget(self.diagram)
        v.addWidget(dscroll, 1)
        row = QHBoxLayout()
        row.setContentsMargins(6, 0, 6, 6)
        row.addStretch(1)
        self.export_png_button = QPushButton("Export PNG…")
        self.export_png_button.clicked.connect(lambda: self._export_dialog("png"))
        self.export_svg_button = QPushButton("Export SVG…")
        self.export_svg_button.clicked.connect(lambda: self._export_dialog("svg"))
        row.addWidget(self.export_png_button)
        row.addWidget(self.export_svg_button)
        v.addLayout(row)
        self.tabs.addTab(diagram_page, "Diagram")
        self.budget_card = BudgetCard()
        self.tabs.addTab(self.budget_card, "Parameter budget")
        self.tabs.currentChanged.connect(self._scroll_diagram)
        return self.tabs

    def _build_actions(self) -> None:
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcuts([QKeySequence(QKeySequence.Undo)])
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        # buttons with a fixed text (the actions' texts name the edit and would resize them)
        for button, text, slot, can in (
                (self.undo_button, "Undo", self.undo_stack.undo, self.undo_stack.canUndoChanged),
                (self.redo_button, "Redo", self.undo_stack.redo, self.undo_stack.canRedoChanged)):
            button.setText(text)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            button.clicked.connect(slot)
            can.connect(button.setEnabled)
            button.setEnabled(False)
        self.undo_stack.indexChanged.connect(self._update_undo_tips)
        self._update_undo_tips()
        self.remove_action = QAction("Remove layer", self)
        self.remove_action.setShortcut(QKeySequence.Delete)
        self.remove_action.triggered.connect(lambda: self.remove_layer())
        self.up_action = QAction("Move up", self)
        self.up_action.setShortcut(QKeySequence("Alt+Up"))
        self.up_action.triggered.connect(self.move_up)
        self.down_action = QAction("Move down", self)
        self.down_action.setShortcut(QKeySequence("Alt+Down"))
        self.down_action.triggered.connect(self.move_down)
        self.duplicate_action = QAction("Duplicate layer", self)
        self.duplicate_action.triggered.connect(lambda: self.duplicate_layer())
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.addAction(a)
        for a in (self.remove_action, self.up_action, self.down_action):
            a.setShortcutContext(Qt.WidgetShortcut)
            self.table.addAction(a)

    def showEvent(self, e):
        super().showEvent(e)
        if not self._sized and self.splitter.width() > 0:
            # two thirds for the layer table, a third for the form and diagram
            self._sized = True
            w = self.splitter.width()
            self.splitter.setSizes([w - max(340, w // 3), max(340, w // 3)])

    def _update_undo_tips(self, *_):
        self.undo_button.setToolTip(f"{self.undo_action.text()} (Ctrl+Z)")
        self.redo_button.setToolTip(f"{self.redo_action.text()} (Ctrl+Shift+Z)")

    # -- session ----------------------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec | None:
        return self.session.project.model

    def _data_info(self) -> tuple[tuple, str | None, int | None]:
        p = self.session.prepared
        return tuple(p.input_shape), p.problem, (p.n_classes or None)

    def _on_project_changed(self) -> None:
        self.undo_stack.clear()
        self._known = None
        self._render_key = None

    def _on_prepared(self) -> None:
        prepared = self.session.prepared
        if prepared is None:
            return
        self._update_templates()
        self._update_suggestions()
        if self.spec is None:
            self._create_default()

    def _create_default(self) -> None:
        p = self.session.prepared
        name = default_template(p.kind, p.problem)
        try:
            spec = make_template(name, p.input_shape, p.problem, p.n_classes or None)
        except NnstudioError as exc:
            self.messages.error("template", str(exc))
            return
        self.undo_stack.clear()
        self._select = 1
        self._write(spec.to_dict())

    def _on_model_changed(self) -> None:
        if self._emitting:
            return
        spec = self.spec
        now = spec.to_dict() if spec is not None else None
        if now != self._known:   # replaced from outside (open, import): old edits do not apply
            self.undo_stack.clear()
            self._known = now

    def _write(self, d: dict) -> None:
        """Store a spec in the project and tell everyone."""
        project = self.session.project
        project.model = ModelSpec.from_dict(d)
        self._known = d
        project.mark_changed("model")
        self._emitting = True
        try:
            self.session.model_changed.emit()
        finally:
            self._emitting = False
        self.refresh()

    def _set_spec(self, d: dict, select: int | None) -> None:
        """Used by undo commands: the spec and the layer (index) to select."""
        if select is not None:
            self._select = select + 1
        self._write(d)

    def _push(self, spec: ModelSpec, text: str, select: int | None, merge=None) -> bool:
        before = self.spec.to_dict() if self.spec is not None else ModelSpec().to_dict()
        after = spec.to_dict()
        if after == before:
            return False
        self.messages.clear("edit")
        self.undo_stack.push(SpecEdit(self, before, after, text, self.selected_layer(), select,
                                      merge))
        return True

    # -- editing (public, used by the widgets and tests) ---------------------------------------
    def selected_layer(self) -> int | None:
        """Index of the selected layer (None for the input row or no selection)."""
        row = self.table.selected_row()
        return None if row is None or row == 0 else row - 1

    def select_layer(self, index: int) -> None:
        self.table.select_row(index + 1)

    def _layers(self) -> list[LayerSpec]:
        return list(self.spec.layers) if self.spec is not None else []

    def _with_layers(self, layers: list[LayerSpec], **changes) -> ModelSpec:
        base = self.spec.to_dict() if self.spec is not None else ModelSpec().to_dict()
        base["layers"] = [layer.to_dict() for layer in layers]
        base.update(changes)
        return ModelSpec.from_dict(base)

    def add_layer(self, class_name: str, index: int | None = None) -> None:
        """Add a layer of ``class_name`` at ``index`` (default: after the selected layer, at the
        top when the input is selected, else at the end)."""
        layers = self._layers()
        if index is None:
            sel, row = self.selected_layer(), self.table.selected_row()
            index = sel + 1 if sel is not None else (0 if row == 0 else len(layers))
        layers.insert(index, LayerSpec(class_name))
        self._push(self._with_layers(layers), f"Add {class_name}", index)

    def insert_layer(self, class_name: str) -> None:
        """Insert a layer before the selected one (at the top when nothing is selected)."""
        sel = self.selected_layer()
        self.add_layer(class_name, sel if sel is not None else 0)

    def remove_layer(self, index: int | None = None) -> None:
        layers = self._layers()
        index = self.selected_layer() if index is None else index
        if index is None or not 0 <= index < len(layers):
            return
        gone = layers.pop(index)
        self._push(self._with_layers(layers), f"Remove {gone.class_name}",
                   min(index, len(layers) - 1) if layers else None)
        if not layers:
            self.table.select_row(0)

    def duplicate_layer(self, index: int | None = None) -> None:
        layers = self._layers()
        index = self.selected_layer() if index is None else index
        if index is None or not 0 <= index < len(layers):
            return
        layers.insert(index + 1, LayerSpec.from_dict(layers[index].to_dict()))
        self._push(self._with_layers(layers), f"Duplicate {layers[index].class_name}", index + 1)

    def move_layer(self, src: int, dest: int) -> None:
        layers = self._layers()
        if src == dest or not (0 <= src < len(layers) and 0 <= dest < len(layers)):
            return
        self._push(self._with_layers(moved(layers, src, dest)),
                   f"Move {layers[src].class_name}", dest)

    def move_up(self) -> None:
        i = self.selected_layer()
        if i is not None and i > 0:
            self.move_layer(i, i - 1)

    def move_down(self) -> None:
        i = self.selected_layer()
        if i is not None and i < len(self._layers()) - 1:
            self.move_layer(i, i + 1)

    def set_layer_setting(self, index: int, name: str, value) -> None:
        layers = self._layers()
        layers[index] = layers[index].replace(**{name: value})
        # spin-box steps of one number merge into one undo step; other edits stand alone
        f = LAYER_TYPES[layers[index].class_name].field(name)
        merge = ("field", index, name) if f.type in ("int", "float") and not f.optional else None
        self._push(self._with_layers(layers), f"Change {name} of layer {index + 1}", index,
                   merge=merge)

    def set_compile(self, **changes) -> None:
        if self.spec is None or self._rendering:
            return
        try:
            spec = self._with_layers(self._layers(), **changes)
        except NnstudioError as exc:
            self.messages.error("edit", str(exc))
            self.refresh(force=True)
            return
        what = ", ".join(k.replace("_", " ") for k in changes)
        numeric = set(changes) <= {"learning_rate", "momentum"}
        self._push(spec, f"Change {what}", self.selected_layer(),
                   merge=("compile", *changes) if numeric else None)

    def apply_template(self, name: str) -> None:
        if self.session.prepared is None:
            return
        shape, problem, n = self._data_info()
        try:
            spec = make_template(name, shape, problem, n)
        except NnstudioError as exc:
            self.messages.error("edit", str(exc))
            return
        self._push(spec, f"Apply template {TEMPLATES[name][0]}", len(spec.layers) - 1)

    def import_keras(self, path: str) -> None:
        """Open a ``.keras`` file (safe mode, in the background): a plain stack of supported layers
        becomes the edited model (undoable); anything else is shown read-only with its summary."""
        from nnstudio.core.model import load_keras_file

        self.messages.clear("import")
        self.start_job(lambda task: load_keras_file(path), on_done=lambda r: self._on_imported(path, r),
                       on_error=lambda exc: self.messages.error("import", str(exc)), name="import model")

    def _on_imported(self, path: str, result) -> None:
        spec, summary = result
        name = Path(path).name
        if spec is None:
            self.messages.warning("import", f"{name} cannot be edited here; its summary:\n{summary}")
            return
        if self._push(spec, f"Import {name}", 0):
            self.messages.info("import", f"Imported the model of {name} ({len(spec.layers)} layers).")

    def suggest_output(self, uncertainty: bool = False) -> None:
        """Put the output layer and loss that fit the target at the end of the network."""
        if self.session.prepared is None:
            return
        _shape, problem, n = self._data_info()
        try:
            out, loss = suggest_output(problem, n, uncertainty=uncertainty)
        except NnstudioError as exc:
            self.messages.error("edit", str(exc))
            return
        layers = self._layers()
        if layers and self._is_output_like(len(layers) - 1):
            layers = layers[:-1]
        layers += out
        kind = output_kind(problem, n)
        metrics = [m for m in (self.spec.metrics if self.spec else []) if metric_applies(m, kind)]
        if not metrics:
            metrics = ["accuracy"] if problem == "classification" else ["mae"]
        self._push(self._with_layers(layers, loss=loss, metrics=metrics),
                   "Suggest output layer", len(layers) - 1)

    def _is_output_like(self, i: int) -> bool:
        layer = self._layers()[i]
        if layer.class_name == "GaussianHead":
            return True
        if layer.class_name != "Dense":
            return False
        info = self.inference.layers[i] if self.inference and i < len(self.inference.layers) else None
        return layer.config.get("activation") in OUTPUT_ACTIVATIONS or bool(info and info.error)

    # -- widgets -> edits -------------------------------------------------------------------
    def _on_form_edit(self, name: str, value) -> None:
        ident = self.form.identity
        if ident and isinstance(ident[0], int):
            self.set_layer_setting(ident[0], name, value)

    def _on_metric_toggled(self, _checked) -> None:
        if self._rendering:
            return
        self.set_compile(metrics=[m for m, cb in self.metric_boxes.items() if cb.isChecked()])

    def _on_selection(self, *_) -> None:
        if not self._rendering:
            self._show_form()
            self._update_buttons()

    def _context_menu(self, pos) -> None:
        idx = self.table.indexAt(pos)
        if idx.isValid():
            self.table.select_row(idx.row())
        menu = QMenu(self)
        menu.addMenu(self.add_menu)
        menu.addMenu(self.insert_menu)
        menu.addSeparator()
        for a in (self.duplicate_action, self.remove_action, self.up_action, self.down_action):
            menu.addAction(a)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- showing ----------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        if self.session.prepared is None:
            return
        if self.spec is None:
            self._create_default()
            return
        shape, problem, n = self._data_info()
        key = (json.dumps(self.spec.to_dict(), sort_keys=True), shape, problem, n)
        if key == self._render_key and not force and self._select is None:
            return
        self._render_key = key
        if self._known is None:
            self._known = self.spec.to_dict()
        self._render(shape, problem, n)

    def _render(self, shape, problem, n) -> None:
        spec = self.spec
        self.inference = inf = infer(spec, shape, problem, n)
        boxes = diagram_data(spec, inf)
        row = self._select if self._select is not None else self.table.selected_row()
        self._select = None
        self._rendering = True
        try:
            rows = [Row("input", "Input", "from the data", shape_text(shape), 0, 0, movable=False,
                        kind_tip="The shape of one sample, from the prepared data")]
            for layer, info, box in zip(spec.layers, inf.layers, boxes[1:]):
                known = info.output_shape is not None
                lt = LAYER_TYPES[layer.class_name]
                rows.append(Row(info.name, layer.class_name, box.detail,
                                shape_text(info.output_shape),
                                info.trainable_params if known else None,
                                info.non_trainable_params if known else None, info.error,
                                kind_tip=f"{lt.title}: {lt.help}"))
            self.table_model.set_rows(rows)
            if row is None:
                row = 1 if len(rows) > 1 else 0
            row = min(row, len(rows) - 1)
            self.table.selectionModel().select(
                self.table_model.index(row, 0),
                QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
            self.table.setCurrentIndex(self.table_model.index(row, 0))
            self._render_compile(spec, problem, n)
        finally:
            self._rendering = False
        self.table.scrollTo(self.table_model.index(row, 0))
        self.diagram.set_boxes(boxes)
        self._render_totals(inf)
        self._render_messages(inf)
        prepared = self.session.prepared
        self.budget_card.set_budget(parameter_budget(inf, prepared.count("train") if prepared is not None else None))
        self._show_form()
        self._update_buttons()

    def _render_totals(self, inf) -> None:
        unknown = any(i.output_shape is None for i in inf.layers)
        note = (" <span style='color:gray'>(layers after a problem are not counted)</span>"
                if unknown else "")
        state = ("<span style='color:#2e9d4a'>✔ ready to train</span>" if inf.ok
                 else "<span style='color:#dc3545'>✖ not ready (see above)</span>")
        self.totals.setText(
            f"<b>{fmt_count(inf.total_params)}</b> parameters: {fmt_count(inf.trainable_params)} "
            f"trainable, {fmt_count(inf.non_trainable_params)} non-trainable · output "
            f"<b>{shape_text(inf.output_shape)}</b> · {state}{note}")

    def _render_messages(self, inf) -> None:
        errors = inf.errors
        if errors:
            lead = ("This model cannot be trained yet:" if len(errors) > 1
                    else "This model cannot be trained yet.")
            text = lead + "\n" + "\n".join(f"• {e}" for e in errors)
            if self.messages.text("model") != text:
                self.messages.error("model", text)
        else:
            self.messages.clear("model")

    def _render_compile(self, spec: ModelSpec, problem, n) -> None:
        for combo, value in ((self.loss_combo, spec.loss), (self.optimizer_combo, spec.optimizer)):
            combo.setCurrentIndex(combo.findData(value))
        for spin, value in ((self.lr_spin, spec.learning_rate), (self.momentum_spin, spec.momentum)):
            if spin.value() != value:
                spin.setValue(value)
        uses_momentum = spec.optimizer in ("sgd", "rmsprop")
        self.momentum_spin.setEnabled(uses_momentum)
        self.momentum_label.setEnabled(uses_momentum)
        kind = output_kind(problem, n)
        for m, cb in self.metric_boxes.items():
            fits = metric_applies(m, kind)
            # a metric that does not fit stays visible while it is checked, so it can be removed
            cb.setVisible(fits or m in spec.metrics)
            cb.setChecked(m in spec.metrics)
            cb.setToolTip(METRICS[m][1] + ("" if fits else " (does not apply to this target)"))

    def _show_form(self) -> None:
        row = self.table.selected_row()
        if row is not None and row < len(self.diagram.boxes):
            self.diagram.set_selected(row)
            self._scroll_diagram()
        if row is None or row == 0 or self.spec is None or row - 1 >= len(self.spec.layers):
            self.form.set_input(self._data_info()[0] if self.session.prepared else None)
            return
        i = row - 1
        info = self.inference.layers[i] if self.inference else None
        self.form.set_layer(i, self.spec.layers[i], info)

    def _scroll_diagram(self, *_) -> None:
        i = self.diagram.selected
        if i is not None and i < len(self.diagram.boxes) and self.diagram.isVisible():
            r = self.diagram.box_rect(i).toRect()
            self.diagram_scroll.ensureVisible(r.center().x(), r.center().y(), 0, r.height())

    def _update_buttons(self) -> None:
        i = self.selected_layer()
        n = len(self._layers())
        has = i is not None
        for w in (self.remove_button, self.duplicate_button, self.remove_action,
                  self.duplicate_action):
            w.setEnabled(has)
        for w in (self.up_button, self.up_action):
            w.setEnabled(has and i > 0)
        for w in (self.down_button, self.down_action):
            w.setEnabled(has and i < n - 1)

    def _update_templates(self) -> None:
        shape, problem, n = self._data_info()
        model = self.template_combo.model()
        for k in range(self.template_combo.count()):
            name = self.template_combo.itemData(k)
            try:
                make_template(name, shape, problem, n)
                reason = None
            except NnstudioError as exc:
                reason = str(exc)
            model.item(k).setEnabled(reason is None)
            self.template_combo.setItemData(k, reason or TEMPLATES[name][1], Qt.ToolTipRole)
        p = self.session.prepared
        self.template_combo.setCurrentIndex(
            self.template_combo.findData(default_template(p.kind, p.problem)))

    def _update_suggestions(self) -> None:
        _shape, problem, n = self._data_info()
        self.suggest_menu.clear()
        options = []
        if problem == "classification":
            if n == 2:
                options.append(("1 sigmoid unit + binary cross-entropy", False))
            else:
                options.append((f"{n} softmax units + categorical cross-entropy", False))
        else:
            options.append(("1 linear unit + mean squared error", False))
            options.append(("Mean-and-variance head + Gaussian NLL (predicts an uncertainty)", True))
        for text, unc in options:
            a = self.suggest_menu.addAction(text)
            a.triggered.connect(lambda _=False, u=unc: self.suggest_output(u))
        self.suggest_button.setToolTip(f"Replace the output layer and loss with what fits this "
                                       f"target: {options[0][0]}")

    # -- diagram export -----------------------------------------------------------------------
    def export_diagram(self, path) -> Path | None:
        """Write the network diagram to ``path`` (.svg for SVG, anything else PNG)."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        if self.spec is None or self.session.prepared is None:
            return None
        shape, problem, n = self._data_info()
        boxes = diagram_data(self.spec, infer(self.spec, shape, problem, n))
        try:
            if path.suffix.lower() == ".svg":
                out = export_svg(boxes, path, title=self.spec.name)
            else:
                out = export_png(boxes, path)
        except (NnstudioError, OSError) as exc:
            self.messages.error("export", str(exc))
            return None
        self.messages.clear("export")
        self.status.emit(f"Wrote {out.name}")
        return out

    def _export_dialog(self, fmt: str) -> None:
        filt = "PNG images (*.png)" if fmt == "png" else "SVG drawings (*.svg)"
        start = str(Path.home() / f"{self.spec.name if self.spec else 'model'}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export network diagram", start, filt)
        if path:
            if Path(path).suffix.lower() != f".{fmt}":
                path += f".{fmt}"
            self.export_diagram(path)


def _preview() -> None:  # pragma: no cover - manual look
    import sys

    import numpy as np

    from nnstudio.core.data.prepared import PreparedData
    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.session import Session

    app = preview_application()
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(8, 64, 64, 1)).astype("float32") for s in ("train", "val", "cal", "test")}
    y = {s: rng.integers(0, 2, 8) for s in x}
    prepared = PreparedData("images", "classification", x, y, {s: np.arange(8) for s in x},
                            class_names=["non-lens", "lens"], target_name="label")
    session = Session()
    panel = ModelPanel(session)
    session.set_prepared(prepared)
    panel.resize(1100, 760)
    panel.show()
    sys.exit(app.exec())


if __name__ == "__main__":
    _preview()
