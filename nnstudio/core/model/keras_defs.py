"""Definitions of nnstudio's Keras objects (imported only by ``keras_objects.register``).

This module is also copied verbatim into exported training scripts, so it imports only Keras
and the standard library.
"""
import functools
import math

import keras
from keras import ops

_LOG_2PI = math.log(2.0 * math.pi)
SIGMA_FLOOR = 1e-6

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

