"""Sweeps: settings and ranges, applying values, bad input, failed trials, resume, other projects,
pruning, two processes on one SQLite study."""
import json
from types import SimpleNamespace

import pytest

from nnstudio.core.experiments.sweep import (apply_params, best_settings, check_params, load_sweep,
                                             make_pruning_callback, parse_param, run_sweep, set_depth)
from nnstudio.core.model import infer, make_template
from nnstudio.core.training import TrainConfig
from nnstudio.errors import NnstudioError

MLP = make_template("mlp-regression", (3,), "regression")  # dense_1..3 hidden (64), dense_4 output


def test_specs_parse_to_ranges_and_lists():
    p = parse_param("learning_rate=1e-4:1e-2:log")
    assert (p.kind, p.low, p.high, p.log) == ("float", 1e-4, 1e-2, True)
    p = parse_param("batch_size=16,32,64,32")
    assert (p.kind, p.choices) == ("choice", (16, 32, 64))
    p = parse_param("dropout:dropout_1=0.1:0.5")
    assert (p.setting, p.layer, p.kind, p.log) == ("dropout", "dropout_1", "float", False)
    p = parse_param("units:dense_2=8:128:log")
    assert (p.kind, p.low, p.high) == ("int", 8, 128)


@pytest.mark.parametrize("text,message", [
    ("momentum=0.1:0.9", "Unknown setting 'momentum'.*learning_rate, batch_size"),
    ("learning_rate=1e-2:1e-4:log", "inverted.*1e-4:1e-2:log"),
    ("dropout:dropout_1=0.3:0.3", "empty"),
    ("batch_size=", "give values"),
    ("batch_size=16,,32", "empty item"),
    ("batch_size=0:64", "at least 1"),
    ("batch_size=16.5,32", "whole numbers"),
    ("dropout:dropout_1=0.5:1.0", "dropout rate"),
    ("learning_rate=0:1e-2:log", "above zero"),
    ("units=16,32", "needs a layer name"),
    ("learning_rate", "NAME=SPEC"),
])
def test_bad_specs_are_refused(text, message):
    with pytest.raises(NnstudioError, match=message):
        parse_param(text)


@pytest.mark.parametrize("text,message", [
    ("units:dense_9=8,16", "no layer 'dense_9'.*dense_1, dense_2"),
    ("units:dense_4=8,16", "output layer"),
    ("filters:dense_1=8,16", "dense_1 is a Dense, which has no filters"),
])
def test_settings_are_checked_against_the_model(text, message):
    with pytest.raises(NnstudioError, match=message):
        check_params([parse_param(text)], MLP)


def test_apply_puts_values_in_spec_and_settings():
    spec, cfg = apply_params(MLP, TrainConfig(batch_size=32), {"units:dense_2": 16, "learning_rate": 3e-3,
                                                               "batch_size": 64})
    assert [layer.config["units"] for layer in spec.layers] == [64, 16, 64, 1]
    assert spec.learning_rate == 3e-3 and cfg.batch_size == 64 and cfg.learning_rate is None
    assert MLP.layers[1].config["units"] == 64  # the original is untouched
    _, cfg = apply_params(MLP, TrainConfig(learning_rate=1e-3), {"learning_rate": 3e-3})
    assert cfg.learning_rate == 3e-3  # an override in the training settings follows the sweep


def test_depth_drops_or_repeats_hidden_blocks():
    assert [layer.config["units"] for layer in set_depth(MLP, 1).layers] == [64, 1]
    deeper, _ = apply_params(MLP, TrainConfig(), {"units:dense_3": 16, "depth": 5})
    assert [layer.config["units"] for layer in deeper.layers] == [64, 64, 16, 16, 16, 1]
    cnn = make_template("small-cnn", (16, 16, 1), "classification", 2)  # conv+pool, conv+pool, conv
    for depth in (1, 5):
        spec = set_depth(cnn, depth)
        assert sum(layer.class_name == "Conv2D" for layer in spec.layers) == depth
        assert infer(spec, (16, 16, 1), "classification", 2).ok


def test_budget_and_sampler_checks(project, prepared):
    p = ["learning_rate=1e-4:1e-2:log"]
    with pytest.raises(NnstudioError, match="budget"):
        run_sweep(project, p, prepared=prepared)
    with pytest.raises(NnstudioError, match="at least 1"):
        run_sweep(project, p, trials=0, prepared=prepared)
    with pytest.raises(NnstudioError, match="time limit must be above zero"):
        run_sweep(project, p, timeout=0, prepared=prepared)
    with pytest.raises(NnstudioError, match="grid search needs a list.*learning_rate"):
        run_sweep(project, p, trials=2, sampler="grid", prepared=prepared)
    with pytest.raises(NnstudioError, match="swept once"):
        run_sweep(project, p + ["learning_rate=1e-3,1e-2"], trials=2, prepared=prepared)


def test_pruning_callback_stops_a_hopeless_trial():
    class FakeTrial:
        def __init__(self):
            self.reports = []

        def report(self, value, step):
            self.reports.append((step, value))

        def should_prune(self):
            return len(self.reports) == 2

    trial = FakeTrial()
    cb = make_pruning_callback(trial)
    model = SimpleNamespace(stop_training=False)
    cb.set_model(model)
    cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    assert not model.stop_training and cb.pruned_at is None
    cb.on_epoch_end(1, {"loss": 1.0, "val_loss": float("nan")})  # not reported
    cb.on_epoch_end(2, {"loss": 1.0, "val_loss": 1.5})
    assert trial.reports == [(0, 2.0), (2, 1.5)]
    assert model.stop_training and cb.pruned_at == 2


def test_sweep_records_a_crashing_trial_goes_on_and_resumes(project, prepared, tensorflow, monkeypatch):
    from nnstudio.core.training import trainer

    real = trainer.train

    def flaky(prepared, spec, config, *a, **k):
        if config.batch_size == 16:
            raise RuntimeError("GPU fell off the bus")
        return real(prepared, spec, config, *a, **k)

    monkeypatch.setattr(trainer, "train", flaky)
    params = ["batch_size=16,32,64"]
    res = run_sweep(project, params, trials=3, sampler="grid", epochs=1, prepared=prepared)
    assert res.counts == {"complete": 2, "failed": 1}
    failed = next(t for t in res.trials if t["state"] == "failed")
    assert failed["params"] == {"batch_size": 16} and "GPU fell off the bus" in failed["error"]
    done = [t for t in res.trials if t["state"] == "complete"]
    assert done[0]["value"] <= done[1]["value"]  # sorted by the validation metric
    assert res.best["number"] == done[0]["number"] and res.best["params"] == done[0]["params"]
    assert "validation" in res.best["selected_by"] and "rmse" in res.best["test"] and "loss" not in res.best["test"]
    assert "outlier_threshold" not in res.best["test"]   # a setting, not a figure
    json.dumps(res.to_dict(), allow_nan=False)

    spec, cfg = best_settings(project, res)
    assert cfg.batch_size == res.best["params"]["batch_size"] and spec == project.model

    # the same sweep again is the same study: a larger budget adds trials, it does not start over
    monkeypatch.setattr(trainer, "train", real)
    again = run_sweep(project, ["learning_rate=1e-3:1e-2:log"], trials=1, epochs=1, prepared=prepared)
    assert again.study != res.study  # other settings, another study
    more = run_sweep(project, ["learning_rate=1e-3:1e-2:log"], trials=2, epochs=1, prepared=prepared)
    assert more.study == again.study and len(more.trials) == 2
    assert load_sweep(project, study=res.study).counts == res.counts


def test_study_of_another_project_is_refused(tmp_path, prepared, project_factory, tensorflow):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = project_factory(tmp_path / "a", name="a", data_sha="aaaa")
    run_sweep(a, ["batch_size=32"], trials=1, epochs=1, prepared=prepared)
    b = project_factory(tmp_path / "b", name="b", data_sha="bbbb")
    with pytest.raises(NnstudioError, match="another project"):
        run_sweep(b, ["batch_size=32"], trials=1, epochs=1, prepared=prepared,
                  storage=f"sqlite:///{a.folder / 'sweeps.db'}")
    with pytest.raises(NnstudioError, match="No sweep of this project"):
        load_sweep(b, storage=f"sqlite:///{a.folder / 'sweeps.db'}")


def test_two_processes_share_one_sqlite_study(project, prepared, tensorflow):
    res = run_sweep(project, ["learning_rate=1e-3:1e-2:log"], trials=4, epochs=1, sampler="random", jobs=2,
                    prepared=prepared)
    assert res.counts.get("complete", 0) + res.counts.get("pruned", 0) == 4
    assert len({t["worker"] for t in res.trials}) == 2  # this process and one worker process
    assert len({t["number"] for t in res.trials}) == 4


def test_a_trial_is_scored_at_the_epoch_it_reports_in_the_targets_units(project, tensorflow):
    """The value Optuna gets is the best validation loss; the model kept and scored is that
    epoch's (best.keras), and its test figures are the one evaluation core's, in the target's
    units (here a target of scale 50), each with its 95 % bootstrap interval."""
    import dataclasses

    import numpy as np

    from nnstudio.core.examples.synthetic import toy_regression
    from nnstudio.core.model import load_keras

    prepared = dataclasses.replace(toy_regression(), target_scaler={"mean": 1000.0, "std": 50.0})
    # a learning rate this high overshoots: the validation loss is lowest before the last epoch
    project.training = TrainConfig(epochs=6, batch_size=32, learning_rate=0.1, early_stopping=False)
    res = run_sweep(project, ["batch_size=32"], trials=1, sampler="grid", prepared=prepared)
    best = res.best
    assert best["best_epoch"] < best["epochs"] - 1 and best["last_value"] > best["value"]
    assert best["model"].endswith("best.keras")
    model = load_keras(project.folder / best["model"])
    val = model.evaluate(prepared.x["val"], prepared.y["val"], verbose=0, return_dict=True)["loss"]
    assert val == pytest.approx(best["value"], rel=1e-4)   # the weights scored are the weights reported
    pred = np.asarray(model.predict(prepared.x["test"], verbose=0))[:, 0]
    scaled_rmse = float(np.sqrt(np.mean((pred - prepared.y["test"]) ** 2)))
    assert best["test"]["rmse"] == pytest.approx(50.0 * scaled_rmse, rel=1e-3)
    low, high = best["test_ci"]["rmse"]
    assert low <= best["test"]["rmse"] <= high
    text = res.format()
    assert "in the target's units" in text and "best validation epoch" in text and "rmse" in text
