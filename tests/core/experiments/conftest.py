"""Tiny data and a saved project for the experiment tests."""
import pytest

from nnstudio.core.data.spec import DataSelection
from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.model import make_template
from nnstudio.core.project import Project
from nnstudio.core.training import TrainConfig


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
