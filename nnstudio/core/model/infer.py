"""Live shape and parameter inference in pure Python (no TensorFlow): instant on every edit.

Follows Keras's own arithmetic (a test compares with real Keras) but refuses stacks that Keras
would accept silently and that are nearly always a mistake, e.g. Dense on an image without
Flatten (Keras would apply it to the last axis only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from nnstudio.core.model.layers import size_tuple, validate_layer
from nnstudio.core.model.spec import METRICS, LayerSpec, ModelSpec, layer_names

Shape = tuple[int, ...]


@dataclass
class LayerInfo:
    name: str
    class_name: str
    output_shape: Shape | None          # without the batch axis; None when unknown
    trainable_params: int = 0
    non_trainable_params: int = 0
    error: str | None = None

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass
class Inference:
    input_shape: Shape
    layers: list[LayerInfo] = field(default_factory=list)
    model_errors: list[str] = field(default_factory=list)   # not tied to one layer (loss, metrics)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def trainable_params(self) -> int:
        return sum(i.trainable_params for i in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(i.non_trainable_params for i in self.layers)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def errors(self) -> list[str]:
        """Every problem, each layer's prefixed with its position and name."""
        out = [f"Layer {k + 1} ({i.name}): {i.error}" for k, i in enumerate(self.layers) if i.error]
        return out + list(self.model_errors)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_layers(self) -> list[int]:
        return [k for k, i in enumerate(self.layers) if i.error]


def shape_text(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return " × ".join(str(d) for d in shape)


class _LayerError(Exception):
    pass


def _describe(shape: Shape) -> str:
    if len(shape) == 1:
        return f"a flat vector of {shape[0]} values"
    if len(shape) == 2:
        return f"a sequence of shape {shape_text(shape)} (length × channels)"
    if len(shape) == 3:
        return f"an image of shape {shape_text(shape)} (height × width × channels)"
    return f"an array of shape {shape_text(shape)}"


def _weights_params(fan_in: int, units: int, use_bias: bool) -> int:
    return fan_in * units + (units if use_bias else 0)


def _need_flat(layer: str, shape: Shape) -> None:
    if len(shape) != 1:
        raise _LayerError(
            f"{layer} needs a flat vector, but its input is {_describe(shape)}. Add Flatten (or "
            f"GlobalAveragePooling2D) before it. (Keras would apply {layer} to the last axis only, "
            f"which is almost never what you want.)")


def _need_rank(layer: str, shape: Shape, rank: int) -> None:
    if len(shape) == rank:
        return
    want = {2: "a sequence (length × channels)", 3: "an image (height × width × channels)"}[rank]
    hint = ""
    if len(shape) == 1:
        hint = (f" A {layer} cannot follow Flatten, Dense or global pooling: move it before them"
                + (", or add Reshape to give the vector a channel axis." if rank == 2 else "."))
    elif layer == "Conv2D" and len(shape) == 2:
        hint = " Use Conv1D for sequences."
    elif layer == "Conv1D" and len(shape) == 3:
        hint = " Use Conv2D for images."
    raise _LayerError(f"{layer} needs {want}, but its input is {_describe(shape)}.{hint}")


def _window(layer: str, what: str, sizes: Shape, window: Shape, strides: Shape, padding: str) -> Shape:
    out = []
    for n, k, s in zip(sizes, window, strides):
        if padding == "valid":
            if k > n:
                raise _LayerError(
                    f"The {what} {shape_text(window)} is larger than its input "
                    f"{shape_text(sizes)} (padding 'valid'): the output would be empty. Use a "
                    f"smaller {what}, padding 'same', or remove a pooling step before it.")
            out.append((n - k) // s + 1)
        else:
            out.append(-(-n // s))
    return tuple(out)


def _infer_layer(layer: LayerSpec, shape: Shape) -> tuple[Shape, int, int]:
    c, cfg = layer.class_name, layer.config
    if c == "Dense":
        _need_flat("Dense", shape)
        return (cfg["units"],), _weights_params(shape[0], cfg["units"], cfg["use_bias"]), 0
    if c in ("Conv2D", "Conv1D"):
        ndim = 2 if c == "Conv2D" else 1
        _need_rank(c, shape, ndim + 1)
        k = size_tuple(cfg["kernel_size"], ndim)
        out = _window(c, "kernel", shape[:-1], k, size_tuple(cfg["strides"], ndim), cfg["padding"])
        params = _weights_params(math.prod(k) * shape[-1], cfg["filters"], cfg["use_bias"])
        return (*out, cfg["filters"]), params, 0
    if c in ("MaxPooling2D", "AveragePooling2D"):
        _need_rank(c, shape, 3)
        p = size_tuple(cfg["pool_size"], 2)
        s = size_tuple(cfg["strides"], 2) if cfg["strides"] is not None else p
        out = _window(c, "pool size", shape[:-1], p, s, cfg["padding"])
        return (*out, shape[-1]), 0, 0
    if c in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        _need_rank(c, shape, 3)
        return (shape[-1],), 0, 0
    if c == "Flatten":
        return (math.prod(shape),), 0, 0
    if c == "Reshape":
        target = list(cfg["target_shape"])
        total = math.prod(shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if total % known:
                raise _LayerError(f"Cannot reshape {total} values into {target}: {total} is not "
                                  f"a multiple of {known}.")
            target[target.index(-1)] = total // known
        elif known != total:
            raise _LayerError(f"Cannot reshape {shape_text(shape)} ({total} values) into "
                              f"{shape_text(tuple(target))} ({known} values).")
        return tuple(target), 0, 0
    if c == "SpatialDropout2D":
        _need_rank(c, shape, 3)
        return shape, 0, 0
    if c in ("Dropout", "Activation"):
        return shape, 0, 0
    if c == "BatchNormalization":
        return shape, 2 * shape[-1], 2 * shape[-1]
    if c == "GaussianHead":
        _need_flat("GaussianHead", shape)
        return (2,), _weights_params(shape[0], 2, True), 0
    raise _LayerError(f"Unsupported layer {c}.")  # pragma: no cover - LayerSpec refuses these


def output_kind(problem: str | None, n_classes: int | None) -> str | None:
    """The output a target asks for: "binary", "multiclass", "regression", or None if unknown."""
    if problem == "classification":
        return "binary" if n_classes == 2 else "multiclass"
    if problem == "regression":
        return "regression"
    return None


def metric_applies(name: str, kind: str | None) -> bool:
    """Whether the metric ``name`` fits an output of this ``kind`` (any metric fits None)."""
    applies = METRICS[name][0]
    if kind is None:
        return True
    return (applies == "regression" and kind == "regression"
            or applies == "classification" and kind in ("binary", "multiclass")
            or applies == "binary" and kind == "binary")


_LOSSES_FOR = {
    "binary": ("binary_crossentropy",),
    "multiclass": ("categorical_crossentropy",),
    "regression": ("mse", "mae", "huber"),
    "gaussian": ("gaussian_nll",),
}


def _check_output(spec: ModelSpec, info: Inference, kind: str, n_classes: int | None) -> None:
    last, last_info = spec.layers[-1], info.layers[-1]
    shape = last_info.output_shape
    c = last.class_name
    if c == "GaussianHead":
        if kind != "regression":
            last_info.error = ("A GaussianHead predicts a mean and a spread for regression; "
                               "this target is a class. " + _suggest_text(kind, n_classes))
        return
    if c not in ("Dense", "Activation"):
        last_info.error = ("The network should end with its output layer (Dense or GaussianHead), "
                           f"not {c}. " + _suggest_text(kind, n_classes))
        return
    act = last.config["activation"]
    want_units, want_act = {"binary": (1, "sigmoid"), "multiclass": (n_classes, "softmax"),
                            "regression": (1, "linear")}[kind]
    if shape != (want_units,) or act != want_act:
        got = f"{shape_text(shape)} value(s) with '{act}'"
        last_info.error = f"The output gives {got}. " + _suggest_text(kind, n_classes)


def _suggest_text(kind: str, n_classes: int | None) -> str:
    if kind == "binary":
        return ("For two classes use 1 sigmoid unit (the probability of the second class) with "
                "binary_crossentropy.")
    if kind == "multiclass":
        return (f"For {n_classes} classes use {n_classes} softmax units (one probability per class) "
                f"with categorical_crossentropy.")
    return ("For regression use 1 linear unit with mse (or a GaussianHead with gaussian_nll to "
            "predict an uncertainty too).")


def _check_loss(spec: ModelSpec, info: Inference, kind: str | None) -> None:
    gaussian = bool(spec.layers) and spec.layers[-1].class_name == "GaussianHead"
    if gaussian and spec.loss != "gaussian_nll":
        info.model_errors.append(f"The loss {spec.loss} does not fit a GaussianHead output "
                                 f"(mean and sigma): use gaussian_nll.")
        return
    if not gaussian and spec.loss == "gaussian_nll":
        info.model_errors.append("gaussian_nll needs a GaussianHead as the last layer (it "
                                 "predicts a mean and a sigma).")
        return
    if kind is None:
        return
    key = "gaussian" if gaussian else kind
    allowed = _LOSSES_FOR[key]
    if spec.loss not in allowed:
        target = {"binary": "a two-class target", "multiclass": "a multi-class target",
                  "regression": "a regression target", "gaussian": "a GaussianHead"}[key]
        info.model_errors.append(f"The loss {spec.loss} does not fit {target}: use "
                                 f"{' or '.join(allowed)}.")


def _check_metrics(spec: ModelSpec, info: Inference, kind: str | None) -> None:
    if kind is None:
        return
    for m in spec.metrics:
        if not metric_applies(m, kind):
            applies = METRICS[m][0]
            where = {"regression": "regression", "classification": "classification",
                     "binary": "two-class classification"}[applies]
            info.model_errors.append(f"The metric {m} applies to {where} only.")


def infer(spec: ModelSpec, input_shape, problem: str | None = None,
          n_classes: int | None = None) -> Inference:
    """Output shape and parameter counts of every layer, with the offending layer marked.

    ``input_shape`` excludes the batch axis. With ``problem`` ("classification" or "regression")
    the output layer, loss and metrics are checked against the target too.
    """
    input_shape = tuple(int(d) for d in input_shape)
    info = Inference(input_shape=input_shape)
    if not input_shape or any(d < 1 for d in input_shape):
        info.model_errors.append(f"Invalid input shape {input_shape}.")
    if problem not in (None, "classification", "regression"):
        info.model_errors.append(f"Unknown problem kind {problem!r} (classification or regression).")
        problem = None
    if problem == "classification" and (n_classes is None or n_classes < 2):
        info.model_errors.append("Classification needs at least 2 classes.")
        problem = None
    shape: Shape | None = input_shape if not info.model_errors else None
    for name, layer in zip(layer_names(spec.layers), spec.layers):
        li = LayerInfo(name, layer.class_name, None)
        info.layers.append(li)
        problems = validate_layer(layer)
        if problems:
            li.error = " ".join(problems)
            shape = None
            continue
        if shape is None:
            continue
        try:
            shape, li.trainable_params, li.non_trainable_params = _infer_layer(layer, shape)
            li.output_shape = shape
        except _LayerError as exc:
            li.error = str(exc)
            shape = None
    if not spec.layers:
        info.model_errors.append("The model has no layers: add at least an output layer.")
        return info
    kind = output_kind(problem, n_classes)
    if kind and shape is not None:
        _check_output(spec, info, kind, n_classes)
    _check_loss(spec, info, kind)
    _check_metrics(spec, info, kind)
    return info




def spec_summary(model_dict: dict | None, input_shape=None) -> str:
    """A Keras-like text summary of a stored model spec: layer, output shape, parameters (the
    shapes and counts need ``input_shape``)."""
    import json

    from nnstudio.errors import NnstudioError

    if not model_dict:
        return ""
    try:
        spec = ModelSpec.from_dict(model_dict)
    except NnstudioError:
        return json.dumps(model_dict, indent=1)
    lines = [(f"Model {spec.name}: loss {spec.loss}, optimizer {spec.optimizer} "
              f"(learning rate {spec.learning_rate:g})"), ""]
    if input_shape is None:
        return "\n".join(lines + [layer.class_name for layer in spec.layers])
    info = infer(spec, tuple(input_shape))
    lines.append(f"{'layer':<28}{'output shape':<20}{'parameters':>12}")
    lines.append(f"{'Input':<28}{shape_text(info.input_shape):<20}{0:>12}")
    for layer, li in zip(spec.layers, info.layers):
        lines.append(f"{layer.class_name:<28}{shape_text(li.output_shape):<20}{li.params:>12,}")
    lines.append(f"\nTotal parameters: {info.total_params:,}")
    return "\n".join(lines)


__all__ = ["infer", "Inference", "LayerInfo", "metric_applies", "output_kind", "shape_text", "spec_summary"]
