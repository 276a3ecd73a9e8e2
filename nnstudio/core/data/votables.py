"""VOTables: every table in a file, listed like FITS HDUs; one picked by index or ID to read.

A VOTable may hold several tables (in one or more RESOURCEs). They are numbered from 0 in
document order; a table is chosen by that number or by its ID or name, and the choice is kept
in ``DataSelection.hdu`` like a FITS HDU.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from nnstudio.core.data.messages import first_line
from nnstudio.core.data.tables import table_to_columns
from nnstudio.errors import NnstudioError


def parse(path):
    """astropy's VOTableFile; its errors become one line naming the file."""
    from astropy.io.votable import parse as vo_parse

    name = os.path.basename(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return vo_parse(str(path), verify="ignore")
        except MemoryError:
            raise NnstudioError(f"{name} holds more data than fits in the free memory.") from None
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for bad VOTables
            raise NnstudioError(f"Could not read {name} as a VOTable: "
                                f"{_strip_place(first_line(exc, path), name)}") from None


def _strip_place(text: str, name: str) -> str:
    """astropy's 'name:8:6: E06: text' as 'text (line 8)'."""
    parts = text.split(":", 3)
    if len(parts) == 4 and parts[0] == name and parts[1].strip().isdigit():
        code_text = parts[3].strip()
        code, _, rest = code_text.partition(": ")
        body = rest if rest and code[:1] in "EW" and code[1:].isdigit() else code_text
        return f"{body} (line {parts[1].strip()})"
    return text


def tables_of(vot) -> list:
    return list(vot.iter_tables())


def _table_name(t) -> str:
    return t.ID or t.name or ""


def _column_names(t) -> list[str]:
    return [f.ID or f.name or "" for f in t.fields]


def _n_rows(t) -> int:
    array = getattr(t, "array", None)
    return 0 if array is None else len(array)


def unusable_reason(t) -> str:
    if not t.fields:
        return "a table with no columns"
    if _n_rows(t) == 0:
        return "a table with no rows"
    return ""


def describe_tables(vot) -> list[dict]:
    """Per table, the same keys as a FITS HDU entry (kind "table")."""
    out = []
    for i, t in enumerate(tables_of(vot)):
        reason = unusable_reason(t)
        out.append({"index": i, "name": _table_name(t), "kind": "table", "type": "VOTable table",
                    "shape": [_n_rows(t)], "dtype": None, "columns": _column_names(t),
                    "usable": not reason, "reason": reason})
    return out


def list_tables(path) -> list[dict]:
    return describe_tables(parse(path))


def no_table_error(vot, name: str) -> NnstudioError:
    """The file holds no TABLE: say so, with the error a service wrote into it, if any."""
    said = [(info.content or info.value or "").strip().strip('"')
            for info in _infos(vot)
            if info.name == "ERROR" or (info.name == "QUERY_STATUS" and info.value == "ERROR")]
    said = [s for s in said if s]
    why = f": the service that wrote it reported an error ({said[0][:160]})" if said else ""
    return NnstudioError(f"{name} is a VOTable that holds no table{why}.")


def _infos(vot):
    yield from vot.infos
    for resource in vot.iter_resources() if hasattr(vot, "iter_resources") else vot.resources:
        yield from resource.infos


def choose_table(vot, wanted, name: str) -> int:
    """Index of the table asked for (index, ID or name), or of the first usable one."""
    described = describe_tables(vot)
    if not described:
        raise no_table_error(vot, name)
    if wanted is None:
        for d in described:
            if d["usable"]:
                return d["index"]
        why = "; ".join(f"table {d['index']}: {d['reason']}" for d in described[:4])
        raise NnstudioError(f"{name} holds no table nnstudio can use ({why}).")
    if isinstance(wanted, str) and wanted.strip().lstrip("-").isdigit():
        wanted = int(wanted)
    if isinstance(wanted, int):
        if not 0 <= wanted < len(described):
            raise NnstudioError(f"{name} has tables 0 to {len(described) - 1}; there is no "
                                f"table {wanted}.")
        return wanted
    tables = tables_of(vot)
    for i, t in enumerate(tables):
        if wanted in (t.ID, t.name):
            return i
    for i, t in enumerate(tables):
        if str(wanted).lower() in ((t.ID or "").lower(), (t.name or "").lower()):
            return i
    names = ", ".join(d["name"] or str(d["index"]) for d in described)
    raise NnstudioError(f"{name} has no table {wanted!r}. Its tables: {names}.")


def table_columns(vot, index: int, path) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns and notes of table ``index`` of a parsed VOTable (empty tables too)."""
    name = os.path.basename(str(path))
    t = tables_of(vot)[index]
    label = f"table {index}" + (f" ({_table_name(t)})" if _table_name(t) else "")
    if not t.fields:
        raise NnstudioError(f"{name} {label} has no columns.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = t.to_table()
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for odd fields
            raise NnstudioError(f"{name} {label}: astropy cannot convert it to a table "
                                f"({first_line(exc, path)}).") from None
    return table_to_columns(table, f"{name} {label}" if _several(vot) else name)


def read_votable(path, wanted=None) -> tuple[dict[str, np.ndarray], list[str], int, list[dict]]:
    """Columns, notes, the index of the chosen table (see :func:`choose_table`) and all tables."""
    name = os.path.basename(str(path))
    vot = parse(path)
    index = choose_table(vot, wanted, name)
    t = tables_of(vot)[index]
    label = f"table {index}" + (f" ({_table_name(t)})" if _table_name(t) else "")
    reason = unusable_reason(t)
    if reason:
        raise NnstudioError(f"{name} {label} cannot be used: it is {reason}.")
    columns, notes = table_columns(vot, index, path)
    if _several(vot):
        notes.insert(0, f"{name} holds {len(tables_of(vot))} tables; {label} was read.")
    return columns, notes, index, describe_tables(vot)


def _several(vot) -> bool:
    return len(tables_of(vot)) > 1
