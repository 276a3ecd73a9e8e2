"""Seeded, optionally stratified split assignment and the in-place grouping of rows by split."""
from __future__ import annotations

import numpy as np

from nnstudio.core.data.spec import SPLITS
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

DROPPED = len(SPLITS)  # the code of rows left out (missing values)
_MOVE_BYTES = 8 * 1024 * 1024


def split_counts(n: int, fractions: dict[str, float]) -> list[int]:
    """Rows per split: largest remainder, then every non-zero split gets at least one row."""
    f = np.array([float(fractions[s]) for s in SPLITS])
    raw = f * n
    counts = np.floor(raw).astype(int)
    left = n - counts.sum()
    for k in np.argsort(-(raw - counts), kind="stable")[:left]:
        counts[k] += 1
    for k in range(len(SPLITS)):
        if f[k] > 0 and counts[k] == 0:
            donor = int(np.argmax(counts))
            if counts[donor] > (2 if donor == 0 else 1):
                counts[donor] -= 1
                counts[k] += 1
    needed = 2 + int(np.count_nonzero(f[1:] > 0))
    if n < needed or counts[0] < 2 or any(f[k] > 0 and counts[k] == 0 for k in range(len(f))):
        shares = "/".join(f"{round(100 * v):g}" for v in f)
        raise NnstudioError(
            f"Only {n} usable row{'s' * (n != 1)}: too few for a train/val/cal/test split of "
            f"{shares} %; at least {needed} are needed.")
    return [int(c) for c in counts]


def assign_splits(n: int, fractions: dict[str, float], seed: int,
                  strata: np.ndarray | None = None) -> np.ndarray:
    """A split code (index into SPLITS) per row; exact split sizes, classes spread evenly.

    Rows are shuffled (within their stratum when ``strata`` is given, strata laid end to end),
    then dealt a label sequence whose splits are evenly interleaved, so every class gets close
    to its share of every split.
    """
    counts = split_counts(n, fractions)
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(n)
    if strata is None:
        order = shuffle
    else:
        order = shuffle[np.argsort(np.asarray(strata)[shuffle], kind="stable")]
    keys = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c])
    labels = np.concatenate([np.full(c, s, dtype=np.int8) for s, c in enumerate(counts) if c])
    sequence = labels[np.argsort(keys, kind="stable")]
    codes = np.empty(n, dtype=np.int8)
    codes[order] = sequence
    return codes


def group_by_split(codes: np.ndarray, arrays: list[np.ndarray] = (),
                   task: Task | None = None) -> tuple[np.ndarray, dict[str, slice]]:
    """Reorder rows so each split is one contiguous block, swapping rows of ``arrays`` in place.

    Returns the permutation (``perm[i]`` = original row now at position i) and the slice of
    each split. Only misplaced rows move, a bounded chunk at a time, so a cube is regrouped
    without a second copy of it. Dropped rows end up after the last split.
    """
    task = task or Task()
    codes = np.array(codes, dtype=np.int8)
    perm = np.arange(len(codes), dtype=np.int64)
    slices: dict[str, slice] = {}
    start = 0
    for s, name in enumerate(SPLITS):
        c = int(np.count_nonzero(codes[start:] == s))
        end = start + c
        wrong_in = start + np.flatnonzero(codes[start:end] != s)
        wrong_out = end + np.flatnonzero(codes[end:] == s)
        if len(wrong_in):
            _swap(wrong_in, wrong_out, [codes, perm, *arrays], task)
        slices[name] = slice(start, end)
        start = end
    return perm, slices


def _swap(i_idx, j_idx, arrays, task):
    for a in arrays:
        row_bytes = max(1, a[0].nbytes if a.ndim > 1 else a.itemsize)
        step = max(1, _MOVE_BYTES // row_bytes)
        for k in range(0, len(i_idx), step):
            i, j = i_idx[k:k + step], j_idx[k:k + step]
            tmp = a[i]
            a[i] = a[j]
            a[j] = tmp
            if a.ndim > 1:
                task.check()
