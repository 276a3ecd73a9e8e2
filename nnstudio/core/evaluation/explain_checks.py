"""Do the attribution maps mean anything? Two checks on a set of maps.

- Model randomisation (Adebayo et al. 2018, "Sanity checks for saliency maps"): the same maps from
  a copy of the model with re-initialised weights. A map that explains the trained network should
  change when what it learned is gone. Two correlations of the maps' magnitudes, real against
  randomised, per sample: Spearman's rank correlation over all pixels (shown), and Pearson's linear
  one, which weighs the strongest attributions and decides the verdict. On sky images the ranks of
  the many faint pixels follow |pixel - sky| under any weights (integrated gradients multiply by
  it), so the rank correlation stays near 0.5 for a trained and a random model alike; where the
  strongest attributions lie is what learning changes. A method whose maps barely change is "not
  informative for this model": it shows the image (or the architecture), not what was learned.
  On request the cascade: the layers re-initialised one at a time from the output down.
- Deletion (Samek et al. 2017; Petsiuk et al. 2018): set the most-attributed pixels to the sky
  (its level plus noise of its own spread) a fraction at a time and watch the score; the same with pixels in random order. Maps that
  find what matters make the score fall faster than chance.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.evaluation.explain_images import (
    METHOD_LABELS,
    AttributionMaps,
    attribution_maps,
    check_images,
    model_scores,
    sky_level,
)
from nnstudio.errors import NnstudioError

NOT_INFORMATIVE = 0.4           # mean linear correlation at or above which maps "barely change"
DELETION_FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass
class SanityCheck:
    """Correlations of each sample's map magnitudes, real model against its randomised copy:
    ``correlations`` Spearman's (ranks), ``linear`` Pearson's (the verdict's)."""

    method: str
    correlations: np.ndarray
    linear: np.ndarray
    threshold: float = NOT_INFORMATIVE
    randomised: str = "all layers re-initialised"

    @property
    def mean(self) -> float:
        return _nanmean(self.correlations)

    @property
    def mean_linear(self) -> float:
        return _nanmean(self.linear)

    @property
    def informative(self) -> bool:
        return bool(np.isfinite(self.mean_linear) and self.mean_linear < self.threshold)

    @property
    def verdict(self) -> str:
        label = METHOD_LABELS.get(self.method, self.method)
        figures = f"linear correlation {self.mean_linear:.2f}, rank correlation {self.mean:.2f}"
        if self.informative:
            return f"{label}: the maps change when the weights are randomised ({figures}): they depend on what was learned"
        return (f"{label}: not informative for this model. Its maps barely change when the weights are "
                f"randomised ({figures}; {self.threshold:.2f} or more counts as barely), so they show the "
                "image or the architecture rather than what was learned")

    def to_dict(self) -> dict:
        return {"method": self.method, "mean_correlation": self.mean, "mean_linear_correlation": self.mean_linear,
                "threshold": self.threshold, "informative": self.informative, "randomised": self.randomised,
                "verdict": self.verdict, "correlations": [_num(c) for c in self.correlations],
                "linear_correlations": [_num(c) for c in self.linear]}


def _nanmean(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else float("nan")


def _num(v) -> float | None:
    return float(v) if np.isfinite(v) else None


def randomised_copy(model, seed: int = 0):
    """A copy of ``model`` with every layer's weights drawn afresh from its initialisers."""
    import keras

    keras.utils.set_random_seed(int(seed))
    copy = keras.models.clone_model(model)
    copy.build(tuple(model.input_shape))
    return copy


def map_correlations(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (Spearman, Pearson) correlations of |a| and |b| (maps (N, H, W) or (N, H, W, C));
    NaN where a map is constant."""
    from scipy.stats import pearsonr, spearmanr

    a = np.abs(np.asarray(a, dtype=np.float64)).reshape(len(a), -1)
    b = np.abs(np.asarray(b, dtype=np.float64)).reshape(len(b), -1)
    rank, lin = np.full(len(a), np.nan), np.full(len(a), np.nan)
    for i in range(len(a)):
        if np.ptp(a[i]) > 0 and np.ptp(b[i]) > 0:      # a constant map has no ranking
            rank[i] = spearmanr(a[i], b[i]).statistic
            lin[i] = pearsonr(a[i], b[i]).statistic
    return rank, lin


def sanity_check(model, x, method: str, target=None, maps: AttributionMaps | None = None, seed: int = 0,
                 random_model=None, threshold: float = NOT_INFORMATIVE) -> SanityCheck:
    """The randomisation check of ``method`` on images ``x`` (``maps``: the real ones if computed)."""
    x = check_images(x)
    maps = maps if maps is not None else attribution_maps(model, x, method, target)
    rand = random_model if random_model is not None else randomised_copy(model, seed)
    rmaps = attribution_maps(rand, x, method, target)
    return SanityCheck(method, *map_correlations(maps.summed, rmaps.summed), threshold=threshold)


def cascading_copies(model, seed: int = 0):
    """(layer name, copy) with the weights of the top 1, 2, … weighted layers re-initialised,
    the others kept (Adebayo et al.'s cascade, from the output down)."""
    import keras

    rand = randomised_copy(model, seed)
    weighted = [k for k, layer in enumerate(model.layers) if layer.weights]
    for depth in range(1, len(weighted) + 1):
        copy = keras.models.clone_model(model)
        copy.build(tuple(model.input_shape))
        copy.set_weights(model.get_weights())
        for k in weighted[-depth:]:
            copy.layers[k].set_weights(rand.layers[k].get_weights())
        yield model.layers[weighted[-depth]].name, copy


def cascading_check(model, x, method: str, target=None, maps: AttributionMaps | None = None, seed: int = 0,
                    threshold: float = NOT_INFORMATIVE) -> list[tuple[str, SanityCheck]]:
    """The randomisation check with the layers re-initialised from the top down: one
    (deepest re-initialised layer, check) per step, on request (it costs one map set per layer)."""
    x = check_images(x)
    maps = maps if maps is not None else attribution_maps(model, x, method, target)
    out = []
    for name, copy in cascading_copies(model, seed):
        rmaps = attribution_maps(copy, x, method, target)
        out.append((name, SanityCheck(method, *map_correlations(maps.summed, rmaps.summed), threshold=threshold,
                                      randomised=f"layers from {name} to the output re-initialised")))
    return out


@dataclass
class DeletionCurve:
    """Mean score after setting a fraction of pixels to the sky level: top-attributed first, and
    in random order. ``area`` is the mean score over the deletion steps, each step weighing the same
    (as the AOPC of Samek et al. 2017; lower: the map found what matters). Equal weights keep the first
    steps, where the top-attributed pixels go, from being outweighed by the wide late ones: deleting
    half the pixels changes an image in ways unrelated to what the map found."""

    fractions: np.ndarray
    attributed: np.ndarray
    random: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def area_attributed(self) -> float:
        return float(np.mean(self.attributed))

    @property
    def area_random(self) -> float:
        return float(np.mean(self.random))

    @property
    def better_than_random(self) -> bool:
        return self.area_attributed < self.area_random

    def to_dict(self) -> dict:
        return {"fractions": self.fractions.tolist(), "attributed": self.attributed.tolist(),
                "random": self.random.tolist(), "area_attributed": self.area_attributed,
                "area_random": self.area_random, "better_than_random": self.better_than_random}


def deletion_curve(model, x, maps: AttributionMaps, target=None, fractions=DELETION_FRACTIONS,
                   seed: int = 0) -> DeletionCurve:
    """Delete the top-attributed pixels (all bands) fraction by fraction, and random ones alike:
    each becomes the sky level plus noise of the sky's spread (1.4826 x the median absolute deviation)."""
    x = check_images(x)
    summed = maps.summed
    if summed.shape != x.shape[:3]:
        raise NnstudioError("The maps and the images have different shapes.")
    fractions = np.asarray(fractions, dtype=np.float64)
    if len(fractions) < 2 or fractions.min() < 0 or fractions.max() > 1:
        raise NnstudioError("Deletion fractions must be at least two values between 0 and 1.")
    n, h, w, _ = x.shape
    npix = h * w
    sky = sky_level(x)
    # deleted pixels become sky with the sky's own noise: a flat hole has edges a network can react to
    # the spread from the pixels below the median only: sources are all above the sky
    noise = sky[:, 0, 0] - np.percentile(x, 15.87, axis=(1, 2))                       # (N, C)
    rng = np.random.default_rng(seed)
    orders = {"attributed": np.argsort(-summed.reshape(n, npix), axis=1, kind="stable"),
              "random": np.argsort(rng.random((n, npix)), axis=1)}
    t = None if target is None else np.repeat(np.asarray(target).reshape(-1), len(fractions))
    curves = {}
    for name, order in orders.items():
        batch = np.repeat(x, len(fractions), axis=0).reshape(n, len(fractions), npix, -1)
        for k, f in enumerate(fractions):
            m = round(f * npix)
            if m:
                rows = np.arange(n)[:, None]
                fill = sky[:, 0, 0][:, None, :] + noise[:, None, :] * rng.standard_normal((n, m, x.shape[-1]))
                batch[rows, k, order[:, :m]] = fill
        scores = model_scores(model, batch.reshape(n * len(fractions), h, w, -1), t)
        curves[name] = scores.reshape(n, len(fractions)).mean(axis=0)
    return DeletionCurve(fractions, curves["attributed"], curves["random"])


__all__ = ["DELETION_FRACTIONS", "NOT_INFORMATIVE", "DeletionCurve", "SanityCheck", "cascading_check",
           "cascading_copies", "deletion_curve",
           "map_correlations", "randomised_copy", "sanity_check"]
