"""Regression images: the explained scores and the deletion curve are in the target's units, as the maps."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def test_regression_scores_and_deletion_curve_are_in_the_targets_units(tensorflow):
    import keras

    from nnstudio.core.evaluation.explain_images import model_scores
    from nnstudio.core.workflow.explain import _explain_images

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 1)).astype("float32")
    scaler = {"mean": 10.0, "std": 2.0}
    prepared = SimpleNamespace(problem="regression", target_name="flux", target_scaler=scaler,
                               inverse_y=lambda v: np.asarray(v) * 2.0 + 10.0)
    project = SimpleNamespace(resolved_selection=lambda: SimpleNamespace(path=None))
    from nnstudio.core.tasks import Task

    e = _explain_images(project, prepared, None, model, x, np.arange(3), ["test"] * 3, "test", "ig", 16, 0, Task())
    raw = model_scores(model, x, None)
    np.testing.assert_allclose(e.scores, raw * 2.0 + 10.0, rtol=1e-5)
    assert e.units.startswith("flux") and e.explained == ["predicted flux"] * 3
    # with nothing deleted the curve is the mean score, in the target's units
    assert e.deletion.attributed[0] == e.deletion.random[0]
    np.testing.assert_allclose(e.deletion.attributed[0], e.scores.mean(), rtol=1e-4)
