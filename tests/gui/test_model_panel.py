"""The Model panel, driven through its real widgets offscreen."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.model import LayerSpec, ModelSpec, infer, make_template
from nnstudio.gui.panels.model.panel import moved
from nnstudio.gui.widgets.spinboxes import ladder_step

SPLITS = ("train", "val", "cal", "test")


def images(n_classes=2, size=64):
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(6, size, size, 1)).astype("float32") for s in SPLITS}
    y = {s: rng.integers(0, n_classes, 6).astype("int64") for s in SPLITS}
    return PreparedData("images", "classification", x, y, {s: np.arange(6) for s in SPLITS},
                        class_names=[f"c{k}" for k in range(n_classes)], target_name="label")


def table(task="regression", n_features=5, n_classes=3):
    rng = np.random.default_rng(1)
    x = {s: rng.normal(size=(10, n_features)).astype("float32") for s in SPLITS}
    if task == "regression":
        y = {s: rng.normal(size=10).astype("float32") for s in SPLITS}
        names = None
    else:
        y = {s: rng.integers(0, n_classes, 10).astype("int64") for s in SPLITS}
        names = [f"class{k}" for k in range(n_classes)]
    return PreparedData("table", task, x, y, {s: np.arange(10) for s in SPLITS},
                        feature_names=[f"f{k}" for k in range(n_features)], class_names=names,
                        target_name="t")


@pytest.fixture
def panel_for(make_window):
    def make(prepared):
        w = make_window()
        w.session.set_prepared(prepared)
        w.show_panel("model")
        return w.panels["model"]
    return make


def click_row(qtbot, panel, table_row):
    t = panel.table
    rect = t.visualRect(t.table_model.index(table_row, 0))
    qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=rect.center())
    assert t.selected_row() == table_row


def menu_action(menu, class_name):
    return next(a for a in menu.actions() if a.data() == class_name)


def cell(panel, table_row, col, role=Qt.DisplayRole):
    m = panel.table_model
    return m.data(m.index(table_row, col), role)


def names(panel):
    return [layer.class_name for layer in panel.spec.layers]


def commit_text(qtbot, line_edit, text):
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, text)
    qtbot.keyClick(line_edit, Qt.Key_Return)


# -- pure helpers ---------------------------------------------------------------------------------

def test_moved_puts_item_at_its_new_index():
    assert moved(list("abcd"), 0, 2) == list("bcad")
    assert moved(list("abcd"), 3, 0) == list("dabc")
    assert moved(list("abcd"), 1, 1) == list("abcd")


def test_ladder_steps_one_two_five_per_decade():
    assert ladder_step(1e-3, 1, 1e-6) == pytest.approx(2e-3)
    assert ladder_step(1e-3, 3, 1e-6) == pytest.approx(1e-2)
    assert ladder_step(1e-3, -1, 1e-6) == pytest.approx(5e-4)
    assert ladder_step(3e-3, 1, 1e-6) == pytest.approx(5e-3)   # off the ladder: next rung
    assert ladder_step(0.0, 1, 1e-5) == pytest.approx(1e-5)    # l2 = 0 steps up to the lowest
    assert ladder_step(1e-5, -1, 1e-5) == 0.0


# -- the panel ------------------------------------------------------------------------------------

def test_prepared_data_creates_the_default_model(panel_for):
    panel = panel_for(images())
    assert not panel.is_missing_shown
    expected = make_template("small-cnn", (64, 64, 1), "classification", 2)
    assert panel.spec.to_dict() == expected.to_dict()
    assert panel.session.project.dirty
    inf = infer(panel.spec, (64, 64, 1), "classification", 2)
    assert inf.ok and not panel.messages.is_shown("model")
    assert panel.table_model.rowCount() == len(expected.layers) + 1
    assert cell(panel, 0, 3) == "64 × 64 × 1"
    # first conv: 3·3·1·16 + 16 = 160 weights, output 64 × 64 × 16 ('same' padding)
    assert cell(panel, 1, 3) == "64 × 64 × 16" and cell(panel, 1, 4) == "160"
    assert f"{inf.total_params:,}" in panel.totals.text()
    assert "ready to train" in panel.totals.text()


def test_existing_model_is_kept_when_data_arrives(make_window):
    w = make_window()
    mine = ModelSpec([LayerSpec("Dense", {"units": 1, "activation": "linear"})], loss="mse")
    w.session.project.model = mine
    w.session.set_prepared(table())
    assert w.panels["model"].spec.to_dict() == mine.to_dict()
    # 5 inputs -> 1 unit: 5 weights + 1 bias
    assert cell(w.panels["model"], 1, 4) == "6"


def test_conv2d_after_flatten_is_marked_with_the_reason(panel_for, qtbot):
    panel = panel_for(images())
    flatten = names(panel).index("Flatten")
    click_row(qtbot, panel, flatten + 1)
    menu_action(panel.add_menu, "Conv2D").trigger()
    assert names(panel)[flatten + 1] == "Conv2D"
    row = flatten + 2
    assert panel.table.selected_row() == row
    tip = cell(panel, row, 0, Qt.ToolTipRole)
    assert "Conv2D needs an image" in tip and "Flatten" in tip
    assert cell(panel, row, 0, Qt.DecorationRole) is not None
    assert cell(panel, row, 0, Qt.BackgroundRole) is not None
    assert cell(panel, row - 1, 0, Qt.BackgroundRole) is None      # Flatten itself is fine
    assert cell(panel, row, 3) == "?" and cell(panel, row + 1, 4) == "?"
    assert panel.messages.is_shown("model")
    assert f"Layer {flatten + 2} (conv2d_4)" in panel.messages.text("model")
    assert "Conv2D needs an image" in panel.form.problem.text()
    assert panel.diagram.boxes[row].error and "not ready" in panel.totals.text()
    # undo removes it and the mark
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert "Conv2D" not in names(panel)[flatten:]
    assert not panel.messages.is_shown("model")


def test_dense_on_image_and_wrong_output_are_marked(panel_for, qtbot):
    panel = panel_for(images(n_classes=3))
    click_row(qtbot, panel, 0)                       # the input row: add goes to the top
    menu_action(panel.add_menu, "Dense").trigger()
    assert names(panel)[0] == "Dense"
    assert "needs a flat vector" in cell(panel, 1, 0, Qt.ToolTipRole)
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    last = len(panel.spec.layers)
    panel.set_layer_setting(last - 1, "units", 2)    # 3 classes but 2 outputs
    assert "For 3 classes use 3 softmax units" in cell(panel, last, 0, Qt.ToolTipRole)


def test_edits_undo_and_redo_restore_the_spec_exactly(panel_for, qtbot):
    panel = panel_for(table(task="classification", n_classes=3))
    states = [panel.spec.to_dict()]                  # Dense 64, Dense 32, Dense 3 softmax
    click_row(qtbot, panel, 1)
    menu_action(panel.add_menu, "Dropout").trigger()           # after dense_1
    states.append(panel.spec.to_dict())
    assert names(panel) == ["Dense", "Dropout", "Dense", "Dense"]
    menu_action(panel.insert_menu, "BatchNormalization").trigger()   # before the Dropout
    states.append(panel.spec.to_dict())
    assert names(panel) == ["Dense", "BatchNormalization", "Dropout", "Dense", "Dense"]
    qtbot.mouseClick(panel.duplicate_button, Qt.LeftButton)
    states.append(panel.spec.to_dict())
    assert names(panel)[1:3] == ["BatchNormalization", "BatchNormalization"]
    assert panel.selected_layer() == 2
    qtbot.mouseClick(panel.down_button, Qt.LeftButton)
    states.append(panel.spec.to_dict())
    assert names(panel)[2:4] == ["Dropout", "BatchNormalization"]
    qtbot.mouseClick(panel.up_button, Qt.LeftButton)
    states.append(panel.spec.to_dict())
    assert names(panel)[:4] == ["Dense", "BatchNormalization", "BatchNormalization", "Dropout"]
    assert panel.selected_layer() == 2
    qtbot.mouseClick(panel.up_button, Qt.LeftButton)   # swapping two equal layers: no edit
    assert panel.undo_stack.count() == 5
    qtbot.mouseClick(panel.remove_button, Qt.LeftButton)
    states.append(panel.spec.to_dict())
    assert names(panel) == ["Dense", "BatchNormalization", "Dropout", "Dense", "Dense"]
    # undo walks back through every state, exactly; redo walks forward again
    for k in range(len(states) - 1, 0, -1):
        qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
        assert panel.spec.to_dict() == states[k - 1]
        assert panel.session.project.model.to_dict() == states[k - 1]
    assert not panel.undo_stack.canUndo()
    for k in range(1, len(states)):
        qtbot.mouseClick(panel.redo_button, Qt.LeftButton)
        assert panel.spec.to_dict() == states[k]


def test_undo_redo_keyboard_shortcuts(panel_for, qtbot):
    panel = panel_for(table())
    before = panel.spec.to_dict()
    click_row(qtbot, panel, 1)
    panel.window().activateWindow()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key_Delete)
    assert len(panel.spec.layers) == len(before["layers"]) - 1
    after = panel.spec.to_dict()
    qtbot.keyClick(panel.table, Qt.Key_Z, Qt.ControlModifier)
    assert panel.spec.to_dict() == before
    qtbot.keyClick(panel.table, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert panel.spec.to_dict() == after


def test_drag_and_drop_reorders_and_undoes(panel_for, qtbot):
    panel = panel_for(table(task="classification", n_classes=3))
    before = panel.spec.to_dict()
    m = panel.table_model
    mime = m.mimeData([m.index(3, 0)])                     # the output layer (table row 3)
    # dropped between the input and dense_1: it becomes the first layer
    assert m.dropMimeData(mime, Qt.MoveAction, 1, 0, QModelIndex()) is False
    assert [l.config["units"] for l in panel.spec.layers] == [3, 64, 32]
    assert panel.selected_layer() == 0
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert panel.spec.to_dict() == before
    # dropped onto dense_2's row: takes its place
    mime = m.mimeData([m.index(1, 0)])
    m.dropMimeData(mime, Qt.MoveAction, -1, -1, m.index(2, 0))
    assert [l.config["units"] for l in panel.spec.layers] == [32, 64, 3]
    # the input row cannot be dragged
    assert not m.flags(m.index(0, 0)) & Qt.ItemIsDragEnabled


def test_form_edit_of_units_changes_the_parameter_count(panel_for, qtbot):
    panel = panel_for(table(n_features=5))          # regression MLP: 5 -> 64 -> 64 -> 64 -> 1
    click_row(qtbot, panel, 1)
    spin = panel.form.widget("units")
    assert spin.value() == 64 and cell(panel, 1, 4) == f"{5 * 64 + 64}"
    commit_text(qtbot, spin.lineEdit(), "100")
    assert panel.spec.layers[0].config["units"] == 100
    inf = infer(panel.spec, (5,), "regression")
    # 5·100 + 100 = 600 and the next Dense: 100·64 + 64 = 6464
    assert inf.layers[0].trainable_params == 600 and inf.layers[1].trainable_params == 6464
    assert cell(panel, 1, 4) == "600" and cell(panel, 2, 4) == "6,464"
    assert f"{inf.total_params:,}" in panel.totals.text()
    assert "600 trainable" in panel.form.summary.text()
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert panel.spec.layers[0].config["units"] == 64 and cell(panel, 1, 4) == "384"


def test_invalid_values_are_refused_with_a_message(panel_for, qtbot):
    panel = panel_for(images())
    before = panel.spec.to_dict()
    click_row(qtbot, panel, 1)                               # conv2d_1
    spin = panel.form.widget("filters")
    commit_text(qtbot, spin.lineEdit(), "0")
    assert "filters must be ≥ 1 (got 0)" in panel.form.message("filters")
    assert spin.value() == 16
    kernel = panel.form.widget("kernel_size")
    commit_text(qtbot, kernel, "2.5")
    assert "kernel_size must be a whole number" in panel.form.message("kernel_size")
    commit_text(qtbot, kernel, "3, 0")
    assert "kernel_size must be ≥ 1" in panel.form.message("kernel_size")
    assert panel.spec.to_dict() == before and not panel.undo_stack.canUndo()
    commit_text(qtbot, kernel, "5, 3")                       # a valid value clears the message
    assert panel.form.message("kernel_size") == ""
    assert panel.spec.layers[0].config["kernel_size"] == [5, 3]
    # 5·3·1·16 + 16 = 256
    assert cell(panel, 1, 4) == "256"
    dropout = names(panel).index("Dropout")
    click_row(qtbot, panel, dropout + 1)
    rate = panel.form.widget("rate")
    commit_text(qtbot, rate.lineEdit(), "1.5")
    assert "rate must be ≥ 0 and < 1" in panel.form.message("rate")
    assert panel.spec.layers[dropout].config["rate"] == pytest.approx(0.3)
    rate.setValue(0.95)
    rate.stepBy(1)                                           # 1.0 is out of range: no step
    assert panel.spec.layers[dropout].config["rate"] == pytest.approx(0.95)


def test_activation_choice_teaches_with_formula_and_curve(panel_for, qtbot):
    panel = panel_for(table())
    click_row(qtbot, panel, 1)
    combo = panel.form.widget("activation")
    k = combo.findData("tanh")
    tip = combo.itemData(k, Qt.ToolTipRole)
    assert "(e^x - e^-x) / (e^x + e^-x)" in tip and "(-1, 1)" in tip
    data = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", tip).group(1)
    img = QImage.fromData(base64.b64decode(data), "PNG")
    assert not img.isNull() and img.width() >= 170
    combo.setCurrentIndex(k)
    assert panel.spec.layers[0].config["activation"] == "tanh"
    assert "tanh" in panel.form.activation_box.formula.text()
    assert panel.form.activation_box.plot.pixmap() is not None
    # alpha only for leaky_relu / elu
    alpha = panel.form.widget("alpha")
    assert not alpha.isEnabled()
    combo.setCurrentIndex(combo.findData("leaky_relu"))
    assert alpha.isEnabled() and "0.2" in alpha.placeholderText()
    commit_text(qtbot, alpha, "0.1")
    assert panel.spec.layers[0].config["alpha"] == pytest.approx(0.1)
    assert "α = 0.1" in panel.form.activation_box.formula.text()


@pytest.mark.parametrize("prepared, enabled", [
    (images(), {"dense", "small-cnn", "source-cnn", "deep-cnn"}),
    (table(task="classification"), {"dense"}),
    (table(task="regression"), {"dense", "mlp-regression", "heteroscedastic-mlp"}),
])
def test_templates_give_valid_models(panel_for, qtbot, prepared, enabled):
    panel = panel_for(prepared)
    combo = panel.template_combo
    model = combo.model()
    usable = {combo.itemData(k) for k in range(combo.count()) if model.item(k).isEnabled()}
    assert usable == enabled
    shape, task, n = prepared.input_shape, prepared.problem, prepared.n_classes or None
    for name in sorted(enabled):
        combo.setCurrentIndex(combo.findData(name))
        qtbot.mouseClick(panel.apply_template_button, Qt.LeftButton)
        assert panel.spec.to_dict() == make_template(name, shape, task, n).to_dict()
        assert infer(panel.spec, shape, task, n).ok
        assert not panel.messages.is_shown("model")


def test_suggest_output_fixes_the_head_and_loss(panel_for, qtbot):
    panel = panel_for(table(task="classification", n_classes=3))
    panel.set_layer_setting(2, "activation", "sigmoid")
    panel.set_compile(loss="binary_crossentropy")
    assert panel.messages.is_shown("model")
    qtbot.mouseClick(panel.suggest_button, Qt.LeftButton)
    last = panel.spec.layers[-1]
    assert (last.class_name, last.config["units"], last.config["activation"]) == ("Dense", 3, "softmax")
    assert panel.spec.loss == "categorical_crossentropy" and len(panel.spec.layers) == 3
    assert not panel.messages.is_shown("model")


def test_suggest_uncertainty_head_for_regression(panel_for, qtbot):
    panel = panel_for(table(task="regression"))
    actions = panel.suggest_menu.actions()
    assert len(actions) == 2
    actions[1].trigger()
    assert panel.spec.layers[-1].class_name == "GaussianHead" and panel.spec.loss == "gaussian_nll"
    assert names(panel).count("Dense") == 3                 # the linear output was replaced
    assert infer(panel.spec, (5,), "regression").ok
    # 64·2 + 2 = 130 parameters in the head
    assert cell(panel, len(panel.spec.layers), 4) == "130"


def test_compile_settings(panel_for, qtbot):
    panel = panel_for(table(task="classification", n_classes=2))
    before = panel.spec.to_dict()
    assert not panel.momentum_spin.isEnabled()
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("sgd"))
    assert panel.spec.optimizer == "sgd" and panel.momentum_spin.isEnabled()
    panel.momentum_spin.stepBy(2)
    assert panel.spec.momentum == pytest.approx(0.1)
    panel.lr_spin.stepBy(1)                                  # 1e-3 -> 2e-3 on the log ladder
    assert panel.spec.learning_rate == pytest.approx(2e-3)
    commit_text(qtbot, panel.lr_spin.lineEdit(), "-1")       # refused
    assert panel.spec.learning_rate == pytest.approx(2e-3)
    visible = [m for m, cb in panel.metric_boxes.items() if not cb.isHidden()]
    assert visible == ["accuracy", "auc", "precision", "recall"]
    panel.metric_boxes["auc"].setChecked(True)
    assert panel.spec.metrics == ["accuracy", "auc"]
    panel.loss_combo.setCurrentIndex(panel.loss_combo.findData("mse"))
    assert "The loss mse does not fit a two-class target" in panel.messages.text("model")
    while panel.undo_stack.canUndo():
        panel.undo_stack.undo()
    assert panel.spec.to_dict() == before


def test_diagram_exports_png_and_svg(panel_for, tmp_path):
    panel = panel_for(images())
    panel.add_layer("Conv2D", len(panel.spec.layers))        # an error box is drawn too
    png = panel.export_diagram(tmp_path / "net.png")
    svg = panel.export_diagram(tmp_path / "net.svg")
    assert png.stat().st_size > 1000 and svg.stat().st_size > 1000
    img = QImage(str(png))
    assert not img.isNull()
    from nnstudio.gui.panels.model.diagram import diagram_size

    size = diagram_size(panel.diagram.boxes)
    assert (img.width(), img.height()) == (2 * size.width(), 2 * size.height())
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for name in ("input", "conv2d_1", "flatten_1", "dense_2", "conv2d_4"):
        assert name in texts
    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(svg)).isValid()
    assert not list(tmp_path.glob(".*tmp*"))                 # written atomically, nothing left
    assert panel.export_diagram(tmp_path / "missing" / "x.png") is None
    assert "does not exist" in panel.messages.text("export")


def test_outside_replacement_clears_undo_history(panel_for):
    panel = panel_for(table())
    panel.add_layer("Dropout", 0)
    assert panel.undo_stack.canUndo()
    s = panel.session
    s.project.model = make_template("dense", (5,), "regression")
    s.model_changed.emit()
    assert not panel.undo_stack.canUndo()
    assert panel.table_model.rowCount() == len(s.project.model.layers) + 1


def test_steps_of_one_field_undo_as_one_edit(panel_for, qtbot):
    panel = panel_for(table())
    click_row(qtbot, panel, 2)
    spin = panel.form.widget("units")
    for _ in range(3):
        spin.stepBy(1)
    assert panel.spec.layers[1].config["units"] == 67
    assert panel.undo_stack.count() == 1
    assert panel.form.widget("units") is spin            # the form was updated in place
    panel.form.widget("use_bias").setChecked(False)      # another field: its own edit
    assert panel.undo_stack.count() == 2
    # 64 inputs, 67 units, no bias: 64·67 = 4288
    assert cell(panel, 2, 4) == "4,288"
    panel.undo_stack.undo()
    panel.undo_stack.undo()
    assert panel.spec.layers[1].config["units"] == 64 and panel.spec.layers[1].config["use_bias"]


def test_input_row_shows_the_data_shape(panel_for, qtbot):
    panel = panel_for(images(size=32))
    click_row(qtbot, panel, 0)
    assert panel.form.title.text() == "Input"
    assert "32 × 32 × 1" in panel.form.summary.text()
    assert not panel.remove_button.isEnabled() and not panel.up_button.isEnabled()


def test_panel_screenshots_light_and_dark(panel_for, tmp_path, qtbot):
    panel = panel_for(images())
    w = panel.window()
    flatten = names(panel).index("Flatten")
    panel.add_layer("Conv2D", flatten + 1)
    panel.select_layer(0)
    t = panel.table
    for theme, dark in (("light", False), ("dark", True)):
        w.set_theme(theme)
        QApplication.processEvents()
        img = w.grab().toImage()
        img.save(str(tmp_path / f"model_{theme}.png"))
        shot = t.viewport().grab().toImage()
        below = shot.pixelColor(shot.width() // 2, shot.height() - 3)   # empty table area
        assert (below.lightness() < 128) == dark
        r = t.visualRect(t.table_model.index(flatten + 2, 2))
        marked = shot.pixelColor(r.right() - 3, r.center().y())         # the red error row
        assert marked.red() > marked.green() + 20 and marked.red() > marked.blue() + 20
    w.set_theme("light")


def test_open_a_keras_file_imports_it_or_shows_it_read_only(make_window, qtbot, tmp_path):
    import keras

    from nnstudio.core.examples.synthetic import toy_regression

    w = make_window()
    w.session.set_prepared(toy_regression())
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(7, activation="tanh"), keras.layers.Dense(1)])
    plain.save(tmp_path / "plain.keras")
    panel = w.panels["model"]
    w.open_path(str(tmp_path / "plain.keras"))
    assert w.current_panel_key() == "model"
    qtbot.waitUntil(lambda: panel.messages.is_shown("import"), timeout=60_000)
    assert [l.class_name for l in w.session.project.model.layers] == ["Dense", "Dense"]
    assert w.session.project.model.layers[0].config["units"] == 7
    panel.undo_stack.undo()
    assert w.session.project.model.layers[0].config.get("units") != 7

    inp = keras.Input((3,))
    two = keras.Model(inp, keras.layers.Add()([keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp)]))
    two.save(tmp_path / "branches.keras")
    panel.messages.clear("import")
    w.open_path(str(tmp_path / "branches.keras"))
    qtbot.waitUntil(lambda: panel.messages.is_shown("import"), timeout=60_000)
    assert panel.messages.level("import") == "warning" and "cannot be edited" in panel.messages.text("import")
