"""The Diagnostics card that sets the network beside models without one."""
import numpy as np

from nnstudio.core.examples.synthetic import ToyPredictor, toy_regression
from nnstudio.core.workflow.evaluate import evaluate
from nnstudio.gui.panels.diagnostics.baselines import BaselineCard


def test_the_card_shows_each_model_with_its_interval_the_formula_and_the_verdict(qtbot):
    prepared = toy_regression(n=600)
    prepared.target_scaler = {"mean": 10.0, "std": 0.5}
    r = evaluate(prepared=prepared, model=ToyPredictor("regression"), formula="k + m*a + n*b")
    card = BaselineCard()
    qtbot.addWidget(card)
    card.resize(900, 300)
    card.show_result(r)
    t = card.table
    names = [t.item(i, 0).text() for i in range(t.rowCount())]
    assert names == ["network", "training mean", "ridge regression ★", "physical formula"]
    assert [t.horizontalHeaderItem(c).text() for c in range(4)] == ["model", "RMSE", "MAE", "R²"]
    rmse = r.baselines[0].metrics["rmse"]
    assert t.item(1, 1).text().startswith(f"{rmse:.4g}") and "\n[" in t.item(1, 1).text()
    assert card.verdict.level == r.versus_baseline["verdict"]["level"] == "warn"
    assert "ridge regression" in card.verdict.text()
    assert card.parameters.isVisibleTo(card) and "k = " in card.parameters.text() and " ± " in card.parameters.text()
    # the formula's parameters are those of a least-squares fit on the training rows (the data's units)
    x, y = prepared.raw_columns("train"), prepared.inverse_y(prepared.y["train"])
    design = np.column_stack([np.ones_like(x["a"]), x["a"], x["b"]])
    k, m, n = np.linalg.lstsq(design, y, rcond=None)[0]
    got = r.baselines[-1].parameters
    assert abs(got["m"]["value"] - m) < 1e-4 and abs(got["n"]["value"] - n) < 1e-4


def test_a_formula_that_cannot_be_fitted_says_why(qtbot):
    prepared = toy_regression(n=300)
    r = evaluate(prepared=prepared, model=ToyPredictor("regression"), formula="a * nosuch")
    card = BaselineCard()
    qtbot.addWidget(card)
    card.show_result(r)
    assert card.table.item(3, 1).text() == "not scored"
    assert "nosuch" in card.parameters.text()


def test_a_formula_is_typed_or_picked_checked_as_it_is_typed_and_submitted(qtbot):
    card = BaselineCard()
    qtbot.addWidget(card)
    card.set_columns(["log_luminosity", "g_r"], None)
    card.formula_edit.setText("a * log_lum**b")
    assert card.formula_error.isVisibleTo(card) and "'log_lum'" in card.formula_error.text()
    assert not card.fit_button.isEnabled()
    card.column_combo.setCurrentText("log_luminosity")
    card.preset_combo.setCurrentIndex(card.preset_combo.findText("power law"))
    card.preset_combo.activated.emit(card.preset_combo.currentIndex())
    assert card.formula_edit.text() == "a * log_luminosity**b" and card.fit_button.isEnabled()
    with qtbot.waitSignal(card.formula_submitted) as sig:
        card.fit_button.click()
    assert sig.args == ["a * log_luminosity**b"]
    card.set_columns([], None, enabled=False, why="Formulas fit regression targets of tables.")
    assert not card.formula_edit.isEnabled() and not card.formula_row.isVisibleTo(card)
    assert "regression" in card.formula_row.toolTip()


def test_diagnostics_shows_the_baselines_and_their_roc_curves(qtbot):
    from nnstudio.gui.panels.diagnostics.panel import DiagnosticsPanel
    from nnstudio.gui.preview import preview_session

    session, result = preview_session("classification", n=1500)
    panel = DiagnosticsPanel(session)
    qtbot.addWidget(panel)
    panel.show_result(result)
    card = panel.baseline_card
    assert card.table.rowCount() == 3 and not card.formula_row.isVisibleTo(card)       # no formula for classes
    assert panel.side_tabs.tabText(1) == "Beside the network"
    # three classes: one curve per class, no baseline curve (those are drawn for two classes)
    assert len(panel.roc_curves) == 3

    session, result = preview_session("regression", n=1500)
    panel = DiagnosticsPanel(session)
    qtbot.addWidget(panel)
    panel.show_result(result)
    assert panel.baseline_card.formula_row.isVisibleTo(panel.baseline_card)
    submitted = []
    panel.evaluate = lambda: submitted.append(session.project.physics.formula)
    panel.baseline_card.formula_edit.setText("k + m*a")
    panel.baseline_card.fit_button.click()
    assert submitted == ["k + m*a"] and session.project.dirty


def test_two_classes_get_the_baselines_roc_curve_beside_the_networks(qtbot):
    from nnstudio.core.examples.synthetic import toy_classification
    from nnstudio.gui.panels.diagnostics.panel import DiagnosticsPanel
    from nnstudio.gui.session import Session

    prepared = toy_classification(n=1500, class_names=("galaxy", "quasar"))
    session = Session()
    session.prepared = prepared
    result = evaluate(prepared=prepared, model=ToyPredictor("classification"))
    panel = DiagnosticsPanel(session)
    qtbot.addWidget(panel)
    panel.show_result(result)
    names = [item.name() for item in panel.roc_curves]
    assert len(names) == 2 and names[1].startswith("logistic regression (AUC ")
    assert [item.name() for item in panel.pr_curves][1].startswith("logistic regression (AP ")


def test_the_formula_predicts_beside_the_network_on_predicted_against_true(qtbot):
    from nnstudio.gui.panels.diagnostics.panel import DiagnosticsPanel
    from nnstudio.gui.session import Session

    prepared = toy_regression(n=600)
    session = Session()
    session.prepared = prepared
    r = evaluate(prepared=prepared, model=ToyPredictor("regression"), formula="k + m*a")
    panel = DiagnosticsPanel(session)
    qtbot.addWidget(panel)
    panel.show_result(r)
    x, y = panel.baseline_points.getData()
    d = r.diagnostics
    np.testing.assert_allclose(x, d.plot_true)
    np.testing.assert_allclose(y, r.baselines[-1].arrays["mean"][d.plot_index])
    labels = [label.text for _item, label in panel.scatter_plot.legend.items]
    assert labels == ["network", "formula k + m*a"]
