"""Resume: a stopped or crashed run continues with its optimizer state, epoch counter and curves."""
import dataclasses
import json
import math

import pytest

from nnstudio.core.experiments.resume import find_resumable, resume_project
from nnstudio.core.model import load_keras
from nnstudio.core.tasks import Task
from nnstudio.core.training import TrainConfig
from nnstudio.core.training.trainer import resume, train
from nnstudio.errors import NnstudioError


class Epochs(Task):
    """Records epoch reports; sets stop when epoch ``stop_at`` ends."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.epochs, self.stop_at = [], stop_at

    def report_partial(self, obj):
        self.epochs.append(obj["epoch"])
        if obj["epoch"] == self.stop_at:
            self.stop.set()


def crash_at_epoch(n):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == n:
                raise RuntimeError("power cut")

    return Crash()


def test_stopped_run_resumes_with_optimizer_state_and_curves(project, prepared, tmp_path, tensorflow):
    cfg = TrainConfig(epochs=4, batch_size=48)  # 144 training rows: 3 steps an epoch
    run_dir = tmp_path / "r"
    # stop asked at the end of epoch 0: epoch 1 stops after its first batch
    first, _ = train(prepared, project.model, cfg, run_dir, task=Epochs(stop_at=0), run_id="r")
    assert first.status == "stopped" and first.epochs_run == 2
    assert int(load_keras(run_dir / "last.keras").optimizer.iterations) == 3 + 1
    before = list(first.history["loss"])

    task = Epochs()
    record, model = resume(prepared, project.model, run_dir, task=task)
    assert task.epochs == [2, 3]  # the epoch counter continues
    assert record.status == "completed" and record.epochs_run == 4
    assert record.history["loss"][:2] == before and len(record.history["val_loss"]) == 4
    assert all(math.isfinite(v) for v in record.history["loss"])
    assert int(model.optimizer.iterations) == 4 + 2 * 3  # the optimizer went on, it did not restart
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["epochs_run"] == 4 and saved["history"]["loss"] == record.history["loss"]


def test_crashed_run_is_found_from_its_folder_and_resumed(project, prepared, tensorflow, monkeypatch):
    from nnstudio.core.training import trainer

    monkeypatch.setattr(trainer, "CHECKPOINT_INTERVAL", 0.0)  # write after every epoch, however short
    run_dir = project.run_dir("run-0001")
    with pytest.raises(RuntimeError, match="power cut"):
        train(prepared, project.model, TrainConfig(epochs=3, batch_size=32), run_dir, run_id="run-0001",
              callbacks=[crash_at_epoch(2)])
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["status"] == "running" and saved["epochs_run"] == 2  # written after every epoch
    assert project.runs == []  # the project file never heard of it
    assert [r.id for r in find_resumable(project)] == ["run-0001"]

    record = resume_project(project, prepared=prepared)
    assert record.id == "run-0001" and record.status == "completed" and record.epochs_run == 3
    assert [r.id for r in project.runs] == ["run-0001"] and project.active_run == "run-0001"
    assert find_resumable(project) == []


def test_checkpoint_of_a_changed_model_is_refused(project, prepared, tmp_path, tensorflow):
    run_dir = tmp_path / "r"
    train(prepared, project.model, TrainConfig(epochs=3, batch_size=32), run_dir, task=Epochs(stop_at=0))
    layers = list(project.model.layers)
    layers[0] = layers[0].replace(units=32)
    changed = dataclasses.replace(project.model, layers=layers)
    with pytest.raises(NnstudioError, match=r"model changed.*dense_1.units 64 → 32.*no longer matches"):
        resume(prepared, changed, run_dir)


def test_nothing_to_resume(project, prepared, tmp_path, tensorflow):
    with pytest.raises(NnstudioError, match="Nothing to resume"):
        resume_project(project, prepared=prepared)
    run_dir = tmp_path / "done"
    train(prepared, project.model, TrainConfig(epochs=1, batch_size=32), run_dir)
    with pytest.raises(NnstudioError, match="already ran all 1 of its epochs"):
        resume(prepared, project.model, run_dir)
    # a finished run may be extended on purpose
    record, _ = resume(prepared, project.model, run_dir, epochs=2)
    assert record.epochs_run == 2 and record.settings["epochs"] == 2
    with pytest.raises(NnstudioError, match="more epochs than that"):
        resume(prepared, project.model, run_dir, epochs=2)


def test_without_checkpoint_is_refused(project, prepared, tmp_path, tensorflow):
    run_dir = tmp_path / "r"
    train(prepared, project.model, TrainConfig(epochs=3, batch_size=32), run_dir, task=Epochs(stop_at=0),
          resumable=False)
    assert not (run_dir / "last.keras").exists()
    with pytest.raises(NnstudioError, match="no resumable checkpoint"):
        resume(prepared, project.model, run_dir)


def test_early_stopping_remembers_the_epochs_before_a_resume(tmp_path, tensorflow):
    import keras

    from nnstudio.core.training.trainer import _restore_callback_state

    early = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=False)
    reduce = keras.callbacks.ReduceLROnPlateau(patience=2)
    early.on_train_begin()
    reduce.on_train_begin()
    hist = {"val_loss": [1.0, 0.5, 0.7, None]}
    _restore_callback_state(hist, "val_loss", tmp_path, early, reduce).on_train_begin()
    assert (early.best, early.best_epoch, early.wait) == (0.5, 1, 2)  # two epochs since the best
    assert (reduce.best, reduce.wait) == (0.5, 2)
