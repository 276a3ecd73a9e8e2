"""Sky symmetries and class weights: exact, seeded, training batches only."""
import numpy as np
import pytest

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.training.augment import class_weights, resolve_augmentation, sky_symmetries
from nnstudio.core.training.config import TrainConfig
from nnstudio.errors import NnstudioError


def _images(n=64, side=8, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, side, side, 1)).astype("float32")
    y = np.asarray(labels if labels is not None else rng.integers(0, 2, n), dtype="int64")
    idx = np.arange(n)
    cut = {"train": slice(0, n // 2), "val": slice(n // 2, 3 * n // 4), "cal": slice(3 * n // 4, 3 * n // 4),
           "test": slice(3 * n // 4, n)}
    return PreparedData(kind="images", problem="classification", x={s: x[v] for s, v in cut.items()},
                        y={s: y[v] for s, v in cut.items()}, index={s: idx[v] for s, v in cut.items()},
                        class_names=["no", "yes"])


def _d4(img):
    """The 8 symmetries of a square image, by hand."""
    out = []
    for t in (img, np.transpose(img, (1, 0, 2))):
        for a in (t, t[::-1]):
            out += [a, a[:, ::-1]]
    return out


def test_each_sample_becomes_one_of_its_eight_symmetries_and_all_eight_occur():
    import tensorflow as tf

    img = np.arange(16, dtype="float32").reshape(4, 4, 1)
    ds = tf.data.Dataset.from_tensors((img, 0)).repeat(400).batch(16)
    seen = set()
    for xb, _y in sky_symmetries(ds, seed=3):
        for x in xb.numpy():
            assert any(np.array_equal(x, s) for s in _d4(img))     # exact: no pixel invented
            seen.add(x.tobytes())
    assert len(seen) == 8
    again = [x.numpy().tobytes() for x, _ in sky_symmetries(ds, seed=3).take(5)]
    first = [x.numpy().tobytes() for x, _ in sky_symmetries(ds, seed=3).take(5)]
    assert again == first                                        # the seed repeats the draws


def test_auto_turns_square_images_only():
    assert resolve_augmentation("auto", _images()) == "sky"
    from nnstudio.core.examples.synthetic import toy_regression

    assert resolve_augmentation("auto", toy_regression()) == "none"
    assert resolve_augmentation("none", _images()) == "none"
    with pytest.raises(NnstudioError, match="Augmentation"):
        TrainConfig(augmentation="rotate").validate()


def test_balanced_weights_past_five_to_one_and_on_request():
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights("auto", y, 2)
    assert w == pytest.approx({0: 100 / (2 * 90), 1: 100 / (2 * 10)})
    assert class_weights("auto", np.array([0] * 60 + [1] * 40), 2) is None
    assert class_weights("balanced", np.array([0] * 60 + [1] * 40), 2) == pytest.approx({0: 100 / 120, 1: 100 / 80})
    assert class_weights("none", y, 2) is None


def test_training_records_what_it_did_and_leaves_held_out_splits_alone(tmp_path):
    from nnstudio.core.model import make_template
    from nnstudio.core.training.trainer import train

    prepared = _images(n=80, labels=[1 if i % 8 == 0 else 0 for i in range(80)])
    before = {s: prepared.x[s].copy() for s in ("val", "test")}
    spec = make_template("small-cnn", prepared.input_shape, "classification", 2)
    record, _model = train(prepared, spec, TrainConfig(epochs=1, batch_size=16), tmp_path / "r")
    assert record.settings["augmentation"] == "sky" and record.settings["class_weight"] == "balanced"
    for s, v in before.items():
        np.testing.assert_array_equal(prepared.x[s], v)


def test_a_run_trained_on_the_symmetries_is_evaluated_on_all_eight_views():
    from nnstudio.core.model import build_model, make_template
    from nnstudio.core.project import Project
    from nnstudio.core.training.augment import sky_views
    from nnstudio.core.training.config import RunRecord
    from nnstudio.core.workflow.evaluate import evaluate

    prepared = _images(n=120, labels=[i % 2 for i in range(120)])
    spec = make_template("small-cnn", prepared.input_shape, "classification", 2)
    model = build_model(spec, prepared.input_shape, "classification", 2, seed=0)
    project = Project(name="t")
    project.runs = [RunRecord(id="run-0001", started="", settings={"augmentation": "sky"}, model={}),
                    RunRecord(id="run-0002", started="", settings={"augmentation": "none"}, model={})]
    x = prepared.x["test"]
    views = np.mean([model.predict(np.ascontiguousarray(v), verbose=0) for v in sky_views(x)], axis=0)
    r = evaluate(project, run_id="run-0001", prepared=prepared, model=model, baselines=False)
    np.testing.assert_allclose(r.arrays["proba"], views[:, 0], rtol=1e-5)
    assert any("test-time augmentation" in n for n in r.uncertainty.notes)
    plain = evaluate(project, run_id="run-0002", prepared=prepared, model=model, baselines=False)
    np.testing.assert_allclose(plain.arrays["proba"], model.predict(x, verbose=0)[:, 0], rtol=1e-5)
    assert not any("test-time" in n for n in plain.uncertainty.notes)


def test_the_eight_views_are_the_eight_symmetries():
    from nnstudio.core.training.augment import sky_views

    img = np.arange(16, dtype="float32").reshape(4, 4, 1)
    views = [v[0] for v in sky_views(img[None])]
    assert np.array_equal(views[0], img)
    assert {v.tobytes() for v in views} == {np.ascontiguousarray(v).tobytes() for v in _d4(img)}


def test_balance_advice_names_the_ratio_and_what_the_setting_does():
    from nnstudio.core.training.augment import balance_advice

    a = balance_advice({"star": 400, "quasar": 100}, "auto")
    assert (a.ratio, a.largest, a.smallest, a.level) == (4.0, "star", "quasar", "propose")
    assert "(4.0:1)" in a.text and "quasar" in a.text
    assert balance_advice({"star": 400, "quasar": 100}, "none").level == "off"
    assert balance_advice({"star": 400, "quasar": 100}, "balanced").level == "weighed"
    assert balance_advice({"star": 600, "quasar": 100}, "auto").level == "weighed"      # past 5:1
    assert balance_advice({"star": 500, "quasar": 100}, "auto").level == "propose"     # exactly 5:1: not yet
    assert balance_advice({"star": 300, "quasar": 100}, "auto").level == "even"
    assert balance_advice({"star": 300, "quasar": 0}, "auto").ratio is None           # one class present
