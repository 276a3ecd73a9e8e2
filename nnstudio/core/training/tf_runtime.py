"""Import TensorFlow once, quietly, and describe the compute devices.

``import tensorflow`` takes ~3.5 s and writes absl/oneDNN lines straight to file descriptor 2,
which no environment variable fully silences. The CLI and the GUI's background loader call
:func:`import_tensorflow`, which sends fd 2 to a temporary file for the duration of the import and
returns what was written so the caller can log it.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

_lock = threading.Lock()
_info: dict | None = None


@contextmanager
def captured_stderr_fd():
    """Redirect OS-level stderr (fd 2) to a temporary file; yields a list that receives the text."""
    out: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (e.g. a windowed frozen app)
        yield out
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            sys.stderr.flush()
        except Exception:
            pass
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            try:
                sys.stderr.flush()
            except Exception:
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


@contextmanager
def _no_capture():
    yield []


def import_tensorflow(quiet: bool = True) -> dict:
    """Import TensorFlow and Keras (once) and return versions, devices and the import's log text."""
    global _info
    with _lock:
        if _info is not None:
            return _info
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ log lines; errors still raise
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        t0 = time.perf_counter()
        capture = captured_stderr_fd() if quiet else _no_capture()
        with capture as log:
            import keras
            import tensorflow as tf

            from nnstudio.core.training.devices import configure_gpus, list_gpus

            gpus = list_gpus()  # the first device query prints CUDA probing lines to fd 2
            configure_gpus()
        # its retracing hints (several models and input shapes predicted in one evaluation) are
        # advice to TensorFlow programmers, not to the person running nnstudio
        tf.get_logger().setLevel("ERROR")
        seconds = time.perf_counter() - t0
        _info = {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "gpus": gpus,
            "device": describe_device(gpus),
            "import_seconds": round(seconds, 3),
            "log": "".join(log),
        }
        return _info


def describe_device(gpus: list[str]) -> str:
    if not gpus:
        return "CPU"
    if len(gpus) == 1:
        return f"GPU: {gpus[0]}"
    return f"{len(gpus)} GPUs: {gpus[0]}…"


def tensorflow_info() -> dict | None:
    """The info of a finished :func:`import_tensorflow`, or None if TensorFlow is not loaded yet."""
    return _info
