"""ModelSpec -> compiled keras.Model, and back (exactly) for a plain stack of supported layers.

Keras is imported inside the functions; call these from workers, not on the GUI thread.
"""
from __future__ import annotations

from nnstudio.core.model.activations import ALPHA_DEFAULTS
from nnstudio.core.model.infer import infer
from nnstudio.core.model.layers import LAYER_TYPES, size_tuple
from nnstudio.core.model.spec import METRICS, LayerSpec, ModelSpec, layer_names
from nnstudio.errors import NnstudioError

# Keras's spelling of built-in activations that differ from ours.
_KERAS_ACTIVATION_ALIASES = {"silu": "swish"}
_INITIALIZER_CLASSES = {"GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal",
                        "HeUniform": "he_uniform", "HeNormal": "he_normal",
                        "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal"}


# -- spec -> keras ---------------------------------------------------------------------------

def _activation(cfg: dict):
    if cfg.get("alpha") is not None and cfg["activation"] in ALPHA_DEFAULTS:
        from nnstudio.core.model.keras_objects import register
        return register()["ParamActivation"](cfg["activation"], cfg["alpha"])
    return cfg["activation"]


def _regularizer(cfg: dict):
    import keras
    return keras.regularizers.L2(cfg["l2"]) if cfg["l2"] else None


def make_layer(layer: LayerSpec, name: str | None = None):
    """The Keras layer for one LayerSpec (unbuilt)."""
    from keras import layers as kl

    from nnstudio.core.model.keras_objects import register

    c, cfg = layer.class_name, layer.config
    kw = {"name": name} if name else {}
    if c == "Dense":
        return kl.Dense(cfg["units"], activation=_activation(cfg), use_bias=cfg["use_bias"],
                        kernel_initializer=cfg["kernel_initializer"],
                        kernel_regularizer=_regularizer(cfg), **kw)
    if c in ("Conv2D", "Conv1D"):
        ndim = 2 if c == "Conv2D" else 1
        cls = kl.Conv2D if ndim == 2 else kl.Conv1D
        return cls(cfg["filters"], size_tuple(cfg["kernel_size"], ndim),
                   strides=size_tuple(cfg["strides"], ndim), padding=cfg["padding"],
                   activation=_activation(cfg), use_bias=cfg["use_bias"],
                   kernel_initializer=cfg["kernel_initializer"],
                   kernel_regularizer=_regularizer(cfg), **kw)
    if c in ("MaxPooling2D", "AveragePooling2D"):
        cls = getattr(kl, c)
        strides = size_tuple(cfg["strides"], 2) if cfg["strides"] is not None else None
        return cls(size_tuple(cfg["pool_size"], 2), strides=strides, padding=cfg["padding"], **kw)
    if c in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return getattr(kl, c)(**kw)
    if c == "Flatten":
        return kl.Flatten(**kw)
    if c == "Reshape":
        return kl.Reshape(tuple(cfg["target_shape"]), **kw)
    if c == "Dropout":
        return kl.Dropout(cfg["rate"], **kw)
    if c == "SpatialDropout2D":
        return kl.SpatialDropout2D(cfg["rate"], **kw)
    if c == "BatchNormalization":
        return kl.BatchNormalization(momentum=cfg["momentum"], epsilon=cfg["epsilon"], **kw)
    if c == "Activation":
        return kl.Activation(_activation(cfg), **kw)
    if c == "GaussianHead":
        return register()["GaussianHead"](kernel_initializer=cfg["kernel_initializer"],
                                          kernel_regularizer=_regularizer(cfg), **kw)
    raise NnstudioError(f"Unsupported layer {c}.")  # pragma: no cover - LayerSpec refuses it


def _loss(spec: ModelSpec):
    import keras

    from nnstudio.core.model.keras_objects import register
    return {
        "mse": lambda: keras.losses.MeanSquaredError(name="mse"),
        "mae": lambda: keras.losses.MeanAbsoluteError(name="mae"),
        "huber": lambda: keras.losses.Huber(name="huber"),
        "binary_crossentropy": lambda: keras.losses.BinaryCrossentropy(name="binary_crossentropy"),
        # class labels are int indices, so the sparse form (no one-hot needed)
        "categorical_crossentropy": lambda: keras.losses.SparseCategoricalCrossentropy(
            name="categorical_crossentropy"),
        "gaussian_nll": lambda: register()["gaussian_nll"],
    }[spec.loss]()


def _metric(name: str, spec: ModelSpec):
    import keras

    from nnstudio.core.model.keras_objects import register
    gaussian = bool(spec.layers) and spec.layers[-1].class_name == "GaussianHead"
    binary = spec.loss == "binary_crossentropy"
    if name == "accuracy":
        cls = keras.metrics.BinaryAccuracy if binary else keras.metrics.SparseCategoricalAccuracy
        return cls(name="accuracy")
    if name in ("auc", "precision", "recall"):
        return {"auc": keras.metrics.AUC, "precision": keras.metrics.Precision,
                "recall": keras.metrics.Recall}[name](name=name)
    if gaussian:
        return register()[{"mae": "HeadMAE", "mse": "HeadMSE", "rmse": "HeadRMSE"}[name]](name=name)
    return {"mae": keras.metrics.MeanAbsoluteError, "mse": keras.metrics.MeanSquaredError,
            "rmse": keras.metrics.RootMeanSquaredError}[name](name=name)


def _optimizer(spec: ModelSpec, learning_rate=None):
    """``learning_rate``: a Keras schedule in place of the spec's constant rate."""
    import keras
    lr = spec.learning_rate if learning_rate is None else learning_rate
    if spec.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=spec.momentum)
    if spec.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr, momentum=spec.momentum)
    if spec.optimizer == "adamw":
        return keras.optimizers.AdamW(lr)
    return keras.optimizers.Adam(lr)


def build_model(spec: ModelSpec, input_shape, problem: str | None = None,
                n_classes: int | None = None, seed: int | None = None, offset: dict | None = None,
                learning_rate=None):
    """A compiled ``keras.Sequential`` for ``spec``; refuses a spec that :func:`infer` marks invalid.

    ``seed`` seeds Python, numpy and the backend first, so the initial weights repeat. ``offset``
    (the arguments of ``FormulaOffset``) adds a fitted formula to the prediction: the layers then
    learn what the formula misses (a functional model, the formula its last layer).
    ``learning_rate``: a Keras schedule in place of the spec's constant rate.
    """
    result = infer(spec, input_shape, problem, n_classes)
    if not result.ok:
        raise NnstudioError("The model is not valid yet: " + " ".join(result.errors))
    import keras

    from nnstudio.core.model.keras_objects import register
    register()
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    layers = [make_layer(layer, name) for layer, name in zip(spec.layers, layer_names(spec.layers))]
    if offset:
        from nnstudio.core.model.keras_objects import FormulaOffset

        inp = keras.Input(shape=tuple(input_shape))
        h = inp
        for layer in layers:
            h = layer(h)
        model = keras.Model(inp, FormulaOffset(**offset, name="formula_offset")([inp, h]), name=spec.name)
    else:
        model = keras.Sequential([keras.Input(shape=tuple(input_shape)), *layers], name=spec.name)
    compile_model(model, spec, learning_rate=learning_rate)
    return model


def compile_model(model, spec: ModelSpec, learning_rate=None) -> None:
    """Compile ``model`` with ``spec``'s optimizer, loss and metrics (again after freezing layers);
    ``learning_rate`` a schedule in place of the spec's rate."""
    model.compile(optimizer=_optimizer(spec, learning_rate), loss=_loss(spec),
                  metrics=[_metric(m, spec) for m in spec.metrics])


# -- keras -> spec ---------------------------------------------------------------------------

def _decode_activation(value) -> tuple[str, float | None]:
    if isinstance(value, str):
        name = _KERAS_ACTIVATION_ALIASES.get(value, value)
        if name in LAYER_TYPES["Dense"].field("activation").choices:
            return name, None
    elif isinstance(value, dict) and value.get("registered_name") == "nnstudio>ParamActivation":
        cfg = value.get("config") or {}
        return cfg.get("activation"), cfg.get("alpha")
    raise _Unsupported(f"activation {value!r} is not one nnstudio offers")


def _decode_initializer(value) -> str:
    if isinstance(value, str) and value in _INITIALIZER_CLASSES.values():
        return value
    if isinstance(value, dict) and value.get("class_name") in _INITIALIZER_CLASSES:
        return _INITIALIZER_CLASSES[value["class_name"]]
    raise _Unsupported(f"kernel initializer {value!r} is not one nnstudio offers")


def _decode_l2(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dict) and value.get("class_name") == "L2":
        return float(value["config"]["l2"])
    raise _Unsupported(f"kernel regularizer {value!r} is not plain L2")


class _Unsupported(Exception):
    pass


def _canonical(config: dict) -> dict:
    # what says "the same layer": everything but the name and the dtype policy
    return {k: v for k, v in config.items() if k not in ("name", "dtype")}


def layer_from_keras(klayer) -> LayerSpec:
    """The LayerSpec that rebuilds ``klayer`` exactly; raises _Unsupported otherwise."""
    from nnstudio.core.model.keras_objects import register
    register()
    c = type(klayer).__name__
    if c not in LAYER_TYPES:
        raise _Unsupported(f"layer {klayer.name!r} is a {c}, which nnstudio does not offer")
    cfg = klayer.get_config()
    out = {}
    for f in LAYER_TYPES[c].fields:
        if f.name == "activation":
            out["activation"], out["alpha"] = _decode_activation(cfg.get("activation"))
        elif f.name == "alpha":
            continue
        elif f.name == "kernel_initializer":
            out[f.name] = _decode_initializer(cfg.get("kernel_initializer"))
        elif f.name == "l2":
            out[f.name] = _decode_l2(cfg.get("kernel_regularizer"))
        elif f.name in cfg:
            v = cfg[f.name]
            out[f.name] = list(v) if isinstance(v, tuple) else v
    try:
        spec = LayerSpec(c, out)
        rebuilt = make_layer(spec)
    except Exception as exc:  # a value outside what the form allows
        raise _Unsupported(f"layer {klayer.name!r}: {exc}") from None
    if _canonical(rebuilt.get_config()) != _canonical(cfg):
        diff = sorted(k for k in set(cfg) | set(rebuilt.get_config())
                      if k not in ("name", "dtype")
                      and cfg.get(k) != rebuilt.get_config().get(k))
        raise _Unsupported(f"layer {klayer.name!r} ({c}) has settings nnstudio does not offer: "
                           f"{', '.join(diff)}")
    return spec


def output_layer(model):
    """The network's own output layer: the last layer, or the one before a formula offset."""
    layers = [la for la in model.layers if type(la).__name__ != "FormulaOffset"]
    return layers[-1]


def _plain_stack(model) -> list:
    import keras
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise _Unsupported("the model has several inputs or outputs")
    prev = model.inputs[0]
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) != 1 or layer.input is not prev:
            raise _Unsupported("the model is not a plain stack of layers (it branches or merges)")
        prev = layer.output
    if prev is not model.outputs[0]:
        raise _Unsupported("the model is not a plain stack of layers")
    return layers


def _round_float(x) -> float:
    # optimizer variables are float32: 0.001 comes back as 0.0010000000474974513
    return float(f"{float(x):.7g}")


def _compile_settings(model, layers: list[LayerSpec], notes: list[str]) -> dict:
    compiled = {}
    try:
        compiled = model.get_compile_config() or {}
    except Exception:  # not compiled
        compiled = {}
    out = {}
    opt = compiled.get("optimizer")
    if isinstance(opt, dict):
        name = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop"}.get(opt.get("class_name"))
        ocfg = opt.get("config", {})
        lr = ocfg.get("learning_rate")
        if isinstance(lr, dict):  # a schedule: its peak rate (the training settings choose the schedule)
            sched = lr.get("config", {})
            lr = sched.get("warmup_target") or sched.get("initial_learning_rate")
        if name and isinstance(lr, (int, float)):
            out["optimizer"] = name
            out["learning_rate"] = _round_float(lr)
            if name in ("sgd", "rmsprop"):
                out["momentum"] = _round_float(ocfg.get("momentum", 0.0))
        else:
            notes.append(f"Optimizer {opt.get('class_name')} is not offered; using Adam.")
    loss = compiled.get("loss")
    loss_name = _decode_loss(loss)
    if loss_name:
        out["loss"] = loss_name
    else:
        if loss is not None:
            notes.append(f"Loss {loss!r:.80} is not offered; chose one to fit the output.")
        out["loss"] = _loss_for_output(layers)
    metrics = []
    for m in compiled.get("metrics") or []:
        name = m if isinstance(m, str) else (m.get("config") or {}).get("name") if isinstance(m, dict) else None
        name = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse",
                "root_mean_squared_error": "rmse"}.get(name, name)
        if name in METRICS and name not in metrics:
            metrics.append(name)
        else:
            notes.append(f"Metric {name or m!r:.60} is not offered; left out.")
    out["metrics"] = metrics
    return out


def _decode_loss(loss) -> str | None:
    if isinstance(loss, str):
        return {"mse": "mse", "mean_squared_error": "mse", "mae": "mae",
                "mean_absolute_error": "mae", "huber": "huber",
                "binary_crossentropy": "binary_crossentropy",
                "categorical_crossentropy": "categorical_crossentropy",
                "sparse_categorical_crossentropy": "categorical_crossentropy"}.get(loss)
    if not isinstance(loss, dict):
        return None
    if "nnstudio>gaussian_nll" in (loss.get("registered_name"), loss.get("config")):
        return "gaussian_nll"
    cfg = loss.get("config") or {}
    if not isinstance(cfg, dict) or cfg.get("from_logits") or cfg.get("label_smoothing"):
        return None
    name = {"MeanSquaredError": "mse", "MeanAbsoluteError": "mae",
            "BinaryCrossentropy": "binary_crossentropy",
            "SparseCategoricalCrossentropy": "categorical_crossentropy"}.get(loss.get("class_name"))
    if loss.get("class_name") == "Huber" and cfg.get("delta", 1.0) == 1.0:
        name = "huber"
    return name


def _loss_for_output(layers: list[LayerSpec]) -> str:
    if not layers:
        return "mse"
    last = layers[-1]
    if last.class_name == "GaussianHead":
        return "gaussian_nll"
    act = last.config.get("activation")
    return {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}.get(act, "mse")


def _model_from_keras(model, notes: list[str]) -> ModelSpec:
    layers = [layer_from_keras(k) for k in _plain_stack(model)]
    settings = _compile_settings(model, layers, notes)
    name = model.name if isinstance(model.name, str) else "model"
    try:
        return ModelSpec(layers=layers, name=name, **settings)
    except NnstudioError:
        return ModelSpec(layers=layers, **settings)


def spec_from_model(model) -> ModelSpec:
    """The ModelSpec of a plain stack of supported layers; NnstudioError saying why not."""
    try:
        return _model_from_keras(model, [])
    except _Unsupported as exc:
        raise NnstudioError(f"This model cannot be edited in nnstudio: {exc}.") from None


def input_shape_of(model) -> tuple[int, ...]:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    return tuple(int(d) for d in shape[1:])


__all__ = ["build_model", "spec_from_model", "make_layer", "layer_from_keras", "input_shape_of"]
