"""JSON-able descriptions of what data a project uses and how it is prepared."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nnstudio.errors import NnstudioError

PROBLEMS = ("classification", "regression")
SCALERS = ("auto", "standard", "minmax", "asinh", "none")
MISSING = ("drop", "median", "refuse")
SPLITS = ("train", "val", "cal", "test")


def _from_dict(cls, d: dict[str, Any], what: str):
    if not isinstance(d, dict):
        raise NnstudioError(f"{what} must be a JSON object, not {type(d).__name__}.")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise NnstudioError(f"{what} has unknown keys: {', '.join(unknown)}.")
    try:
        return cls(**d)
    except (TypeError, ValueError) as exc:
        raise NnstudioError(f"{what} is not valid: {exc}") from None


@dataclass
class DataSelection:
    """Which file(s), which HDU, which columns are inputs and which is the target.

    ``path`` and ``labels_path`` are stored relative to the project file's folder when saved in a
    project (``Project`` converts); in memory they are whatever the caller gave.
    """

    path: str = ""
    # FITS: the HDU (index or name); VOTable: the table (index, ID or name). None = the first
    # usable image, then table
    hdu: int | str | None = None
    labels_path: str | None = None        # companion table for images (CSV/ECSV/VOTable/FITS)
    labels_hdu: int | str | None = None   # a table HDU in the same FITS file holding labels
    id_column: str | None = None          # match images to label rows by this column (None = row order)
    inputs: list[str] = field(default_factory=list)   # table input columns (empty = all numeric but target)
    target: str | None = None             # target column (None = guess 'label'/'target'/last column)
    problem: str | None = None            # classification | regression; None = infer from the target
    class_names: list[str] | None = None  # kept from the data; order = class index
    fingerprint: dict | None = None       # {"size": int, "sha256": str} of path when saved

    def __post_init__(self):
        if self.problem is not None and self.problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {PROBLEMS}, not {self.problem!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataSelection:
        return _from_dict(cls, d, "The data selection")


@dataclass
class PreparationSpec:
    """Split fractions, scaling and missing-value policy. ``fitted`` holds the fitted scalers."""

    fractions: dict[str, float] = field(
        default_factory=lambda: {"train": 0.60, "val": 0.15, "cal": 0.10, "test": 0.15})
    seed: int = 0
    stratify: bool = True                 # for classification
    scaler: str = "auto"                  # auto: standard for tables, asinh+standard for images
    missing: str = "drop"
    scale_target: bool = True             # regression: standardise the target with train stats
    fitted: dict | None = None            # JSON-able parameters fitted on the train split only

    def __post_init__(self):
        if self.scaler not in SCALERS:
            raise ValueError(f"scaler must be one of {SCALERS}, not {self.scaler!r}")
        if self.missing not in MISSING:
            raise ValueError(f"missing must be one of {MISSING}, not {self.missing!r}")
        if set(self.fractions) != set(SPLITS):
            raise ValueError(f"fractions must name exactly {SPLITS}")
        if any((not isinstance(v, (int, float))) or v < 0 for v in self.fractions.values()):
            raise ValueError("fractions must be non-negative numbers")
        if self.fractions["train"] <= 0 or self.fractions["test"] <= 0:
            raise ValueError("the train and test fractions must be above zero")
        if abs(sum(self.fractions.values()) - 1.0) > 1e-6:
            raise ValueError("fractions must add up to 1")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PreparationSpec:
        return _from_dict(cls, d, "The preparation settings")
