"""The Diagnostics panel, driven offscreen: evaluation in the background, the threshold slider,
clicking through to samples, and exports."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from binary_states import open_state, synthetic_binary
from PySide6.QtCore import Qt

from nnstudio.core import evaluation as ev
from nnstudio.core.project import Project


@pytest.fixture(scope="module")
def binary_project(tmp_path_factory, tensorflow):
    """A saved project with one trained run on synthetic binary data (model trained once)."""
    from nnstudio.core.model import make_template
    from nnstudio.core.workflow import train_project

    prepared = synthetic_binary(class_names=("faint", "lens"), target_name="is_lens")
    project = Project(name="binary")
    project.model = make_template("dense", (4,), "classification", 2)
    project.save(tmp_path_factory.mktemp("binary") / "binary.nnproj")
    train_project(project, epochs=2, prepared=prepared)
    project.save()
    return project.path, prepared


def wait_result(qtbot, panel, run=None):
    qtbot.waitUntil(lambda: panel.result is not None and (run is None or panel.result.run == run)
                    and not (panel.job and panel.job.running), timeout=60_000)
    return panel.result


def test_binary_threshold_slider_cells_and_mistakes(make_window, qtbot, binary_project):
    from nnstudio.core.workflow.evaluate import evaluate

    path, prepared = binary_project
    w = open_state(make_window, path, prepared)
    panel = w.panels["diagnostics"]
    assert not panel.is_missing_shown
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    result = wait_result(qtbot, panel)
    expected = evaluate(w.session.project, prepared=prepared)
    y, proba = result.arrays["y_true"], result.arrays["proba"]
    assert result.metrics["accuracy"] == pytest.approx(expected.metrics["accuracy"])
    np.testing.assert_array_equal(panel.confusion, expected.metrics["confusion_matrix"])
    rows = panel.metrics_rows()
    assert rows["lens"][:3] == [f"{expected.metrics['precision']:.3f}", f"{expected.metrics['recall']:.3f}",
                                f"{expected.metrics['f1']:.3f}"]
    assert f"ROC AUC {expected.metrics['roc_auc']:.3f} [" in panel.summary_label.text()
    assert panel.heatmap.texts() == [[str(v) for v in row] for row in expected.metrics["confusion_matrix"]]
    assert w.session.evaluation.metrics["accuracy"] == expected.metrics["accuracy"]

    # the slider moves the matrix, the numbers and the operating point on both curves
    panel.threshold_slider.setValue(0.3)
    want = ev.confusion_at(y, proba, 0.3, positive=1)
    qtbot.waitUntil(lambda: np.array_equal(panel.confusion, want), timeout=5_000)
    assert panel.heatmap.texts() == [[str(v) for v in row] for row in want]
    m = ev.metrics_from_confusion(want)
    assert panel.metrics_rows()["lens"][1] == f"{m['recall'][1]:.3f}"
    assert panel.summary_label.text().startswith(f"Accuracy {m['accuracy']:.3f}")
    fpr, tpr, precision, recall = ev.operating_point(result.diagnostics, 0.3)
    xs, ys = panel.roc_marker.getData()
    assert (xs[0], ys[0]) == pytest.approx((fpr, tpr))
    xs, ys = panel.pr_marker.getData()
    assert (xs[0], ys[0]) == pytest.approx((recall, precision))
    assert tpr == pytest.approx(want[1, 1] / want[1].sum())

    # a click on a cell lists exactly its samples
    panel.fraction_radio.setChecked(True)
    assert panel.heatmap.texts()[1][0] == f"{want[1, 0] / want[1].sum():.2f}"
    panel.resize(1200, 800)
    w.show_panel("diagnostics")
    qtbot.waitUntil(lambda: panel.heatmap.isVisible())
    pos = panel.heatmap.cell_centre_in_widget(1, 0)
    qtbot.mouseClick(panel.heatmap.viewport(), Qt.LeftButton, pos=pos)
    pred = ev.predicted_labels(proba, 0.3)
    cell = result.arrays["index"][ev.cell_indices(y, pred, 1, 0)]
    assert sorted(panel.browser.rows().tolist()) == sorted(cell.tolist())
    assert len(cell) == want[1, 0]
    assert "True 'lens', predicted 'faint'" in panel.browser.title.text()
    # sorted by the probability of the predicted class, highest first
    shown = panel.browser.model.column("P(predicted)")
    assert np.all(np.diff(shown) <= 0)
    # and re-sorting by row number ascending is a click on the header
    panel.browser.table.sortByColumn(0, Qt.AscendingOrder)
    assert panel.browser.rows().tolist() == sorted(cell.tolist())

    panel.show_confident_mistakes()
    mistakes = result.arrays["index"][ev.confident_mistakes(y, proba, 0.3)]
    assert panel.browser.rows().tolist() == mistakes.tolist()


def test_exports_write_valid_files(make_window, qtbot, binary_project, tmp_path):
    path, prepared = binary_project
    w = open_state(make_window, path, prepared)
    panel = w.panels["diagnostics"]
    panel.resize(1200, 800)
    panel.evaluate()
    result = wait_result(qtbot, panel)
    panel.threshold_slider.setValue(0.7)
    want = ev.confusion_at(result.arrays["y_true"], result.arrays["proba"], 0.7)
    qtbot.waitUntil(lambda: np.array_equal(panel.confusion, want), timeout=5_000)

    files = panel.export_plots(tmp_path)
    assert sorted(p.name for p in files) == sorted(
        f"run-0001_test_{n}.{f}" for n in ("confusion_matrix", "roc", "precision_recall") for f in ("png", "svg"))
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
        else:
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            assert len(list(root.iter())) > 20
    text = panel.export_csv(tmp_path / "m.csv").read_text()
    table = list(csv.reader(io.StringIO(text)))
    m = ev.metrics_from_confusion(want)
    assert table[0][:4] == ["class", "precision", "recall", "f1"]
    assert table[2][0] == "lens" and float(table[2][2]) == pytest.approx(m["recall"][1], abs=1e-5)
    data = json.loads(panel.export_json(tmp_path / "m.json").read_text())
    assert data["split"] == "test" and data["metrics_at_threshold"]["threshold"] == 0.7
    assert data["metrics_at_threshold"]["confusion_matrix"] == want.tolist()
    assert data["metrics"]["accuracy"] == pytest.approx(result.metrics["accuracy"])
    html = panel.export_report(tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    for s in ("binary — run-0001 on the test split", "Confusion matrix", "lens", "Training curves", "Dense"):
        assert s in html
    assert panel.messages.is_shown("error") is False


def test_run_finished_re_evaluates(make_window, qtbot, binary_project):
    from nnstudio.core.workflow import train_project

    path, prepared = binary_project
    w = open_state(make_window, path, prepared)
    panel = w.panels["diagnostics"]
    w.show_panel("diagnostics")           # shown with a run and data: evaluates by itself
    assert wait_result(qtbot, panel).run == "run-0001"
    project = w.session.project
    record = train_project(project, epochs=1, prepared=prepared)
    w.session.run_finished.emit(record)
    assert wait_result(qtbot, panel, run=record.id).run == "run-0002"
    assert "run-0002" in panel.state_label.text()


def test_regression_example_views_and_validation_split(make_window, qtbot, tmp_path):
    from nnstudio.core.evaluation import bin_members
    from nnstudio.core.workflow import evaluate, train_project, write_example_project

    path = write_example_project("galaxy-mass", tmp_path)
    project = Project.load(path)
    train_project(project, epochs=2)
    project.save()
    w = make_window()
    w.open_path(str(path))
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    w.show_panel("diagnostics")
    panel = w.panels["diagnostics"]
    result = wait_result(qtbot, panel)
    expected = evaluate(w.session.project, prepared=w.session.prepared)
    assert result.problem == "regression" and panel.plot_stack.currentIndex() == 1
    rows = panel.metrics_rows()
    assert rows["RMSE"][1] == f"{expected.metrics['rmse']:.4g}"
    assert rows["R²"][1] == f"{expected.metrics['r2']:.4g}"
    assert rows["scatter (NMAD)"][1] == f"{expected.metrics['scatter']:.4g}"
    assert rows["bias (mean residual)"][1] == f"{expected.metrics['bias']:.4g}"
    assert rows["samples"][1] == "750"
    from nnstudio.core.formatting import fmt_interval

    assert rows["RMSE"][2] == fmt_interval(*result.metrics_ci["rmse"])   # each figure with its 95% interval
    assert rows["R²"][2] == fmt_interval(*result.metrics_ci["r2"])
    assert panel.hint_label.isVisible() and panel.hint_label.text().startswith("Learning curves:")
    x, _y = panel.scatter_points.getData()
    assert len(x) == 750
    d = result.diagnostics
    i = int(np.argmax(d.hist_counts))
    panel.show_bin(i)
    members = result.arrays["index"][bin_members(d.residuals, d.hist_edges, i)]
    assert sorted(panel.browser.rows().tolist()) == sorted(members.tolist())
    assert len(members) == d.hist_counts[i]
    assert "log_luminosity" in panel.browser.model.names     # the data set's own columns
    panel.show_largest_errors(limit=5)
    assert panel.browser.rows().tolist() == result.arrays["index"][np.argsort(-np.abs(d.residuals))[:5]].tolist()

    panel.set_split("val")
    result = wait_result(qtbot, panel)
    qtbot.waitUntil(lambda: panel.result.split == "val", timeout=60_000)
    assert panel.state_label.text().startswith("Validation split")
    assert panel.messages.is_shown(panel.MSG_SPLIT)
