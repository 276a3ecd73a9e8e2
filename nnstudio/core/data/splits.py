"""Seeded, optionally stratified split assignment and the in-place grouping of rows by split."""
from __future__ import annotations

import numpy as np

from nnstudio.core.data.spec import SPLITS
from nnstudio.core.formatting import fmt_count
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

DROPPED = len(SPLITS)  # the code of rows left out (missing values)
_MOVE_BYTES = 8 * 1024 * 1024
_SPLIT_WORDS = {"train": "training", "val": "validation", "cal": "calibration", "test": "test"}


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
    to its share of every split. With strata, a class left out of a split it has enough rows
    for is then given one there (see ``_reach_every_split``); split sizes stay exact.
    """
    counts = split_counts(n, fractions)
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(n)
    keys = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c])
    labels = np.concatenate([np.full(c, s, dtype=np.int8) for s, c in enumerate(counts) if c])
    sequence = labels[np.argsort(keys, kind="stable")]
    if strata is None:
        order = shuffle
    else:
        order = shuffle[np.argsort(np.asarray(strata)[shuffle], kind="stable")]
        _reach_every_split(sequence, np.asarray(strata)[order], counts)
    codes = np.empty(n, dtype=np.int8)
    codes[order] = sequence
    return codes


def _reach_every_split(sequence: np.ndarray, sorted_strata: np.ndarray, counts) -> None:
    """Give every class one row in each non-empty split it has rows enough for, in place.

    ``sequence`` is the dealt split code of each row, rows grouped by class (``sorted_strata``).
    The even deal hands a small class a short run of codes that can miss the 10 % calibration
    split, leaving its conformal sets unjudged. A missing split takes a row of the class from
    the split where it has most (train, normally) and sends back the row of another class that
    keeps one there (failing that, of a class too small for every split), so split sizes stay
    exact and no swap undoes an earlier one. A class too small for every split is at least kept
    in train. Data whose classes already reach every split is left untouched.
    """
    live = [s for s, c in enumerate(counts) if c]
    starts = np.flatnonzero(np.r_[True, sorted_strata[1:] != sorted_strata[:-1]])
    bounds = np.r_[starts, len(sequence)]
    sizes = np.diff(bounds)
    of_class = np.repeat(np.arange(len(sizes)), sizes)
    table = np.bincount(of_class * len(counts) + sequence,
                        minlength=len(sizes) * len(counts)).reshape(len(sizes), len(counts))
    if table[:, live].all():
        return
    share = np.asarray(counts, dtype=float) / len(sequence)
    enough = sizes >= len(live)
    for c in range(len(sizes)):
        for s in (live if enough[c] else live[:1]):
            if table[c, s]:
                continue
            d = max(live, key=lambda k: table[c, k])  # ties go to train, the first
            # the partner keeps a row in s, unless it cannot reach every split anyway (and s
            # is not train, which every class keeps)
            spare = table[:, s] >= (2 if s == 0 else 1 + enough)
            spare[c] = False
            if not spare.any():
                continue
            excess = (table[:, s] - share[s] * sizes) - (table[:, d] - share[d] * sizes)
            rich = spare & (table[:, s] >= 2)
            other = int(np.argmax(np.where(rich if rich.any() else spare, excess, -np.inf)))
            i = bounds[c] + np.flatnonzero(sequence[bounds[c]:bounds[c + 1]] == d)[-1]
            j = bounds[other] + np.flatnonzero(sequence[bounds[other]:bounds[other + 1]] == s)[-1]
            sequence[i], sequence[j] = s, d
            table[c, s] += 1
            table[c, d] -= 1
            table[other, s] -= 1
            table[other, d] += 1


def class_reach_notes(labels: dict[str, np.ndarray], class_names: list[str],
                      stratified: bool = True) -> list[str]:
    """One note per class missing from a non-empty split: its count, the splits, what is lost.

    ``labels[split]`` holds the class index of each row of that split.
    """
    live = [s for s in SPLITS if len(labels[s])]
    table = np.array([np.bincount(np.asarray(labels[s], dtype=np.int64),
                                  minlength=len(class_names))[:len(class_names)] for s in live])
    notes = []
    for c, name in enumerate(class_names):
        missing = [s for k, s in enumerate(live) if table[k, c] == 0]
        if not missing:
            continue
        n = int(table[:, c].sum())
        if n == 0:
            notes.append(f"Class {name!r} has no samples: the model can neither learn it nor be "
                         f"judged on it.")
            continue
        where = _and([_SPLIT_WORDS[s] for s in missing])
        why = ""
        if n >= len(live):
            small = [s for s in missing if len(labels[s]) < len(class_names)]
            why = (" (the split is not stratified by class)" if not stratified else
                   "".join(f" (the {_SPLIT_WORDS[s]} split has {fmt_count(len(labels[s]))} "
                           f"row{'s' * (len(labels[s]) != 1)} for {fmt_count(len(class_names))} "
                           f"classes)" for s in small[:1]))
        lost = ["the model never learns it"] if "train" in missing else []
        figures = [_SPLIT_WORDS[s] for s in missing if s in ("val", "test")]
        unjudged = (["conformal sets"] if "cal" in missing else []) + (
            [f"{_and(figures)} figures"] if figures else [])
        if unjudged:
            lost.append(f"its {(', ' if len(figures) > 1 else ' and ').join(unjudged)} "
                        f"cannot be judged")
        notes.append(f"Class {name!r} has {fmt_count(n)} sample{'s' * (n != 1)}"
                     f"{' but' if why else ':'} none in the {where} split{'s' * (len(missing) > 1)}"
                     f"{why}; {' and '.join(lost)}.")
    return notes


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


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
