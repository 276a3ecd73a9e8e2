"""Preparation: task inference, defaults, splits, scalers fitted on train only, missing values."""
from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data.dataset import Dataset
from nnstudio.core.data.prepare import (
    apply_scaler,
    class_balance,
    infer_problem,
    prepare,
    transform_dataset,
)
from nnstudio.core.data.spec import SPLITS, DataSelection, PreparationSpec
from nnstudio.core.data.splits import assign_splits, group_by_split, split_counts
from nnstudio.errors import NnstudioError


def table(n=200, seed=0, **extra):
    rng = np.random.default_rng(seed)
    cols = {"id": np.arange(n), "a": rng.normal(5, 2, n), "b": rng.uniform(0, 10, n)}
    cols.update(extra)
    cols.setdefault("target", 2 * cols["a"] - cols["b"] + rng.normal(0, 0.1, n))
    return Dataset("table", cols, name="t")


# -- task inference -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, task", [
    (np.array(["a", "b"]), "classification"),
    (np.array([True, False]), "classification"),
    (np.arange(20), "classification"),
    (np.arange(21), "regression"),
    (np.array([0.0, 1.0, np.nan, 1.0]), "classification"),
    (np.array([0.5, 1.0, 2.0]), "regression"),
])
def test_infer_task(values, task):
    assert infer_problem(values) == task


# -- defaults, returned with the result (the arguments are left as they were) -----------------------------------------------------------------------

def test_defaults_pick_target_and_numeric_inputs_without_ids():
    ds = table()
    ds.columns["name"] = np.array([f"g{i}" for i in range(200)])
    sel = DataSelection()
    spec = PreparationSpec()
    p = prepare(ds, sel, spec)
    assert p.target_name == "target" and p.inputs == ["a", "b"]
    assert p.feature_names == ["a", "b"] and p.problem == "regression" and p.class_names is None
    assert sel == DataSelection() and spec.fitted is None      # what it chose is in the result only


def test_default_target_prefers_label_names_then_is_prefix_then_last():
    n = 50
    base = {"x": np.arange(n, dtype=float), "is_lens": np.arange(n) % 2,
            "z": np.linspace(0, 1, n)}
    p = prepare(Dataset("table", dict(base)), DataSelection(), PreparationSpec())
    assert p.target_name == "is_lens"
    p = prepare(Dataset("table", dict(base, Class=np.array(["a", "b"] * 25))), DataSelection(),
                PreparationSpec())
    assert p.target_name == "Class"


def test_class_names_are_sorted_strings_and_returned():
    n = 90
    kind = np.array(["star", "galaxy", "qso"] * 30)
    ds = Dataset("table", {"x": np.arange(n, dtype=float), "class": kind})
    sel = DataSelection()
    p = prepare(ds, sel, PreparationSpec())
    assert p.class_names == ["galaxy", "qso", "star"] and sel.class_names is None
    assert p.problem == "classification" and p.n_classes == 3
    for s in SPLITS:
        assert p.y[s].dtype == np.int64
        np.testing.assert_array_equal(np.array(p.class_names)[p.y[s]], kind[p.index[s]])


def test_integer_classes_sort_numerically():
    n = 60
    y = np.array([2, 10, 1] * 20)
    p = prepare(Dataset("table", {"x": np.arange(n, dtype=float), "y": y}), DataSelection(),
                PreparationSpec())
    assert p.class_names == ["1", "2", "10"]


def test_known_class_order_is_kept():
    n = 60
    y = np.array(["b", "a"] * 30)
    sel = DataSelection(class_names=["b", "a"])
    p = prepare(Dataset("table", {"x": np.arange(n, dtype=float), "y": y}), sel,
                PreparationSpec())
    assert p.class_names == ["b", "a"]
    assert np.all((p.y["train"] == 0) == (y[p.index["train"]] == "b"))


def test_vector_column_becomes_several_features():
    n = 40
    ds = Dataset("table", {"v": np.arange(n * 2, dtype=np.float32).reshape(n, 2),
                           "y": np.arange(n) % 2})
    p = prepare(ds, DataSelection(), PreparationSpec(scaler="none"))
    assert p.feature_names == ["v[0]", "v[1]"]
    i = p.index["train"][0]
    assert p.x["train"][0].tolist() == [2 * i, 2 * i + 1]


def test_image_column_of_a_table_is_an_image_input():
    n = 30
    ds = Dataset("table", {"img": np.random.default_rng(0).normal(size=(n, 4, 5)),
                           "y": np.arange(n) % 2})
    p = prepare(ds, DataSelection(inputs=["img"], target="y"), PreparationSpec())
    assert p.kind == "images" and p.input_shape == (4, 5, 1)


# -- splits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, counts", [(100, [60, 15, 10, 15]), (10, [6, 2, 1, 1]),
                                       (5, [2, 1, 1, 1])])
def test_split_counts_hand_worked(n, counts):
    assert split_counts(n, {"train": .6, "val": .15, "cal": .1, "test": .15}) == counts


def test_split_counts_with_no_calibration():
    assert split_counts(20, {"train": .7, "val": .15, "cal": 0.0, "test": .15}) == [14, 3, 0, 3]
    assert split_counts(3, {"train": .7, "val": 0.0, "cal": 0.0, "test": .3}) == [2, 0, 0, 1]


def test_split_sizes_in_prepared_data():
    p = prepare(table(200), DataSelection(), PreparationSpec())
    assert [p.count(s) for s in SPLITS] == [120, 30, 20, 30]
    allrows = np.concatenate([p.index[s] for s in SPLITS])
    assert sorted(allrows.tolist()) == list(range(200))


def test_stratified_split_keeps_class_shares():
    n = 1000
    y = np.where(np.arange(n) < 800, "a", "b")   # 80/20, sorted: a bad order to split naively
    ds = Dataset("table", {"x": np.arange(n, dtype=float), "y": y})
    p = prepare(ds, DataSelection(), PreparationSpec())
    bal = class_balance(p)
    assert bal == {"train": {"a": 480, "b": 120}, "val": {"a": 120, "b": 30},
                   "cal": {"a": 80, "b": 20}, "test": {"a": 120, "b": 30}}


def test_split_is_seeded_and_deterministic():
    a = prepare(table(), DataSelection(), PreparationSpec(seed=3))
    b = prepare(table(), DataSelection(), PreparationSpec(seed=3))
    c = prepare(table(), DataSelection(), PreparationSpec(seed=4))
    for s in SPLITS:
        np.testing.assert_array_equal(a.index[s], b.index[s])
        np.testing.assert_array_equal(a.x[s], b.x[s])
    assert not np.array_equal(np.sort(a.index["test"]), np.sort(c.index["test"]))


def test_group_by_split_moves_rows_with_their_data():
    codes = np.array([3, 0, 1, 0, 2, 4, 0, 1])
    data = np.arange(8)[:, None] * np.ones((1, 3))
    perm, slices = group_by_split(codes, [data])
    assert [slices[s].stop - slices[s].start for s in SPLITS] == [3, 2, 1, 1]
    np.testing.assert_array_equal(data[:, 0], perm)
    assert sorted(perm[slices["train"]].tolist()) == [1, 3, 6]
    assert perm[slices["test"]].tolist() == [0]
    assert perm[-1] == 5                        # the dropped row sits after the splits


def test_assign_splits_spreads_every_class():
    strata = np.repeat([0, 1, 2], [50, 30, 20])
    codes = assign_splits(100, {"train": .6, "val": .15, "cal": .1, "test": .15}, 0, strata)
    for k in range(3):
        counts = np.bincount(codes[strata == k], minlength=4)
        expected = np.array([.6, .15, .1, .15]) * (strata == k).sum()
        assert np.all(np.abs(counts - expected) <= 1.0)


# -- scalers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("offset, scale, channels", [(0.0, 1.0, 1), (1e4, 1.0, 1), (1e6, 3.0, 1), (-50.0, 1e-3, 1),
                                                     (3e4, 100.0, 3)])
def test_image_scaler_statistics_match_float64(offset, scale, channels):
    """Sky levels far above the noise (raw counts) are where float32 statistics go wrong."""
    from nnstudio.core.data.prepare import _fit_scaler
    from nnstudio.core.tasks import Task

    rng = np.random.default_rng(1)
    x = (offset + scale * rng.standard_normal((3000, 24, 24, channels))).astype(np.float32)
    fitted = _fit_scaler("standard", x, Task())
    ref = x.astype(np.float64).reshape(-1, channels)
    np.testing.assert_allclose(fitted["mean"], ref.mean(axis=0), rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(fitted["std"], ref.std(axis=0), rtol=1e-6)


def test_nonfinite_pixels_are_counted_per_image():
    from nnstudio.core.data.fitsio import nonfinite_per_image

    x = np.ones((300, 8, 8, 1), np.float32)
    x[3, 0, 0], x[3, 1, 1], x[150, 2, 2], x[299, 7, 7] = np.nan, np.inf, -np.inf, np.nan
    x[200] = 3e38                                  # finite pixels whose sum overflows: none counted
    expected = (~np.isfinite(x)).reshape(300, -1).sum(axis=1)
    assert nonfinite_per_image(x).tolist() == expected.tolist()
    assert expected[[3, 150, 299]].tolist() == [2, 1, 1] and expected[200] == 0


def test_standard_scaler_fitted_on_train_only():
    ds = table(300)
    raw_a = ds.columns["a"].copy()
    spec = PreparationSpec()
    p = prepare(ds, DataSelection(inputs=["a", "b"]), spec)
    train_a = raw_a[p.index["train"]]
    assert p.scaler["kind"] == "standard"
    assert p.scaler["mean"][0] == pytest.approx(train_a.mean(), rel=1e-6)
    assert p.scaler["std"][0] == pytest.approx(train_a.std(), rel=1e-5)
    assert p.scaler["mean"][0] != pytest.approx(raw_a.mean(), rel=1e-6)
    assert p.x["train"][:, 0].mean() == pytest.approx(0.0, abs=1e-5)
    assert p.x["train"][:, 0].std() == pytest.approx(1.0, abs=1e-5)
    assert p.fitted["input"] is p.scaler
    np.testing.assert_allclose(apply_scaler(p.fitted, np.c_[raw_a, ds.columns["b"]]
                                            [p.index["test"]]), p.x["test"], atol=1e-5)


def test_minmax_scaler():
    ds = Dataset("table", {"x": np.array([0.0, 10, 2, 4, 6, 8, 1, 3, 5, 7]),
                           "y": np.arange(10, dtype=float) * 1.5})
    p = prepare(ds, DataSelection(target="y"), PreparationSpec(scaler="minmax"))
    train = ds.columns["x"][p.index["train"]]
    assert p.scaler["min"] == [train.min()] and p.scaler["max"] == [train.max()]
    assert p.x["train"].min() == 0.0 and p.x["train"].max() == 1.0


def test_target_standardised_for_regression():
    ds = table(100)
    raw = ds.columns["target"].copy()
    p = prepare(ds, DataSelection(), PreparationSpec())
    t = raw[p.index["train"]]
    assert p.target_scaler == pytest.approx({"mean": t.mean(), "std": t.std()})
    assert p.y["train"].dtype == np.float32
    np.testing.assert_allclose(p.inverse_y(p.y["test"]), raw[p.index["test"]], rtol=1e-5)
    q = prepare(table(100), DataSelection(), PreparationSpec(scale_target=False))
    assert q.target_scaler is None
    np.testing.assert_allclose(q.y["val"], raw[q.index["val"]], rtol=1e-6)


def _images(n=60, seed=0):
    rng = np.random.default_rng(seed)
    images = (rng.exponential(5.0, size=(n, 6, 6, 1)) - 1.0).astype(np.float32)
    return Dataset("images", {"y": np.arange(n) % 2}, images, name="imgs")


def test_asinh_image_scaler_by_hand():
    ds = _images()
    raw = ds.images.copy()
    p = prepare(ds, DataSelection(target="y"), PreparationSpec())   # auto = asinh for images
    f = p.scaler
    assert f["kind"] == "asinh" and f["data_kind"] == "images"
    train_raw = raw[p.index["train"]].astype(np.float64)
    med = np.median(train_raw)
    assert f["softening"][0] == pytest.approx(1.4826 * np.median(np.abs(train_raw - med)))
    t = np.arcsinh(train_raw / f["softening"][0])
    assert f["mean"][0] == pytest.approx(t.mean(), rel=1e-5)
    assert f["std"][0] == pytest.approx(t.std(), rel=1e-5)
    np.testing.assert_allclose(p.x["train"], (t - t.mean()) / t.std(), atol=1e-4)
    np.testing.assert_allclose(apply_scaler(f, raw[p.index["val"]]), p.x["val"], atol=1e-5)
    # a single (H, W) image is accepted by apply_scaler too
    one = apply_scaler(f, raw[p.index["val"][0], :, :, 0])
    np.testing.assert_allclose(one[0], p.x["val"][0], atol=1e-5)
    assert ds.images is not None   # not in place: the preview keeps the original images
    np.testing.assert_array_equal(ds.images, raw)


def test_in_place_gives_the_same_result_as_a_copy():
    a, b = _images(seed=1), _images(seed=1)
    buffer = b.images
    pa = prepare(a, DataSelection(target="y"), PreparationSpec(scaler="standard"))
    pb = prepare(b, DataSelection(target="y"), PreparationSpec(scaler="standard"), in_place=True)
    for s in SPLITS:
        np.testing.assert_array_equal(pa.index[s], pb.index[s])
        np.testing.assert_allclose(pa.x[s], pb.x[s], atol=1e-6)
    assert b.images is None
    assert all(np.shares_memory(pb.x[s], buffer) for s in SPLITS)   # no second copy
    assert not any(np.shares_memory(pa.x[s], a.images) for s in SPLITS)


def test_apply_scaler_shape_check():
    p = prepare(_images(), DataSelection(target="y"), PreparationSpec())
    with pytest.raises(NnstudioError, match="prepared for 6×6×1"):
        apply_scaler(p.scaler, np.zeros((2, 5, 5, 1)))


def test_transform_dataset_rebuilds_table_inputs():
    ds = table(80)
    spec = PreparationSpec()
    p = prepare(ds, DataSelection(inputs=["b", "a"]), spec)
    new = table(80)
    x = transform_dataset(new, p.fitted)
    np.testing.assert_allclose(x[p.index["cal"]], p.x["cal"], atol=1e-5)
    del new.columns["b"]
    with pytest.raises(NnstudioError, match="lacks the input column"):
        transform_dataset(new, p.fitted)


# -- missing values ----------------------------------------------------------------------------------

def _table_with_holes():
    n = 100
    a = np.arange(n, dtype=float)
    a[[3, 50, 77]] = np.nan
    a[10] = np.inf
    return Dataset("table", {"a": a, "b": np.ones(n) * np.arange(n) % 7,
                             "y": (np.arange(n) % 2).astype(bool)})


def test_missing_drop():
    p = prepare(_table_with_holes(), DataSelection(target="y"), PreparationSpec(missing="drop"))
    used = np.concatenate([p.index[s] for s in SPLITS])
    assert len(used) == 96 and not set(used.tolist()) & {3, 10, 50, 77}
    assert any("Dropped 4 row(s)" in n and "a: 3 missing and 1 infinite" in n for n in p.notes)


def test_missing_median_uses_train_rows():
    ds = _table_with_holes()
    raw = ds.columns["a"].copy()
    p = prepare(ds, DataSelection(target="y"), PreparationSpec(missing="median", scaler="none"))
    train_vals = raw[p.index["train"]]
    med = np.median(train_vals[np.isfinite(train_vals)])
    assert p.scaler["impute"][0] == pytest.approx(med)
    for s in SPLITS:
        holes = np.isin(p.index[s], [3, 10, 50, 77])
        assert np.all(p.x[s][holes, 0] == np.float32(med))
        assert np.all(np.isfinite(p.x[s]))
    new = apply_scaler(p.scaler, np.array([[np.nan, 1.0]]))
    assert new[0, 0] == np.float32(med)


def test_missing_target_rows_are_dropped():
    y = np.arange(50, dtype=float)
    y[[1, 2]] = np.nan
    p = prepare(Dataset("table", {"x": np.arange(50.0) ** 0.5, "y": y * 0.37}),
                DataSelection(target="y"), PreparationSpec())
    assert sum(p.count(s) for s in SPLITS) == 48
    assert any("without a target value" in n for n in p.notes)


def test_images_with_nan_pixels_drop_and_impute():
    ds = _images()
    ds.images[4, 2, 2, 0] = np.nan
    ds.images[9] = np.nan
    p = prepare(ds, DataSelection(target="y"), PreparationSpec(missing="drop"))
    assert sum(p.count(s) for s in SPLITS) == 58
    assert any("Dropped 2 image(s)" in n and "1 entirely blank" in n for n in p.notes)
    q = prepare(ds, DataSelection(target="y"), PreparationSpec(missing="median"))
    assert sum(q.count(s) for s in SPLITS) == 60
    assert all(np.isfinite(q.x[s]).all() for s in SPLITS)


def test_cancel_during_prepare():
    from nnstudio.core.tasks import Task
    from nnstudio.errors import Cancelled

    task = Task()
    task.stop.set()
    with pytest.raises(Cancelled):
        prepare(_images(), DataSelection(target="y"), PreparationSpec(), task=task)
