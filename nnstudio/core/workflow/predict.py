"""Predict: a trained run on new data, written as a catalog aligned 1:1 with the input.

The new data go through the project's own preparation (the scalers fitted on the training split,
the image size and bands, the input columns, the missing-value rule) a chunk at a time. What the
probabilities and intervals need from held-out data is fitted once per call, as evaluation does:
the temperature on the validation split, the conformal quantile and the out-of-distribution
reference on the calibration split (:mod:`.predict_calibration`). Rows that cannot be predicted
keep their place with a ``flag``; ``row`` is the 0-based input position, so shards written with
``shard=(K, N)`` join back in input order (:func:`nnstudio.core.data.catalog.merge_catalogs`).
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.predict_calibration import (
    Calibration,
    calibrate,
    forward,
    model_hash,
)
from nnstudio.core.workflow.predict_epistemic import epistemic_sampler
from nnstudio.errors import NnstudioError

CHUNK_BYTES = 256 * 1024 * 1024    # model inputs held at once (float32), whatever the input's size
TABLE_CHUNK_ROWS = 65536
THUMB = 32                          # thumbnails for the GUI: at most 32×32, 8 bits


@dataclass
class PredictResult:
    """The catalog's columns (``columns``, in catalog order), its provenance (``meta``), where it
    was written, and the external-test figures when the input carried the target."""

    columns: dict[str, np.ndarray]
    meta: dict
    problem: str
    class_names: list[str] | None
    path: Path | None = None
    n_rows: int = 0
    n_flagged: int = 0
    threshold: float | None = None           # the decision threshold on the model's score
    threshold_calibrated: float | None = None  # the same decision on the calibrated p_<positive>
    positive: int | None = None
    score_column: str | None = None           # what the GUI histograms and sorts best-first
    metrics: dict | None = None
    metrics_ci: dict | None = None
    notes: list[str] = field(default_factory=list)
    thumbnails: np.ndarray | None = None      # (n, t, t) uint8 for image inputs, when asked for
    source: object = None                     # the Source, to read cutouts again for an export

    def to_dict(self) -> dict:
        return {"catalog": str(self.path) if self.path else None, "rows": self.n_rows,
                "flagged": self.n_flagged, "problem": self.problem, "class_names": self.class_names,
                "columns": list(self.columns), "threshold": self.threshold,
                "threshold_calibrated": self.threshold_calibrated, "provenance": self.meta,
                "external_test": None if self.metrics is None else
                {"metrics": self.metrics, "metrics_ci": self.metrics_ci}, "notes": self.notes}


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """"K/N" (K from 1 to N, as job-array indices usually are) -> (K, N)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise NnstudioError(f"--shard takes K/N with K from 1 to N (e.g. 3/10), not {text!r}.")
    return int(m.group(1)), int(m.group(2))


def class_column(name: str) -> str:
    return "p_" + re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_")


def predict_project(project: Project, inputs, out=None, *, run_id: str | None = None, fmt: str | None = None,
                    batch_size: int = 256, shard: tuple[int, int] | None = None, skip_bad: bool = False,
                    hdu=None, thumbnails: bool = False, chunk_bytes: int = CHUNK_BYTES,
                    epistemic: str = "auto", labels=None, id_column: str | None = None,
                    task: Task | None = None, prepared=None, model=None) -> PredictResult:
    """Predict ``inputs`` (a path or a list of cutout files) with ``run_id`` (default: the active
    run) and write the catalog to ``out`` (not written when None). ``epistemic`` ("auto": the
    project's uncertainty method; "mc", "ensemble", "none") adds ``epistemic_std`` (regression) or
    ``mutual_information`` (classification). ``labels``: a table holding the target for the input's
    rows (in row order, or matched by ``id_column``), for the external test."""
    from nnstudio.core.data.sources import open_source
    from nnstudio.core.workflow.data import prepare_project
    from nnstudio.core.workflow.train import load_run_model

    task = task or Task()
    if batch_size < 1:
        raise NnstudioError("--batch-size must be at least 1.")
    run = project.run(run_id)
    if run is None or (run_id is not None and run.id != run_id):
        raise NnstudioError(f"The project has no run {run_id}." if run_id else
                            "No trained model yet: train the project first (Train panel or `nnstudio train`).")
    task.report_progress(0, 100, "reading the input's headers")
    source = open_source(inputs, hdu, skip_bad=skip_bad, task=task)
    if labels is not None:
        from nnstudio.core.data.sources import attach_label_table

        attach_label_table(source, labels, id_column)
    stored = (project.preparation.fitted or {}).get("input")
    if stored and prepared is None:     # refuse a mismatch before reading the project's data
        _check_compatible(source, project.data.inputs, stored)
    task.report_progress(0, 100, "loading the model and the project's data")
    if model is None:
        model = load_run_model(project, run)
    if prepared is None:
        prepared = prepare_project(project, task=task)
    fitted = prepared.scaler
    _check_compatible(source, prepared.inputs, fitted)
    from nnstudio.core.training.augment import uses_tta

    sha = model_hash(project.model_path(run))
    cal = calibrate(project, model, prepared, task=task, cache_dir=project.run_dir(run.id), model_sha=sha,
                    tta=uses_tta(run.settings, prepared))
    n = source.n
    rows = np.arange(n) if shard is None else np.arange(shard[0] - 1, n, shard[1])
    if len(rows) == 0:
        raise NnstudioError(f"Shard {shard[0]}/{shard[1]} holds no rows: the input has only {n}.")
    out_cols = _empty_outputs(prepared, len(rows))
    spread = epistemic_sampler(project, model, prepared, epistemic, source, batch_size)
    if spread is not None:
        out_cols["epistemic"] = np.full(len(rows), np.nan)
    thumbs = np.zeros((len(rows), THUMB, THUMB), np.uint8) if thumbnails and source.kind == "images" else None
    chunks = list(_chunks(source, len(rows), chunk_bytes))
    partial = None
    if out is not None and len(chunks) > 1:      # one chunk has nothing to resume from
        from nnstudio.core.workflow.predict_calibration import calibration_key
        from nnstudio.core.workflow.predict_resume import Partial, input_identity

        partial = Partial(out, {"fits": calibration_key(project, sha, 0, cal.tta), "run": run.id,
                                "decision": project.decision.to_dict(), "input": input_identity(inputs),
                                "hdu": hdu, "skip_bad": skip_bad, "shard": shard,
                                "chunk_bytes": chunk_bytes, "batch": batch_size,
                                "epistemic": spread.label if spread is not None else None,
                                "thumbnails": thumbs is not None})
    done = 0
    for start, stop in chunks:
        task.check()
        chunk = rows[start:stop]
        saved = partial.load(start, stop) if partial is not None else None
        if saved is not None:        # finished before a cancel or crash
            _restore(saved, out_cols, thumbs, source, chunk, start, stop)
            done += len(chunk)
            continue
        x, ok = _inputs(source, chunk, prepared, fitted, project.preparation.missing)
        if thumbs is not None:
            thumbs[start:stop] = _thumbnails(x)
        if ok.any():
            from nnstudio.core.data.prepare import apply_scaler

            xs = apply_scaler(fitted, x if ok.all() else x[ok], in_place=True)
            outputs, hidden = forward(cal, model, xs, batch_size)
            at = np.flatnonzero(ok) + start
            _fill(out_cols, at, cal, prepared, project, outputs, hidden)
            if spread is not None:
                out_cols["epistemic"][at] = spread(xs, rows[at])
        if partial is not None and stop < len(rows):     # after the last, only the write is left
            partial.save(start, stop, _saved(out_cols, thumbs, source, chunk, start, stop))
        done += len(chunk)
        task.report_progress(done, len(rows), f"Predicting: {done} of {len(rows)} rows")
    flags = np.asarray(source.flags[rows], dtype=object)
    columns = _catalog_columns(source, rows, flags, out_cols, prepared)
    meta = _provenance(project, run, cal, source, shard, inputs, sha)
    if spread is not None:
        meta["epistem"] = spread.label
    result = _result(columns, meta, prepared, project, cal, flags, source, thumbs)
    _external_test(result, source, rows, prepared, project, out_cols)
    if out is not None:
        from nnstudio.core.data.catalog import write_catalog

        task.report_progress(len(rows), len(rows), "writing the catalog")
        result.path = write_catalog(columns, meta, out, fmt)
        if partial is not None:
            partial.finish()
    return result


def _saved(out_cols, thumbs, source, chunk, start, stop) -> dict[str, np.ndarray]:
    arrays = {f"col_{k}": v[start:stop] for k, v in out_cols.items()}
    arrays["flags"] = np.asarray(source.flags[chunk], dtype=str)
    if thumbs is not None:
        arrays["thumbs"] = thumbs[start:stop]
    return arrays


def _restore(saved, out_cols, thumbs, source, chunk, start, stop) -> None:
    for k, v in out_cols.items():
        v[start:stop] = saved[f"col_{k}"]
    source.flags[chunk] = saved["flags"].astype(object)
    if thumbs is not None and "thumbs" in saved:
        thumbs[start:stop] = saved["thumbs"]


# -- checks and inputs ------------------------------------------------------------------------------

def _check_compatible(source, inputs, fitted) -> None:
    """One line naming what differs between the input and what the model takes."""
    from nnstudio.core.data.sources import size_text

    if fitted.get("data_kind") == "images":
        h, w, c = fitted["image_shape"]
        if source.kind != "images":
            column = inputs[0] if inputs else None
            if column and column in (source.columns or {}):
                return
            raise NnstudioError(f"{source.name} is a table but the model takes {size_text((h, w, c))} images.")
        sh, sw, sc = source.image_shape
        if (sh, sw) != (h, w):
            raise NnstudioError(f"The images are {sh}×{sw}, the model takes {h}×{w}.")
        if sc != c:
            raise NnstudioError(f"The images have {sc} band(s), the model takes {c}.")
        return
    if source.kind != "table":
        raise NnstudioError(f"{source.name} holds images but the model takes the table columns "
                            f"{', '.join(fitted.get('columns') or [])}.")
    missing = [c for c in fitted.get("columns") or [] if c not in source.columns]
    if missing:
        raise NnstudioError(f"Column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                            f"{'are' if len(missing) > 1 else 'is'} missing from {source.name}.")
    from nnstudio.core.data.dataset import Dataset
    from nnstudio.core.data.prepare import _check_input

    ds = Dataset("table", source.columns, name=source.name)
    for name in fitted["columns"]:
        _check_input(ds, name)


def _chunks(source, n: int, chunk_bytes: int):
    if source.kind == "images":
        per_row = 4 * int(np.prod(source.image_shape))
        step = max(1, int(chunk_bytes // per_row))
    else:
        step = TABLE_CHUNK_ROWS
    for i in range(0, n, step):
        yield i, min(n, i + step)


def _inputs(source, rows, prepared, fitted, missing_rule: str):
    """Raw float32 inputs of ``rows`` and which of them can be predicted; flags the others."""
    from nnstudio.core.data.prepare import feature_matrix

    if source.kind == "images":
        x = source.read(rows)
        what = "pixels"
    elif fitted.get("data_kind") == "images":
        col = source.columns[prepared.inputs[0]][rows]
        x = np.ascontiguousarray(col.reshape(col.shape + (1,) * (4 - col.ndim)), dtype=np.float32)
        what = "pixels"
    else:
        x, _ = feature_matrix({c: source.columns[c][rows] for c in fitted["columns"]}, fitted["columns"])
        what = "input"
    flat = x.reshape(len(x), -1)
    finite = np.isfinite(flat)
    bad = ~finite.all(axis=1) & (source.flags[rows] == "")
    if bad.any():
        if missing_rule == "refuse":
            raise NnstudioError(f"{int(bad.sum())} row(s) have missing or infinite {what}, and the "
                                f"project's rule is to refuse them (Data step: missing values).")
        if not (missing_rule == "median" and fitted.get("impute") is not None):
            for k in np.flatnonzero(bad):
                if what == "input":
                    names = [fitted["features"][j] for j in np.flatnonzero(~finite[k])]
                    source.flags[rows[k]] = "missing input: " + ", ".join(names)
                else:
                    source.flags[rows[k]] = "missing pixels"
    ok = source.flags[rows] == ""
    return x, ok


def _thumbnails(x: np.ndarray) -> np.ndarray:
    """Small 8-bit previews, each stretched by its own asinh of robust levels."""
    img = np.nan_to_num(x.mean(axis=-1), nan=0.0)
    n, h, w = img.shape
    k = max(1, int(np.ceil(max(h, w) / THUMB)))
    hh, ww = h // k, w // k
    small = img[:, :hh * k, :ww * k].reshape(n, hh, k, ww, k).mean(axis=(2, 4))
    lo = np.percentile(small.reshape(n, -1), 1, axis=1)[:, None, None]
    hi = np.percentile(small.reshape(n, -1), 99.5, axis=1)[:, None, None]
    s = np.arcsinh(np.clip((small - lo) / np.maximum(hi - lo, 1e-12), 0, 1) * 10) / np.arcsinh(10)
    out = np.zeros((n, THUMB, THUMB), np.uint8)
    out[:, :hh, :ww] = np.round(255 * s).astype(np.uint8)
    return out


# -- outputs -----------------------------------------------------------------------------------------

def _empty_outputs(prepared, n: int) -> dict[str, np.ndarray]:
    nan = lambda: np.full(n, np.nan)
    if prepared.problem == "classification":
        k = max(prepared.n_classes, 2)
        return {"proba": np.full((n, k), np.nan), "proba_raw": np.full((n, k), np.nan),
                "pred": np.full(n, -1, np.int64), "sets": np.zeros((n, k), bool),
                "ood_score": nan(), "ood": np.zeros(n, bool)}
    return {"mean": nan(), "sigma": nan(), "lower": nan(), "upper": nan(), "ood_score": nan(),
            "ood": np.zeros(n, bool)}


def _fill(out, at, cal: Calibration, prepared, project, outputs, hidden) -> None:
    from nnstudio.core import evaluation as ev

    if hidden is not None and cal.ood is not None:
        score = cal.ood(hidden)
        out["ood_score"][at] = score
        out["ood"][at] = score > cal.ood_threshold
    if prepared.problem == "classification":
        raw, scaled = cal.probabilities(outputs, hidden)
        rule = project.decision
        out["proba_raw"][at] = raw
        out["proba"][at] = scaled
        out["pred"][at] = ev.predicted_labels(raw, rule.threshold, rule.positive if rule.positive is not None else 1)
        if cal.qhat is not None:
            out["sets"][at] = ev.prediction_sets(raw, cal.qhat)
        return
    mean, sigma_head = cal.regression(outputs)
    mu = prepared.inverse_y(mean)
    sigma = prepared.inverse_sigma(sigma_head) if sigma_head is not None else np.full(len(mu), cal.sigma_const)
    out["mean"][at] = mu
    out["sigma"][at] = sigma
    if cal.q is not None:
        lo, hi = ev.conformal_intervals(mu, cal.q, prepared.inverse_sigma(sigma_head) if sigma_head is not None
                                        and cal.normalised else None)
        out["lower"][at], out["upper"][at] = lo, hi


def _catalog_columns(source, rows, flags, out, prepared) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {"row": rows.astype(np.int64)}
    for name, v in source.identity.items():
        cols[name] = np.asarray(v)[rows]
    cols["flag"] = np.asarray(flags).astype(str) if len(flags) else np.array([], str)
    if prepared.problem == "classification":
        names = list(prepared.class_names)
        pred = out["pred"]
        cols["predicted"] = np.array([names[p] if p >= 0 else "" for p in pred], dtype=str)
        for k, name in enumerate(names):
            cols[class_column(name)] = out["proba"][:, k]
        cols["conformal_set"] = np.array(["|".join(names[j] for j in np.flatnonzero(s)) for s in out["sets"]],
                                         dtype=str)
    else:
        for key, name in (("mean", "predicted"), ("sigma", "sigma"), ("lower", "lower"), ("upper", "upper")):
            cols[name] = out[key]
    if "epistemic" in out:
        cols["mutual_information" if prepared.problem == "classification" else "epistemic_std"] = out["epistemic"]
    cols["ood_score"] = out["ood_score"]
    cols["ood"] = out["ood"]
    return cols


def _provenance(project, run, cal: Calibration, source, shard, inputs, sha: str) -> dict:
    import sys

    from nnstudio import __version__

    rule = project.decision
    meta = {"nnproj": project.name, "nnrun": run.id, "modelsha": sha,
            "nnver": __version__, "kerasver": getattr(sys.modules.get("keras"), "__version__", ""),
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "problem": project.data.problem, "input": source.name, "nrows": int(source.n)}
    if project.data.problem == "classification":
        meta.update(thresh=rule.threshold if rule.threshold is not None else "argmax",
                    poscls=(project.data.class_names or [])[rule.positive] if rule.positive is not None
                    and rule.threshold is not None else "", temperat=float(cal.temperature))
    meta["conflvl"] = float(cal.level) if (cal.qhat is not None or cal.q is not None) else "off"
    if cal.ood_threshold is not None:
        meta["oodthr"] = float(cal.ood_threshold)
        meta["oodscore"] = "mahalanobis in the last hidden features"
    if source.sky:
        meta["radec"] = source.sky
    if cal.tta:
        meta["tta"] = "mean of the 8 sky symmetries"
    if shard is not None:
        meta["shard"] = f"{shard[0]}/{shard[1]}"
    return meta


def _result(columns, meta, prepared, project, cal, flags, source, thumbs) -> PredictResult:
    r = PredictResult(columns=columns, meta=meta, problem=prepared.problem,
                      class_names=prepared.class_names if prepared.problem == "classification" else None,
                      n_rows=len(columns["row"]), n_flagged=int(sum(1 for f in flags if f)),
                      thumbnails=thumbs, source=source, notes=list(source.notes))
    if prepared.problem == "classification":
        rule = project.decision
        pos = rule.positive if rule.positive is not None else (1 if prepared.n_classes <= 2 else None)
        r.positive = pos
        r.threshold = rule.threshold
        if pos is not None:
            r.score_column = class_column(prepared.class_names[pos])
            if rule.threshold is not None:
                r.threshold_calibrated = cal.calibrated_threshold(rule.threshold, pos, prepared.n_classes)
    else:
        r.score_column = "predicted"
    if r.n_flagged:
        r.notes.append(f"{r.n_flagged} row(s) could not be predicted; their 'flag' says why.")
    return r


def _external_test(result, source, rows, prepared, project, out) -> None:
    """Metrics with 95% intervals when the input carries the target (or class sub-folders)."""
    from nnstudio.core import evaluation as ev
    from nnstudio.core.data.prepare import encode_target
    from nnstudio.core.evaluation.metrics import point_metrics

    target = prepared.target_name
    values = source.labels.get(target)
    if values is None and prepared.problem == "classification" and "folder" in source.labels:
        folders = source.labels["folder"]
        if set(np.unique(folders)) <= set(prepared.class_names):
            values = folders
    if values is None:
        return
    values = np.asarray(values)[rows]
    try:
        y, ok, names = encode_target(values, target, prepared.problem, prepared.class_names)
    except NnstudioError as exc:
        result.notes.append(f"The input's {target!r} could not be compared with the predictions: {exc}")
        return
    if prepared.problem == "classification" and names != prepared.class_names:
        result.notes.append(f"The input's {target!r} holds classes the model does not know; no external test.")
        return
    ok &= result.columns["flag"] == ""
    if ok.sum() < 2:
        return
    rule = project.decision
    thr = rule.threshold if rule.threshold is not None else 0.5
    pos = rule.positive if rule.positive is not None else 1
    if prepared.problem == "classification":
        names = prepared.class_names
        scores = np.stack([result.columns[class_column(c)] for c in names], axis=1)[ok]
        scores = scores[:, 1] if scores.shape[1] == 2 else scores
        # the decision was made on the model's own scores: judge it there (ranking is unchanged)
        raw = out["proba_raw"][ok]
        raw = raw[:, 1] if raw.shape[1] == 2 else raw
        metrics, _ = point_metrics("classification", y[ok], raw, names, threshold=thr, positive=pos)
        metrics["ece_calibrated"] = ev.expected_calibration_error(scores, y[ok])
        ci = ev.metric_intervals("classification", y[ok], raw, positive=pos, threshold=thr)
    else:
        pred = result.columns["predicted"][ok]
        metrics, _ = point_metrics("regression", y[ok], pred)
        ci = ev.metric_intervals("regression", y[ok], pred)
        if np.isfinite(result.columns["lower"][ok]).all():
            metrics["conformal_coverage"] = ev.interval_coverage(y[ok], result.columns["lower"][ok],
                                                                 result.columns["upper"][ok])
    metrics["n"] = int(ok.sum())
    result.metrics = metrics
    result.metrics_ci = {k: (float(a), float(b)) for k, (a, b) in ci.items() if k in metrics}


def export_rows(result: PredictResult, rows, out, fmt: str | None = None) -> list[Path]:
    """Write the catalog rows at positions ``rows`` (of ``result.columns``) to ``out``; for image
    inputs also their cutouts, as a FITS cube ``OUT_cutouts.fits`` in the same order: the
    candidate list handed to a follow-up team. Returns the files written."""
    from nnstudio.core.data.catalog import write_catalog
    from nnstudio.core.files import atomic_path

    rows = np.asarray(sorted(int(r) for r in rows), dtype=np.int64)
    if len(rows) == 0:
        raise NnstudioError("Select the rows to export first.")
    columns = {k: np.asarray(v)[rows] for k, v in result.columns.items()}
    written = [write_catalog(columns, {**result.meta, "selected": len(rows)}, out, fmt)]
    src = result.source
    if src is not None and src.kind == "images":
        from astropy.io import fits

        cube = src.read(np.asarray(result.columns["row"])[rows])
        data = cube[..., 0] if cube.shape[-1] == 1 else np.moveaxis(cube, -1, 1)
        hdu = fits.PrimaryHDU(data)
        hdu.header["NNRUN"] = result.meta.get("nnrun", "")
        hdu.header["COMMENT"] = f"Cutouts of the rows of {Path(out).name}, in the same order."
        path = Path(out).with_name(Path(out).stem + "_cutouts.fits")
        with atomic_path(path) as tmp:
            hdu.writeto(tmp, overwrite=True)
        written.append(path)
    return written


__all__ = ["CHUNK_BYTES", "PredictResult", "class_column", "export_rows", "model_hash", "parse_shard",
           "predict_project"]
