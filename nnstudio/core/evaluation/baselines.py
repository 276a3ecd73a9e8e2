"""Models without a network, to show whether the network earns its parameters.

Fitted on the training split only (the inputs as prepared for the network: the same scaling),
and scored on any other split with the network's own metrics:

* classification: the majority class (predicts the training class frequencies for everyone),
  and logistic regression (scikit-learn, L2, C chosen by cross-validated log loss on the training split);
* regression: the training mean, and ridge regression (alpha chosen by cross-validation on the
  training split);
* images: the same, on the pixels averaged down to at most ``MAX_SIDE`` × ``MAX_SIDE`` per band
  (the "no network" reference a referee asks for).

Large training splits are subsampled (seeded) to ``MAX_TRAIN`` rows so a baseline never takes
longer than the evaluation it sits beside.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

MAX_SIDE = 16
MAX_TRAIN = 20_000
LABELS = {"majority": "majority class", "logistic": "logistic regression",
          "mean": "training mean", "ridge": "ridge regression"}


@dataclass
class Baseline:
    """A fitted baseline's predictions: probabilities (classification) or the mean in the
    prepared (scaled) target units (regression), per split."""

    name: str
    label: str
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""


def features(x: np.ndarray, kind: str) -> np.ndarray:
    """One row of numbers per sample: the table as it is, images block-averaged and flattened."""
    x = np.asarray(x, dtype=np.float32)
    if kind != "images" or x.ndim < 3:
        return x.reshape(len(x), -1)
    h, w = x.shape[1], x.shape[2]
    fh, fw = -(-h // MAX_SIDE), -(-w // MAX_SIDE)             # block sizes, rounded up
    hh, ww = h - h % fh, w - w % fw                          # drop the ragged edge
    x = x[:, :hh, :ww]
    pooled = x.reshape(len(x), hh // fh, fh, ww // fw, fw, *x.shape[3:]).mean(axis=(2, 4))
    return pooled.reshape(len(x), -1)


def fit_baselines(prepared, splits=("test",), seed: int = 0) -> list[Baseline]:
    """The problem's baselines, fitted on ``prepared``'s training split, scored on ``splits``."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV

    x_train = features(prepared.x["train"], prepared.kind)
    y_train = np.asarray(prepared.y["train"])
    note = ""
    if len(x_train) > MAX_TRAIN:
        keep = np.sort(np.random.default_rng(seed).choice(len(x_train), MAX_TRAIN, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
        note = f"fitted on {MAX_TRAIN:,} training samples drawn at random"
    if prepared.kind == "images":
        note = "; ".join(filter(None, [f"on the pixels averaged down to at most {MAX_SIDE}×{MAX_SIDE}", note]))
    if prepared.problem == "classification":
        k = prepared.n_classes
        folds = int(min(5, np.bincount(y_train, minlength=k)[np.bincount(y_train, minlength=k) > 0].min()))
        models = {"majority": DummyClassifier(strategy="prior"),
                  "logistic": (LogisticRegressionCV(Cs=8, cv=folds, max_iter=2000, scoring="neg_log_loss") if folds >= 2
                               else None)}
    else:
        models = {"mean": DummyRegressor(strategy="mean"),
                  "ridge": RidgeCV(alphas=np.logspace(-3, 3, 13))}
    out = []
    for name, model in models.items():
        if model is None:
            continue
        with warnings.catch_warnings():         # scikit-learn's notices of coming defaults
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(x_train, y_train)
        b = Baseline(name, LABELS[name], note=note if name in ("logistic", "ridge") else "")
        for s in splits:
            if prepared.count(s) == 0:
                continue
            xs = features(prepared.x[s], prepared.kind)
            b.scores[s] = _proba(model, xs, prepared.n_classes) if prepared.problem == "classification" \
                else model.predict(xs).astype(np.float64)
        out.append(b)
    return out


def _proba(model, x, k: int) -> np.ndarray:
    """(N, K) probabilities over all K classes, also those the training split lacked."""
    p = np.zeros((len(x), k))
    p[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(x)
    return p
