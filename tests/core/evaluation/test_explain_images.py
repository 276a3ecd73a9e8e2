"""Attribution maps on images whose answer is known, and the checks that say whether they mean anything."""
from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.evaluation.explain_checks import (
    DeletionCurve,
    cascading_check,
    cascading_copies,
    deletion_curve,
    randomised_copy,
    sanity_check,
)
from nnstudio.core.evaluation.explain_images import (
    attribution_maps,
    grad_cam,
    integrated_gradients,
    model_scores,
    occlusion,
    sky_level,
)
from nnstudio.errors import NnstudioError
from tests.core.evaluation.point_sources import (
    near_source_fraction,
    point_source_images,
    train_detector,
)


@pytest.fixture(scope="module")
def detector(tensorflow):
    x, y, _ = point_source_images(1000, seed=0)
    mean, std = x[:800].mean(), x[:800].std()
    model = train_detector((x[:800] - mean) / std, y[:800])
    xt, yt, pos = point_source_images(120, seed=7)
    xt = (xt - mean) / std
    found = (model_scores(model, xt, np.ones(len(xt), int)) > 0.5) & (yt == 1)
    return model, xt[found][:20], pos[found][:20], float(np.mean((model_scores(model, xt, np.ones(len(xt), int)) > 0.5) == yt))


def test_the_detector_learned_the_task(detector):
    _model, found, _pos, accuracy = detector
    assert accuracy > 0.85 and len(found) >= 15


def test_integrated_gradients_point_at_the_faint_source(detector):
    model, x, pos, _ = detector
    maps = integrated_gradients(model, x, np.ones(len(x), int), steps=32)
    assert maps.maps.shape == x.shape
    share = near_source_fraction(maps.summed, pos)
    assert share.mean() >= 0.30, share            # the 4-px disc is 5% of the image


def test_integrated_gradients_are_complete(detector):
    # the maps of each image sum to score(image) - score(sky) up to the path's discretisation
    model, x, _pos, _ = detector
    t = np.ones(len(x), int)
    maps = integrated_gradients(model, x, t, steps=64)
    sky = np.broadcast_to(sky_level(x), x.shape)
    gap = model_scores(model, x, t) - model_scores(model, sky, t)
    err = np.abs(maps.maps.sum(axis=(1, 2, 3)) - gap)
    # max pooling makes the path's gradient jump, so a few percent of the gap is left over
    assert err.mean() < 0.05 and err.max() < 0.15, (gap, err)


def test_occlusion_and_gradcam_find_the_source_too(detector):
    model, x, pos, _ = detector
    t = np.ones(len(x), int)
    occ = occlusion(model, x, t)
    assert occ.maps.shape == x.shape[:3] + (1,)
    assert near_source_fraction(occ.summed, pos).mean() >= 0.30
    cam = grad_cam(model, x, t)
    assert cam.maps.shape == x.shape[:3] + (1,) and np.all(cam.maps >= 0)
    assert near_source_fraction(cam.summed, pos).mean() > 0.05 * 2      # above the disc's share of the image


def test_the_trained_models_maps_pass_the_randomisation_check(detector):
    model, x, _pos, _ = detector
    check = sanity_check(model, x, "ig", np.ones(len(x), int), seed=3)
    assert check.informative, check.verdict
    assert len(check.correlations) == len(x)


def test_a_model_with_random_weights_is_flagged(detector):
    model, x, _pos, _ = detector
    untrained = randomised_copy(model, seed=5)
    check = sanity_check(untrained, x, "ig", np.ones(len(x), int), seed=6)
    assert not check.informative
    assert "not informative for this model" in check.verdict
    d = check.to_dict()
    assert d["informative"] is False and d["mean_linear_correlation"] >= d["threshold"]


def test_the_cascade_reinitialises_from_the_output_down(detector):
    model, x, _pos, _ = detector
    copies = list(cascading_copies(model, seed=2))
    weighted = [layer for layer in model.layers if layer.weights]
    assert [name for name, _ in copies] == [layer.name for layer in reversed(weighted)]
    _name, top_only = copies[0]
    for layer, same in zip(model.layers, top_only.layers):
        equal = all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), same.get_weights()))
        assert equal == (layer is not weighted[-1])
    checks = cascading_check(model, x[:6], "ig", np.ones(6, int), seed=2)
    assert len(checks) == len(weighted) and "re-initialised" in checks[-1][1].randomised
    assert checks[-1][1].mean_linear < checks[0][1].mean_linear + 0.2


def test_deleting_the_top_attributed_pixels_lowers_the_score_faster_than_random(detector):
    model, x, _pos, _ = detector
    t = np.ones(len(x), int)
    curve = deletion_curve(model, x, integrated_gradients(model, x, t), t)
    assert curve.attributed[0] == pytest.approx(curve.random[0])
    assert curve.better_than_random, curve.to_dict()


def test_the_deletion_area_weighs_each_step_the_same():
    # hand-worked: the top 1% holds the source (the score falls to 0.2); past it the map runs out
    c = DeletionCurve(np.array([0.0, 0.01, 0.1, 0.5]), np.array([1.0, 0.2, 0.9, 1.0]), np.array([1.0, 0.95, 0.9, 0.9]))
    assert c.area_attributed == pytest.approx(0.775) and c.area_random == pytest.approx(0.9375)
    assert c.better_than_random


def test_gradcam_needs_a_convolution_and_methods_are_named(tensorflow):
    import keras

    dense = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(NnstudioError, match="Conv2D"):
        grad_cam(dense, np.zeros((2, 8, 8, 1)))
    with pytest.raises(NnstudioError, match="Unknown attribution method"):
        attribution_maps(dense, np.zeros((2, 8, 8, 1)), "shap")
    with pytest.raises(NnstudioError, match="NaN"):
        integrated_gradients(dense, np.full((2, 8, 8, 1), np.nan))
