"""What is in a data file, as a JSON-able dict (``nnstudio inspect``) and as text.

Every HDU of a FITS file and every table of a VOTable is listed, each with ``usable`` (whether
nnstudio can train on it) and ``reason`` (why not); a part that cannot be read is described
with the reason rather than failing the whole file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.data import (
    compression,
    fits_tables,
    fitsio,
    readers,
    tables,
    votables,
)
from nnstudio.core.data.dataset import column_stats, dtype_name
from nnstudio.errors import NnstudioError


def inspect_file(path, part=None) -> dict:
    """FITS: every HDU; VOTables: every table; tables: every column; folders: classes and size.

    ``part`` (an HDU of a FITS file or a table of a VOTable: index, name or ID) limits the
    listing to that one.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise NnstudioError(f"{p} does not exist.")
    if p.is_dir():
        return _inspect_folder(p)
    if p.stat().st_size == 0:
        raise NnstudioError(f"{p.name} is empty (0 bytes).")
    compression.check_readable(p)
    if fitsio.is_fits(p):
        return _inspect_fits(p, part)
    if fitsio.looks_like_fits_name(p):
        raise fitsio.misnamed_fits(p)
    reader = readers.find_reader(p)
    if reader is None:
        raise NnstudioError(f"nnstudio cannot read {p.name}: not a FITS file, a folder of "
                            f"cutouts or a known table format.")
    if readers.is_votable(p):
        return _inspect_votable(p, part)
    if part is not None:
        raise NnstudioError(f"{p.name} holds a single table: an HDU or table can only be "
                            f"chosen in a FITS file or a VOTable.")
    columns, notes = tables.read_table_file(p, allow_empty=True)
    fmt = (tables.table_format(p) or "table").replace("ascii.", "")
    n_rows = len(next(iter(columns.values())))
    out = {"path": str(p.resolve()), "format": "text" if fmt == "ascii" else fmt,
           "n_rows": n_rows, "usable": n_rows > 0,
           "reason": "" if n_rows else "a table with no rows",
           "columns": [_column_entry(name, col) for name, col in columns.items()]}
    if notes:
        out["notes"] = notes
    return out


def _column_entry(name: str, col: np.ndarray) -> dict:
    s = column_stats(col)
    entry = {"name": name, "dtype": dtype_name(col), "n_nan": s["n_nan"],
             "min": s["min"], "max": s["max"]}
    if col.ndim > 1:
        entry["shape"] = [int(d) for d in col.shape[1:]]
    return entry


def _brief_columns(columns: dict) -> list[dict]:
    return [{"name": n, "dtype": dtype_name(c), "n_nan": column_stats(c)["n_nan"]}
            for n, c in columns.items()]


def _part_entry(d: dict) -> dict:
    keys = ("index", "name", "kind", "type", "shape", "dtype", "usable", "reason")
    return {**{k: d[k] for k in keys}, "columns": [], "n_nan": 0}


def _unusable(out: dict, exc: NnstudioError) -> None:
    """A part that cannot be read: described, with astropy's complaint as the reason."""
    out["usable"] = False
    out["reason"] = str(exc)


def _inspect_fits(p: Path, part) -> dict:
    hdus = []
    with fitsio.open_fits(p) as hdul:
        described = fitsio.describe_hdus(hdul)
        wanted = None if part is None else fitsio.choose_hdu(hdul, part, p)
        for entry in described:
            i = entry["index"]
            if wanted is not None and i != wanted:
                continue
            out = _part_entry(entry)
            try:
                if entry["kind"] == "image" and entry["usable"]:
                    out["n_nan"] = _image_nan_count(p, hdul, i)
                elif entry["kind"] == "table" and (entry["usable"] or entry["shape"] == [0]):
                    columns, _ = fits_tables.read_table_hdu(p, hdul, i)
                    out["columns"] = _brief_columns(columns)
                    out["n_nan"] = sum(c["n_nan"] for c in out["columns"])
            except NnstudioError as exc:
                _unusable(out, exc)
            hdus.append(out)
        notes = fitsio.file_notes(hdul)
    out = {"path": str(p.resolve()), "format": "fits", "hdus": hdus,
           "default": _default(hdus if part is None else described)}
    if notes:
        out["notes"] = notes
    return out


def _default(parts: list[dict]) -> int | None:
    """The part read when none is chosen: the first usable image, then the first usable table."""
    for kind in ("image", "table"):
        for h in parts:
            if h["kind"] == kind and h["usable"]:
                return h["index"]
    return None


def _inspect_votable(p: Path, part) -> dict:
    vot = votables.parse(p)
    described = votables.describe_tables(vot)
    if not described:
        raise votables.no_table_error(vot, p.name)
    wanted = None if part is None else votables.choose_table(vot, part, p.name)
    parts = []
    for entry in described:
        if wanted is not None and entry["index"] != wanted:
            continue
        out = _part_entry(entry)
        if entry["columns"]:
            try:
                columns, _ = votables.table_columns(vot, entry["index"], p)
                out["columns"] = _brief_columns(columns)
                out["n_nan"] = sum(c["n_nan"] for c in out["columns"])
            except NnstudioError as exc:
                _unusable(out, exc)
        parts.append(out)
    return {"path": str(p.resolve()), "format": "votable", "tables": parts,
            "default": _default(parts if part is None else described)}


def _image_nan_count(p, hdul, index) -> int:
    """NaN (and blank) pixels, read a chunk at a time through the loader: memory stays small."""
    n, h, w, c = fitsio.image_shape(hdul, index, p)
    step = max(1, (32 << 20) // max(1, h * w * c * 4))
    buf = np.empty((min(step, n), h, w, c), dtype=np.float32)
    count = 0
    for i in range(0, n, step):
        j = min(n, i + step)
        chunk = fitsio.read_image_rows(p, hdul, index, i, j, out=buf[: j - i])
        count += int(np.count_nonzero(np.isnan(chunk)))
    return count


def _inspect_folder(p: Path) -> dict:
    if not readers.is_cutout_folder(p):
        raise NnstudioError(f"The folder {p.name} holds no FITS cutouts.")
    classes = {c.name: len(readers._fits_files(c)) for c in readers._class_folders(p)}
    top = readers._fits_files(p)
    first = top[0] if top else readers._fits_files(readers._class_folders(p)[0])[0]
    with fitsio.open_fits(first) as hdul:
        index = fitsio.choose_hdu(hdul, None, first)
        shape = fitsio.describe_hdus(hdul)[index]["shape"]
    return {"path": str(p.resolve()), "format": "folder", "classes": classes,
            "n_unlabelled": len(top), "n_images": len(top) + sum(classes.values()),
            "image_shape": shape}


def _describe_part(h: dict, label: str, default) -> list[str]:
    shape = "×".join(str(s) for s in h["shape"]) or "-"
    what = "image" if h["type"] in ("primary", "image") and h["kind"] == "image" else h["type"]
    head = f"  {label} {h['index']} {h['name'] or '(no name)'}: "
    if h["kind"] == "image":
        line = f"{head}{what}, {shape}, {h['dtype']}"
        line += f", {h['n_nan']} NaN" if h["usable"] else ""
    elif h["kind"] == "table":
        n_rows, n_cols = h["shape"][0], len(h["columns"])
        rows = f"{n_rows} row{'s' * (n_rows != 1)}, {n_cols} column{'s' * (n_cols != 1)}"
        # a VOTable holds only tables: no type to tell apart
        line = f"{head}{rows}" if h["type"] == "VOTable table" else f"{head}{what}, {rows}"
    else:
        line = f"{head}{h['type']}, no data"
    if not h["usable"] and h["kind"] != "empty":
        line += f"; not usable: {h['reason']}"
    if h["index"] == default:
        line += "  ← read by default"
    lines = [line]
    if h["kind"] == "table":
        lines += [f"      {c['name']:<24} {c['dtype']:<14} {c['n_nan']} NaN" for c in h["columns"]]
    return lines


def format_inspection(d: dict) -> str:
    """The inspection as lines of text for a terminal."""
    lines = [f"{d.get('path', '')}  ({d.get('format')})"]
    if d.get("format") in ("fits", "votable"):
        parts = d["hdus"] if d["format"] == "fits" else d["tables"]
        label = "HDU" if d["format"] == "fits" else "table"
        for h in parts:
            lines += _describe_part(h, label, d.get("default"))
        if d.get("default") is None:
            lines.append("  nothing here can be trained on: no usable image or table")
    elif d.get("format") == "folder":
        lines.append(f"  {d['n_images']} images of {'×'.join(map(str, d['image_shape']))}")
        for name, count in d["classes"].items():
            lines.append(f"    class {name}: {count}")
        if d.get("n_unlabelled"):
            lines.append(f"    unlabelled (top level): {d['n_unlabelled']}")
    else:
        unusable = "" if d.get("usable", True) else f"; not usable: {d['reason']}"
        lines.append(f"  {d['n_rows']} rows, {len(d['columns'])} columns{unusable}")
        for c in d["columns"]:
            rng = "" if c["min"] is None else f"  [{_num(c['min'])} .. {_num(c['max'])}]"
            lines.append(f"    {c['name']:<24} {c['dtype']:<10} {c['n_nan']} NaN{rng}")
    for note in d.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _num(v) -> str:
    return f"{v:.6g}"


__all__ = ["format_inspection", "inspect_file"]
