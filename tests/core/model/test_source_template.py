"""The CNN for compact sources: global max pooling finds a faint point source at any position
among brighter galaxies, where Flatten + Dense must learn every position separately."""
import numpy as np
import pytest

from nnstudio.core.model import build_model, make_template
from nnstudio.core.workflow.export import layer_code
from tests.core.evaluation.point_sources import point_source_images


def test_global_max_pooling_is_exported_as_keras_code():
    spec = make_template("source-cnn", (32, 32, 1), "classification", 2)
    pool = next(layer for layer in spec.layers if layer.class_name == "GlobalMaxPooling2D")
    assert layer_code(pool, "global_max_pooling2d") == "layers.GlobalMaxPooling2D(name='global_max_pooling2d')"


def test_the_source_template_learns_faint_point_sources(tensorflow):
    from sklearn.metrics import roc_auc_score

    x, y, _ = point_source_images(1100, seed=4)
    mean, std = x[:800].mean(), x[:800].std()
    x = (x - mean) / std
    model = build_model(make_template("source-cnn", x.shape[1:], "classification", 2), x.shape[1:],
                        "classification", 2, seed=0)
    model.fit(x[:800], y[:800], batch_size=32, epochs=12, verbose=0)
    auc = roc_auc_score(y[800:], model.predict(x[800:], verbose=0)[:, 0])
    assert auc > 0.85, auc
