"""The main window, driven offscreen with qtbot."""
import json
import os
import subprocess
import sys
import textwrap

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from nnstudio.core.project import Project


def test_window_paints_before_tensorflow_is_imported(tmp_path):
    code = textwrap.dedent("""
        import json, os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from nnstudio.gui.app import create_main_window, make_application
        app = make_application()
        w = create_main_window()
        seen = {}
        w.first_painted.connect(lambda: seen.update(tf_at_paint="tensorflow" in sys.modules,
                                                     numpy_at_paint="numpy" in sys.modules))
        w.session_ready = False
        w.loader.ready.connect(lambda info: (seen.update(tf_ready=True, device=info["device"]), app.quit()))
        from PySide6.QtCore import QTimer
        QTimer.singleShot(90000, app.quit)
        w.show()
        app.exec()
        print(json.dumps(seen))
    """)
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["tf_at_paint"] is False
    assert seen["numpy_at_paint"] is False
    assert seen["tf_ready"] is True and seen["device"]


def test_title_sidebar_and_status(make_window, qtbot):
    w = make_window()
    assert w.windowTitle().startswith("nnstudio")
    assert [w.sidebar.item(i).text().split()[-1] for i in range(w.sidebar.count())] == \
        ["Data", "Model", "Train", "Diagnostics", "Uncertainty", "Predict"]
    assert w.device_label.text() == "Device: CPU"
    assert w.state_label.text() == "Ready"
    w.sidebar.setCurrentRow(2)
    assert w.stack.currentWidget() is w.panels["train"]


def test_shortcuts_switch_panels(make_window, qtbot):
    w = make_window()
    w.activateWindow()
    w.panel_actions[3].trigger()
    assert w.current_panel_key() == "diagnostics"
    assert w.panel_actions[3].shortcut().toString() == "Ctrl+4"


def test_panel_needing_earlier_step_offers_to_go_there(make_window, qtbot):
    w = make_window()
    w.show_panel("train")
    train = w.panels["train"]
    assert train.is_missing_shown
    assert "Data panel" in train.missing_label.text()
    qtbot.mouseClick(train.missing_button, Qt.LeftButton)
    assert w.current_panel_key() == "data"
    assert w.panels["diagnostics"].missing() == "run"


def test_about_names_versions_and_device(make_window):
    import astropy
    import keras
    import tensorflow as tf

    w = make_window()
    dlg = w.show_about()
    text = dlg.findChild(type(dlg.children()[-1])) and w.about_text()
    for v in (tf.__version__, keras.__version__, astropy.__version__, "CPU"):
        assert v in text
    assert not dlg.isModal()
    dlg.close()


def test_open_project_updates_title_and_recent(make_window, tmp_path):
    p = Project(name="lenses")
    p.save(tmp_path / "lenses.nnproj")
    w = make_window()
    assert w.open_path(str(tmp_path / "lenses.nnproj"))
    assert w.windowTitle().startswith("nnstudio — lenses")
    assert w.recent_files()[0] == str(tmp_path / "lenses.nnproj")
    assert w.recent_menu.actions()[0].text().startswith("lenses.nnproj — ")


def test_recent_files_remembered_across_windows(make_window, tmp_path, qsettings):
    w = make_window()
    for name in ("a", "b"):
        (tmp_path / f"{name}.nnproj").write_text("{}")
    w.add_recent(str(tmp_path / "a.nnproj"))
    w.add_recent(str(tmp_path / "b.nnproj"))
    w.settings.setValue("reopen_last", False)       # b.nnproj is no project to reopen
    w2 = make_window()
    assert w2.recent_files()[:2] == [str(tmp_path / "b.nnproj"), str(tmp_path / "a.nnproj")]


def test_geometry_remembered(make_window, qtbot):
    w = make_window()
    w.resize(791, 563)
    w.close()
    w2 = make_window()
    assert (w2.width(), w2.height()) == (791, 563)


def test_drop_a_project_file_opens_it(make_window, tmp_path):
    p = Project(name="dropped")
    p.save(tmp_path / "dropped.nnproj")
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped.nnproj"))])
    ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    w.dropEvent(ev)
    assert w.session.project.name == "dropped"


def test_damaged_project_shows_message_and_keeps_session(make_window, tmp_path):
    bad = tmp_path / "bad.nnproj"
    bad.write_text("{ not json")
    w = make_window()
    before = w.session.project
    assert not w.open_path(str(bad))
    assert w.panels["data"].messages.is_shown("open")
    assert "not a valid project file" in w.panels["data"].messages.text("open")
    assert w.session.project is before


def test_close_with_unsaved_changes_asks(make_window, tmp_path):
    w = make_window(answers={"Unsaved changes": "Cancel"})
    w.session.project.mark_changed("model")
    assert w.isWindowModified()
    assert not w.close()
    assert w.isVisible()
    w.ask = lambda *a, **k: "Discard"
    assert w.close()


def test_autosave_and_recovery(make_window, tmp_path):
    w = make_window()
    w.session.project.name = "precious"
    w.session.project.mark_changed("model")
    w.autosave()
    assert w.recovery_path().exists()
    w2 = make_window()
    assert w2.panels["data"].messages.is_shown("recovery")
    assert w2.recover()
    assert w2.session.project.name == "precious" and w2.session.project.dirty
    assert w2.isWindowModified()


def test_theme_choice_is_remembered(make_window, qsettings):
    w = make_window()
    w.set_theme("dark")
    assert qsettings.value("theme") == "dark"
    assert QApplication.instance().palette().window().color().lightness() < 128
    w.set_theme("light")
    assert QApplication.instance().palette().window().color().lightness() > 128


def test_the_cycle_collector_runs_from_the_event_loop_only(qtbot):
    import gc

    from nnstudio.gui.application import make_application

    app = make_application()
    assert not gc.isenabled()                     # never in the middle of a Qt call …
    collector = app._nnstudio_gc
    assert make_application()._nnstudio_gc is collector and collector.timer.isActive()

    class Cycle:
        pass
    for _ in range(collector.threshold[0] + 50):  # … but past the threshold, from the timer
        a, b = Cycle(), Cycle()
        a.b, b.a = b, a
    del a, b
    with qtbot.waitSignal(collector.timer.timeout, timeout=5_000):
        pass
    assert gc.get_count()[0] < collector.threshold[0]
