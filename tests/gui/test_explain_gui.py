"""Explain in the sample browsers: maps computed in the background, drawn over the cutouts with
the randomised-model verdict and the deletion curve; method, band and opacity."""
from __future__ import annotations

import os
import types

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from tests.core.evaluation.point_sources import point_source_images

SHOTS = os.environ.get("NNSTUDIO_SHOTS", "/work/shared/shots/explain")


def _shot(widget, name):
    if os.path.isdir(os.path.dirname(SHOTS)):
        from PySide6.QtWidgets import QApplication

        os.makedirs(SHOTS, exist_ok=True)
        for _ in range(2):      # the axes widen to their tick labels on the first paint
            widget.grab()
            QApplication.processEvents()
        widget.grab().save(os.path.join(SHOTS, name))


@pytest.fixture(scope="module")
def images_state(tmp_path_factory, tensorflow):
    """A trained point-source project (32x32 cutouts in two folders) with its data and prepared arrays."""
    from astropy.io import fits

    from nnstudio.core.workflow.data import load_dataset, prepare_project
    from nnstudio.core.workflow.projects import new_project
    from nnstudio.core.workflow.train import train_project

    folder = tmp_path_factory.mktemp("sources")
    x, y, _ = point_source_images(120, seed=3)
    for k, (img, label) in enumerate(zip(x, y)):
        d = folder / "cutouts" / ("source" if label else "empty")
        d.mkdir(parents=True, exist_ok=True)
        fits.PrimaryHDU(img[..., 0]).writeto(d / f"c{k:03d}.fits")
    project = new_project(str(folder / "cutouts"), folder / "sources.nnproj")
    train_project(project, epochs=1)
    project.save()
    dataset = load_dataset(project)
    return project, dataset, prepare_project(project, dataset=dataset)


def test_explain_samples_refuses_tables_and_too_many_rows(images_state):
    from nnstudio.core.workflow.explain import BROWSER_SAMPLES, explain_samples
    from nnstudio.errors import NnstudioError

    project, dataset, prepared = images_state
    with pytest.raises(NnstudioError, match="at most"):
        explain_samples(project, list(range(BROWSER_SAMPLES + 1)), prepared=prepared, dataset=dataset)
    with pytest.raises(NnstudioError, match="Select"):
        explain_samples(project, [], prepared=prepared, dataset=dataset)
    table = types.SimpleNamespace(kind="table")
    with pytest.raises(NnstudioError, match="image data"):
        explain_samples(project, [0], prepared=table)
    rows = prepared.index["test"][:2].tolist()
    r = explain_samples(project, rows, "occlusion", prepared=prepared, dataset=dataset)
    assert r.rows.tolist() == rows and r.maps.maps.shape == (2, 32, 32, 1)
    assert len(r.sanity.correlations) == 2 and r.deletion.fractions[0] == 0.0


def test_browser_explains_the_selection_with_overlay_verdict_and_deletion_curve(qtbot, images_state):
    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.widgets.explain_view import deletion_words
    from nnstudio.gui.widgets.sample_browser import SampleBrowser, image_source

    preview_application()
    project, dataset, prepared = images_state
    b = SampleBrowser()
    qtbot.addWidget(b)
    b.enable_explain(lambda: (project, prepared, dataset))
    assert not b.explain_button.isVisibleTo(b)
    rows = np.asarray(prepared.index["test"][:6])
    b.set_samples("Test samples", {"row": rows, "score": np.arange(len(rows), dtype=float)}, sort_by="score",
                  images=image_source(dataset, rows))
    b.resize(900, 460)
    b.show()
    assert b.explain_button.isVisible()
    # descending by score: the table shows rows[5], rows[4], …; select the 2nd and 3rd lines
    b.table.selectRow(1)
    sel = QItemSelectionModel.SelectionFlag
    b.table.selectionModel().select(b.model.index(2, 0), sel.Select | sel.Rows)
    assert sorted(b.explain_rows()) == sorted([int(rows[4]), int(rows[3])])
    view = b.explain_view
    with qtbot.waitSignal(view.shown, timeout=120_000):
        qtbot.mouseClick(b.explain_button, Qt.LeftButton)
    assert b.pages.currentIndex() == 1
    r = view.result
    assert r.method == "ig" and sorted(r.rows.tolist()) == sorted([int(rows[4]), int(rows[3])])
    assert view.tiles.count() == 2 and not view.progress.isVisible()
    assert f"row {int(r.rows[0])}" in view.tiles.item(0).text()
    assert view.verdict.level in ("good", "warn")
    assert ("not informative" in view.verdict.text()) == (not r.sanity.informative)
    assert view.verdict.text().endswith(f"lowers the score {deletion_words(r.deletion)}.")
    xs, ys = view.curve_attributed.getData()
    np.testing.assert_allclose(xs, r.deletion.fractions)
    np.testing.assert_allclose(ys, r.deletion.attributed)
    # opacity redraws without a job: at 0 the tile is the bare cutout, at 1 the map is over it
    icon_full = view.tiles.item(0).icon().pixmap(64, 64).toImage()
    view.opacity_slider.setValue(0)
    icon_none = view.tiles.item(0).icon().pixmap(64, 64).toImage()
    assert icon_full != icon_none
    view.opacity_slider.setValue(80)
    _shot(b, "browser-ig.png")
    # another method is another job; switching back is immediate (kept)
    with qtbot.waitSignal(view.shown, timeout=120_000):
        view.set_method("gradcam")
    assert view.result.method == "gradcam" and view.result.maps.maps.shape[-1] == 1
    assert not view.band_combo.isEnabled()
    _shot(b, "browser-gradcam.png")
    with qtbot.waitSignal(view.shown, timeout=2_000):
        view.set_method("ig")
    assert view.result is r
    # other samples listed: the list comes first again
    b.set_samples("Other samples", {"row": rows[:2]}, images=image_source(dataset, rows[:2]))
    assert b.pages.currentIndex() == 0 and b.explain_button.isVisible()
    b.clear()
    assert view.result is None and view.tiles.count() == 0 and b.pages.currentIndex() == 0


def test_cancel_says_so(qtbot, images_state):
    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.widgets.explain_view import ExplainView

    preview_application()
    project, dataset, prepared = images_state
    rows = prepared.index["test"][:8].tolist()
    view = ExplainView(lambda: (project, prepared, dataset), lambda: rows)
    qtbot.addWidget(view)
    view.set_method("occlusion")
    view.explain()
    assert view.cancel_button.isVisibleTo(view) or view.job.done
    with qtbot.waitSignal(view.job.finished, timeout=120_000):
        view.cancel()
    assert view.result is None or view.result.method == "occlusion"
    if view.result is None:
        assert view.status_label.text() == "Cancelled."
    assert not view.progress.isVisible()


def test_diagnostics_browser_explains_the_samples_of_a_clicked_cell(make_window, qtbot, images_state):
    from binary_states import wait_result

    from nnstudio.core.project import Project

    project, dataset, _ = images_state
    w = make_window()
    w.session.set_project(Project.load(project.path))
    w.session.set_dataset(dataset)
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)   # the Data step prepares it
    panel = w.panels["diagnostics"]
    w.show_panel("diagnostics")
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    wait_result(qtbot, panel)
    w.resize(1400, 1000)
    w.show_panel("diagnostics")
    qtbot.waitUntil(lambda: panel.heatmap.isVisible())
    i, j = np.unravel_index(np.argmax(panel.confusion), panel.confusion.shape)     # the fullest cell
    pos = panel.heatmap.cell_centre_in_widget(int(i), int(j))
    qtbot.mouseClick(panel.heatmap.viewport(), Qt.LeftButton, pos=pos)
    b = panel.browser
    qtbot.waitUntil(lambda: b.explain_button.isVisible(), timeout=10_000)
    with qtbot.waitSignal(b.explain_view.shown, timeout=120_000):
        qtbot.mouseClick(b.explain_button, Qt.LeftButton)
    assert b.explain_view.result.rows.tolist() == b.rows()[:4].tolist()
    _shot(panel, "diagnostics-explain.png")
    assert w.panels["uncertainty"].browser.explain_view is not None


def test_deletion_words_call_a_tiny_gap_none():
    from nnstudio.core.evaluation.explain_checks import DeletionCurve
    from nnstudio.gui.widgets.explain_view import deletion_words

    f = np.array([0.0, 0.5])
    assert deletion_words(DeletionCurve(f, np.array([0.9, 0.1]), np.array([0.9, 0.85]))) == "faster than random"
    assert deletion_words(DeletionCurve(f, np.array([0.5, 0.497]), np.array([0.5, 0.5]))) == "no faster than random"
    assert deletion_words(DeletionCurve(f, np.array([0.9, 0.9]), np.array([0.9, 0.3]))) == "slower than random"


def test_uncertainty_browser_explains_its_samples(make_window, qtbot, images_state):
    from binary_states import wait_result

    from nnstudio.core.project import Project

    project, dataset, _ = images_state
    w = make_window()
    w.session.set_project(Project.load(project.path))
    w.session.set_dataset(dataset)
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=60_000)
    w.show_panel("uncertainty")
    panel = w.panels["uncertainty"]
    panel.compute()
    wait_result(qtbot, panel)
    b = panel.browser
    qtbot.waitUntil(lambda: len(b.rows()) > 0 and b.explain_button.isVisible(), timeout=10_000)
    b.table.selectRow(0)
    with qtbot.waitSignal(b.explain_view.shown, timeout=120_000):
        qtbot.mouseClick(b.explain_button, Qt.LeftButton)
    assert b.explain_view.result.rows.tolist() == [int(b.rows()[0])]
    w.resize(1400, 1000)
    _shot(panel, "uncertainty-explain.png")


def test_an_unexpected_error_reaches_the_page_without_its_raw_text(qtbot):
    from nnstudio.gui.panels.diagnostics.why import WhyCard
    from nnstudio.gui.widgets.explain_view import ExplainView

    for view in (ExplainView(lambda: (None, None, None), lambda: []), WhyCard(lambda: (None, None))):
        qtbot.addWidget(view)
        view.job = job = object()
        view._on_error(job, ValueError("\x1b[31mshape mismatch (3, 4) vs (5,)\x1b[0m"), "attribution maps")
        text = view.status_label.text()
        assert "shape mismatch" not in text and "\x1b" not in text and "bug in nnstudio" in text
