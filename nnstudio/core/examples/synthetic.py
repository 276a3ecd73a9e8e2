"""Tiny prepared data sets made in memory, for panel previews and tests."""
from __future__ import annotations

import numpy as np

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.data.spec import SPLITS


def toy_regression(n: int = 240, seed: int = 0) -> PreparedData:
    """y = x·(1, −2, 0.5) + N(0, 0.1²) on three standard-normal inputs, split 60/15/10/15 in order."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)).astype("float32")
    idx = np.arange(n)
    cut = [0, int(0.6 * n), int(0.75 * n), int(0.85 * n), n]
    return PreparedData(kind="table", task="regression",
                        x={s: x[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                        y={s: y[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                        index={s: idx[cut[i]:cut[i + 1]] for i, s in enumerate(SPLITS)},
                        feature_names=["a", "b", "c"], target_name="y",
                        target_scaler={"mean": 0.0, "std": 1.0})
