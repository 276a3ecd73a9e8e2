"""Training settings and run records: JSON-able dataclasses."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from nnstudio.errors import NnstudioError

DEVICES = ("auto", "cpu", "gpu")
RUN_STATES = ("running", "completed", "stopped", "nan", "failed")


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise NnstudioError(message)


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float | None = None      # None: the model spec's learning rate
    early_stopping: bool = True
    patience: int = 8
    restore_best: bool = True
    reduce_lr: bool = False                 # reduce on plateau
    reduce_lr_patience: int = 4
    reduce_lr_factor: float = 0.5
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = False
    tensorboard: bool = False
    residual: bool = False                  # learn what the project's formula misses
    augmentation: str = "auto"              # auto | none | sky (the 8 flips and quarter turns)
    class_weight: str = "auto"              # auto | none | balanced (auto: past 5:1)
    schedule: str = "auto"                  # auto | constant | cosine (auto: cosine for images)

    def validate(self) -> "TrainConfig":
        _check(isinstance(self.epochs, int) and self.epochs >= 1, "Epochs must be a whole number of at least 1.")
        _check(isinstance(self.batch_size, int) and self.batch_size >= 1,
               "The batch size must be a whole number of at least 1.")
        _check(self.learning_rate is None or self.learning_rate > 0, "The learning rate must be above zero.")
        _check(isinstance(self.patience, int) and self.patience >= 1, "Patience must be at least 1 epoch.")
        _check(0 < self.reduce_lr_factor < 1, "The learning-rate reduction factor must be between 0 and 1.")
        _check(self.device in DEVICES, f"The device must be one of {', '.join(DEVICES)}.")
        _check(self.augmentation in ("auto", "none", "sky"), "Augmentation must be auto, none or sky.")
        _check(self.class_weight in ("auto", "none", "balanced"), "Class weights must be auto, none or balanced.")
        _check(self.schedule in ("auto", "constant", "cosine"),
               "The learning-rate schedule must be auto, constant or cosine.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        if not isinstance(d, dict) or set(d) - names:
            raise NnstudioError(f"The training settings have unknown keys: {sorted(set(d) - names)}.")
        return cls(**d).validate()


@dataclass
class RunRecord:
    """One training run: what was asked, what happened, where the model is."""

    id: str
    started: str                          # ISO time
    settings: dict                        # TrainConfig.to_dict()
    model: dict                           # ModelSpec.to_dict() at the time of the run
    status: str = "running"
    history: dict[str, list[float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    epochs_run: int = 0
    duration_s: float = 0.0
    device: str = "CPU"
    model_path: str | None = None         # relative to the project folder
    message: str = ""
    name: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as exc:
            raise NnstudioError(f"A run record is not valid: {exc}") from None
