"""Check expressions against hand-built session states, and every bundled step's check."""
import pytest

from nnstudio.core.lessons import (
    CheckError,
    describe,
    empty_state,
    load_lessons,
    parse_check,
)


def state(**changes):
    s = empty_state()
    s.update(changes)
    return s


@pytest.mark.parametrize("text, holds, fails", [
    ("data_loaded", state(data_loaded=True), state()),
    ("not training", state(), state(training=True)),
    ("n_hidden_layers >= 1", state(n_hidden_layers=1), state(n_hidden_layers=0)),
    ("n_params > 0", state(n_params=161), state()),
    ("epochs_setting <= 5", state(epochs_setting=5), state(epochs_setting=6)),
    ("threshold < 0.5", state(threshold=0.3), state(threshold=0.5)),
    ("problem == regression", state(problem="regression"), state(problem="classification")),
    ("problem == 'regression'", state(problem="regression"), state()),
    ("loss != mse", state(loss="mae"), state(loss="mse")),
    ("hidden_activations has sigmoid", state(hidden_activations=["relu", "sigmoid"]), state(hidden_activations=["relu"])),
    ("visited:diagnostics/beside", state(visited=["diagnostics", "diagnostics/beside"]), state(visited=["diagnostics"])),
    ("not visited:predict", state(visited=["data"]), state(visited=["predict"])),
    ("threshold_moved == true", state(threshold_moved=True), state()),
])
def test_check_holds_and_fails(text, holds, fails):
    c = parse_check(text)
    assert c.holds(holds) and not c.holds(fails)


def test_a_missing_or_mistyped_value_fails_without_raising():
    assert not parse_check("n_params > 0").holds({})
    assert not parse_check("n_params > 0").holds({"n_params": "many"})
    assert not parse_check("visited:model").holds({})


@pytest.mark.parametrize("text, message", [
    ("", "non-empty"),
    ("data_loded", "unknown key 'data_loded'"),
    ("n_params >= lots", "'>=' needs a number"),
    ("problem has regression", "'has' needs a list key"),
    ("data_loaded:yes", "takes no ':' argument"),
    ("visited == data", "is a list"),
    ("n_params = 3", "cannot read"),
])
def test_unreadable_checks_say_why(text, message):
    with pytest.raises(CheckError, match=message):
        parse_check(text)


def test_descriptions_are_words_not_operators():
    assert describe(parse_check("n_hidden_layers >= 1")) == \
        "Dense and convolution layers before the output layer: at least 1"
    assert describe(parse_check("visited:diagnostics/beside")) == "open Diagnostics ▸ Beside the network"
    assert describe(parse_check("problem == regression")) == "the problem: regression"


# For each bundled step: the smallest state its check should accept. Each condition must matter:
# taking back any one of these changes makes the step not done.
STEP_STATES = {
    ("galaxy-mass", "data"): {"data_loaded": True, "problem": "regression"},
    ("galaxy-mass", "dense"): {"n_hidden_layers": 1, "model_valid": True},
    ("galaxy-mass", "activation"): {"hidden_activations": ["sigmoid"]},
    ("galaxy-mass", "loss"): {"visited": ["model", "model/diagram"], "loss": "mse"},
    ("galaxy-mass", "train"): {"runs_with_val_loss": 1},
    ("galaxy-mass", "residuals"): {"visited": ["diagnostics"], "evaluated": True},
    ("galaxy-mass", "physics"): {"visited": ["diagnostics/beside"]},
    ("galaxy-mass", "uncertainty"): {"visited": ["uncertainty"], "uncertainty_computed": True},
    ("strong-lens", "cutouts"): {"data_loaded": True, "input_kind": "images"},
    ("strong-lens", "cnn"): {"has_conv_layer": True, "model_valid": True},
    ("strong-lens", "params"): {"visited": ["model/budget"], "n_params": 10},
    ("strong-lens", "train"): {"runs_with_val_loss": 1},
    ("strong-lens", "confusion"): {"visited": ["diagnostics"], "evaluated": True},
    ("strong-lens", "roc"): {"threshold_moved": True},
    ("strong-lens", "calibration"): {"visited": ["uncertainty"], "uncertainty_computed": True},
    ("strong-lens", "challenges"): {"explained": True, "visited": ["diagnostics/beside"]},
}


def _steps():
    return [(lesson.id, step) for lesson in load_lessons(language="en") for step in lesson.steps]


def test_every_bundled_step_has_a_hand_built_state():
    assert {(lid, s.id) for lid, s in _steps()} == set(STEP_STATES)


@pytest.mark.parametrize("lesson_id, step", _steps(), ids=lambda x: getattr(x, "id", x))
def test_each_bundled_step_check(lesson_id, step):
    done = STEP_STATES[(lesson_id, step.id)]
    assert all(c.holds(state(**done)) for c in step.checks)
    assert not all(c.holds(empty_state()) for c in step.checks)
    for key in done:                                # every condition matters
        partial = {k: v for k, v in done.items() if k != key}
        assert not all(c.holds(state(**partial)) for c in step.checks), f"{step.id}: {key} is not needed"
    # a training run still going does not count as trained
    if step.id == "train":
        assert not all(c.holds(state(**done, training=True)) for c in step.checks)
