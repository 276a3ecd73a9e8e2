"""The Data panel, driven offscreen: open files, choose target and inputs, prepare, preview."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView


LOAD_MS = 60_000


def write_csv(path, n=40):
    """a = i, b = 2i + 1, c = 1.5 (i mod 5), label alternates star / galaxy."""
    lines = ["a,b,c,label"]
    for i in range(n):
        lines.append(f"{i},{2 * i + 1}.0,{1.5 * (i % 5)},{'star' if i % 2 else 'galaxy'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def open_and_wait(qtbot, w, path):
    panel = w.panels["data"]
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        w.open_path(str(path))
    qtbot.waitUntil(lambda: not panel.job.running, timeout=LOAD_MS)
    return panel


def wait_error(qtbot, panel):
    qtbot.waitUntil(lambda: panel.messages.is_shown("error"), timeout=LOAD_MS)
    qtbot.waitUntil(lambda: not panel.job.running, timeout=LOAD_MS)
    return panel.messages.text("error")


def test_open_csv_shows_rows_and_columns(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "stars.csv"))
    model = panel.table_model
    assert (model.rowCount(), model.columnCount()) == (40, 4)
    assert model.names == ["a", "b", "c", "label"]
    assert model.data(model.index(3, 1)) == "7"            # b = 2·3 + 1
    assert model.data(model.index(4, 2)) == "6"            # c = 1.5·4
    assert model.data(model.index(5, 3)) == "star"
    # the default target is the column named label: two classes, inputs the numeric columns
    assert panel.target_combo.currentText() == "label"
    assert panel.inferred_label.text() == "→ classification"
    assert panel.columns.inputs() == ["a", "b", "c"]
    prepared = w.session.prepared
    assert prepared.class_names == ["galaxy", "star"]
    assert "2: galaxy, star" == panel.classes_label.text()
    # per-column statistics: b = 1, 3, …, 79 → min 1, max 79, mean 40
    row_b = panel.columns.names.index("b")
    assert [panel.columns.item(row_b, c).text() for c in (1, 2, 3, 5)] == ["1", "79", "40", "0"]
    # class balance per split: 24 train rows, stratified 12 + 12
    t = panel.balance_table
    assert [t.verticalHeaderItem(r).text() for r in range(t.rowCount())] == ["galaxy", "star"]
    assert t.item(0, 0).text() == "12 (50%)" and t.item(1, 0).text() == "12 (50%)"
    # the histogram follows the clicked column
    panel.columns.select_column("c")
    assert panel.histogram.name == "c"
    assert int(panel.histogram.counts.sum()) == 40


def test_choosing_target_and_inputs_then_apply_updates_session_and_project(make_window, qtbot,
                                                                            tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "stars.csv"))
    w.session.project.dirty = False
    panel.target_combo.setCurrentText("c")
    assert panel.inferred_label.text() == "→ regression"    # 0, 1.5, 3 …: not integers
    assert "c" not in panel.columns.inputs()
    panel.columns.set_checked("b", False)
    assert panel.columns.inputs() == ["a"]
    assert panel.apply_button.isEnabled() and "Apply" in panel.dirty_label.text()
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    prepared = w.session.prepared
    assert prepared.problem == "regression" and prepared.target_name == "c"
    assert prepared.feature_names == ["a"]
    project = w.session.project
    assert project.data.target == "c" and project.data.inputs == ["a"]
    assert project.data.problem == "regression" and project.dirty
    assert project.preparation.fitted["input"]["features"] == ["a"]
    assert panel.classes_label.text() == "none (regression of c)"


def test_preparation_settings_go_into_the_project(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "stars.csv"))
    panel.fraction_spins["train"].setValue(0.5)
    panel.fraction_spins["test"].setValue(0.25)
    panel.seed_spin.setValue(7)
    panel.scaler_combo.setCurrentIndex(panel.scaler_combo.findData("minmax"))
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        panel.apply()
    spec = w.session.project.preparation
    assert spec.fractions == {"train": 0.5, "val": 0.15, "cal": 0.1, "test": 0.25}
    assert spec.seed == 7 and spec.scaler == "minmax"
    assert w.session.prepared.count("train") == 20          # half of 40 rows
    assert spec.fitted["input"]["kind"] == "minmax"


def test_fractions_not_adding_to_one_show_a_message_and_do_not_prepare(make_window, qtbot,
                                                                        tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "stars.csv"))
    before, job = w.session.prepared, panel.job
    panel.fraction_spins["val"].setValue(0.2)
    assert panel.messages.is_shown("fractions")
    assert "add up to 1.05" in panel.messages.text("fractions")
    assert "must be 1" in panel.sum_label.text()
    panel.apply()
    assert panel.job is job and w.session.prepared is before
    assert w.session.project.preparation.fractions["val"] == 0.15
    panel.fraction_spins["val"].setValue(0.15)
    assert not panel.messages.is_shown("fractions")


def test_missing_values_are_counted_in_the_notes(make_window, qtbot, tmp_path):
    path = write_csv(tmp_path / "gaps.csv")
    lines = path.read_text().splitlines()
    lines[3] = "2,,3.0,galaxy"       # rows 2 and 5 lose their b value
    lines[6] = "5,,0.0,star"
    path.write_text("\n".join(lines) + "\n")
    w = make_window()
    panel = open_and_wait(qtbot, w, path)
    assert w.session.prepared.count("train") + w.session.prepared.count("val") + \
        w.session.prepared.count("cal") + w.session.prepared.count("test") == 38
    assert "Dropped 2 row(s)" in panel.notes_label.text()
    assert "b: 2 missing" in panel.notes_label.text()
    # refusing them is an error in the message bar; the prepared data stay
    before = w.session.prepared
    panel.missing_combo.setCurrentIndex(panel.missing_combo.findData("refuse"))
    panel.apply()
    assert "2 row(s) have missing" in wait_error(qtbot, panel)
    assert w.session.prepared is before and w.session.project.preparation.missing == "drop"
    # the refused choice stays on screen, to be changed and applied again
    assert panel.missing_combo.currentData() == "refuse"
    assert panel.dirty_label.text() == "Changed: Apply to prepare again."
    assert panel.apply_button.isEnabled()


def test_strong_lens_project_shows_labelled_thumbnails(make_window, qtbot, tmp_path):
    from astropy.table import Table

    from nnstudio.core.data.prepare import class_balance
    from nnstudio.core.workflow import write_example_project

    path = write_example_project("strong-lens", tmp_path / "lens")
    labels = Table.read(tmp_path / "lens" / "strong_lens_labels.csv")
    w = make_window()
    panel = open_and_wait(qtbot, w, path)
    grid = panel.browser.grid
    assert panel.tabs.currentIndex() == panel.images_tab
    assert grid.view.count() == 48 and grid.shown == list(range(48))
    assert [grid.view.item(k).text() for k in range(3)] == \
        [f"#{k} · {labels['is_lens'][k]}" for k in range(3)]
    assert grid.rendered[0].shape == (64, 64) and grid.rendered[0].dtype == np.uint8
    assert grid.page_label.text() == "1–48 of 1500"
    # class balance per split from the prepared data
    balance = class_balance(w.session.prepared)
    t = panel.balance_table
    assert t.item(0, 0).text().startswith(f"{balance['train']['0']} (")
    # a stretch change redraws every thumbnail
    before = [r.copy() for r in grid.rendered]
    with qtbot.waitSignal(grid.redrawn, timeout=5_000):
        grid.stretch_combo.setCurrentText("linear")
    assert len(grid.rendered) == 48
    assert any(not np.array_equal(a, b) for a, b in zip(before, grid.rendered))
    # the class filter shows only lenses
    grid.group_combo.setCurrentIndex(grid.group_combo.findText("1"))
    assert all(labels["is_lens"][r] == 1 for r in grid.shown)
    # a click enlarges the image beside the grid
    item = grid.view.item(2)
    row = item.data(Qt.UserRole)
    rect = grid.view.visualItemRect(item)
    qtbot.mouseClick(grid.view.viewport(), Qt.LeftButton, pos=rect.center())
    zoom = panel.browser.zoom
    assert not zoom.isHidden() and zoom.row == row
    assert f"#{row} · 1" in zoom.title.text()
    np.testing.assert_array_equal(zoom.data, w.session.dataset.images[row, :, :, 0])
    qtbot.mouseClick(zoom.close_button, Qt.LeftButton)
    assert zoom.isHidden()


def write_mef(path, n=12):
    """Primary (empty), CUBE (n images of 8×8, image k filled with k), CAT (label, flux)."""
    from astropy.io import fits

    cube = np.repeat(np.arange(n, dtype=np.float32), 64).reshape(n, 8, 8)
    cat = fits.BinTableHDU.from_columns([
        fits.Column(name="label", format="K", array=np.arange(n) % 2),
        fits.Column(name="flux", format="D", array=np.arange(n) * 0.5)], name="CAT")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube, name="CUBE"), cat]).writeto(path)
    return path


def test_multi_extension_fits_lists_hdus_and_loads_the_chosen_one(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_mef(tmp_path / "mef.fits"))
    picker = panel.hdu_picker
    assert not picker.isHidden()
    rows = [[picker.topLevelItem(k).text(c) for c in range(3)] for k in range(3)]
    assert rows == [["0  PRIMARY", "primary", "no data"],
                    ["1  CUBE", "image", "12×8×8 float32"],
                    ["2  CAT", "binary table", "12 rows × 2 columns"]]
    assert panel.hdu_title.text().startswith("HDUs in this file")
    assert picker.currentItem() is picker.topLevelItem(1)
    # the cube was read, labelled by the table HDU with as many rows
    assert w.session.dataset.kind == "images" and w.session.dataset.hdu == 1
    assert panel.labels_label.text() == "HDU 2 CAT (auto)"
    assert panel.browser.grid.view.count() == 12
    # choosing the table HDU loads it as a table
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        picker.chosen.emit(2)
    assert w.session.dataset.kind == "table" and w.session.dataset.hdu == 2
    assert w.session.project.data.hdu == 2
    assert panel.table_model.names == ["label", "flux"]
    assert panel.tabs.isTabVisible(panel.images_tab) is False


def write_votable(path):
    """A VOTable of three tables: 'stars' and 'colours' (40 rows each) and 'empty' (no rows)."""
    from astropy.io.votable.tree import Resource, VOTableFile
    from astropy.table import Table

    i = np.arange(40)
    kind = np.where(i % 2, "star", "galaxy")
    tables = {"stars": Table({"a": i * 1.0, "b": 2.0 * i + 1, "label": kind}),
              "colours": Table({"g_r": i * 0.1, "r_i": i * 0.05, "u_g": i * 0.2, "label": kind}),
              "empty": Table({"x": np.zeros(0)})}
    vot, resource = VOTableFile(), Resource()
    vot.resources.append(resource)
    for name, table in tables.items():
        vt = VOTableFile.from_table(table).get_first_table()
        vt.ID = vt.name = name
        resource.tables.append(vt)
    vot.to_xml(str(path))
    return path


def test_multi_table_votable_lists_tables_and_loads_the_chosen_one(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_votable(tmp_path / "three.xml"))
    picker = panel.hdu_picker
    assert not picker.isHidden() and panel.hdu_title.text().startswith("Tables in this file")
    assert picker.headerItem().text(0) == "Table"
    assert picker.isColumnHidden(1)                 # no type column: every part is a table
    rows = [[picker.topLevelItem(k).text(c) for c in (0, 2)] for k in range(3)]
    assert rows == [["0  stars", "40 rows × 3 columns"], ["1  colours", "40 rows × 4 columns"],
                    ["2  empty", "0 rows × 1 column — not usable: a table with no rows"]]
    assert not picker.topLevelItem(2).flags() & Qt.ItemIsEnabled
    assert w.session.dataset.hdu == 0 and panel.table_model.names == ["a", "b", "label"]
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        picker.chosen.emit(1)
    assert w.session.dataset.hdu == 1 and w.session.project.data.hdu == 1
    assert panel.table_model.names == ["g_r", "r_i", "u_g", "label"]
    assert panel.kind_label.text() == "Table of 40 rows × 4 columns (table 1)"
    assert picker.currentItem() is picker.topLevelItem(1)
    # a FITS file next: HDUs with their types again
    open_and_wait(qtbot, w, write_mef(tmp_path / "mef.fits"))
    assert picker.headerItem().text(0) == "HDU" and not picker.isColumnHidden(1)
    assert panel.hdu_title.text().startswith("HDUs in this file")


def test_label_table_by_row_order_then_by_id_column(make_window, qtbot, tmp_path):
    from astropy.io import fits

    cube = np.repeat(np.arange(10, dtype=np.float32), 16).reshape(10, 4, 4)
    fits.PrimaryHDU(cube).writeto(tmp_path / "cube.fits")
    order = [3, 0, 7, 1, 9, 2, 8, 5, 4, 6]     # label rows shuffled; pos names the image
    (tmp_path / "labels.csv").write_text(
        "pos,kind\n" + "".join(f"{p},{'odd' if p % 2 else 'even'}\n" for p in order))
    w = make_window()
    panel = w.panels["data"]
    w.open_path(str(tmp_path / "cube.fits"))
    assert "no labels" in wait_error(qtbot, panel)
    assert w.session.prepared is None
    assert panel.dataset is not None and panel.browser.grid.view.count() == 10  # preview stays
    assert not panel.labels_box.isHidden()
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        panel.set_labels_path(str(tmp_path / "labels.csv"))
    assert w.session.dataset.columns["pos"].tolist() == order    # row order
    assert [panel.id_combo.itemData(k) for k in range(panel.id_combo.count())] == \
        [None, "pos", "kind"]
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        panel.id_combo.setCurrentIndex(1)                          # match by pos
    assert w.session.dataset.columns["pos"].tolist() == list(range(10))
    assert w.session.dataset.columns["kind"].tolist()[:3] == ["even", "odd", "even"]
    assert w.session.project.data.id_column == "pos"
    assert w.session.project.data.target == "kind"


def test_first_images_show_before_the_cube_is_read(make_window, qtbot, tmp_path, monkeypatch):
    import threading

    from nnstudio.core.data import readers

    path = write_mef(tmp_path / "mef.fits", n=60)
    release = threading.Event()
    real = readers.read_dataset

    def held_read(selection, task=None):
        release.wait(30)
        return real(selection, task=task)

    monkeypatch.setattr(readers, "read_dataset", held_read)
    w = make_window()
    panel = w.panels["data"]
    grid = panel.browser.grid
    w.open_path(str(path))
    qtbot.waitUntil(lambda: grid.view.count() > 0, timeout=LOAD_MS)
    assert grid.view.count() == 48 and grid.images.shape[0] == 48    # PREVIEW_IMAGES of 60
    assert grid.page_label.text() == "1–48 of 48 (loading 60)"
    assert panel.dataset is None and not panel.progress_row.isHidden()
    with qtbot.waitSignal(w.session.prepared_changed, timeout=LOAD_MS):
        release.set()
    assert grid.images.shape[0] == 60 and grid.page_label.text() == "1–48 of 60"


def test_bad_files_show_a_message_and_keep_the_data_in_use(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "good.csv"))
    dataset, prepared = w.session.dataset, w.session.prepared
    project_path = w.session.project.data.path

    def still_the_same():
        assert w.session.dataset is dataset and w.session.prepared is prepared
        assert w.session.project.data.path == project_path
        assert panel.table_model.rowCount() == 40 and panel.dataset is dataset

    (tmp_path / "fake.fits").write_bytes(b"this is not a FITS file at all\n" * 100)
    w.open_path(str(tmp_path / "fake.fits"))
    assert "is named like a FITS file but is not one" in wait_error(qtbot, panel)
    still_the_same()

    # headers 2 × 2880 bytes, then 12 × 8 × 8 float32 = 3072 bytes of cube: cut after 1000
    data = write_mef(tmp_path / "whole.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[: 2 * 2880 + 1000])
    w.open_path(str(tmp_path / "cut.fits"))
    assert wait_error(qtbot, panel) == ("cut.fits is truncated: it ends inside the data of HDU 1 "
                                        "(CUBE), after 1,000 of its 3,072 bytes.")
    still_the_same()
    assert panel.hdu_picker.isHidden()          # the truncated file's HDUs are not shown

    (tmp_path / "empty.csv").write_text("")
    w.open_path(str(tmp_path / "empty.csv"))
    assert wait_error(qtbot, panel) == "empty.csv is empty (0 bytes)."
    still_the_same()


def test_cancel_stops_loading_and_keeps_the_data(make_window, qtbot, tmp_path, monkeypatch):
    import nnstudio.gui.panels.data.panel as data_module

    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "good.csv"))
    dataset = w.session.dataset

    def slow_load(project, dataset=None, *, task):
        task.report_progress(1, 4, "Reading slowly: 1 of 4")
        task.stop.wait(30)
        task.check()

    monkeypatch.setattr(data_module, "load_job", slow_load)
    w.open_path(str(tmp_path / "good.csv"))
    qtbot.waitUntil(lambda: panel.progress.format() == "Reading slowly: 1 of 4", timeout=10_000)
    assert not panel.progress_row.isHidden() and panel.progress.value() == 250
    with qtbot.waitSignal(panel.job.finished, timeout=10_000):
        qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    assert panel.messages.level("error") == "info"
    assert "cancelled" in panel.messages.text("error")
    assert panel.progress_row.isHidden()
    assert w.session.dataset is dataset


def test_new_project_clears_the_panel(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "good.csv"))
    w.session.project.dirty = False
    w.new_project()
    assert panel.dataset is None and panel.table_model.rowCount() == 0
    assert panel.file_label.text() == "No data yet"
    assert panel.columns.rowCount() == 0


# -- the virtual table model ---------------------------------------------------------------------
class CountingArray(np.ndarray):
    """An array that counts element reads, to show that no per-row work happens up front."""

    reads = 0

    def __getitem__(self, key):
        CountingArray.reads += 1
        return super().__getitem__(key)


def test_million_row_model_formats_only_visible_cells(qtbot):
    from nnstudio.gui.panels.data.table_model import ColumnTableModel

    n = 1_000_000
    x = np.arange(n, dtype=np.float64).view(CountingArray)
    y = (np.arange(n) % 7).view(CountingArray)
    CountingArray.reads = 0
    model = ColumnTableModel({"x": x, "y": y})
    assert (model.rowCount(), model.columnCount()) == (n, 2)
    assert model.cells_formatted == 0 and CountingArray.reads == 0
    assert model.column("x") is x                            # no copy
    view = QTableView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.setModel(model)
    view.show()
    qtbot.waitUntil(lambda: model.cells_formatted > 0, timeout=5_000)   # painted
    visible = model.cells_formatted
    assert visible <= 2 * 40                                 # a screenful, not a million
    assert CountingArray.reads <= visible + 2 * 40           # one read a cell (and a colour)
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.cells_formatted > visible, timeout=5_000)
    assert model.cells_formatted <= 4 * 40
    assert view.rowAt(view.viewport().height() - 2) > n - 40      # it really is at the end
    assert model.data(model.index(n - 1, 0)) == "999999"
    assert model.data(model.index(n - 3, 1)) == str((n - 3) % 7)
    assert model.headerData(n - 1, Qt.Vertical) == str(n - 1)


def test_model_formats_vectors_text_and_missing_values():
    from nnstudio.gui.panels.data.table_model import ColumnTableModel

    cols = {"v": np.arange(12.0).reshape(3, 4), "s": np.array(["a", "b", "c"]),
            "f": np.array([1.0, np.nan, 2.5e-7])}
    m = ColumnTableModel(cols)
    assert m.data(m.index(0, 0)) == "[0, 1, 2, …] (4)"
    assert m.data(m.index(2, 1)) == "c"
    assert m.data(m.index(1, 2)) == "NaN" and m.data(m.index(2, 2)) == "2.5e-07"
    assert m.data(m.index(1, 2), Qt.ForegroundRole) is not None
    assert m.data(m.index(0, 2), Qt.ForegroundRole) is None


def test_display_image_stretches_and_limits():
    from nnstudio.gui.widgets.image_grid import display_image

    img = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    lin = display_image(img, "linear", "minmax")
    assert lin[0, 0] == 0 and lin[-1, -1] == 255 and lin[5, 0] == round(50 / 99 * 255)
    log = display_image(img, "log", "minmax")
    assert log[5, 0] > lin[5, 0]                              # log lifts the faint end
    img[0, 0] = np.nan
    assert display_image(img, "asinh", "zscale")[0, 0] == 0   # NaN drawn black
    flat = display_image(np.ones((4, 4)), "linear", "zscale")
    assert (flat == 128).all()


def test_histogram_draws_flags_and_integer_labels_as_bars(qtbot):
    from nnstudio.gui.panels.data.histogram import ColumnHistogram

    h = ColumnHistogram()
    qtbot.addWidget(h)
    h.set_column("flag", np.array([True, False, True]))
    assert h.counts.tolist() == [1, 2]                        # False once, True twice
    assert "2 distinct values" in h.caption.text()
    h.set_column("k", np.array([3, 1, 3, 2, 10]))
    assert h.counts.tolist() == [1, 1, 2, 1]                  # 1, 2, 3, 10: numeric order


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_panel_renders_in_both_themes(make_window, qtbot, tmp_path, theme):
    w = make_window()
    if theme == "dark":
        w.set_theme("dark")
    panel = open_and_wait(qtbot, w, write_csv(tmp_path / "stars.csv"))
    image = panel.grab().toImage()
    assert image.width() > 600 and image.height() > 400
    bg = panel.histogram.plot.backgroundBrush().color()
    assert (bg.lightness() < 128) == (theme == "dark")
    w.set_theme("light")
