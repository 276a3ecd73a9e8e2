"""Export a project as a standalone, readable Keras training script.

The script repeats nnstudio's preparation (the same seeded split, the scalers fitted on the
training split), builds the same model layer by layer and trains it the same way, so with the same
seed on a CPU its first-epoch loss matches the app's. It imports only numpy, astropy and
Keras/TensorFlow, holds absolute data paths as constants at the top and runs from any directory,
on one machine or under ``tf.distribute`` (``--strategy mirrored`` or ``multiworker``).
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import textwrap
from pathlib import Path

from nnstudio import __version__
from nnstudio.core.model.spec import layer_names
from nnstudio.errors import NnstudioError


def _py(v) -> str:
    """A Python literal for JSON-like values (True/False/None, not true/false/null)."""
    return repr(v)


def _activation_code(cfg: dict) -> str:
    act, alpha = cfg.get("activation"), cfg.get("alpha")
    if alpha is not None and act in ("leaky_relu", "elu"):
        return f"ParamActivation({act!r}, {float(alpha)!r})"
    return repr(act)


def _reg(cfg: dict) -> str:
    return f"keras.regularizers.L2({cfg['l2']!r})" if cfg.get("l2") else "None"


def _size(v, ndim: int):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * ndim


def layer_code(layer, name: str) -> str:
    """Keras constructor code for one LayerSpec (mirrors ``core.model.build.make_layer``)."""
    c, cfg = layer.class_name, layer.config
    if c == "Dense":
        return (f"layers.Dense({cfg['units']}, activation={_activation_code(cfg)}, use_bias={cfg['use_bias']}, "
                f"kernel_initializer={cfg['kernel_initializer']!r}, kernel_regularizer={_reg(cfg)}, name={name!r})")
    if c in ("Conv2D", "Conv1D"):
        nd = 2 if c == "Conv2D" else 1
        return (f"layers.{c}({cfg['filters']}, {_size(cfg['kernel_size'], nd)}, strides={_size(cfg['strides'], nd)}, "
                f"padding={cfg['padding']!r}, activation={_activation_code(cfg)}, use_bias={cfg['use_bias']}, "
                f"kernel_initializer={cfg['kernel_initializer']!r}, kernel_regularizer={_reg(cfg)}, name={name!r})")
    if c in ("MaxPooling2D", "AveragePooling2D"):
        strides = _size(cfg["strides"], 2) if cfg.get("strides") is not None else None
        return f"layers.{c}({_size(cfg['pool_size'], 2)}, strides={strides}, padding={cfg['padding']!r}, name={name!r})"
    if c in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten"):
        return f"layers.{c}(name={name!r})"
    if c == "Reshape":
        return f"layers.Reshape({tuple(cfg['target_shape'])}, name={name!r})"
    if c in ("Dropout", "SpatialDropout2D"):
        return f"layers.{c}({cfg['rate']!r}, name={name!r})"
    if c == "BatchNormalization":
        return f"layers.BatchNormalization(momentum={cfg['momentum']!r}, epsilon={cfg['epsilon']!r}, name={name!r})"
    if c == "Activation":
        return f"layers.Activation({_activation_code(cfg)}, name={name!r})"
    if c == "GaussianHead":
        return (f"GaussianHead(kernel_initializer={cfg['kernel_initializer']!r}, kernel_regularizer={_reg(cfg)}, "
                f"name={name!r})")
    raise NnstudioError(f"The script export does not know the layer {c}.")


LOSS_CODE = {
    "mse": 'keras.losses.MeanSquaredError(name="mse")',
    "mae": 'keras.losses.MeanAbsoluteError(name="mae")',
    "huber": 'keras.losses.Huber(name="huber")',
    "binary_crossentropy": 'keras.losses.BinaryCrossentropy(name="binary_crossentropy")',
    # class labels are integer indices, hence the sparse form
    "categorical_crossentropy": 'keras.losses.SparseCategoricalCrossentropy(name="categorical_crossentropy")',
    "gaussian_nll": "gaussian_nll",
}


def _metric_code(name: str, spec) -> str:
    gaussian = bool(spec.layers) and spec.layers[-1].class_name == "GaussianHead"
    if name == "accuracy":
        cls = "BinaryAccuracy" if spec.loss == "binary_crossentropy" else "SparseCategoricalAccuracy"
        return f'keras.metrics.{cls}(name="accuracy")'
    if name in ("auc", "precision", "recall"):
        return f'keras.metrics.{ {"auc": "AUC", "precision": "Precision", "recall": "Recall"}[name]}(name="{name}")'
    if gaussian:
        return f'{ {"mae": "HeadMAE", "mse": "HeadMSE", "rmse": "HeadRMSE"}[name]}(name="{name}")'
    cls = {"mae": "MeanAbsoluteError", "mse": "MeanSquaredError", "rmse": "RootMeanSquaredError"}[name]
    return f'keras.metrics.{cls}(name="{name}")'


def _optimizer_code(spec) -> str:
    """The optimizer over the script's ``rate`` (a number or a schedule)."""
    if spec.optimizer == "sgd":
        return f"keras.optimizers.SGD(rate, momentum={spec.momentum!r})"
    if spec.optimizer == "rmsprop":
        return f"keras.optimizers.RMSprop(rate, momentum={spec.momentum!r})"
    if spec.optimizer == "adamw":
        return "keras.optimizers.AdamW(rate)"
    return "keras.optimizers.Adam(rate)"


def _schedule_source() -> str:
    """The script's twin of :func:`nnstudio.core.training.schedule.cosine_rate`, with its constants."""
    from nnstudio.core.training import schedule as sc

    return textwrap.dedent(f'''
        def learning_rate(n_train, epochs, images):
            """nnstudio's schedule: constant, or a warm-up from a tenth of the rate over up to
            {sc.MAX_WARMUP_EPOCHS} epochs, then a cosine down to {sc.FINAL_FRACTION:g} of it at the last step."""
            if SCHEDULE == "constant" or (SCHEDULE == "auto" and not images):
                return LEARNING_RATE
            steps = max(1, -(-n_train // BATCH_SIZE))
            warm = (0 if epochs < 3 else min({sc.MAX_WARMUP_EPOCHS}, max(1, round({sc.WARMUP_FRACTION!r} * epochs)))) * steps
            total = max(1, epochs * steps)
            if warm:
                return keras.optimizers.schedules.CosineDecay(LEARNING_RATE / 10, max(1, total - warm),
                                                              alpha={sc.FINAL_FRACTION!r}, warmup_target=LEARNING_RATE,
                                                              warmup_steps=warm)
            return keras.optimizers.schedules.CosineDecay(LEARNING_RATE, total, alpha={sc.FINAL_FRACTION!r})
        ''')


def _split_source() -> str:
    """The split functions of ``core.data.splits``, copied so the script splits identically."""
    from nnstudio.core.data import splits

    parts = [inspect.getsource(f) for f in (splits.split_counts, splits.assign_splits,
                                             splits._reach_every_split, splits.group_by_split,
                                             splits._swap)]
    return "\n\n".join(parts)


def _keras_objects_source() -> str:
    from nnstudio.core.model import keras_defs

    src = inspect.getsource(keras_defs)
    body = src.split('"""', 2)[2]  # drop the module docstring
    return "\n".join(line for line in body.strip().splitlines()
                     if line not in ("import functools", "import math", "import keras", "from keras import ops"))


# Keras 3's model.fit stops under MultiWorkerMirroredStrategy (keras-team/keras#20585), so the
# script's multi-worker path trains with TensorFlow's custom-loop pattern instead.
MULTIWORKER_SOURCE = r'''

# -- training across workers ----------------------------------------------------------------------
def per_sample_loss(loss):
    """The compiled loss without its mean over the batch (the step divides by the global batch)."""
    if isinstance(loss, keras.losses.Loss):
        return loss.__class__.from_config({**loss.get_config(), "reduction": None})
    return loss  # a plain function (gaussian_nll) already gives one value per sample


def fit_across_workers(strategy, model, plain, train, data, epochs, out, monitor, class_weight=None,
                       cosine=False):
    """Train under MultiWorkerMirroredStrategy with a step of our own under ``strategy.run``.

    Every worker takes its slice of each global batch (DATA sharding); the loss is averaged over the
    global batch and Keras's optimizer sums the gradients over the workers, so a step equals one
    step of a single process on the same batch. Validation, early stopping, learning-rate reduction
    and the best checkpoint follow the rules of Keras's callbacks, and every worker reaches the same
    decisions. ``plain`` is the same model built outside the strategy: it validates, saves and tests.
    ``class_weight`` ({class: weight}) weighs each sample's loss as Keras's fit does.
    Returns it with the trained weights, the history and this worker's index.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    worker = int(resolver.task_id or 0) if resolver is not None else 0
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = strategy.experimental_distribute_dataset(train.with_options(options))
    loss_fn, optimizer = per_sample_loss(model.loss), model.optimizer
    table = None if not class_weight else tf.constant(
        [class_weight.get(k, 1.0) for k in range(max(class_weight) + 1)], tf.float32)
    with strategy.scope():
        optimizer.build(model.trainable_variables)
    plain.optimizer.build(plain.trainable_variables)

    def copy_to_plain():  # weights and optimizer state, so that a saved model resumes like fit's
        plain.set_weights(model.get_weights())
        for mine, theirs in zip(plain.optimizer.variables, optimizer.variables):
            mine.assign(theirs.numpy())

    def replica_step(x, y):
        n = tf.distribute.get_replica_context().all_reduce("sum", tf.cast(tf.shape(x)[0], tf.float32))
        with tf.GradientTape() as tape:
            per_sample = loss_fn(y, model(x, training=True))
            if table is not None:
                per_sample *= tf.gather(table, tf.cast(tf.reshape(y, [-1]), tf.int32))
            loss = tf.nn.compute_average_loss(per_sample, global_batch_size=tf.cast(n, tf.int64))
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss, n

    @tf.function
    def step(batch):
        loss, n = strategy.run(replica_step, args=batch)
        return strategy.reduce("SUM", loss, axis=None), strategy.reduce("MEAN", n, axis=None)

    @tf.function
    def workers_mean(value):
        ctx = tf.distribute.get_replica_context
        return strategy.run(lambda v: ctx().all_reduce("mean", tf.identity(v)), args=(value,))

    def agree(value):  # one value for all workers, so that every worker stops at the same epoch
        return float(strategy.experimental_local_results(workers_mean(tf.constant(value)))[0])

    has_val = len(data["val"][1]) > 0
    if worker == 0:
        os.makedirs(out, exist_ok=True)
    history, best, wait, lr_best, lr_wait = {}, float("inf"), 0, float("inf"), 0
    best_weights = None
    for epoch in range(epochs):
        total, count = 0.0, 0.0
        for batch in batches:
            loss, n = step(batch)
            total, count = total + loss * n, count + n  # Keras's epoch loss: weighted by batch size
        logs = {"loss": float(total / count)}
        copy_to_plain()
        if has_val:
            val = plain.evaluate(*data["val"], batch_size=BATCH_SIZE, verbose=0, return_dict=True)
            logs.update({"val_" + k: float(v) for k, v in val.items()})
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
        current = agree(logs[monitor])
        wait += 1
        if current < best:  # ModelCheckpoint(save_best_only) and EarlyStopping
            best, wait, best_weights = current, 0, model.get_weights()
            if worker == 0:
                plain.save(os.path.join(out, "best.keras"))
        if REDUCE_LR and not cosine:  # ReduceLROnPlateau (min_delta 1e-4, no cooldown)
            lr_wait += 1
            if current < lr_best - 1e-4:
                lr_best, lr_wait = current, 0
            elif lr_wait >= REDUCE_LR_PATIENCE:
                optimizer.learning_rate = float(optimizer.learning_rate) * REDUCE_LR_FACTOR
                lr_wait = 0
        if EARLY_STOPPING and wait >= (epochs if cosine else PATIENCE) and epoch > 0:
            break
    if EARLY_STOPPING and RESTORE_BEST and best_weights is not None:
        plain.set_weights(best_weights)
    return plain, history, worker
'''


def script_for(project) -> str:
    """The text of the training script for ``project`` (prepared at least once, so scalers exist)."""
    if project.model is None:
        raise NnstudioError("The project has no model to export yet.")
    sel = project.resolved_selection()
    fitted = project.preparation.fitted
    if not fitted or "input" not in fitted:
        raise NnstudioError("Prepare the data once (open the project in the Data panel or train it) "
                            "before exporting, so the fitted scalers are known.")
    data_path = Path(sel.path)
    if data_path.is_dir():
        raise NnstudioError("Exporting a script for a folder of cutouts is not supported yet; "
                            "export works for FITS cubes and tables.")
    if sel.id_column:
        raise NnstudioError("Exporting a script for labels matched by an id column is not supported yet; "
                            "labels must follow the images' row order.")
    if sel.labels_hdu is not None:
        raise NnstudioError("Exporting a script for labels in a table HDU is not supported yet.")
    if project.training.residual:
        raise NnstudioError("Exporting a run that learns what the formula misses is not supported yet: "
                            "turn off 'Learn what the formula misses' to export the plain network.")
    inp = fitted["input"]
    images = inp.get("data_kind") == "images"
    spec, cfg = project.model, project.training
    names = layer_names(spec.layers)
    uses_custom = spec.loss == "gaussian_nll" or any(
        l.class_name == "GaussianHead" or l.config.get("alpha") is not None for l in spec.layers)
    model_lines = ",\n        ".join(layer_code(l, n) for l, n in zip(spec.layers, names))
    metrics = ", ".join(_metric_code(m, spec) for m in spec.metrics)
    when = _dt.datetime.now().isoformat(timespec="seconds")
    src_project = str(project.path) if project.path else project.name

    header = f'''#!/usr/bin/env python3
"""Train the model of the nnstudio project {project.name!r} exactly as nnstudio does.

Written by nnstudio {__version__} from {src_project} on {when}.
The data preparation (seeded split, scalers fitted on the training split), the model and the
training settings are those of the project; with the same seed on a CPU the first-epoch loss
matches nnstudio's.

Run it from any directory:
    python {{script}} [--epochs N] [--out DIR]
On several GPUs of one machine:   python {{script}} --strategy mirrored
On a cluster (one process per worker, each with its own TF_CONFIG):
    TF_CONFIG='{{"cluster": {{"worker": ["host1:12345", "host2:12345"]}}, "task": {{"type": "worker", "index": 0}}}}' \\
        python {{script}} --strategy multiworker
"""
import argparse
{'import functools' + chr(10) if uses_custom else ''}import json
{'import math' + chr(10) if uses_custom else ''}import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.table import Table  # noqa: E402
from keras import layers, ops  # noqa: E402,F401

# -- the data -------------------------------------------------------------------------------------
DATA_PATH = {str(data_path)!r}
HDU = {_py(sel.hdu)}
LABELS_PATH = {_py(sel.labels_path)}
KIND = {"images" if images else "table"!r}
INPUTS = {_py(list(sel.inputs))}
TARGET = {sel.target!r}
PROBLEM = {sel.problem!r}
CLASS_NAMES = {_py(sel.class_names)}

# -- the preparation ------------------------------------------------------------------------------
FRACTIONS = {_py(dict(project.preparation.fractions))}
SEED = {project.preparation.seed!r}
STRATIFY = {project.preparation.stratify!r}
MISSING = {project.preparation.missing!r}
# fitted by nnstudio on the training split only
INPUT_SCALER = json.loads({json.dumps(inp)!r})
TARGET_SCALER = {_py(fitted.get("target"))}

# -- the training ---------------------------------------------------------------------------------
EPOCHS = {cfg.epochs!r}
BATCH_SIZE = {cfg.batch_size!r}
TRAIN_SEED = {cfg.seed!r}
EARLY_STOPPING = {cfg.early_stopping!r}
PATIENCE = {cfg.patience!r}
RESTORE_BEST = {cfg.restore_best!r}
REDUCE_LR = {cfg.reduce_lr!r}
REDUCE_LR_PATIENCE = {cfg.reduce_lr_patience!r}
REDUCE_LR_FACTOR = {cfg.reduce_lr_factor!r}
LEARNING_RATE = {cfg.learning_rate if cfg.learning_rate is not None else spec.learning_rate!r}
SCHEDULE = {cfg.schedule!r}       # auto: warm-up + cosine for images (full length, best epoch kept)
AUGMENTATION = {cfg.augmentation!r}       # auto: the 8 sky symmetries for square images
CLASS_WEIGHT = {cfg.class_weight!r}       # auto: balanced past 5:1
'''
    custom = ("\n\n# -- nnstudio's Keras objects (registered, so the saved model reloads in nnstudio) ---\n"
              + _keras_objects_source() + "\n") if uses_custom else ""
    split = textwrap.dedent('''

        # -- nnstudio's seeded split ----------------------------------------------------------------
        SPLITS = ("train", "val", "cal", "test")
        DROPPED = len(SPLITS)
        _MOVE_BYTES = 32 * 1024 * 1024


        class NnstudioError(Exception):
            pass


        class Task:
            def check(self):
                pass


        ''') + _split_source()
    body = textwrap.dedent(f'''


        # -- reading and preparing --------------------------------------------------------------------
        __CLASS_LABEL__


        def read_data():
            """Inputs (float32) and raw target values, one row per sample."""
            if KIND == "images":
                with fits.open(DATA_PATH, memmap=False) as hdul:
                    hdu = hdul[HDU] if HDU is not None else next(h for h in hdul if h.data is not None)
                    x = np.asarray(hdu.data, dtype=np.float32)
                if x.ndim == 2:
                    x = x[None]
                if x.ndim == 3:
                    x = x[..., None]
                labels = Table.read(LABELS_PATH)
                values = np.asarray(labels[TARGET])
            else:
                table = Table.read(DATA_PATH, hdu=HDU) if HDU is not None else Table.read(DATA_PATH)
                x = np.column_stack([np.asarray(table[c], dtype=np.float32).reshape(len(table), -1)
                                     for c in INPUTS]).astype(np.float32)
                values = np.asarray(table[TARGET])
            if hasattr(values, "filled"):
                values = values.filled(np.nan) if values.dtype.kind == "f" else values.filled()
            return x, values


        def encode_target(values):
            if PROBLEM == "classification":
                if values.dtype.kind in "US":
                    values = np.char.strip(values.astype(str))
                    ok = values != ""
                elif values.dtype.kind == "f":
                    ok = np.isfinite(values)
                else:
                    ok = np.ones(len(values), dtype=bool)
                lookup = {{name: k for k, name in enumerate(CLASS_NAMES)}}
                y = np.zeros(len(values), dtype=np.int64)
                y[ok] = [lookup[_class_label(v)] for v in values[ok]]
                return y, ok
            y = np.asarray(values, dtype=np.float64)
            return y, np.isfinite(y)


        def scale_inputs(a):
            """The fitted input scaler, applied in place (float32, as nnstudio does)."""
            s = INPUT_SCALER
            if s["kind"] == "none":
                return a
            if s["kind"] in ("standard", "asinh"):
                shift = np.asarray(s["mean"], dtype=np.float32)
                scale = (1.0 / np.asarray(s["std"], dtype=np.float64)).astype(np.float32)
            else:  # minmax
                lo = np.asarray(s["min"], dtype=np.float64)
                shift = lo.astype(np.float32)
                scale = (1.0 / (np.asarray(s["max"], dtype=np.float64) - lo)).astype(np.float32)
            if s["kind"] == "asinh":
                a *= (1.0 / np.asarray(s["softening"], dtype=np.float64)).astype(np.float32)
                np.arcsinh(a, out=a)
            a -= shift
            a *= scale
            return a


        def prepare():
            x, values = read_data()
            y_all, ok = encode_target(values)
            bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1) & ok
            if bad.any():
                if MISSING == "refuse":
                    raise SystemExit(f"{{int(bad.sum())}} rows have missing or infinite inputs.")
                if MISSING == "drop":
                    ok &= ~bad
            rows = np.flatnonzero(ok)
            strata = y_all[rows] if PROBLEM == "classification" and STRATIFY else None
            codes = np.full(len(ok), DROPPED, dtype=np.int8)
            codes[rows] = assign_splits(len(rows), FRACTIONS, SEED, strata)
            perm, slices = group_by_split(codes)
            data = {{}}
            for s in SPLITS:
                xs = x[perm[slices[s]]]
                if MISSING == "median" and INPUT_SCALER.get("impute") is not None:
                    fill = np.broadcast_to(np.asarray(INPUT_SCALER["impute"], dtype=np.float32), xs.shape)
                    bad_values = ~np.isfinite(xs)
                    xs[bad_values] = fill[bad_values]
                ys = y_all[perm[slices[s]]]
                if PROBLEM == "regression":
                    if TARGET_SCALER:
                        ys = (ys - TARGET_SCALER["mean"]) / TARGET_SCALER["std"]
                    ys = ys.astype(np.float32)
                data[s] = (scale_inputs(xs), ys)
            return data


        # -- the model --------------------------------------------------------------------------------
        def build_model(input_shape, rate=LEARNING_RATE):
            keras.utils.set_random_seed(TRAIN_SEED)
            model = keras.Sequential([
                keras.Input(shape=input_shape),
                __MODEL_LINES__,
            ], name={spec.name!r})
            model.compile(optimizer={_optimizer_code(spec)},
                          loss={LOSS_CODE[spec.loss]},
                          metrics=[{metrics}])
            return model


        def make_strategy(name):
            if name == "mirrored":
                return tf.distribute.MirroredStrategy()
            if name == "multiworker":
                return tf.distribute.MultiWorkerMirroredStrategy()  # workers from TF_CONFIG
            return tf.distribute.get_strategy()


        IMBALANCE_AUTO = 5.0

        __SCHEDULE__

        __AUGMENT__


        def training_set(x, y):
            """The training split, shuffled the same way on every worker, in global batches; square
            images see their sky symmetries as nnstudio trains them."""
            ds = (tf.data.Dataset.from_tensor_slices((x, y))
                  .shuffle(len(x), seed=TRAIN_SEED, reshuffle_each_iteration=True)
                  .batch(BATCH_SIZE))
            square = x.ndim == 4 and x.shape[1] == x.shape[2]
            if (AUGMENTATION == "auto" and square) or AUGMENTATION == "sky":
                ds = sky_symmetries(ds, TRAIN_SEED)
            return ds.prefetch(tf.data.AUTOTUNE)
        __MULTIWORKER__

        # -- training ---------------------------------------------------------------------------------
        def main(argv=None):
            ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
            ap.add_argument("--epochs", type=int, default=EPOCHS)
            ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "trained"))
            ap.add_argument("--strategy", choices=["default", "mirrored", "multiworker"], default="default")
            args = ap.parse_args(argv)
            data = prepare()
            x_train, y_train = data["train"]
            keras.utils.set_random_seed(TRAIN_SEED)
            tf.config.experimental.enable_op_determinism()
            strategy = make_strategy(args.strategy)
            rate = learning_rate(len(x_train), args.epochs, x_train.ndim == 4)
            cosine = not isinstance(rate, float)  # runs its full length, keeps the best epoch
            with strategy.scope():
                model = build_model(x_train.shape[1:], rate)
            if args.strategy == "multiworker":
                # built before the data set, whose shuffling the seed resets would change
                plain = build_model(x_train.shape[1:], rate)
            train = training_set(x_train, y_train)
            has_val = len(data["val"][1]) > 0
            monitor = "val_loss" if has_val else "loss"
            weights = class_weights(CLASS_WEIGHT, y_train, len(CLASS_NAMES)) if CLASS_NAMES else None
            if args.strategy == "multiworker":
                model, history, worker = fit_across_workers(strategy, model, plain, train, data, args.epochs,
                                                            args.out, monitor, class_weight=weights, cosine=cosine)
                if worker != 0:  # worker 0 writes the model and the figures
                    print(json.dumps({{"first_epoch_loss": history["loss"][0], "worker": worker}}))
                    return {{"history": history}}
            else:
                os.makedirs(args.out, exist_ok=True)
                callbacks = [keras.callbacks.ModelCheckpoint(os.path.join(args.out, "best.keras"), monitor=monitor,
                                                             save_best_only=True)]
                if EARLY_STOPPING:
                    callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor,
                                                                   patience=args.epochs if cosine else PATIENCE,
                                                                   restore_best_weights=RESTORE_BEST))
                if REDUCE_LR and not cosine:
                    callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=REDUCE_LR_FACTOR,
                                                                       patience=REDUCE_LR_PATIENCE))
                history = model.fit(train, validation_data=data["val"] if has_val else None, epochs=args.epochs,
                                    callbacks=callbacks, verbose=2, shuffle=False, class_weight=weights).history
            model.save(os.path.join(args.out, "model.keras"))
            x_test, y_test = data["test"]
            test, test_ci = test_figures(model, x_test, y_test)
            summary = {{"history": {{k: [float(v) for v in vs] for k, vs in target_units(history).items()}},
                       "test": test, "test_ci": test_ci,
                       "units": "metrics in the target's units; the loss as trained (standardised target)"}}
            with open(os.path.join(args.out, "history.json"), "w") as fh:
                json.dump(summary, fh, indent=1)
            print(json.dumps({{"first_epoch_loss": summary["history"]["loss"][0], "test": test, "test_ci": test_ci}}))
            return summary


        # -- figures in the target's units, each with its 95% bootstrap interval ---------------------
        _SCALED = {{"mae": 1, "mean_absolute_error": 1, "rmse": 1, "root_mean_squared_error": 1, "mse": 2,
                   "mean_squared_error": 2}}


        def target_units(history):
            """Error metrics of a standardised target back in its units (the loss stays as trained)."""
            std = TARGET_SCALER["std"] if TARGET_SCALER else 1.0
            return {{k: [v * std ** _SCALED.get(k[4:] if k.startswith("val_") else k, 0) for v in vs]
                    for k, vs in history.items()}}


        def test_figures(model, x, y, resamples=1000, seed=0):
            """Test metrics in the target's units and their 95% intervals (bootstrap over samples)."""
            out = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
            loss = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
            idx = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
            if TARGET_SCALER:
                mean, std = TARGET_SCALER["mean"], TARGET_SCALER["std"]
                truth = np.asarray(y, dtype=np.float64) * std + mean
                pred = (out[:, 0] if out.ndim == 2 else out) * std + mean

                def figures(t, p):
                    r = p - t
                    ss = ((t - t.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
                    return {{"rmse": np.sqrt((r ** 2).mean(axis=-1)), "mae": np.abs(r).mean(axis=-1),
                            "r2": 1.0 - (r ** 2).sum(axis=-1) / ss, "bias": r.mean(axis=-1)}}
            else:
                truth = np.asarray(y).astype(np.int64)
                p = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
                pred = (p >= 0.5).astype(np.int64) if p.ndim == 1 else p.argmax(axis=1)

                def figures(t, p):
                    return {{"accuracy": (t == p).mean(axis=-1)}}
            point = {{k: float(v) for k, v in figures(truth, pred).items()}}
            spread = figures(truth[idx], pred[idx])
            ci = {{k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] for k, v in spread.items()}}
            point["loss (standardised target)" if TARGET_SCALER else "loss"] = loss
            return point, ci


        if __name__ == "__main__":
            main()
        ''')
    from nnstudio.core.data.prepare import _class_label

    # the app's own class naming, copied, so labels map to the same class indices
    from nnstudio.core.training.augment import class_weights, sky_symmetries

    augment = "\n\n\n".join(inspect.getsource(f).rstrip() for f in (class_weights, sky_symmetries))
    body = body.replace("__MULTIWORKER__", MULTIWORKER_SOURCE).replace("__MODEL_LINES__", model_lines).replace(
        "__CLASS_LABEL__", inspect.getsource(_class_label).rstrip()).replace("__AUGMENT__", augment).replace(
        "__SCHEDULE__", _schedule_source().strip())
    return header + custom + split + body


def export_project_script(project, out: Path) -> Path:
    """Write the standalone training script for ``project`` to ``out`` (a .py file)."""
    from nnstudio.core.files import atomic_write_text

    out = Path(out)
    if out.suffix != ".py":
        raise NnstudioError(f"The script's file name should end in .py (got {out.name}).")
    text = script_for(project).replace("{script}", out.name)
    compile(text, str(out), "exec")  # a generated script must at least be valid Python
    atomic_write_text(out, text)
    return out.absolute()
