"""Why did the network say that about a new cutout? Attribution maps of rows of a Predict catalog
(the Predict step) or of any input the Predict step reads (``nnstudio explain --input``), with the
same preparation as prediction and the same sanity check and deletion curve as the project's own
samples."""
from __future__ import annotations

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.explain import (
    BROWSER_SAMPLES,
    Explanation,
    cutout_wcs_header,
    explain_inputs,
)
from nnstudio.errors import NnstudioError


def _cutouts(source, rows) -> tuple[np.ndarray, np.ndarray]:
    """(raw cutouts, input rows) of input ``rows`` of an image ``source``, sorted, refusing flagged rows."""
    if source is None or source.kind != "images":
        raise NnstudioError("Attribution maps are for image inputs; this input is a table.")
    rows = np.unique(np.asarray(rows, dtype=np.int64).reshape(-1))
    if len(rows) == 0:
        raise NnstudioError("Select one or more rows to explain.")
    if rows[0] < 0 or rows[-1] >= source.n:
        bad = int(rows[0]) if rows[0] < 0 else int(rows[-1])
        raise NnstudioError(f"The input has rows 0 to {source.n - 1}, not row {bad}.")
    x = source.read(rows)
    flagged = [int(r) for r in rows if source.flags[r]]
    if flagged:
        raise NnstudioError(f"Row(s) {', '.join(map(str, flagged[:10]))} could not be read or predicted "
                            f"({source.flags[flagged[0]]}); choose rows without a flag.")
    return x, rows


def _headers(source, rows) -> list | None:
    """The cutouts' celestial WCS where the input is a set of cutout files (a cube has none per plane)."""
    if getattr(source, "files", None) is None:
        return None
    return [cutout_wcs_header(source.files[r]) for r in rows]


def explain_catalog_rows(project: Project, result, rows, method: str = "ig", *, prepared, model=None,
                         steps: int = 32, seed: int = 0, task: Task | None = None) -> Explanation:
    """Maps of the catalog rows at positions ``rows`` of ``result`` (a PredictResult of an image
    input), at most ``BROWSER_SAMPLES``. The maps' rows are the input's rows (the catalog's ``row``)."""
    rows = [int(r) for r in np.asarray(rows).reshape(-1)]
    if len(rows) > BROWSER_SAMPLES:
        raise NnstudioError(f"Explain at most {BROWSER_SAMPLES} rows at once ({len(rows)} selected).")
    input_rows = np.asarray(result.columns["row"])[rows] if rows else np.asarray([], np.int64)
    x, input_rows = _cutouts(result.source, input_rows)
    out = explain_inputs(project, x, input_rows, method, prepared=prepared, model=model, steps=steps, seed=seed,
                         headers=_headers(result.source, input_rows), task=task)
    out.notes.append(_catalog_note(result.meta))
    return out


def _catalog_note(meta: dict) -> str:
    """Why the explained score can differ from the catalog's: the maps explain the network's own
    output on one view of the cutout."""
    done = []
    t = meta.get("temperat")
    if isinstance(t, float) and abs(t - 1.0) > 1e-6:
        done.append(f"calibrated (temperature {t:.3g})")
    if meta.get("tta"):
        done.append("averaged over the 8 sky symmetries")
    if not done:
        return "The maps explain the scores in the catalog."
    what = "probabilities" if meta.get("problem") == "classification" else "predictions"
    return (f"The maps explain the network's own score of each cutout as given; the catalog's {what} are "
            f"{' and '.join(done)}.")


def explain_input_rows(project: Project, inputs, rows, method: str = "ig", *, hdu=None, prepared=None,
                       model=None, steps: int = 32, seed: int = 0, cascade: bool = False,
                       task: Task | None = None) -> Explanation:
    """Maps of ``rows`` (0-based, in the Predict catalog's ``row`` order) of new ``inputs``: a
    folder of cutouts, a FITS cube, or a list of files, read as ``predict`` reads them."""
    from nnstudio.core.data.sources import open_source

    task = task or Task()
    source = open_source(inputs, hdu, task=task)
    if source.kind != "images":
        raise NnstudioError(f"{source.name} is a table: attribution maps are for image inputs (for a table, "
                            "`nnstudio explain PROJECT` gives the importance of its inputs).")
    x, rows = _cutouts(source, rows)
    return explain_inputs(project, x, rows, method, prepared=prepared, model=model, steps=steps, seed=seed,
                          headers=_headers(source, rows), cascade=cascade, task=task)


__all__ = ["explain_catalog_rows", "explain_input_rows"]
