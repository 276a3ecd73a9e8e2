"""The Predict panel, driven offscreen: a folder of cutouts predicted in the background, the catalog
table best candidates first, the threshold, the filter, the detail view and the export."""
import os

import numpy as np
import pytest
from predict_projects import lens_project, write_cutouts
from PySide6.QtCore import Qt

from nnstudio.core.data.catalog import read_catalog

SHOTS = os.environ.get("NNSTUDIO_SHOTS")


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"))


@pytest.fixture
def panel(qtbot, lens):
    from nnstudio.gui.app import make_application
    from nnstudio.gui.panels.predict.panel import PredictPanel
    from nnstudio.gui.session import Session
    from nnstudio.gui.theme import configure_pyqtgraph

    make_application()
    configure_pyqtgraph()
    session = Session()
    session.set_project(lens[0])
    p = PredictPanel(session)
    qtbot.addWidget(p)
    p.resize(1280, 820)
    p.show()
    yield p
    p.shutdown()


def _predict(qtbot, panel):
    job = panel.run_predict()
    assert job is not None
    with qtbot.waitSignal(job.returned, timeout=120_000):
        pass
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)


def test_a_folder_is_predicted_and_shown_best_candidates_first(qtbot, panel, lens, tmp_path):
    project, images, _labels = lens
    names = [f"{'a' if i % 2 else 'b'}/cut{i:03d}.fits" for i in range(60)]
    write_cutouts(tmp_path / "new", images[:60], names)
    assert not panel.is_missing_shown
    assert panel.decision_label.text().startswith(f"Run {project.active_run} · Decision: the most probable class")
    panel.set_input([tmp_path / "new"])
    _predict(qtbot, panel)
    assert panel.model.rowCount() == 60 and panel.proxy.rowCount() == 60
    score = panel.model.names.index("p_1")
    shown = [panel.proxy.data(panel.proxy.index(r, score), Qt.UserRole + 1) for r in range(60)]
    assert shown == sorted(shown, reverse=True)                  # best candidates first
    assert panel.proxy.data(panel.proxy.index(0, 1), Qt.DecorationRole) is not None   # a thumbnail
    assert panel.result.thumbnails.shape == (60, 32, 32)
    assert "60 rows · 0 flagged" in panel.summary_label.text()
    # the threshold line moves the predicted class and what "only above" keeps
    panel.threshold_spin.setValue(0.0)
    assert set(panel.model.predicted) == {"1"}
    panel.threshold_spin.setValue(0.999999)
    panel.above_check.setChecked(True)
    p1 = panel.result.columns["p_1"]
    assert panel.proxy.rowCount() == int(np.count_nonzero(p1 >= 0.999999))
    panel.above_check.setChecked(False)
    panel.filter_edit.setText("a/")
    assert panel.proxy.rowCount() == 30
    panel.filter_edit.setText("")
    heights = panel.hist_bars.opts["height"]
    assert int(np.sum(heights)) == 60
    # a click shows the cutout and its figures; the selection exports rows and cutouts
    from PySide6.QtCore import QItemSelectionModel

    panel.table.selectRow(1)
    panel.table.selectionModel().select(panel.proxy.index(0, 0), QItemSelectionModel.Select
                                        | QItemSelectionModel.Rows)
    rows = panel.selected_rows()
    assert len(rows) == 2
    assert "conformal set" in panel.detail_label.text() and not panel.detail_image.pixmap().isNull()
    written = panel.export_selected(str(tmp_path / "cands.fits"))
    assert [p.name for p in written] == ["cands.fits", "cands_cutouts.fits"]
    cat = read_catalog(written[0])
    assert sorted(cat["source"]) == sorted(panel.result.columns["source"][rows])
    from astropy.io import fits

    cube = fits.getdata(written[1])
    by_name = {n: i for i, n in enumerate(names)}
    assert np.allclose(cube, images[[by_name[s] for s in cat["source"]]])
    panel.threshold_spin.setValue(0.5)
    if SHOTS:
        panel.grab().save(os.path.join(SHOTS, "predict-panel.png"))


def test_a_refused_input_is_a_message_and_cancel_leaves_nothing(qtbot, panel, lens, tmp_path):
    _project, images, _ = lens
    assert panel.run_predict() is None
    assert panel.messages.text("error").startswith("Choose the new data first")
    write_cutouts(tmp_path / "small", images[:3, :16, :16], ["a.fits", "b.fits", "c.fits"])
    panel.set_input([tmp_path / "small"])
    job = panel.run_predict()
    with qtbot.waitSignal(job.errored, timeout=120_000):
        pass
    assert panel.messages.text("error") == "The images are 16×16, the model takes 32×32."
    assert panel.result is None
    qtbot.waitUntil(lambda: panel.predict_button.isEnabled(), timeout=10_000)

    from nnstudio.core.examples._write import write_fits_cube

    write_fits_cube(tmp_path / "cube.fits", np.repeat(images, 20, axis=0))
    panel.set_input(tmp_path / "cube.fits")
    job = panel.run_predict()
    assert panel.cancel_button.isEnabled()
    with qtbot.waitSignal(job.errored, timeout=120_000):
        panel.cancel()
    assert panel.messages.text("error") == "Prediction cancelled; nothing was written."
    assert panel.result is None


def test_selected_cutouts_are_explained_in_the_explain_tab(qtbot, panel, lens, tmp_path):
    from PySide6.QtCore import QItemSelectionModel

    _project, images, _ = lens
    write_cutouts(tmp_path / "new", images[:12], [f"c{i:02d}.fits" for i in range(12)])
    assert not panel.right_tabs.isTabEnabled(1) and not panel.explain_button.isEnabled()
    panel.set_input([tmp_path / "new"])
    _predict(qtbot, panel)
    assert panel.right_tabs.isTabEnabled(1) and panel.explain_button.isEnabled()
    # the two best-scored rows, as the table lists them
    panel.table.selectRow(0)
    panel.table.selectionModel().select(panel.proxy.index(1, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)
    picked = panel.explain_rows()
    assert len(picked) == 2
    input_rows = [int(panel.result.columns["row"][k]) for k in picked]
    view = panel.explain_view
    with qtbot.waitSignal(view.shown, timeout=120_000) as shown:
        panel.explain_button.click()
    assert panel.right_tabs.currentIndex() == 1
    result = shown.args[0]
    assert sorted(result.rows.tolist()) == sorted(input_rows) and result.splits == ["new data"] * 2
    assert view.tiles.count() == 2 and "row " in view.tiles.item(0).text()
    assert result.maps.maps.shape[:3] == (2, 32, 32)
    # the score explained is the network's own; the catalog's is calibrated, and the view says so
    assert "temperature" in view.status_label.text() and view.status_label.height() >= view.status_label.heightForWidth(view.status_label.width())
    # another method follows the same rows
    with qtbot.waitSignal(view.shown, timeout=120_000) as shown:
        view.set_method("occlusion")
    assert shown.args[0].method == "occlusion" and sorted(shown.args[0].rows.tolist()) == sorted(input_rows)
    if SHOTS:
        panel.grab().save(os.path.join(SHOTS, "predict-explain.png"))
    # a new prediction clears the maps of the old one
    _predict(qtbot, panel)
    assert view.result is None and view.tiles.count() == 0


def test_labels_give_an_external_test_with_its_interval(qtbot, panel, lens, tmp_path):
    from nnstudio.core.examples._write import write_csv

    _project, images, labels = lens
    write_cutouts(tmp_path / "new", images[:60], [f"c{i:02d}.fits" for i in range(60)])
    write_csv(tmp_path / "truth.csv", {"is_lens": labels[:60]})          # in the folder's (sorted) order
    panel.set_input([tmp_path / "new"])
    panel.set_labels(tmp_path / "truth.csv")
    assert panel.labels_button.text() == "Labels: truth.csv" and panel.labels_clear.isVisible()
    _predict(qtbot, panel)
    r = panel.result
    assert r.metrics is not None and r.metrics["n"] == 60
    low, high = r.metrics_ci["roc_auc"]
    assert low <= r.metrics["roc_auc"] <= high
    assert "External test on the input's own labels (60 rows): roc_auc" in panel.summary_label.text()
    panel.labels_clear.click()
    assert panel.labels_path is None and panel.labels_button.text() == "Labels…"
    _predict(qtbot, panel)
    assert panel.result.metrics is None and "External test" not in panel.summary_label.text()
