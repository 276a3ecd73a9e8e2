"""The main window: a sidebar of six workflow steps, menus, status bar, drag and drop.

Only PySide6 is imported before the first paint; the panels (numpy, pyqtgraph) are created from a
single-shot timer right after it, then the application's TensorFlow loader starts.
"""
from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio import __version__

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
MAX_RECENT = 10
AUTOSAVE_MS = 60_000
DATA_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".gz", ".csv", ".ecsv", ".vot", ".xml", ".votable",
                 ".hdf5", ".h5", ".txt", ".dat")
EXAMPLE_NAMES = [("galaxy-mass", "Galaxy mass from luminosity (regression)"),
                 ("strong-lens", "Strong-lens finding in cutouts (classification)"),
                 ("photometric-classes", "Stars, galaxies and quasars by colour (3 classes)")]


def upgrade_settings(settings: QSettings) -> None:
    """Bring stored preferences up to SETTINGS_VERSION (one step per version)."""
    version = int(settings.value("settings_version", 0) or 0)
    if version < 1:
        # version 0 had no recent-file list of its own; nothing to carry over
        settings.setValue("settings_version", 1)


class MainWindow(QMainWindow):
    first_painted = Signal()
    panels_loaded = Signal()
    project_opened = Signal(str)

    def __init__(self, loader=None, settings: QSettings | None = None):
        super().__init__()
        self.loader = loader
        self.settings = settings or QSettings()
        upgrade_settings(self.settings)
        self.session = None
        self.panels: dict[str, QWidget] = {}
        self._painted = False
        self._pending_open: str | None = None
        self.lesson_dock = None         # gui/lessons/dock.py: the lesson shown beside the panels
        self.setAcceptDrops(True)
        self.setMinimumSize(760, 520)
        self.resize(1280, 820)

        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(176)
        self.sidebar.setObjectName("sidebar")
        self._style_sidebar()
        self.stack = QStackedWidget()
        lay.addWidget(self.sidebar)
        lay.addWidget(self.stack, 1)
        # the panels, or the start page (gui/start_page.py) while nothing is open
        self.workspace = central
        self.pages = QStackedWidget()
        self.pages.addWidget(central)
        self.setCentralWidget(self.pages)
        self.start_page = None
        from nnstudio.gui.panels import PANELS

        self.panel_keys = [p[0] for p in PANELS]
        for i, (key, title, _mod, _cls, tip) in enumerate(PANELS):
            item = QListWidgetItem(f"{i + 1}  {title}")
            item.setToolTip(f"{tip} (Ctrl+{i + 1})")
            item.setData(Qt.UserRole, key)
            self.sidebar.addItem(item)
            placeholder = QLabel(f"{title}\n\nLoading…")
            placeholder.setAlignment(Qt.AlignCenter)
            self.stack.addWidget(placeholder)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

        self.state_label = QLabel("Starting…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("The compute device TensorFlow uses")
        sb = self.statusBar()
        sb.addWidget(self.state_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.device_label)

        self._build_menus()
        self._restore_settings()
        self.update_title()
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)

    def _style_sidebar(self) -> None:
        # palette() in a style sheet is resolved when it is set: re-set it when the palette changes
        self.sidebar.setStyleSheet(
            "QListWidget#sidebar { border: none; padding-top: 8px; font-size: 11pt;"
            " background: palette(window); }"
            "QListWidget#sidebar::item { padding: 10px 12px; }"
            "QListWidget#sidebar::item:selected { background: palette(highlight); color: palette(highlighted-text); }")

    def changeEvent(self, e):
        from PySide6.QtCore import QEvent

        if e.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange) and hasattr(self, "sidebar"):
            self._style_sidebar()
        super().changeEvent(e)

    # -- start-up ----------------------------------------------------------------------------
    def paintEvent(self, event):
        super().paintEvent(event)
        if not self._painted:
            # queue the heavy set-up behind the first paint so the window is on screen first
            QTimer.singleShot(0, self._after_first_paint)

    def showEvent(self, e):
        super().showEvent(e)
        if not self._painted:  # a platform that never paints a hidden-on-screen window
            QTimer.singleShot(500, self._after_first_paint)

    def _after_first_paint(self):
        if self._painted:
            return
        self._painted = True
        self.first_painted.emit()
        QTimer.singleShot(0, self.load_panels)

    def load_panels(self) -> None:
        """Create the session and the real panels (imports numpy, pyqtgraph, core)."""
        if self.panels:
            return
        from nnstudio.gui.panels import PANELS
        from nnstudio.gui.session import Session
        from nnstudio.gui.theme import configure_pyqtgraph

        configure_pyqtgraph()
        self.session = Session(self)
        self.session.project_edited.connect(self._on_project_edited)
        self.session.project_changed.connect(self.update_title)
        for i, (key, _title, mod, cls, _tip) in enumerate(PANELS):
            panel_cls = getattr(importlib.import_module(mod), cls)
            panel = panel_cls(self.session)
            panel.navigate.connect(self.show_panel)
            panel.status.connect(self.set_state)
            old = self.stack.widget(i)
            self.stack.removeWidget(old)
            old.deleteLater()
            self.stack.insertWidget(i, panel)
            self.panels[key] = panel
        self.stack.setCurrentIndex(self.sidebar.currentRow())
        self.set_state("Loading TensorFlow…")
        if self.loader is not None:
            self.loader.ready.connect(self._on_tf_ready)
            self.loader.failed.connect(self._on_tf_failed)
            if self.loader.is_ready:
                QTimer.singleShot(0, lambda: self._on_tf_ready(self.loader.info))
            else:
                QTimer.singleShot(0, self.loader.start)
        self._autosave.start()
        self.panels_loaded.emit()
        recovering = self._offer_recovery()
        opened = False
        if self._pending_open:
            path, self._pending_open = self._pending_open, None
            opened = self.open_path(path) or True
        elif not recovering and self.reopen_last:
            last = next((p for p in self.recent_files() if p.endswith(".nnproj") and Path(p).exists()), None)
            if last:
                opened = self.open_path(last) or True
        if not (opened or recovering):
            self.show_start_page()

    def _on_tf_ready(self, info: dict) -> None:
        self.session.tf_info = info
        self.device_label.setText(f"Device: {info['device']}")
        self.set_state("Ready")
        self.session.tf_ready.emit(info)
        for p in self.panels.values():
            p.on_tf_ready(info)

    def _on_tf_failed(self, text: str) -> None:
        self.set_state("TensorFlow unavailable")
        self.device_label.setText("Device: none")
        self.panels["data"].messages.error("tensorflow", text + " Data can be explored; training is off.")

    # -- menus --------------------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None, tip=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_new = self._action(f, "&New Project", self.new_project, QKeySequence.New)
        self.act_open = self._action(f, "&Open…", self.open_dialog, QKeySequence.Open,
                                     "Open a project or a data file")
        self.recent_menu = f.addMenu("Open &Recent")
        self.act_open_data = self._action(f, "Open &Data…", self.open_data_dialog, "Ctrl+D",
                                          "Open a FITS file, table or folder of cutouts")
        ex = f.addMenu("&Examples")
        self.example_actions = {}
        for name, title in EXAMPLE_NAMES:
            self.example_actions[name] = self._action(ex, title, lambda _=False, n=name: self.open_example(n))
        f.addSeparator()
        self.act_save = self._action(f, "&Save", self.save, QKeySequence.Save)
        self.act_save_as = self._action(f, "Save &As…", self.save_as, QKeySequence.SaveAs)
        self.act_export = self._action(f, "&Export Training Script…", self.export_script, "Ctrl+E",
                                       "Write a standalone Keras script that repeats this training")
        f.addSeparator()
        self.act_quit = self._action(f, "&Quit", self.close, QKeySequence.Quit)
        self.act_quit.setMenuRole(QAction.QuitRole)

        v = mb.addMenu("&View")
        self.panel_actions = []
        for i, key in enumerate(self.panel_keys):
            a = self._action(v, f"&{i + 1} {key.capitalize()}", lambda _=False, k=key: self.show_panel(k),
                             f"Ctrl+{i + 1}")
            self.panel_actions.append(a)
        v.addSeparator()
        theme = v.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for name in ("system", "light", "dark"):
            a = QAction(name.capitalize(), self, checkable=True)
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(a)
            theme.addAction(a)
            self.theme_actions[name] = a
        self.act_fullscreen = self._action(v, "&Full Screen", self.toggle_fullscreen, QKeySequence.FullScreen)
        v.addSeparator()
        self.act_reopen = QAction("&Reopen Last Project at Start", self, checkable=True)
        self.act_reopen.setStatusTip("Open the project used last when nnstudio starts")
        self.act_reopen.toggled.connect(lambda on: self.settings.setValue("reopen_last", bool(on)))
        v.addAction(self.act_reopen)

        h = mb.addMenu("&Help")
        self.lessons_menu = h.addMenu("&Lessons")
        self.lessons_menu.aboutToShow.connect(self._fill_lessons_menu)
        self._action(h, "&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_about = self._action(h, "&About nnstudio", self.show_about)
        self.act_about.setMenuRole(QAction.AboutRole)

    def _fill_lessons_menu(self) -> None:
        """One entry per lesson file (read when the menu opens, so an instructor's new file shows)."""
        from nnstudio.core.lessons import load_lessons
        from nnstudio.errors import NnstudioError

        self.lessons_menu.clear()
        try:
            lessons = load_lessons()
        except NnstudioError as exc:
            a = self.lessons_menu.addAction("A lesson file has an error…")
            a.triggered.connect(lambda _=False, m=str(exc): (self.panels["data"].messages.error("lesson", m),
                                                             self.show_panel("data")))
            return
        for lesson in lessons:
            self._action(self.lessons_menu, lesson.title, lambda _=False, i=lesson.id: self.start_lesson(i),
                         tip=lesson.summary)

    def start_lesson(self, lesson_id: str, fresh: bool = False):
        """Open a lesson beside the panels, on its own copy of its example (gui/lessons/dock.py)."""
        from nnstudio.gui.lessons.dock import start_lesson

        return start_lesson(self, lesson_id, fresh)

    # -- panels and state -----------------------------------------------------------------------
    def show_panel(self, key: str) -> None:
        self.show_workspace()
        self.sidebar.setCurrentRow(self.panel_keys.index(key))

    def show_start_page(self) -> None:
        """Recent projects, examples, lessons and "open your own data" in place of the panels."""
        from nnstudio.gui.start_page import StartPage

        if self.start_page is None:
            page = StartPage()
            page.open_path.connect(self.open_path)
            page.open_example.connect(self.open_example)
            page.start_lesson.connect(self.start_lesson)
            page.open_data.connect(self.open_data_dialog)
            page.open_project.connect(self.open_dialog)
            self.pages.addWidget(page)
            self.start_page = page
            # anything opened, or a message about trying to open it, brings the panels back
            for sig in (self.session.project_changed, self.session.dataset_changed, self.session.prepared_changed):
                sig.connect(self.show_workspace)
            data_messages = self.panels["data"].messages
            data_messages.changed.connect(lambda: self.show_workspace() if data_messages.keys() else None)
        self.start_page.set_recent(self.recent_files())
        self.start_page.set_examples(EXAMPLE_NAMES)
        self.start_page.set_lessons()
        self.pages.setCurrentWidget(self.start_page)

    def show_workspace(self, *_) -> None:
        self.pages.setCurrentWidget(self.workspace)

    def current_panel_key(self) -> str:
        return self.panel_keys[self.sidebar.currentRow()]

    def set_state(self, text: str) -> None:
        if not text and self.session is not None:
            text = "Ready" if self.session.tf_info else "Loading TensorFlow…"
        self.state_label.setText(text)

    def update_title(self) -> None:
        name = self.session.project.name if self.session else "untitled"
        self.setWindowTitle(f"nnstudio — {name}[*]")
        self.setWindowModified(bool(self.session and self.session.project.dirty))

    def _on_project_edited(self, what: str) -> None:
        self.update_title()

    # -- files --------------------------------------------------------------------------------
    def question_box(self, title: str, text: str, buttons=("Yes", "No"), default: str | None = None):
        """The question :meth:`ask` shows: Enter presses ``default`` (else the last button, which
        callers make the safe one), Escape the last button. Returns (box, {button: text})."""
        from nnstudio.gui.widgets.messages import plain_text

        box = QMessageBox(QMessageBox.Question, title, plain_text(text), parent=self)
        mapping = {}
        for b in buttons:
            mapping[box.addButton(b, QMessageBox.AcceptRole if b == buttons[0] else QMessageBox.RejectRole)] = b
        by_text = {t: btn for btn, t in mapping.items()}
        box.setDefaultButton(by_text.get(default or buttons[-1], by_text[buttons[-1]]))
        box.setEscapeButton(by_text[buttons[-1]])
        return box, mapping

    def ask(self, title: str, text: str, buttons=("Yes", "No"), default: str | None = None) -> str:
        """Ask a question; returns the chosen button's text. Tests replace this method."""
        box, mapping = self.question_box(title, text, buttons, default)
        box.exec()
        return mapping.get(box.clickedButton(), buttons[-1])

    def _confirm_discard(self) -> bool:
        """Save, discard or cancel the unsaved changes; Enter cancels (neither overwrites a good
        file with a state that may be broken nor throws work away)."""
        if not (self.session and self.session.project.dirty):
            return True
        project = self.session.project
        where = f" in {project.path.name}" if project.path else ""
        answer = self.ask("Unsaved changes", f"Save the changes to {project.name}{where}? Saving replaces "
                          "the file on disk; Discard loses the changes.", ("Save", "Discard", "Cancel"),
                          default="Cancel")
        if answer == "Save":
            return self.save()
        return answer == "Discard"

    def new_project(self) -> None:
        if self.session is None or not self._confirm_discard():
            return
        from nnstudio.core.project import Project

        self.session.set_project(Project())
        self.show_panel("data")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project or data", self._last_dir(),
            "Projects, data and models (*.nnproj *.keras *.fits *.fit *.fts *.fz *.gz *.csv *.ecsv *.vot *.xml *.hdf5 *.h5);;"
            "nnstudio projects (*.nnproj);;All files (*)")
        if path:
            self.open_path(path)

    def open_data_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open data", self._last_dir(),
            "Data (*.fits *.fit *.fts *.fz *.gz *.csv *.ecsv *.vot *.xml *.hdf5 *.h5);;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open a project (``.nnproj``), a data file or a folder of cutouts."""
        if self.session is None:
            self._pending_open = str(path)
            return True
        from nnstudio.core.project import Project
        from nnstudio.errors import NnstudioError

        p = Path(path)
        self.settings.setValue("last_dir", str(p.parent))
        if p.suffix == ".nnproj":
            if not self._confirm_discard():
                return False
            try:
                project = Project.load(p)
            except NnstudioError as exc:
                self.panels["data"].messages.error("open", str(exc))
                self.show_panel("data")
                return False
            self.session.set_project(project)
            self.add_recent(str(p))
            data_missing = project.data is not None and project.data.path and \
                not project.resolve(project.data.path).exists()
            for i, w in enumerate(project.warnings):
                actions = [("Locate…", self.locate_data_dialog)] if (data_missing and i == 0) else None
                self.panels["data"].messages.warning(f"project-{i}", w, actions=actions)
            self.set_state(f"Opened {p.name}")
            self.project_opened.emit(str(p))
            return True
        if not p.exists():
            self.panels["data"].messages.error("open", f"No such file or folder: {p}")
            return False
        if p.suffix == ".keras":
            self.show_panel("model")
            self.panels["model"].import_keras(str(p))
            return True
        if not self._data_may_replace(p):
            return False
        self.add_recent(str(p))
        self.show_panel("data")
        self.panels["data"].open_data(str(p))
        return True

    def _data_may_replace(self, path: Path) -> bool:
        """Opening data into a project with trained runs asks first: a new project (the default),
        or replace the data and keep the runs apart (a run whose inputs no longer fit is refused
        where it would be used)."""
        from nnstudio.core.project import Project

        project = self.session.project
        trained = [r for r in project.runs if r.model_path]
        if not trained:
            return True
        answer = self.ask(
            "Open data", f"{project.name} has {len(trained)} trained run{'s' if len(trained) != 1 else ''} on "
            f"its data. Open {path.name} in a new project, or replace this project's data? Replacing keeps "
            "the runs, but a model trained on other inputs cannot be used with the new data.",
            ("New Project", "Replace Data", "Cancel"), default="New Project")
        if answer == "New Project":
            if not self._confirm_discard():
                return False
            self.session.set_project(Project())
            return True
        return answer == "Replace Data"

    def locate_data_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Locate the data file", self._last_dir())
        if path:
            self.locate_data(path)

    def locate_data(self, path: str) -> None:
        """Point the project at a moved data file and load it."""
        from nnstudio.core.project import file_fingerprint

        project = self.session.project
        project.data.path = str(Path(path).absolute())
        project.data.fingerprint = file_fingerprint(path)
        project.warnings = []
        for key in list(self.panels["data"].messages.keys()):
            if key.startswith("project-"):
                self.panels["data"].messages.clear(key)
        project.mark_changed("data")
        self.panels["data"].load_project_data()

    def open_example(self, name: str) -> None:
        """Write an example into the user's example folder (once) and open its project."""
        from nnstudio.core.workflow import write_example_project
        from nnstudio.errors import NnstudioError

        if self.session is None or not self._confirm_discard():
            return
        base = Path(self.settings.value("examples_dir", str(Path.home() / "nnstudio-examples")))
        target = base / name / f"{name}.nnproj"
        if not target.exists():
            self.set_state(f"Writing the {name} example…")
            try:
                target = write_example_project(name, base / name)
            except NnstudioError as exc:
                self.panels["data"].messages.error("example", str(exc))
                return
        self.open_path(str(target))

    def save(self) -> bool:
        if self.session is None:
            return False
        if self.session.project.path is None:
            return self.save_as()
        return self._save_to(None)

    def choose_save_path(self, title: str = "Save project") -> str:
        """Where to save the project ("" when cancelled). Tests replace this method."""
        name = self.session.project.name if self.session else "untitled"
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self._last_dir()) / f"{name}.nnproj"),
                                              "nnstudio projects (*.nnproj)")
        return path

    def save_as(self, title: str = "Save project") -> bool:
        if self.session is None:
            return False
        path = self.choose_save_path(title)
        if not path:
            return False
        return self._save_to(path)

    def _save_to(self, path) -> bool:
        from nnstudio.errors import NnstudioError

        try:
            saved = self.session.project.save(path)
        except (NnstudioError, OSError) as exc:
            self.panels["data"].messages.error("save", f"Could not save: {exc}")
            return False
        self.add_recent(str(saved))
        self._discard_recovery()
        self.update_title()
        self.set_state(f"Saved {saved.name}")
        return True

    def export_script(self) -> None:
        from nnstudio.core.workflow import export_project_script
        from nnstudio.errors import NnstudioError

        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export training script", self._last_dir(),
                                              "Python scripts (*.py)")
        if not path:
            return
        try:
            export_project_script(self.session.project, Path(path))
        except NnstudioError as exc:
            self.panels["model"].messages.error("export", str(exc))
            return
        self.set_state(f"Wrote {Path(path).name}")

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    # -- recent files ------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        raw = self.settings.value("recent_files", "[]")
        try:
            items = json.loads(raw) if isinstance(raw, str) else list(raw or [])
        except (ValueError, TypeError):
            items = []
        return [str(x) for x in items][:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).absolute())
        items = [p for p in self.recent_files() if p != path]
        items.insert(0, path)
        self.settings.setValue("recent_files", json.dumps(items[:MAX_RECENT]))
        self._rebuild_recent_menu()

    @property
    def reopen_last(self) -> bool:
        return str(self.settings.value("reopen_last", True)).lower() not in ("false", "0")

    def _rebuild_recent_menu(self) -> None:
        from nnstudio.gui.recent import recent_labels

        self.recent_menu.clear()
        items = [p for p in self.recent_files() if Path(p).exists()]
        if len(items) != len(self.recent_files()):      # files gone: drop them for good
            self.settings.setValue("recent_files", json.dumps(items))
        labels = recent_labels(items)
        for p in items:
            a = QAction(labels[p], self)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, q=p: self.open_path(q))
            self.recent_menu.addAction(a)
        if items:
            self.recent_menu.addSeparator()
            clear = QAction("Clear List", self)
            clear.triggered.connect(lambda: (self.settings.setValue("recent_files", "[]"),
                                             self._rebuild_recent_menu()))
            self.recent_menu.addAction(clear)
        self.recent_menu.setEnabled(bool(items))

    # -- recovery ------------------------------------------------------------------------------
    def recovery_path(self) -> Path:
        from nnstudio.logs import state_dir

        return state_dir() / "recovery" / "autosave.nnproj"

    def autosave(self) -> None:
        """Every minute while there are unsaved changes: write a recovery copy."""
        if self.session is None or not self.session.project.dirty:
            return
        from nnstudio.core.files import atomic_write_text

        project = self.session.project
        try:
            d = project.to_dict()
            d["recovery_of"] = str(project.path) if project.path else None
            atomic_write_text(self.recovery_path(), json.dumps(d, indent=1))
        except (OSError, ValueError) as exc:
            log.warning("autosave failed: %s", exc)

    def _discard_recovery(self) -> None:
        try:
            self.recovery_path().unlink(missing_ok=True)
        except OSError:
            pass

    def _offer_recovery(self) -> bool:
        path = self.recovery_path()
        if not path.exists():
            return False
        self.panels["data"].messages.warning(
            "recovery", "nnstudio did not close cleanly last time. Recover the unsaved project?",
            actions=[("Recover", self.recover), ("Discard", self._dismiss_recovery)])
        return True

    def recover(self) -> bool:
        from nnstudio.core.project import Project
        from nnstudio.errors import NnstudioError

        path = self.recovery_path()
        self.panels["data"].messages.clear("recovery")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            original = d.pop("recovery_of", None)
            project = Project.from_dict(d, path=Path(original) if original else None)
        except (OSError, ValueError, NnstudioError) as exc:
            self.panels["data"].messages.error("recovery", f"The recovery file cannot be read: {exc}")
            return False
        project.dirty = True
        self.session.set_project(project)
        self.update_title()
        self.set_state("Recovered unsaved project")
        return True

    def _dismiss_recovery(self) -> None:
        self.panels["data"].messages.clear("recovery")
        self._discard_recovery()

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e):
        for url in e.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                e.acceptProposedAction()
                return

    # -- view ------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        from nnstudio.gui.theme import apply_theme

        apply_theme(name)
        self.settings.setValue("theme", name)
        self.theme_actions[name].setChecked(True)

    def toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def about_text(self) -> str:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        info = self.loader.info if (self.loader and self.loader.info) else None
        try:
            import astropy

            astropy_version = astropy.__version__
        except ImportError:
            astropy_version = "not installed"
        tf = info["tensorflow"] if info else "loading…"
        keras = info["keras"] if info else "loading…"
        device = info["device"] if info else "unknown until TensorFlow has loaded"
        return (f"<h3>nnstudio {__version__}</h3>"
                "<p>From your own data to a trained, honestly diagnosed neural network.</p>"
                f"<table><tr><td>TensorFlow</td><td>{tf}</td></tr>"
                f"<tr><td>Keras</td><td>{keras}</td></tr>"
                f"<tr><td>Qt / PySide6</td><td>{qVersion()} / {pyside_version}</td></tr>"
                f"<tr><td>astropy</td><td>{astropy_version}</td></tr>"
                f"<tr><td>Compute device</td><td>{device}</td></tr></table>")

    def show_about(self) -> QDialog:
        return self._info_dialog("About nnstudio", self.about_text())

    def show_shortcuts(self) -> QDialog:
        rows = []
        for a in self.findChildren(QAction):
            if not a.shortcut().isEmpty() and a.text():
                rows.append(f"<tr><td>{a.shortcut().toString(QKeySequence.NativeText)}</td>"
                            f"<td>{a.text().replace('&', '')}</td></tr>")
        return self._info_dialog("Keyboard shortcuts", "<table>" + "".join(sorted(set(rows))) + "</table>")

    def _info_dialog(self, title: str, html: str) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle(title)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        lay = QVBoxLayout(dlg)
        text = QTextBrowser()
        text.setHtml(html)
        text.setOpenExternalLinks(True)
        lay.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dlg.close)
        lay.addWidget(buttons)
        dlg.resize(440, 340)
        dlg.show()  # non-modal: never blocks a test or the app
        return dlg

    # -- settings and closing ---------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geom = self.settings.value("geometry")
        if isinstance(geom, (QByteArray, bytes)):
            self.restoreGeometry(QByteArray(geom))
        self.act_reopen.setChecked(self.reopen_last)
        theme = str(self.settings.value("theme", "system"))
        if theme in self.theme_actions:
            self.theme_actions[theme].setChecked(True)
        self._rebuild_recent_menu()

    def closeEvent(self, e):
        from nnstudio.gui.workers import active_jobs

        running = active_jobs()
        if running and self.ask("Work in progress", "Training or another job is still running. "
                                "Stop it and quit?", ("Stop and quit", "Cancel"), default="Cancel") != "Stop and quit":
            e.ignore()
            return
        # stop jobs first, so a stopped run is recorded before the save question
        for p in self.panels.values():
            p.shutdown()
        from nnstudio.gui.workers import cancel_all_and_wait

        cancel_all_and_wait(60_000)
        if not self._confirm_discard():
            e.ignore()
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self._autosave.stop()
        self._discard_recovery()
        e.accept()
