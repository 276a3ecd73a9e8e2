import json
import subprocess
import sys

import pytest

from nnstudio.core.model import (LAYER_TYPES, LayerSpec, ModelSpec, layer_names, validate_layer)
from nnstudio.errors import NnstudioError


def _spec():
    return ModelSpec(
        layers=[LayerSpec("Conv2D", {"filters": 8, "kernel_size": [3, 5], "strides": 2}),
                LayerSpec("MaxPooling2D"), LayerSpec("Flatten"),
                LayerSpec("Dense", {"units": 10, "activation": "leaky_relu", "alpha": 0.1,
                                    "l2": 0.01}),
                LayerSpec("Dropout", {"rate": 0.5}),
                LayerSpec("Dense", {"units": 3, "activation": "softmax"})],
        loss="categorical_crossentropy", optimizer="sgd", learning_rate=0.01, momentum=0.9,
        metrics=["accuracy"], name="my-net")


def test_to_dict_has_envelope_and_version_and_round_trips():
    spec = _spec()
    d = spec.to_dict()
    assert d["format_version"] == 1
    assert d["layers"][3] == {"class_name": "Dense", "config": {
        "units": 10, "activation": "leaky_relu", "alpha": 0.1, "use_bias": True,
        "kernel_initializer": "glorot_uniform", "l2": 0.01}}
    assert d["layers"][0]["config"]["kernel_size"] == [3, 5]
    assert ModelSpec.from_dict(d) == spec
    assert ModelSpec.from_json(json.dumps(d)) == spec
    assert ModelSpec.from_json(spec.to_json()).to_dict() == d


def test_layer_defaults_are_filled_and_equivalent_values_normalised():
    assert LayerSpec("Dense", {"units": 3}) == LayerSpec("Dense", {
        "units": 3, "activation": "relu", "alpha": None, "use_bias": True,
        "kernel_initializer": "glorot_uniform", "l2": 0.0})
    assert LayerSpec("Conv2D", {"kernel_size": [3, 3]}).config["kernel_size"] == 3
    assert LayerSpec("MaxPooling2D", {"pool_size": 2, "strides": [2, 2]}).config["strides"] is None
    # alpha means nothing to relu: one spelling only
    assert LayerSpec("Dense", {"activation": "relu", "alpha": 0.3}).config["alpha"] is None
    assert LayerSpec("Dense", {"units": 2}).replace(units=5).config["units"] == 5


def test_every_layer_type_default_is_valid():
    for name in LAYER_TYPES:
        assert validate_layer(LayerSpec(name)) == [], name


@pytest.mark.parametrize("d, fragment", [
    ({"format_version": 1, "layers": [{"class_name": "LSTM", "config": {}}]}, "Unknown layer type 'LSTM'"),
    ({"format_version": 1, "loss": "hinge"}, "Unknown loss 'hinge'"),
    ({"format_version": 1, "optimizer": "adagrad"}, "Unknown optimizer 'adagrad'"),
    ({"format_version": 1, "metrics": ["f1"]}, "Unknown metric 'f1'"),
    ({"format_version": 1, "layers": [{"class_name": "Dense", "config": {"units": 2, "activation": "mish"}}]}, None),
    ({"format_version": 1, "layers": [{"class_name": "Dense", "config": {"neurons": 2}}]}, "Dense has no setting 'neurons'"),
    ({"format_version": 2}, "newer nnstudio"),
    ({"layers": []}, "no format_version"),
    ({"format_version": 1, "learning_rate": -1}, "learning rate must be a positive"),
    ({"format_version": 1, "momentum": 1.5}, "Momentum"),
    ({"format_version": 1, "name": "a/b"}, "model name"),
    ({"format_version": 1, "layers": {"class_name": "Dense"}}, "must be a list"),
    ({"format_version": 1, "layers": ["Dense"]}, "class_name"),
    ({"format_version": 1, "extra": 1}, "Unexpected key"),
    ([1, 2], "JSON object"),
])
def test_bad_specs_are_refused_with_a_clear_message(d, fragment):
    if fragment is None:  # an unknown activation is a value problem: the form reports it
        spec = ModelSpec.from_dict(d)
        assert validate_layer(spec.layers[0]) == [
            "activation must be one of linear, sigmoid, tanh, relu, leaky_relu, elu, softmax, "
            "gelu, swish (got 'mish')."]
        return
    with pytest.raises(NnstudioError, match=fragment):
        ModelSpec.from_dict(d)


def test_malformed_json_is_refused():
    with pytest.raises(NnstudioError, match="not valid JSON"):
        ModelSpec.from_json('{"format_version": 1, "layers": [')


@pytest.mark.parametrize("layer, message", [
    (LayerSpec("Dense", {"units": 0}), "units must be ≥ 1 (got 0)."),
    (LayerSpec("Dense", {"units": 2.5}), "units must be a whole number (got 2.5)."),
    (LayerSpec("Dense", {"units": True}), "units must be a whole number (got True)."),
    (LayerSpec("Dropout", {"rate": -0.1}), "rate must be ≥ 0 and < 1 (got -0.1)."),
    (LayerSpec("Dropout", {"rate": 1.0}), "rate must be ≥ 0 and < 1 (got 1)."),
    (LayerSpec("Conv2D", {"kernel_size": 2.5}), "kernel_size must be a whole number (got 2.5)."),
    (LayerSpec("Conv2D", {"kernel_size": [3, 3, 3]}), "kernel_size must be one whole number or a list of 2 (got [3, 3, 3])."),
    (LayerSpec("Conv2D", {"strides": 0}), "strides must be ≥ 1 (got 0)."),
    (LayerSpec("Conv2D", {"padding": "full"}), "padding must be one of same, valid (got 'full')."),
    (LayerSpec("Dense", {"l2": -1.0}), "l2 must be ≥ 0 (got -1)."),
    (LayerSpec("Dense", {"kernel_initializer": "ones"}), "kernel_initializer must be one of glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal (got 'ones')."),
    (LayerSpec("Dense", {"use_bias": "yes"}), "use_bias must be true or false (got 'yes')."),
    (LayerSpec("Reshape", {"target_shape": [-1, -1]}), "target_shape may contain -1 only once (got [-1, -1])."),
    (LayerSpec("Reshape", {"target_shape": [4, 0]}), "target_shape entries must be positive, or -1 once (got [4, 0])."),
    (LayerSpec("BatchNormalization", {"momentum": 1.0}), "momentum must be > 0 and < 1 (got 1)."),
    (LayerSpec("BatchNormalization", {"epsilon": 0.0}), "epsilon must be > 0 (got 0)."),
    (LayerSpec("Activation", {"activation": "elu", "alpha": -1.0}), "alpha must be ≥ 0 (got -1)."),
])
def test_validate_layer_messages(layer, message):
    assert validate_layer(layer) == [message]


def test_layer_type_registry_describes_fields_for_a_form():
    dense = LAYER_TYPES["Dense"]
    units = dense.field("units")
    assert (units.type, units.default, units.min) == ("int", 32, 1)
    assert units.help
    assert dense.field("activation").choices[:2] == ("linear", "sigmoid")
    assert LAYER_TYPES["Dropout"].field("rate").max == 1.0
    assert [f.name for f in LAYER_TYPES["GaussianHead"].fields] == ["kernel_initializer", "l2"]


def test_layer_names_are_stable_per_type():
    layers = [LayerSpec("Conv2D"), LayerSpec("MaxPooling2D"), LayerSpec("Conv2D"),
              LayerSpec("Flatten"), LayerSpec("Dense"), LayerSpec("BatchNormalization"),
              LayerSpec("Dense"), LayerSpec("GaussianHead")]
    assert layer_names(layers) == ["conv2d_1", "max_pooling2d_1", "conv2d_2", "flatten_1",
                                   "dense_1", "batch_normalization_1", "dense_2",
                                   "gaussian_head_1"]


def test_importing_the_model_package_does_not_import_keras():
    code = ("import sys, nnstudio.core.model as m, nnstudio.core.model.keras_objects, "
            "nnstudio.core.model.build, nnstudio.core.model.importer; "
            "m.infer(m.make_template('dense', (4,), 'classification', 3), (4,)); "
            "print(sorted(k for k in ('keras', 'tensorflow', 'PySide6') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
