"""What a prediction on new data needs from the project's held-out splits, fitted once per call as
:mod:`.evaluate` and :mod:`.uncertainty` fit it: the temperature (validation split, on the model's
own logits when it has them), the conformal quantile and the constant σ (calibration split), and
the out-of-distribution reference (the training data's last hidden features, flagged above the 99th
percentile of the calibration split's distances). One forward pass gives both the outputs and the
hidden features, so new data are run through the network once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.uncertainty import (
    OOD_QUANTILE,
    REFERENCE_SIZE,
    reference_rows,
    reference_split,
)


@dataclass
class Calibration:
    problem: str
    level: float
    head: object = None                 # keras.Model: inputs -> [last hidden features, outputs]
    logit_weights: tuple | None = None  # (W, b) of a Dense softmax/sigmoid output layer
    logits_are_hidden: bool = False     # a Softmax/Activation output layer: its input is the logits
    temperature: float = 1.0
    qhat: float | None = None           # classification: sets hold classes with 1 - p <= qhat
    q: float | None = None              # regression: interval half-width (× σ when normalised)
    normalised: bool = False
    sigma_const: float = float("nan")   # regression without σ: RMS of the calibration residuals
    ood: OodScorer | None = None
    ood_threshold: float | None = None
    model: object = None

    # -- classification ------------------------------------------------------------------------
    def logits(self, outputs, hidden) -> np.ndarray | None:
        if self.logits_are_hidden:
            z = np.asarray(hidden, np.float64)
        elif self.logit_weights is not None:
            w, b = self.logit_weights
            z = np.asarray(hidden, np.float64) @ w + b
        else:
            return None
        return z[:, 0] if z.ndim == 2 and z.shape[1] == 1 else z

    def probabilities(self, outputs, hidden) -> tuple[np.ndarray, np.ndarray]:
        """(the model's probabilities, the temperature-scaled ones), both (n, K) with K >= 2."""
        from nnstudio.core import evaluation as ev

        raw = _squeeze(outputs)
        z = self.logits(outputs, hidden)
        if self.temperature == 1.0:
            scaled = raw
        elif z is not None:
            scaled = ev.apply_temperature(z, self.temperature, kind="logits")
        else:
            scaled = ev.apply_temperature(raw, self.temperature, kind="proba")
        return _two_columns(raw), _two_columns(scaled)

    def calibrated_threshold(self, threshold: float, positive: int, k: int) -> float | None:
        """The decision threshold on the model's score as a threshold on the calibrated
        probability (binary only: temperature keeps the order, so one maps onto the other)."""
        from nnstudio.core import evaluation as ev

        if k > 2:
            return None
        t = threshold if positive == 1 else 1.0 - threshold
        tc = float(ev.apply_temperature(np.array([min(max(t, 1e-12), 1 - 1e-12)]), self.temperature,
                                        kind="proba")[0])
        return tc if positive == 1 else 1.0 - tc

    # -- regression -----------------------------------------------------------------------------
    @staticmethod
    def regression(outputs) -> tuple[np.ndarray, np.ndarray | None]:
        """(mean, σ or None) in the network's scaled units."""
        o = np.asarray(outputs, np.float64)
        if o.ndim == 2 and o.shape[1] == 2:
            return o[:, 0], o[:, 1]
        return (o[:, 0] if o.ndim == 2 else o), None


def _squeeze(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return p[..., 0] if p.ndim == 2 and p.shape[-1] == 1 else p


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.stack([1.0 - p, p], axis=1) if p.ndim == 1 else p


def _head(model):
    import keras

    from nnstudio.core.model.build import output_layer

    last = output_layer(model)
    head = keras.Model(model.inputs, [last.input, model.outputs[0]])
    act = getattr(getattr(last, "activation", None), "__name__", "")
    weights = None
    is_hidden = isinstance(last, keras.layers.Softmax) or (isinstance(last, keras.layers.Activation)
                                                          and act in ("softmax", "sigmoid"))
    if isinstance(last, keras.layers.Dense) and act in ("softmax", "sigmoid"):
        w = last.get_weights()
        weights = (np.asarray(w[0], np.float64), np.asarray(w[1], np.float64) if last.use_bias else 0.0)
    return head, weights, is_hidden


def _compiled(cal: Calibration, x: np.ndarray):
    """The head as one traced function for any batch of this input shape: a loop over batches
    with it costs less per batch than ``Model.predict``'s data pipeline."""
    fn = getattr(cal, "_fn", None)
    if fn is None:
        import tensorflow as tf

        head = cal.head
        spec = tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.float32)
        fn = tf.function(lambda batch: head(batch, training=False), input_signature=[spec])
        cal._fn = fn
    return fn


def forward(cal: Calibration, model, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, last hidden features) of ``x`` in one pass through the network."""
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:])), np.zeros((0, 1))
    fn = _compiled(cal, x)
    x = np.asarray(x, dtype=np.float32)
    hidden, outputs = [], []
    for i in range(0, len(x), batch_size):
        h, o = fn(x[i:i + batch_size])
        hidden.append(h.numpy())
        outputs.append(o.numpy())
    return np.concatenate(outputs).astype(np.float64), np.concatenate(hidden).astype(np.float64)


class OodScorer:
    """:func:`nnstudio.core.evaluation.distance_scores` with the neighbour index built once (the
    training features standardised by their own mean and spread; mean distance to the k nearest),
    in float32, for scoring many chunks of new data."""

    def __init__(self, train_features: np.ndarray, k: int = 5):
        from sklearn.neighbors import NearestNeighbors

        ref = np.asarray(train_features, np.float64).reshape(len(train_features), -1)
        self.mean, std = ref.mean(axis=0), ref.std(axis=0)
        std[std == 0] = 1.0
        self.std = std
        self.nn = NearestNeighbors(n_neighbors=min(k, len(ref)), algorithm="brute").fit(self._z(ref))

    def _z(self, x) -> np.ndarray:
        return ((np.asarray(x, np.float64).reshape(len(x), -1) - self.mean) / self.std).astype(np.float32)

    def __call__(self, features) -> np.ndarray:
        dist, _ = self.nn.kneighbors(self._z(features))
        return dist.mean(axis=1).astype(np.float64)


def calibrate(project: Project, model, prepared, task: Task | None = None, seed: int = 0) -> Calibration:
    """Fit on the project's held-out splits what the new data's probabilities, sets, intervals and
    out-of-distribution flags need."""
    from nnstudio.core import evaluation as ev

    task = task or Task()
    settings = project.uncertainty
    head, weights, is_hidden = _head(model)
    cal = Calibration(prepared.problem, float(settings.conformal_level), head=head, logit_weights=weights,
                      logits_are_hidden=is_hidden, model=model)
    task.report_progress(0, 100, "fitting on the held-out splits (temperature, conformal, reference)")
    run = {s: forward(cal, model, prepared.x[s]) for s in ("val", "cal") if prepared.count(s) > 0}
    alpha = 1.0 - cal.level
    if prepared.problem == "classification":
        if settings.temperature_scaling and "val" in run:
            z = cal.logits(*run["val"])
            cal.temperature = (ev.fit_temperature(z, prepared.y["val"], kind="logits") if z is not None
                               else ev.fit_temperature(_squeeze(run["val"][0]), prepared.y["val"], kind="proba"))
        if "cal" in run:
            q = ev.conformal_threshold(_squeeze(run["cal"][0]), prepared.y["cal"], alpha)
            cal.qhat = q if np.isfinite(q) else np.inf
    elif "cal" in run:
        mean, sigma = cal.regression(run["cal"][0])
        y = prepared.inverse_y(prepared.y["cal"]).astype(np.float64)
        mu = prepared.inverse_y(mean)
        cal.sigma_const = max(float(np.sqrt(np.mean((y - mu) ** 2))), 1e-12)
        cal.normalised = sigma is not None
        cal.q = ev.conformal_regression_quantile(y, mu, alpha, prepared.inverse_sigma(sigma) if sigma is not None
                                                 else None)
    ref = reference_split(prepared, "test")
    if ref is not None and prepared.count("train") > 0:
        rows = reference_rows(prepared.count("train"), REFERENCE_SIZE, seed)
        cal.ood = OodScorer(forward(cal, model, prepared.x["train"][rows])[1])
        ref_rows = reference_rows(prepared.count(ref), REFERENCE_SIZE, seed)
        ref_hidden = (run[ref][1][ref_rows] if ref in run else forward(cal, model, prepared.x[ref][ref_rows])[1])
        cal.ood_threshold = ev.ood_threshold(cal.ood(ref_hidden), OOD_QUANTILE)
    return cal


__all__ = ["Calibration", "OodScorer", "calibrate", "forward"]
