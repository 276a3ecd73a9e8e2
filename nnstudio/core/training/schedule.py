"""The learning rate over a run: constant (tables) or warm-up then cosine decay (images).

Image networks trained with Adam at a constant rate jump between good and bad validation scores
from epoch to epoch, and early stopping then keeps an early, lucky epoch. The usual remedy: a few
epochs of linear warm-up (the first steps' large gradients do not throw the weights far), then a
cosine decay to a small fraction of the peak by the last epoch, so late epochs refine instead of
wander. The run goes its full length and keeps its best validation epoch: stopping early would cut
the schedule before its quiet end.
"""
from __future__ import annotations

SCHEDULES = ("auto", "constant", "cosine")
WARMUP_FRACTION = 0.1        # of the epochs, at most MAX_WARMUP_EPOCHS
MAX_WARMUP_EPOCHS = 3
FINAL_FRACTION = 0.01        # the rate at the last step, as a fraction of the peak


def resolve_schedule(choice: str, prepared) -> str:
    """"cosine" or "constant": "auto" is cosine for images, constant for tables."""
    if choice != "auto":
        return choice
    return "cosine" if prepared.kind == "images" else "constant"


def warmup_epochs(epochs: int) -> int:
    return 0 if epochs < 3 else min(MAX_WARMUP_EPOCHS, max(1, round(WARMUP_FRACTION * epochs)))


def cosine_rate(peak: float, epochs: int, steps_per_epoch: int):
    """A Keras schedule: linear warm-up from a tenth of ``peak`` over :func:`warmup_epochs`, then a
    cosine from ``peak`` to ``FINAL_FRACTION * peak`` at the last step of epoch ``epochs``."""
    import keras

    warm = warmup_epochs(epochs) * steps_per_epoch
    total = max(1, epochs * steps_per_epoch)
    if warm:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak / 10, decay_steps=max(1, total - warm), alpha=FINAL_FRACTION,
            warmup_target=peak, warmup_steps=warm)
    return keras.optimizers.schedules.CosineDecay(initial_learning_rate=peak, decay_steps=total,
                                                  alpha=FINAL_FRACTION)


def rate_at(peak: float, epochs: int, steps_per_epoch: int, step: int) -> float:
    """The rate :func:`cosine_rate` gives at optimizer step ``step``, in plain Python (what the
    tests hold the Keras schedule to)."""
    import math

    warm = warmup_epochs(epochs) * steps_per_epoch
    total = max(1, epochs * steps_per_epoch)
    if warm and step < warm:
        return peak / 10 + (peak - peak / 10) * step / warm
    start = peak
    decay = max(1, total - warm) if warm else total
    t = min(step - warm, decay) / decay
    return start * ((1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * t)) + FINAL_FRACTION)
