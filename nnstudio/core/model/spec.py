"""ModelSpec: a JSON-able description of a network (layers after the input, and compile settings).

The input layer is not stored: its shape comes from the prepared data, so the same spec fits any
data set with a compatible shape. Every name (layer, activation, loss, optimizer, metric) resolves
through an allowlist; anything else raises NnstudioError.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from nnstudio.core.model.layers import normalize_config
from nnstudio.errors import NnstudioError

FORMAT_VERSION = 1

LOSSES: dict[str, str] = {
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
    "huber": "Huber (squared near zero, absolute far away)",
    "binary_crossentropy": "Binary cross-entropy",
    "categorical_crossentropy": "Categorical cross-entropy",
    "gaussian_nll": "Gaussian negative log-likelihood (mean-and-variance head)",
}

OPTIMIZERS: dict[str, str] = {
    "sgd": "Stochastic gradient descent (with momentum)",
    "adam": "Adam",
    "adamw": "AdamW (Adam with decoupled weight decay, Keras's default 0.004)",
    "rmsprop": "RMSprop",
}

# name -> (which tasks it applies to: "classification", "binary" or "regression", description)
METRICS: dict[str, tuple[str, str]] = {
    "accuracy": ("classification", "Fraction of samples whose predicted class is right"),
    "auc": ("binary", "Area under the ROC curve"),
    "precision": ("binary", "Of the samples called class 1, the fraction that are"),
    "recall": ("binary", "Of the class-1 samples, the fraction found"),
    "mae": ("regression", "Mean absolute error"),
    "mse": ("regression", "Mean squared error"),
    "rmse": ("regression", "Root mean squared error"),
}

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _snake(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()


def _name_stem(class_name: str) -> str:
    # Keras's own spelling of layer names: conv2d, max_pooling2d, batch_normalization
    stems = {"Conv2D": "conv2d", "Conv1D": "conv1d", "MaxPooling2D": "max_pooling2d",
             "AveragePooling2D": "average_pooling2d",
             "GlobalAveragePooling2D": "global_average_pooling2d",
             "GlobalMaxPooling2D": "global_max_pooling2d",
             "SpatialDropout2D": "spatial_dropout2d"}
    return stems.get(class_name) or _snake(class_name)


@dataclass
class LayerSpec:
    """One layer: a supported ``class_name`` and its settings (missing ones take the defaults)."""

    class_name: str
    config: dict = field(default_factory=dict)

    def __post_init__(self):
        self.config = normalize_config(self.class_name, self.config)

    def to_dict(self) -> dict:
        return {"class_name": self.class_name, "config": json.loads(json.dumps(self.config))}

    @classmethod
    def from_dict(cls, d: Any) -> "LayerSpec":
        if not isinstance(d, dict) or "class_name" not in d:
            raise NnstudioError(f"A layer must be written as {{\"class_name\": ..., \"config\": "
                                f"{{...}}}}, not {str(d)[:80]}.")
        extra = set(d) - {"class_name", "config"}
        if extra:
            raise NnstudioError(f"Unexpected key(s) {', '.join(sorted(extra))} in layer "
                                f"{d['class_name']!r}.")
        return cls(d["class_name"], dict(d.get("config") or {}))

    def replace(self, **changes) -> "LayerSpec":
        """A copy with some settings changed (handy for forms and undo)."""
        return LayerSpec(self.class_name, {**self.config, **changes})


def layer_names(layers: list[LayerSpec]) -> list[str]:
    """Stable names per position: dense_1, dense_2, conv2d_1, ... (used for the Keras layers too)."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        stem = _name_stem(layer.class_name)
        counts[stem] = counts.get(stem, 0) + 1
        names.append(f"{stem}_{counts[stem]}")
    return names


@dataclass
class ModelSpec:
    """Layers after the input plus compile settings; ``to_dict``/``from_dict`` round-trip exactly."""

    layers: list[LayerSpec] = field(default_factory=list)
    loss: str = "mse"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0          # used by sgd and rmsprop
    metrics: list[str] = field(default_factory=list)
    name: str = "model"

    def __post_init__(self):
        self.layers = list(self.layers)
        self.metrics = list(self.metrics)
        for layer in self.layers:
            if not isinstance(layer, LayerSpec):
                raise NnstudioError(f"Expected a LayerSpec, got {type(layer).__name__}.")
        if self.loss not in LOSSES:
            raise NnstudioError(f"Unknown loss {self.loss!r}. Choose one of: {', '.join(LOSSES)}.")
        if self.optimizer not in OPTIMIZERS:
            raise NnstudioError(f"Unknown optimizer {self.optimizer!r}. Choose one of: "
                                f"{', '.join(OPTIMIZERS)}.")
        for m in self.metrics:
            if m not in METRICS:
                raise NnstudioError(f"Unknown metric {m!r}. Choose from: {', '.join(METRICS)}.")
        if len(set(self.metrics)) != len(self.metrics):
            raise NnstudioError("Each metric may be listed only once.")
        if (isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float))
                or not math.isfinite(self.learning_rate) or self.learning_rate <= 0):
            raise NnstudioError(f"The learning rate must be a positive number (got "
                                f"{self.learning_rate!r}).")
        if (isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float))
                or not 0 <= self.momentum < 1):
            raise NnstudioError(f"Momentum must be a number from 0 up to (not including) 1 "
                                f"(got {self.momentum!r}).")
        self.learning_rate = float(self.learning_rate)
        self.momentum = float(self.momentum)
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise NnstudioError(f"The model name must be 1-64 letters, digits, '_', '.' or '-' "
                                f"(got {self.name!r}).")

    def layer_names(self) -> list[str]:
        return layer_names(self.layers)

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "layers": [layer.to_dict() for layer in self.layers],
            "loss": self.loss,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "metrics": list(self.metrics),
        }

    @classmethod
    def from_dict(cls, d: Any) -> "ModelSpec":
        if not isinstance(d, dict):
            raise NnstudioError("A model spec must be a JSON object.")
        version = d.get("format_version")
        if version is None:
            raise NnstudioError("This is not an nnstudio model spec (no format_version).")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise NnstudioError(f"Invalid model spec format_version {version!r}.")
        if version > FORMAT_VERSION:
            raise NnstudioError(f"This model spec was written by a newer nnstudio (format "
                                f"{version}; this version reads up to {FORMAT_VERSION}).")
        known = {"format_version", "name", "layers", "loss", "optimizer", "learning_rate",
                 "momentum", "metrics"}
        extra = set(d) - known
        if extra:
            raise NnstudioError(f"Unexpected key(s) in model spec: {', '.join(sorted(extra))}.")
        layers = d.get("layers", [])
        if not isinstance(layers, list):
            raise NnstudioError("The model spec's 'layers' must be a list.")
        metrics = d.get("metrics", [])
        if not isinstance(metrics, list):
            raise NnstudioError("The model spec's 'metrics' must be a list of names.")
        kwargs = {k: d[k] for k in ("name", "loss", "optimizer", "learning_rate", "momentum")
                  if k in d}
        return cls(layers=[LayerSpec.from_dict(x) for x in layers], metrics=metrics, **kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise NnstudioError(f"The model spec is not valid JSON: {exc}.") from None
        return cls.from_dict(d)


__all__ = ["LayerSpec", "ModelSpec", "LOSSES", "OPTIMIZERS", "METRICS", "FORMAT_VERSION",
           "layer_names"]
