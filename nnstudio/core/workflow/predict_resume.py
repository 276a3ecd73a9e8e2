"""Resuming a cancelled or crashed prediction: each finished chunk is kept in a folder beside the
catalog (``CATALOG.partial/``), under a key of everything its numbers depend on (the run's model
hash, the held-out fits, the decision rule, the input's files, the shard, the chunking and the
options). A rerun with the same key takes the finished chunks from there and predicts the rest;
the folder goes once the catalog is written. Another key starts the folder afresh.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np

STATE = "state.json"


def input_identity(inputs) -> list:
    """Names, sizes and modification times of the input's files (a folder's files included)."""
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    out = []
    for p in paths:
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            st = f.stat()
            out.append([str(f), st.st_size, st.st_mtime_ns])
    return out


def _replace(path: Path, data: bytes) -> None:
    """Written beside and renamed into place, without the catalog's fsync: a chunk torn by a
    power cut fails to load and is predicted again, so speed wins here."""
    from nnstudio.core.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


class Partial:
    """The finished chunks of one prediction, in ``folder``."""

    def __init__(self, out, key_parts: dict):
        self.folder = Path(str(out) + ".partial")
        text = json.dumps(key_parts, sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()
        state = self.folder / STATE
        try:
            same = json.loads(state.read_text(encoding="utf-8")).get("key") == self.key
        except (OSError, ValueError):
            same = False
        if not same:
            self._start()

    def _start(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _replace(self.folder / STATE, json.dumps({"key": self.key}).encode())
        except OSError:
            self.folder = None        # nowhere to keep chunks: predict without resuming

    def _path(self, start: int, stop: int) -> Path:
        return self.folder / f"rows_{start:012d}_{stop:012d}.npz"

    def load(self, start: int, stop: int) -> dict[str, np.ndarray] | None:
        """The saved arrays of chunk [start, stop), or None when it was not finished."""
        if self.folder is None or not self._path(start, stop).exists():
            return None
        try:
            with np.load(self._path(start, stop), allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception:  # noqa: BLE001 - a torn or foreign file (any zip error): predict it again
            return None

    def save(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        if self.folder is None:
            return
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        try:
            _replace(self._path(start, stop), buf.getvalue())
        except OSError:
            pass

    def finish(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


__all__ = ["Partial", "input_identity"]
