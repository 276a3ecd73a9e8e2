"""The Trainer: reports, stop, pause, NaN guard, out-of-memory message, determinism, saved files."""
import json
import math

import numpy as np
import pytest

from nnstudio.core.examples.synthetic import toy_regression
from nnstudio.core.model import make_template
from nnstudio.core.tasks import Task
from nnstudio.core.training import TrainConfig
from nnstudio.core.training.devices import choose_strategy, mixed_precision_policy
from nnstudio.core.training.trainer import batch_losses_from_means, train
from nnstudio.errors import NnstudioError


class RecordingTask(Task):
    def __init__(self):
        super().__init__()
        self.epochs, self.batches, self.messages, self.progress = [], [], [], []

    def report_partial(self, obj):
        self.epochs.append(obj)

    def report_batch(self, logs):
        self.batches.append(logs)

    def report_message(self, text):
        self.messages.append(text)

    def report_progress(self, done, total, text=""):
        self.progress.append((done, total))


def spec_for(prepared):
    return make_template("mlp-regression", prepared.input_shape, "regression")


def test_batch_losses_from_running_means():
    # batches with losses 4, 2, 6 have running means 4, 3, 4
    assert batch_losses_from_means([4.0, 3.0, 4.0]) == pytest.approx([4.0, 2.0, 6.0])


def test_train_reports_saves_and_records(tmp_path, tensorflow):
    prepared = toy_regression()
    task = RecordingTask()
    record, _model = train(prepared, spec_for(prepared), TrainConfig(epochs=3, batch_size=16), tmp_path / "run-0001",
                          task=task, run_id="run-0001")
    assert record.status == "completed" and record.epochs_run == 3
    assert [e["epoch"] for e in task.epochs] == [0, 1, 2]
    assert set(record.history) >= {"loss", "val_loss"}
    assert all(math.isfinite(v) for v in record.history["loss"])
    assert task.progress[-1][0] == task.progress[-1][1]  # ends at 100 %
    assert (tmp_path / "run-0001" / "model.keras").exists()
    assert (tmp_path / "run-0001" / "best.keras").exists()
    saved = json.loads((tmp_path / "run-0001" / "run.json").read_text())
    assert saved["history"]["loss"] == record.history["loss"]
    assert record.model_path == "run-0001/model.keras"


def test_same_seed_same_losses(tmp_path, tensorflow):
    prepared = toy_regression()
    cfg = TrainConfig(epochs=2, batch_size=32, seed=7)
    a, _ = train(prepared, spec_for(prepared), cfg, tmp_path / "a")
    b, _ = train(prepared, spec_for(prepared), cfg, tmp_path / "b")
    c, _ = train(prepared, spec_for(prepared), TrainConfig(epochs=2, batch_size=32, seed=8), tmp_path / "c")
    assert a.history["loss"] == b.history["loss"]
    assert a.history["loss"] != c.history["loss"]


def test_stop_ends_after_current_batch_and_keeps_weights(tmp_path, tensorflow):
    prepared = toy_regression()

    class StopAfterFirstEpoch(RecordingTask):
        def report_partial(self, obj):
            super().report_partial(obj)
            self.stop.set()

    record, _model = train(prepared, spec_for(prepared), TrainConfig(epochs=20, batch_size=16),
                          tmp_path / "r", task=StopAfterFirstEpoch())
    assert record.status == "stopped"
    assert record.epochs_run <= 2
    assert (tmp_path / "r" / "model.keras").exists()


def test_pause_blocks_until_resumed(tmp_path, tensorflow):
    prepared = toy_regression()

    class PauseOnce(RecordingTask):
        def report_batch(self, logs):
            super().report_batch(logs)
            if len(self.batches) == 1:
                self.pause.set()

        def report_message(self, text):
            super().report_message(text)
            self.pause.clear()  # the person presses Resume

    task = PauseOnce()
    record, _ = train(prepared, spec_for(prepared), TrainConfig(epochs=2, batch_size=16), tmp_path / "r", task=task)
    assert "Paused." in task.messages
    assert record.status == "completed" and record.epochs_run == 2


def _weights_equal(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("config", [dict(early_stopping=False), dict(early_stopping=True, patience=1, epochs=12)])
def test_the_model_file_holds_the_returned_weights(tmp_path, tensorflow, config):
    """model.keras is a copy of the last checkpoint when that holds the final weights (written as
    training ends, after early stopping restored the best epoch), and a save of its own otherwise."""
    from nnstudio.core.model import load_keras

    prepared = toy_regression()
    settings = {"epochs": 4, "batch_size": 16, **config}
    _record, model = train(prepared, spec_for(prepared), TrainConfig(**settings), tmp_path / "r", run_id="r")
    saved = load_keras(tmp_path / "r" / "model.keras")
    assert _weights_equal(saved.get_weights(), model.get_weights())
    assert (tmp_path / "r" / "model.keras").read_bytes() == (tmp_path / "r" / "last.keras").read_bytes()


def test_a_model_that_differs_from_its_checkpoint_is_saved_itself(tmp_path, tensorflow):
    from nnstudio.core.model import load_keras
    from nnstudio.core.training.trainer import _save_final

    prepared = toy_regression()
    _record, model = train(prepared, spec_for(prepared), TrainConfig(epochs=2, batch_size=16), tmp_path / "r")
    model.set_weights([w + 1.0 for w in model.get_weights()])

    class Checkpoint:
        last_saved = [w - 1.0 for w in model.get_weights()]

    _save_final(model, tmp_path / "r" / "model.keras", Checkpoint())
    assert _weights_equal(load_keras(tmp_path / "r" / "model.keras").get_weights(), model.get_weights())
    assert not _weights_equal(load_keras(tmp_path / "r" / "last.keras").get_weights(), model.get_weights())


def test_nan_loss_stops_and_restores_last_good_weights(tmp_path, tensorflow):
    prepared = toy_regression()
    task = RecordingTask()
    # an absurd learning rate makes the weights overflow within the first epochs
    record, model = train(prepared, spec_for(prepared), TrainConfig(epochs=5, batch_size=16, learning_rate=1e30),
                          tmp_path / "r", task=task)
    assert record.status == "nan"
    assert "NaN" in record.message and any("NaN" in m for m in task.messages)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    from nnstudio.core.model import load_keras

    assert _weights_equal(load_keras(tmp_path / "r" / "model.keras").get_weights(), model.get_weights())


def test_out_of_memory_suggests_smaller_batch(tmp_path, tensorflow, monkeypatch):
    import keras
    import tensorflow as tf

    def oom(*a, **k):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(keras.Model, "fit", oom)
    prepared = toy_regression()
    with pytest.raises(NnstudioError, match="smaller batch size.*64"):
        train(prepared, spec_for(prepared), TrainConfig(epochs=1, batch_size=128), tmp_path / "r")


def test_invalid_settings_are_refused():
    with pytest.raises(NnstudioError, match="Epochs"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(NnstudioError, match="batch size"):
        TrainConfig(batch_size=0).validate()
    with pytest.raises(NnstudioError, match="learning rate"):
        TrainConfig(learning_rate=-1.0).validate()


@pytest.mark.parametrize("device,n_gpus,expected", [("auto", 0, "cpu"), ("gpu", 0, "cpu"), ("auto", 1, "default"),
                                                     ("auto", 4, "mirrored"), ("cpu", 4, "cpu")])
def test_strategy_choice_with_injected_devices(device, n_gpus, expected):
    assert choose_strategy(device, n_gpus) == expected


def test_mixed_precision_only_on_gpu():
    assert mixed_precision_policy(True, 0) == "float32"
    assert mixed_precision_policy(True, 1) == "mixed_float16"
    assert mixed_precision_policy(False, 2) == "float32"


def test_checkpoints_are_written_at_most_every_interval_and_at_the_end(tmp_path, tensorflow, monkeypatch):
    from nnstudio.core.training import trainer

    writes = []
    real = trainer.atomic_save_model
    monkeypatch.setattr(trainer, "atomic_save_model", lambda m, p: (writes.append(p.name), real(m, p)))
    monkeypatch.setattr(trainer, "CHECKPOINT_INTERVAL", 3600.0)
    prepared = toy_regression()
    train(prepared, spec_for(prepared), TrainConfig(epochs=4, batch_size=16), tmp_path / "r")
    # one write at the end, not one per epoch: early stopping restored the best epoch, so the best
    # and the final model are copies of the last checkpoint
    assert writes == ["last.keras"]
    last = (tmp_path / "r" / "last.keras").read_bytes()
    assert (tmp_path / "r" / "model.keras").read_bytes() == last == (tmp_path / "r" / "best.keras").read_bytes()

    # the last epoch made worse (its logged validation loss): the best epoch is saved on its own
    import keras

    class WorseLastEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 3:
                logs["val_loss"] = 1e9

    writes.clear()
    record, _ = train(prepared, spec_for(prepared), TrainConfig(epochs=4, batch_size=16, early_stopping=False),
                      tmp_path / "w", callbacks=[WorseLastEpoch()])
    assert record.best_epoch < 3 and sorted(writes) == ["best.keras", "last.keras"]
    assert (tmp_path / "w" / "best.keras").read_bytes() != (tmp_path / "w" / "last.keras").read_bytes()
    writes.clear()
    monkeypatch.setattr(trainer, "CHECKPOINT_INTERVAL", 0.0)
    train(prepared, spec_for(prepared), TrainConfig(epochs=4, batch_size=16, early_stopping=False), tmp_path / "s")
    assert writes.count("last.keras") == 4


def test_a_run_whose_settings_note_its_origin_resumes(tmp_path, tensorflow):
    """Fine-tunes and repeats over splits record where they came from beside the settings."""
    from nnstudio.core.training.trainer import resume

    class StopAfterOne(RecordingTask):
        def report_partial(self, obj):
            super().report_partial(obj)
            self.stop.set()

    prepared = toy_regression()
    spec = spec_for(prepared)
    record, _ = train(prepared, spec, TrainConfig(epochs=3, batch_size=16), tmp_path / "r", task=StopAfterOne(),
                      extra_settings={"init_from": "run-0001", "freeze": 1, "split_seed": 4})
    assert record.status == "stopped" and record.settings["split_seed"] == 4
    record, _ = resume(prepared, spec, tmp_path / "r")
    assert record.status == "completed" and record.epochs_run == 3
    assert record.settings["init_from"] == "run-0001" and record.settings["split_seed"] == 4


def test_small_models_run_several_batches_a_call_and_still_report_each_batchs_loss(tmp_path, tensorflow,
                                                                                 monkeypatch):
    from nnstudio.core.training import trainer

    assert [trainer.steps_per_execution(s) for s in (1, 13, 40, 100, 600, 10_000)] == [1, 1, 2, 5, 16, 16]
    # the reporter turns Keras's running means after each call into the mean loss of that call's batches
    monkeypatch.setattr(trainer, "BATCH_REPORT_INTERVAL", 0.0)
    task = RecordingTask()
    reporter = trainer.make_reporter(task, epochs=1, steps=12, batch_size=10)

    class Model:
        stop_training = False
    reporter.set_model(Model())
    losses = [4.0, 2.0, 6.0, 1.0, 3.0, 5.0, 2.0, 2.0, 8.0, 1.0, 1.0, 1.0]
    reporter.on_epoch_begin(0)
    for last in (3, 7, 11):                     # 4 batches a call
        reporter.on_train_batch_end(last, {"loss": float(np.mean(losses[:last + 1]))})
    assert [b["loss"] for b in task.batches] == pytest.approx([3.25, 3.0, 2.75])
    assert [b["step"] for b in task.batches] == [4, 8, 12]
    # and a real run, in batches of 2: several batches a call
    prepared = toy_regression()
    record, model = train(prepared, spec_for(prepared), TrainConfig(epochs=2, batch_size=2), tmp_path / "r")
    steps = math.ceil(prepared.count("train") / 2)
    assert model.steps_per_execution == trainer.steps_per_execution(steps) > 1
    assert record.status == "completed" and record.epochs_run == 2
