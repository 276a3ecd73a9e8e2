"""Diagnostics' Why tab for tables: permutation importance with interval whiskers and partial
dependence / ICE, computed in the background with progress and cancel."""
from __future__ import annotations

import numpy as np
import pytest
from binary_states import open_state, synthetic_binary, wait_result
from PySide6.QtCore import Qt
from test_explain_gui import _shot

from nnstudio.core.project import Project


@pytest.fixture(scope="module")
def table_project(tmp_path_factory, tensorflow):
    """Synthetic two-class table where inputs a and b decide (c and d are noise), trained once."""
    from nnstudio.core.model import make_template
    from nnstudio.core.workflow import train_project

    prepared = synthetic_binary(n=800, class_names=("faint", "lens"), target_name="is_lens")
    project = Project(name="why")
    project.model = make_template("dense", (4,), "classification", 2)
    project.save(tmp_path_factory.mktemp("why") / "why.nnproj")
    train_project(project, epochs=8, prepared=prepared)
    project.save()
    return project.path, prepared


def test_why_tab_ranks_the_deciding_inputs_with_whiskers_and_partial_dependence(make_window, qtbot, table_project,
                                                                                tmp_path):
    path, prepared = table_project
    w = open_state(make_window, path, prepared)
    panel = w.panels["diagnostics"]
    w.show_panel("diagnostics")
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    wait_result(qtbot, panel)
    assert panel.side_tabs.isTabVisible(2) and panel.side_tabs.tabText(2) == "Why"
    panel.side_tabs.setCurrentIndex(2)
    card = panel.why_card
    with qtbot.waitSignal(card.shown, timeout=180_000):
        qtbot.mouseClick(card.compute_button, Qt.LeftButton)
    r = card.result
    assert r.split == "test" and len(r.rows) == prepared.count("test")
    ranked = card.ranked()
    assert {ranked[0].input, ranked[1].input} == {"a", "b"}
    assert all(i.low <= i.mean <= i.high for i in ranked)
    # the bars and whiskers hold the numbers, most important at the top
    opts = card.bars.opts
    np.testing.assert_allclose(opts["width"], [i.mean for i in ranked])
    assert opts["y"][0] == len(ranked) - 1
    np.testing.assert_allclose(card.whiskers.opts["left"], [i.mean - i.low for i in ranked])
    np.testing.assert_allclose(card.whiskers.opts["right"], [i.high - i.mean for i in ranked])
    ticks = card.importance_plot.plot_item.getAxis("left")._tickLevels[0]
    assert [t[1] for t in ticks] == [i.input for i in ranked]
    # partial dependence of the chosen input: the average curve and one ICE line per row
    assert card.input_combo.currentText() == ranked[0].input
    pd = next(p for p in r.partial if p.input == ranked[0].input)
    xs, ys = card.average_curve.getData()
    np.testing.assert_allclose(ys, pd.average)
    assert ys[-1] > ys[0]       # a and b both raise the probability of the positive class
    card.input_combo.setCurrentText("d")
    xs, _ = card.average_curve.getData()
    np.testing.assert_allclose(xs, next(p for p in r.partial if p.input == "d").grid)
    card.input_combo.setCurrentText(ranked[0].input)
    # the exported report carries the importance just computed (no new job)
    html = panel.export_report(tmp_path / "r.html").read_text()
    assert "Explain: which inputs matter" in html and f"<td>{ranked[0].input}</td>" in html
    w.resize(1400, 1000)
    _shot(card, "why-card.png")
    _shot(panel, "diagnostics-why.png")
    # cancel: the job stops and says so
    card.compute()
    assert card.cancel_button.isVisibleTo(card)
    with qtbot.waitSignal(card.job.finished, timeout=180_000):
        card.cancel()
    assert not card.progress.isVisibleTo(card) and card.compute_button.isEnabled()
    assert card.status_label.text() == "Cancelled." or card.result is not r
