"""What a network diagram shows, box by box (the GUI draws it; nothing is drawn here)."""
from __future__ import annotations

from dataclasses import dataclass

from nnstudio.core.model.infer import Inference, shape_text
from nnstudio.core.model.layers import LAYER_TYPES
from nnstudio.core.model.spec import LayerSpec, ModelSpec


@dataclass
class DiagramBox:
    name: str            # "input", "dense_1", ...
    kind: str            # class name, or "Input"
    shape: str           # output shape text, e.g. "32 × 32 × 16"
    params: int          # trainable + non-trainable
    detail: str = ""     # the settings worth reading on the box, e.g. "64 units, relu"
    error: str | None = None


def _detail(layer: LayerSpec) -> str:
    c, cfg = layer.class_name, layer.config

    def act():
        a = cfg["activation"]
        return f"{a} (α={cfg['alpha']:g})" if cfg.get("alpha") is not None else a

    def size(v):
        return "×".join(map(str, v)) if isinstance(v, list) else f"{v}×{v}" if c != "Conv1D" else str(v)
    try:
        if c == "Dense":
            return f"{cfg['units']} unit{'s' if cfg['units'] != 1 else ''}, {act()}"
        if c in ("Conv2D", "Conv1D"):
            stride = f", stride {cfg['strides']}" if cfg["strides"] != 1 else ""
            return f"{cfg['filters']} filters {size(cfg['kernel_size'])}, {act()}{stride}"
        if c in ("MaxPooling2D", "AveragePooling2D"):
            return f"pool {size(cfg['pool_size'])}"
        if c in ("Dropout", "SpatialDropout2D"):
            return f"rate {cfg['rate']:g}"
        if c == "Activation":
            return act()
        if c == "Reshape":
            return "to " + " × ".join(map(str, cfg["target_shape"]))
        if c == "GaussianHead":
            return "mean, sigma"
    except (TypeError, ValueError):  # an invalid setting; the error says what
        return ""
    return ""


def diagram_data(spec: ModelSpec, inference: Inference) -> list[DiagramBox]:
    """One box for the input, then one per layer, in order."""
    boxes = [DiagramBox("input", "Input", shape_text(inference.input_shape), 0, "from the data")]
    for layer, info in zip(spec.layers, inference.layers):
        boxes.append(DiagramBox(info.name, layer.class_name, shape_text(info.output_shape),
                                info.params, _detail(layer), info.error))
    return boxes


def box_title(kind: str) -> str:
    return LAYER_TYPES[kind].title if kind in LAYER_TYPES else kind


__all__ = ["DiagramBox", "diagram_data", "box_title"]
