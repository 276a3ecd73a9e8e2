"""Attribution maps for image models: which pixels made the network say what it said.

Three methods, each giving maps in the input's pixel grid:

- integrated gradients (Sundararajan et al. 2017): the gradient of the score averaged along the
  straight path from a baseline to the image, times (image - baseline). The baseline is each
  image's sky level (the median of each band), so "nothing there" means "only sky". All steps of a
  batch of samples go through one compiled call. Per band; the maps of a sample sum to
  ``score(image) - score(baseline)`` up to the path's discretisation.
- Grad-CAM (Selvaraju et al. 2017) for models with a Conv2D layer: the last convolution's feature
  maps weighted by their mean gradient, rectified and resized to the input. One map per sample.
- occlusion: the score's drop when a square patch is replaced by the sky level, averaged over the
  patches that cover each pixel. One map per sample, predictions batched.

The score is the output the explanation is about: a class's probability (``target`` holds one
class index per sample; a single sigmoid output counts as P(class 1)) or, for regression
(``target=None``), the first output (the predicted mean in the model's units). TensorFlow is
imported inside the functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.errors import NnstudioError

METHODS = ("ig", "gradcam", "occlusion")
METHOD_LABELS = {"ig": "integrated gradients", "gradcam": "Grad-CAM", "occlusion": "occlusion"}
IG_STEPS = 32
MAX_ROWS_PER_CALL = 1024        # images (steps x samples) through the network at once


@dataclass
class AttributionMaps:
    """``maps`` (N, H, W, C): per band for integrated gradients, C = 1 for the spatial methods."""

    method: str
    maps: np.ndarray

    @property
    def summed(self) -> np.ndarray:
        """(N, H, W): the maps summed over bands."""
        return self.maps.sum(axis=-1)

    def to_dict(self) -> dict:
        return {"method": self.method, "shape": list(self.maps.shape)}


def check_images(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise NnstudioError(f"Attribution maps need a batch of images (N, H, W, bands), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise NnstudioError("Some pixels are NaN or infinite: the maps cannot be computed on them.")
    return x


def sky_level(x) -> np.ndarray:
    """(N, 1, 1, C): each image's sky level, the median of each band (most pixels are sky)."""
    x = check_images(x)
    return np.median(x, axis=(1, 2), keepdims=True).astype(np.float32)


def _targets(target, n: int) -> np.ndarray | None:
    if target is None:
        return None
    t = np.asarray(target, dtype=np.int32).reshape(-1)
    if len(t) != n:
        raise NnstudioError(f"One target class per image is needed ({n}), got {len(t)}.")
    return t


def score_of(outputs, target):
    """The explained score of each row of model ``outputs`` (a TensorFlow tensor)."""
    import tensorflow as tf

    if len(outputs.shape) != 2:
        outputs = tf.reshape(outputs, (tf.shape(outputs)[0], -1))
    if target is None:
        return outputs[:, 0]
    if outputs.shape[-1] == 1:                 # one sigmoid: P(class 1); class 0 is 1 - P
        p = outputs[:, 0]
        return tf.where(tf.equal(target, 1), p, 1.0 - p)
    return tf.gather(outputs, tf.cast(target, tf.int32), axis=1, batch_dims=1)


def model_scores(model, x, target=None, batch_size: int = 256) -> np.ndarray:
    """The explained score of each image, float64 (Keras's own compiled predict)."""
    x = np.asarray(x, dtype=np.float32)
    t = _targets(target, len(x))
    if len(x) == 0:
        return np.zeros(0)
    out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    out = out.reshape(len(x), -1)
    if t is None:
        return out[:, 0]
    if out.shape[1] == 1:
        return np.where(t == 1, out[:, 0], 1.0 - out[:, 0])
    return out[np.arange(len(x)), t]


def integrated_gradients(model, x, target=None, steps: int = IG_STEPS, baseline=None,
                         task=None) -> AttributionMaps:
    """Integrated gradients with ``steps`` midpoint steps from ``baseline`` (default: the sky level).

    Every step of a chunk of samples is one batch of one compiled call."""
    import tensorflow as tf

    x = check_images(x)
    if steps < 2:
        raise NnstudioError("Integrated gradients need at least 2 steps (32 is a good default).")
    base = sky_level(x) if baseline is None else np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
    base = np.ascontiguousarray(np.broadcast_to(base, x.shape), dtype=np.float32)
    t = _targets(target, len(x))
    alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)
    per_call = max(1, MAX_ROWS_PER_CALL // steps)

    @tf.function(reduce_retracing=True)
    def chunk(xb, bb, tb):
        n = tf.shape(xb)[0]
        a = tf.reshape(alphas, (1, steps, 1, 1, 1))
        path = bb[:, None] + a * (xb - bb)[:, None]                     # (n, steps, H, W, C)
        flat = tf.reshape(path, tf.concat([[n * steps], tf.shape(xb)[1:]], 0))
        tt = None if tb is None else tf.repeat(tb, steps)
        with tf.GradientTape() as tape:
            tape.watch(flat)
            s = score_of(model(flat, training=False), tt)
        g = tf.reshape(tape.gradient(s, flat), tf.shape(path))
        return tf.reduce_mean(g, axis=1) * (xb - bb)

    out = np.empty_like(x)
    for s in range(0, len(x), per_call):
        if task is not None:
            task.check()
            task.report_progress(s, len(x), "integrated gradients")
        e = s + per_call
        tb = None if t is None else tf.constant(t[s:e])
        out[s:e] = chunk(tf.constant(x[s:e]), tf.constant(base[s:e]), tb).numpy()
    return AttributionMaps("ig", out)


def last_conv_layer(model):
    """The last Conv2D layer of ``model`` (searching nested models), or None."""
    import keras

    found = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            found = layer
        elif isinstance(layer, keras.Model):
            found = last_conv_layer(layer) or found
    return found


def _conv_and_output(model, conv, xb):
    """(the conv layer's output, the model's output) for a batch, both on the current tape."""
    import keras

    if isinstance(model, keras.Sequential) and conv in model.layers:
        h, feats = xb, None
        for layer in model.layers:
            h = layer(h, training=False)
            if layer is conv:
                feats = h
        return feats, h
    two = keras.Model(model.inputs, [conv.output, model.outputs[0]])
    return two(xb, training=False)


def grad_cam(model, x, target=None, batch_size: int = 64, task=None) -> AttributionMaps:
    """Grad-CAM from the last Conv2D layer, resized (bilinear) to the input's grid."""
    import tensorflow as tf

    x = check_images(x)
    conv = last_conv_layer(model)
    if conv is None:
        raise NnstudioError("Grad-CAM needs a model with a Conv2D layer; this one has none. "
                            "Use integrated gradients or occlusion.")
    t = _targets(target, len(x))
    size = x.shape[1:3]
    out = np.empty(x.shape[:3] + (1,), dtype=np.float32)
    for s in range(0, len(x), batch_size):
        if task is not None:
            task.check()
            task.report_progress(s, len(x), "Grad-CAM")
        xb = tf.constant(x[s:s + batch_size])
        with tf.GradientTape() as tape:
            feats, outputs = _conv_and_output(model, conv, xb)
            tape.watch(feats)
            score = score_of(outputs, None if t is None else tf.constant(t[s:s + batch_size]))
        grads = tape.gradient(score, feats)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * feats, axis=-1, keepdims=True))
        out[s:s + batch_size] = tf.image.resize(cam, size, method="bilinear").numpy()
    return AttributionMaps("gradcam", out)


def default_patch(shape) -> int:
    """A patch about an eighth of the smaller side, at least 2 pixels."""
    return max(2, round(min(shape[:2]) / 8))


def occlusion(model, x, target=None, patch: int | None = None, stride: int | None = None,
              batch_size: int = 512, task=None) -> AttributionMaps:
    """The score's drop when each ``patch`` x ``patch`` square is set to the sky level, averaged
    over the patches covering each pixel (``stride`` defaults to half a patch)."""
    x = check_images(x)
    n, h, w, _c = x.shape
    patch = int(patch or default_patch((h, w)))
    stride = int(stride or max(1, patch // 2))
    if not 1 <= patch <= min(h, w) or stride < 1:
        raise NnstudioError(f"The occlusion patch must be 1 to {min(h, w)} pixels (got {patch}).")
    t = _targets(target, n)
    sky = sky_level(x)
    ys = sorted(set(list(range(0, h - patch + 1, stride)) + [h - patch]))
    xs = sorted(set(list(range(0, w - patch + 1, stride)) + [w - patch]))
    corners = [(i, j) for i in ys for j in xs]
    cover = np.zeros((h, w), dtype=np.float32)
    for i, j in corners:
        cover[i:i + patch, j:j + patch] += 1
    full = model_scores(model, x, t)
    out = np.zeros((n, h, w, 1), dtype=np.float32)
    per_sample = max(1, batch_size // len(corners))
    for s in range(0, n, per_sample):
        if task is not None:
            task.check()
            task.report_progress(s, n, "occlusion")
        rows = range(s, min(n, s + per_sample))
        batch = np.repeat(x[s:s + per_sample], len(corners), axis=0)
        for r, k in enumerate(rows):
            for q, (i, j) in enumerate(corners):
                batch[r * len(corners) + q, i:i + patch, j:j + patch, :] = sky[k, 0, 0]
        tb = None if t is None else np.repeat(t[s:s + per_sample], len(corners))
        drops = full[s:s + per_sample, None] - model_scores(model, batch, tb).reshape(len(rows), len(corners))
        for q, (i, j) in enumerate(corners):
            out[s:s + per_sample, i:i + patch, j:j + patch, 0] += drops[:, q, None, None]
    out /= cover[None, :, :, None]
    return AttributionMaps("occlusion", out)


def attribution_maps(model, x, method: str = "ig", target=None, steps: int = IG_STEPS, task=None) -> AttributionMaps:
    """The maps of one method by name: "ig", "gradcam" or "occlusion"."""
    if method == "ig":
        return integrated_gradients(model, x, target, steps=steps, task=task)
    if method == "gradcam":
        return grad_cam(model, x, target, task=task)
    if method == "occlusion":
        return occlusion(model, x, target, task=task)
    raise NnstudioError(f"Unknown attribution method {method!r}. Choose one of: {', '.join(METHODS)}.")


__all__ = ["IG_STEPS", "METHODS", "METHOD_LABELS", "AttributionMaps", "attribution_maps", "check_images",
           "default_patch", "grad_cam", "integrated_gradients", "last_conv_layer", "model_scores", "occlusion",
           "score_of", "sky_level"]
