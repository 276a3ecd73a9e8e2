"""Rare classes in the stratified split: one row in every split when the class has enough, and a
note naming the class, its count and the splits it misses when it has not."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnstudio.core.data.dataset import Dataset
from nnstudio.core.data.prepare import class_balance, prepare
from nnstudio.core.data.spec import SPLITS, DataSelection, PreparationSpec
from nnstudio.core.data.splits import assign_splits, class_reach_notes, split_counts
from nnstudio.core.workflow.export import _split_source
from nnstudio.errors import NnstudioError

FR = {"train": .6, "val": .15, "cal": .1, "test": .15}


def per_class(codes, strata):
    """{class: [train, val, cal, test] counts}."""
    return {int(k): np.bincount(codes[strata == k], minlength=4).tolist()
            for k in np.unique(strata)}


def dealt_before(n, fractions, seed, strata):
    """The split as it was dealt before rare classes were looked after (the reference)."""
    counts = split_counts(n, fractions)
    shuffle = np.random.default_rng(seed).permutation(n)
    order = shuffle[np.argsort(np.asarray(strata)[shuffle], kind="stable")]
    keys = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c])
    labels = np.concatenate([np.full(c, s, dtype=np.int8) for s, c in enumerate(counts) if c])
    codes = np.empty(n, dtype=np.int8)
    codes[order] = labels[np.argsort(keys, kind="stable")]
    return codes


# -- the minimum per split, worked by hand ------------------------------------------------------
# 20 rows at 60/15/10/15 are 12/3/2/3, dealt in the order T T V X T C T T T V X T T T C T V X T T
# (T train, V val, C cal, X test); classes take consecutive runs of it.

def test_four_row_class_gets_the_calibration_row_it_was_dealt_out_of():
    strata = np.repeat([0, 1], [16, 4])
    # dealt: class 0 takes the first 16 codes (10/2/2/2), class 1 the last four V X T T
    assert per_class(dealt_before(20, FR, 0, strata), strata) == {0: [10, 2, 2, 2],
                                                                  1: [2, 1, 0, 1]}
    # class 1 gives one of its two train rows to cal; class 0, with two in cal, takes it back
    assert per_class(assign_splits(20, FR, 0, strata), strata) == {0: [11, 2, 1, 2],
                                                                   1: [1, 1, 1, 1]}


def test_class_too_small_for_every_split_is_left_as_dealt():
    strata = np.repeat([0, 1, 2], [14, 4, 2])
    # class 0 takes codes 0-13 (9/2/1/2), class 1 codes 14-17, C T V X, one in each split, and
    # class 2 the last two, T T: two rows cannot reach four splits, so nothing moves
    assert per_class(assign_splits(20, FR, 0, strata), strata) == {
        0: [9, 2, 1, 2], 1: [1, 1, 1, 1], 2: [2, 0, 0, 0]}


def test_class_dealt_only_out_of_train_is_brought_into_train():
    strata = np.repeat([0, 1, 2], [3, 1, 16])
    # class 1's one row is dealt code 3, test: it swaps with a train row of class 2, the class
    # whose shares that swap disturbs least (10 train and 2 test of 16, against 9.6 and 2.4)
    assert per_class(dealt_before(20, FR, 0, strata), strata)[1] == [0, 0, 0, 1]
    assert per_class(assign_splits(20, FR, 0, strata), strata) == {
        0: [2, 1, 0, 0], 1: [1, 0, 0, 0], 2: [9, 2, 2, 3]}


def test_a_split_too_small_for_every_class_cannot_hold_them_all():
    # 20 rows: cal holds 2 rows, but there are 3 classes of 5+ rows
    strata = np.repeat([0, 1, 2], [10, 5, 5])
    got = per_class(assign_splits(20, FR, 0, strata), strata)
    assert sum(got[k][2] > 0 for k in got) == 2
    assert all(got[k][s] > 0 for k in got for s in (0, 1, 3))


def test_an_empty_split_is_not_filled():
    fr = {"train": .7, "val": .15, "cal": 0.0, "test": .15}
    strata = np.repeat([0, 1], [37, 3])
    got = per_class(assign_splits(40, fr, 5, strata), strata)
    assert got[1][2] == 0 and got[0][2] == 0
    assert all(c > 0 for c in (got[1][0], got[1][1], got[1][3]))


# -- determinism and unchanged ordinary data ----------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 7])
def test_same_seed_same_split(seed):
    strata = np.repeat([0, 1, 2, 3], [15, 9, 3, 500])
    a = assign_splits(527, FR, seed, strata)
    np.testing.assert_array_equal(a, assign_splits(527, FR, seed, strata))
    assert not np.array_equal(a, assign_splits(527, FR, seed + 1, strata))


@pytest.mark.parametrize("seed", [0, 3, 11])
@pytest.mark.parametrize("sizes", [[800, 200], [50, 30, 20], [400, 120, 61, 40]])
def test_ordinary_data_splits_as_before(seed, sizes):
    strata = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    n = len(strata)
    np.testing.assert_array_equal(assign_splits(n, FR, seed, strata),
                                  dealt_before(n, FR, seed, strata))


def test_ordinary_data_keeps_its_class_shares():
    strata = np.repeat([0, 1, 2], [50, 30, 20])
    for seed in range(3):
        assert per_class(assign_splits(100, FR, seed, strata), strata) == {
            0: [30, 8, 5, 7], 1: [18, 4, 3, 5], 2: [12, 3, 2, 3]}


def test_split_sizes_stay_exact_with_rare_classes():
    strata = np.repeat([0, 1, 2, 3], [15, 9, 3, 500])
    codes = assign_splits(527, FR, 2, strata)
    assert np.bincount(codes, minlength=4).tolist() == split_counts(527, FR)


def test_nine_row_class_now_reaches_calibration():
    strata = np.repeat([0, 1, 2, 3], [15, 9, 3, 500])
    assert per_class(dealt_before(527, FR, 0, strata), strata)[1] == [5, 2, 0, 2]
    got = per_class(assign_splits(527, FR, 0, strata), strata)
    assert got[1] == [4, 2, 1, 2]
    assert got[2] == [2, 0, 1, 0]          # three rows cannot reach four splits: as dealt


def test_exported_script_splits_identically():
    space = {"np": np, "SPLITS": SPLITS, "DROPPED": len(SPLITS), "NnstudioError": ValueError,
             "Task": object}
    exec(_split_source(), space)  # noqa: S102 - the script's own split code, run as it runs
    strata = np.repeat([0, 1, 2, 3], [15, 9, 3, 500])
    for seed in range(3):
        np.testing.assert_array_equal(space["assign_splits"](527, FR, seed, strata),
                                      assign_splits(527, FR, seed, strata))


# -- the note -----------------------------------------------------------------------------------

def test_note_names_class_count_and_missing_splits():
    labels = {"train": np.array([0, 0, 0, 1, 1]), "val": np.array([0, 1]),
              "cal": np.array([0]), "test": np.array([0])}
    assert class_reach_notes(labels, ["galaxy", "quasar"]) == [
        ("Class 'quasar' has 3 samples: none in the calibration and test splits; its conformal "
         "sets and test figures cannot be judged.")]


def test_note_for_a_class_out_of_train_and_for_a_split_too_small():
    labels = {"train": np.array([0, 0, 1, 1, 2, 2]), "val": np.array([1, 2]),
              "cal": np.array([1]), "test": np.array([0, 1, 2])}
    assert class_reach_notes(labels, ["a", "b", "c"]) == [
        ("Class 'a' has 3 samples: none in the validation and calibration splits; its conformal "
         "sets and validation figures cannot be judged."),
        ("Class 'c' has 4 samples but none in the calibration split (the calibration split has "
         "1 row for 3 classes); its conformal sets cannot be judged.")]
    labels = {"train": np.array([0, 0]), "val": np.array([0]), "cal": np.array([0]),
              "test": np.array([1, 0])}
    assert class_reach_notes(labels, ["a", "b"]) == [
        ("Class 'b' has 1 sample: none in the training, validation and calibration splits; the "
         "model never learns it and its conformal sets and validation figures cannot be judged.")]


def test_no_note_when_every_class_reaches_every_split():
    labels = {"train": np.array([0, 1]), "val": np.array([0, 1]), "cal": np.array([], int),
              "test": np.array([1, 0])}
    assert class_reach_notes(labels, ["a", "b"]) == []


def test_prepared_data_carries_the_note_and_the_split_it_describes():
    # the classes of test_nine_row_class_now_reaches_calibration, in the same (sorted) order
    y = np.array(["galaxy"] * 15 + ["nova"] * 9 + ["quasar"] * 3 + ["star"] * 500)
    ds = Dataset("table", {"x": np.arange(len(y), dtype=float), "y": y})
    selection, spec = DataSelection(target="y"), PreparationSpec()
    p = prepare(ds, selection, spec)
    bal = class_balance(p)
    assert [bal[s]["nova"] for s in SPLITS] == [4, 2, 1, 2]
    assert [bal[s]["quasar"] for s in SPLITS] == [2, 0, 1, 0]
    assert p.notes == [("Class 'quasar' has 3 samples: none in the validation and test splits; "
                        "its validation and test figures cannot be judged.")]
    assert selection == DataSelection(target="y")     # prepare returns what it chose


def test_unstratified_split_says_why_a_large_class_is_missing():
    y = np.array(["galaxy"] * 15 + ["nova"] * 9 + ["quasar"] * 3 + ["star"] * 500)
    ds = Dataset("table", {"x": np.arange(len(y), dtype=float), "y": y})
    p = prepare(ds, DataSelection(target="y"), PreparationSpec(stratify=False))
    bal = class_balance(p)
    missing = {c for c in ("galaxy", "nova", "star") if any(bal[s][c] == 0 for s in SPLITS)}
    assert missing                      # seed 0 leaves galaxy out of calibration
    said = {n.split("'")[1] for n in p.notes if "not stratified" in n}
    assert said == missing


def test_regression_has_no_class_notes():
    ds = Dataset("table", {"x": np.arange(50, dtype=float), "y": np.arange(50) * 1.5})
    assert not any("Class" in n for n in prepare(ds, DataSelection(target="y"),
                                                 PreparationSpec()).notes)


# -- properties ---------------------------------------------------------------------------------

fractions = st.tuples(st.integers(1, 10), st.integers(0, 5), st.integers(0, 5),
                      st.integers(1, 5)).map(lambda t: {s: v / sum(t) for s, v in zip(SPLITS, t)})


@settings(deadline=None, max_examples=150)
@given(sizes=st.lists(st.integers(1, 40), min_size=2, max_size=6), fr=fractions,
       seed=st.integers(0, 2**31), shuffled=st.booleans())
def test_every_class_with_enough_rows_reaches_every_split(sizes, fr, seed, shuffled):
    strata = np.repeat(np.arange(len(sizes)), sizes)
    if shuffled:
        strata = np.random.default_rng(seed).permutation(strata)
    n = len(strata)
    try:
        counts = split_counts(n, fr)
    except NnstudioError as exc:   # too few rows for the split at all
        assert "too few" in str(exc)
        return
    codes = assign_splits(n, fr, seed, strata)
    assert codes.shape == (n,) and set(np.unique(codes)) <= {0, 1, 2, 3}   # each row once
    assert np.bincount(codes, minlength=4).tolist() == counts            # exact sizes
    live = [s for s, c in enumerate(counts) if c]
    got = per_class(codes, strata)
    able = sum(m >= len(live) for m in sizes)
    for k, size in enumerate(sizes):
        # every class trains, unless train has fewer rows than there are classes
        assert got[k][0] >= 1 or counts[0] < len(sizes)
        if size >= len(live):
            # the only excuse for missing a split: fewer rows in it than classes that can fill it,
            # besides those rows a smaller class holds there (its only rows train it)
            small = [sum(got[j][s] for j, m in enumerate(sizes) if m < len(live)) for s in range(4)]
            assert all(got[k][s] >= 1 or counts[s] < able + small[s] for s in live)
    np.testing.assert_array_equal(codes, assign_splits(n, fr, seed, strata))


@settings(deadline=None, max_examples=100)
@given(sizes=st.lists(st.integers(4, 40), min_size=2, max_size=4), seed=st.integers(0, 2**31))
def test_room_enough_means_every_class_in_every_split(sizes, seed):
    """With at least as many rows in each split as classes, every class of ≥ k rows is everywhere."""
    strata = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    n = len(strata)
    counts = split_counts(n, FR)
    if min(counts) < len(sizes):
        return
    got = per_class(assign_splits(n, FR, seed, strata), strata)
    assert all(c >= 1 for k in got for c in got[k])
    assert class_reach_notes({s: strata[assign_splits(n, FR, seed, strata) == i]
                              for i, s in enumerate(SPLITS)}, [str(k) for k in got]) == []
