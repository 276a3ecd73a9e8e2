"""The supported layers: their settings (for a form), defaults, and value checks.

``LAYER_TYPES[class_name]`` lists each setting as a :class:`Field` (name, type, default, limits,
help), so a GUI can build a form without knowing any layer. Field types:

``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``size`` (a whole number, or a list
of ``ndim`` whole numbers for height/width), ``shape`` (a list of whole numbers, one may be -1).
``optional`` fields accept ``None`` (meaning "Keras's default" or "same as ...", see the help).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nnstudio.core.model.activations import ACTIVATIONS, ALPHA_DEFAULTS

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                "lecun_uniform", "lecun_normal")
PADDINGS = ("same", "valid")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    choices: tuple[str, ...] = ()
    ndim: int = 1            # for "size": how many axes a list may give
    optional: bool = False


@dataclass(frozen=True)
class LayerType:
    class_name: str
    title: str
    help: str
    fields: tuple[Field, ...] = ()
    category: str = "core"

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {f.name: _copy(f.default) for f in self.fields}


def _copy(v):
    return list(v) if isinstance(v, (list, tuple)) else v


def _activation(default: str) -> tuple[Field, Field]:
    return (
        Field("activation", "choice", default, "Function applied to each output value.",
              choices=tuple(ACTIVATIONS)),
        Field("alpha", "float", None, "α for leaky_relu (slope for x < 0, default 0.2) or elu "
              "(scale for x < 0, default 1.0); ignored by other activations.",
              min=0.0, optional=True),
    )


def _weights() -> tuple[Field, ...]:
    return (
        Field("use_bias", "bool", True, "Add a learned offset to each output."),
        Field("kernel_initializer", "choice", "glorot_uniform",
              "How the weights start: glorot suits tanh/sigmoid, he suits relu.",
              choices=INITIALIZERS),
        Field("l2", "float", 0.0, "L2 penalty on the weights (0 = none); larger values keep the "
              "weights small and fight over-fitting.", min=0.0),
    )


def _conv(ndim: int, default_filters: int) -> tuple[Field, ...]:
    axes = "height and width" if ndim == 2 else "length"
    return (
        Field("filters", "int", default_filters, "Number of feature maps (output channels).", min=1),
        Field("kernel_size", "size", 3, f"Size of the sliding window ({axes}).", min=1, ndim=ndim),
        Field("strides", "size", 1, "Step of the window; 2 halves the output size.", min=1, ndim=ndim),
        Field("padding", "choice", "same", "'same' pads the input so the output keeps its size "
              "(divided by the stride); 'valid' uses only full windows, so the output shrinks.",
              choices=PADDINGS),
        *_activation("relu"),
        *_weights(),
    )


def _pool(kind: str) -> tuple[Field, ...]:
    return (
        Field("pool_size", "size", 2, f"Size of the window whose {kind} is kept.", min=1, ndim=2),
        Field("strides", "size", None, "Step of the window; empty = the pool size.", min=1, ndim=2,
              optional=True),
        Field("padding", "choice", "valid", "'valid' drops incomplete windows at the edges; "
              "'same' keeps them.", choices=PADDINGS),
    )


def _rate(what: str) -> Field:
    return Field("rate", "float", 0.2, f"Fraction of {what} set to zero at random during training.",
                 min=0.0, max=1.0, max_inclusive=False)


LAYER_TYPES: dict[str, LayerType] = {lt.class_name: lt for lt in (
    LayerType("Dense", "Dense (fully connected)",
              "Every output is a weighted sum of all inputs plus a bias, passed through the activation.",
              (Field("units", "int", 32, "Number of neurons (output values).", min=1),
               *_activation("relu"), *_weights())),
    LayerType("Conv2D", "2-D convolution",
              "Slides small learned filters over an image; each filter makes one feature map.",
              _conv(2, 16), "convolution"),
    LayerType("Conv1D", "1-D convolution",
              "Slides small learned filters along a sequence (e.g. a spectrum).",
              _conv(1, 16), "convolution"),
    LayerType("MaxPooling2D", "Max pooling",
              "Keeps the largest value in each window: halves the image size with the default 2.",
              _pool("maximum"), "convolution"),
    LayerType("AveragePooling2D", "Average pooling",
              "Keeps the mean of each window: halves the image size with the default 2.",
              _pool("mean"), "convolution"),
    LayerType("GlobalAveragePooling2D", "Global average pooling",
              "Averages each feature map over the whole image: one number per channel.",
              (), "convolution"),
    LayerType("GlobalMaxPooling2D", "Global max pooling",
              "Keeps each feature map's largest value over the whole image: one number per channel, "
              "wherever the feature fired (a small source at any position).",
              (), "convolution"),
    LayerType("Flatten", "Flatten",
              "Lays an image or sequence out as one long vector, so Dense layers can follow.",
              (), "shape"),
    LayerType("Reshape", "Reshape",
              "Rearranges the values into a new shape with the same number of values.",
              (Field("target_shape", "shape", [-1, 1], "New shape without the batch axis; one "
                     "entry may be -1 (worked out from the others)."),), "shape"),
    LayerType("Dropout", "Dropout",
              "Randomly silences some inputs while training, so the network cannot rely on any one.",
              (_rate("inputs"),), "regularisation"),
    LayerType("SpatialDropout2D", "Spatial dropout",
              "Dropout for images: silences whole feature maps at a time.",
              (_rate("feature maps"),), "regularisation"),
    LayerType("BatchNormalization", "Batch normalisation",
              "Rescales each channel to zero mean and unit variance over the batch; steadies training.",
              (Field("momentum", "float", 0.99, "How slowly the running mean and variance follow "
                     "the batches.", min=0.0, max=1.0, min_inclusive=False, max_inclusive=False),
               Field("epsilon", "float", 0.001, "Small number added to the variance to avoid "
                     "dividing by zero.", min=0.0, min_inclusive=False)), "regularisation"),
    LayerType("Activation", "Activation",
              "Applies an activation function on its own, value by value.",
              _activation("relu"), "core"),
    LayerType("GaussianHead", "Mean-and-variance head",
              "Regression output with uncertainty: predicts a mean and a standard deviation "
              "(sigma = softplus(raw) + 1e-6) for each sample; train it with gaussian_nll.",
              (_weights()[1], _weights()[2]), "output"),
)}


def layer_type(class_name: str) -> LayerType:
    from nnstudio.errors import NnstudioError

    try:
        return LAYER_TYPES[class_name]
    except (KeyError, TypeError):
        raise NnstudioError(f"Unknown layer type {class_name!r}. Supported layers: "
                            f"{', '.join(LAYER_TYPES)}.") from None


# -- value checks ---------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _range_text(f: Field) -> str:
    lo = "" if f.min is None else f"{'≥' if f.min_inclusive else '>'} {f.min:g}"
    hi = "" if f.max is None else f"{'≤' if f.max_inclusive else '<'} {f.max:g}"
    return " and ".join(p for p in (lo, hi) if p)


def _in_range(f: Field, v) -> bool:
    if f.min is not None and (v < f.min if f.min_inclusive else v <= f.min):
        return False
    if f.max is not None and (v > f.max if f.max_inclusive else v >= f.max):
        return False
    return True


def check_field(f: Field, v) -> str | None:
    """A message for a person if ``v`` is not a valid value of ``f``, else None."""
    if v is None:
        return None if f.optional else f"{f.name} must be set."
    if f.type == "int":
        if not _is_int(v):
            return f"{f.name} must be a whole number (got {v!r})."
        if not _in_range(f, v):
            return f"{f.name} must be {_range_text(f)} (got {v})."
    elif f.type == "float":
        if not _is_number(v):
            return f"{f.name} must be a number (got {v!r})."
        if not _in_range(f, v):
            return f"{f.name} must be {_range_text(f)} (got {v:g})."
    elif f.type == "bool":
        if not isinstance(v, bool):
            return f"{f.name} must be true or false (got {v!r})."
    elif f.type == "choice":
        if v not in f.choices:
            return f"{f.name} must be one of {', '.join(f.choices)} (got {v!r})."
    elif f.type == "size":
        values = v if isinstance(v, (list, tuple)) else [v]
        if isinstance(v, (list, tuple)) and len(v) != f.ndim:
            return f"{f.name} must be one whole number or a list of {f.ndim} (got {v!r})."
        if not all(_is_int(x) for x in values):
            return f"{f.name} must be a whole number (got {v!r})."
        if not all(_in_range(f, x) for x in values):
            return f"{f.name} must be {_range_text(f)} (got {v!r})."
    elif f.type == "shape":
        if not isinstance(v, (list, tuple)) or not v or not all(_is_int(x) for x in v):
            return f"{f.name} must be a list of whole numbers (got {v!r})."
        if any(x == 0 or x < -1 for x in v):
            return f"{f.name} entries must be positive, or -1 once (got {list(v)})."
        if sum(1 for x in v if x == -1) > 1:
            return f"{f.name} may contain -1 only once (got {list(v)})."
    return None


def validate_layer(layer) -> list[str]:
    """Messages for every invalid setting of ``layer`` (a LayerSpec); empty when it is valid."""
    lt = LAYER_TYPES.get(layer.class_name)
    if lt is None:
        return [f"Unknown layer type {layer.class_name!r}."]
    messages = []
    for f in lt.fields:
        if f.name not in layer.config:
            if not f.optional:
                messages.append(f"{f.name} is missing.")
            continue
        msg = check_field(f, layer.config[f.name])
        if msg:
            messages.append(msg)
    return messages


def normalize_config(class_name: str, config: dict) -> dict:
    """Defaults filled in and equivalent values written one way, so equal models compare equal.

    Unknown keys raise NnstudioError; invalid values are left for :func:`validate_layer`.
    """
    from nnstudio.errors import NnstudioError

    lt = layer_type(class_name)
    if not isinstance(config, dict):
        raise NnstudioError(f"The settings of a {class_name} layer must be a mapping, "
                            f"not {type(config).__name__}.")
    unknown = sorted(set(config) - {f.name for f in lt.fields})
    if unknown:
        known = ", ".join(f.name for f in lt.fields) or "none"
        raise NnstudioError(f"{class_name} has no setting {', '.join(map(repr, unknown))} "
                            f"(its settings: {known}).")
    out = lt.defaults()
    for k, v in config.items():
        out[k] = list(v) if isinstance(v, tuple) else v
    for f in lt.fields:
        if f.type == "size":
            out[f.name] = _canonical_size(out[f.name], f.ndim)
    if "alpha" in out and out.get("activation") not in ALPHA_DEFAULTS:
        out["alpha"] = None  # ignored by this activation; keep one spelling
    if "pool_size" in out and out["strides"] is not None and out["strides"] == out["pool_size"]:
        out["strides"] = None  # Keras's default: the window does not overlap
    return out


def _canonical_size(v, ndim: int):
    if isinstance(v, list) and len(v) == ndim and all(_is_int(x) for x in v) and len(set(v)) == 1:
        return v[0]
    return v


def size_tuple(v, ndim: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * ndim


__all__ = ["Field", "LayerType", "LAYER_TYPES", "INITIALIZERS", "PADDINGS", "layer_type",
           "validate_layer", "check_field", "normalize_config", "size_tuple"]
