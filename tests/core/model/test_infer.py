import time

import pytest

from nnstudio.core.model import LayerSpec as L
from nnstudio.core.model import ModelSpec, diagram_data, infer, metric_applies, output_kind


def _spec(*layers, loss="mse", metrics=()):
    return ModelSpec(layers=list(layers), loss=loss, metrics=list(metrics))


def test_lecture_dense_net_shapes_and_counts():
    # 4 inputs -> 8 relu -> 3 softmax: (4*8+8) + (8*3+3) = 40 + 27
    spec = _spec(L("Dense", {"units": 8}), L("Dense", {"units": 3, "activation": "softmax"}),
                 loss="categorical_crossentropy", metrics=["accuracy"])
    r = infer(spec, (4,), "classification", 3)
    assert r.ok, r.errors
    assert [i.output_shape for i in r.layers] == [(8,), (3,)]
    assert [i.trainable_params for i in r.layers] == [40, 27]
    assert (r.trainable_params, r.non_trainable_params, r.total_params) == (67, 0, 67)
    assert r.output_shape == (3,)


def test_cnn_shapes_and_counts_by_hand():
    spec = _spec(
        L("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "valid"}),      # 10x10x1 -> 8x8x4, 9*1*4+4
        L("BatchNormalization"),                                              # 4 train + 4... 2C/2C
        L("MaxPooling2D", {"pool_size": 2}),                                  # 4x4x4
        L("Conv2D", {"filters": 6, "kernel_size": [2, 3], "strides": 2, "padding": "same",
                     "use_bias": False}),                                     # ceil(4/2)=2 -> 2x2x6, 2*3*4*6
        L("AveragePooling2D", {"pool_size": 2, "strides": 1, "padding": "same"}),  # 2x2x6
        L("Flatten"),                                                         # 24
        L("Reshape", {"target_shape": [-1, 4]}),                              # 6x4
        L("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "valid"}),     # 4x2, 3*4*2+2
        L("GlobalAveragePooling2D"),
    )
    r = infer(spec, (10, 10, 1))
    shapes = [i.output_shape for i in r.layers]
    assert shapes[:8] == [(8, 8, 4), (8, 8, 4), (4, 4, 4), (2, 2, 6), (2, 2, 6), (24,), (6, 4), (4, 2)]
    assert [i.trainable_params for i in r.layers[:8]] == [40, 8, 0, 144, 0, 0, 0, 26]
    assert r.layers[1].non_trainable_params == 8
    # GlobalAveragePooling2D on a sequence: marked, with the reason
    assert "needs an image" in r.layers[8].error and "Conv1D" not in r.layers[8].error
    assert r.error_layers() == [8]


@pytest.mark.parametrize("layers, shape, index, fragment", [
    ([L("Flatten"), L("Conv2D")], (8, 8, 1), 1, "cannot follow Flatten"),
    ([L("Dense", {"units": 4})], (8, 8, 1), 0, "Add Flatten"),
    ([L("Conv2D", {"kernel_size": 5, "padding": "valid"})], (3, 3, 1), 0, "kernel 5 × 5 is larger than its input 3 × 3"),
    ([L("MaxPooling2D"), L("MaxPooling2D"), L("MaxPooling2D")], (4, 4, 1), 2, "pool size 2 × 2 is larger than its input 1 × 1"),
    ([L("Conv1D")], (8, 8, 1), 0, "Use Conv2D for images"),
    ([L("Conv2D")], (8, 2), 0, "Use Conv1D for sequences"),
    ([L("Reshape", {"target_shape": [3, 3]})], (8,), 0, "Cannot reshape 8 (8 values) into 3 × 3 (9 values)"),
    ([L("Reshape", {"target_shape": [-1, 3]})], (8,), 0, "8 is not a multiple of 3"),
    ([L("SpatialDropout2D")], (8,), 0, "needs an image"),
    ([L("GaussianHead")], (4, 4, 1), 0, "GaussianHead needs a flat vector"),
])
def test_invalid_stacks_mark_the_offending_layer(layers, shape, index, fragment):
    r = infer(_spec(*layers), shape)
    assert not r.ok
    assert r.error_layers() == [index]
    assert fragment in r.layers[index].error
    assert r.layers[index].output_shape is None
    assert r.errors[0].startswith(f"Layer {index + 1} (")


def test_an_invalid_setting_is_reported_and_later_shapes_are_unknown():
    r = infer(_spec(L("Dense", {"units": 0}), L("Dense", {"units": 1, "activation": "linear"})), (3,))
    assert r.layers[0].error == "units must be ≥ 1 (got 0)."
    assert r.layers[1].output_shape is None and r.layers[1].error is None


@pytest.mark.parametrize("last, task, k, loss, fragment", [
    (L("Dense", {"units": 2, "activation": "softmax"}), "classification", 2, "categorical_crossentropy", "For two classes use 1 sigmoid unit"),
    (L("Dense", {"units": 1, "activation": "relu"}), "classification", 2, "binary_crossentropy", "with 'relu'"),
    (L("Dense", {"units": 4, "activation": "softmax"}), "classification", 3, "categorical_crossentropy", "For 3 classes use 3 softmax units"),
    (L("Dense", {"units": 3, "activation": "sigmoid"}), "classification", 3, "categorical_crossentropy", "For 3 classes"),
    (L("Dense", {"units": 1, "activation": "sigmoid"}), "regression", None, "mse", "For regression use 1 linear unit"),
    (L("Dense", {"units": 2, "activation": "linear"}), "regression", None, "mse", "gives 2 value(s)"),
    (L("Dropout"), "regression", None, "mse", "should end with its output layer"),
    (L("GaussianHead"), "classification", 2, "gaussian_nll", "GaussianHead predicts a mean"),
])
def test_output_layer_must_match_the_task(last, task, k, loss, fragment):
    r = infer(_spec(L("Dense", {"units": 4}), last, loss=loss), (5,), task, k)
    assert r.error_layers() == [1]
    assert fragment in r.layers[1].error


@pytest.mark.parametrize("last, task, k, loss, message", [
    (L("Dense", {"units": 1, "activation": "sigmoid"}), "classification", 2, "mse",
     "The loss mse does not fit a two-class target: use binary_crossentropy."),
    (L("Dense", {"units": 3, "activation": "softmax"}), "classification", 3, "binary_crossentropy",
     "The loss binary_crossentropy does not fit a multi-class target: use categorical_crossentropy."),
    (L("Dense", {"units": 1, "activation": "linear"}), "regression", None, "binary_crossentropy",
     "The loss binary_crossentropy does not fit a regression target: use mse or mae or huber."),
    (L("GaussianHead"), "regression", None, "mse",
     "The loss mse does not fit a GaussianHead output (mean and sigma): use gaussian_nll."),
    (L("Dense", {"units": 1, "activation": "linear"}), None, None, "gaussian_nll",
     "gaussian_nll needs a GaussianHead as the last layer (it predicts a mean and a sigma)."),
])
def test_loss_must_fit_the_output(last, task, k, loss, message):
    r = infer(_spec(L("Dense", {"units": 4}), last, loss=loss), (5,), task, k)
    assert r.error_layers() == []
    assert r.model_errors == [message]


def test_valid_outputs_pass_and_metrics_are_checked():
    ok = [
        (L("Dense", {"units": 1, "activation": "sigmoid"}), "classification", 2, "binary_crossentropy", ["accuracy", "auc"]),
        (L("Dense", {"units": 5, "activation": "softmax"}), "classification", 5, "categorical_crossentropy", ["accuracy"]),
        (L("Dense", {"units": 1, "activation": "linear"}), "regression", None, "huber", ["mae", "rmse"]),
        (L("GaussianHead"), "regression", None, "gaussian_nll", ["mae"]),
    ]
    for last, task, k, loss, metrics in ok:
        assert infer(_spec(L("Dense", {"units": 4}), last, loss=loss, metrics=metrics), (5,), task, k).ok
    r = infer(_spec(L("Dense", {"units": 3, "activation": "softmax"}), loss="categorical_crossentropy",
                    metrics=["auc", "mae"]), (5,), "classification", 3)
    assert r.model_errors == ["The metric auc applies to two-class classification only.",
                              "The metric mae applies to regression only."]


def test_output_kind_and_which_metrics_fit_it():
    assert [output_kind("classification", 2), output_kind("classification", 7),
            output_kind("regression", None), output_kind(None, 3)] == ["binary", "multiclass",
                                                                      "regression", None]
    fits = {kind: [m for m in ("accuracy", "auc", "mae") if metric_applies(m, kind)]
            for kind in ("binary", "multiclass", "regression", None)}
    assert fits == {"binary": ["accuracy", "auc"], "multiclass": ["accuracy"],
                    "regression": ["mae"], None: ["accuracy", "auc", "mae"]}


def test_empty_model_and_bad_input_are_reported():
    assert infer(_spec(), (3,)).errors == ["The model has no layers: add at least an output layer."]
    assert "at least 2 classes" in infer(_spec(L("Dense")), (3,), "classification", 1).errors[0]
    assert "Invalid input shape" in infer(_spec(L("Dense")), (0,)).errors[0]


def test_twenty_layers_infer_well_under_10_ms():
    layers = [L("Conv2D", {"filters": 8}) for _ in range(8)] + [L("BatchNormalization"), L("Flatten")]
    layers += [L("Dense", {"units": 16}) for _ in range(9)] + [L("Dense", {"units": 1, "activation": "linear"})]
    spec = _spec(*layers, metrics=["mae"])
    assert len(spec.layers) == 20
    infer(spec, (32, 32, 3), "regression")
    start = time.perf_counter()
    for _ in range(20):
        r = infer(spec, (32, 32, 3), "regression")
    assert (time.perf_counter() - start) / 20 < 0.005
    assert r.ok


def test_diagram_boxes():
    spec = _spec(L("Conv2D", {"filters": 4, "kernel_size": 3}), L("Flatten"),
                 L("Dense", {"units": 1, "activation": "leaky_relu", "alpha": 0.1}))
    r = infer(spec, (5, 5, 2))
    boxes = diagram_data(spec, r)
    assert [(b.name, b.kind, b.shape, b.params) for b in boxes] == [
        ("input", "Input", "5 × 5 × 2", 0), ("conv2d_1", "Conv2D", "5 × 5 × 4", 76),
        ("flatten_1", "Flatten", "100", 0), ("dense_1", "Dense", "1", 101)]
    assert boxes[1].detail == "4 filters 3×3, relu"
    assert boxes[3].detail == "1 unit, leaky_relu (α=0.1)"
    bad = diagram_data(_spec(L("Flatten"), L("Conv2D")), infer(_spec(L("Flatten"), L("Conv2D")), (4, 4, 1)))
    assert bad[2].shape == "?" and "Conv2D" in bad[2].error
