"""FITS access: sniffing, opening with truncation caught, the HDU list, images read in chunks.

Uncompressed image data is read straight from the file into the native float32 result, one
chunk at a time (byte-swapped and scaled in place), so a cube costs its float32 size in memory
and no more. Compressed files (gzip, bzip2, xz) and tile-compressed HDUs go through astropy.
Table HDUs are read in :mod:`nnstudio.core.data.fits_tables`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings

import numpy as np

from nnstudio.core.data import compression
from nnstudio.core.data.fits_integrity import (
    check_complete,
    completeness_notes,
    explain_open_failure,
)
from nnstudio.core.data.messages import first_line
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

FITS_EXTENSIONS = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fts.gz",
                   ".fits.bz2", ".fits.xz", ".fits.z")
CHUNK_BYTES = 16 * 1024 * 1024
_BITPIX = {8: "u1", 16: "i2", 32: "i4", 64: "i8", -32: "f4", -64: "f8"}
_MAX_CHANNELS = 16
TRAINABLE = ("nnstudio trains on 2-D images, 3-D cubes (N×H×W) and 4-D cubes (N×H×W×C)")


def looks_like_fits_name(path) -> bool:
    return str(path).lower().endswith(FITS_EXTENSIONS)


def misnamed_fits(path) -> NnstudioError:
    """The error for a file named like FITS whose content is not (or is cut within 9 bytes)."""
    try:
        start = compression.read_plain(path, 9)
    except (NnstudioError, OSError):
        start = b""
    if start and b"SIMPLE  =".startswith(start):
        return NnstudioError(f"{os.path.basename(str(path))} is truncated: it ends inside the "
                             f"header of HDU 0, after {len(start)} bytes.")
    return NnstudioError(f"{os.path.basename(str(path))} is named like a FITS file but is not one "
                         f"(it does not start with a 'SIMPLE  =' card).")


def file_notes(hdul) -> list[str]:
    """What :func:`open_fits` noticed about the whole file (HDUs that may be missing)."""
    return list(getattr(hdul, "nnstudio_notes", []))


def _packed(path) -> bool:
    """Compressed as a whole file (gzip, bzip2, xz, LZW): no direct reads, no memory map."""
    return compression.compression(path) is not None


def is_fits(path) -> bool:
    """True when the file starts with the FITS ``SIMPLE  =`` card (also inside compression)."""
    try:
        return compression.read_plain(path, 9) == b"SIMPLE  ="
    except (NnstudioError, OSError):
        return False


@contextlib.contextmanager
def open_fits(path, scaled: bool = False):
    """astropy's HDU list with every header parsed; astropy's errors become NnstudioError.

    A file that ends before the data its headers declare is refused, naming the HDU where it
    ends. ``scaled=False`` leaves BSCALE/BZERO/BLANK in the headers: the chunked reader applies
    them. With ``scaled=True`` astropy scales, which it refuses on a strict memory map, so the
    map is left to astropy's choice (it copies scaled data).
    """
    from astropy.io import fits

    path = str(path)
    name = os.path.basename(path)
    compression.check_readable(path)
    if not is_fits(path):
        raise NnstudioError(f"{name} is not a FITS file: it does not start with a 'SIMPLE  =' card.")
    size = compression.plain_size(path)
    memmap = False if _packed(path) else (None if scaled else True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            hdul = fits.open(path, memmap=memmap, do_not_scale_image_data=not scaled,
                             lazy_load_hdus=False)
        except Exception as exc:  # noqa: BLE001 - astropy raises many types for broken files
            raise explain_open_failure(path, size, exc, memmap) from None
        _parse_headers(hdul)
    try:
        check_complete(hdul, path, size)
        hdul.nnstudio_notes = completeness_notes(hdul, path, size)
        yield hdul
    except NnstudioError:
        raise
    except MemoryError:
        raise NnstudioError(f"{name} holds more data than fits in the free memory.") from None
    except Exception as exc:  # noqa: BLE001 - astropy raises many types for damaged data
        raise NnstudioError(f"Could not read {name}: the FITS file looks corrupt "
                            f"({first_line(exc)}).") from None
    finally:
        with contextlib.suppress(Exception):
            hdul.close()


def _parse_headers(hdul) -> None:
    """Parse every card value and column definition now, while astropy's warnings are muted.

    astropy parses them on first use and warns about odd ones then; later uses are cached, so
    nothing it says about a damaged header reaches the terminal. A card that cannot be parsed
    stays as astropy keeps it.
    """
    for hdu in hdul:
        for card in hdu.header.cards:
            with contextlib.suppress(Exception):
                card.value  # noqa: B018 - parsed for its side effect
        with contextlib.suppress(Exception):   # images have none: AttributeError
            hdu.columns  # noqa: B018


# -- describing HDUs ------------------------------------------------------------------------

def hdu_type(hdu) -> str:
    """What the HDU is, in FITS terms: primary, image, compressed image, binary table, …"""
    from astropy.io import fits

    if isinstance(hdu, fits.GroupsHDU):
        return "random groups"
    if isinstance(hdu, fits.CompImageHDU):
        return "compressed image"
    if isinstance(hdu, fits.BinTableHDU):
        return "binary table"
    if isinstance(hdu, fits.TableHDU):
        return "ASCII table"
    return "primary" if isinstance(hdu, fits.PrimaryHDU) else "image"


def hdu_kind(hdu) -> str:
    """"image", "table" (binary, ASCII and random-groups HDUs) or "empty"."""
    from astropy.io import fits

    if isinstance(hdu, fits.GroupsHDU):
        return "table" if _n_groups(hdu) else "empty"
    if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        return "table"
    if isinstance(hdu, fits.CompImageHDU) or hdu.header.get("NAXIS", 0) > 0:
        return "image" if _image_shape(hdu) else "empty"
    return "empty"


def _n_groups(hdu) -> int:
    """Random groups: how many groups there are (0 when an axis is empty)."""
    h = hdu.header
    axes = [int(h.get(f"NAXIS{i}", 0)) for i in range(2, int(h.get("NAXIS", 0)) + 1)]
    return int(h.get("GCOUNT", 0)) if axes and all(a > 0 for a in axes) else 0


def _image_shape(hdu) -> tuple[int, ...]:
    """Numpy-order shape from the header, without touching the data."""
    from astropy.io import fits

    if isinstance(hdu, fits.CompImageHDU):
        shape = tuple(int(d) for d in hdu.shape)
        return shape if shape and all(d > 0 for d in shape) else ()
    h = hdu.header
    naxis = int(h.get("NAXIS", 0))
    shape = tuple(int(h.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1))
    return shape if shape and all(d > 0 for d in shape) else ()


def _image_dtype(hdu) -> str:
    from astropy.io import fits

    h = hdu.header
    bitpix = int(h.get("ZBITPIX", h.get("BITPIX"))) if isinstance(hdu, fits.CompImageHDU) \
        else int(h.get("BITPIX"))
    base = np.dtype(_BITPIX.get(bitpix, "f4")).name
    scaled = h.get("BSCALE", 1) != 1 or h.get("BZERO", 0) != 0
    return f"{base} (scaled)" if scaled else base


def _table_rows(hdu) -> int:
    from astropy.io import fits

    return _n_groups(hdu) if isinstance(hdu, fits.GroupsHDU) else int(hdu.header.get("NAXIS2", 0))


def _column_names(hdu) -> list[str]:
    try:
        return [c.name for c in hdu.columns]
    except Exception:  # noqa: BLE001 - a damaged column definition: described as no columns
        return []


def unusable_reason(hdu, kind: str | None = None) -> str:
    """Why nnstudio cannot train on this HDU; "" when it can."""
    kind = kind or hdu_kind(hdu)
    if kind == "empty":
        return "no data"
    if kind == "image":
        shape = _image_shape(hdu)
        if len(shape) < 2 or len(shape) > 4:
            dims = "×".join(str(d) for d in shape)
            return f"a {len(shape)}-D array ({dims}): {TRAINABLE}"
        return ""
    if hdu.header.get("ZTABLE"):
        return "a tile-compressed table, which astropy cannot decompress"
    if not _column_names(hdu):
        return "a table with no columns"
    if _table_rows(hdu) == 0:
        return "a table with no rows"
    return ""


def describe_hdus(hdul) -> list[dict]:
    """Per HDU: index, name, kind, type, shape, dtype, column names, usable and the reason."""
    out = []
    for i, hdu in enumerate(hdul):
        kind = hdu_kind(hdu)
        reason = unusable_reason(hdu, kind)
        entry = {"index": i, "name": hdu.name or ("PRIMARY" if i == 0 else ""),
                 "kind": kind, "type": hdu_type(hdu), "shape": [], "dtype": None,
                 "columns": [], "usable": not reason, "reason": reason}
        if kind == "image":
            entry["shape"] = list(_image_shape(hdu))
            entry["dtype"] = _image_dtype(hdu)
        elif kind == "table":
            entry["shape"] = [_table_rows(hdu)]
            entry["columns"] = _column_names(hdu)
        out.append(entry)
    return out


def list_hdus(path) -> list[dict]:
    """The entries of :func:`describe_hdus` for a FITS file."""
    with open_fits(path) as hdul:
        return describe_hdus(hdul)


def choose_hdu(hdul, wanted, path) -> int:
    """Index of the HDU asked for (index or name), or of the first usable image, then table."""
    name = os.path.basename(str(path))
    if wanted is None:
        described = describe_hdus(hdul)
        for kind in ("image", "table"):
            for d in described:
                if d["kind"] == kind and d["usable"]:
                    return d["index"]
        why = "; ".join(f"HDU {d['index']}: {d['reason']}" for d in described[:4])
        more = f"; and {len(described) - 4} more" if len(described) > 4 else ""
        hint = "".join(f" {n}" for n in file_notes(hdul)[:1])
        raise NnstudioError(f"{name} holds no image or table nnstudio can use ({why}{more})."
                            f"{hint}")
    if isinstance(wanted, str) and wanted.strip().lstrip("-").isdigit():
        wanted = int(wanted)
    if isinstance(wanted, int):
        if not 0 <= wanted < len(hdul):
            raise NnstudioError(f"{name} has HDUs 0 to {len(hdul) - 1}; there is no HDU {wanted}.")
        return wanted
    for i, hdu in enumerate(hdul):
        if (hdu.name or "").upper() == str(wanted).upper():
            return i
    names = ", ".join(h.name for h in hdul if h.name) or "(none named)"
    raise NnstudioError(f"{name} has no HDU named {wanted!r}. Its HDUs: {names}.")


# -- images -----------------------------------------------------------------------------------

def image_layout(shape: tuple[int, ...], name: str, index: int) -> tuple[tuple[int, ...], bool, str]:
    """(N, H, W, C) for a FITS image shape, whether channels must move last, and a note."""
    if len(shape) == 2:
        return (1, shape[0], shape[1], 1), False, ""
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2], 1), False, ""
    if len(shape) == 4:
        n, a, b, c = shape
        if c <= _MAX_CHANNELS and c < a and c < b:
            return (n, a, b, c), False, ""
        if a <= _MAX_CHANNELS:
            note = (f"{name} HDU {index}: the 4-D cube {shape} was read as N×C×H×W "
                    f"({a} bands) and its bands moved last.")
            return (n, b, c, a), True, note
        return (n, a, b, c), False, ""
    raise NnstudioError(f"{name} HDU {index} is a {len(shape)}-D array {shape}: {TRAINABLE}.")


def image_shape(hdul, index: int, path="") -> tuple[int, int, int, int]:
    """(N, H, W, C) that :func:`read_image_hdu` will return for this HDU."""
    name = os.path.basename(str(path))
    shape = _image_shape(hdul[index])
    if not shape:
        raise NnstudioError(f"{name} HDU {index} holds no image data.")
    return image_layout(shape, name, index)[0]


def read_image_hdu(path, hdul, index: int, task: Task | None = None) -> tuple[np.ndarray, list[str]]:
    """The HDU's data as native float32 (N, H, W, C), with BSCALE/BZERO/BLANK applied."""
    name = os.path.basename(str(path))
    shape = _image_shape(hdul[index])
    if not shape:
        raise NnstudioError(f"{name} HDU {index} holds no image data.")
    out_shape, _, note = image_layout(shape, name, index)
    notes = [note] if note else []
    try:
        out = np.empty(out_shape, dtype=np.float32)
    except MemoryError:
        gb = np.prod(out_shape) * 4 / 1e9
        raise NnstudioError(f"{name} HDU {index} needs {gb:.1f} GB as float32, more than the "
                            f"free memory.") from None
    read_image_rows(path, hdul, index, 0, out_shape[0], out=out, task=task)
    n_bad = int(nonfinite_per_image(out).sum())
    if n_bad:
        notes.append(f"{name} HDU {index}: {n_bad} pixel(s) are NaN, blank or infinite.")
    return out, notes


def read_image_rows(path, hdul, index: int, start: int, stop: int, out: np.ndarray | None = None,
                    task: Task | None = None) -> np.ndarray:
    """Images ``start:stop`` of an image HDU as float32 (n, H, W, C): previews, chunked scans."""
    from astropy.io import fits

    task = task or Task()
    name = os.path.basename(str(path))
    hdu = hdul[index]
    shape = _image_shape(hdu)
    out_shape, channels_first, _ = image_layout(shape, name, index)
    start, stop = max(0, start), min(out_shape[0], stop)
    if out is None:
        out = np.empty((stop - start,) + out_shape[1:], dtype=np.float32)
    row_elems = int(np.prod(shape[1:])) if len(shape) > 2 else int(np.prod(shape))
    compressed = isinstance(hdu, fits.CompImageHDU)
    if not compressed and not _packed(path) and hdu.fileinfo() is not None:
        _read_raw(path, hdu, out, start, stop, out_shape[0], row_elems, channels_first, name,
                  index, task)
    else:
        _read_via_astropy(path, index, out, start, stop, channels_first, compressed, name, task)
    return out


def _rows_per_chunk(row_bytes: int) -> int:
    return max(1, CHUNK_BYTES // max(1, row_bytes))


def _read_raw(path, hdu, out, start, stop, n, row_elems, channels_first, name, index, task):
    h = hdu.header
    bitpix = int(h["BITPIX"])
    if bitpix not in _BITPIX:
        raise NnstudioError(f"{name} HDU {index} has an invalid BITPIX {bitpix}.")
    disk = np.dtype(">" + _BITPIX[bitpix]) if bitpix != 8 else np.dtype("u1")
    bscale = float(h.get("BSCALE", 1.0))
    bzero = float(h.get("BZERO", 0.0))
    blank = h.get("BLANK") if bitpix > 0 else None
    data_start = hdu.fileinfo()["datLoc"]
    need = n * row_elems * disk.itemsize
    size = os.path.getsize(path)
    if data_start + need > size:
        raise NnstudioError(
            f"{name} is truncated: HDU {index} needs {need:,} bytes of data but the file ends "
            f"{max(0, data_start + need - size):,} bytes short.")
    direct = bitpix == -32 and not channels_first
    step = _rows_per_chunk(row_elems * disk.itemsize)
    flat = out.reshape(len(out), -1)
    swap = sys.byteorder == "little"
    work = np.float64 if (bitpix > 0 and disk.itemsize >= 4) or bitpix == -64 else np.float32
    with open(path, "rb", buffering=0) as f:
        f.seek(data_start + start * row_elems * disk.itemsize)
        for i in range(start, stop, step):
            task.check()
            j = min(stop, i + step)
            if direct:
                dest = flat[i - start:j - start]
                _readinto(f, dest.reshape(-1).view(np.uint8), name)
                if swap:
                    dest.byteswap(inplace=True)
                if bscale != 1.0:
                    dest *= np.float32(bscale)
                if bzero != 0.0:
                    dest += np.float32(bzero)
            else:
                tmp = np.empty((j - i) * row_elems, dtype=disk)
                _readinto(f, tmp.view(np.uint8), name)
                vals = tmp.astype(work)
                if bscale != 1.0:
                    vals *= bscale
                if bzero != 0.0:
                    vals += bzero
                if blank is not None:
                    vals[tmp == int(blank)] = np.nan
                _store(out, i - start, j - start, vals, channels_first)
            task.report_progress(j - start, stop - start,
                                 f"Reading {name}: {j - start} of {stop - start} images")


def _readinto(f, buf: np.ndarray, name: str) -> None:
    view = memoryview(buf)
    got = 0
    while got < len(view):
        k = f.readinto(view[got:])
        if not k:
            raise NnstudioError(f"{name} is truncated: the file ends inside the image data.")
        got += k


def _store(out, i, j, vals, channels_first):
    if channels_first:
        _, h, w, c = out.shape
        out[i:j] = vals.reshape(j - i, c, h, w).transpose(0, 2, 3, 1)
    else:
        out[i:j] = vals.reshape(out[i:j].shape)


def _read_via_astropy(path, index, out, start, stop, channels_first, compressed, name, task):
    # Scaled access: astropy applies BSCALE/BZERO/BLANK itself here.
    with open_fits(path, scaled=True) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdu = hdul[index]
        data = None
        multi = len(hdu.shape) > 2
        step = _rows_per_chunk(out[0].nbytes)
        for i in range(start, stop, step):
            task.check()
            j = min(stop, i + step)
            if compressed and multi:
                chunk = hdu.section[i:j]
            else:
                if data is None:
                    data = hdu.data
                    if data is None:
                        raise NnstudioError(f"{name} HDU {index} holds no image data.")
                    data = data if data.ndim > 2 else data[None]
                chunk = data[i:j]
            _store(out, i - start, j - start, np.asarray(chunk, dtype=np.float32),
                   channels_first)
            task.report_progress(j - start, stop - start,
                                 f"Reading {name}: {j - start} of {stop - start} images")


def nonfinite_per_image(a: np.ndarray) -> np.ndarray:
    """How many NaN or infinite pixels each image of ``a`` (N, ...) has, chunk by chunk: a chunk's
    float32 sum is finite when all its pixels are (an overflow only costs the exact count), and
    summing float32 is several times faster than testing every pixel or summing in float64."""
    counts = np.zeros(len(a), dtype=np.int64)
    if len(a) == 0:
        return counts
    step = max(1, CHUNK_BYTES // max(1, a[0].nbytes))
    for i in range(0, len(a), step):
        chunk = a[i:i + step]
        with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: NaN, said quietly
            total = chunk.sum()
        if not np.isfinite(total):
            flat = chunk.reshape(len(chunk), -1)
            counts[i:i + len(chunk)] = flat.shape[1] - np.count_nonzero(np.isfinite(flat), axis=1)
    return counts