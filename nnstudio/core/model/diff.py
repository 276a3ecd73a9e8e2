"""What changed between two model specs, in short phrases ("dense_1.units 32 → 64")."""
from __future__ import annotations

from types import SimpleNamespace

from nnstudio.core.model.spec import layer_names


def fmt_setting(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(fmt_setting(x) for x in v) + "]"
    return str(v)


_KEY_SETTING = {"Dense": "units", "Conv2D": "filters", "Conv1D": "filters", "Dropout": "rate",
                "SpatialDropout2D": "rate", "MaxPooling2D": "pool_size", "AveragePooling2D": "pool_size"}


def _layer_short(layer: dict) -> str:
    c = layer.get("class_name", "?")
    key = _KEY_SETTING.get(c)
    v = (layer.get("config") or {}).get(key) if key else None
    return f"{c}({fmt_setting(v)})" if v is not None else c


def model_changes(old: dict, new: dict) -> list[str]:
    """What differs between two ``ModelSpec.to_dict()``s, in short phrases."""
    old, new = old or {}, new or {}
    out = []
    for k in ("learning_rate", "optimizer", "momentum", "loss", "metrics"):
        if old.get(k) != new.get(k):
            out.append(f"{k} {fmt_setting(old.get(k))} → {fmt_setting(new.get(k))}")
    lo, ln = old.get("layers") or [], new.get("layers") or []
    if [x.get("class_name") for x in lo] != [x.get("class_name") for x in ln]:
        out.append("layers " + "-".join(map(_layer_short, lo)) + " → " + "-".join(map(_layer_short, ln)))
        return out
    names = layer_names([SimpleNamespace(class_name=x.get("class_name", "?")) for x in lo])
    for name, a, b in zip(names, lo, ln):
        ca, cb = a.get("config") or {}, b.get("config") or {}
        for k in sorted(set(ca) | set(cb)):
            if ca.get(k) != cb.get(k):
                out.append(f"{name}.{k} {fmt_setting(ca.get(k))} → {fmt_setting(cb.get(k))}")
    return out


__all__ = ["fmt_setting", "model_changes"]
