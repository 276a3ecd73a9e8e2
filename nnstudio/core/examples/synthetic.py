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
    return _in_order(x, y, problem="regression", feature_names=["a", "b", "c"], target_name="y",
                     target_scaler={"mean": 0.0, "std": 1.0})


def _in_order(x: np.ndarray, y: np.ndarray, **fields) -> PreparedData:
    """Rows split 60/15/10/15 in order."""
    n = len(x)
    idx = np.arange(n)
    cut = [0, int(0.6 * n), int(0.75 * n), int(0.85 * n), n]
    part = {s: slice(cut[i], cut[i + 1]) for i, s in enumerate(SPLITS)}
    return PreparedData(kind="table", x={s: x[v] for s, v in part.items()}, y={s: y[v] for s, v in part.items()},
                        index={s: idx[v] for s, v in part.items()}, **fields)


def toy_classification(n: int = 3000, seed: int = 0,
                       class_names: tuple[str, ...] = ("star", "galaxy", "quasar")) -> PreparedData:
    """Three standard-normal inputs; each label drawn from softmax(2·x), so
    :class:`ToyPredictor`'s probabilities are exactly calibrated. Split 60/15/10/15 in order."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(class_names))).astype("float32")
    p = _softmax(2.0 * x)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).astype("int64")
    return _in_order(x, y, problem="classification", feature_names=[f"x{i}" for i in range(len(class_names))],
                     class_names=list(class_names), target_name="class")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class ToyPredictor:
    """Stands in for a trained model on the toy data (no TensorFlow): the true relation of
    :func:`toy_regression` (with ``sigma``, a mean-and-variance head's [mean, σ]) or the
    probabilities of :func:`toy_classification`."""

    def __init__(self, problem: str, sigma: float | None = None):
        self.problem, self.sigma = problem, sigma
        self.output_shape = (None, 3) if problem == "classification" else (None, 1 if sigma is None else 2)

    def predict(self, x, batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.problem == "classification":
            return _softmax(2.0 * x)
        mu = x @ np.array([1.0, -2.0, 0.5])
        return mu[:, None] if self.sigma is None else np.stack([mu, np.full_like(mu, self.sigma)], axis=1)
