"""Activation functions as the lecture teaches them: formula, one-line meaning, and a curve to plot.

``ACTIVATIONS[name]`` is an :class:`ActivationInfo` ``(formula, description, function)``; the
function is plain numpy (``function(x, alpha=...)`` where an alpha applies) so the GUI can draw the
curve without TensorFlow.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np


class ActivationInfo(NamedTuple):
    formula: str
    description: str
    function: Callable[..., np.ndarray]


def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1 / (1 + e^-x)


def _leaky_relu(x, alpha=0.2):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * x)


def _elu(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _softmax_curve(x):
    # softmax of one number is always 1; the curve shows the first of two outputs with the other
    # input held at 0, which is what a person can picture.
    return _sigmoid(x)


_erf = np.vectorize(math.erf, otypes=[float])


def _gelu(x):
    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


ACTIVATIONS: dict[str, ActivationInfo] = {
    "linear": ActivationInfo(
        "y = x", "Passes the value through unchanged; the usual output for regression.",
        lambda x: np.asarray(x, dtype=float)),
    "sigmoid": ActivationInfo(
        "y = 1 / (1 + e^-x)", "Squashes any value into (0, 1); the output for a yes/no probability.",
        _sigmoid),
    "tanh": ActivationInfo(
        "y = (e^x - e^-x) / (e^x + e^-x)", "Squashes any value into (-1, 1), centred on zero.",
        lambda x: np.tanh(np.asarray(x, dtype=float))),
    "relu": ActivationInfo(
        "y = max(0, x)", "Keeps positive values, sets negative ones to zero; the default for hidden layers.",
        lambda x: np.maximum(np.asarray(x, dtype=float), 0.0)),
    "leaky_relu": ActivationInfo(
        "y = x if x > 0, else α·x", "Like relu but lets a small slope α through for negative values "
        "(default α = 0.2).", _leaky_relu),
    "elu": ActivationInfo(
        "y = x if x > 0, else α·(e^x - 1)", "Like relu but smooth, saturating at -α for very negative "
        "values (default α = 1).", _elu),
    "softmax": ActivationInfo(
        "y_i = e^x_i / Σ_j e^x_j", "Turns K values into K probabilities that sum to 1; the output for "
        "several classes (curve: one of two outputs, the other input at 0).", _softmax_curve),
    "gelu": ActivationInfo(
        "y = x · Φ(x)", "Smooth relu-like curve weighted by the normal CDF Φ; common in transformers.",
        _gelu),
    "swish": ActivationInfo(
        "y = x / (1 + e^-x)", "x times its sigmoid: smooth, slightly negative dip, relu-like for large x.",
        lambda x: np.asarray(x, dtype=float) * _sigmoid(x)),
}

# Activations that take the alpha parameter, with Keras's default for it.
ALPHA_DEFAULTS: dict[str, float] = {"leaky_relu": 0.2, "elu": 1.0}

__all__ = ["ACTIVATIONS", "ALPHA_DEFAULTS", "ActivationInfo"]
