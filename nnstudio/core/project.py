"""Project: one versioned JSON file ``NAME.nnproj`` plus a folder ``NAME/`` beside it.

The file holds the data selection (paths relative to the file), preparation settings (with the
fitted scalers), the model spec, training and uncertainty settings and the run records; the folder
holds the saved models and run files, and ``experiments.json``: what a run record has no field
for (hidden runs, repeat groups, test figures, the ensemble). Saves are atomic. Older format versions are upgraded step by
step on load; a newer one is refused with a message.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sys
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from psygnal import Signal

from nnstudio import __version__
from nnstudio.core.data.spec import DataSelection, PreparationSpec
from nnstudio.core.files import atomic_write_json, atomic_write_text
from nnstudio.core.training.config import RunRecord, TrainConfig
from nnstudio.errors import NnstudioError

FORMAT = "nnstudio-project"
FORMAT_VERSION = 7
SUFFIX = ".nnproj"

STORE_NAME = "experiments.json"
STORE_FORMAT = "nnstudio-experiments"
_RUN_ID_LOCK = threading.Lock()

# from_version -> function(dict) -> dict of from_version + 1. Add one for every format change and keep
# a fixture of the old format in tests/core/projects/.
UPGRADES: dict[int, callable] = {}


def _v1_problem_key(d: dict) -> dict:
    """Format 2 names classification/regression ``data.problem`` (``task`` is the progress object)."""
    data = d.get("data")
    if isinstance(data, dict) and "task" in data:
        data = dict(data)
        data["problem"] = data.pop("task")
        d["data"] = data
    return d


def _v2_decision(d: dict) -> dict:
    """Format 3 keeps the classifier's decision rule (positive class, threshold) in the project."""
    d.setdefault("decision", DecisionRule().to_dict())
    return d


def _v3_physics(d: dict) -> dict:
    """Format 4 keeps a physical formula to fit beside the network."""
    d.setdefault("physics", PhysicsSettings().to_dict())
    return d


def _v4_residual(d: dict) -> dict:
    """Format 5 lets a run learn what the formula misses (``training.residual``)."""
    if isinstance(d.get("training"), dict):
        d["training"] = {**d["training"], "residual": d["training"].get("residual", False)}
    return d


def _v5_augmentation(d: dict) -> dict:
    """Format 6 chooses augmentation and class weights (``auto``: sky symmetries for square images,
    balanced weights past 5:1)."""
    if isinstance(d.get("training"), dict):
        d["training"] = {"augmentation": "auto", "class_weight": "auto", **d["training"]}
    return d


def _v6_schedule(d: dict) -> dict:
    """Format 7 chooses the learning-rate schedule (``auto``: warm-up and cosine decay for images,
    constant for tables)."""
    if isinstance(d.get("training"), dict):
        d["training"] = {"schedule": "auto", **d["training"]}
    return d


UPGRADES[1] = _v1_problem_key
UPGRADES[2] = _v2_decision
UPGRADES[3] = _v3_physics
UPGRADES[4] = _v4_residual
UPGRADES[5] = _v5_augmentation
UPGRADES[6] = _v6_schedule


@dataclass
class UncertaintySettings:
    method: str = "auto"            # auto | mc_dropout | ensemble | heteroscedastic | none
    mc_samples: int = 50
    ensemble_size: int = 5
    conformal_level: float = 0.9    # target coverage of conformal intervals / sets
    temperature_scaling: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "UncertaintySettings":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class DecisionRule:
    """How a classifier's probabilities become one class, shared by every view, the report and
    predictions: with ``threshold`` set, ``positive`` is predicted when its probability is at least
    the threshold (otherwise the most probable other class); without, the most probable class."""
    positive: int | None = None
    threshold: float | None = None
    split: str | None = None        # where it was chosen (a threshold chosen on test is flagged)

    def __post_init__(self):
        if self.threshold is not None:
            t = float(self.threshold)
            if not 0.0 <= t <= 1.0:
                raise NnstudioError(f"The decision threshold must be between 0 and 1, not {t}.")
            self.threshold = t
            if self.positive is None:
                self.positive = 1
        if self.positive is not None and (not isinstance(self.positive, int) or self.positive < 0):
            raise NnstudioError(f"The positive class must be a class index, not {self.positive!r}.")

    @property
    def uses_threshold(self) -> bool:
        return self.threshold is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "DecisionRule":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class PhysicsSettings:
    """A physical formula over the input columns (``a * luminosity**b``), fitted on the training
    split and shown beside the network; None: no formula."""
    formula: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "PhysicsSettings":
        formula = (d or {}).get("formula")
        if formula is not None and not isinstance(formula, str):
            raise NnstudioError("The project's physics formula must be text.")
        return cls(formula=formula or None)


def file_fingerprint(path: str | Path) -> dict:
    """Size and SHA-256 of a file (or of the file list of a folder), to notice changed data."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        size = 0
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            st = f.stat()
            size += st.st_size
            h.update(f"{f.relative_to(p)}:{st.st_size}\n".encode())
        return {"size": size, "sha256": h.hexdigest()}
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"size": p.stat().st_size, "sha256": h.hexdigest()}



class Project:
    """The scientific state of a session. Emits ``changed(what)`` on every edit."""

    changed = Signal(str)

    def __init__(self, name: str = "untitled", path: Path | None = None):
        self.name = name
        self.path: Path | None = Path(path) if path else None
        self.data: DataSelection | None = None
        self.preparation = PreparationSpec()
        self.model = None                  # ModelSpec | None
        self.training = TrainConfig()
        self.uncertainty = UncertaintySettings()
        self.decision = DecisionRule()
        self.physics = PhysicsSettings()
        self.runs: list[RunRecord] = []
        self.active_run: str | None = None
        self.dirty = False
        self.warnings: list[str] = []      # e.g. "the data file changed since the project was saved"

    # -- state ------------------------------------------------------------------------------
    @property
    def folder(self) -> Path | None:
        """``NAME/`` beside ``NAME.nnproj``; None for an unsaved project."""
        return self.path.with_suffix("") if self.path else None

    def mark_changed(self, what: str) -> None:
        self.dirty = True
        self.changed.emit(what)

    def run(self, run_id: str | None = None) -> RunRecord | None:
        run_id = run_id or self.active_run
        for r in self.runs:
            if r.id == run_id:
                return r
        return self.runs[-1] if (run_id is None and self.runs) else None

    def next_run_id(self, taken=frozenset()) -> str:
        """A run id used neither by the project nor by a folder left on disk (e.g. by a crash)."""
        used = {r.id for r in self.runs} | set(taken)
        i = len(self.runs) + 1
        while True:
            rid = f"run-{i:04d}"
            if rid not in used and not (self.folder is not None and self.run_dir(rid).exists()):
                return rid
            i += 1

    def allocate_run_id(self) -> str:
        """Reserve a new run id by creating its folder, so two jobs started at once (threads of
        this process, or other processes) never get the same id."""
        taken: set[str] = set()
        with _RUN_ID_LOCK:
            while True:
                rid = self.next_run_id(taken)
                try:
                    self.run_dir(rid).mkdir(parents=True, exist_ok=False)
                    return rid
                except FileExistsError:
                    taken.add(rid)

    def add_run(self, record: RunRecord) -> None:
        self.runs.append(record)
        self.active_run = record.id
        self.mark_changed("runs")

    def resolve(self, p: str | None) -> Path | None:
        """A path stored in the project, made absolute against the project file's folder."""
        if p is None:
            return None
        q = Path(p)
        if not q.is_absolute() and self.path is not None:
            q = Path(os.path.normpath(self.path.parent / q))
        return q

    def resolved_selection(self) -> DataSelection:
        """A copy of the data selection with absolute paths (stored paths are relative to the file)."""
        if self.data is None or not self.data.path:
            raise NnstudioError("The project has no data yet: open a data file in the Data panel or use "
                                "`nnstudio new-project --data FILE`.")
        sel = DataSelection.from_dict(self.data.to_dict())
        sel.path = str(self.resolve(sel.path))
        if sel.labels_path:
            sel.labels_path = str(self.resolve(sel.labels_path))
        if not Path(sel.path).exists():
            raise NnstudioError(f"The data file {sel.path} is missing. Restore it or locate it in the Data panel.")
        return sel

    def _relative(self, p: str | None, base: Path) -> str | None:
        if not p:
            return p
        q = Path(p)
        if not q.is_absolute():
            return p
        try:
            return os.path.relpath(q, base)
        except ValueError:  # another drive on Windows
            return str(q)

    # -- (de)serialisation ------------------------------------------------------------------
    def to_dict(self, base: Path | None = None) -> dict:
        base = base or (self.path.parent if self.path else Path.cwd())
        data = None
        if self.data is not None:
            data = self.data.to_dict()
            data["path"] = self._relative(str(self.resolve(data["path"])), base) if data["path"] else ""
            if data.get("labels_path"):
                data["labels_path"] = self._relative(str(self.resolve(data["labels_path"])), base)
        # recorded when Keras is loaded; a save never imports it
        keras_version = getattr(sys.modules.get("keras"), "__version__", None)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nnstudio_version": __version__,
            "keras_version": keras_version,
            "saved": _dt.datetime.now().isoformat(timespec="seconds"),
            "name": self.name,
            "data": data,
            "preparation": self.preparation.to_dict(),
            "model": self.model.to_dict() if self.model is not None else None,
            "training": self.training.to_dict(),
            "uncertainty": self.uncertainty.to_dict(),
            "decision": self.decision.to_dict(),
            "physics": self.physics.to_dict(),
            "runs": [r.to_dict() for r in self.runs],
            "active_run": self.active_run,
        }

    @classmethod
    def from_dict(cls, d: dict, path: Path | None = None) -> "Project":
        from nnstudio.core.model import ModelSpec

        d = upgrade(d)
        p = cls(name=d.get("name") or (Path(path).stem if path else "untitled"), path=path)
        try:
            p.data = DataSelection.from_dict(d["data"]) if d.get("data") else None
            p.preparation = PreparationSpec.from_dict(d.get("preparation") or {})
            p.model = ModelSpec.from_dict(d["model"]) if d.get("model") else None
            p.training = TrainConfig.from_dict(d.get("training") or {})
            p.uncertainty = UncertaintySettings.from_dict(d.get("uncertainty") or {})
            p.decision = DecisionRule.from_dict(d.get("decision"))
            p.physics = PhysicsSettings.from_dict(d.get("physics"))
            p.runs = [RunRecord.from_dict(r) for r in d.get("runs") or []]
        except NnstudioError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise NnstudioError(f"The project file is damaged: {exc}") from None
        p.active_run = d.get("active_run")
        return p

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        """Write the project atomically; ``path`` saves as a new file (paths re-relativised)."""
        target = Path(path) if path else self.path
        if target is None:
            raise NnstudioError("Choose where to save the project first.")
        if target.suffix != SUFFIX:
            target = target.with_suffix(SUFFIX)
        target = target.absolute()
        old_folder = self.folder
        # resolve stored paths against the old location before moving the base
        if self.data is not None:
            if self.data.path:
                self.data.path = str(self.resolve(self.data.path))
            if self.data.labels_path:
                self.data.labels_path = str(self.resolve(self.data.labels_path))
        text = json.dumps(self.to_dict(base=target.parent), indent=1, allow_nan=False)
        atomic_write_text(target, text + "\n")
        self.path = target
        self.name = target.stem
        self.folder.mkdir(parents=True, exist_ok=True)
        if old_folder and old_folder != self.folder and old_folder.is_dir():
            _copy_runs(old_folder, self.folder)
        self.dirty = False
        self.changed.emit("saved")
        return target

    @classmethod
    def load(cls, path: str | Path) -> "Project":
        path = Path(path).absolute()
        if not path.exists():
            raise NnstudioError(f"No project file at {path}.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NnstudioError(f"Cannot read the project file {path.name}: {exc}") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NnstudioError(
                f"{path.name} is not a valid project file: broken JSON at line {exc.lineno}, "
                f"column {exc.colno} ({exc.msg}).") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise NnstudioError(f"{path.name} is not an nnstudio project file.")
        p = cls.from_dict(d, path=path)
        p.check_data()
        return p

    def check_data(self) -> None:
        """Note (in ``warnings``) a missing data file or one that changed since the last save."""
        self.warnings = []
        if self.data is None or not self.data.path:
            return
        src = self.resolve(self.data.path)
        if not src.exists():
            self.warnings.append(f"The data file {src} is missing. Locate it in the Data panel "
                                 "(File ▸ Open data…) or restore it.")
            return
        fp = self.data.fingerprint
        if fp:
            now = file_fingerprint(src)
            if now != fp:
                self.warnings.append(
                    f"The data file {src.name} changed since the project was saved "
                    f"(size {fp.get('size')} → {now['size']} bytes, checksum differs). "
                    "Results of earlier runs may not match it.")

    def run_dir(self, run_id: str) -> Path:
        if self.folder is None:
            raise NnstudioError("Save the project before training, so runs have a folder to go into.")
        return self.folder / "runs" / run_id

    def model_path(self, run: RunRecord) -> Path | None:
        if run.model_path is None or self.folder is None:
            return None
        return self.folder / "runs" / run.model_path


# -- the experiments store (experiments.json beside the runs) ----------------------------------
def load_store(project: Project) -> dict:
    """``{"runs": {id: {"hidden", "group", "test"}}, "groups": {id: {...}}}``; empty if none yet."""
    empty = {"format": STORE_FORMAT, "runs": {}, "groups": {}}
    if project.folder is None:
        return empty
    path = project.folder / STORE_NAME
    if not path.exists():
        return empty
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NnstudioError(f"{path} is damaged ({exc}); delete it to forget hidden runs and groups.") from None
    if not isinstance(d, dict) or d.get("format") != STORE_FORMAT:
        raise NnstudioError(f"{path} is not an nnstudio experiments file.")
    d.setdefault("runs", {})
    d.setdefault("groups", {})
    return d


def save_store(project: Project, store: dict) -> None:
    if project.folder is None:
        raise NnstudioError("Save the project first: its runs live in the project folder.")
    atomic_write_json(project.folder / STORE_NAME, store)


def run_meta(store: dict, run_id: str) -> dict:
    return store["runs"].setdefault(run_id, {})


def record_test_metrics(project: Project, run_id: str, metrics: dict) -> None:
    """Keep a run's test figures for the run table (finite numbers only)."""
    import math

    store = load_store(project)
    run_meta(store, run_id)["test"] = {k: float(v) for k, v in metrics.items()
                                       if isinstance(v, (int, float)) and not isinstance(v, bool)
                                       and math.isfinite(float(v))}
    save_store(project, store)


def _copy_runs(src: Path, dst: Path) -> None:
    import shutil

    if (src / "runs").is_dir():
        shutil.copytree(src / "runs", dst / "runs", dirs_exist_ok=True)


def upgrade(d: dict) -> dict:
    """Bring a project dict of any known older format version up to :data:`FORMAT_VERSION`."""
    if not isinstance(d, dict):
        raise NnstudioError("The project file does not hold a JSON object.")
    version = d.get("format_version")
    if not isinstance(version, int):
        raise NnstudioError("The project file has no format version; it may be damaged.")
    if version > FORMAT_VERSION:
        raise NnstudioError(
            f"The project was saved by a newer nnstudio (format {version}; this one reads up to "
            f"{FORMAT_VERSION}). Update nnstudio to open it.")
    while version < FORMAT_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise NnstudioError(f"Project format {version} is too old to open.")
        d = step(dict(d))
        version += 1
        d["format_version"] = version
    return d
