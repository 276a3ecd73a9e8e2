"""The model layer: JSON-able specs, live shape/parameter checks, templates, Keras build/import.

Importing this package does not import Keras: ``build_model``, ``spec_from_model``,
``load_keras_file`` and the objects in :mod:`keras_objects` import it when they are used.
"""
from __future__ import annotations

from nnstudio.core.model.activations import ACTIVATIONS, ALPHA_DEFAULTS, ActivationInfo
from nnstudio.core.model.diagram import DiagramBox, diagram_data
from nnstudio.core.model.infer import (Inference, LayerInfo, infer, metric_applies, output_kind,
                                       shape_text)
from nnstudio.core.model.layers import LAYER_TYPES, Field, LayerType, validate_layer
from nnstudio.core.model.spec import (FORMAT_VERSION, LOSSES, METRICS, OPTIMIZERS, LayerSpec,
                                      ModelSpec, layer_names)
from nnstudio.core.model.templates import (TEMPLATES, default_template, make_template,
                                           suggest_output)

_LAZY = {
    "build_model": "nnstudio.core.model.build",
    "spec_from_model": "nnstudio.core.model.build",
    "make_layer": "nnstudio.core.model.build",
    "load_keras_file": "nnstudio.core.model.importer",
    "load_keras": "nnstudio.core.model.importer",
    "GaussianHead": "nnstudio.core.model.keras_objects",
    "gaussian_nll": "nnstudio.core.model.keras_objects",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACTIVATIONS", "ALPHA_DEFAULTS", "ActivationInfo", "DiagramBox", "diagram_data",
           "Inference", "LayerInfo", "infer", "metric_applies", "output_kind",
           "shape_text", "LAYER_TYPES", "Field", "LayerType",
           "validate_layer", "FORMAT_VERSION", "LOSSES", "METRICS", "OPTIMIZERS", "LayerSpec",
           "ModelSpec", "layer_names", "TEMPLATES", "default_template", "make_template",
           "suggest_output", *_LAZY]
