"""Everything that needs Keras: inference against Keras itself, build/import round trips, saving."""
import math
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from nnstudio.core.model import LayerSpec as L  # noqa: E402
from nnstudio.core.model import (ModelSpec, build_model, infer, load_keras_file,  # noqa: E402
                                 make_template, spec_from_model)
from nnstudio.core.model.keras_objects import gaussian_nll, register  # noqa: E402
from nnstudio.errors import NnstudioError  # noqa: E402

IMG = (9, 8, 3)
CASES = {
    "dense": ([L("Dense", {"units": 5, "activation": "tanh", "l2": 0.01})], (4,)),
    "dense-nobias-alpha": ([L("Dense", {"units": 3, "use_bias": False, "activation": "leaky_relu",
                                        "alpha": 0.1, "kernel_initializer": "he_normal"})], (6,)),
    "conv2d-same": ([L("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"})], IMG),
    "conv2d-valid-stride": ([L("Conv2D", {"filters": 2, "kernel_size": [3, 2], "strides": 2,
                                          "padding": "valid", "activation": "elu", "alpha": 0.5})], IMG),
    "conv2d-same-stride3": ([L("Conv2D", {"filters": 3, "kernel_size": 4, "strides": [3, 2],
                                          "padding": "same", "activation": "gelu"})], IMG),
    "conv1d-valid": ([L("Conv1D", {"filters": 3, "kernel_size": 4, "padding": "valid",
                                   "activation": "swish"})], (11, 2)),
    "conv1d-same-stride": ([L("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2,
                                         "use_bias": False, "l2": 0.001})], (11, 2)),
    "maxpool-valid": ([L("MaxPooling2D", {"pool_size": 2})], IMG),
    "maxpool-same-3": ([L("MaxPooling2D", {"pool_size": 3, "padding": "same"})], IMG),
    "maxpool-stride": ([L("MaxPooling2D", {"pool_size": [3, 2], "strides": 1})], IMG),
    "avgpool-valid": ([L("AveragePooling2D", {"pool_size": 3})], IMG),
    "avgpool-same-stride": ([L("AveragePooling2D", {"pool_size": 2, "strides": [1, 3],
                                                    "padding": "same"})], IMG),
    "gap": ([L("GlobalAveragePooling2D")], IMG),
    "flatten": ([L("Flatten")], IMG),
    "reshape": ([L("Reshape", {"target_shape": [12, -1]})], IMG),
    "reshape-to-seq": ([L("Reshape", {"target_shape": [-1, 1]}), L("Conv1D", {"filters": 2})], (7,)),
    "dropout": ([L("Dropout", {"rate": 0.3})], IMG),
    "spatial-dropout": ([L("SpatialDropout2D", {"rate": 0.1})], IMG),
    "batchnorm-image": ([L("BatchNormalization", {"momentum": 0.9, "epsilon": 0.01})], IMG),
    "batchnorm-vector": ([L("BatchNormalization")], (5,)),
    "activation": ([L("Activation", {"activation": "softmax"})], (5,)),
    "activation-alpha": ([L("Activation", {"activation": "leaky_relu", "alpha": 0.3})], (5,)),
    "gaussian-head": ([L("Dense", {"units": 4}), L("GaussianHead", {"l2": 0.01})], (3,)),
}


def _layer_counts(layer):
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    return trainable, sum(math.prod(w.shape) for w in layer.non_trainable_weights)


def _compare(spec, shape, task=None, k=None):
    r = infer(spec, shape, task, k)
    assert r.ok, r.errors
    model = build_model(spec, shape, task, k)
    assert [layer.name for layer in model.layers] == spec.layer_names()
    for info, layer in zip(r.layers, model.layers):
        assert info.output_shape == tuple(layer.output.shape[1:]), layer.name
        assert (info.trainable_params, info.non_trainable_params) == _layer_counts(layer), layer.name
    assert r.total_params == model.count_params()
    return model


@pytest.mark.parametrize("case", list(CASES))
def test_inference_matches_keras_and_spec_round_trips(case):
    layers, shape = CASES[case]
    loss = "gaussian_nll" if case == "gaussian-head" else "mse"
    spec = ModelSpec(layers=layers, loss=loss, optimizer="rmsprop", learning_rate=0.005,
                     momentum=0.5, name=case)
    model = _compare(spec, shape)
    assert spec_from_model(model) == spec


TEMPLATE_CASES = [
    ("dense", (6,), "classification", 3), ("dense", (8, 8, 1), "classification", 2),
    ("mlp-regression", (5,), "regression", None), ("small-cnn", (20, 20, 2), "classification", 2),
    ("small-cnn", (6, 6, 1), "regression", None), ("deep-cnn", (17, 17, 3), "classification", 4),
    ("source-cnn", (24, 24, 1), "classification", 2),
    ("heteroscedastic-mlp", (5,), "regression", None),
]


@pytest.mark.parametrize("name, shape, task, k", TEMPLATE_CASES)
def test_templates_match_keras_and_round_trip(name, shape, task, k):
    spec = make_template(name, shape, task, k)
    model = _compare(spec, shape, task, k)
    assert spec_from_model(model) == spec


def test_compile_settings_fit_int_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    for k, y in ((2, rng.integers(0, 2, 16)), (3, rng.integers(0, 3, 16))):
        spec = make_template("dense", (3,), "classification", k)
        model = build_model(spec, (3,), "classification", k, seed=0)
        assert type(model.loss).__name__ == ("BinaryCrossentropy" if k == 2 else
                                             "SparseCategoricalCrossentropy")
        history = model.fit(x, y.astype("int64"), epochs=1, batch_size=8, verbose=0).history
        assert sorted(history) == ["accuracy", "loss"]
        assert 0.0 <= history["accuracy"][0] <= 1.0 and np.isfinite(history["loss"][0])
    sgd = build_model(ModelSpec([L("Dense", {"units": 1, "activation": "linear"})], optimizer="sgd",
                                learning_rate=0.02, momentum=0.9, metrics=["rmse"]), (3,), "regression")
    assert type(sgd.optimizer).__name__ == "SGD" and float(sgd.optimizer.momentum) == 0.9


def test_build_is_seeded_and_refuses_invalid_specs():
    spec = make_template("dense", (4,), "classification", 2)
    a = build_model(spec, (4,), "classification", 2, seed=3).get_weights()
    b = build_model(spec, (4,), "classification", 2, seed=3).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    with pytest.raises(NnstudioError, match="For 3 classes use 3 softmax units"):
        build_model(spec, (4,), "classification", 3)


def test_gaussian_nll_by_hand():
    y_pred = np.array([[0.0, 2.0], [1.0, 0.5]], dtype="float32")
    expected = [math.log(2.0) + 0.5 * 0.25 + 0.5 * math.log(2 * math.pi),   # y=1, mean 0, sigma 2
                math.log(0.5) + 0.5 * math.log(2 * math.pi)]                 # y=1 on the mean
    for y_true in (np.array([1.0, 1.0]), np.array([[1.0], [1.0]])):
        got = keras.ops.convert_to_numpy(gaussian_nll(y_true, y_pred))
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_gaussian_head_outputs_mean_and_softplus_sigma():
    head = register()["GaussianHead"]()
    head.build((None, 2))
    head.kernel.assign(np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32"))
    head.bias.assign(np.array([0.5, 0.0], dtype="float32"))
    out = keras.ops.convert_to_numpy(head(np.array([[2.0, 0.0], [0.0, math.log(math.e - 1)]],
                                                   dtype="float32")))
    np.testing.assert_allclose(out, [[2.5, math.log(2.0) + 1e-6], [0.5, 1.0 + 1e-6]], rtol=1e-6)


def test_saved_model_reloads_under_safe_mode_and_reopens_as_its_spec(tmp_path):
    spec = ModelSpec([L("Dense", {"units": 4, "activation": "elu", "alpha": 0.7}),
                      L("BatchNormalization"),
                      L("Dense", {"units": 4, "activation": "leaky_relu", "alpha": 0.05}),
                      L("GaussianHead", {"kernel_initializer": "he_normal"})],
                     loss="gaussian_nll", metrics=["mae", "rmse"], learning_rate=0.003,
                     name="hetero")
    model = build_model(spec, (3,), "regression", seed=1)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=16).astype("float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = os.fspath(tmp_path / "hetero.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    pred = loaded.predict(x, verbose=0)
    np.testing.assert_allclose(pred, model.predict(x, verbose=0), rtol=1e-6)
    assert pred.shape == (16, 2) and (pred[:, 1] > 0).all()
    # the metrics score the mean column only: mae by hand
    scores = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert scores["mae"] == pytest.approx(np.abs(pred[:, 0] - y).mean(), rel=1e-5)
    reopened, summary = load_keras_file(path)
    assert reopened == spec
    assert "gaussian_head_1" in summary and "Input shape: 3" in summary


def test_lambda_file_is_refused_by_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2.0),
                              keras.layers.Dense(1)])
    path = tmp_path / "doubler.keras"
    model.save(path)
    with pytest.raises(NnstudioError, match="safe mode refused doubler.keras: it contains Python code"):
        load_keras_file(path)


@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_foreign_models(tmp_path):
    # a plain stack written with plain Keras imports into the editor
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="swish"),
                              keras.layers.Dense(3, activation="softmax")], name="foreign")
    plain.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    plain.save(tmp_path / "plain.keras")
    spec, _ = load_keras_file(tmp_path / "plain.keras")
    assert spec == ModelSpec([L("Dense", {"units": 8, "activation": "swish"}),
                              L("Dense", {"units": 3, "activation": "softmax"})],
                             loss="categorical_crossentropy", learning_rate=0.01,
                             metrics=["accuracy"], name="foreign")
    # a branching model, an unsupported layer and an unsupported setting open read-only
    inp = keras.Input((4,))
    branched = keras.Model(inp, keras.layers.Add()([keras.layers.Dense(4)(inp), inp]))
    stacks = {
        "branch": (branched, "plain stack"),
        "layer": (keras.Sequential([keras.Input((4,)), keras.layers.LayerNormalization()]),
                  "LayerNormalization, which nnstudio does not offer"),
        "setting": (keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, bias_initializer="ones")]),
                    "settings nnstudio does not offer: bias_initializer"),
    }
    for name, (model, reason) in stacks.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        spec, summary = load_keras_file(path)
        assert spec is None, name
        assert reason in summary and "Read-only" in summary
        with pytest.raises(NnstudioError, match="cannot be edited in nnstudio"):
            spec_from_model(model)


def test_missing_or_wrong_files(tmp_path):
    with pytest.raises(NnstudioError, match="No such model file"):
        load_keras_file(tmp_path / "nope.keras")
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    with pytest.raises(NnstudioError, match="bad.keras is not a valid .keras file"):
        load_keras_file(bad)


def test_unreadable_h5_reports_why(tmp_path):
    bad = tmp_path / "old.h5"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(NnstudioError, match="Could not load old.h5 as a Keras model"):
        load_keras_file(bad)


@pytest.mark.parametrize("loss, optimizer, momentum, metrics, task, k", [
    ("huber", "adam", 0.0, ["mse", "rmse"], "regression", None),
    ("mae", "sgd", 0.8, ["mae"], "regression", None),
    ("binary_crossentropy", "rmsprop", 0.0, ["accuracy", "auc", "precision", "recall"], "classification", 2),
])
def test_compile_settings_round_trip(loss, optimizer, momentum, metrics, task, k):
    out = L("Dense", {"units": 1, "activation": "sigmoid" if k == 2 else "linear"})
    spec = ModelSpec([L("Dense", {"units": 3}), out], loss=loss, optimizer=optimizer,
                     learning_rate=0.0003, momentum=momentum, metrics=metrics)
    assert spec_from_model(build_model(spec, (2,), task, k)) == spec
