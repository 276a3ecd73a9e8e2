"""Start a model from one that already works: copy its weights layer by layer, freeze the first.

Layers with weights are paired in order (the source's first Dense or Conv2D with the new model's
first, and so on). Weights are copied while the shapes agree; the first layer whose shapes differ
and everything after it start fresh (a new output layer for other classes, say). Nothing copied,
or fewer layers copied than are to be frozen, is refused, naming the first layer that does not fit.
"""
from __future__ import annotations

from nnstudio.errors import NnstudioError


def _weighted(model) -> list:
    return [la for la in model.layers if la.get_weights() and type(la).__name__ != "FormulaOffset"]


def _shapes(layer) -> str:
    return ", ".join("×".join(str(d) for d in w.shape) for w in layer.get_weights())


def transfer_weights(source, target, freeze: int = 0) -> tuple[int, int]:
    """Copy ``source``'s weights into ``target`` while the layers fit; freeze ``target``'s first
    ``freeze`` weighted layers. Returns (layers copied, layers with weights in ``target``). The
    caller compiles ``target`` again (freezing changes what the optimizer trains)."""
    src, dst = _weighted(source), _weighted(target)
    if freeze < 0:
        raise NnstudioError("The number of layers to freeze cannot be negative.")
    if freeze > len(dst):
        raise NnstudioError(f"Cannot freeze {freeze} layers: the model has {len(dst)} layers with weights.")
    copied = 0
    for a, b in zip(src, dst):
        wa, wb = a.get_weights(), b.get_weights()
        if len(wa) != len(wb) or any(x.shape != y.shape for x, y in zip(wa, wb)):
            if copied == 0 or copied < freeze:
                raise NnstudioError(
                    f"The starting model does not fit: its layer {a.name} ({type(a).__name__}, weights "
                    f"{_shapes(a)}) meets {b.name} ({type(b).__name__}, weights {_shapes(b)}) here.")
            break
        b.set_weights(wa)
        copied += 1
    if copied == 0:
        raise NnstudioError("The starting model has no layer with weights that fits this model.")
    if copied < freeze:
        raise NnstudioError(f"Only {copied} layers could be copied from the starting model, fewer than the "
                            f"{freeze} to freeze.")
    for layer in dst[:freeze]:
        layer.trainable = False
    return copied, len(dst)
