"""PreparedData: arrays ready for Keras, split and scaled, plus what is needed to undo it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PreparedData:
    """The output of data preparation and the input of training and evaluation.

    ``x[split]`` is float32 of shape ``(n, *input_shape)``; ``y[split]`` is int64 class indices
    (classification) or float32 of shape ``(n,)`` in scaled units (regression; see
    ``target_scaler``). ``index[split]`` are row numbers in the original data set, so a sample
    browser can show the original row or cutout. Scalers were fitted on ``train`` only.
    """

    kind: str                                  # "table" or "images"
    problem: str                                # "classification" or "regression"
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    index: dict[str, np.ndarray]
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] | None = None
    target_name: str = ""
    scaler: dict | None = None                 # JSON-able fitted input scaler
    target_scaler: dict | None = None          # {"mean": m, "std": s} for regression, or None
    notes: list[str] = field(default_factory=list)  # e.g. "dropped 12 rows with missing values"
    inputs: list[str] = field(default_factory=list)  # the input columns chosen ([] for image files)

    @property
    def fitted(self) -> dict:
        """The scalers fitted on the train split, as the project stores them."""
        return {"input": self.scaler, "target": self.target_scaler}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x["train"].shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    def count(self, split: str) -> int:
        return int(len(self.y[split]))

    def inverse_y(self, y: np.ndarray) -> np.ndarray:
        """Scaled regression targets (or predicted means) back to the data's units."""
        if self.target_scaler is None:
            return np.asarray(y)
        return np.asarray(y) * self.target_scaler["std"] + self.target_scaler["mean"]

    def raw_columns(self, split: str) -> dict[str, np.ndarray]:
        """A table's input columns on ``split`` in the data's own units (the fitted scaling undone),
        for formulas written over the columns as the scientist knows them."""
        if self.kind != "table":
            return {}
        x = np.asarray(self.x[split], dtype=np.float64)
        s = self.scaler or {"kind": "none"}
        if s["kind"] == "standard":
            x = x * np.asarray(s["std"]) + np.asarray(s["mean"])
        elif s["kind"] == "minmax":
            lo = np.asarray(s["min"])
            x = x * (np.asarray(s["max"]) - lo) + lo
        return {name: x[:, i] for i, name in enumerate(self.feature_names)}

    def inverse_sigma(self, sigma: np.ndarray) -> np.ndarray:
        """Predicted standard deviations back to the data's units."""
        if self.target_scaler is None:
            return np.asarray(sigma)
        return np.asarray(sigma) * self.target_scaler["std"]
