"""What a prediction on new data needs from the project's held-out splits, fitted once per call as
:mod:`.evaluate` and :mod:`.uncertainty` fit it: the temperature (validation split, on the model's
own logits when it has them), the conformal quantile and the constant σ (calibration split), and
the out-of-distribution reference (the mean and covariance of the training data's last hidden
features; rows flagged above the 99th percentile of the calibration split's distances). One forward
pass gives both the outputs and the hidden features, so new data are run through the network once.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

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
    tta: bool = False                   # a run trained on the sky symmetries: average the 8 views

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


CALL_BYTES = 16 * 1024 * 1024


def _compiled(cal: Calibration, x: np.ndarray, batch_size: int):
    """The head over whole batches of ``batch_size`` rows, as one traced graph that loops over the
    batches itself: the forward passes are the same as ``Model.predict``'s at that batch size, but
    the per-batch cost of returning to Python is gone (it was a third of a small MLP's time)."""
    cache = cal.__dict__.setdefault("_fns", {})
    key = (tuple(x.shape[1:]), int(batch_size))
    if key not in cache:
        import tensorflow as tf

        head, b = cal.head, int(batch_size)
        shape = tuple(x.shape[1:])
        outs = [tf.TensorSpec((b,) + tuple(t.shape[1:]), tf.float32) for t in head.outputs]

        @tf.function(input_signature=[tf.TensorSpec((None,) + shape, tf.float32)])
        def run(xs):
            batches = tf.reshape(xs, tf.concat([[-1, b], tf.shape(xs)[1:]], axis=0))
            h, o = tf.map_fn(lambda xb: tuple(tf.cast(t, tf.float32) for t in head(xb, training=False)),
                             batches, fn_output_signature=tuple(outs), parallel_iterations=1)
            return (tf.reshape(h, tf.concat([[-1], tf.shape(h)[2:]], axis=0)),
                    tf.reshape(o, tf.concat([[-1], tf.shape(o)[2:]], axis=0)))

        cache[key] = run
    return cache[key]


def forward(cal: Calibration, model, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, last hidden features) of ``x`` in one pass through the network; with ``cal.tta``
    both are means over the 8 sky symmetries of each image, as evaluation's test-time augmentation
    averages the probabilities and the logits (the logits are linear in the hidden features, so
    the mean features give the mean logits)."""
    if len(x) == 0:
        return _forward(cal, model, x, batch_size)
    # a few megabytes of input per graph call: the tensor copies (and the views' copies) stay small
    b = max(1, int(batch_size))
    step = max(b, (CALL_BYTES // max(1, x[0].nbytes)) // b * b)
    outs, hids = [], []
    for i in range(0, len(x), step):
        part = x[i:i + step]
        if cal.tta:
            from nnstudio.core.training.augment import sky_views

            views = [_forward(cal, model, np.ascontiguousarray(v), b) for v in sky_views(part)]
            o, h = np.mean([v[0] for v in views], axis=0), np.mean([v[1] for v in views], axis=0)
        else:
            o, h = _forward(cal, model, part, b)
        outs.append(o)
        hids.append(h)
    return (outs[0], hids[0]) if len(outs) == 1 else (np.concatenate(outs), np.concatenate(hids))


def _forward(cal: Calibration, model, x: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:])), np.zeros((0, 1))
    x = np.asarray(x, dtype=np.float32)
    b = max(1, int(batch_size))        # one batch size, one trace: a short last batch is padded
    fn = _compiled(cal, x, b)
    full = len(x) // b * b
    hidden, outputs = [], []
    if full:
        h, o = fn(x[:full])
        hidden.append(h.numpy())
        outputs.append(o.numpy())
    if full < len(x):           # the last, partial batch padded to the full size, then cut
        rest = x[full:]
        h, o = fn(np.concatenate([rest, np.zeros((b - len(rest),) + x.shape[1:], np.float32)]))
        hidden.append(h.numpy()[:len(rest)])
        outputs.append(o.numpy()[:len(rest)])
    return np.concatenate(outputs).astype(np.float64), np.concatenate(hidden).astype(np.float64)


class OodScorer:
    """How unlike the training data a row's last hidden features are: the Mahalanobis distance from
    the training features' mean under their (Ledoit-Wolf shrunk) covariance. Its cost is linear in
    the rows (one float32 matrix product a chunk), where the k-nearest-neighbour distance of the
    Uncertainty step grows with rows × reference and took half of a big table's prediction time.
    Shrinkage keeps units that never fire in training finite: an input that wakes one scores high.
    As there, the flag's threshold is a quantile of the calibration split's scores, so held-out
    data like the training data are flagged at about the nominal rate."""

    CHUNK = 65536

    def __init__(self, train_features: np.ndarray):
        from sklearn.covariance import ledoit_wolf

        ref = np.asarray(train_features, np.float64).reshape(len(train_features), -1)
        self.mean = ref.mean(axis=0)
        cov = ledoit_wolf(ref - self.mean, assume_centered=True)[0] if len(ref) > 1 else np.eye(ref.shape[1])
        vals, vecs = np.linalg.eigh(cov)
        vals = np.maximum(vals, max(float(vals.max()), 1e-12) * 1e-9)
        self.whiten = (vecs / np.sqrt(vals)).astype(np.float32)
        self._mean32 = self.mean.astype(np.float32)

    @classmethod
    def fitted(cls, mean, whiten) -> OodScorer:
        self = cls.__new__(cls)
        self.mean, self.whiten = np.asarray(mean, np.float64), np.asarray(whiten, np.float32)
        self._mean32 = self.mean.astype(np.float32)
        return self

    def __call__(self, features) -> np.ndarray:
        x = np.asarray(features).reshape(len(features), -1)
        out = np.empty(len(x), np.float64)
        for i in range(0, len(x), self.CHUNK):
            z = (x[i:i + self.CHUNK].astype(np.float32) - self._mean32) @ self.whiten
            out[i:i + self.CHUNK] = np.sqrt(np.einsum("ij,ij->i", z, z))
        return out


CACHE_NAME = "predict_calibration.npz"
CACHE_VERSION = 1
_FITTED = ("temperature", "qhat", "q", "normalised", "sigma_const", "ood_threshold")


def model_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def calibration_key(project: Project, model_sha: str, seed: int = 0, tta: bool = False) -> str:
    """What the fitted numbers depend on: the model's bytes, the data and their preparation
    (splits, scalers, the data file's checksum), the uncertainty settings and the seed."""
    d = project.to_dict()
    parts = {k: d.get(k) for k in ("data", "preparation", "uncertainty")}
    text = json.dumps([CACHE_VERSION, model_sha, seed, bool(tta), parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def calibrate(project: Project, model, prepared, task: Task | None = None, seed: int = 0,
              cache_dir=None, model_sha: str | None = None, tta: bool = False) -> Calibration:
    """Fit on the project's held-out splits what the new data's probabilities, sets, intervals and
    out-of-distribution flags need. With ``cache_dir`` (the run's folder) the fitted numbers are
    kept there, keyed by :func:`calibration_key`, so that predicting many inputs (or shards) with
    one run fits them once; anything they depend on changing refits them."""
    key = calibration_key(project, model_sha, seed, tta) if cache_dir is not None and model_sha else None
    path = Path(cache_dir) / CACHE_NAME if key else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    return _from_cache(z, project, model, prepared, tta)
        except (OSError, ValueError, KeyError):
            pass                     # a damaged or older cache is fitted again
    cal = _fit(project, model, prepared, task, seed, tta)
    if path is not None:
        _to_cache(cal, path, key)
    return cal


def _to_cache(cal: Calibration, path: Path, key: str) -> None:
    import io

    from nnstudio.core.files import atomic_write_bytes

    arrays = {"key": np.array(key)}
    for name in _FITTED:
        v = getattr(cal, name)
        arrays[name] = np.array(np.nan if v is None else float(v))
    if cal.ood is not None:
        arrays.update(ood_mean=cal.ood.mean, ood_whiten=cal.ood.whiten)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError:
        pass                         # a read-only project predicts all the same, fitting each time


def _from_cache(z, project: Project, model, prepared, tta: bool) -> Calibration:
    head, weights, is_hidden = _head(model)
    cal = Calibration(prepared.problem, float(project.uncertainty.conformal_level), head=head,
                      logit_weights=weights, logits_are_hidden=is_hidden, model=model, tta=tta)
    for name in _FITTED:
        v = float(z[name])
        if name == "normalised":
            cal.normalised = bool(v)
        elif name in ("temperature", "sigma_const"):
            setattr(cal, name, v)
        else:
            setattr(cal, name, None if np.isnan(v) else v)
    if "ood_mean" in z.files:
        cal.ood = OodScorer.fitted(z["ood_mean"], z["ood_whiten"])
    return cal


def _fit(project: Project, model, prepared, task: Task | None = None, seed: int = 0, tta: bool = False) -> Calibration:
    """Fit on the project's held-out splits what the new data's probabilities, sets, intervals and
    out-of-distribution flags need."""
    from nnstudio.core import evaluation as ev

    task = task or Task()
    settings = project.uncertainty
    head, weights, is_hidden = _head(model)
    cal = Calibration(prepared.problem, float(settings.conformal_level), head=head, logit_weights=weights,
                      logits_are_hidden=is_hidden, model=model, tta=tta)
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


__all__ = ["Calibration", "OodScorer", "calibrate", "calibration_key", "forward", "model_hash"]
