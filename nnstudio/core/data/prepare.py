"""Dataset + selection + PreparationSpec -> PreparedData: inputs, target, splits and scalers.

Scalers are fitted on the train split only and stored JSON-able (``spec.fitted`` and
``PreparedData.scaler``) so new data can be scaled the same way with :func:`apply_scaler`.
Images are scaled in float32 a chunk at a time; with ``in_place=True`` the dataset's own image
buffer is regrouped by split and scaled where it lies, so preparing a cube needs no second copy.
"""
from __future__ import annotations

import re

import numpy as np

from nnstudio.core.data.dataset import Dataset, is_numeric
from nnstudio.core.data.fitsio import nonfinite_per_image
from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.data.spec import SPLITS, DataSelection, PreparationSpec
from nnstudio.core.data.splits import (
    DROPPED,
    assign_splits,
    class_reach_notes,
    group_by_split,
)
from nnstudio.core.data.tables import numeric_text_problem
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

MAX_CLASS_VALUES = 20
TARGET_NAMES = ("label", "labels", "target", "class", "y", "classification", "type")
ID_NAMES = {"id", "ids", "index", "idx", "row", "rownum", "objid", "obj_id", "object_id",
            "objectid", "source_id", "sourceid", "specobjid", "name", "file", "filename", "path"}
CHUNK_BYTES = 8 * 1024 * 1024
_SAMPLE_PIXELS = 1_000_000


# -- problem and target --------------------------------------------------------------------------

def infer_problem(values) -> str:
    """classification for text or bool targets, or integers with at most 20 distinct values."""
    v = np.asarray(values)
    if v.dtype.kind in "USOb":
        return "classification"
    if v.dtype.kind in "iu":
        return "classification" if np.unique(v).size <= MAX_CLASS_VALUES else "regression"
    if v.dtype.kind == "f":
        finite = v[np.isfinite(v)]
        # integers stored as floats (a masked integer column becomes float with NaN)
        if finite.size and np.all(finite == np.round(finite)) \
                and np.unique(finite).size <= MAX_CLASS_VALUES:
            return "classification"
        return "regression"
    raise NnstudioError(f"Cannot use values of type {v.dtype} as a target.")


def is_id_name(name: str) -> bool:
    low = name.strip().lower()
    return low in ID_NAMES or low.endswith(("_id", "objid"))


def default_target(columns: dict[str, np.ndarray], exclude=()) -> str:
    names = [c for c in columns if c not in exclude]
    lower = {c.lower(): c for c in names}
    for t in TARGET_NAMES:
        if t in lower:
            return lower[t]
    for c in names:
        if re.match(r"(is|has)_", c.lower()):
            return c
    usable = [c for c in names if not is_id_name(c)] or names
    if not usable:
        raise NnstudioError("There is no column to use as the target.")
    return usable[-1]


def _class_label(v) -> str:
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else format(float(v), "g")
    return str(v)


def encode_target(values: np.ndarray, name: str, problem: str,
                  known: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(y, usable-row mask, class names): class indices (int64) or float64 values."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise NnstudioError(f"The target {name!r} holds a vector per row; choose a column with "
                            f"one value per row.")
    if problem == "classification":
        if v.dtype.kind == "O":
            raise NnstudioError(f"The target {name!r} holds arrays, not class labels.")
        if v.dtype.kind in "US":
            v = np.char.strip(v.astype(str))
            ok = v != ""
        elif v.dtype.kind == "f":
            ok = np.isfinite(v)
        else:
            ok = np.ones(len(v), dtype=bool)
        uniq = np.unique(v[ok])
        labels = [_class_label(u) for u in uniq]
        if known and set(labels) <= set(known):
            labels_order = list(known)
        else:
            labels_order = labels
        lookup = {lab: k for k, lab in enumerate(labels_order)}
        code_of_uniq = np.array([lookup[lab] for lab in labels], dtype=np.int64)
        y = np.zeros(len(v), dtype=np.int64)
        if ok.any():
            y[ok] = code_of_uniq[np.searchsorted(uniq, v[ok])]
        return y, ok, labels_order
    if v.dtype.kind in "US":
        from nnstudio.core.data.tables import coerce_numeric_text

        converted, _ = coerce_numeric_text(v.astype(str))
        if converted is None:
            sample = next((s for s in v.astype(str) if s.strip()), "")
            raise NnstudioError(f"The target {name!r} holds text (e.g. {sample!r}), so it cannot "
                                f"be a regression target; choose classification.")
        v = converted
    if v.dtype.kind not in "biuf":
        raise NnstudioError(f"The target {name!r} is not numeric, so it cannot be a regression "
                            f"target.")
    y = v.astype(np.float64)
    return y, np.isfinite(y), None


# -- inputs -----------------------------------------------------------------------------------

def default_inputs(ds: Dataset, target: str, id_column: str | None) -> tuple[list[str], list[str]]:
    """All numeric columns but the target and ids; all-missing columns are left out with a note."""
    inputs, notes = [], []
    for name, col in ds.columns.items():
        if name in (target, id_column) or is_id_name(name):
            continue
        if col.dtype.kind == "U":
            problem = numeric_text_problem(col)
            if problem:
                row, text = problem
                raise NnstudioError(
                    f"Column {name!r} has text in a numeric column: row {row + 1} holds "
                    f"{text!r}. Fix the file, or leave the column out of the inputs.")
            continue
        if not is_numeric(col):
            continue
        if col.dtype.kind == "f" and not np.isfinite(col).any():
            notes.append(f"Column {name!r} has no values (all missing) and was left out of the "
                         f"inputs.")
            continue
        inputs.append(name)
    if not inputs:
        raise NnstudioError("There are no numeric columns to use as inputs (besides the target "
                            f"{target!r} and id columns).")
    return inputs, notes


def _check_input(ds: Dataset, name: str) -> None:
    if name not in ds.columns:
        raise NnstudioError(f"There is no column {name!r}. Columns: {', '.join(ds.columns)}.")
    col = ds.columns[name]
    if col.dtype.kind == "U":
        problem = numeric_text_problem(col)
        if problem:
            row, text = problem
            raise NnstudioError(f"Column {name!r} has text in a numeric column: row {row + 1} "
                                f"holds {text!r}.")
        raise NnstudioError(f"Column {name!r} holds text, so it cannot be an input; choose "
                            f"numeric columns.")
    if col.dtype.kind == "O":
        raise NnstudioError(f"Column {name!r} holds arrays of different lengths, so it cannot "
                            f"be an input.")
    if not is_numeric(col):
        raise NnstudioError(f"Column {name!r} ({col.dtype}) cannot be an input.")
    if col.dtype.kind == "f" and not np.isfinite(col).any():
        raise NnstudioError(f"Column {name!r} has no values (all missing): it cannot be an "
                            f"input.")


def feature_matrix(columns: dict[str, np.ndarray], inputs: list[str]) -> tuple[np.ndarray, list[str]]:
    """float32 (N, F) from the input columns; vector columns give one feature per element."""
    n = len(columns[inputs[0]])
    names: list[str] = []
    for name in inputs:
        col = columns[name]
        if col.ndim == 1:
            names.append(name)
        else:
            names += [f"{name}[{','.join(map(str, ix))}]" for ix in np.ndindex(*col.shape[1:])]
    x = np.empty((n, len(names)), dtype=np.float32)
    k = 0
    for name in inputs:
        col = columns[name].reshape(n, -1)
        with np.errstate(over="ignore"):
            x[:, k:k + col.shape[1]] = col
        k += col.shape[1]
    return x, names


# -- the main entry -----------------------------------------------------------------------------

def prepare(dataset: Dataset, selection: DataSelection, spec: PreparationSpec,
            task: Task | None = None, *, in_place: bool = False) -> PreparedData:
    """Split, clean and scale ``dataset`` as ``selection`` and ``spec`` say.

    Returns what it chose beside the arrays: the target, the input columns, the problem, the class
    names and the scalers fitted on the train split (``PreparedData.fitted``); ``selection`` and
    ``spec`` are left as they were. ``in_place=True`` lets image
    preparation reuse ``dataset.images`` (which is then set to None): use it for data too big to
    hold twice.
    """
    task = task or Task()
    notes: list[str] = []
    image_column = None
    if dataset.kind == "images":
        if dataset.images is None:
            raise NnstudioError("These images were already prepared in place; read the file again.")
        label_cols = dataset.columns
        for k, v in label_cols.items():
            if len(v) != dataset.n_rows:
                raise NnstudioError(f"The label column {k!r} has {len(v)} rows but there are "
                                    f"{dataset.n_rows} images: they must match one to one.")
        candidates = {k: v for k, v in label_cols.items() if k != "file"}
        if not candidates:
            raise NnstudioError(
                f"The images in {dataset.name} have no labels: choose a label table (by row "
                f"order or an id column), a table HDU, or a folder with one sub-folder per class.")
        target = selection.target or default_target(candidates, (selection.id_column,))
        if target not in label_cols:
            raise NnstudioError(f"There is no label column {target!r}. Label columns: "
                                f"{', '.join(candidates)}.")
    else:
        if not dataset.columns or dataset.n_rows == 0:
            raise NnstudioError(f"{dataset.name or 'The table'} has no rows.")
        target = selection.target or default_target(dataset.columns, (selection.id_column,))
        if target not in dataset.columns:
            raise NnstudioError(f"There is no column {target!r} to use as the target. Columns: "
                                f"{', '.join(dataset.columns)}.")
        if selection.inputs:
            inputs = list(selection.inputs)
            if target in inputs:
                raise NnstudioError(f"The target {target!r} is also chosen as an input.")
            for name in inputs:
                _check_input(dataset, name)
        else:
            inputs, more = default_inputs(dataset, target, selection.id_column)
            notes += more
        if len(inputs) == 1 and dataset.columns[inputs[0]].ndim in (3, 4):
            image_column = inputs[0]  # a column of cutouts (TDIM) is an image input

    values = dataset.columns[target]
    if values.dtype.kind == "f" and not np.isfinite(values).any():
        raise NnstudioError(f"The target {target!r} has no values (all missing).")
    problem = selection.problem or infer_problem(values)
    y_all, ok, class_names = encode_target(values, target, problem, selection.class_names)
    n_missing_target = int(np.count_nonzero(~ok))
    if n_missing_target:
        if spec.missing == "refuse":
            raise NnstudioError(f"{n_missing_target} row(s) have no target value. Choose "
                                f"'drop rows' to leave them out.")
        notes.append(f"Dropped {n_missing_target} row(s) without a target value.")
    _check_target_spread(y_all[ok], target, problem, class_names)

    if dataset.kind == "images" or image_column is not None:
        if image_column is not None:
            col = dataset.columns[image_column]
            images = np.ascontiguousarray(col.reshape(col.shape + (1,) * (4 - col.ndim)),
                                          dtype=np.float32)
            own = True
        else:
            images, own = dataset.images, in_place
        prepared = _prepare_images(images, own, y_all, ok, problem, class_names, spec, task,
                                   notes)
        if own and image_column is None:
            dataset.images = None
            dataset.notes.append("The images were moved into the prepared data (in place).")
        feature_names: list[str] = []
        prepared.inputs = [image_column] if image_column else []
    else:
        x, feature_names = feature_matrix(dataset.columns, inputs)
        prepared = _prepare_table(x, feature_names, y_all, ok, problem, class_names, spec,
                                  task, notes)
        prepared.scaler["columns"] = list(inputs)
        prepared.inputs = list(inputs)
    prepared.feature_names = feature_names
    prepared.target_name = target
    if problem == "classification":
        prepared.notes += class_reach_notes(prepared.y, class_names, spec.stratify)
    return prepared


def _check_target_spread(y, target, problem, class_names):
    if problem == "classification":
        present = np.unique(y)
        if present.size < 2:
            only = class_names[int(present[0])] if present.size else "nothing"
            raise NnstudioError(f"The target {target!r} has only one class ({only!r}): a "
                                f"classifier needs at least two.")
        if len(class_names) > 100:
            raise NnstudioError(f"The target {target!r} has {len(class_names)} distinct values: "
                                f"too many classes; did you mean regression?")
    elif y.size and np.all(y == y[0]):
        raise NnstudioError(f"The target {target!r} has the same value ({y[0]:g}) in every row: "
                            f"there is nothing to learn.")


def _describe_bad(n_rows_bad, per_col: dict[str, tuple[int, int]]) -> str:
    parts = []
    for name, (n_nan, n_inf) in per_col.items():
        bits = ([f"{n_nan} missing"] if n_nan else []) + ([f"{n_inf} infinite"] if n_inf else [])
        if bits:
            parts.append(f"{name}: {' and '.join(bits)}")
    return f"{n_rows_bad} row(s) have missing or infinite input values ({'; '.join(parts)})"


def _codes_for(ok, y_all, problem, spec) -> np.ndarray:
    rows = np.flatnonzero(ok)
    strata = y_all[rows] if problem == "classification" and spec.stratify else None
    codes = np.full(len(ok), DROPPED, dtype=np.int8)
    codes[rows] = assign_splits(len(rows), spec.fractions, spec.seed, strata)
    return codes


def _targets(y_all, perm, slices, problem, spec):
    y = {s: y_all[perm[slices[s]]] for s in SPLITS}
    target_scaler = None
    if problem == "regression":
        if spec.scale_target:
            mean = float(y["train"].mean())
            std = float(y["train"].std()) or 1.0
            target_scaler = {"mean": mean, "std": std}
            y = {s: ((v - mean) / std).astype(np.float32) for s, v in y.items()}
        else:
            y = {s: v.astype(np.float32) for s, v in y.items()}
    return y, target_scaler


def _prepare_table(x, feature_names, y_all, ok, problem, class_names, spec, task, notes):
    finite = np.isfinite(x)
    bad_rows = ~finite.all(axis=1) & ok
    n_bad = int(np.count_nonzero(bad_rows))
    impute = None
    if n_bad:
        per_col = {name: (int(np.count_nonzero(np.isnan(x[ok, k]))),
                          int(np.count_nonzero(np.isinf(x[ok, k]))))
                   for k, name in enumerate(feature_names)}
        what = _describe_bad(n_bad, per_col)
        if spec.missing == "refuse":
            raise NnstudioError(f"{what}. Choose 'drop rows' or 'impute median'.")
        if spec.missing == "drop":
            ok = ok & ~bad_rows
            notes.append(f"Dropped {what}.")
    codes = _codes_for(ok, y_all, problem, spec)
    perm, slices = group_by_split(codes, [x], task)
    xs = {s: x[slices[s]] for s in SPLITS}
    if n_bad and spec.missing == "median":
        xs["train"][~np.isfinite(xs["train"])] = np.nan
        impute = np.nanmedian(xs["train"], axis=0)
        impute = np.where(np.isfinite(impute), impute, 0.0).astype(np.float32)
        for v in xs.values():
            _fill_nonfinite(v, impute)
        notes.append(f"Imputed the training medians for {what}.")
    kind = "standard" if spec.scaler in ("auto", "asinh") else spec.scaler
    if spec.scaler == "asinh":
        notes.append("The asinh scaler is for images; tables were standardised.")
    fitted = _fit_scaler(kind, xs["train"], task)
    fitted.update(data_kind="table", features=list(feature_names),
                  impute=None if impute is None else impute.tolist())
    for v in xs.values():
        _apply_in_place(fitted, v, task)
    y, target_scaler = _targets(y_all, perm, slices, problem, spec)
    index = {s: perm[slices[s]].copy() for s in SPLITS}
    return PreparedData("table", problem, xs, y, index, class_names=class_names,
                        scaler=fitted, target_scaler=target_scaler, notes=notes)


def _prepare_images(images, in_place, y_all, ok, problem, class_names, spec, task, notes):
    steps = ["checking pixels", "splitting", "fitting the scaler", "scaling", "done"]

    def step(k):
        task.report_progress(k, len(steps) - 1, f"Preparing images: {steps[k]}")

    step(0)
    task.check()
    bad_pixels = nonfinite_per_image(images)
    bad_rows = (bad_pixels > 0) & ok
    n_bad = int(np.count_nonzero(bad_rows))
    if n_bad and spec.missing == "refuse":
        raise NnstudioError(f"{n_bad} image(s) have missing or infinite pixels "
                            f"({int(bad_pixels[ok].sum())} pixels in all). Choose 'drop rows' or "
                            f"'impute median'.")
    if n_bad and spec.missing == "drop":
        all_bad = int(np.count_nonzero(bad_pixels[ok] == np.prod(images.shape[1:])))
        ok = ok & ~bad_rows
        notes.append(f"Dropped {n_bad} image(s) with missing or infinite pixels"
                     + (f" ({all_bad} entirely blank)." if all_bad else "."))
        if not ok.any():
            raise NnstudioError("Every image has missing or infinite pixels: nothing is left to "
                                "train on. Choose 'impute median' instead of 'drop rows'.")
    codes = _codes_for(ok, y_all, problem, spec)
    step(1)
    if in_place:
        perm, slices = group_by_split(codes, [images], task)
        xs = {s: images[slices[s]] for s in SPLITS}
    else:
        perm, slices = group_by_split(codes, [], task)
        xs = {s: images[perm[slices[s]]] for s in SPLITS}  # fancy indexing copies
    impute = None
    if n_bad and spec.missing == "median":
        impute = _sample_median(xs["train"], spec.seed)
        for v in xs.values():
            _fill_nonfinite(v, impute, task)
        notes.append(f"Imputed the training median for the missing or infinite pixels of "
                     f"{n_bad} image(s).")
    step(2)
    kind = {"auto": "asinh"}.get(spec.scaler, spec.scaler)
    fitted = {"data_kind": "images", "features": [], "image_shape": list(images.shape[1:])}
    if kind == "asinh":
        soft = _asinh_softening(xs["train"], spec.seed)
        fitted["softening"] = soft.tolist()
        for v in xs.values():
            _asinh_in_place(v, soft, task)
        fitted.update(_fit_scaler("standard", xs["train"], task), kind="asinh")
    else:
        fitted.update(_fit_scaler(kind, xs["train"], task))
    fitted["impute"] = None if impute is None else impute.tolist()
    step(3)
    for v in xs.values():
        _apply_in_place(fitted, v, task, skip_asinh=True)
    step(4)
    y, target_scaler = _targets(y_all, perm, slices, problem, spec)
    index = {s: perm[slices[s]].copy() for s in SPLITS}
    return PreparedData("images", problem, xs, y, index, class_names=class_names,
                        scaler=fitted, target_scaler=target_scaler, notes=notes)


# -- chunked numerics -----------------------------------------------------------------------------

def _chunks(a: np.ndarray):
    if len(a) == 0:
        return
    row = max(1, a[0].nbytes)
    step = max(1, CHUNK_BYTES // row)
    for i in range(0, len(a), step):
        yield a[i:i + step]


def _fill_nonfinite(a, values, task=None):
    values = np.asarray(values, dtype=np.float32)
    for chunk in _chunks(a):
        if task is not None:
            task.check()
        bad = ~np.isfinite(chunk)
        if bad.any():
            np.copyto(chunk, np.broadcast_to(values, chunk.shape), where=bad)


def _channel_sample(a, seed) -> np.ndarray:
    """Up to ~1M finite values per channel of the train images, drawn reproducibly."""
    c = a.shape[-1]
    n = len(a)
    per_image = int(np.prod(a.shape[1:-1]))
    k = max(1, min(n, _SAMPLE_PIXELS // max(1, per_image)))
    rows = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
    sample = a[rows].reshape(-1, c)
    return sample


def _sample_median(a, seed) -> np.ndarray:
    sample = _channel_sample(a, seed)
    med = np.array([np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else 0.0
                    for col in sample.T], dtype=np.float32)
    return med


def _asinh_softening(a, seed) -> np.ndarray:
    """Per channel: the robust noise level (1.4826 × MAD) of the train pixels.

    asinh(x / softening) is linear within the noise and logarithmic for bright sources.
    """
    sample = _channel_sample(a, seed).astype(np.float64)
    out = []
    for col in sample.T:
        col = col[np.isfinite(col)]
        s = 1.4826 * np.median(np.abs(col - np.median(col))) if col.size else 0.0
        if not s > 0:
            s = float(col.std()) if col.size else 0.0
        out.append(s if s > 0 else 1.0)
    return np.array(out, dtype=np.float64)


def _asinh_in_place(a, soft, task):
    inv = (1.0 / soft).astype(np.float32)
    for chunk in _chunks(a):
        task.check()
        chunk *= inv
        np.arcsinh(chunk, out=chunk)


def _fit_scaler(kind: str, train: np.ndarray, task) -> dict:
    """Per feature (tables) or per channel (images) statistics of the train split."""
    c = train.shape[-1]
    if kind == "none":
        return {"kind": "none"}
    if kind == "minmax":
        lo = np.full(c, np.inf)
        hi = np.full(c, -np.inf)
        for chunk in _chunks(train):
            task.check()
            flat = chunk.reshape(-1, c)
            lo = np.minimum(lo, np.nanmin(flat, axis=0))
            hi = np.maximum(hi, np.nanmax(flat, axis=0))
        span = hi - lo
        span[~(span > 0)] = 1.0
        lo[~np.isfinite(lo)] = 0.0
        return {"kind": "minmax", "min": lo.tolist(), "max": (lo + span).tolist()}
    if kind != "standard":
        raise NnstudioError(f"Unknown scaler {kind!r}.")
    # Chan et al.'s pairwise merge of per-chunk mean and M2: one pass, float64, no cancellation
    count = np.zeros(c)
    mean = np.zeros(c)
    m2 = np.zeros(c)
    for chunk in _chunks(train):
        task.check()
        flat = chunk.reshape(-1, c)
        n_b = len(flat)
        if c == 1:
            mean_b, m2_b = _mean_m2_single(flat.reshape(-1))
        else:
            mean_b = flat.mean(axis=0, dtype=np.float64)
            dev = flat - mean_b.astype(np.float32)
            m2_b = np.einsum("ij,ij->j", dev, dev, dtype=np.float64)
        delta = mean_b - mean
        total = count + n_b
        mean = mean + delta * n_b / total
        m2 = m2 + m2_b + delta ** 2 * count * n_b / total
        count = total
    std = np.sqrt(m2 / np.maximum(count, 1))
    std[~(std > 0)] = 1.0
    return {"kind": "standard", "mean": mean.tolist(), "std": std.tolist()}


def _mean_m2_single(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sum of squared deviations of one chunk of one channel, by the corrected two-pass
    algorithm (Chan, Golub & LeVeque 1983) on NumPy's pairwise float32 sums: as accurate as float64
    accumulation here, and about twice as fast (no float64 copy of the chunk)."""
    n = v.size
    guess = np.float32(v.sum() / n)
    dev = v - guess
    correction = float(dev.sum()) / n
    np.square(dev, out=dev)
    m2 = float(dev.sum()) - n * correction * correction
    return np.array([float(guess) + correction]), np.array([max(m2, 0.0)])


def _apply_in_place(fitted: dict, a: np.ndarray, task=None, skip_asinh: bool = False) -> None:
    kind = fitted["kind"]
    if kind == "none":
        return
    if kind in ("standard", "asinh"):
        shift = np.asarray(fitted["mean"], dtype=np.float32)
        scale = (1.0 / np.asarray(fitted["std"], dtype=np.float64)).astype(np.float32)
    elif kind == "minmax":
        lo = np.asarray(fitted["min"], dtype=np.float64)
        shift = lo.astype(np.float32)
        scale = (1.0 / (np.asarray(fitted["max"], dtype=np.float64) - lo)).astype(np.float32)
    else:
        raise NnstudioError(f"Unknown scaler {kind!r} in the stored preparation.")
    soft = None
    if kind == "asinh" and not skip_asinh:
        soft = (1.0 / np.asarray(fitted["softening"], dtype=np.float64)).astype(np.float32)
    for chunk in _chunks(a):
        if task is not None:
            task.check()
        if soft is not None:
            chunk *= soft
            np.arcsinh(chunk, out=chunk)
        chunk -= shift
        chunk *= scale


# -- using a fitted preparation on new data ----------------------------------------------------------

def _input_part(fitted: dict) -> dict:
    if "input" in fitted and "kind" not in fitted:
        return fitted["input"]
    return fitted


def apply_scaler(fitted: dict, x, *, in_place: bool = False) -> np.ndarray:
    """Scale new inputs as the train split was: impute, then the fitted scaler.

    ``fitted`` is ``PreparedData.scaler`` or ``PreparationSpec.fitted``. ``x`` is (N, F) for
    tables, or images (N, H, W, C); (N, H, W) and a single (H, W) image are accepted too.
    Returns float32 (``x`` itself when ``in_place`` and it was float32 already).
    """
    f = _input_part(fitted)
    a = np.asarray(x)
    if f.get("data_kind") == "images":
        h, w, c = f["image_shape"]
        if a.ndim == 2:
            a = a[None, :, :, None]
        elif a.ndim == 3:
            a = a[None] if a.shape == (h, w, c) and c > 1 else a[..., None]
        if tuple(a.shape[1:]) != (h, w, c):
            raise NnstudioError(f"The images are {a.shape[1:]} but the model was prepared for "
                                f"{h}×{w}×{c}.")
    else:
        if a.ndim == 1:
            a = a[None]
        n_feat = len(f.get("features", [])) or a.shape[-1]
        if a.shape[-1] != n_feat:
            raise NnstudioError(f"The data have {a.shape[-1]} input columns but the model was "
                                f"prepared with {n_feat}.")
    if in_place and a.dtype == np.float32 and a.flags.writeable:
        out = a
    else:
        out = np.array(a, dtype=np.float32)
    if f.get("impute") is not None:
        _fill_nonfinite(out, f["impute"])
    _apply_in_place(f, out)
    return out


def transform_dataset(dataset: Dataset, fitted: dict) -> np.ndarray:
    """Model inputs for a new data set, built and scaled as at preparation time."""
    f = _input_part(fitted)
    if f.get("data_kind") == "images":
        if dataset.images is None:
            raise NnstudioError(f"{dataset.name} holds no images but the model takes images.")
        return apply_scaler(f, dataset.images)
    columns = f.get("columns") or []
    missing = [c for c in columns if c not in dataset.columns]
    if missing:
        raise NnstudioError(f"{dataset.name} lacks the input column(s) "
                            f"{', '.join(repr(m) for m in missing)}.")
    for name in columns:
        _check_input(dataset, name)
    x, _ = feature_matrix(dataset.columns, columns)
    return apply_scaler(f, x, in_place=True)


def class_balance(prepared: PreparedData) -> dict[str, dict[str, int]]:
    """Rows per class in each split (regression: {"rows": n})."""
    out = {}
    for s in SPLITS:
        y = prepared.y[s]
        if prepared.problem == "classification" and prepared.class_names:
            counts = np.bincount(y.astype(np.int64), minlength=len(prepared.class_names))
            out[s] = {name: int(c) for name, c in zip(prepared.class_names, counts)}
        else:
            out[s] = {"rows": len(y)}
    return out
