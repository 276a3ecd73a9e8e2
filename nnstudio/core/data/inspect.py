"""What is in a data file, as a JSON-able dict (``nnstudio inspect``) and as text."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.data import fitsio, readers, tables
from nnstudio.core.data.dataset import column_stats, dtype_name
from nnstudio.errors import NnstudioError


def inspect_file(path) -> dict:
    """FITS: every HDU; tables: every column; folders of cutouts: classes and image size."""
    p = Path(path).expanduser()
    if not p.exists():
        raise NnstudioError(f"{p} does not exist.")
    if p.is_dir():
        return _inspect_folder(p)
    if p.stat().st_size == 0:
        raise NnstudioError(f"{p.name} is empty (0 bytes).")
    if fitsio.is_fits(p):
        return _inspect_fits(p)
    if fitsio.looks_like_fits_name(p):
        raise fitsio.misnamed_fits(p)
    reader = readers.find_reader(p)
    if reader is None:
        raise NnstudioError(f"nnstudio cannot read {p.name}: not a FITS file, a folder of "
                            f"cutouts or a known table format.")
    columns, notes = tables.read_table_file(p)
    fmt = tables.TABLE_FORMATS.get(p.suffix.lower(), "table").replace("ascii.", "")
    out = {"path": str(p.resolve()), "format": fmt,
           "n_rows": len(next(iter(columns.values()))),
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


def _inspect_fits(p: Path) -> dict:
    hdus = []
    with fitsio.open_fits(p) as hdul:
        for entry in fitsio.describe_hdus(hdul):
            i = entry["index"]
            out = {"index": i, "name": entry["name"], "kind": entry["kind"],
                   "shape": entry["shape"], "dtype": entry["dtype"], "columns": [],
                   "n_nan": 0}
            if entry["kind"] == "image":
                out["n_nan"] = _image_nan_count(p, hdul, i)
            elif entry["kind"] == "table":
                columns, _ = fitsio.read_table_hdu(p, hdul, i)
                out["columns"] = [{"name": n, "dtype": dtype_name(c),
                                   "n_nan": column_stats(c)["n_nan"]}
                                  for n, c in columns.items()]
                out["n_nan"] = sum(c["n_nan"] for c in out["columns"])
            hdus.append(out)
    return {"path": str(p.resolve()), "format": "fits", "hdus": hdus}


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


def format_inspection(d: dict) -> str:
    """The inspection as lines of text for a terminal."""
    lines = [f"{d.get('path', '')}  ({d.get('format')})"]
    if d.get("format") == "fits":
        for h in d["hdus"]:
            shape = "×".join(str(s) for s in h["shape"]) or "-"
            head = f"  HDU {h['index']} {h['name'] or '(no name)'}: {h['kind']}"
            if h["kind"] == "image":
                lines.append(f"{head}, {shape}, {h['dtype']}, {h['n_nan']} NaN")
            elif h["kind"] == "table":
                lines.append(f"{head}, {shape} rows, {len(h['columns'])} columns")
                lines += [f"      {c['name']:<24} {c['dtype']:<14} {c['n_nan']} NaN"
                          for c in h["columns"]]
            else:
                lines.append(head)
    elif d.get("format") == "folder":
        lines.append(f"  {d['n_images']} images of {'×'.join(map(str, d['image_shape']))}")
        for name, count in d["classes"].items():
            lines.append(f"    class {name}: {count}")
        if d.get("n_unlabelled"):
            lines.append(f"    unlabelled (top level): {d['n_unlabelled']}")
    else:
        lines.append(f"  {d['n_rows']} rows, {len(d['columns'])} columns")
        for c in d["columns"]:
            rng = "" if c["min"] is None else f"  [{_num(c['min'])} .. {_num(c['max'])}]"
            lines.append(f"    {c['name']:<24} {c['dtype']:<10} {c['n_nan']} NaN{rng}")
    for note in d.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _num(v) -> str:
    return f"{v:.6g}"


__all__ = ["format_inspection", "inspect_file"]
