"""nnstudio's own Keras objects, registered so saved models reload under ``safe_mode``.

- ``GaussianHead``: the mean-and-variance output, ``[mean, sigma]`` with
  ``sigma = softplus(raw) + 1e-6``.
- ``gaussian_nll``: Gaussian negative log-likelihood of ``y_true`` (shape (N,) or (N, 1)) under
  ``y_pred = [mean, sigma]`` (shape (N, 2)), per sample.
- ``ParamActivation``: leaky_relu / elu with a chosen alpha, usable as a layer's ``activation``.
- ``HeadMAE``, ``HeadMSE``, ``HeadRMSE``: regression metrics that score the mean column of a
  GaussianHead.
- ``FormulaOffset``: a fitted physical formula added to the network's prediction
  (``keras_formula``), so the network learns the residual.

Importing this module is cheap: the classes are defined (and registered with Keras) on first
attribute access or on :func:`register`, which imports Keras.
"""
from __future__ import annotations

import functools

_PUBLIC = ("GaussianHead", "gaussian_nll", "ParamActivation", "HeadMAE", "HeadMSE", "HeadRMSE", "FormulaOffset")


@functools.cache
def register() -> dict:
    """Define and register the objects with Keras (idempotent); returns them by name."""
    from nnstudio.core.model import keras_defs, keras_formula

    return {name: getattr(keras_formula if name == "FormulaOffset" else keras_defs, name) for name in _PUBLIC}


def __getattr__(name: str):
    if name in _PUBLIC:
        return register()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_PUBLIC, "register"]
