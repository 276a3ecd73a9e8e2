"""Training: settings, the Trainer (fit + one reporting callback), run records, devices."""
from nnstudio.core.training.config import RunRecord, TrainConfig

__all__ = ["RunRecord", "TrainConfig"]
