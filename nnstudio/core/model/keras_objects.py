"""nnstudio's own Keras objects, registered so saved models reload under ``safe_mode``.

- ``GaussianHead``: the mean-and-variance output, ``[mean, sigma]`` with
  ``sigma = softplus(raw) + 1e-6``.
- ``gaussian_nll``: Gaussian negative log-likelihood of ``y_true`` (shape (N,) or (N, 1)) under
  ``y_pred = [mean, sigma]`` (shape (N, 2)), per sample.
- ``ParamActivation``: leaky_relu / elu with a chosen alpha, usable as a layer's ``activation``.
- ``HeadMAE``, ``HeadMSE``, ``HeadRMSE``: regression metrics that score the mean column of a
  GaussianHead.

Importing this module is cheap: the classes are defined (and registered with Keras) on first
attribute access or on :func:`register`, which imports Keras.
"""
from __future__ import annotations

import functools
import math

_PUBLIC = ("GaussianHead", "gaussian_nll", "ParamActivation", "HeadMAE", "HeadMSE", "HeadRMSE")
_LOG_2PI = math.log(2.0 * math.pi)
SIGMA_FLOOR = 1e-6


@functools.cache
def register() -> dict:
    """Define and register the objects with Keras (idempotent); returns them by name."""
    import keras
    from keras import ops

    register_ = functools.partial(keras.saving.register_keras_serializable, package="nnstudio")

    @register_()
    class GaussianHead(keras.layers.Layer):
        """Dense(2) whose outputs are a mean and a positive standard deviation."""

        def __init__(self, kernel_initializer="glorot_uniform", kernel_regularizer=None, **kwargs):
            super().__init__(**kwargs)
            self.kernel_initializer = keras.initializers.get(kernel_initializer)
            self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), 2),
                                          initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer)
            self.bias = self.add_weight(name="bias", shape=(2,), initializer="zeros")

        def call(self, inputs):
            raw = ops.add(ops.matmul(inputs, self.kernel), self.bias)
            mean = raw[..., :1]
            sigma = ops.softplus(raw[..., 1:]) + SIGMA_FLOOR
            return ops.concatenate([mean, sigma], axis=-1)

        def compute_output_shape(self, input_shape):
            return (*input_shape[:-1], 2)

        def get_config(self):
            return {**super().get_config(),
                    "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                    "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}

    @register_()
    def gaussian_nll(y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
        mean, sigma = y_pred[:, 0], y_pred[:, 1]
        z = (y - mean) / sigma
        return ops.log(sigma) + 0.5 * ops.square(z) + 0.5 * _LOG_2PI

    @register_()
    class ParamActivation:
        """leaky_relu or elu with an explicit alpha (Keras's strings only carry the default)."""

        def __init__(self, activation: str, alpha: float):
            if activation not in ("leaky_relu", "elu"):
                raise ValueError(f"ParamActivation supports leaky_relu and elu, not {activation!r}")
            self.activation = activation
            self.alpha = float(alpha)

        def __call__(self, x):
            if self.activation == "leaky_relu":
                return keras.activations.leaky_relu(x, negative_slope=self.alpha)
            return keras.activations.elu(x, alpha=self.alpha)

        def get_config(self):
            return {"activation": self.activation, "alpha": self.alpha}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    def _mean_column(base):
        class Head(base):
            def update_state(self, y_true, y_pred, sample_weight=None):
                y_pred = ops.convert_to_tensor(y_pred)
                y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1, 1))
                return super().update_state(y_true, y_pred[:, :1], sample_weight)
        return Head

    @register_()
    class HeadMAE(_mean_column(keras.metrics.MeanAbsoluteError)):
        """Mean absolute error of a GaussianHead's mean."""

    @register_()
    class HeadMSE(_mean_column(keras.metrics.MeanSquaredError)):
        """Mean squared error of a GaussianHead's mean."""

    @register_()
    class HeadRMSE(_mean_column(keras.metrics.RootMeanSquaredError)):
        """Root mean squared error of a GaussianHead's mean."""

    objects = {"GaussianHead": GaussianHead, "gaussian_nll": gaussian_nll,
               "ParamActivation": ParamActivation, "HeadMAE": HeadMAE, "HeadMSE": HeadMSE,
               "HeadRMSE": HeadRMSE}
    for name, obj in objects.items():
        obj.__module__ = __name__
        obj.__qualname__ = name
    return objects


def __getattr__(name: str):
    if name in _PUBLIC:
        return register()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_PUBLIC, "register", "SIGMA_FLOOR"]
