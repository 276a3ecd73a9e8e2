"""What Apply changed, in one line: the Data panel says it after preparing again, so that a click
is never met by silence (or says that nothing changed)."""
from __future__ import annotations

SPLIT_WORDS = {"train": "train", "val": "validation", "cal": "calibration", "test": "test"}


def _list(names, limit: int = 4) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def describe_changes(old, new, old_spec=None, new_spec=None) -> str:
    """One sentence naming what differs between two preparations (``PreparedData``) and their
    settings (``PreparationSpec``); "nothing changed" when they agree."""
    if old is None:
        return f"Prepared: {sum(new.count(s) for s in SPLIT_WORDS)} samples, {new.problem}."
    parts = []
    if (old.target_name, old.problem) != (new.target_name, new.problem):
        parts.append(f"target {old.target_name} ({old.problem}) → {new.target_name} ({new.problem})")
    added = [n for n in (new.feature_names or []) if n not in (old.feature_names or [])]
    removed = [n for n in (old.feature_names or []) if n not in (new.feature_names or [])]
    if added:
        parts.append(f"inputs added: {_list(added)}")
    if removed:
        parts.append(f"inputs removed: {_list(removed)}")
    if tuple(old.input_shape) != tuple(new.input_shape) and not (added or removed):
        parts.append("input shape " + "×".join(map(str, old.input_shape)) + " → "
                     + "×".join(map(str, new.input_shape)))
    if (old.class_names or []) != (new.class_names or []) and old.problem == new.problem == "classification":
        parts.append(f"classes {_list(old.class_names or [])} → {_list(new.class_names or [])}")
    counts = [f"{SPLIT_WORDS[s]} {old.count(s)} → {new.count(s)}" for s in SPLIT_WORDS
              if old.count(s) != new.count(s)]
    if counts:
        parts.append("samples " + ", ".join(counts))
    if old_spec is not None and new_spec is not None:
        for name, words in (("seed", "split seed"), ("scaler", "scaling"), ("missing", "missing values"),
                            ("stratify", "stratified splits")):
            a, b = getattr(old_spec, name), getattr(new_spec, name)
            if a != b:
                parts.append(f"{words} {a} → {b}")
    if not parts:
        return "Prepared again with the same choices: nothing changed."
    return "Prepared again: " + "; ".join(parts) + "."


__all__ = ["describe_changes"]
