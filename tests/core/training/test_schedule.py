"""The learning-rate schedule: warm-up then cosine for images, constant for tables, full length."""
import numpy as np
import pytest

from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.model import make_template
from nnstudio.core.training.config import TrainConfig
from nnstudio.core.training.schedule import (
    FINAL_FRACTION,
    cosine_rate,
    rate_at,
    resolve_schedule,
    warmup_epochs,
)
from nnstudio.core.training.trainer import train
from tests.core.training.test_augment import _images
from tests.core.training.test_trainer import RecordingTask


def test_keras_schedule_matches_the_formula_by_hand(tensorflow):
    peak, epochs, steps = 2e-3, 20, 7
    sched = cosine_rate(peak, epochs, steps)
    warm = warmup_epochs(epochs) * steps
    assert warm == 2 * steps
    for step in (0, 1, warm // 2, warm, warm + 1, 60, epochs * steps - 1, epochs * steps):
        assert float(sched(step)) == pytest.approx(rate_at(peak, epochs, steps, step), rel=1e-5)
    assert rate_at(peak, epochs, steps, 0) == pytest.approx(peak / 10)
    assert rate_at(peak, epochs, steps, warm) == pytest.approx(peak)
    assert rate_at(peak, epochs, steps, epochs * steps) == pytest.approx(FINAL_FRACTION * peak)
    assert warmup_epochs(2) == 0 and warmup_epochs(40) == 3


def test_auto_is_cosine_for_images_and_constant_for_tables():
    assert resolve_schedule("auto", _images()) == "cosine"
    assert resolve_schedule("auto", toy_regression()) == "constant"
    assert resolve_schedule("constant", _images()) == "constant"


def test_an_image_run_warms_up_decays_and_goes_its_full_length(tmp_path, tensorflow):
    prepared = _images(n=96)
    spec = make_template("small-cnn", prepared.input_shape, "classification", 2)
    config = TrainConfig(epochs=10, batch_size=16, patience=1)     # patience 1 would stop a constant run early
    task = RecordingTask()
    record, _model = train(prepared, spec, config, tmp_path / "r", task=task)
    assert record.settings["schedule"] == "cosine"
    assert record.epochs_run == 10                                   # the schedule is not cut short
    lr = np.array([e["logs"]["learning_rate"] for e in task.epochs])
    steps = int(np.ceil(prepared.count("train") / 16))
    expected = [rate_at(spec.learning_rate, 10, steps, (e + 1) * steps) for e in range(10)]
    np.testing.assert_allclose(lr, expected, rtol=1e-4)
    assert lr.argmax() == warmup_epochs(10) - 1 and lr[-1] < 0.02 * spec.learning_rate
    assert record.final == {k: v[record.best_epoch] for k, v in record.history.items() if v[record.best_epoch] is not None}


def test_a_table_run_keeps_its_constant_rate_and_early_stopping(tmp_path, tensorflow):
    prepared = toy_regression()
    spec = make_template("mlp-regression", prepared.input_shape, "regression")
    task = RecordingTask()
    record, _ = train(prepared, spec, TrainConfig(epochs=3, batch_size=16), tmp_path / "r", task=task)
    assert record.settings["schedule"] == "constant"
    assert [e["logs"]["learning_rate"] for e in task.epochs] == pytest.approx([spec.learning_rate] * 3)


def test_a_resumed_image_run_goes_on_along_its_schedule(tmp_path, tensorflow):
    from nnstudio.core.training.trainer import resume

    class StopAfterTwo(RecordingTask):
        def report_partial(self, obj):
            super().report_partial(obj)
            if len(self.epochs) == 2:
                self.stop.set()

    prepared = _images(n=96)
    spec = make_template("small-cnn", prepared.input_shape, "classification", 2)
    first = StopAfterTwo()
    record, _ = train(prepared, spec, TrainConfig(epochs=6, batch_size=16), tmp_path / "r", task=first)
    assert record.status == "stopped" and record.epochs_run < 6
    rest = RecordingTask()
    record, _ = resume(prepared, spec, tmp_path / "r", task=rest)
    assert record.epochs_run == 6 and record.settings["schedule"] == "cosine"
    before = [e["logs"]["learning_rate"] for e in first.epochs]
    after = [e["logs"]["learning_rate"] for e in rest.epochs]
    # the optimizer's own schedule goes on falling (a new one would warm up from a tenth again)
    assert after and all(b < a for a, b in zip([before[-1], *after], after))
    assert after[-1] < 0.1 * spec.learning_rate
