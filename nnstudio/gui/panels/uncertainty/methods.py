"""What the Uncertainty panel says about methods and sets, in words (no computing here)."""
from __future__ import annotations

import numpy as np

ABSTAIN = "none: abstain"


def _has_dropout(spec: dict | None) -> bool:
    def walk(layers) -> bool:
        for layer in layers or []:
            name = str(layer.get("class_name", ""))
            if "Dropout" in name:
                return True
            if walk((layer.get("config") or {}).get("layers")):
                return True
        return False
    return walk((spec or {}).get("layers"))


def mc_dropout_unavailable(project) -> str | None:
    """Why MC dropout cannot run on the project's active model (None when it can): it needs a
    Dropout layer, or every pass gives the same answer."""
    run = project.run()
    spec = run.model if run is not None and run.model else (project.model.to_dict() if project.model else None)
    if spec is None or _has_dropout(spec):
        return None
    which = f"The model of {run.id}" if run is not None else "The model"
    return (f"{which} has no Dropout layer, so every MC dropout pass would give the same answer. Add a "
            "Dropout layer in the Model panel and train again, or choose another method.")


def set_names(sets: np.ndarray, names) -> np.ndarray:
    """Each sample's conformal set as text ("benign, malignant"; an empty set says abstain)."""
    names = [str(n) for n in names]
    return np.array([", ".join(n for n, inside in zip(names, row) if inside) or ABSTAIN
                     for row in np.asarray(sets, dtype=bool)])


__all__ = ["ABSTAIN", "mc_dropout_unavailable", "set_names"]
