"""Sweeps: search over training and model settings with Optuna, selected by the validation split.

Optuna does the sampling (grid, random, TPE), the pruning (median pruner on each epoch's
val_loss) and the bookkeeping: every trial lives in an RDB storage, by default
``sqlite:///<project folder>/sweeps.db``, so a sweep resumes after a crash (run the same sweep
again), and several processes or machines share one study through a database URL. A study
carries its project's identity in its user attributes and is refused by any other project.

Settings (``NAME=SPEC``): ``learning_rate``, ``batch_size``, ``units:<layer>``,
``filters:<layer>``, ``dropout:<layer>``, ``depth`` (number of hidden blocks of the template),
``width`` (a factor on every hidden layer's units and filters: validation loss against the
number of parameters, each trial's count kept with it).
SPEC: ``1e-4:1e-2:log`` (a range on a log scale), ``0.1:0.5`` (a range), ``16,32,64`` (a list).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import math
import os
import re
import socket
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnstudio.core.evaluation.direction import higher_is_better, is_metric, optuna_direction
from nnstudio.core.formatting import fmt_interval, fmt_number
from nnstudio.core.project import Project
from nnstudio.core.tasks import ChildTask, Task
from nnstudio.core.training.config import TrainConfig
from nnstudio.errors import NnstudioError

log = logging.getLogger(__name__)

SAMPLERS = ("grid", "random", "tpe")
METRIC = "val_loss"
HEARTBEAT_S, GRACE_S = 10, 30          # a trial whose process stops beating for 30 s is failed
PRUNER_STARTUP_TRIALS = 3              # never prune before this many trials have finished
PRUNER_WARMUP_EPOCHS = 1               # nor within a trial's first epoch
SEND_PREPARED_MAX_BYTES = 512 << 20    # bigger data: each worker process prepares its own copy

# setting -> (value type, which layer classes it applies to, setting key in the layer config)
SETTINGS = {
    "learning_rate": ("float", None, None),
    "batch_size": ("int", None, None),
    "depth": ("int", None, None),
    "width": ("float", None, None),     # a factor on every hidden layer's units and filters
    "units": ("int", ("Dense",), "units"),
    "filters": ("int", ("Conv2D", "Conv1D"), "filters"),
    "dropout": ("float", ("Dropout", "SpatialDropout2D"), "rate"),
}
SETTING_HELP = "learning_rate, batch_size, units:<layer>, filters:<layer>, dropout:<layer>, depth, width"


# -- settings and their ranges --------------------------------------------------------------------
def _number(text: str, what: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise NnstudioError(f"{what}: {text.strip()!r} is not a number.") from None
    if not math.isfinite(v):
        raise NnstudioError(f"{what}: {text.strip()!r} is not a finite number.")
    return v


@dataclass(frozen=True)
class SweepParam:
    """One swept setting: a range (``low``..``high``, maybe on a log scale) or a list of values."""

    name: str                           # "learning_rate", "units:dense_1", …
    kind: str                           # "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    spec: str = ""

    @property
    def setting(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def layer(self) -> str | None:
        return self.name.split(":", 1)[1] if ":" in self.name else None

    def suggest(self, trial):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["choices"] = list(self.choices)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SweepParam:
        return cls(**{**d, "choices": tuple(d.get("choices") or ())})

    def __str__(self) -> str:
        return f"{self.name}={self.spec}"


def _check_value(setting: str, v: float, what: str) -> None:
    kind = SETTINGS[setting][0]
    if kind == "int" and v != int(v):
        raise NnstudioError(f"{what}: {setting} takes whole numbers (got {v:g}).")
    if setting == "dropout" and not 0 <= v < 1:
        raise NnstudioError(f"{what}: a dropout rate is from 0 up to (not including) 1 (got {v:g}).")
    if setting == "width" and v <= 0:
        raise NnstudioError(f"{what}: the width factor must be above zero (got {v:g}).")
    if setting == "learning_rate" and v <= 0:
        raise NnstudioError(f"{what}: the learning rate must be above zero (got {v:g}).")
    if kind == "int" and v < 1:
        raise NnstudioError(f"{what}: {setting} must be at least 1 (got {v:g}).")


def parse_param(text: str) -> SweepParam:
    """``NAME=SPEC`` → :class:`SweepParam` (names are checked against a model by :func:`check_params`)."""
    if "=" not in text:
        raise NnstudioError(f"Write a swept setting as NAME=SPEC, e.g. learning_rate=1e-4:1e-2:log "
                            f"(got {text!r}).")
    name, spec = (s.strip() for s in text.split("=", 1))
    setting = name.split(":", 1)[0]
    if setting not in SETTINGS:
        raise NnstudioError(f"Unknown setting {name!r}. Settings that can be swept: {SETTING_HELP}.")
    needs_layer = SETTINGS[setting][1] is not None
    if needs_layer and (":" not in name or not name.split(":", 1)[1]):
        raise NnstudioError(f"{setting} needs a layer name, e.g. {setting}:dense_1=16,32,64.")
    if not needs_layer and ":" in name:
        raise NnstudioError(f"{setting} applies to the whole model; write it without a layer name.")
    what = f"{name}={spec}"
    if not spec:
        raise NnstudioError(f"{name}: give values (e.g. 16,32,64) or a range (e.g. 1e-4:1e-2:log).")
    is_int = SETTINGS[setting][0] == "int"
    if "," in spec:
        items = [s for s in spec.split(",")]
        if any(not s.strip() for s in items):
            raise NnstudioError(f"{what}: the list has an empty item.")
        values = []
        for s in items:
            v = _number(s, what)
            _check_value(setting, v, what)
            v = int(v) if is_int else v
            if v not in values:
                values.append(v)
        return SweepParam(name, "choice", choices=tuple(values), spec=spec)
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].strip() != "log"):
            raise NnstudioError(f"{what}: a range is LOW:HIGH or LOW:HIGH:log.")
        low, high = _number(parts[0], what), _number(parts[1], what)
        log_scale = len(parts) == 3
        _check_value(setting, low, what)
        _check_value(setting, high, what)
        if low == high:
            raise NnstudioError(f"{what}: the range is empty (both ends are {low:g}); give a lower and a "
                                "higher end, or a single value.")
        if low > high:
            raise NnstudioError(f"{what}: the range is inverted; write the lower end first "
                                f"({parts[1].strip()}:{parts[0].strip()}{':log' if log_scale else ''}).")
        if log_scale and low <= 0:
            raise NnstudioError(f"{what}: a log-scale range must start above zero.")
        return SweepParam(name, "int" if is_int else "float", low=low, high=high, log=log_scale, spec=spec)
    v = _number(spec, what)
    _check_value(setting, v, what)
    return SweepParam(name, "choice", choices=(int(v) if is_int else v,), spec=spec)


def _output_index(spec) -> int | None:
    """The output layer: the last layer when it is a Dense or the mean-and-variance head."""
    if spec.layers and spec.layers[-1].class_name in ("Dense", "GaussianHead"):
        return len(spec.layers) - 1
    return None


def check_params(params: list[SweepParam], spec) -> None:
    """Refuse settings that name no layer of ``spec``, the wrong kind of layer, or the output."""
    if not params:
        raise NnstudioError("Choose at least one setting to sweep (e.g. --param learning_rate=1e-4:1e-2:log).")
    names = [p.name for p in params]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise NnstudioError(f"Each setting may be swept once: {', '.join(dup)} is given twice.")
    layer_names = spec.layer_names()
    out = _output_index(spec)
    for p in params:
        classes = SETTINGS[p.setting][1]
        if classes is not None:
            if p.layer not in layer_names:
                raise NnstudioError(f"{p.name}: the model has no layer {p.layer!r} (its layers: "
                                    f"{', '.join(layer_names)}).")
            i = layer_names.index(p.layer)
            if spec.layers[i].class_name not in classes:
                fits = [n for n, layer in zip(layer_names, spec.layers) if layer.class_name in classes
                        and layer_names.index(n) != out]
                raise NnstudioError(f"{p.name}: {p.layer} is a {spec.layers[i].class_name}, which has no "
                                    f"{p.setting} (layers that have: {', '.join(fits) or 'none'}).")
            if i == out:
                raise NnstudioError(f"{p.name}: {p.layer} is the output layer; its size is set by the target.")
        if p.setting == "depth" and not _blocks(spec)[1]:
            raise NnstudioError("depth: the model has no hidden layers to repeat.")
        if p.setting == "width" and not _blocks(spec)[1]:
            raise NnstudioError("width: the model has no hidden layers to widen.")


# -- applying settings ----------------------------------------------------------------------------
_BLOCK_END = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense", "GaussianHead")
_POOLING = ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D")


def _blocks(spec) -> tuple[list, list[list], list]:
    """(layers before, hidden blocks, layers after): a block starts at each convolution (CNN) or
    at each hidden Dense layer (MLP) and holds the layers that follow it (pooling, dropout, …)."""
    layers = list(spec.layers)
    conv = [i for i, layer in enumerate(layers) if layer.class_name in ("Conv2D", "Conv1D")]
    if conv:
        starts = conv
        end = next((i for i in range(conv[-1] + 1, len(layers)) if layers[i].class_name in _BLOCK_END),
                   len(layers))
    else:
        out = _output_index(spec)
        end = out if out is not None else len(layers)
        starts = [i for i in range(end) if layers[i].class_name == "Dense"]
        if not starts:
            return layers, [], []
    blocks = [layers[s:e] for s, e in zip(starts, starts[1:] + [end])]
    return layers[:starts[0]], blocks, layers[end:]


def set_depth(spec, depth: int):
    """``spec`` with ``depth`` hidden blocks: the last ones dropped, or the last one repeated
    (without its pooling, so a deeper CNN keeps its image size)."""
    before, blocks, after = _blocks(spec)
    if not blocks:
        raise NnstudioError("depth: the model has no hidden layers to repeat.")
    if depth <= len(blocks):
        blocks = blocks[:depth]
    else:
        extra = [layer for layer in blocks[-1] if layer.class_name not in _POOLING]
        blocks = blocks + [list(extra) for _ in range(depth - len(blocks))]
    layers = before + [layer for b in blocks for layer in b] + after
    return dataclasses.replace(spec, layers=[dataclasses.replace(x) for x in layers])


def scale_width(spec, factor: float):
    """``spec`` with every hidden Dense layer's units and every convolution's filters times
    ``factor`` (rounded, at least 1); the output layer keeps its size."""
    out = _output_index(spec)
    layers = []
    for i, layer in enumerate(spec.layers):
        key = {"Dense": "units", "Conv2D": "filters", "Conv1D": "filters"}.get(layer.class_name)
        if key is not None and i != out:
            layer = layer.replace(**{key: max(1, round(layer.config[key] * factor))})
        layers.append(layer)
    return dataclasses.replace(spec, layers=layers)


def apply_params(spec, config: TrainConfig, values: dict) -> tuple:
    """The model spec and training settings with swept ``values`` (``{name: value}``) put in."""
    names = spec.layer_names()
    layers = list(spec.layers)
    config = dataclasses.replace(config)
    depth = width = None
    for name, v in values.items():
        setting, _, layer = name.partition(":")
        if setting not in SETTINGS:
            raise NnstudioError(f"Unknown setting {name!r}. Settings that can be swept: {SETTING_HELP}.")
        if setting == "learning_rate":
            spec = dataclasses.replace(spec, learning_rate=float(v))
            if config.learning_rate is not None:
                config.learning_rate = float(v)
        elif setting == "batch_size":
            config.batch_size = int(v)
        elif setting == "depth":
            depth = int(v)
        elif setting == "width":
            width = float(v)
        else:
            if layer not in names:
                raise NnstudioError(f"{name}: the model has no layer {layer!r}.")
            i = names.index(layer)
            key = SETTINGS[setting][2]
            layers[i] = layers[i].replace(**{key: int(v) if SETTINGS[setting][0] == "int" else float(v)})
    spec = dataclasses.replace(spec, layers=layers)
    if depth is not None:
        spec = set_depth(spec, depth)
    if width is not None:
        spec = scale_width(spec, width)
    return spec, config.validate()


# -- studies and their project --------------------------------------------------------------------
def project_identity(project: Project) -> dict:
    """What makes trials comparable across machines: the data and how it is split."""
    data = project.data
    ident = {"name": project.name, "data": None, "target": None, "inputs": [],
             "split": {"fractions": project.preparation.fractions, "seed": project.preparation.seed,
                       "stratify": project.preparation.stratify}}
    if data is not None:
        ident["data"] = (data.fingerprint or {}).get("sha256") or Path(data.path).name
        ident["target"], ident["inputs"] = data.target, list(data.inputs)
    ident["key"] = hashlib.sha256(json.dumps({k: v for k, v in ident.items() if k != "name"},
                                             sort_keys=True).encode()).hexdigest()[:16]
    return ident


def default_storage(project: Project) -> str:
    if project.folder is None:
        raise NnstudioError("Save the project first: its sweeps are stored in the project folder.")
    project.folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(project.folder / 'sweeps.db').as_posix()}"


def _study_settings(params: list[SweepParam], spec, config: TrainConfig) -> dict:
    return {"params": sorted(str(p) for p in params), "model": spec.to_dict(), "training": config.to_dict()}


def _study_name(settings: dict) -> str:
    """Same settings, same model, same training settings -> the same study (so it resumes)."""
    return "sweep-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def _is_file_storage(url: str) -> bool:
    return url.startswith("sqlite:")


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def open_storage(url: str):
    import warnings

    import optuna

    # machines that start together on a fresh database race to create Optuna's tables: the loser
    # finds them made on a second try
    tries = 1 if _is_file_storage(url) else 3
    for attempt in range(tries):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's words
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                                  engine_kwargs=_engine_kwargs(url))
        except Exception as exc:  # bad URL, driver missing, server down, not a database file
            if attempt + 1 < tries and not isinstance(exc, ImportError):
                time.sleep(1.0 + attempt)
                continue
            raise NnstudioError(f"Cannot open the sweep storage {_redact(url)}: "
                                f"{_storage_problem(url, exc)}") from None


def _engine_kwargs(url: str) -> dict | None:
    if url.startswith("sqlite:"):
        return {"connect_args": {"timeout": 60}}
    if url.startswith("postgresql"):  # a host that drops packets fails in seconds, not minutes
        return {"connect_args": {"connect_timeout": 20}}
    return None


def _storage_problem(url: str, exc: Exception) -> str:
    """Why a storage cannot be opened, in one line."""
    if isinstance(exc, ImportError):
        dialect, _, driver = url.partition(":")[0].partition("+")
        if dialect == "postgresql" and driver in ("", "psycopg"):
            return "the PostgreSQL driver (psycopg) is missing: pip install 'nnstudio[cluster]'."
        return (f"the database driver {driver or dialect!r} is missing: install it, or use postgresql://… "
                "with pip install 'nnstudio[cluster]'.")
    return " ".join(str(getattr(exc, "orig", None) or exc).split())  # the driver's own words, not SQLAlchemy's


def _check_storage_project(storage, url: str, ident: dict) -> None:
    import optuna

    if not _is_file_storage(url):
        return
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        other = s.user_attrs.get("nnstudio_project") or {}
        if other.get("key") and other["key"] != ident["key"]:
            raise NnstudioError(f"{_redact(url)} holds sweeps of another project ({other.get('name')!r}, "
                                "other data or split); it cannot be reused here. Use this project's own "
                                "sweeps.db or another --storage.")


def _check_study_project(study, url: str, ident: dict) -> None:
    other = study.user_attrs.get("nnstudio_project") or {}
    if other.get("key") and other["key"] != ident["key"]:
        raise NnstudioError(f"The study {study.study_name!r} in {_redact(url)} belongs to another project "
                            f"({other.get('name')!r}, other data or split); it cannot be reused here.")


# -- running --------------------------------------------------------------------------------------
def make_pruning_callback(trial, monitor: str = METRIC):
    """Reports ``monitor`` to Optuna after each epoch; stops training when the pruner says so."""
    import keras

    class Pruning(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.pruned_at = None

        def on_epoch_end(self, epoch, logs=None):
            v = (logs or {}).get(monitor)
            if v is None or not math.isfinite(float(v)):
                return
            trial.report(float(v), epoch)
            if trial.should_prune():
                self.pruned_at = epoch
                self.model.stop_training = True

    return Pruning()


class _TrialTask(ChildTask):
    """One trial's training: its progress shown as a share of the whole sweep's budget."""

    def __init__(self, parent: Task, number: int, stop, used: int, job: _Job):
        super().__init__(parent, start=used, span=1, total=job.trials or 1, prefix=f"trial {number} · ",
                         tags={"trial": number}, stop=stop)
        self.job = job

    def report_progress(self, done, total, text=""):
        if self.job.trials is not None:
            super().report_progress(done, total, text)
        elif self.job.deadline is not None:
            left = max(0.0, self.job.deadline - time.time())
            self.parent.report_progress(self.job.timeout - left, self.job.timeout, f"{self.prefix}{text}")


@dataclass
class _Job:
    """Everything a process needs to run trials of one study (picklable, for worker processes)."""

    project: dict
    project_path: str
    storage: str
    study: str
    params: list[dict]
    spec: dict
    config: dict
    sampler: str
    seed: int
    prune: bool
    trials: int | None
    timeout: float | None
    deadline: float | None = None      # time.time() after which no trial starts


def _make_sampler(kind: str, params: list[SweepParam], seed: int, trials: int | None):
    import optuna

    if kind == "grid":
        return optuna.samplers.GridSampler({p.name: list(p.choices) for p in params}, seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = 10 if trials is None else max(2, min(10, trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def _make_pruner(prune: bool):
    import optuna

    if not prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS)


def _used(study) -> int:
    """Trials that count against the budget: finished, pruned, running, or failed by a crash of
    the trial itself (not those stopped by request or left behind by a dead process)."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False):
        crashed = t.state == TrialState.FAIL and "error" in t.user_attrs and not t.user_attrs.get("stopped")
        if crashed or t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
            n += 1
    return n


def _optimize(job: _Job, prepared, task: Task, stop) -> None:
    """Run trials of ``job.study`` in this process until the budget, the deadline or a stop."""
    import optuna

    from nnstudio.core.model import infer
    from nnstudio.core.model.spec import ModelSpec
    from nnstudio.core.training.trainer import train

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    project = Project.from_dict(job.project, path=Path(job.project_path))
    params = [SweepParam.from_dict(d) for d in job.params]
    base_spec, base_config = ModelSpec.from_dict(job.spec), TrainConfig.from_dict(job.config)
    from nnstudio.core.workflow.baselines import residual_offset

    offset = residual_offset(project, prepared, base_config)
    storage = open_storage(job.storage)
    study = optuna.load_study(study_name=job.study, storage=storage,
                              sampler=_make_sampler(job.sampler, params, job.seed, job.trials),
                              pruner=_make_pruner(job.prune))
    folder = project.folder / "sweeps" / job.study

    def objective(trial):
        values = {p.name: p.suggest(trial) for p in params}
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        cb = None
        try:
            spec, config = apply_params(base_spec, base_config, values)
            inference = infer(spec, prepared.input_shape, problem=prepared.problem, n_classes=prepared.n_classes)
            if not inference.ok:
                raise NnstudioError("these settings make an invalid model: " + "; ".join(inference.errors))
            trial.set_user_attr("parameters", int(inference.trainable_params))
            run_dir = folder / f"trial-{trial.number:04d}"
            cb = make_pruning_callback(trial)
            sub = _TrialTask(task, trial.number, stop, _used(study) - 1, job)
            # best.keras keeps the epoch whose validation loss is reported: the model scored and kept
            record, _model = train(prepared, spec, config, run_dir, task=sub,
                                   run_id=f"trial-{trial.number:04d}", callbacks=[cb], resumable=False,
                                   save_best=True, offset=offset)
            trial.set_user_attr("epochs", record.epochs_run)
            trial.set_user_attr("best_epoch", record.best_epoch)
            trial.set_user_attr("duration_s", record.duration_s)
            trial.set_user_attr("run_dir", os.path.relpath(run_dir, project.folder))
            trial.set_user_attr("final", record.final)
            if record.status == "nan":
                raise NnstudioError(record.message)
            if record.status == "stopped" and cb.pruned_at is None:
                trial.set_user_attr("stopped", True)
                raise NnstudioError("stopped by request")
            vals = [v for v in record.history.get(METRIC, []) if v is not None]
            if not vals:
                raise NnstudioError("no validation loss: the validation split is empty.")
        except NnstudioError as exc:
            trial.set_user_attr("error", str(exc))
            task.report_message(f"trial {trial.number} failed: {exc}")
            return float("nan")  # Optuna records a failed trial; the sweep goes on
        except Exception as exc:  # a bug in one trial must not end the sweep; its traceback goes to the log
            log.exception("trial %s failed", trial.number)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            task.report_message(f"trial {trial.number} failed: {type(exc).__name__}: {exc}")
            return float("nan")
        if cb.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned after epoch {cb.pruned_at + 1}")
        return max(vals) if higher_is_better(METRIC) else min(vals)

    def after_trial(study, trial):
        task.report_partial({"trial_done": trial_dict(trial)})
        used = _used(study)
        if job.trials is not None:
            task.report_progress(min(used, job.trials), job.trials, f"{used} of {job.trials} trials")
        if stop.is_set() or (job.trials is not None and used >= job.trials) \
                or (job.deadline is not None and time.time() >= job.deadline):
            study.stop()

    if stop.is_set() or (job.trials is not None and _used(study) >= job.trials):
        return
    timeout = None if job.deadline is None else max(0.0, job.deadline - time.time())
    if timeout == 0.0:
        return
    study.optimize(objective, n_trials=job.trials, timeout=timeout, callbacks=[after_trial],
                   catch=(), gc_after_trial=True)


def _worker_main(job: _Job, prepared, stop, ready) -> None:
    """Entry point of a worker process (``--jobs``): prepares its data if it was not sent."""
    from nnstudio.core.training.tf_runtime import import_tensorflow

    try:
        import_tensorflow(quiet=True)
        if prepared is None:
            from nnstudio.core.workflow.data import prepare_project

            prepared = prepare_project(Project.from_dict(job.project, path=Path(job.project_path)))
    finally:
        ready.set()
    _optimize(job, prepared, Task(), stop)


# -- results --------------------------------------------------------------------------------------
def trial_dict(t) -> dict:
    state = t.state.name.lower()
    state = {"fail": "failed"}.get(state, state)
    inter = t.intermediate_values
    return {"number": t.number, "state": state, "params": dict(t.params),
            "value": t.value if t.value is not None and math.isfinite(t.value) else None,
            "metric": METRIC,
            "last_value": inter[max(inter)] if inter else None,
            "epochs": t.user_attrs.get("epochs"), "duration_s": t.user_attrs.get("duration_s"),
            "best_epoch": t.user_attrs.get("best_epoch"), "parameters": t.user_attrs.get("parameters"),
            "error": t.user_attrs.get("error"), "run_dir": t.user_attrs.get("run_dir"),
            "worker": t.user_attrs.get("worker")}


def _sort_key(d: dict):
    order = {"complete": 0, "pruned": 1, "running": 2, "waiting": 3, "failed": 4}
    value = d["value"] if d["value"] is not None else None
    if value is not None and higher_is_better(METRIC):
        value = -value
    return (order.get(d["state"], 5), value if value is not None else math.inf, d["number"])


@dataclass
class SweepResult:
    study: str
    storage: str
    metric: str
    trials: list[dict]                 # sorted: completed by validation metric, then pruned, failed
    best: dict | None                  # params, value; test figures labelled "selected by validation"
    counts: dict = field(default_factory=dict)
    duration_s: float = 0.0
    cancelled: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        c = self.counts
        way = "higher" if higher_is_better(self.metric) else "lower"
        lines = [(f"{self.study}: {c.get('complete', 0)} complete, {c.get('pruned', 0)} pruned, "
                  f"{c.get('failed', 0)} failed ({self.metric}, {way} is better)")]
        for t in self.trials[:20]:
            v = t["value"] if t["value"] is not None else t["last_value"]
            ps = ", ".join(f"{k}={_fmt_value(x)}" for k, x in t["params"].items())
            lines.append(f"  #{t['number']:<4} {t['state']:<9} {fmt_number(v):>10}  {ps}"
                         + (f"  ({t['parameters']:,} parameters)" if t.get("parameters") else "")
                         + (f"  ({t['error']})" if t.get("error") else ""))
        if self.best:
            ps = ", ".join(f"{k}={_fmt_value(x)}" for k, x in self.best["params"].items())
            lines.append(f"best: trial {self.best['number']} ({ps}), {self.metric} {fmt_number(self.best['value'])}")
            if self.best.get("test"):
                lines.append(f"  test, in the target's units (the trial was selected by validation; "
                             f"{best_scored_text(self.best)}): {best_test_text(self.best)}")
        return "\n".join(lines)


def best_test_text(best: dict) -> str:
    """"rmse 4.21 [3.9, 4.5] · r2 0.91 [0.89, 0.93]": the test figures with their 95 % intervals."""
    cis = best.get("test_ci") or {}
    return " · ".join(f"{k} {fmt_number(v)}" + (f" {fmt_interval(*cis[k])}" if k in cis else "")
                      for k, v in (best.get("test") or {}).items())


def best_scored_text(best: dict) -> str:
    """Which weights the test figures are of."""
    epoch = best.get("best_epoch")
    at = f" (epoch {epoch + 1})" if isinstance(epoch, int) else ""
    intervals = "95% bootstrap intervals" if best.get("test_ci") else "no intervals"
    return f"the weights of its best validation epoch{at}; {intervals}"


def _fmt_value(v) -> str:
    return fmt_number(v) if isinstance(v, float) else str(v)


def _result(study, url: str, duration: float, cancelled: bool, prepared=None, project: Project | None = None) -> SweepResult:
    trials = sorted((trial_dict(t) for t in study.get_trials(deepcopy=False)), key=_sort_key)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    best = next((dict(t) for t in trials if t["state"] == "complete" and t["value"] is not None), None)
    if best is not None:
        best["selected_by"] = f"{METRIC} on the validation split"
        if prepared is not None and project is not None and best.get("run_dir"):
            path = _scored_model(project.folder / best["run_dir"])
            best["model"] = os.path.relpath(path, project.folder)
            try:
                best["test"], best["test_ci"] = _test_figures(path, prepared)
            except NnstudioError as exc:   # the sweep's result stands without its test figures
                best["test"], best["test_ci"], best["test_error"] = None, {}, exc.message
    return SweepResult(study=study.study_name, storage=_redact(url), metric=METRIC, trials=trials, best=best,
                       counts=counts, duration_s=round(duration, 3), cancelled=cancelled)


def _scored_model(run_dir: Path) -> Path:
    """The trial's model at the epoch its validation loss was taken from (older trials kept only
    the last epoch's model.keras)."""
    best = run_dir / "best.keras"
    return best if best.exists() else run_dir / "model.keras"


def _test_figures(path: Path, prepared) -> tuple[dict | None, dict]:
    """The selected trial's figures on the test split, by the one evaluation core (in the
    target's units), and their 95 % bootstrap intervals (empty when they cannot be had)."""
    if not path.exists() or prepared.count("test") == 0:
        return None, {}
    from nnstudio.core.experiments.repeat import bootstrap_intervals
    from nnstudio.core.model import load_keras
    from nnstudio.core.workflow.evaluate import evaluate

    result = evaluate(prepared=prepared, model=load_keras(path), baselines=False)
    figures = {k: float(v) for k, v in result.metrics.items() if isinstance(v, (int, float))
               and not isinstance(v, bool) and is_metric(k) and math.isfinite(float(v))}
    cis = {k: v for k, v in bootstrap_intervals(result).items() if k in figures}
    return figures, cis


# -- the public entry points ----------------------------------------------------------------------
def run_sweep(project: Project, params: list[SweepParam | str], trials: int | None = None,
              timeout: float | None = None, sampler: str = "tpe", storage: str | None = None,
              study: str | None = None, jobs: int = 1, epochs: int | None = None, prune: bool = True,
              seed: int = 0, task: Task | None = None, prepared=None) -> SweepResult:
    """Search ``params`` within a budget of ``trials`` and/or ``timeout`` seconds.

    Trials are chosen by the validation loss only; the best trial's test figures are reported,
    labelled as selected by validation. Running the same sweep again resumes its study. ``jobs``
    processes on this machine share the study; other machines join through the same ``storage``
    URL. A stop request ends the current trial (recorded as failed, "stopped by request") and
    starts no more.
    """
    task = task or Task()
    params = [parse_param(p) if isinstance(p, str) else p for p in params]
    if project.model is None:
        raise NnstudioError("The project has no model yet: pick a template in the Model panel.")
    check_params(params, project.model)
    if sampler not in SAMPLERS:
        raise NnstudioError(f"Unknown sampler {sampler!r}: choose {', '.join(SAMPLERS)}.")
    if sampler == "grid":
        ranges = [p.name for p in params if p.kind != "choice"]
        if ranges:
            raise NnstudioError(f"A grid search needs a list of values for each setting, not a range: "
                                f"{', '.join(ranges)} (e.g. learning_rate=1e-4,1e-3,1e-2).")
    if trials is None and timeout is None:
        raise NnstudioError("Give the sweep a budget: a number of trials, a time limit, or both.")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise NnstudioError(f"The number of trials must be at least 1 (got {trials!r}).")
    if timeout is not None and not timeout > 0:
        raise NnstudioError(f"The time limit must be above zero seconds (got {timeout!r}).")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise NnstudioError(f"--jobs must be at least 1 (got {jobs!r}).")
    config = project.training
    if epochs is not None:
        if epochs < 1:
            raise NnstudioError("--epochs must be at least 1.")
        config = dataclasses.replace(config, epochs=epochs)
    if project.path is None:
        raise NnstudioError("Save the project first: sweep trials are kept in the project folder.")
    from nnstudio.core.workflow.data import prepare_project

    prepared = prepared if prepared is not None else prepare_project(project, task=task)
    if prepared.count("val") == 0:
        raise NnstudioError("A sweep chooses settings by the validation split, which is empty: give it a "
                            "non-zero fraction in the Data panel.")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage or default_storage(project)
    settings = _study_settings(params, project.model, config)
    name = study or _study_name(settings)
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise NnstudioError(f"A study name is 1-64 letters, digits, '_', '.' or '-' (got {name!r}).")
    ident = project_identity(project)
    store = open_storage(url)
    _check_storage_project(store, url, ident)
    st = optuna.create_study(study_name=name, storage=store, load_if_exists=True,
                             direction=optuna_direction(METRIC))
    _check_study_project(st, url, ident)
    old = st.user_attrs.get("nnstudio_settings")
    if old is not None and old != settings:
        raise NnstudioError(f"The study {name!r} was started with other settings or another model; start a "
                            "new study (another name) for these.")
    if old is None:
        st.set_user_attr("nnstudio_project", ident)
        st.set_user_attr("nnstudio_settings", settings)
        st.set_user_attr("created", _dt.datetime.now().isoformat(timespec="seconds"))
    done_before = _used(st)
    if trials is not None and done_before >= trials:
        task.report_message(f"The study {name} already has {done_before} trials; give more trials to extend it.")

    # a resumed study samples afresh, not the first session's points again
    seed = seed + 1009 * len(st.get_trials(deepcopy=False))
    if not _is_file_storage(url):  # machines joining one study at once must not draw the same points
        seed += zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode()) % 1_000_003
    t0 = time.time()
    job = _Job(project=project.to_dict(), project_path=str(project.path), storage=url, study=name,
               params=[p.to_dict() for p in params], spec=project.model.to_dict(), config=config.to_dict(),
               sampler=sampler, seed=seed, prune=prune, trials=trials, timeout=timeout,
               deadline=t0 + timeout if timeout is not None else None)
    workers, stop = [], task.stop
    if jobs > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # TensorFlow is not fork-safe
        stop = ctx.Event()
        nbytes = sum(a.nbytes for d in (prepared.x, prepared.y) for a in d.values())
        send = prepared if nbytes <= SEND_PREPARED_MAX_BYTES else None
        ready = []
        for i in range(1, jobs):
            wjob = dataclasses.replace(job, seed=seed + i)  # each process samples its own points
            ready.append(ctx.Event())
            p = ctx.Process(target=_worker_main, args=(wjob, send, stop, ready[-1]), daemon=True,
                            name=f"nnstudio-sweep-{i}")
            p.start()
            workers.append(p)
        # start together, so the budget is shared rather than used up before a worker is ready
        task.report_progress(0, trials, f"starting {jobs - 1} worker process(es)")
        for p, r in zip(workers, ready):
            while not r.wait(0.2) and p.is_alive() and not task.stop.is_set():
                pass
        watcher_done = threading.Event()

        def watch():  # a stop request reaches the worker processes too
            while not watcher_done.wait(0.2):
                if task.stop.is_set():
                    stop.set()
                    return

        threading.Thread(target=watch, daemon=True).start()
    try:
        _optimize(job, prepared, task, stop)
    finally:
        for p in workers:
            while p.is_alive():
                p.join(0.5)
                if task.stop.is_set():
                    stop.set()
        if workers:
            watcher_done.set()
    for p in workers:
        if p.exitcode:
            task.report_message(f"A sweep worker process ended with status {p.exitcode}; see the log.")
    st = optuna.load_study(study_name=name, storage=store)
    return _result(st, url, time.time() - t0, task.stop.is_set(), prepared=prepared, project=project)


def load_sweep(project: Project, study: str | None = None, storage: str | None = None) -> SweepResult:
    """An existing sweep of this project (default: its latest study), e.g. to show or apply it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage or default_storage(project)
    store = open_storage(url)
    ident = project_identity(project)
    summaries = optuna.get_all_study_summaries(store, include_best_trial=False)
    if study is None:
        mine = [s for s in summaries if (s.user_attrs.get("nnstudio_project") or {}).get("key") == ident["key"]]
        if not mine:
            raise NnstudioError(f"No sweep of this project in {_redact(url)}.")
        study = max(mine, key=lambda s: (s.user_attrs.get("created") or "", s.study_name)).study_name
    elif study not in {s.study_name for s in summaries}:
        raise NnstudioError(f"No study {study!r} in {_redact(url)}.")
    st = optuna.load_study(study_name=study, storage=store)
    _check_study_project(st, url, ident)
    return _result(st, url, 0.0, False)


def best_settings(project: Project, result: SweepResult) -> tuple:
    """"Apply best": the project's model spec and training settings with the winning values put in.
    Returns ``(ModelSpec, TrainConfig)``; the caller stores them in the project."""
    if result.best is None:
        raise NnstudioError("The sweep has no completed trial yet, so there is no best setting to apply.")
    if project.model is None:
        raise NnstudioError("The project has no model to apply the settings to.")
    params = [SweepParam(name, "choice", choices=(v,)) for name, v in result.best["params"].items()]
    check_params(params, project.model)
    return apply_params(project.model, project.training, result.best["params"])


__all__ = ["SweepParam", "SweepResult", "SAMPLERS", "parse_param", "check_params", "apply_params", "set_depth",
           "scale_width", "run_sweep", "load_sweep", "best_settings", "project_identity", "default_storage",
           "make_pruning_callback"]
