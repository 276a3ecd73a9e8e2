"""Tiny data and a saved project for the experiment tests."""
import numpy as np
import pytest

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.data.spec import DataSelection
from nnstudio.core.model import make_template
from nnstudio.core.project import Project
from nnstudio.core.training import TrainConfig


def toy_regression(n=240, seed=0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)).astype("float32")
    idx = np.arange(n)
    cut = [0, int(0.6 * n), int(0.75 * n), int(0.85 * n), n]
    splits = ("train", "val", "cal", "test")
    return PreparedData(kind="table", task="regression",
                        x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                        y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                        index={s: idx[cut[i]:cut[i + 1]] for i, s in enumerate(splits)},
                        feature_names=["a", "b", "c"], target_name="y",
                        target_scaler={"mean": 0.0, "std": 1.0})


def make_project(folder, name="toy", data_sha="aaaa", epochs=2) -> Project:
    """A saved project whose model fits :func:`toy_regression` (its data is passed in directly)."""
    p = Project(name=name)
    p.data = DataSelection(path=str(folder / "data.csv"), target="y",
                           fingerprint={"size": 1, "sha256": data_sha})
    p.model = make_template("mlp-regression", (3,), "regression")
    p.training = TrainConfig(epochs=epochs, batch_size=32)
    p.save(folder / f"{name}.nnproj")
    return p


@pytest.fixture
def prepared():
    return toy_regression()


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def project_factory():
    return make_project
