"""The Model step's parameter budget card: counts per layer, per training sample, in plain words."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.formatting import fmt_count
from nnstudio.core.model import LayerSpec, ModelSpec, infer
from nnstudio.core.model.budget import parameter_budget

SPLITS = ("train", "val", "cal", "test")
SHOTS = Path(os.environ.get("NNSTUDIO_SHOTS", "/tmp/shots20"))


def images(n_train=300, size=32):
    rng = np.random.default_rng(0)
    n = {"train": n_train, "val": 6, "cal": 6, "test": 6}
    x = {s: rng.normal(size=(n[s], size, size, 1)).astype("float32") for s in SPLITS}
    y = {s: rng.integers(0, 2, n[s]).astype("int64") for s in SPLITS}
    return PreparedData("images", "classification", x, y, {s: np.arange(n[s]) for s in SPLITS},
                        class_names=["empty", "source"], target_name="label")


@pytest.fixture
def panel(make_window):
    w = make_window()
    w.session.set_prepared(images())
    w.show_panel("model")
    p = w.panels["model"]
    p.tabs.setCurrentWidget(p.budget_card)
    return p


def test_the_card_shows_every_layers_parameters_and_the_count_per_sample(panel, qtbot):
    card = panel.budget_card
    inf = panel.inference
    assert card.budget.total == inf.total_params > 0
    rows = card.rows()
    counted = [i for i in inf.layers if i.params]
    assert rows == [(i.name, fmt_count(i.params)) for i in counted]
    assert all(i.name in card.without.text() for i in inf.layers if not i.params)
    assert card.budget.n_train == 300
    assert fmt_count(round(inf.trainable_params / 300)) in card.per_sample.text()
    assert "For scale" in card.scale.text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.window().resize(1300, 820)
    QApplication.sendPostedEvents(None, QEvent.LayoutRequest)
    assert panel.window().grab().save(str(SHOTS / "model-parameter-budget.png"))


def test_the_card_follows_an_edit(panel, qtbot):
    before = panel.budget_card.budget.total
    panel.add_layer("Dense", len(panel.spec.layers) - 1)
    assert panel.budget_card.budget.total == panel.inference.total_params != before
    assert len(panel.budget_card.rows()) == sum(1 for i in panel.inference.layers if i.params)


def test_words_scale_and_the_big_dense_layer_after_flatten():
    spec = ModelSpec(layers=[LayerSpec("Conv2D", {"filters": 16, "kernel_size": 3}), LayerSpec("Flatten"),
                             LayerSpec("Dense", {"units": 64}), LayerSpec("Dense", {"units": 1, "activation": "sigmoid"})],
                     loss="binary_crossentropy")
    b = parameter_budget(infer(spec, (64, 64, 1), "classification", 2), n_train=1000)
    dense = b.layers[2]
    assert dense.params == 64 * 64 * 16 * 64 + 64 and dense.share > 0.9     # "same" padding keeps 64 × 64
    assert "dense" in b.largest and "GlobalAveragePooling2D" in b.largest
    assert "ordinary" in b.per_sample_text                   # a note, not an alarm
    assert "more than LeNet-5" in b.scale and "fewer than ResNet-50" in b.scale
    small = parameter_budget(infer(ModelSpec(layers=[LayerSpec("Dense", {"units": 1})], loss="mse"), (3,),
                                   "regression"), n_train=1000)
    assert small.total == 4 and "Fewer parameters than samples" in small.per_sample_text
    assert "more than a straight-line fit" in small.scale
    assert "known once" in parameter_budget(infer(spec, (64, 64, 1), "classification", 2)).per_sample_text
