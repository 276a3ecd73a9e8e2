"""Table HDUs (binary, ASCII, random groups) as plain NumPy columns."""
from __future__ import annotations

import os
import warnings

import numpy as np

from nnstudio.core.data import fitsio
from nnstudio.core.data.messages import first_line
from nnstudio.core.data.tables import table_to_columns
from nnstudio.errors import NnstudioError


def read_table_hdu(path, hdul, index: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns and notes of a table HDU; a table astropy cannot read raises one line."""
    name = os.path.basename(str(path))
    hdu = hdul[index]
    if fitsio.hdu_kind(hdu) != "table":
        raise NnstudioError(f"{name} HDU {index} ({hdu.name or 'no name'}) is not a table.")
    reason = fitsio.unusable_reason(hdu, "table")
    if reason and "no rows" not in reason:
        raise NnstudioError(f"{name} HDU {index} cannot be read: it is {reason}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = _astropy_table(hdu)
            return table_to_columns(table, f"{name} HDU {index}")
        except NnstudioError:
            raise
        except MemoryError:
            raise NnstudioError(f"{name} HDU {index} holds more data than fits in the free "
                                f"memory.") from None
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for damaged tables
            raise NnstudioError(f"{name} HDU {index}: astropy cannot read this "
                                f"{fitsio.hdu_type(hdu)} ({first_line(exc)}).") from None


def _astropy_table(hdu):
    from astropy.io import fits
    from astropy.table import Table

    if not isinstance(hdu, fits.TableHDU) or isinstance(hdu, fits.BinTableHDU):
        return Table.read(hdu)
    try:
        return Table.read(hdu)
    except TypeError:
        return _ascii_table_with_nulls(hdu)


def _ascii_table_with_nulls(hdu):
    """An ASCII-table HDU with TNULL values, which astropy's Table.read trips over.

    astropy converts the text fields itself (``hdu.data``); a field whose raw text is the
    column's TNULL string becomes a masked value.
    """
    from astropy.table import MaskedColumn, Table

    data = hdu.data
    raw = data.view(np.ndarray)   # the record array of the fields' text, before conversion
    table = Table()
    for col in hdu.columns:
        values = np.asarray(data[col.name])
        mask = np.zeros(len(values), dtype=bool)
        if col.null is not None:
            mask = np.char.strip(raw[col.name]) == str(col.null).strip().encode("ascii")
        table[col.name] = MaskedColumn(values, mask=mask)
    return table


def first_table_hdu(hdul) -> int | None:
    for i, hdu in enumerate(hdul):
        if fitsio.hdu_kind(hdu) == "table":
            return i
    return None


def read_fits_table_file(path, hdu=None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns of a table HDU (the first table when ``hdu`` is None)."""
    with fitsio.open_fits(path) as hdul:
        index = first_table_hdu(hdul) if hdu is None else fitsio.choose_hdu(hdul, hdu, path)
        if index is None:
            raise NnstudioError(f"{os.path.basename(str(path))} has no table HDU.")
        return read_table_hdu(path, hdul, index)
