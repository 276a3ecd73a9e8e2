"""The Trainer: ``keras.Model.fit`` plus one callback that reports, pauses and stops.

The callback overrides only ``on_epoch_end`` and ``on_train_batch_end`` and keeps the batch hook
cheap: a stop check, a pause wait, a NaN check and a report at most every ~100 ms. Keras 3 hands
batch hooks the running mean of the epoch so far; each batch's own loss is recovered from
consecutive means. A stopped or NaN-terminated run is a normal result flagged in its status.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from nnstudio.core.files import atomic_path, atomic_write_json
from nnstudio.core.tasks import Task
from nnstudio.core.training.augment import check_augmentation, class_weights, resolve_augmentation, sky_symmetries
from nnstudio.core.training.config import RunRecord, TrainConfig
from nnstudio.core.training.schedule import cosine_rate, resolve_schedule
from nnstudio.errors import NnstudioError

BATCH_REPORT_INTERVAL = 0.1  # seconds
MAX_STEPS_PER_EXECUTION = 16  # batches per compiled call: Python's per-batch cost shared by 16
BATCH_UPDATES_PER_EPOCH = 20  # but at least this many batch reports an epoch, for the live curve


def steps_per_execution(steps: int) -> int:
    """Batches per compiled call for an epoch of ``steps`` batches: a small model's step is short
    enough that Keras's per-call work is a fifth of it; running up to 16 in one call removes most
    of that, while the live curve still gets about 20 points an epoch and Stop acts within 16 batches."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, steps // BATCH_UPDATES_PER_EPOCH))


def batch_losses_from_means(means: list[float]) -> list[float]:
    """Per-batch losses from Keras 3's running epoch means (mean_i = average of batches 0..i)."""
    out, prev = [], 0.0
    for i, m in enumerate(means):
        out.append(m * (i + 1) - prev * i)
        prev = m
    return out


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def atomic_save_model(model, path: Path) -> None:
    """Save a Keras model so a crash never leaves a half-written file at ``path``."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def finite_or_none(v):
    return float(v) if v is not None and math.isfinite(float(v)) else None


#: metrics of a standardised regression target, and the power of its scale that restores the units
_SCALED_METRICS = {"mae": 1, "mean_absolute_error": 1, "rmse": 1, "root_mean_squared_error": 1,
                   "mse": 2, "mean_squared_error": 2}


def target_units(prepared):
    """A function putting a run's epoch logs into the target's units: a regression target is
    standardised for training, so its error metrics (mae, rmse, mse and their val_ forms) are
    multiplied back by its scale. The loss stays as trained (standardised), and is labelled so."""
    std = (prepared.target_scaler or {}).get("std") if prepared.problem == "regression" else None
    if not std or std == 1.0:
        return dict

    def convert(logs: dict) -> dict:
        out = dict(logs)
        for k, v in logs.items():
            power = _SCALED_METRICS.get(k[4:] if k.startswith("val_") else k)
            if power and v is not None:
                out[k] = float(v) * std ** power
        return out

    return convert


def make_reporter(task: Task, epochs: int, steps: int, batch_size: int, convert=dict):
    """The one reporting callback (a class defined here so Keras is imported only when training)."""
    import keras

    class Reporter(keras.callbacks.Callback):
        # Keras may run on_train_batch_end in its thread pool, so the next batches start while
        # this one's loss is read (reading it waits for the device); stop and pause act in
        # on_train_batch_begin, on the training thread, where Keras calls it in order
        async_safe = True

        def __init__(self):
            super().__init__()
            self.nan = False
            self.last_good = None
            self.t_last = 0.0
            self.prev_mean = 0.0
            self.prev_batch = -1
            self.epoch = 0
            self.t_start = time.perf_counter()
            self.samples = 0
            self.lock = threading.Lock()

        def on_train_begin(self, logs=None):
            self.last_good = self.model.get_weights()
            self.t_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            # Keras has finished every batch callback of the previous epoch by now
            self.epoch = epoch
            self.prev_mean = 0.0
            self.prev_batch = -1

        def on_train_batch_begin(self, batch, logs=None):
            if task.stop.is_set():
                self.model.stop_training = True
            if task.pause.is_set():
                task.report_message("Paused.")
                task.wait_if_paused()

        def on_train_batch_end(self, batch, logs=None):
            mean = float(logs.get("loss", float("nan"))) if logs else float("nan")
            if not math.isfinite(mean):
                self.nan = True
                self.model.stop_training = True
            with self.lock:
                if batch <= self.prev_batch:     # overtaken by a later call's report
                    return
                # Keras reports the epoch's running mean after the last of the call's batches
                ran = batch - self.prev_batch
                loss = (mean * (batch + 1) - self.prev_mean * (self.prev_batch + 1)) / ran
                self.prev_mean, self.prev_batch = mean, batch
                self.samples += batch_size * ran
                now = time.perf_counter()
                if now - self.t_last < BATCH_REPORT_INTERVAL:
                    return
                self.t_last = now
                done = self.epoch * steps + batch + 1
                rate = self.samples / max(now - self.t_start, 1e-9)
                task.report_batch({"epoch": self.epoch, "batch": batch, "steps": steps,
                                   "loss": loss, "samples_per_s": rate, "step": done})
                task.report_progress(done, epochs * steps,
                                     f"epoch {self.epoch + 1}/{epochs} · batch {batch + 1}/{steps}")

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            weights = self.model.get_weights() if not self.nan else None
            if (weights is not None and all(math.isfinite(v) for v in logs.values())
                    and all(np.isfinite(w).all() for w in weights)):
                self.last_good = weights
            else:
                self.nan = True
                self.model.stop_training = True
            lr = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(np.asarray(lr.value if hasattr(lr, "value") else lr))
            task.report_partial({"epoch": epoch, "logs": convert(logs)})
            task.report_progress((epoch + 1) * steps, epochs * steps, f"epoch {epoch + 1}/{epochs} done")

        def on_train_end(self, logs=None):
            if self.nan and self.last_good is not None:
                self.model.set_weights(self.last_good)

    return Reporter()


CHECKPOINT_INTERVAL = 5.0  # seconds between checkpoint writes while training


def make_epoch_checkpoint(run_dir: Path, record: RunRecord, reporter, prior_history: dict | None,
                          prior_duration: float, monitor: str, resumable: bool = True,
                          save_best: bool = True, best_value: float | None = None,
                          interval: float | None = None, convert=dict):
    """Checkpoints of a run: ``last.keras`` (weights and optimizer state) with ``run.json`` (epoch
    counter and history so far, status "running") for resuming, and ``best.keras`` (the best epoch
    by ``monitor``).

    The best weights are kept in memory every epoch; the files are written after an epoch when
    ``interval`` seconds have passed since the last write, and when training ends. A crash so
    loses at most one epoch or ``interval`` seconds of work, and short epochs do not spend their
    time (and the GUI its smoothness: saving holds the interpreter lock) writing files.
    """
    import keras

    interval = CHECKPOINT_INTERVAL if interval is None else interval

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = {k: list(v) for k, v in (prior_history or {}).items()}
            self.t0 = time.perf_counter()
            self.last_write = time.perf_counter()
            self.best_value = best_value if best_value is not None else math.inf
            self.best_weights = None
            self.pending = False
            self.last_saved = None          # the weights last.keras holds

        def on_epoch_end(self, epoch, logs=None):
            n_before = len(self.history.get("loss", []))
            for k, v in convert(logs or {}).items():
                self.history.setdefault(k, [None] * n_before).append(finite_or_none(v))
            for v in self.history.values():  # a key this epoch lacks keeps its place
                v.extend([None] * (n_before + 1 - len(v)))
            if reporter.nan:  # keep the last good checkpoint
                return
            value = finite_or_none((logs or {}).get(monitor))
            if save_best and value is not None and value < self.best_value:
                # the reporter (called just before) already copied this epoch's good weights
                self.best_value, self.best_weights = value, reporter.last_good
            self.pending = True
            if time.perf_counter() - self.last_write >= interval:
                self.write()

        def on_train_end(self, logs=None):
            if self.pending and not reporter.nan:
                self.write()

        def write(self):
            current = self.model.get_weights()
            best_is_current = self.best_weights is not None and _same_weights(self.best_weights, current)
            if self.best_weights is not None and not (resumable and best_is_current):
                self.model.set_weights(self.best_weights)
                atomic_save_model(self.model, run_dir / "best.keras")
                self.model.set_weights(current)
            if resumable:
                atomic_save_model(self.model, run_dir / "last.keras")
                self.last_saved = current
                if best_is_current:     # the same file: a copy, not a second save
                    _copy_atomic(run_dir / "last.keras", run_dir / "best.keras")
                record.history = {k: list(v) for k, v in self.history.items()}
                record.epochs_run = len(record.history.get("loss", []))
                record.best_epoch = best_index(record.history.get(monitor, []))
                record.duration_s = round(prior_duration + time.perf_counter() - self.t0, 3)
                record.status = "running"
                atomic_write_json(run_dir / "run.json", record.to_dict())
            self.best_weights = None
            self.pending = False
            self.last_write = time.perf_counter()

    return EpochCheckpoint()


def best_index(values: list) -> int | None:
    losses = [v if v is not None else math.inf for v in values]
    return int(np.argmin(losses)) if losses else None


def _restore_callback_state(history: dict, monitor: str, run_dir: Path, early, reduce_lr):
    """A callback that gives early stopping and learning-rate reduction the memory of the epochs
    before a resume (they reset themselves in ``on_train_begin``; this one runs after them)."""
    import keras

    values = history.get(monitor, [])
    best = best_index(values)

    class RestoreState(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if best is None or values[best] is None:
                return
            since = len(values) - 1 - best
            if early is not None:
                early.best, early.best_epoch, early.wait = values[best], best, since
                if early.restore_best_weights and (run_dir / "best.keras").exists():
                    from nnstudio.core.model import load_keras

                    early.best_weights = load_keras(run_dir / "best.keras").get_weights()
            if reduce_lr is not None:
                reduce_lr.best, reduce_lr.wait = values[best], since

    return RestoreState()


def train(prepared, spec, config: TrainConfig, run_dir: Path, task: Task | None = None,
          run_id: str = "run", model=None, initial_epoch: int = 0, callbacks: list | None = None,
          resumable: bool = True, prior: RunRecord | None = None,
          save_best: bool = True, offset: dict | None = None,
          extra_settings: dict | None = None) -> tuple[RunRecord, object]:
    """Train ``spec`` on ``prepared`` and save the result into ``run_dir``.

    Returns the run record and the trained ``keras.Model``. ``model`` continues training an
    existing model (resume); otherwise one is built from the spec with ``config.seed``.
    ``callbacks`` are extra Keras callbacks (e.g. a sweep's pruning reporter). With ``resumable``
    every finished epoch leaves ``last.keras`` and an up-to-date ``run.json`` (see :func:`resume`);
    ``prior`` is the record of the run being resumed (its history and duration continue).
    ``save_best=False`` skips ``best.keras`` (sweep trials: each saved file costs time per epoch).
    ``offset`` adds a fitted formula to the prediction, so the network learns the residual.
    ``extra_settings`` are recorded with the run's settings (e.g. the model it started from).
    """
    from nnstudio.core.training.tf_runtime import import_tensorflow

    task = task or Task()
    config.validate()
    info = import_tensorflow()
    import keras
    import tensorflow as tf

    from nnstudio.core.model import build_model, infer

    if prepared.count("train") == 0:
        raise NnstudioError("The training split is empty: give it a larger fraction or load more data.")
    inference = infer(spec, prepared.input_shape, problem=prepared.problem, n_classes=prepared.n_classes)
    if not inference.ok:
        raise NnstudioError("The model is not valid: " + "; ".join(inference.errors))
    if config.learning_rate is not None:
        spec = dataclasses.replace(spec, learning_rate=config.learning_rate)

    # a resumed run shuffles with a seed of its own, not epoch 0's order again
    seed = config.seed + initial_epoch
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # older TF: determinism is best effort
        pass
    n = prepared.count("train")
    steps = max(1, math.ceil(n / config.batch_size))
    schedule = resolve_schedule(config.schedule, prepared)
    # a fresh run (or a fine-tune's start) gets the schedule; a resumed one keeps its optimizer's
    rate = (cosine_rate(spec.learning_rate, config.epochs, steps)
            if schedule == "cosine" and prior is None and initial_epoch == 0 else None)
    if model is None:
        from nnstudio.core.training.devices import choose_strategy, make_strategy, mixed_precision_policy

        n_gpus = 0 if config.device == "cpu" else len(info["gpus"])
        # mixed precision only on GPUs; the policy is global in Keras, so it is set for every build
        keras.mixed_precision.set_global_policy(mixed_precision_policy(config.mixed_precision, n_gpus))
        try:
            if choose_strategy(config.device, n_gpus) == "mirrored":  # several GPUs: one replica each
                with make_strategy("mirrored").scope():
                    model = build_model(spec, prepared.input_shape, prepared.problem, prepared.n_classes,
                                        seed=config.seed, offset=offset, learning_rate=rate)
            else:
                model = build_model(spec, prepared.input_shape, prepared.problem, prepared.n_classes,
                                    seed=config.seed, offset=offset, learning_rate=rate)
        finally:
            keras.mixed_precision.set_global_policy("float32")
    elif rate is not None:
        from nnstudio.core.model.build import compile_model

        compile_model(model, spec, learning_rate=rate)

    model.steps_per_execution = steps_per_execution(steps)
    model.train_function = model.test_function = None      # rebuilt for that many steps a call
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    augment = resolve_augmentation(config.augmentation, prepared)
    check_augmentation(augment, prepared)
    weights = (class_weights(config.class_weight, prepared.y["train"], prepared.n_classes)
               if prepared.problem == "classification" else None)
    train_ds = (tf.data.Dataset.from_tensor_slices((prepared.x["train"], prepared.y["train"]))
                .shuffle(n, seed=seed, reshuffle_each_iteration=True))
    train_ds = train_ds.batch(config.batch_size)
    if augment == "sky":
        train_ds = sky_symmetries(train_ds, seed)
    train_ds = train_ds.prefetch(tf.data.AUTOTUNE)
    settings = {**config.to_dict(), "augmentation": augment, "class_weight": "balanced" if weights else "none",
                "schedule": schedule,
                **(extra_settings or {})}
    has_val = prepared.count("val") > 0
    val = (prepared.x["val"], prepared.y["val"]) if has_val else None
    monitor = "val_loss" if has_val else "loss"
    prior_history = prior.history if prior is not None else {}
    prior_best = best_index(prior_history.get(monitor, []))

    convert = target_units(prepared)
    reporter = make_reporter(task, config.epochs, steps, config.batch_size, convert)
    cbs = []
    early = reduce_lr = None
    if config.early_stopping:
        # under the cosine schedule the run goes its full length (the best epoch is still kept)
        patience = config.epochs if schedule == "cosine" else config.patience
        early = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                              restore_best_weights=config.restore_best, verbose=0)
        cbs.append(early)
    if config.reduce_lr and schedule != "cosine":  # a schedule already sets the rate
        reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=config.reduce_lr_factor,
                                                      patience=config.reduce_lr_patience, verbose=0)
        cbs.append(reduce_lr)
    if prior_history:
        cbs.append(_restore_callback_state(prior_history, monitor, run_dir, early, reduce_lr))
    if config.tensorboard:
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    cbs.extend(callbacks or [])
    cbs.append(reporter)  # its on_train_end has the final word on the weights (NaN guard)

    if prior is not None:
        record = prior
        record.status, record.message, record.settings = "running", "", settings
    else:
        record = RunRecord(id=run_id, started=_now(), settings=settings, model=spec.to_dict(),
                           device=info["device"] if config.device != "cpu" else "CPU")
    prior_duration = record.duration_s if prior is not None else 0.0
    if resumable or save_best:
        # after the reporter, which flags a NaN epoch before the checkpoint would save it
        checkpoint = make_epoch_checkpoint(
            run_dir, record, reporter, prior_history, prior_duration, monitor, resumable=resumable,
            save_best=save_best, convert=convert,
            best_value=prior_history[monitor][prior_best] if prior_best is not None else None)
        cbs.append(checkpoint)
    else:
        checkpoint = None
    t0 = time.perf_counter()
    try:
        with _device_scope(config.device, info["gpus"]):
            hist = model.fit(train_ds, validation_data=val, epochs=config.epochs,
                             initial_epoch=initial_epoch, callbacks=cbs, verbose=0, class_weight=weights,
                             shuffle=False)  # tf.data already shuffles, seeded
    except tf.errors.ResourceExhaustedError:
        raise NnstudioError(
            f"Out of memory while training with batch size {config.batch_size}. "
            f"Try a smaller batch size (e.g. {max(1, config.batch_size // 2)}) or a smaller model.") from None
    except MemoryError:
        raise NnstudioError(
            f"Out of memory while training with batch size {config.batch_size}. "
            "Try a smaller batch size or a smaller model.") from None

    record.duration_s = round(prior_duration + time.perf_counter() - t0, 3)
    per_epoch = [convert({k: vals[i] for k, vals in hist.history.items() if i < len(vals)})
                 for i in range(len(hist.history.get("loss", [])))]
    history = _join_history(prior_history, {k: [finite_or_none(e.get(k)) for e in per_epoch]
                                            for k in hist.history})
    record.history = history
    record.epochs_run = len(history.get("loss", []))
    record.best_epoch = best_index(history.get(monitor, []))
    if reporter.nan:
        record.status = "nan"
        record.message = ("The loss became NaN or infinite; training stopped and the last good weights "
                          "were restored. Try a lower learning rate or check the inputs for extreme values.")
        task.report_message(record.message)
    elif task.stop.is_set():
        record.status = "stopped"
        record.message = f"Stopped by request after {record.epochs_run} epochs; the weights are kept."
    else:
        record.status = "completed"
    best = record.best_epoch if (config.early_stopping and config.restore_best and record.best_epoch is not None) \
        else (record.epochs_run - 1)
    record.final = {k: v[best] for k, v in history.items() if v and 0 <= best < len(v) and v[best] is not None}
    _save_final(model, run_dir / "model.keras", checkpoint)
    record.model_path = str(Path(run_dir.name) / "model.keras")
    atomic_write_json(run_dir / "run.json", record.to_dict())
    return record, model


def _save_final(model, path: Path, checkpoint) -> None:
    """The run's model file. When the last checkpoint already holds these weights (it is written
    as training ends, after early stopping restored the best epoch), copy it: a second save of the
    same model costs as much as the first and holds the interpreter lock while it zips."""
    last = path.with_name("last.keras")
    saved = checkpoint.last_saved if checkpoint is not None else None
    if saved is not None and last.exists() and _same_weights(model.get_weights(), saved):
        _copy_atomic(last, path)
        return
    atomic_save_model(model, path)


def _same_weights(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _copy_atomic(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def _join_history(before: dict, after: dict) -> dict:
    """Curves of a resumed run: the epochs before, then the new ones (a key missing on one side is
    padded with None, so every curve stays aligned with the epoch number)."""
    n_before = len(before.get("loss", []))
    n_after = len(after.get("loss", []))
    out = {}
    for k in list(before) + [k for k in after if k not in before]:
        a = list(before.get(k, [None] * n_before))
        a += [None] * (n_before - len(a))
        b = list(after.get(k, [None] * n_after))
        out[k] = a + b
    return out


def read_run_record(run_dir: Path) -> RunRecord:
    path = Path(run_dir) / "run.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NnstudioError(f"No run record in {run_dir}: there is nothing to resume.") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise NnstudioError(f"The run record {path} cannot be read ({exc}).") from None
    return RunRecord.from_dict(d)


def resume(prepared, spec, run_dir: Path, task: Task | None = None,
           epochs: int | None = None) -> tuple[RunRecord, object]:
    """Continue a stopped or crashed run from its last checkpoint.

    The model comes back with its optimizer state; training goes on at the next epoch with the
    run's own settings (``epochs`` extends it), early stopping remembers its best epoch, and the
    curves continue where they ended. A checkpoint whose model no longer matches ``spec`` is refused.
    """
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    name = record.id
    # a run from before schedules existed trained at a constant rate, and goes on so
    # the settings also note where the run came from (a fine-tune's start, a repeat's split seed)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig.from_dict({"schedule": "constant", **{k: v for k, v in record.settings.items() if k in known}})
    if epochs is not None:
        if not isinstance(epochs, int) or epochs <= record.epochs_run:
            raise NnstudioError(f"{name} has already run {record.epochs_run} epochs; to continue it, give "
                                f"more epochs than that (got {epochs}).")
        config = dataclasses.replace(config, epochs=epochs)
    if record.status == "nan":
        raise NnstudioError(f"{name} ended with a NaN loss; resuming it would repeat that. Lower the "
                            "learning rate and train a new run.")
    if record.epochs_run >= config.epochs:
        raise NnstudioError(f"{name} already ran all {config.epochs} of its epochs; give more epochs "
                            "(e.g. --epochs) to continue it.")
    if record.status == "completed" and epochs is None:
        raise NnstudioError(f"{name} finished (early stopping ended it after {record.epochs_run} epochs); "
                            "there is nothing to resume. Give more epochs to continue it anyway.")
    checkpoint = run_dir / "last.keras"
    if not checkpoint.exists():
        raise NnstudioError(f"{name} has no resumable checkpoint (last.keras): it stopped before its first "
                            "epoch ended, or was trained without checkpoints. Train it again.")
    effective = dataclasses.replace(spec, learning_rate=config.learning_rate) \
        if config.learning_rate is not None else spec
    if effective.to_dict() != record.model:
        from nnstudio.core.model.diff import model_changes

        changes = model_changes(record.model, effective.to_dict())
        raise NnstudioError(f"The model changed since {name} was trained ({'; '.join(changes) or 'layers differ'}), "
                            "so its checkpoint no longer matches. Undo the change to resume it, or train a new run.")
    from nnstudio.core.model import load_keras
    from nnstudio.core.training.tf_runtime import import_tensorflow

    import_tensorflow()
    model = load_keras(checkpoint)
    shape = tuple(model.input_shape[1:])
    if shape != tuple(prepared.input_shape):
        raise NnstudioError(f"The data changed since {name} was trained (inputs {shape} then, "
                            f"{tuple(prepared.input_shape)} now), so its checkpoint no longer matches.")
    origin = {k: v for k, v in record.settings.items() if k not in known}
    return train(prepared, spec, config, run_dir, task=task, run_id=record.id, model=model,
                 initial_epoch=record.epochs_run, prior=record, extra_settings=origin)


class _device_scope:
    """Pin to the CPU when asked; otherwise TensorFlow places ops itself."""

    def __init__(self, device: str, gpus: list[str]):
        self.device, self.gpus, self.ctx = device, gpus, None

    def __enter__(self):
        if self.device == "cpu" and self.gpus:
            import tensorflow as tf

            self.ctx = tf.device("/cpu:0")
            self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)
        return False
