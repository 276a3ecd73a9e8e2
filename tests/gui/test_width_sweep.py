"""The width sweep in the Train panel's sweep view: one factor on every hidden layer, and the
results read as validation loss against the number of parameters."""
from __future__ import annotations

from test_experiments_gui import exp_window, set_form  # noqa: F401 (the fixture)
from test_explain_gui import _shot


def test_width_sweep_plots_validation_loss_against_parameters(exp_window, qtbot):  # noqa: F811
    w, panel = exp_window(epochs=2)
    view = panel.sweep_view
    panel.tabs.setCurrentWidget(view)
    set_form(view, sampler="grid", trials=3, epochs=2)
    assert view.width_check.isEnabled()
    view.width_check.setChecked(True)
    view.width_edit.setText("0.125,0.5,2")
    assert view.params() == ["width=0.125,0.5,2"]
    assert "--param width=0.125,0.5,2" in view.command_line()
    assert panel.start_sweep()
    with qtbot.waitSignal(panel.job.returned, timeout=180_000) as sig:
        pass
    result = sig.args[0]
    qtbot.waitUntil(lambda: not panel.is_sweeping, timeout=30_000)
    done = [t for t in result.trials if t["state"] == "complete"]
    assert len(done) == 3 and all(t["parameters"] for t in done)
    by_width = sorted(done, key=lambda t: t["params"]["width"])
    assert by_width[0]["parameters"] < by_width[1]["parameters"] < by_width[2]["parameters"]
    plot = view.scatters["parameters"]
    assert plot.title == "How many parameters do you need?"
    x, y = plot.complete.xData, plot.complete.yData       # as given (a log axis draws their log10)
    assert sorted(zip(x.astype(int), y)) == sorted((t["parameters"], t["value"]) for t in done)
    assert "width" in view.scatters
    state = view.form_state()
    assert state["width"] == [True, "0.125,0.5,2"]
    w.resize(1400, 1000)
    _shot(panel, "width-sweep.png")
