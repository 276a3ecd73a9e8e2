import pytest

from nnstudio.core.model import (TEMPLATES, LayerSpec, default_template, infer, make_template,
                                 suggest_output)
from nnstudio.errors import NnstudioError

CASES = [
    ("dense", (6,), "classification", 2), ("dense", (6,), "classification", 4),
    ("dense", (16, 16, 1), "classification", 2), ("dense", (6,), "regression", None),
    ("mlp-regression", (6,), "regression", None), ("mlp-regression", (8, 8, 1), "regression", None),
    ("small-cnn", (64, 64, 1), "classification", 2), ("small-cnn", (8, 8, 3), "classification", 3),
    ("small-cnn", (5, 7, 1), "regression", None), ("small-cnn", (32, 32, 3), "regression", None),
    ("deep-cnn", (64, 64, 3), "classification", 2), ("deep-cnn", (6, 6, 1), "classification", 10),
    ("source-cnn", (32, 32, 1), "classification", 2), ("source-cnn", (7, 9, 2), "regression", None),
    ("heteroscedastic-mlp", (6,), "regression", None),
]


@pytest.mark.parametrize("name, shape, task, k", CASES)
def test_templates_are_valid_for_their_data(name, shape, task, k):
    spec = make_template(name, shape, task, k)
    r = infer(spec, shape, task, k)
    assert r.ok, r.errors
    assert (spec.optimizer, spec.learning_rate) == (("adamw", 3e-3) if "cnn" in name else ("adam", 1e-3))
    assert spec.metrics == (["accuracy"] if task == "classification" else ["mae"])
    pooled = [i.output_shape for l, i in zip(spec.layers, r.layers) if "Pooling2D" in l.class_name
              and not l.class_name.startswith("Global")]
    assert all(min(s[0], s[1]) >= 4 for s in pooled)


def test_every_template_is_covered():
    assert set(TEMPLATES) == {c[0] for c in CASES}
    assert all(title and text for title, text in TEMPLATES.values())


def test_small_cnn_is_sized_to_the_input():
    def pools(shape):
        return sum(l.class_name == "MaxPooling2D" for l in make_template("small-cnn", shape, "classification", 2).layers)
    # 64 -> 32 -> 16 -> 8 (three blocks max); 8 -> 4; 7 -> no pooling (3 < 4)
    assert (pools((64, 64, 1)), pools((16, 16, 1)), pools((8, 8, 1)), pools((7, 7, 1))) == (3, 2, 1, 0)
    r = infer(make_template("small-cnn", (64, 64, 1), "classification", 2), (64, 64, 1))
    assert r.layers[5].output_shape == (8, 8, 64)


def test_suggest_output():
    assert suggest_output("classification", 2) == (
        [LayerSpec("Dense", {"units": 1, "activation": "sigmoid"})], "binary_crossentropy")
    assert suggest_output("classification", 7) == (
        [LayerSpec("Dense", {"units": 7, "activation": "softmax"})], "categorical_crossentropy")
    assert suggest_output("regression") == ([LayerSpec("Dense", {"units": 1, "activation": "linear"})], "mse")
    assert suggest_output("regression", uncertainty=True) == ([LayerSpec("GaussianHead")], "gaussian_nll")
    hetero = make_template("heteroscedastic-mlp", (3,), "regression")
    assert hetero.layers[-1].class_name == "GaussianHead" and hetero.loss == "gaussian_nll"


def test_default_template():
    assert default_template("images", "classification") == "small-cnn"
    assert default_template("images", "regression") == "small-cnn"
    assert default_template("table", "classification") == "dense"
    assert default_template("table", "regression") == "mlp-regression"


@pytest.mark.parametrize("args, fragment", [
    (("small-cnn", (10,), "classification", 2), "needs images"),
    (("mlp-regression", (10,), "classification", 2), "for regression targets"),
    (("resnet", (10,), "regression", None), "Unknown template 'resnet'"),
    (("dense", (10,), "clustering", None), "Unknown problem"),
    (("dense", (10,), "classification", 1), "at least 2 classes"),
])
def test_template_refusals(args, fragment):
    with pytest.raises(NnstudioError, match=fragment):
        make_template(*args)
