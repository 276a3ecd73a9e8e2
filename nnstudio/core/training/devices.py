"""Compute devices: GPU detection, memory growth, mixed precision and the distribution strategy.

Every function takes the device list as an argument where a choice is made, so the GPU paths are
tested on CPU with an injected list (CI never has a GPU).
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def list_gpus() -> list[str]:
    """Names of the visible GPUs ("NVIDIA H100", …); empty on a CPU-only machine."""
    import tensorflow as tf

    names = []
    for dev in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(dev)
        except Exception:  # some platforms have no details
            details = {}
        names.append(details.get("device_name") or dev.name)
    return names


def configure_gpus() -> None:
    """Turn on memory growth so TensorFlow does not take all GPU memory at once."""
    import tensorflow as tf

    for dev in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(dev, True)
        except (RuntimeError, ValueError) as exc:  # already initialised
            log.info("memory growth not set on %s: %s", dev.name, exc)


def choose_strategy(device: str, n_gpus: int) -> str:
    """Which strategy a run uses: "cpu", "default" (one GPU) or "mirrored" (several GPUs)."""
    if device == "cpu" or n_gpus == 0:
        return "cpu"
    if n_gpus > 1:
        return "mirrored"
    return "default"


def make_strategy(kind: str):
    """A ``tf.distribute`` strategy for :func:`choose_strategy`'s answer."""
    import tensorflow as tf

    if kind == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def mixed_precision_policy(enabled: bool, n_gpus: int) -> str:
    """Mixed precision only helps (and is only offered) on GPUs."""
    return "mixed_float16" if enabled and n_gpus > 0 else "float32"
