"""Shared states for the panel tests: synthetic two-class tables, a saved project opened in the
window, and waiting for a panel's result."""
from __future__ import annotations

import numpy as np

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.project import Project

SPLITS = ("train", "val", "cal", "test")


def synthetic_binary(n=1000, seed=0, feature_names=("a", "b", "c", "d"), class_names=("benign", "malignant"),
                     target_name="diagnosis") -> PreparedData:
    """A label from the first two inputs plus noise; split 60/15/10/15 in order."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(feature_names))).astype("float32")
    y = (x[:, 0] + 0.8 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0.3).astype("int64")
    cuts = [0, int(0.6 * n), int(0.75 * n), int(0.85 * n), n]
    return PreparedData(kind="table", problem="classification",
                        x={s: x[cuts[i]:cuts[i + 1]] for i, s in enumerate(SPLITS)},
                        y={s: y[cuts[i]:cuts[i + 1]] for i, s in enumerate(SPLITS)},
                        index={s: np.arange(cuts[i], cuts[i + 1]) for i, s in enumerate(SPLITS)},
                        feature_names=list(feature_names), class_names=list(class_names),
                        target_name=target_name)


def open_state(make_window, path, prepared, **kw):
    """The window with the saved project at ``path`` and its prepared data."""
    w = make_window(**kw)
    w.session.set_project(Project.load(path))
    w.session.set_prepared(prepared)
    return w


def wait_result(qtbot, panel):
    qtbot.waitUntil(lambda: panel.result is not None and not (panel.job and panel.job.running), timeout=60_000)
    return panel.result
