"""Starting a run from a model that works: weights copied where they fit, the first layers frozen."""
import numpy as np
import pytest

from nnstudio.core.workflow.projects import new_project
from nnstudio.core.workflow.train import load_run_model, train_project
from nnstudio.errors import NnstudioError


def _project(tmp_path, name, n_inputs=3, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_inputs))
    y = x @ np.linspace(1, -1, n_inputs) + 0.1 * rng.normal(size=n)
    cols = [f"x{i}" for i in range(n_inputs)]
    rows = [",".join(cols + ["y"])] + [",".join(f"{v:.5f}" for v in (*r, t)) for r, t in zip(x, y)]
    (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    p = new_project(data=tmp_path / f"{name}.csv", out=tmp_path / f"{name}.nnproj", target="y",
                    problem="regression", template="mlp-regression")
    p.training.epochs = 3
    return p


def test_a_run_starts_from_another_with_its_first_layer_frozen(tmp_path):
    project = _project(tmp_path, "a")
    first = train_project(project)
    record = train_project(project, init_from=first.id, freeze=1)
    assert record.status == "completed"
    assert record.settings["init_from"] == first.id and record.settings["freeze"] == 1
    assert record.settings["learning_rate"] == pytest.approx(project.model.learning_rate / 10)
    copied, total = record.settings["layers_copied"].split(" of ")
    assert copied == total
    before, after = load_run_model(project, first), load_run_model(project, record)
    dense = [la for la in before.layers if la.get_weights()]
    tuned = [la for la in after.layers if la.get_weights()]
    for w0, w1 in zip(dense[0].get_weights(), tuned[0].get_weights()):
        np.testing.assert_array_equal(w0, w1)                  # frozen: exactly as it started
    assert any(not np.array_equal(w0, w1) for w0, w1 in zip(dense[1].get_weights(), tuned[1].get_weights()))


def test_a_model_that_does_not_fit_is_refused_naming_its_layer(tmp_path):
    other = _project(tmp_path, "other", n_inputs=5)
    start = train_project(other)
    path = other.model_path(start)
    project = _project(tmp_path, "b", n_inputs=3)
    with pytest.raises(NnstudioError, match=r"does not fit: its layer \w+ \(Dense, weights 5×"):
        train_project(project, init_from=str(path))
    with pytest.raises(NnstudioError, match="neither a run of this project"):
        train_project(project, init_from="run-0099")
    with pytest.raises(NnstudioError, match="needs --init-from"):
        train_project(project, freeze=1)
