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
import os
import time
from pathlib import Path

import numpy as np

from nnstudio.core.tasks import Task
from nnstudio.core.training.config import RunRecord, TrainConfig
from nnstudio.errors import NnstudioError

BATCH_REPORT_INTERVAL = 0.1  # seconds


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, allow_nan=False, default=_json_default)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def finite_or_none(v):
    return float(v) if v is not None and math.isfinite(float(v)) else None


def make_reporter(task: Task, epochs: int, steps: int, batch_size: int):
    """The one reporting callback (a class defined here so Keras is imported only when training)."""
    import keras

    class Reporter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.nan = False
            self.last_good = None
            self.t_last = 0.0
            self.prev_mean = 0.0
            self.epoch = 0
            self.t_start = time.perf_counter()
            self.samples = 0

        def on_train_begin(self, logs=None):
            self.last_good = self.model.get_weights()
            self.t_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.prev_mean = 0.0

        def on_train_batch_end(self, batch, logs=None):
            if task.stop.is_set():
                self.model.stop_training = True
            if task.pause.is_set():
                task.report_message("Paused.")
                task.wait_if_paused()
            mean = float(logs.get("loss", float("nan"))) if logs else float("nan")
            loss = mean * (batch + 1) - self.prev_mean * batch
            self.prev_mean = mean
            self.samples += batch_size
            if not math.isfinite(mean):
                self.nan = True
                self.model.stop_training = True
            now = time.perf_counter()
            if now - self.t_last >= BATCH_REPORT_INTERVAL:
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
            task.report_partial({"epoch": epoch, "logs": logs})
            task.report_progress((epoch + 1) * steps, epochs * steps, f"epoch {epoch + 1}/{epochs} done")

        def on_train_end(self, logs=None):
            if self.nan and self.last_good is not None:
                self.model.set_weights(self.last_good)

    return Reporter()


def train(prepared, spec, config: TrainConfig, run_dir: Path, task: Task | None = None,
          run_id: str = "run", model=None, initial_epoch: int = 0) -> tuple[RunRecord, object]:
    """Train ``spec`` on ``prepared`` and save the result into ``run_dir``.

    Returns the run record and the trained ``keras.Model``. ``model`` continues training an
    existing model (resume); otherwise one is built from the spec with ``config.seed``.
    """
    from nnstudio.core.tfload import import_tensorflow

    task = task or Task()
    config.validate()
    info = import_tensorflow()
    import keras
    import tensorflow as tf

    from nnstudio.core.model import build_model, infer

    if prepared.count("train") == 0:
        raise NnstudioError("The training split is empty: give it a larger fraction or load more data.")
    inference = infer(spec, prepared.input_shape, task=prepared.task, n_classes=prepared.n_classes)
    if not inference.ok:
        raise NnstudioError("The model is not valid: " + "; ".join(inference.errors))
    if config.learning_rate is not None:
        spec = dataclasses.replace(spec, learning_rate=config.learning_rate)

    keras.utils.set_random_seed(config.seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # older TF: determinism is best effort
        pass
    if model is None:
        model = build_model(spec, prepared.input_shape, prepared.task, prepared.n_classes, seed=config.seed)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    n = prepared.count("train")
    steps = max(1, math.ceil(n / config.batch_size))
    train_ds = (tf.data.Dataset.from_tensor_slices((prepared.x["train"], prepared.y["train"]))
                .shuffle(n, seed=config.seed, reshuffle_each_iteration=True)
                .batch(config.batch_size)
                .prefetch(tf.data.AUTOTUNE))
    has_val = prepared.count("val") > 0
    val = (prepared.x["val"], prepared.y["val"]) if has_val else None
    monitor = "val_loss" if has_val else "loss"

    reporter = make_reporter(task, config.epochs, steps, config.batch_size)
    callbacks = [keras.callbacks.ModelCheckpoint(str(run_dir / "best.keras"), monitor=monitor,
                                                 save_best_only=True, verbose=0)]
    if config.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience,
                                                       restore_best_weights=config.restore_best,
                                                       verbose=0))
    if config.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=config.reduce_lr_factor,
                                                           patience=config.reduce_lr_patience, verbose=0))
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    callbacks.append(reporter)  # last: its on_train_end has the final word on the weights (NaN guard)

    record = RunRecord(id=run_id, started=_now(), settings=config.to_dict(), model=spec.to_dict(),
                       device=info["device"] if config.device != "cpu" else "CPU")
    t0 = time.perf_counter()
    try:
        with _device_scope(config.device, info["gpus"]):
            hist = model.fit(train_ds, validation_data=val, epochs=config.epochs,
                             initial_epoch=initial_epoch, callbacks=callbacks, verbose=0,
                             shuffle=False)  # tf.data already shuffles, seeded
    except tf.errors.ResourceExhaustedError:
        raise NnstudioError(
            f"Out of memory while training with batch size {config.batch_size}. "
            f"Try a smaller batch size (e.g. {max(1, config.batch_size // 2)}) or a smaller model.") from None
    except MemoryError:
        raise NnstudioError(
            f"Out of memory while training with batch size {config.batch_size}. "
            "Try a smaller batch size or a smaller model.") from None

    record.duration_s = round(time.perf_counter() - t0, 3)
    history = {k: [finite_or_none(v) for v in vals] for k, vals in hist.history.items()}
    record.history = history
    record.epochs_run = len(history.get("loss", []))
    losses = [v if v is not None else math.inf for v in history.get(monitor, [])]
    record.best_epoch = int(np.argmin(losses)) if losses else None
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
    atomic_save_model(model, run_dir / "model.keras")
    record.model_path = str(Path(run_dir.name) / "model.keras")
    atomic_write_json(run_dir / "run.json", record.to_dict())
    return record, model


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
