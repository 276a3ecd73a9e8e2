"""The width sweep: one factor on every hidden layer's size, each trial's parameter count kept, so
validation loss can be read against the number of parameters."""
import pytest

from nnstudio.core.experiments.sweep import (
    apply_params,
    check_params,
    parse_param,
    run_sweep,
    scale_width,
)
from nnstudio.core.model import infer, make_template
from nnstudio.core.training import TrainConfig
from nnstudio.errors import NnstudioError

MLP = make_template("mlp-regression", (3,), "regression")  # dense_1..3 hidden (64), dense_4 output


def test_width_scales_hidden_layers_and_keeps_the_output():
    spec, _ = apply_params(MLP, TrainConfig(), {"width": 0.25})
    assert [layer.config["units"] for layer in spec.layers] == [16, 16, 16, 1]
    assert [layer.config["units"] for layer in scale_width(MLP, 0.001).layers] == [1, 1, 1, 1]
    cnn = make_template("small-cnn", (16, 16, 1), "classification", 2)
    wide = scale_width(cnn, 2)
    before = [layer.config.get("filters") or layer.config.get("units") for layer in cnn.layers]
    after = [layer.config.get("filters") or layer.config.get("units") for layer in wide.layers]
    assert [a for a in after if a] == [2 * b for b in before if b][:-1] + [before[-1]]
    assert infer(wide, (16, 16, 1), "classification", 2).trainable_params > \
        infer(cnn, (16, 16, 1), "classification", 2).trainable_params


def test_width_specs_are_checked():
    assert parse_param("width=0.25,0.5,1,2").choices == (0.25, 0.5, 1.0, 2.0)
    with pytest.raises(NnstudioError, match="above zero"):
        parse_param("width=0,1")
    with pytest.raises(NnstudioError, match="whole model"):
        parse_param("width:dense_1=2")
    from nnstudio.core.model.spec import LayerSpec, ModelSpec

    bare = ModelSpec(layers=[LayerSpec("Dense", {"units": 1})], loss="mse")
    with pytest.raises(NnstudioError, match="no hidden layers to widen"):
        check_params([parse_param("width=1,2")], bare)


def test_width_sweep_keeps_each_trials_parameter_count(project, prepared, tensorflow):
    res = run_sweep(project, ["width=0.25,1"], trials=2, sampler="grid", epochs=1, prepared=prepared)
    done = sorted((t for t in res.trials if t["state"] == "complete"), key=lambda t: t["params"]["width"])
    assert [t["params"]["width"] for t in done] == [0.25, 1.0]
    counts = [t["parameters"] for t in done]
    expected = [infer(apply_params(project.model, TrainConfig(), {"width": w})[0], prepared.input_shape,
                      "regression").trainable_params for w in (0.25, 1.0)]
    assert counts == expected and counts[0] < counts[1]
    assert all(t["value"] is not None for t in done)
    assert f"({counts[1]:,} parameters)" in res.format()
