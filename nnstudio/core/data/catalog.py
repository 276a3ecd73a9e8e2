"""Catalogs of predictions: written atomically through astropy.table (a FITS binary table by
default; CSV, ECSV or VOTable by extension or by name), read back, and shards joined in input order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.files import atomic_path
from nnstudio.errors import NnstudioError

FORMATS = {"fits": "fits", "csv": "ascii.csv", "ecsv": "ascii.ecsv", "votable": "votable"}
EXTENSIONS = {".fits": "fits", ".fit": "fits", ".fts": "fits", ".csv": "csv", ".ecsv": "ecsv",
              ".vot": "votable", ".xml": "votable", ".votable": "votable"}


def catalog_format(path, fmt: str | None = None) -> str:
    """``fmt`` if given, else the one the extension names, else FITS."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise NnstudioError(f"Unknown catalog format {fmt!r}: choose {', '.join(FORMATS)}.")
        return fmt
    return EXTENSIONS.get(Path(path).suffix.lower(), "fits")


def to_table(columns: dict[str, np.ndarray], meta: dict):
    from astropy.table import Table

    t = Table()
    for name, col in columns.items():
        col = np.asarray(col)
        if col.dtype.kind == "O":
            col = col.astype(str)
        t[name] = col
    t.meta.update(meta)
    return t


def _fits_meta(meta: dict) -> dict:
    """Header cards: keys of at most 8 characters, upper case; values that fit a card."""
    out = {}
    for k, v in meta.items():
        key = str(k).upper()[:8]
        if isinstance(v, float) and not np.isfinite(v):
            continue
        out[key] = v if isinstance(v, (bool, int, float)) or v is None else str(v)[:68]
    return out


def write_catalog(columns: dict[str, np.ndarray], meta: dict, path, fmt: str | None = None) -> Path:
    """Write the catalog atomically: a cancelled or crashed write leaves no half-written file."""
    import warnings

    path = Path(path)
    kind = catalog_format(path, fmt)
    t = to_table(columns, meta)
    if kind == "fits":
        for name in t.colnames:         # FITS holds bytes: ASCII text encoded once, in C
            if t[name].dtype.kind == "U":
                try:
                    t[name] = np.asarray(t[name]).astype("S")
                except UnicodeEncodeError:
                    pass
        t.meta.clear()
        t.meta.update(_fits_meta(meta))
    elif kind == "csv":
        t.meta.clear()
        t.meta["comments"] = [f"{k} = {v}" for k, v in meta.items()]
    elif kind == "votable":
        t.meta.clear()
        t.meta["description"] = "; ".join(f"{k} = {v}" for k, v in meta.items())
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kwargs = {"comment": "# "} if kind == "csv" else {}
            t.write(tmp, format=FORMATS[kind], overwrite=True, **kwargs)
    except OSError as exc:
        raise NnstudioError(f"Cannot write the catalog {path}: {exc.strerror or exc}.") from None
    return path


def read_catalog(path):
    """An astropy Table with the provenance in ``meta`` (FITS cards, ECSV meta, CSV comments)."""
    import warnings

    from astropy.table import Table

    path = Path(path)
    if not path.exists():
        raise NnstudioError(f"No catalog at {path}.")
    kind = catalog_format(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "csv":
                t = Table.read(path, format="ascii.csv", comment="#")
                meta = {}
                for line in path.read_text(encoding="utf-8").splitlines():
                    if not line.startswith("#"):
                        break
                    k, _, v = line[1:].partition("=")
                    meta[k.strip()] = v.strip()
                t.meta = meta
            else:
                t = Table.read(path, format=FORMATS[kind])
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for a damaged file
        raise NnstudioError(f"{path.name} is not a readable catalog: {exc}") from None
    t.meta = {str(k).lower(): v for k, v in t.meta.items()}
    return t


def merge_catalogs(parts, out, fmt: str | None = None) -> Path:
    """Join shards written by ``predict --shard K/N`` in input order (the ``row`` column), checking
    that they come from one run and together cover every row once."""
    from astropy.table import vstack

    if not parts:
        raise NnstudioError("Name the shard catalogs to merge.")
    tables = [read_catalog(p) for p in parts]
    for p, t in zip(parts, tables):
        if "row" not in t.colnames:
            raise NnstudioError(f"{Path(p).name} has no 'row' column: it is not an nnstudio catalog.")
    first = tables[0].meta
    for p, t in zip(parts[1:], tables[1:]):
        for key in ("nnrun", "modelsha", "nrows"):
            if str(t.meta.get(key)) != str(first.get(key)):
                raise NnstudioError(f"{Path(p).name} comes from another prediction than "
                                    f"{Path(parts[0]).name} ({key} {t.meta.get(key)} vs "
                                    f"{first.get(key)}).")
    merged = vstack(tables, metadata_conflicts="silent")
    order = np.argsort(np.asarray(merged["row"]), kind="stable")
    merged = merged[order]
    rows = np.asarray(merged["row"])
    n = int(first.get("nrows", len(rows)))
    dup = rows[1:][np.diff(rows) == 0]
    if dup.size:
        raise NnstudioError(f"Row {int(dup[0])} appears in more than one shard: give each shard once.")
    if len(rows) != n:
        missing = np.setdiff1d(np.arange(n), rows)
        raise NnstudioError(f"The shards cover {len(rows)} of {n} rows; row {int(missing[0])} and "
                            f"{len(missing) - 1} more are missing (a shard not given or not finished).")
    meta = {k: v for k, v in first.items() if k not in ("shard", "comments", "description")}
    columns = {name: np.asarray(merged[name]) for name in merged.colnames}
    return write_catalog(columns, meta, out, fmt)


__all__ = ["EXTENSIONS", "FORMATS", "catalog_format", "merge_catalogs", "read_catalog", "to_table",
           "write_catalog"]
