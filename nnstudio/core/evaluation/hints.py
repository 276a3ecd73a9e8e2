"""Plain-words reading of learning curves.

Losses may be negative (a Gaussian negative log-likelihood), so every comparison is made relative
to how much the training loss fell, never as a ratio of raw loss values.
"""
from __future__ import annotations

import math

import numpy as np

RISING_EPOCHS = 3          # epochs of rising validation loss before calling it over-fitting
RISE_FRACTION = 0.05       # ... by at least this fraction of the training loss's total fall
GAP_FRACTION = 0.5         # final val - train gap, as a fraction of that fall, that is "big"
STALL_FRACTION = 0.05      # improvement below this fraction of the starting loss is "little"
LOW_FRACTION = 0.5         # flat curves below this fraction of the baseline loss are fine
MIN_EPOCHS = 4


def baseline_loss(loss: str, n_classes: int | None = None, y_train=None) -> float | None:
    """Loss of predicting the prior for a standard Keras loss name, or None if unknown.

    Given the training targets ``y_train`` (class indices, or the target in the units the model
    is trained on), the prior is theirs: cross-entropy is the entropy of the training class
    frequencies (0.199 nats for a 95/5 split, not log 2); squared error is the variance of the
    target; absolute error its mean absolute deviation from the median. Without them: K balanced
    classes, and a target standardised to unit variance.
    """
    name = loss.lower().replace("_", "")
    entropy = name in ("binarycrossentropy", "binarycrossentropywithlogits", "categoricalcrossentropy",
                       "sparsecategoricalcrossentropy")
    if y_train is not None and len(y_train):
        y = np.asarray(y_train)
        if entropy:
            p = np.bincount(y.astype(np.int64).ravel()) / y.size
            p = p[p > 0]
            return float(-(p * np.log(p)).sum())
        y = y.astype(np.float64).ravel()
        if name in ("mse", "meansquarederror"):
            return float(np.var(y))
        if name in ("mae", "meanabsoluteerror"):
            return float(np.mean(np.abs(y - np.median(y))))
        return None
    if name in ("binarycrossentropy", "binarycrossentropywithlogits"):
        return math.log(2.0)
    if name in ("categoricalcrossentropy", "sparsecategoricalcrossentropy"):
        return math.log(n_classes) if n_classes and n_classes > 1 else None
    if name in ("mse", "meansquarederror"):
        return 1.0
    if name in ("mae", "meanabsoluteerror"):
        return math.sqrt(2.0 / math.pi)
    return None


def _clean(values) -> np.ndarray:
    return np.asarray([float(v) for v in values], dtype=np.float64) if values is not None else np.array([])


def learning_curve_hint(history: dict[str, list[float]], baseline: float | None = None) -> str | None:
    """One sentence or two about the curves, or None when nothing stands out.

    Checks, in order: non-finite losses; under-fitting (little improvement relative to the start,
    for training and validation alike; checked first because a gap between two flat curves is
    noise); over-fitting (validation loss rising for several epochs after its best while the
    training loss keeps falling, or a large final gap between them).

    ``baseline`` is the loss of a trivial predictor (see :func:`baseline_loss`). Given it, flat
    curves that already sit well below it are a model that learned fast, not an under-fitting one.
    """
    train = _clean(history.get("loss"))
    val = _clean(history.get("val_loss"))
    if len(train) == 0:
        return None
    if not np.all(np.isfinite(train)) or (len(val) and not np.all(np.isfinite(val))):
        return ("The loss became NaN or infinite during training: the learning rate is probably "
                "too high, or the inputs contain extreme values. Lower the learning rate or check "
                "the data's scaling.")
    n = len(train)
    if n < MIN_EPOCHS:
        return None

    fall = train[0] - train.min()
    # how far training got: from the first epoch, or from chance when the baseline is known
    scale = max(fall, (baseline - train.min()) if baseline is not None else 0.0, 1e-12)

    start = max(abs(train[0]), 1e-12)
    stalled = fall / start < STALL_FRACTION
    if len(val) == n:
        vfall = val[0] - val.min()
        stalled = stalled and vfall / max(abs(val[0]), 1e-12) < STALL_FRACTION
    if stalled and (baseline is None or train[-1] > LOW_FRACTION * baseline):
        return (f"Under-fitting: the loss barely improved ({train[0]:.4g} → {train[-1]:.4g} over "
                f"{n} epochs). Try more epochs, a higher learning rate, a larger network, or check "
                "that the inputs are scaled and the target is right.")

    if len(val) == n:
        best = int(np.argmin(val))
        since = n - 1 - best
        rise = val[-1] - val[best]
        train_still_falling = train[-1] < train[best]
        if since >= RISING_EPOCHS and rise > RISE_FRACTION * scale and train_still_falling:
            return (f"Over-fitting: the validation loss has risen for {since} epochs since its best "
                    f"at epoch {best + 1} ({val[best]:.4g} → {val[-1]:.4g}) while the training loss "
                    "kept falling. Early stopping with restored best weights keeps the best epoch; "
                    "more data, dropout, weight decay or a smaller network help.")
        gap = val[-1] - train[-1]
        if gap > GAP_FRACTION * scale and gap > 0:
            return (f"Possible over-fitting: the validation loss ({val[-1]:.4g}) ends well above the "
                    f"training loss ({train[-1]:.4g}), a gap of {gap / scale:.0%} of the training "
                    "loss's improvement. Regularise (dropout, weight decay, augmentation) or add data.")

    return None


__all__ = ["learning_curve_hint", "baseline_loss"]
