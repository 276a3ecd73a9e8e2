"""Table files (CSV, ECSV, VOTable, HDF5, FITS tables) to plain NumPy columns."""
from __future__ import annotations

import csv
import io
import os
import warnings

import numpy as np

from nnstudio.errors import NnstudioError

# What people write for "no value" in a numeric column of a text table.
MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none", "-", "--", "?"}

TABLE_FORMATS = {
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".hdf5": "hdf5",
    ".h5": "hdf5",
    ".tsv": "ascii.tab",
    ".txt": "ascii",
    ".dat": "ascii",
}


def read_table_file(path, fmt: str | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns and notes of a table file; format from ``fmt`` or the file's extension."""
    from astropy.table import Table

    path = str(path)
    name = os.path.basename(path)
    ext = os.path.splitext(path)[1].lower()
    fmt = fmt or TABLE_FORMATS.get(ext)
    if fmt is None:
        raise NnstudioError(f"Cannot tell the table format of {name} from its extension "
                            f"(known: {', '.join(sorted(TABLE_FORMATS))}).")
    if os.path.getsize(path) == 0:
        raise NnstudioError(f"{name} is empty (0 bytes).")
    if fmt in ("ascii.csv", "ascii.tab"):
        check_delimited_rows(path, "," if fmt == "ascii.csv" else "\t")
    kwargs = {"format": fmt}
    if fmt in ("ascii.csv", "ascii.tab"):
        kwargs["comment"] = "#"      # astronomers' CSV files often start with '#' notes
    if fmt == "hdf5":
        kwargs["path"] = _first_hdf5_table(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = Table.read(path, **kwargs)
        except NnstudioError:
            raise
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for bad tables
            raise NnstudioError(f"Could not read {name} as a {fmt.replace('ascii.', '').upper()} "
                                f"table: {_first_line(exc)}") from None
    if len(table.colnames) == 0:
        raise NnstudioError(f"{name} has no columns.")
    if len(table) == 0:
        raise NnstudioError(f"{name} has column names ({', '.join(table.colnames[:6])}) "
                            f"but no data rows.")
    return table_to_columns(table, name)


def _first_line(exc) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _first_hdf5_table(path) -> str:
    import h5py

    found = []

    def visit(key, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.names:
            found.append(key)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    if not found:
        raise NnstudioError(f"{os.path.basename(path)} holds no table (no compound HDF5 dataset).")
    return found[0]


def check_delimited_rows(path, delimiter: str = ",") -> None:
    """Refuse ragged rows: astropy silently masks the missing trailing values of short rows."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data.strip():
        raise NnstudioError(f"{name} is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sep = delimiter
    rows = _field_counts(text, sep)
    if not rows:
        raise NnstudioError(f"{name} is empty.")
    header_line, n_header = rows[0]
    for line_no, n in rows[1:]:
        if n != n_header:
            raise NnstudioError(
                f"{name} has ragged rows: line {line_no} has {n} field{'s' * (n != 1)} but the "
                f"header (line {header_line}) has {n_header}.")


def _field_counts(text: str, sep: str) -> list[tuple[int, int]]:
    """(1-based line number, number of fields) for each non-blank, non-comment line."""
    out = []
    if '"' not in text:
        for i, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if s and not s.startswith("#"):
                out.append((i, line.count(sep) + 1))
        return out
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for row in reader:
        if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#"):
            out.append((reader.line_num, len(row)))
    return out


def table_to_columns(table, source: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """astropy Table -> ordered dict of native-endian arrays; masked numbers become NaN."""
    columns: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for cname in table.colnames:
        col, note = _convert_column(table[cname], cname, source)
        columns[cname] = col
        if note:
            notes.append(note)
    return columns, notes


def _convert_column(col, cname: str, source: str) -> tuple[np.ndarray, str]:
    mask = getattr(col, "mask", None)
    data = np.asarray(col.data if hasattr(col, "data") else col)
    if isinstance(data, np.ma.MaskedArray):
        mask = data.mask if mask is None else mask
        data = data.data
    if mask is not None and not np.any(mask):
        mask = None
    kind = data.dtype.kind
    if kind == "S":
        data = np.char.decode(data, "utf-8", errors="replace")
        kind = "U"
    if kind in "iub":
        if mask is not None:
            data = data.astype(np.float64)
            data[np.asarray(mask)] = np.nan
        elif data.dtype.byteorder not in "=|":
            data = data.astype(data.dtype.newbyteorder("="))
        return data, ""
    if kind == "f":
        data = data.astype(data.dtype.newbyteorder("="))  # a copy: native-endian and writeable
        if mask is not None:
            data[np.asarray(mask)] = np.nan
        return data, ""
    if kind == "U":
        data = np.char.strip(data) if data.ndim == 1 else data
        if mask is not None:
            data = data.copy()
            data[np.asarray(mask)] = ""
        if data.ndim == 1:
            converted, n_missing = coerce_numeric_text(data)
            if converted is not None:
                note = (f"{source}: column '{cname}' had {n_missing} missing-value marker(s) "
                        f"(e.g. 'NA'), read as NaN.") if n_missing else ""
                return converted, note
        return data, ""
    if kind == "O":
        return _object_column(data, cname, source)
    return data, ""


def _object_column(data, cname, source) -> tuple[np.ndarray, str]:
    """Variable-length array columns: stacked when every row has the same length."""
    try:
        rows = [np.asarray(v) for v in data]
    except Exception:  # noqa: BLE001 - anything unusual stays an object column
        return data, ""
    if rows and all(r.dtype.kind in "biuf" for r in rows):
        lengths = {r.shape for r in rows}
        if len(lengths) == 1:
            stacked = np.stack(rows).astype(np.float64 if rows[0].dtype.itemsize > 4
                                            else np.float32)
            return stacked, (f"{source}: variable-length column '{cname}' has {rows[0].size} "
                             f"values in every row; read as a vector column.")
        sizes = sorted({r.size for r in rows})
        return data, (f"{source}: variable-length column '{cname}' has arrays of "
                      f"{sizes[0]} to {sizes[-1]} values; it cannot be a model input.")
    if all(isinstance(v, str) for v in data):
        return np.asarray(data, dtype=str), ""
    return data, ""


def coerce_numeric_text(values: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Numbers written as text (with missing-value markers) as float64, else (None, 0)."""
    uniq, inverse = np.unique(values, return_inverse=True)
    parsed = np.empty(len(uniq), dtype=np.float64)
    n_marker_kinds = 0
    for k, v in enumerate(uniq):
        s = str(v).strip()
        if s.lower() in MISSING_TOKENS:
            parsed[k] = np.nan
            n_marker_kinds += 1
            continue
        try:
            parsed[k] = float(s)
        except ValueError:
            return None, 0
    if n_marker_kinds == len(uniq):
        return None, 0  # nothing but markers: leave it as text
    out = parsed[inverse.reshape(-1)]
    n_missing = int(np.count_nonzero(np.isnan(out)))
    return out, n_missing


def numeric_text_problem(values: np.ndarray) -> tuple[int, str] | None:
    """For a text column that is mostly numbers: (row, text) of its first non-number.

    None when the column is ordinary text (mostly not numbers).
    """
    if values.dtype.kind != "U" or values.ndim != 1 or len(values) == 0:
        return None
    uniq, first, counts = np.unique(values, return_index=True, return_counts=True)
    ok = np.zeros(len(uniq), dtype=bool)
    for k, v in enumerate(uniq):
        s = str(v).strip()
        if s.lower() in MISSING_TOKENS:
            ok[k] = True
            continue
        try:
            float(s)
            ok[k] = True
        except ValueError:
            pass
    numeric_share = counts[ok].sum() / len(values)
    if numeric_share < 0.5 or ok.all():
        return None
    bad_rows = first[~ok]
    k = int(np.argmin(bad_rows))
    return int(bad_rows[k]), str(uniq[~ok][k])
