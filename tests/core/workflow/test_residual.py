"""Learning what the physics misses: the formula sits inside the model, the network fits the rest."""
import numpy as np
import pytest

from nnstudio.core.project import PhysicsSettings, Project
from nnstudio.core.workflow.baselines import fit_data_formula, residual_offset
from nnstudio.core.workflow.data import prepare_project
from nnstudio.core.workflow.projects import new_project
from nnstudio.errors import NnstudioError


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500
    x1 = rng.uniform(1, 10, n)
    x2 = rng.normal(size=n)
    y = 3.0 * x1 ** 0.5 + 0.4 * np.sin(3.0 * x2) + rng.normal(0, 0.05, n)
    rows = ["x1,x2,y"] + [f"{a:.5f},{b:.5f},{c:.5f}" for a, b, c in zip(x1, x2, y)]
    (tmp_path / "law.csv").write_text("\n".join(rows) + "\n")
    p = new_project(data=tmp_path / "law.csv", out=tmp_path / "law.nnproj", target="y", problem="regression",
                    template="mlp-regression")
    p.physics = PhysicsSettings("a * x1**b")
    p.save()
    return p


def test_an_untrained_offset_model_predicts_the_formula_itself(project):
    """With the network's output layer zeroed, the model's prediction is the fitted formula, in the
    target's units: the layer undoes the input scaling and scales like the target."""
    import keras

    from nnstudio.core.model import build_model

    prepared = prepare_project(project)
    project.training.residual = True
    offset = residual_offset(project, prepared)
    model = build_model(project.model, prepared.input_shape, "regression", seed=0, offset=offset)
    last = [la for la in model.layers if isinstance(la, keras.layers.Dense)][-1]
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    got = prepared.inverse_y(model.predict(prepared.x["test"], verbose=0)[:, 0])
    want = fit_data_formula(prepared, "a * x1**b").predict(prepared.raw_columns("test"))
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_a_residual_run_learns_what_the_formula_misses_and_reloads_safely(project):
    from nnstudio.core.workflow.evaluate import evaluate
    from nnstudio.core.workflow.train import load_run_model, train_project

    record = train_project(project, epochs=60, residual=True)
    assert record.status == "completed" and record.settings["residual"] is True
    project.save()
    again = Project.load(project.path)
    model = load_run_model(again)                            # safe_mode: the layer is registered
    assert any(type(la).__name__ == "FormulaOffset" for la in model.layers)
    r = evaluate(again)
    formula = next(b for b in r.baselines if b.name == "formula")
    # the formula misses the 0.4·sin(3·x2) term (RMS 0.28); formula + network recovers most of it
    assert formula.metrics["rmse"] > 0.2
    assert r.metrics_ci["rmse"][1] < formula.metrics_ci["rmse"][0]
    assert r.versus_baseline["a_better"] is True


def test_residual_without_a_formula_is_refused_in_words(project):
    from nnstudio.core.workflow.train import train_project

    project.physics = PhysicsSettings(None)
    with pytest.raises(NnstudioError, match="needs a physical formula"):
        train_project(project, epochs=1, residual=True)
