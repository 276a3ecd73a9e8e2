"""Explain a trained run: why did the network say what it said, and how far can the answer be trusted?

Images: attribution maps of the chosen samples (integrated gradients, Grad-CAM or occlusion) for
the class the network predicted under the project's decision rule (regression: the prediction,
maps in the target's units), with the randomised-weights check and the deletion curve on up to
``CHECK_SAMPLES`` of them. Tables: permutation importance of every input on the split with 95%
bootstrap intervals, and partial dependence with ICE curves in the inputs' own units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import ChildTask, Task
from nnstudio.core.workflow.data import load_dataset, prepare_project
from nnstudio.core.workflow.train import load_run_model
from nnstudio.errors import NnstudioError

CHECK_SAMPLES = 50              # the sanity check and deletion curve look at this many samples
BROWSER_SAMPLES = 8             # samples a sample browser explains at once (each method is a fresh job)
SPLITS = ("train", "val", "cal", "test")


@dataclass
class Explanation:
    """What :func:`explain` found; ``to_dict`` is the CLI's JSON (without the maps themselves)."""

    kind: str                                   # "images" or "table"
    problem: str
    split: str | None                           # None when rows were chosen
    rows: np.ndarray                            # rows of the data file
    splits: list[str]                           # the split each row is in
    method: str | None = None
    maps: object | None = None                  # AttributionMaps
    images: np.ndarray | None = None            # the explained samples, as the network saw them
    explained: list[str] = field(default_factory=list)   # what each map explains, in words
    scores: np.ndarray | None = None
    sanity: object | None = None                # SanityCheck
    cascade: list | None = None                 # [(layer, SanityCheck)], top layer first, when asked for
    deletion: object | None = None              # DeletionCurve
    importance: list | None = None              # [Importance]
    partial: list | None = None                 # [PartialDependence]
    headers: list | None = None                 # per row: the cutout's celestial WCS header, or None
    units: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "problem": self.problem, "split": self.split, "rows": self.rows.tolist(),
             "splits": self.splits, "notes": self.notes}
        if self.kind == "images":
            d.update(method=self.method, explained=self.explained, units=self.units,
                     scores=[float(s) for s in self.scores],
                     sanity=self.sanity.to_dict() if self.sanity is not None else None,
                     cascade=None if self.cascade is None else
                     [{"layer": name, **check.to_dict()} for name, check in self.cascade],
                     deletion=self.deletion.to_dict() if self.deletion is not None else None)
        else:
            d.update(importance=[r.to_dict() for r in self.importance],
                     partial_dependence=[p.to_dict() for p in self.partial or []], units=self.units)
        return d


def _select(prepared, rows, split: str | None):
    """(x, y, rows, split of each row) for data-file ``rows`` or the whole ``split``."""
    if rows is None:
        split = split or "test"
        if split not in SPLITS:
            raise NnstudioError(f"Unknown split {split!r}: choose train, val, cal or test.")
        if prepared.count(split) == 0:
            raise NnstudioError(f"The {split} split is empty: give it a fraction in the Data panel, or pick --rows.")
        idx = np.asarray(prepared.index[split])
        return prepared.x[split], prepared.y[split], idx, [split] * len(idx)
    where = {int(r): (s, k) for s in SPLITS if s in prepared.index for k, r in enumerate(prepared.index[s])}
    rows = [int(r) for r in rows]
    missing = [r for r in rows if r not in where]
    if missing:
        raise NnstudioError(f"Row(s) {', '.join(map(str, missing[:10]))} are not in the prepared data (rows are "
                            "0-based rows of the data file; rows dropped by preparation, e.g. with missing "
                            "values, cannot be explained).")
    x = np.stack([prepared.x[where[r][0]][where[r][1]] for r in rows])
    y = np.asarray([prepared.y[where[r][0]][where[r][1]] for r in rows])
    return x, y, np.asarray(rows), [where[r][0] for r in rows]


def explain(project: Project, rows=None, split: str | None = None, method: str = "ig", *, steps: int = 32,
            prepared=None, dataset=None, model=None, seed: int = 0, n_boot: int = 200, cascade: bool = False,
            task: Task | None = None) -> Explanation:
    """Explain the active run on data-file ``rows`` or on ``split`` (default: test). ``cascade``
    (images): also the randomisation check with the layers re-initialised one by one from the top."""
    task = task or Task()
    if prepared is None:
        dataset = dataset if dataset is not None else load_dataset(project, task=ChildTask(task, 0, 10, 100))
        prepared = prepare_project(project, dataset=dataset, task=ChildTask(task, 10, 10, 100))
    if model is None:
        model = load_run_model(project)
    x, y, data_rows, splits = _select(prepared, rows, split if rows is None else None)
    split = (split or "test") if rows is None else None
    if prepared.kind == "images":
        return _explain_images(project, prepared, dataset, model, x, data_rows, splits, split, method, steps,
                               seed, task, cascade)
    return _explain_table(project, prepared, model, x, y, data_rows, splits, split, seed, n_boot, task)


def explain_samples(project: Project, rows, method: str = "ig", *, prepared, dataset=None, steps: int = 32,
                    seed: int = 0, task: Task | None = None) -> Explanation:
    """The maps of a few chosen samples of the active run (the sample browsers' Explain): image
    data only, at most ``BROWSER_SAMPLES`` data-file ``rows``, with their sanity check and deletion curve."""
    if prepared is None or prepared.kind != "images":
        raise NnstudioError("Attribution maps are for image data; for a table, see the importance of its inputs.")
    rows = [int(r) for r in np.asarray(rows).reshape(-1)]
    if not rows:
        raise NnstudioError("Select one or more samples to explain.")
    if len(rows) > BROWSER_SAMPLES:
        raise NnstudioError(f"Explain at most {BROWSER_SAMPLES} samples at once ({len(rows)} selected).")
    return explain(project, rows=rows, method=method, steps=steps, prepared=prepared, dataset=dataset, seed=seed,
                   task=task)


def explain_inputs(project: Project, images, rows, method: str = "ig", *, prepared=None, model=None, steps: int = 32,
                   seed: int = 0, where: str = "new data", headers=None, cascade: bool = False,
                   task: Task | None = None) -> Explanation:
    """The maps of cutouts from outside the project's data (the Predict step's catalog rows,
    ``explain --input``): ``images`` as read from the input, (n, H, W, C), before scaling; the
    project's fitted scaling is applied here, as prediction does. ``rows`` label them (input rows)."""
    from nnstudio.core.data.prepare import apply_scaler

    task = task or Task()
    if prepared is None:
        prepared = prepare_project(project, task=ChildTask(task, 0, 10, 100))
    if prepared.kind != "images":
        raise NnstudioError("Attribution maps are for image data; for a table, see the importance of its inputs.")
    x = np.asarray(images, dtype=np.float32)
    rows = np.asarray([int(r) for r in np.asarray(rows).reshape(-1)])
    if len(x) == 0 or len(x) != len(rows):
        raise NnstudioError("Select one or more rows with a cutout to explain.")
    xs = apply_scaler(prepared.scaler, x.copy(), in_place=True)      # imputes, where the project's rule does
    bad = ~np.isfinite(xs.reshape(len(xs), -1)).all(axis=1)
    if bad.any():
        raise NnstudioError(f"Row(s) {', '.join(str(int(r)) for r in rows[bad][:10])} have missing pixels: "
                            "a map needs every pixel (the catalog flags them).")
    if model is None:
        model = load_run_model(project)
    result = _explain_images(project, prepared, None, model, xs, rows, [where] * len(rows), None, method, steps,
                             seed, task, cascade)
    if headers is not None:
        result.headers = list(headers)
    return result


def _explain_images(project, prepared, dataset, model, x, rows, splits, split, method, steps, seed, task,
                    cascade=False):
    from nnstudio.core.evaluation.classification import predicted_labels
    from nnstudio.core.evaluation.explain_checks import (
        cascading_check,
        deletion_curve,
        sanity_check,
    )
    from nnstudio.core.evaluation.explain_images import (
        METHOD_LABELS,
        METHODS,
        AttributionMaps,
        attribution_maps,
        model_scores,
    )

    if method not in METHODS:
        raise NnstudioError(f"Unknown attribution method {method!r}. Choose one of: {', '.join(METHODS)}.")
    if len(x) == 0:
        raise NnstudioError("No samples to explain.")
    out = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float64).reshape(len(x), -1)
    if prepared.problem == "classification":
        rule = project.decision
        proba = out[:, 0] if out.shape[1] == 1 else out
        target = predicted_labels(proba, rule.threshold, rule.positive if rule.positive is not None else 1)
        names = prepared.class_names or [str(k) for k in range(max(2, out.shape[1]))]
        explained = [f"P({names[t]})" for t in target]
        units = "probability"
    else:
        target, explained = None, [f"predicted {prepared.target_name}"] * len(x)
        units = f"{prepared.target_name} (the target's units)"
    task.report_progress(20, 100, f"{METHOD_LABELS[method]} of {len(x)} sample(s)")
    maps = attribution_maps(model, x, method, target, steps=steps, task=ChildTask(task, 20, 40, 100))
    scale = prepared.target_scaler["std"] if prepared.problem == "regression" and prepared.target_scaler else 1.0
    if scale != 1.0 and method != "gradcam":
        maps.maps *= np.float32(scale)          # attributions are linear in the output: in the target's units
    scores = model_scores(model, x, target)
    k = min(len(x), CHECK_SAMPLES)
    task.check()
    task.report_progress(60, 100, "sanity check: the same maps from a model with randomised weights")
    sub_t = None if target is None else target[:k]
    sub_maps = AttributionMaps(method, maps.maps[:k])
    sanity = sanity_check(model, x[:k], method, sub_t, maps=sub_maps, seed=seed)
    task.check()
    layers = None
    if cascade:
        task.report_progress(70, 100, "cascade: the layers re-initialised one by one from the top")
        layers = cascading_check(model, x[:k], method, sub_t, maps=sub_maps, seed=seed)
        task.check()
    task.report_progress(85, 100, "deletion curve")
    deletion = deletion_curve(model, x[:k], sub_maps, sub_t, seed=seed)
    if prepared.problem == "regression":    # the scores and the deletion curve in the target's units, as the maps
        scores = prepared.inverse_y(scores)
        deletion.attributed, deletion.random = prepared.inverse_y(deletion.attributed), prepared.inverse_y(deletion.random)
    notes = []
    if k < len(x):
        notes.append(f"The sanity check and the deletion curve use the first {k} of {len(x)} samples.")
    task.report_progress(100, 100, "done")
    return Explanation("images", prepared.problem, split, rows, splits, method=method, maps=maps, images=x,
                       explained=explained, scores=scores, sanity=sanity, cascade=layers, deletion=deletion,
                       headers=_wcs_headers(project, dataset, rows), units=units, notes=notes)


def _table_predict(prepared, model):
    """The model as sklearn's inspection sees it: probabilities, or predictions in the target's units."""
    def predict(x):
        x = np.asarray(x, np.float32)
        # predict_on_batch: sklearn calls this many times on small tables, where predict's set-up dominates
        out = np.concatenate([np.asarray(model.predict_on_batch(x[s:s + 65536]), dtype=np.float64).reshape(
            min(65536, len(x) - s), -1) for s in range(0, len(x), 65536)])
        if prepared.problem == "regression":
            return prepared.inverse_y(out[:, 0])
        return out[:, 0] if out.shape[1] == 1 else out
    return predict


def _explain_table(project, prepared, model, x, y, rows, splits, split, seed, n_boot, task):
    from nnstudio.core.evaluation.explain_tables import (
        partial_dependence,
        permutation_importance,
    )

    predict = _table_predict(prepared, model)
    positive = 1
    y_eval = y
    if prepared.problem == "regression":
        y_eval = prepared.inverse_y(y)
        units = f"RMSE increase in {prepared.target_name}'s units"
    else:
        rule = project.decision
        positive = rule.positive if rule.positive is not None else 1
        units = "ROC AUC decrease" + (f" (positive class {prepared.class_names[positive]})"
                                      if prepared.class_names and len(prepared.class_names) == 2 else "")
    task.report_progress(20, 100, "permutation importance")
    importance = permutation_importance(predict, x, y_eval, prepared.problem, prepared.feature_names, n_boot=n_boot,
                                        seed=seed, positive=positive, task=ChildTask(task, 20, 60, 100))
    task.report_progress(80, 100, "partial dependence")

    def one(xx):
        s = predict(xx)
        return s if s.ndim == 1 else s[:, positive]

    partial = []
    for j, name in enumerate(prepared.feature_names):
        task.check()
        pd = partial_dependence(one, x, j, name, seed=seed)
        pd.grid = _raw_units(prepared, j, pd.grid)
        partial.append(pd)
    task.report_progress(100, 100, "done")
    return Explanation("table", prepared.problem, split, rows, splits, importance=importance, partial=partial,
                       units=units)


def _raw_units(prepared, j: int, grid: np.ndarray) -> np.ndarray:
    """Input ``j``'s grid back in the data's units (the fitted scaling undone)."""
    s = prepared.scaler or {"kind": "none"}
    if s.get("kind") == "standard":
        return grid * s["std"][j] + s["mean"][j]
    if s.get("kind") == "minmax":
        return grid * (s["max"][j] - s["min"][j]) + s["min"][j]
    return grid


def _wcs_headers(project, dataset, rows) -> list:
    """Each row's cutout's celestial WCS as a FITS header, where the data are a folder of cutouts
    that carry one; None otherwise."""
    path = Path(project.resolved_selection().path or "")
    if dataset is None or not path.is_dir() or "file" not in dataset.columns:
        return [None] * len(rows)
    return [cutout_wcs_header(path / str(dataset.columns["file"][r])) for r in rows]


def cutout_wcs_header(path):
    """The celestial WCS of a cutout file's first image as a FITS header, or None."""
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            with fits.open(path) as hdul:
                hdr = next((h.header for h in hdul if h.is_image and h.data is not None), None)
                wcs = WCS(hdr) if hdr is not None else None
                if wcs is not None and wcs.has_celestial:
                    return wcs.celestial.to_header()
    except (OSError, ValueError, KeyError, IndexError):
        pass                            # a cutout without a usable WCS: its map is written without one
    return None


def write_explanation(result: Explanation, out_dir) -> list[Path]:
    """Images: one FITS map per sample (H x W, summed over bands, with the cutout's WCS) named by
    row, and a PNG overlay of the map on the cutout. Returns the files written."""
    import io

    from astropy.io import fits

    from nnstudio.core.evaluation.png import png_bytes
    from nnstudio.core.files import atomic_write_bytes

    if result.kind != "images":
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    summed = result.maps.summed
    for k, row in enumerate(result.rows):
        header = fits.Header(result.headers[k]) if result.headers and result.headers[k] is not None else fits.Header()
        header["EXPLMETH"] = (result.method, "attribution method")
        header["EXPLROW"] = (int(row), "0-based row of the data file")
        header["EXPLOF"] = (result.explained[k][:60], "the explained output")
        header["BUNIT"] = result.units[:68]
        buf = io.BytesIO()
        fits.PrimaryHDU(summed[k].astype(np.float32), header=header).writeto(buf)
        written.append(atomic_write_bytes(out / f"row-{int(row):06d}.fits", buf.getvalue()))
        # the PNG with row 0 at the bottom, as the FITS map, ds9 and the app show the cutout
        written.append(atomic_write_bytes(out / f"row-{int(row):06d}.png",
                                          png_bytes(overlay(result.images[k], summed[k])[::-1])))
    return written


def overlay(image, attribution, opacity: float = 0.8, zoom: int = 4) -> np.ndarray:
    """RGB (H*zoom, W*zoom, 3): the cutout in grey (asinh stretch of the bands' mean, kept below
    white so the colour shows on bright sources) with the positive attribution in red-orange, its
    opacity growing with the square root of the attribution (faint structure stays visible)."""
    img = np.asarray(image, dtype=np.float64)
    img = img.mean(axis=-1) if img.ndim == 3 else img
    lo, hi = np.percentile(img, [1, 99.5])
    g = np.arcsinh(np.clip((img - lo) / max(hi - lo, 1e-12), 0, None) * 10) / np.arcsinh(10)
    grey = np.repeat(np.clip(g, 0, 1)[..., None], 3, axis=-1) * 200
    a = np.clip(np.asarray(attribution, dtype=np.float64), 0, None)
    a = np.sqrt(a / a.max()) if a.max() > 0 else a
    alpha = (opacity * a)[..., None]
    rgb = grey * (1 - alpha) + np.array([255.0, 70.0, 0.0]) * alpha
    return np.kron(rgb, np.ones((zoom, zoom, 1)))


__all__ = ["BROWSER_SAMPLES", "CHECK_SAMPLES", "Explanation", "cutout_wcs_header", "explain", "explain_inputs", "explain_samples", "overlay", "write_explanation"]
