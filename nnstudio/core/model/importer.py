"""Open a ``.keras`` file: a plain stack of supported layers becomes an editable spec; anything
else is shown read-only with its summary. Always loads with Keras ``safe_mode``."""
from __future__ import annotations

import os
import re
import zipfile

from nnstudio.errors import NnstudioError


def model_summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda text, *a, **k: lines.append(str(text)))
    return "\n".join(lines).rstrip()


def _is_safe_mode_refusal(text: str) -> bool:
    return "safe_mode" in text or "arbitrary code" in text


def _refusal(exc: Exception, path: str) -> NnstudioError:
    text = str(exc)
    name = os.path.basename(path)
    if _is_safe_mode_refusal(text):
        return NnstudioError(
            f"Keras safe mode refused {name}: it contains Python code (a Lambda layer or "
            f"function), which could run arbitrary code when loaded. nnstudio opens only models "
            f"made of standard layers.", detail=text)
    m = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if m:
        return NnstudioError(
            f"{name} uses a custom Keras object '{m.group(1)}' that nnstudio does not know, so it "
            f"cannot be loaded safely.", detail=text)
    return NnstudioError(f"Could not load {name} as a Keras model: {text.splitlines()[0] if text else type(exc).__name__}",
                         detail=text)


def load_keras(path):
    """The keras.Model in ``path`` loaded with ``safe_mode=True`` (compiled when possible)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise NnstudioError(f"No such model file: {path}")
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise NnstudioError(f"{os.path.basename(path)} is not a Keras model file (.keras or .h5).")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise NnstudioError(f"{os.path.basename(path)} is not a valid .keras file (it should be a "
                            f"zip archive written by Keras).")
    import keras

    from nnstudio.core.model.keras_objects import register
    register()
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as exc:
        first = exc
    # A model whose compile settings cannot be restored still has layers worth showing.
    if _is_safe_mode_refusal(str(first)):
        raise _refusal(first, path)
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception:
        raise _refusal(first, path) from None


def load_keras_file(path):
    """``(ModelSpec or None, summary text)`` for a ``.keras`` file.

    The spec is None when the model is not a plain stack of supported layers; the summary then
    says why, and the model can only be shown read-only. A file refused by safe mode raises
    NnstudioError with the reason.
    """
    from nnstudio.core.model.build import _model_from_keras, _Unsupported, input_shape_of

    model = load_keras(path)
    summary = model_summary(model)
    notes: list[str] = []
    try:
        spec = _model_from_keras(model, notes)
    except _Unsupported as exc:
        return None, f"{summary}\n\nRead-only: {exc}."
    try:
        shape = input_shape_of(model)
        summary += f"\n\nInput shape: {' × '.join(map(str, shape))}"
    except Exception:
        pass
    if notes:
        summary += "\n" + "\n".join(notes)
    return spec, summary


__all__ = ["load_keras_file", "load_keras", "model_summary"]
