"""What training does to its batches: sky symmetries for images, weights for rare classes.

Sky symmetries are the 8 exact flips and quarter turns of a square image (the dihedral group of
the square): a cutout has no preferred orientation on the sky, so each is as likely as the
original. They need no interpolation, so no pixel value is invented. They are applied on the fly
to training samples only (in the ``tf.data`` pipeline, seeded), never to the validation,
calibration or test splits. Labels that depend on handedness (a spiral's winding) must turn them
off. A run trained on them is evaluated on all 8 views of each cutout, averaged (test-time
augmentation: :func:`sky_views`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AUGMENTATIONS = ("auto", "none", "sky")
CLASS_WEIGHTS = ("auto", "none", "balanced")
IMBALANCE_AUTO = 5.0          # "auto" weighs classes when the largest outnumbers the smallest 5:1
IMBALANCE_PROPOSE = 3.0       # past 3:1 the Data step proposes weights


def resolve_augmentation(choice: str, prepared) -> str:
    """"sky" or "none": "auto" is "sky" for square images (H × W × bands), "none" otherwise."""
    if choice != "auto":
        return choice
    shape = prepared.input_shape
    return "sky" if prepared.kind == "images" and len(shape) == 3 and shape[0] == shape[1] else "none"


def check_augmentation(choice: str, prepared) -> None:
    from nnstudio.errors import NnstudioError

    shape = prepared.input_shape
    if choice == "sky" and not (prepared.kind == "images" and len(shape) == 3 and shape[0] == shape[1]):
        raise NnstudioError(f"Sky symmetries turn and flip square images; these inputs are {shape}. "
                            "Set augmentation to none.")


def class_weights(choice: str, y, n_classes: int) -> dict[int, float] | None:
    """Balanced weights n / (K · n_k) for the classes present, or None: "auto" weighs when the
    training classes are imbalanced beyond :data:`IMBALANCE_AUTO`:1."""
    if choice == "none" or n_classes < 2:
        return None
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = counts[counts > 0]
    if choice == "auto" and (len(present) < 2 or present.max() / present.min() <= IMBALANCE_AUTO):
        return None
    k = len(present)
    return {int(c): float(counts.sum() / (k * counts[c])) for c in np.flatnonzero(counts)}


@dataclass
class BalanceAdvice:
    """What the class ratio of the training split calls for. ``level``: "even" (nothing to do),
    "propose" (past 3:1: weights would help, not on by default), "weighed" (weights on, by choice
    or because "auto" passed 5:1) or "off" (past 3:1 with weights turned off)."""
    ratio: float | None          # largest class / smallest present class
    largest: str
    smallest: str
    level: str
    text: str


def balance_advice(counts: dict[str, int], choice: str) -> BalanceAdvice:
    """The class ratio of the training ``counts`` ({class name: rows}) in words, with what the
    ``class_weight`` setting ``choice`` will do about it."""
    present = {k: int(v) for k, v in counts.items() if v > 0}
    if len(present) < 2:
        return BalanceAdvice(None, "", "", "even", "")
    largest = max(present, key=present.get)
    smallest = min(present, key=present.get)
    ratio = present[largest] / present[smallest]
    said = (f"Training split: {present[largest]} {largest}, {present[smallest]} {smallest} "
            f"({ratio:.1f}:1).")
    weighed = choice == "balanced" or (choice == "auto" and ratio > IMBALANCE_AUTO)
    if weighed:
        why = "past 5:1 they are weighed by default" if choice == "auto" else "class weights are on"
        return BalanceAdvice(ratio, largest, smallest, "weighed", f"{said} Rare classes count more in the loss "
                             f"({why}); the Diagnostics list balanced accuracy, per-class recall and PR AUC "
                             "first, and the decision threshold is best chosen on validation.")
    if ratio <= IMBALANCE_PROPOSE:
        return BalanceAdvice(ratio, largest, smallest, "even", f"{said} Close enough to even: no weights needed.")
    if choice == "none":
        return BalanceAdvice(ratio, largest, smallest, "off", f"{said} Class weights are off, so the network "
                             f"may learn to say {largest} and miss {smallest}: weighing the classes helps.")
    return BalanceAdvice(ratio, largest, smallest, "propose", f"{said} Weighing the classes (balanced) helps "
                         f"the network find {smallest}; nnstudio does it by default only past 5:1.")


def sky_views(x: np.ndarray) -> list[np.ndarray]:
    """The 8 sky symmetries of every image of ``x`` (N, H, W, C), the identity first (views of
    the array: nothing is copied until a view is used)."""
    out = []
    for t in (x, np.swapaxes(x, 1, 2)):
        for a in (t, t[:, ::-1]):
            out += [a, a[:, :, ::-1]]
    return out


def uses_tta(settings: dict | None, prepared) -> bool:
    """Test-time augmentation for a run trained on the sky symmetries: its predictions average
    the 8 views of each cutout."""
    return bool(settings) and settings.get("augmentation") == "sky" and resolve_augmentation("auto", prepared) == "sky"


def sky_symmetries(ds, seed: int):
    """``ds`` of batches (x, y) with square x (B, H, W, C), each sample replaced by one of its 8
    symmetries; the draws come from a seeded stream, fresh every epoch. Three selections per
    batch (flip rows, flip columns, transpose), so the cost is a few passes over the batch."""
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def turn(pair, batch):
        x, y = batch
        bits = tf.random.stateless_uniform([tf.shape(x)[0], 3], seed=pair) < 0.5

        def pick(i, a, b):
            return tf.where(tf.reshape(bits[:, i], [-1, 1, 1, 1]), a, b)

        x = pick(0, tf.reverse(x, [1]), x)
        x = pick(1, tf.reverse(x, [2]), x)
        x = pick(2, tf.transpose(x, [0, 2, 1, 3]), x)
        return x, y

    return tf.data.Dataset.zip((seeds, ds)).map(turn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
