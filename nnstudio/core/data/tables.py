"""Table files (CSV, ECSV, TSV, RDB, IPAC, text, HDF5) and astropy Tables to NumPy columns."""
from __future__ import annotations

import contextlib
import csv
import io
import os
import warnings

import numpy as np

from nnstudio.core.data import compression
from nnstudio.core.data.messages import first_line
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
    ".tab": "ascii.tab",
    ".rdb": "ascii.rdb",
    ".tbl": "ascii.ipac",
    ".ipac": "ascii.ipac",
    ".txt": "ascii",
    ".dat": "ascii",
}
_DELIMITED = {"ascii.csv": ",", "ascii.tab": "\t"}
_NAMES = {"ascii.csv": "CSV", "ascii.tab": "tab-separated", "ascii.ecsv": "ECSV", "hdf5": "HDF5",
          "ascii.rdb": "RDB", "ascii.ipac": "IPAC", "ascii": "text", "ascii.cds": "CDS"}


def table_format(path) -> str | None:
    """astropy's format name for a table file, from its extension (compression suffix removed)."""
    return TABLE_FORMATS.get(compression.plain_suffix(path))


def read_table_file(path, fmt: str | None = None, allow_empty: bool = False
                    ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns and notes of a text or HDF5 table file; format from ``fmt`` or the extension.

    VOTables are read in :mod:`nnstudio.core.data.votables` (they may hold several tables).
    Rows shorter than the header are read with their missing values as missing (NaN, or ''
    for text) and counted in a note; rows longer than the header are refused.
    """
    from astropy.table import Table

    path = str(path)
    name = os.path.basename(path)
    fmt = fmt or table_format(path)
    if fmt is None:
        raise NnstudioError(f"Cannot tell the table format of {name} from its extension "
                            f"(known: {', '.join(sorted(TABLE_FORMATS))}).")
    if os.path.getsize(path) == 0:
        raise NnstudioError(f"{name} is empty (0 bytes).")
    compression.check_readable(path)
    notes: list[str] = []
    kwargs = {"format": fmt}
    if fmt in _DELIMITED:
        short = check_delimited_rows(path, _DELIMITED[fmt])
        if short:
            notes.append(_short_rows_note(name, short))
        # astropy's CSV reader fills short rows with missing values (its tab reader refuses them)
        kwargs = {"format": "ascii.csv", "delimiter": _DELIMITED[fmt],
                  "comment": "#"}      # astronomers' CSV files often start with '#' notes
    if fmt == "hdf5":
        kwargs["path"] = _first_hdf5_table(path)
    table = _read_astropy(Table, path, name, fmt, kwargs)
    if len(table.colnames) == 0:
        raise NnstudioError(f"{name} has no columns.")
    if len(table) == 0 and not allow_empty:
        raise NnstudioError(f"{name} has column names ({', '.join(table.colnames[:6])}) "
                            f"but no data rows.")
    columns, more = table_to_columns(table, name)
    return columns, notes + more


def _read_astropy(Table, path, name, fmt, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return Table.read(path, **kwargs)
        except NnstudioError:
            raise
        except MemoryError:
            raise NnstudioError(f"{name} holds more data than fits in the free memory.") from None
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for bad tables
            error = exc
        readme = _cds_readme(path) if fmt == "ascii" else None
        if readme is not None:   # a CDS/VizieR table described by the ReadMe beside it
            with contextlib.suppress(Exception):
                return Table.read(path, format="ascii.cds", readme=readme)
    what = _NAMES.get(fmt, fmt.replace("ascii.", "").upper())
    if "Unable to guess table format" in str(error):
        raise NnstudioError(f"Could not read {name} as a {what} table: no table layout astropy "
                            f"knows fits all of its lines.") from None
    raise NnstudioError(f"Could not read {name} as a {what} table: "
                        f"{first_line(error, path)}") from None


def _cds_readme(path) -> str | None:
    folder = os.path.dirname(os.path.abspath(path))
    for candidate in ("ReadMe", "README", "readme"):
        p = os.path.join(folder, candidate)
        if os.path.isfile(p):
            return p
    return None


def _first_hdf5_table(path) -> str:
    import h5py

    found = []

    def visit(key, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.names:
            found.append(key)

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except (OSError, ValueError) as exc:
        raise NnstudioError(f"Could not read {os.path.basename(path)} as an HDF5 file: "
                            f"{first_line(exc, path)}") from None
    if not found:
        raise NnstudioError(f"{os.path.basename(path)} holds no table (no compound HDF5 dataset).")
    return found[0]


def check_delimited_rows(path, delimiter: str = ",") -> list[tuple[int, int]]:
    """Refuse rows longer than the header; return (line, missing values) of the short rows.

    astropy, like pandas, reads a short row's missing trailing values as missing; a longer row
    has values with no column, which nothing can place.
    """
    name = os.path.basename(path)
    data = compression.read_plain(path)
    if not data.strip():
        raise NnstudioError(f"{name} is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    rows = _field_counts(text, delimiter)
    if not rows:
        raise NnstudioError(f"{name} is empty.")
    header_line, n_header = rows[0]
    short = []
    for line_no, n in rows[1:]:
        if n > n_header:
            raise NnstudioError(
                f"{name} has a row longer than its header: line {line_no} has {n} fields but "
                f"the header (line {header_line}) has {n_header}.")
        if n < n_header:
            short.append((line_no, n_header - n))
    return short


def _short_rows_note(name: str, short: list[tuple[int, int]]) -> str:
    n_values = sum(k for _, k in short)
    lines = ", ".join(str(line) for line, _ in short[:5]) + (", …" if len(short) > 5 else "")
    rows, their = ("1 row is", "its") if len(short) == 1 else (f"{len(short)} rows are", "their")
    return (f"{name}: {rows} shorter than the header (line{'s' * (len(short) > 1)} {lines}); "
            f"{their} {n_values} missing value{'s' * (n_values != 1)} read as missing.")


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
