"""Predictive uncertainty: Gaussian error bars and their checks, epistemic measures, MC dropout.

Regression checks assume Gaussian predictive distributions N(mu, sigma^2) (a heteroscedastic head,
MC dropout or an ensemble reduced with :func:`combine_gaussian_samples`). Coverage and PIT do not
depend on units; the NLL does, so pass y, mu and sigma in the same units (scaled or original) and
say which when reporting.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from nnstudio.core.evaluation._common import as_1d_float, as_labels, check_finite, check_same_length
from nnstudio.core.files import jsonable
from nnstudio.errors import NnstudioError

#: the "68%" interval is mu ± 1 sigma, whose Gaussian coverage is erf(1/sqrt 2)
LEVEL_68 = math.erf(1.0 / math.sqrt(2.0))
LEVEL_95 = 0.95

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return _erfc(-z / math.sqrt(2.0)).astype(np.float64) * 0.5


def z_for_level(level: float) -> float:
    """Half-width in sigmas of the central Gaussian interval holding ``level`` of the mass."""
    if not 0.0 < level < 1.0:
        raise NnstudioError(f"An interval level must lie strictly between 0 and 1, not {level}.")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _gaussian_inputs(y, mu, sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = as_1d_float(y, "the targets")
    mu = as_1d_float(mu, "the predicted means")
    sigma = as_1d_float(sigma, "the predicted sigmas")
    check_same_length(y=y, mu=mu, sigma=sigma)
    check_finite(y, "the targets")
    check_finite(mu, "the predicted means")
    check_finite(sigma, "the predicted sigmas")
    if np.any(sigma <= 0):
        raise NnstudioError("Some predicted sigmas are zero or negative; a standard deviation must be "
                            "positive (the output head should end in softplus or exp).")
    return y, mu, sigma


def split_mean_sigma(outputs) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) [mean, sigma] heteroscedastic outputs -> (mu, sigma)."""
    a = np.asarray(outputs, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise NnstudioError(f"Expected (N, 2) [mean, sigma] outputs, got shape {a.shape}.")
    return a[:, 0], a[:, 1]


# -- regression: checks of Gaussian error bars ----------------------------------------------------

def gaussian_coverage(y, mu, sigma, level: float = LEVEL_95) -> float:
    """Fraction of ``y`` inside the central ``level`` interval mu ± z·sigma."""
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    return float(np.mean(np.abs(y - mu) <= z_for_level(level) * sigma))


@dataclass
class CoverageCurve:
    expected: np.ndarray       # nominal levels
    observed: np.ndarray       # fraction of samples inside each central interval
    miscalibration_area: float  # mean |observed - expected| over the levels

    def to_dict(self) -> dict:
        return jsonable({"expected": self.expected, "observed": self.observed,
                         "miscalibration_area": self.miscalibration_area})


def coverage_curve(y, mu, sigma, levels=None) -> CoverageCurve:
    """Observed against expected coverage of central intervals (sorted once, one search per level)."""
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    levels = np.linspace(0.01, 0.99, 99) if levels is None else np.asarray(levels, dtype=np.float64)
    z = np.sort(np.abs(y - mu) / sigma)
    zq = np.array([z_for_level(float(lv)) for lv in levels])
    observed = np.searchsorted(z, zq, side="right") / len(z)
    return CoverageCurve(levels, observed, float(np.mean(np.abs(observed - levels))))


def pit_values(y, mu, sigma) -> np.ndarray:
    """Probability integral transform Phi((y - mu) / sigma); uniform on [0, 1] when calibrated."""
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    return normal_cdf((y - mu) / sigma)


def pit_histogram(pit, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) on [0, 1]. A U shape means error bars too narrow; a hump, too wide."""
    return np.histogram(np.asarray(pit, dtype=np.float64), bins=bins, range=(0.0, 1.0))


def gaussian_nll(y, mu, sigma) -> float:
    """Mean Gaussian negative log-likelihood (natural log, including 0.5 log 2 pi)."""
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    z = (y - mu) / sigma
    return float(np.mean(0.5 * math.log(2.0 * math.pi) + np.log(sigma) + 0.5 * z * z))


def sharpness(sigma) -> float:
    """Root-mean-square predicted sigma (same units as y): smaller is sharper, if still calibrated."""
    s = as_1d_float(sigma, "the predicted sigmas")
    return float(np.sqrt(np.mean(s * s)))


def error_vs_sigma(y, mu, sigma, n_bins: int = 10) -> dict:
    """RMS error against RMS predicted sigma in bins of equal count (sorted by sigma).

    Calibrated error bars put the points on the 1:1 line.
    """
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    order = np.argsort(sigma, kind="stable")
    groups = [g for g in np.array_split(order, min(n_bins, len(order))) if len(g)]
    err2 = (y - mu) ** 2
    return jsonable({
        "rms_sigma": [float(np.sqrt(np.mean(sigma[g] ** 2))) for g in groups],
        "rms_error": [float(np.sqrt(np.mean(err2[g]))) for g in groups],
        "count": [len(g) for g in groups],
    })


def combine_gaussian_samples(samples) -> dict[str, np.ndarray]:
    """Reduce T stochastic predictions (MC dropout passes or ensemble members) per sample.

    ``samples`` is (T, N) / (T, N, 1) point predictions, or (T, N, 2) [mean, sigma] from a
    heteroscedastic head. Returns mu, sigma (total), sigma_epistemic (spread of the means) and
    sigma_aleatoric (root mean predicted variance; zeros for point predictions).
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim == 3 and s.shape[2] == 1:
        s = s[..., 0]
    if s.ndim == 2:
        means, ale_var = s, np.zeros_like(s[0])
    elif s.ndim == 3 and s.shape[2] == 2:
        means, ale_var = s[..., 0], np.mean(s[..., 1] ** 2, axis=0)
    else:
        raise NnstudioError(f"Expected (T, N) or (T, N, 2) samples, got shape {s.shape}.")
    epi_var = np.var(means, axis=0)
    return {"mu": means.mean(axis=0), "sigma": np.sqrt(epi_var + ale_var),
            "sigma_epistemic": np.sqrt(epi_var), "sigma_aleatoric": np.sqrt(ale_var)}


# -- classification: epistemic measures -----------------------------------------------------------

def _binary_to_two_columns(p: np.ndarray, ndim: int) -> np.ndarray:
    """Binary P(class 1), with or without a trailing axis of 1, -> explicit two-class last axis."""
    if p.ndim == ndim and p.shape[-1] == 1:
        p = p[..., 0]
    if p.ndim == ndim - 1:
        p = np.stack([1.0 - p, p], axis=-1)
    return p


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=-1)


def predictive_entropy(probs_mean) -> np.ndarray:
    """Entropy (nats) of the mean predictive distribution: (N,) P(class 1) or (N, K)."""
    p = _binary_to_two_columns(np.asarray(probs_mean, dtype=np.float64), 2)
    if p.ndim != 2:
        raise NnstudioError(f"Expected (N,) or (N, K) probabilities, got shape {p.shape}.")
    return _entropy(p)


def mutual_information(prob_samples) -> np.ndarray:
    """Epistemic part of the entropy: H[mean_t p_t] - mean_t H[p_t], per sample (nats).

    ``prob_samples`` is (T, N, K), or (T, N) / (T, N, 1) for binary P(class 1).
    """
    s = _binary_to_two_columns(np.asarray(prob_samples, dtype=np.float64), 3)
    if s.ndim != 3:
        raise NnstudioError(f"Expected (T, N, K) probability samples, got shape {s.shape}.")
    mi = _entropy(s.mean(axis=0)) - _entropy(s).mean(axis=0)
    return np.maximum(mi, 0.0)              # rounding can make it a hair negative


def ood_threshold(reference_scores, quantile: float = 0.99) -> float:
    if not 0.0 < quantile < 1.0:
        raise NnstudioError("The out-of-distribution quantile must lie strictly between 0 and 1.")
    ref = np.asarray(reference_scores, dtype=np.float64).ravel()
    if ref.size == 0:
        raise NnstudioError("No reference scores to compare with (the training predictions are empty).")
    return float(np.quantile(ref, quantile))


def flag_out_of_distribution(scores, reference_scores, quantile: float = 0.99) -> np.ndarray:
    """True where a score (e.g. mutual information or sigma_epistemic) exceeds the ``quantile`` of
    the same score on held-out reference data (the calibration split: the model never fitted it,
    so about 1 - ``quantile`` of ordinary samples are flagged)."""
    return np.asarray(scores, dtype=np.float64) > ood_threshold(reference_scores, quantile)


def distance_scores(train_features, features, k: int = 5) -> np.ndarray:
    """How far each row of ``features`` lies from the training data: the mean Euclidean distance
    to its ``k`` nearest training rows, after standardising every feature by the training data's
    mean and spread. Large for inputs unlike anything the network was trained on."""
    from sklearn.neighbors import NearestNeighbors

    ref = np.asarray(train_features, dtype=np.float64).reshape(len(train_features), -1)
    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    if len(ref) == 0:
        raise NnstudioError("No training samples to measure distances from.")
    mean, std = ref.mean(axis=0), ref.std(axis=0)
    std[std == 0] = 1.0
    nn = NearestNeighbors(n_neighbors=min(k, len(ref))).fit((ref - mean) / std)
    dist, _ = nn.kneighbors((x - mean) / std)
    return dist.mean(axis=1)


# -- MC dropout -----------------------------------------------------------------------------------------

_ROWS_PER_STEP = 8192          # tiled rows per forward pass (inputs x T)
_ELEMENTS_PER_STEP = 1 << 22   # and at most this many input values, so image batches fit in memory
_ACTIVATIONS_PER_STEP = 1 << 22    # narrow networks take more rows, up to this many values per layer


def _dropout_types():
    import keras
    return (keras.layers.Dropout, keras.layers.GaussianDropout, keras.layers.AlphaDropout)


def _walk_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk_layers(layer)


def dropout_layers(model) -> list:
    """Dropout-like layers (Dropout, SpatialDropout*, GaussianDropout, AlphaDropout), nested too."""
    types = _dropout_types()
    return [la for la in _walk_layers(model) if isinstance(la, types)]


def dropout16(inputs, rate: float, seed_generator):
    """Dropout whose keep-or-drop draws take 16 random bits each (two from every 32-bit Philox
    word) where Keras's take a float32 of 32: half the random-number work, which is most of an MC
    pass through a small dense network. The rate is exact to 1/65536 and the kept values are scaled
    by the exact keep probability, so the passes' mean is the deterministic network's."""
    import tensorflow as tf

    cut = min(65535, int(round(rate * 65536)))
    scale = 65536.0 / (65536 - cut)
    seed = tf.cast(tf.math.floormod(seed_generator.next(), 2**31 - 2), tf.int32)
    n = tf.size(inputs)
    words = tf.random.stateless_uniform(tf.reshape((n + 1) // 2, [1]), seed=seed, minval=None, maxval=None,
                                        dtype=tf.uint32)
    bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:n]
    keep = tf.reshape(bits >= tf.constant(cut, tf.uint16), tf.shape(inputs))
    return tf.where(keep, inputs * tf.cast(scale, inputs.dtype), tf.zeros_like(inputs))


def _always_on_model(model):
    """Same weights, but every dropout layer is called with training=True; everything else
    (BatchNormalization included) runs in inference mode."""
    import keras

    types = _dropout_types()

    class _AlwaysOnDropout(keras.layers.Layer):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_always_on", dtype=inner.dtype_policy)
            self.inner = inner
            self.fast = (type(inner) is keras.layers.Dropout and inner.noise_shape is None
                         and 0.0 < float(inner.rate) < 1.0 and keras.backend.backend() == "tensorflow")

        def call(self, inputs, training=None):
            if self.fast:
                return dropout16(inputs, float(self.inner.rate), self.inner.seed_generator)
            return self.inner(inputs, training=True)

        def compute_output_shape(self, input_shape):
            return input_shape

    def clone(layer):
        return _AlwaysOnDropout(layer) if isinstance(layer, types) else layer

    try:
        return keras.models.clone_model(model, clone_function=clone, recursive=True)
    except (ValueError, TypeError) as exc:
        raise NnstudioError("MC dropout needs a Sequential or functional Keras model; this model "
                            "could not be rebuilt with dropout switched on.", detail=str(exc)) from exc


def _split_shared_prefix(model):
    """(prefix, rest) around the input of the first layer that is or holds a dropout.

    The prefix is deterministic, so it runs once per batch and only ``rest`` runs T times: the
    passes share that work. Returns (None, model) when the graph cannot be cut there (dropout
    right after the input, a skip connection around the cut, a layer used twice).
    """
    import keras

    types = _dropout_types()
    first = next((la for la in model.layers
                  if isinstance(la, types) or (hasattr(la, "layers") and dropout_layers(la))), None)
    if first is None:
        return None, model
    try:
        inputs = model.inputs
        boundary = first.input
        if len(inputs) != 1 or isinstance(boundary, (list, tuple, dict)) or boundary is inputs[0]:
            return None, model
        prefix = keras.Model(inputs[0], boundary)
        rest = keras.Model(boundary, model.outputs[0] if len(model.outputs) == 1 else model.outputs)
    except (ValueError, AttributeError, TypeError):
        return None, model
    return prefix, rest


def default_mc_batch_size(input_shape, n_passes: int, widest: int | None = None) -> int:
    """Inputs per step such that ``n_passes`` tiled copies stay within a modest memory budget.
    ``widest``: the most values a layer outputs per row; a narrow network (a small dense one) takes
    steps of more rows, as many as keep each layer's output within the same budget: fewer, larger
    steps cost less per row."""
    elems = max(1, int(np.prod(input_shape)))
    rows = _ROWS_PER_STEP
    if widest:
        rows = max(rows, _ACTIVATIONS_PER_STEP // max(1, int(widest)))
    rows = max(n_passes, min(rows, _ELEMENTS_PER_STEP // elems))
    return max(1, rows // n_passes)


def _widest_output(model) -> int | None:
    """The most values any layer of ``model`` outputs per row, where Keras knows the shapes."""
    widest = 0
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            return None
        shape = shape[0] if isinstance(shape, list) else shape
        if any(d is None for d in shape[1:]):
            return None
        widest = max(widest, int(np.prod(shape[1:])))
    return widest or None


def mc_dropout_predict(model, x, n_passes: int = 50, batch_size: int | None = None, task=None) -> np.ndarray:
    """``n_passes`` stochastic forward passes with dropout active -> float32 samples
    (n_passes, N, *output_shape).

    The passes share work: in one compiled function per batch, the deterministic layers before the
    first dropout run once, their output is tiled n_passes times, and the rest of the network computes
    all passes at once (``batch_size`` is capped so the tiled batch stays within
    :func:`default_mc_batch_size`'s memory budget). BatchNormalization stays in inference mode.
    A model without dropout gives n_passes copies of ``model.predict`` (and a message saying so), which
    is its exact deterministic answer.
    """
    from nnstudio.core.tasks import Task

    task = task or Task()
    if n_passes < 1:
        raise NnstudioError("MC dropout needs at least one pass (T >= 1).")
    if isinstance(x, (list, tuple, dict)):
        raise NnstudioError("MC dropout supports models with a single input array.")
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype != np.float32:
        x = x.astype(np.float32)
    n = len(x)
    if n == 0:
        raise NnstudioError("There are no samples to predict: the chosen split is empty.")
    # n_passes tiled copies of a large batch of images would not fit in memory (and run slower than
    # smaller steps): the memory budget caps the inputs per step
    budget = default_mc_batch_size(x.shape[1:], n_passes, _widest_output(model))
    batch_size = budget if batch_size is None else min(int(batch_size), budget)
    batch_size = max(1, min(batch_size, n))

    if not dropout_layers(model):
        task.report_message("The model has no dropout layers: every MC dropout pass is identical, "
                            "so it shows no model (epistemic) uncertainty.")
        out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
        return np.repeat(out[None], n_passes, axis=0)

    step = _mc_step(model, n_passes, (batch_size, *x.shape[1:]), x.dtype)
    chunks = []
    task.report_progress(0, n, "MC dropout")
    for start in range(0, n, batch_size):
        task.check()
        xb = x[start:start + batch_size]
        b = len(xb)
        if b < batch_size:      # pad the last batch: one input shape, one trace
            pad = np.zeros((batch_size - b, *x.shape[1:]), dtype=x.dtype)
            xb = np.concatenate([xb, pad])
        chunks.append(np.asarray(step(xb))[:, :b])
        task.report_progress(min(start + batch_size, n), n, "MC dropout")
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False)


_MC_STEPS = weakref.WeakKeyDictionary()   # model -> {(passes, batch shape, dtype): compiled step}


def _mc_step(model, n_passes: int, batch_shape: tuple, dtype):
    """The compiled MC step of ``model``, kept while the model lives: evaluating it again (another
    split, the Uncertainty step after Diagnostics) skips the rebuild and the tracing. The step reads
    the model's own variables, and its dropout layers' seed generators move on, so every call
    draws fresh masks."""
    key = (int(n_passes), tuple(int(d) for d in batch_shape), np.dtype(dtype).str)
    try:
        steps = _MC_STEPS.setdefault(model, {})
    except TypeError:                       # not weakly referenceable: build it each time
        steps = {}
    if key not in steps:
        prefix, rest = _split_shared_prefix(model)
        steps.clear()                       # one shape at a time: a new one replaces the old
        steps[key] = _tiled_step(prefix, _always_on_model(rest), n_passes, batch_shape, dtype)
    return steps[key]


def _tiled_step(prefix, mc_model, n_passes: int, batch_shape: tuple, dtype):
    """One compiled step: shared prefix once, tile n_passes times (rows t*b + i: pass t, input i),
    then the stochastic rest, reshaped to (n_passes, b, ...)."""
    import keras

    def tile(h):
        return keras.ops.tile(h, [n_passes] + [1] * (len(h.shape) - 1))

    if keras.backend.backend() != "tensorflow":
        def eager(xb):
            h = xb if prefix is None else prefix(xb, training=False)
            out = keras.ops.convert_to_numpy(mc_model(tile(h), training=False))
            return out.reshape((n_passes, len(xb)) + out.shape[1:])
        return eager

    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec(batch_shape, tf.as_dtype(dtype))])
    def step(xb):
        h = xb if prefix is None else prefix(xb, training=False)
        out = mc_model(tile(h), training=False)
        if isinstance(out, (list, tuple, dict)):
            raise NnstudioError("MC dropout supports models with a single output.")
        return tf.reshape(out, tf.concat([[n_passes, batch_shape[0]], tf.shape(out)[1:]], axis=0))

    return step


# -- summaries for evaluate -----------------------------------------------------------------------------

def summarise_regression_uncertainty(y, mu, sigma, method: str = "", levels=None,
                                     pit_bins: int = 10, sigma_bins: int = 10) -> dict:
    """The regression uncertainty object of ``evaluate --json`` (and the Uncertainty panel)."""
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    curve = coverage_curve(y, mu, sigma, levels)
    counts, edges = pit_histogram(pit_values(y, mu, sigma), pit_bins)
    return jsonable({
        "method": method, "n_samples": len(y),
        "coverage_68": gaussian_coverage(y, mu, sigma, LEVEL_68), "nominal_68": LEVEL_68,
        "coverage_95": gaussian_coverage(y, mu, sigma, LEVEL_95), "nominal_95": LEVEL_95,
        "nll": gaussian_nll(y, mu, sigma), "sharpness": sharpness(sigma),
        "calibration_curve": curve.to_dict(),
        "pit_histogram": {"counts": counts, "edges": edges},
        "error_vs_sigma": error_vs_sigma(y, mu, sigma, sigma_bins),
    })


def summarise_classification_uncertainty(proba_test, y_test, temperature: float, n_bins: int = 15,
                                         prob_samples=None, method: str = "", logits=None) -> dict:
    """ECE and reliability before and after ``temperature`` (fitted on validation; applied to
    ``logits`` when given), entropy and,
    given (T, N, K) ``prob_samples`` from MC dropout or an ensemble, mutual information."""
    from nnstudio.core.evaluation.calibration import (
        apply_temperature, classification_nll, reliability_diagram,
    )

    before = reliability_diagram(proba_test, y_test, n_bins)
    # from the logits when known: probabilities float32 saturated at 0 or 1 have lost them
    scaled = (apply_temperature(logits, temperature, kind="logits") if logits is not None
              else apply_temperature(proba_test, temperature, kind="proba"))
    after = reliability_diagram(scaled, y_test, n_bins)
    entropy = predictive_entropy(proba_test)
    out = {
        "method": method, "n_samples": int(len(as_labels(y_test))),
        "ece": before.ece, "ece_after_temperature": after.ece, "temperature": float(temperature),
        "nll": classification_nll(proba_test, y_test),
        "nll_after_temperature": classification_nll(scaled, y_test),
        "reliability": before.to_dict(), "reliability_after_temperature": after.to_dict(),
        "mean_entropy": float(entropy.mean()),
    }
    if prob_samples is not None:
        mi = mutual_information(prob_samples)
        out["mean_mutual_information"] = float(mi.mean())
    return jsonable(out)
