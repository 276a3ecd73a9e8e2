"""The Data panel: open a file, see what is in it, choose inputs and target, prepare splits.

Left: the source (file, HDU, labels, progress), the target and problem kind, the preparation settings
and what preparation made of them. Right: every column with its statistics (tick the inputs)
beside the selected column's histogram, and below them the rows and, for images, a grid of
thumbnails.

Loading and preparing run in one background job on a scratch copy of the project's data
selection. The session and the project change only when preparation succeeds, so a bad file or
setting leaves the data in use untouched. The job reports the HDU list and the first images before
the full read, and the data set as soon as it is read, so the preview comes up at once and stays
(for choosing a target or labels) even when preparation then refuses the data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.formatting import fmt_percent
from nnstudio.core.workflow.data import load_job
from nnstudio.errors import Cancelled, NnstudioError
from nnstudio.gui.panels.base import Panel
from nnstudio.gui.panels.data.balance import BalanceAdvice
from nnstudio.gui.panels.data.changes import describe_changes
from nnstudio.gui.panels.data.column_table import ColumnTable
from nnstudio.gui.panels.data.hdu_picker import HduPicker, is_votable
from nnstudio.gui.panels.data.histogram import ColumnHistogram
from nnstudio.gui.panels.data.table_model import ColumnTableModel
from nnstudio.gui.widgets.image_grid import ImageBrowser, caption_value

SPLIT_TITLES = {"train": "Train", "val": "Validation", "cal": "Calibration", "test": "Test"}
SPLIT_TIPS = {
    "train": "Fits the network and the scalers.",
    "val": "Early stopping and temperature scaling.",
    "cal": "Conformal intervals and sets; untouched by training. 0 turns conformal off.",
    "test": "Only for the reported figures.",
}
SCALERS = {"auto": "auto", "standard": "standardise", "minmax": "min–max to [0, 1]",
           "asinh": "asinh, then standardise", "none": "none"}
MISSING = {"drop": "drop those rows", "median": "impute the train median",
           "refuse": "refuse"}
MAX_GROUPS = 20              # class filter in the image grid up to this many distinct labels


def _copy(obj):
    return type(obj).from_dict(obj.to_dict())


class DataPanel(Panel):
    key = "data"
    title = "Data"
    requires = ()

    def build(self) -> QWidget:
        self.dataset = None          # the data set shown (read, maybe not prepared)
        self.stats: dict[str, dict] = {}
        self.selection = None        # the DataSelection that read self.dataset
        self.hdus: list[dict] | None = None
        self.label_columns: list[str] = []
        self._token = None           # the job whose reports are wanted
        self._pending: dict = {}     # that job's HDU list and label columns, until the file is read
        self._reading = False        # the job reads a file (not only prepares the shown data)
        self._problems: dict = {}       # inferred problem per target of the data set under key None
        self._dirty = False

        root = QSplitter(Qt.Horizontal)
        root.setChildrenCollapsible(False)
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(0, 0, 6, 0)
        col.addWidget(self._build_source())
        col.addWidget(self._build_target())
        col.addWidget(self._build_preparation())
        col.addWidget(self._build_result())
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(460)
        root.addWidget(scroll)
        for combo in left.findChildren(QComboBox):  # long items must not widen the column
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        root.addWidget(self._build_preview())
        root.setStretchFactor(0, 0)
        root.setStretchFactor(1, 1)
        root.setSizes([370, 800])
        self.session.project_changed.connect(self._on_project)
        self._show_dataset()
        self._load_spec(self.session.project.preparation)
        return root

    # -- building -------------------------------------------------------------------------------
    def _build_source(self) -> QGroupBox:
        box = QGroupBox("Source")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.file_label = QLabel("No data yet")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addWidget(self.file_label, 1)
        self.open_button = QPushButton("Open data…")
        self.open_button.setToolTip("A FITS file, a table (CSV, ECSV, VOTable) or a folder of "
                                    "FITS cutouts (Ctrl+D)")
        self.open_button.clicked.connect(lambda: self.window().open_data_dialog())
        row.addWidget(self.open_button, 0, Qt.AlignTop)
        lay.addLayout(row)
        self.kind_label = QLabel()
        self.kind_label.setWordWrap(True)
        lay.addWidget(self.kind_label)
        self.hdu_title = QLabel("HDUs in this file (click one to use it):")
        self.hdu_picker = HduPicker()
        self.hdu_picker.chosen.connect(self.choose_hdu)
        lay.addWidget(self.hdu_title)
        lay.addWidget(self.hdu_picker)

        self.labels_box = QWidget()
        form = QFormLayout(self.labels_box)
        form.setContentsMargins(0, 4, 0, 0)
        lrow = QHBoxLayout()
        self.labels_label = QLabel("none")
        # a long name is cut rather than wrapped (form rows do not grow for wrapped labels)
        self.labels_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        lrow.addWidget(self.labels_label, 1)
        self.labels_button = QPushButton("Choose…")
        self.labels_button.setToolTip("A table with one row per image (CSV, ECSV, VOTable, FITS)")
        self.labels_button.clicked.connect(self._choose_labels_dialog)
        lrow.addWidget(self.labels_button)
        self.labels_clear = QToolButton()
        self.labels_clear.setText("✕")
        self.labels_clear.setAutoRaise(True)
        self.labels_clear.setToolTip("Use no label table")
        self.labels_clear.clicked.connect(lambda: self.set_labels_path(None))
        lrow.addWidget(self.labels_clear)
        form.addRow("Labels:", lrow)
        self.labels_hdu_combo = QComboBox()
        self.labels_hdu_combo.setToolTip("A table HDU of this FITS file holding one row per image")
        self.labels_hdu_combo.currentIndexChanged.connect(self._on_labels_hdu)
        form.addRow("Label HDU:", self.labels_hdu_combo)
        self.id_combo = QComboBox()
        self.id_combo.setToolTip("Match images to label rows in order, or by an id column "
                                 "(image position in a cube, file name in a cutout folder)")
        self.id_combo.currentIndexChanged.connect(self._on_id_column)
        form.addRow("Match by:", self.id_combo)
        lay.addWidget(self.labels_box)

        prow = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading; the data in use stays as it was")
        self.cancel_button.clicked.connect(self.cancel)
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel_button)
        self.progress_row = QWidget()
        self.progress_row.setLayout(prow)
        prow.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.progress_row)
        self.progress_row.setVisible(False)
        return box

    def _build_target(self) -> QGroupBox:
        box = QGroupBox("Target and inputs")
        form = QFormLayout(box)
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("The column the network learns to predict")
        self.target_combo.currentIndexChanged.connect(self._on_target)
        form.addRow("Target:", self.target_combo)
        trow = QHBoxLayout()
        self.problem_combo = QComboBox()
        self.problem_combo.addItem("auto", None)
        self.problem_combo.addItem("classification", "classification")
        self.problem_combo.addItem("regression", "regression")
        self.problem_combo.setToolTip("auto: classification for text or few (≤ 20) integer values, "
                                   "regression otherwise")
        self.problem_combo.currentIndexChanged.connect(self._on_problem)
        trow.addWidget(self.problem_combo)
        self.inferred_label = QLabel()
        trow.addWidget(self.inferred_label, 1)
        form.addRow("Task:", trow)
        self.classes_label = QLabel("–")
        self.classes_label.setWordWrap(True)
        form.addRow("Classes:", self.classes_label)
        self.inputs_label = QLabel("–")
        self.inputs_label.setWordWrap(True)
        form.addRow("Inputs:", self.inputs_label)
        return box

    def _build_preparation(self) -> QGroupBox:
        box = QGroupBox("Preparation")
        lay = QVBoxLayout(box)
        grid = QGridLayout()
        self.fraction_spins: dict[str, QDoubleSpinBox] = {}
        for k, split in enumerate(SPLIT_TITLES):
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)
            spin.setToolTip(SPLIT_TIPS[split])
            spin.valueChanged.connect(self._on_fractions)
            label = QLabel(SPLIT_TITLES[split])
            label.setToolTip(SPLIT_TIPS[split])
            grid.addWidget(label, k // 2, (k % 2) * 2)
            grid.addWidget(spin, k // 2, (k % 2) * 2 + 1)
            self.fraction_spins[split] = spin
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        lay.addLayout(grid)
        self.sum_label = QLabel()
        lay.addWidget(self.sum_label)
        form = QFormLayout()
        srow = QHBoxLayout()
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split")
        self.seed_spin.valueChanged.connect(self._mark_dirty)
        srow.addWidget(self.seed_spin)
        self.stratify_check = QCheckBox("Stratify by class")
        self.stratify_check.setToolTip("Keep each class's share equal in every split "
                                       "(classification)")
        self.stratify_check.toggled.connect(self._mark_dirty)
        srow.addWidget(self.stratify_check)
        srow.addStretch(1)
        form.addRow("Seed:", srow)
        self.scaler_combo = QComboBox()
        for key, title in SCALERS.items():
            self.scaler_combo.addItem(title, key)
        self.scaler_combo.setToolTip("Fitted on the train split only and stored for prediction. "
                                     "auto: standardise tables; asinh, then standardise images")
        self.scaler_combo.currentIndexChanged.connect(self._mark_dirty)
        form.addRow("Scaling:", self.scaler_combo)
        self.missing_combo = QComboBox()
        for key, title in MISSING.items():
            self.missing_combo.addItem(title, key)
        self.missing_combo.setToolTip("Rows with missing (NaN) or infinite input values: drop "
                                      "them, fill in the train median, or stop with a message")
        self.missing_combo.currentIndexChanged.connect(self._mark_dirty)
        form.addRow("Missing values:", self.missing_combo)
        lay.addLayout(form)
        arow = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip("Prepare the data again with these choices")
        self.apply_button.clicked.connect(self.apply)
        arow.addWidget(self.apply_button)
        self.dirty_label = QLabel()
        arow.addWidget(self.dirty_label, 1)
        lay.addLayout(arow)
        return box

    def _build_result(self) -> QGroupBox:
        box = QGroupBox("Prepared data")
        lay = QVBoxLayout(box)
        self.summary = QLabel("Open a FITS file, a table (CSV, ECSV, VOTable) or a folder of "
                              "cutouts, or pick one of the examples in File ▸ Examples.")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.balance_table = QTableWidget(0, 4)
        self.balance_table.setHorizontalHeaderLabels(list(SPLIT_TITLES.values()))
        self.balance_table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.balance_table.setSelectionMode(QTableWidget.NoSelection)
        self.balance_table.setFocusPolicy(Qt.NoFocus)
        self.balance_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.balance_table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.balance_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.balance_table.setToolTip("Rows per class in each split")
        lay.addWidget(self.balance_table)
        self.balance_advice = BalanceAdvice(self.session)
        self.session.project_edited.connect(
            lambda what: self.balance_advice.refresh() if what == "training" else None)
        lay.addWidget(self.balance_advice)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.notes_label)
        return box

    def _build_preview(self) -> QWidget:
        right = QSplitter(Qt.Vertical)
        right.setChildrenCollapsible(False)
        top = QSplitter(Qt.Horizontal)
        top.setChildrenCollapsible(False)
        cbox = QWidget()
        cl = QVBoxLayout(cbox)
        cl.setContentsMargins(0, 0, 0, 0)
        self.columns_title = QLabel("<b>Columns</b>")
        cl.addWidget(self.columns_title)
        self.columns = ColumnTable()
        self.columns.inputs_changed.connect(self._on_inputs)
        self.columns.current_changed.connect(self.show_histogram)
        cl.addWidget(self.columns, 1)
        top.addWidget(cbox)
        self.histogram = ColumnHistogram()
        self.histogram.setMinimumWidth(220)
        top.addWidget(self.histogram)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([500, 250])
        right.addWidget(top)
        self.tabs = QTabWidget()
        self.browser = ImageBrowser()
        self.images_tab = self.tabs.addTab(self.browser, "Images")
        self.table_model = ColumnTableModel()
        self.table_view = QTableView()
        self.table_view.setModel(self.table_model)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.setWordWrap(False)
        self.table_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table_view.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.table_view.horizontalHeader().setDefaultSectionSize(110)
        self.rows_tab = self.tabs.addTab(self.table_view, "Rows")
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        right.setSizes([250, 480])
        return right

    # -- entry points (window, menus, other panels) ----------------------------------------------
    def _on_project(self) -> None:
        """A different project: forget the old data and load the new project's."""
        self._token = None
        if self.job is not None and self.job.running:
            self.job.cancel()
        self.dataset, self.stats, self.selection, self.hdus = None, {}, None, None
        self.label_columns = []
        for key in ("error", "fractions", "job"):
            self.messages.clear(key)
        self._load_spec(self.session.project.preparation)
        self._show_dataset()
        self._show_prepared(None)
        if self.session.project.data is not None and self.session.project.data.path:
            self.load_project_data()

    def load_project_data(self) -> None:
        """Read and prepare the project's data in the background."""
        project = self.session.project
        if project.data is None:
            return
        self._start(project.data, project.preparation, user=False)

    def open_data(self, path: str) -> None:
        """Start a new data selection from a file or folder and prepare it; the project takes it
        when preparation succeeds."""
        from nnstudio.core.data.spec import DataSelection

        spec = _copy(self.session.project.preparation)
        spec.fitted = None
        self._start(DataSelection(path=str(Path(path).absolute())), spec, user=True)

    def apply(self) -> None:
        """Prepare the shown data again with the panel's choices."""
        if self.dataset is None:
            self.messages.error("error", "Open a data file first (File ▸ Open data…).")
            return
        spec = self.spec_from_widgets()
        if spec is None:
            return
        sel = self.selection_from_widgets()
        if sel is None:
            return
        self._start(sel, spec, user=True, dataset=self.dataset)

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.progress.setFormat("Cancelling…")

    # -- source choices (each reads the file again) -----------------------------------------------
    def choose_hdu(self, index: int) -> None:
        if self.selection is None or (self.dataset is not None and self.dataset.hdu == index):
            return
        sel = self._fresh_selection()
        sel.hdu = int(index)
        kind = next((h["kind"] for h in self.hdus or [] if h["index"] == index), None)
        if kind == "table" or (sel.labels_hdu is not None and int(sel.labels_hdu) == index):
            # labels belong to images: a table HDU brings its own columns
            sel.labels_path, sel.labels_hdu, sel.id_column = None, None, None
        self._reload(sel)

    def set_labels_path(self, path: str | None) -> None:
        if self.selection is None:
            return
        sel = self._fresh_selection()
        sel.labels_path = str(Path(path).absolute()) if path else None
        sel.labels_hdu = None
        sel.id_column = None
        self._reload(sel)

    def set_labels_hdu(self, index: int | None) -> None:
        if self.selection is None:
            return
        sel = self._fresh_selection()
        sel.labels_hdu = index
        if index is not None:
            sel.labels_path = None
        sel.id_column = None
        self._reload(sel)

    def set_id_column(self, name: str | None) -> None:
        if self.selection is None:
            return
        sel = self._fresh_selection()
        sel.id_column = name
        self._reload(sel)

    def _choose_labels_dialog(self) -> None:
        start = str(Path(self.selection.path).parent) if self.selection and self.selection.path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Label table", start,
            "Tables (*.csv *.ecsv *.vot *.xml *.fits *.fit *.hdf5 *.h5 *.txt *.tsv);;All files (*)")
        if path:
            self.set_labels_path(path)

    def _on_labels_hdu(self, _i) -> None:
        self.set_labels_hdu(self.labels_hdu_combo.currentData())

    def _on_id_column(self, _i) -> None:
        self.set_id_column(self.id_combo.currentData())

    def _fresh_selection(self):
        """The shown selection with what depends on the columns (target, inputs, problem) reset."""
        sel = _copy(self.selection)
        sel.target, sel.inputs, sel.problem, sel.class_names = None, [], None, None
        return sel

    def _reload(self, sel) -> None:
        spec = self.spec_from_widgets(quiet=True) or _copy(self.session.project.preparation)
        spec.fitted = None
        self._start(sel, spec, user=True)

    # -- the job ------------------------------------------------------------------------------------
    def _start(self, selection, spec, user: bool, dataset=None) -> None:
        from nnstudio.core.project import Project

        project = self.session.project
        scratch = Project(name=project.name, path=project.path)
        scratch.data = _copy(selection)
        scratch.preparation = _copy(spec)
        token = object()
        self._token = token
        self._pending = {}
        self._reading = dataset is None
        self.messages.clear("error")
        self.messages.clear("job")
        what = "Preparing data…" if dataset is not None else "Loading data…"
        self.status.emit(what)
        job = self.start_job(load_job, scratch, dataset, name="load data",
                             on_done=lambda r: self._on_done(r, scratch, token, user),
                             on_error=lambda e: self._on_error(e, token))
        job.partial.connect(lambda obj: self._on_partial(obj, token, scratch))
        job.progress.connect(lambda d, t, text: self._on_progress(d, t, text, token))
        job.finished.connect(lambda: self._on_finished(token))
        self.progress.setRange(0, 0)
        self.progress.setFormat(what)
        self.progress_row.setVisible(True)
        self.apply_button.setEnabled(False)

    def _on_progress(self, done, total, text, token) -> None:
        if token is not self._token:
            return
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))
        else:
            self.progress.setRange(0, 0)
        if text:
            self.progress.setFormat(text)

    def _on_partial(self, obj, token, scratch) -> None:
        if token is not self._token:
            return
        kind = obj[0]
        if kind in ("hdus", "label_columns"):  # kept aside until the file is read
            self._pending[kind] = obj[1]
        elif kind == "preview":
            images, total = obj[1], obj[2]
            self.browser.set_images(images, total=total)
            self.tabs.setTabVisible(self.images_tab, True)
            self.tabs.setCurrentIndex(self.images_tab)
            self.kind_label.setText(f"Reading {total} images…")
        elif kind == "dataset":
            self._pending["dataset"] = True
            self.dataset, self.stats, self.selection = obj[1], obj[2], obj[3]
            self.hdus = self._pending.get("hdus") or obj[1].parts   # a VOTable's tables too
            self.label_columns = self._pending.get("label_columns", [])
            self._show_dataset()

    def _on_done(self, result, scratch, token, user: bool) -> None:
        if token is not self._token:
            return
        dataset, prepared = result
        project = self.session.project
        before, before_spec = self.session.prepared, project.preparation
        before_data = project.data.to_dict() if project.data is not None else None
        data = scratch.data
        # absolute paths: right whatever the project file's place is now (a save relativises them)
        data.path = str(scratch.resolve(data.path))
        if data.labels_path:
            data.labels_path = str(scratch.resolve(data.labels_path))
        project.data = data
        project.preparation = scratch.preparation
        self.dataset = dataset
        self.selection = _copy(data)
        self.session.set_dataset(dataset)
        self.session.set_prepared(prepared)
        self.session.model_changed.emit()
        if user:
            project.mark_changed("data")
        if user and before is not None:
            self.messages.info("applied", describe_changes(before, prepared, before_spec, project.preparation)
                               + self._forget_stale_threshold(before_data, data))
        self.messages.clear("fractions")
        self._show_dataset()
        self._load_spec(project.preparation)
        self._show_prepared(prepared)
        self.status.emit("")

    def _on_error(self, exc, token) -> None:
        if token is not self._token:
            return
        if isinstance(exc, Cancelled):
            self.messages.info("error", "Loading cancelled. The data in use is unchanged.")
        else:
            self.show_error(exc)
        if self._reading and "dataset" not in self._pending:
            # the file could not be read: back to the data shown before (thumbnails, HDU, labels)
            self._show_dataset()
        # otherwise the new data or the person's unapplied choices stay on screen to be fixed

    def _on_finished(self, token) -> None:
        if token is not self._token:
            return
        self.progress_row.setVisible(False)
        self._set_dirty(self._dirty)

    # -- reading the widgets ------------------------------------------------------------------------
    def _forget_stale_threshold(self, before: dict | None, data) -> str:
        """A decision threshold was chosen on the samples of the data it came with: other data
        (another file, target or label table) starts again from the most probable class."""
        from nnstudio.core.project import DecisionRule

        project = self.session.project
        keys = ("path", "hdu", "labels_path", "labels_hdu", "target")
        if (not project.decision.uses_threshold or before is None
                or all(before.get(k) == data.to_dict().get(k) for k in keys)):
            return ""
        project.decision = DecisionRule()
        project.mark_changed("decision")
        return " The decision threshold was chosen on the previous data, so it is reset."

    def fractions(self) -> dict[str, float]:
        return {s: round(spin.value(), 4) for s, spin in self.fraction_spins.items()}

    def spec_from_widgets(self, quiet: bool = False):
        """The preparation settings on screen, or None (with a message) when they are invalid."""
        from nnstudio.core.data.spec import PreparationSpec

        fr = self.fractions()
        total = sum(fr.values())
        problem = None
        if abs(total - 1.0) > 1e-6:
            problem = (f"The split fractions add up to {total:.2f}; they must add up to 1 "
                       f"(train + validation + calibration + test).")
        elif fr["train"] <= 0 or fr["test"] <= 0:
            problem = "The train and test fractions must be above zero."
        if problem is None:
            base = self.session.project.preparation
            try:
                spec = PreparationSpec(fractions=fr, seed=self.seed_spin.value(),
                                       stratify=self.stratify_check.isChecked(),
                                       scaler=self.scaler_combo.currentData(),
                                       missing=self.missing_combo.currentData(),
                                       scale_target=base.scale_target)
            except ValueError as exc:
                problem = f"The preparation settings are not valid: {exc}."
        if problem is not None:
            if not quiet:
                self.messages.error("fractions", problem)
            return None
        self.messages.clear("fractions")
        return spec

    def selection_from_widgets(self):
        """The shown selection with the target, problem and inputs on screen, or None."""
        sel = _copy(self.selection)
        target = self.target_combo.currentText() or None
        problem = self.problem_combo.currentData()
        effective = problem or self._inferred_problem(target)
        if target != sel.target or effective != sel.problem:
            sel.class_names = None
        sel.target, sel.problem = target, problem
        if self.dataset is not None and self.dataset.kind == "table":
            inputs = self.columns.inputs()
            if not inputs:
                self.messages.error("error", "Tick at least one input column (in the Columns "
                                             "list).")
                return None
            sel.inputs = inputs
        return sel

    def _inferred_problem(self, target: str | None) -> str | None:
        from nnstudio.core.data.prepare import infer_problem

        if self.dataset is None or not target or target not in self.dataset.columns:
            return None
        if self._problems.get(None) is not self.dataset:
            self._problems = {None: self.dataset}
        if target not in self._problems:  # np.unique over the column: once per target
            try:
                self._problems[target] = infer_problem(self.dataset.columns[target])
            except NnstudioError:
                self._problems[target] = None
        return self._problems[target]

    # -- edits ----------------------------------------------------------------------------------------
    def _on_target(self, _i=None) -> None:
        target = self.target_combo.currentText()
        self.columns.set_target(target)
        self.problem_combo.blockSignals(True)
        self.problem_combo.setCurrentIndex(0)  # a new target: infer its problem again
        self.problem_combo.blockSignals(False)
        self._update_inferred()
        self._update_inputs_label()
        self._update_captions()
        self._mark_dirty()

    def _on_problem(self, _i=None) -> None:
        self._update_inferred()
        self._mark_dirty()

    def _on_inputs(self) -> None:
        self._update_inputs_label()
        self._mark_dirty()

    def _on_fractions(self, *_):
        fr = self.fractions()
        total = sum(fr.values())
        ok = abs(total - 1.0) <= 1e-6
        self.sum_label.setText(f"Sum: {total:.2f}" + ("" if ok else "  — must be 1"))
        self.sum_label.setStyleSheet("" if ok else "color: rgb(220, 53, 69); font-weight: bold;")
        if ok:
            self.messages.clear("fractions")
        else:
            self.spec_from_widgets()  # shows the message
        self._mark_dirty()

    def _mark_dirty(self, *_):
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty and self.dataset is not None
        busy = self.job is not None and self.job.running and self._token is not None
        self.apply_button.setEnabled(self.dataset is not None and not busy)
        if self._dirty:
            text = "Changed: Apply to prepare again."
        elif self.dataset is not None and self.dataset is not self.session.dataset and not busy:
            text = "Not prepared yet: fix the choices, then Apply."
        else:
            text = ""
        self.dirty_label.setText(text)

    # -- showing -------------------------------------------------------------------------------------
    def _load_spec(self, spec) -> None:
        widgets = list(self.fraction_spins.values()) + [self.seed_spin, self.stratify_check,
                                                        self.scaler_combo, self.missing_combo]
        for w in widgets:
            w.blockSignals(True)
        for s, spin in self.fraction_spins.items():
            spin.setValue(float(spec.fractions.get(s, 0.0)))
        self.seed_spin.setValue(int(spec.seed))
        self.stratify_check.setChecked(bool(spec.stratify))
        self.scaler_combo.setCurrentIndex(max(0, self.scaler_combo.findData(spec.scaler)))
        self.missing_combo.setCurrentIndex(max(0, self.missing_combo.findData(spec.missing)))
        for w in widgets:
            w.blockSignals(False)
        self._on_fractions()
        self._set_dirty(False)

    def _show_dataset(self) -> None:
        """Source, target, columns and previews from ``self.dataset`` and ``self.selection``."""
        from nnstudio.core.data.prepare import default_target, is_id_name

        ds, sel = self.dataset, self.selection
        has = ds is not None
        for w in (self.target_combo, self.problem_combo):
            w.setEnabled(has)
        if not has:
            self.file_label.setText("No data yet")
            self.kind_label.setText("")
            for w in (self.hdu_title, self.hdu_picker, self.labels_box):
                w.setVisible(False)
            self.target_combo.clear()
            self.columns.set_columns({}, [], [], None)
            self.columns_title.setText("<b>Columns</b>")
            self.histogram.clear()
            self.table_model.set_columns(None)
            self.browser.set_images(None)
            self.tabs.setTabVisible(self.images_tab, False)
            self.inputs_label.setText("–")
            self.inferred_label.setText("")
            self._set_dirty(False)
            return
        path = Path(sel.path)
        self.file_label.setText(f"<b>{path.name}</b>")
        self.file_label.setToolTip(str(path))
        self.kind_label.setText(self._describe_dataset(ds))
        # HDUs (multi-extension FITS)
        fits_file = self.hdus is not None and ds.hdu is not None
        many = fits_file and len(self.hdus) > 1
        self.hdu_title.setVisible(many)
        self.hdu_picker.setVisible(many)
        if many:
            self.hdu_title.setText(f"{'Tables' if is_votable(self.hdus) else 'HDUs'} in this file "
                                   f"(click one to use it):")
            self.hdu_picker.set_hdus(self.hdus, ds.hdu)
        # labels (images)
        images = ds.kind == "images"
        self.labels_box.setVisible(images)
        if images:
            self._show_labels(ds, sel, fits_file)
        # target and inputs
        candidates = [c for c in ds.columns if not (images and c == "file")]
        target = sel.target if sel.target in candidates else None
        if target is None and candidates:
            try:
                target = default_target({c: ds.columns[c] for c in candidates},
                                        (sel.id_column,))
            except NnstudioError:
                target = candidates[-1]
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(candidates)
        if target:
            self.target_combo.setCurrentText(target)
        self.target_combo.blockSignals(False)
        usable = [] if images else ds.numeric_columns()
        checked = list(sel.inputs) if sel.inputs else \
            [c for c in usable if c not in (target, sel.id_column) and not is_id_name(c)]
        self.columns.set_columns(self.stats, usable, checked, target, checkable=not images)
        self.columns_title.setText(
            f"<b>Labels</b> — {len(ds.columns)} column(s) beside the images" if images else
            "<b>Columns</b> — tick the inputs; click a row for its distribution")
        inferred = self._inferred_problem(target)
        problem = sel.problem if sel.problem != inferred else None
        self.problem_combo.blockSignals(True)
        self.problem_combo.setCurrentIndex(max(0, self.problem_combo.findData(problem)))
        self.problem_combo.blockSignals(False)
        self._update_inferred()
        self._update_inputs_label()
        # previews
        self.table_model.set_columns(ds.columns)
        self._size_table_columns()
        self.tabs.setTabText(self.rows_tab, f"Rows ({ds.n_rows})")
        self.tabs.setTabVisible(self.images_tab, images and ds.images is not None)
        if images and ds.images is not None:
            self._update_captions()
            self.tabs.setCurrentIndex(self.images_tab)
        else:
            self.browser.set_images(None)
            self.tabs.setCurrentIndex(self.rows_tab)
        first = (checked[0] if checked else target) if not images else target
        if first in ds.columns:
            self.columns.select_column(first)
            self.show_histogram(first)
        self._set_dirty(False)

    def _describe_dataset(self, ds) -> str:
        part = "table" if is_votable(self.hdus or []) else "HDU"
        where = f" ({part} {ds.hdu})" if ds.hdu is not None else ""
        if ds.kind == "images":
            shape = "×".join(str(d) for d in ds.image_shape) if ds.image_shape else "?"
            return f"{ds.n_rows} images of {shape}{where}"
        return f"Table of {ds.n_rows} rows × {len(ds.columns)} columns{where}"

    def _show_labels(self, ds, sel, fits_file: bool) -> None:
        tables = [h for h in (self.hdus or []) if h["kind"] == "table"]
        if sel.labels_path:
            text, tip = Path(sel.labels_path).name, str(sel.labels_path)
        elif sel.labels_hdu is not None:
            text, tip = f"HDU {sel.labels_hdu} of this file", ""
        elif ds.image_ids is not None and "label" in ds.columns:
            text, tip = "sub-folder names", "Each cutout's class is the name of its sub-folder"
        elif ds.columns:
            same = [h for h in tables if h["shape"] == [ds.n_rows]]
            name = f"HDU {same[0]['index']} {same[0]['name']}".strip() if len(same) == 1 \
                else "a table HDU"
            text, tip = f"{name} (auto)", "The one table HDU with a row for every image"
        else:
            text = "<i>none: choose a table</i>"
            tip = "The images need labels: a table with a row per image"
        self.labels_label.setText(text)
        self.labels_label.setToolTip(tip)
        self.labels_clear.setVisible(bool(sel.labels_path))
        self.labels_hdu_combo.blockSignals(True)
        self.id_combo.blockSignals(True)
        self.labels_hdu_combo.clear()
        self.labels_hdu_combo.addItem("automatic", None)
        for h in tables:
            self.labels_hdu_combo.addItem(f"{h['index']} {h['name']} ({h['shape'][0]} rows)",
                                          h["index"])
        self.labels_hdu_combo.setCurrentIndex(max(0, self.labels_hdu_combo.findData(sel.labels_hdu)))
        form = self.labels_box.layout()
        form.setRowVisible(self.labels_hdu_combo, fits_file and bool(tables))
        if sel.labels_path:
            names = self.label_columns
        elif sel.labels_hdu is not None:
            names = next((h["columns"] for h in tables if h["index"] == sel.labels_hdu), [])
        else:
            names = [c for c in ds.columns if c != "file"]
        self.id_combo.clear()
        self.id_combo.addItem("row order", None)
        for n in names:
            self.id_combo.addItem(f"column {n}", n)
        self.id_combo.setCurrentIndex(max(0, self.id_combo.findData(sel.id_column)))
        self.labels_hdu_combo.blockSignals(False)
        self.id_combo.blockSignals(False)

    def _size_table_columns(self) -> None:
        fm = self.table_view.fontMetrics()
        for c, name in enumerate(self.table_model.names):
            self.table_view.setColumnWidth(c, max(80, min(260, fm.horizontalAdvance(name) + 28)))

    def _update_inferred(self) -> None:
        inferred = self._inferred_problem(self.target_combo.currentText())
        if self.problem_combo.currentData() is None and inferred:
            self.inferred_label.setText(f"→ {inferred}")
        elif inferred and self.problem_combo.currentData() != inferred:
            self.inferred_label.setText(f"(auto would be {inferred})")
        else:
            self.inferred_label.setText("")
        self.stratify_check.setEnabled(
            (self.problem_combo.currentData() or inferred) == "classification")

    def _update_inputs_label(self) -> None:
        ds = self.dataset
        if ds is None:
            self.inputs_label.setText("–")
        elif ds.kind == "images":
            shape = "×".join(str(d) for d in ds.image_shape) if ds.image_shape else "?"
            self.inputs_label.setText(f"the images ({shape} pixels)")
        else:
            n = len(self.columns.inputs())
            self.inputs_label.setText(f"{n} column(s) ticked in the Columns list")

    def _update_captions(self) -> None:
        ds = self.dataset
        if ds is None or ds.kind != "images" or ds.images is None:
            return
        target = self.target_combo.currentText()
        values = ds.columns.get(target) if target else None
        groups = None
        if values is not None and values.ndim == 1:
            labels = values.astype(str) if values.dtype.kind in "US" else values
            uniq, inverse = np.unique(labels, return_inverse=True)
            if uniq.size <= MAX_GROUPS:  # one caption per distinct value, spread to the rows
                groups = np.asarray([caption_value(v) for v in uniq.tolist()])[inverse]

            def caption(row: int) -> str:
                return f"#{row} · {caption_value(values[row])}"
        else:
            def caption(row: int) -> str:
                return f"#{row}"
        self.browser.set_images(ds.images, caption, groups)

    def show_histogram(self, name: str) -> None:
        if self.dataset is not None and name in self.dataset.columns:
            self.histogram.set_column(name, self.dataset.columns[name])

    def _show_prepared(self, prepared) -> None:
        from nnstudio.core.data.prepare import class_balance

        if prepared is None:
            self.summary.setText("Open a FITS file, a table (CSV, ECSV, VOTable) or a folder of "
                                 "cutouts, or pick one of the examples in File ▸ Examples.")
            self.balance_table.setRowCount(0)
            self.balance_table.setVisible(False)
            self.balance_advice.show_counts(None)
            self.notes_label.setText("")
            self.classes_label.setText("–")
            return
        self.summary.setText(self.describe(prepared))
        if prepared.problem == "classification" and prepared.class_names:
            names = prepared.class_names
            self.classes_label.setText(f"{len(names)}: {', '.join(names)}")
        else:
            self.classes_label.setText(f"none (regression of {prepared.target_name})")
        balance = class_balance(prepared)
        rows = list(next(iter(balance.values())))
        t = self.balance_table
        t.setRowCount(len(rows))
        t.setVerticalHeaderLabels(rows)
        for c, split in enumerate(SPLIT_TITLES):
            n_split = sum(balance[split].values())
            for r, name in enumerate(rows):
                n = balance[split][name]
                text = f"{n}" if len(rows) == 1 or not n_split else f"{n} ({fmt_percent(n / n_split, 0)})"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(r, c, item)
        t.resizeRowsToContents()
        t.setFixedHeight(t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(len(rows)))
                         + 2 * t.frameWidth())
        t.setVisible(True)
        self.balance_advice.show_counts(balance["train"] if prepared.problem == "classification" else None)
        notes = list(prepared.notes) + [n for n in (self.dataset.notes if self.dataset else [])
                                        if n not in prepared.notes]
        self.notes_label.setText("\n".join(f"• {n}" for n in notes) if notes else
                                 "No rows were dropped or changed.")

    @staticmethod
    def describe(prepared) -> str:
        counts = ", ".join(f"{s} {prepared.count(s)}" for s in ("train", "val", "cal", "test"))
        shape = "×".join(str(d) for d in prepared.input_shape)
        what = (f"{prepared.n_classes} classes ({', '.join(prepared.class_names)})"
                if prepared.problem == "classification" else f"regression of {prepared.target_name}")
        return f"{prepared.kind}: inputs {shape}, {what}; {counts}."


def _preview() -> None:  # pragma: no cover - manual look
    import sys
    import tempfile

    from nnstudio.gui.preview import preview_application
    from nnstudio.gui.session import Session

    app = preview_application()
    rng = np.random.default_rng(0)
    n = 2000
    folder = Path(tempfile.mkdtemp())
    lum = rng.normal(10, 0.5, n)
    colour = rng.normal(0.6, 0.2, n)
    mass = lum + 0.8 * colour + rng.normal(0, 0.1, n)
    lines = ["id,log_luminosity,g_r,log_mass"] + [f"{i},{a:.4f},{b:.4f},{c:.4f}"
                                                  for i, (a, b, c) in enumerate(zip(lum, colour, mass))]
    (folder / "galaxies.csv").write_text("\n".join(lines) + "\n")
    session = Session()
    panel = DataPanel(session)
    panel.resize(1200, 800)
    panel.show()
    panel.open_data(str(folder / "galaxies.csv"))
    sys.exit(app.exec())


if __name__ == "__main__":
    _preview()
