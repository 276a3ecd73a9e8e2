"""MC dropout whose masks depend on the row, not on the batch: each dropout unit's keep/drop draw
is a hash of (seed, row id, pass, layer, unit), so a row gets the same T passes whichever batch,
chunk or shard it is predicted in, and a rerun reproduces it exactly.

It reuses :mod:`.uncertainty`'s MC machinery (the deterministic prefix run once, its output tiled
T times, the rest of the network run on all passes at once); only the dropout layers are swapped
for :class:`_SeededDropout`, which reads the rows and passes of the current step from two
variables set before each call.
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.evaluation.uncertainty import (
    _split_shared_prefix,
    _tiled_step,
    default_mc_batch_size,
    dropout_layers,
)
from nnstudio.errors import NnstudioError

_M32 = 0xFFFFFFFF


def _mix(h):
    """murmur3's 32-bit finaliser on int64 tensors holding 32-bit values."""
    import tensorflow as tf

    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = tf.bitwise.bitwise_and(h * 0x85EBCA6B, _M32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = tf.bitwise.bitwise_and(h * 0xC2B2AE35, _M32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def _seeded_model(model, ids, seed: int):
    """``model`` with every Dropout replaced by one drawing its mask from the hash of the row id
    and pass held in ``ids`` ((2, rows) int64: row, pass)."""
    import keras
    import tensorflow as tf

    counter = iter(range(1, 1 << 16))

    class _SeededDropout(keras.layers.Layer):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_seeded", dtype=inner.dtype_policy)
            self.rate = float(inner.rate)
            # spatial dropout drops whole channels: one draw per (row, channel)
            self.spatial = type(inner).__name__.startswith("SpatialDropout")
            self.salt = (int(seed) * 0x9E3779B1 + next(counter) * 0x7FEB352D) & _M32

        def call(self, inputs, training=None):
            shape = tf.shape(inputs)
            if self.spatial:
                rank = len(inputs.shape)
                shape = tf.concat([shape[:1], tf.ones([rank - 2], tf.int32), shape[-1:]], axis=0)
            units = tf.reduce_prod(shape[1:])
            unit = tf.reshape(tf.range(tf.cast(units, tf.int64), dtype=tf.int64), [1, -1])
            row = tf.reshape(ids[0], [-1, 1])
            step = tf.reshape(ids[1], [-1, 1])
            h = _mix(tf.bitwise.bitwise_and(row * 0x27D4EB2F + self.salt, _M32))
            h = _mix(tf.bitwise.bitwise_xor(h, tf.bitwise.bitwise_and(step * 0x165667B1, _M32)))
            h = _mix(tf.bitwise.bitwise_xor(h, tf.bitwise.bitwise_and(unit * 0x61C88647, _M32)))
            u = tf.cast(h, tf.float32) / 4294967296.0
            keep = tf.reshape(tf.cast(u >= self.rate, inputs.dtype), shape)
            return inputs * keep / tf.cast(1.0 - self.rate, inputs.dtype)

        def compute_output_shape(self, input_shape):
            return input_shape

    def clone(layer):
        spatial = type(layer).__name__.startswith("SpatialDropout")
        if isinstance(layer, keras.layers.Dropout) and (spatial or getattr(layer, "noise_shape", None) is None):
            return _SeededDropout(layer)
        if isinstance(layer, (keras.layers.Dropout, keras.layers.GaussianDropout, keras.layers.AlphaDropout)):
            raise NnstudioError(f"Per-row seeded MC dropout takes Dropout and SpatialDropout layers; {layer.name} is "
                                f"a {type(layer).__name__}. Use --epistemic ensemble or none.")
        return layer

    try:
        return keras.models.clone_model(model, clone_function=clone, recursive=True)
    except (ValueError, TypeError) as exc:
        raise NnstudioError("MC dropout needs a Sequential or functional Keras model; this model "
                            "could not be rebuilt with seeded dropout.", detail=str(exc)) from exc


class SeededMC:
    """``T`` seeded MC dropout passes of ``model``, built once and run on many chunks."""

    def __init__(self, model, n_passes: int, input_shape, seed: int = 0, batch_size: int | None = None):
        import tensorflow as tf

        if n_passes < 2:
            raise NnstudioError("MC dropout needs at least two passes to measure a spread.")
        if not dropout_layers(model):
            raise NnstudioError("The model has no dropout layers, so MC dropout shows no model (epistemic) "
                                "uncertainty. Use --epistemic ensemble or none.")
        self.n_passes = int(n_passes)
        budget = default_mc_batch_size(tuple(input_shape), self.n_passes)
        self.batch = max(1, min(budget, batch_size or budget))
        self.ids = tf.Variable(np.zeros((2, self.batch * self.n_passes), np.int64), trainable=False)
        prefix, rest = _split_shared_prefix(model)
        self.step = _tiled_step(prefix, _seeded_model(rest, self.ids, seed), self.n_passes,
                                (self.batch, *tuple(input_shape)), np.float32)
        self._pass = np.repeat(np.arange(self.n_passes, dtype=np.int64), self.batch)

    def __call__(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(T, N, ...) float32 outputs of ``x``, whose input positions are ``rows``."""
        x = np.asarray(x, np.float32)
        rows = np.asarray(rows, np.int64)
        out = []
        for i in range(0, len(x), self.batch):
            xb, rb = x[i:i + self.batch], rows[i:i + self.batch]
            b = len(xb)
            if b < self.batch:      # one input shape, one trace
                xb = np.concatenate([xb, np.zeros((self.batch - b, *x.shape[1:]), np.float32)])
                rb = np.concatenate([rb, np.zeros(self.batch - b, np.int64)])
            self.ids.assign(np.stack([np.tile(rb, self.n_passes), self._pass]))
            out.append(np.asarray(self.step(xb))[:, :b])
        return np.concatenate(out, axis=1)


__all__ = ["SeededMC"]
