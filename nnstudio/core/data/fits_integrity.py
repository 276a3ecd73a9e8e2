"""Is a FITS file whole? The sizes its headers declare against the bytes that are there.

astropy opens a file cut short without an error: it warns, or stops at the last header it can
read, and the HDUs after it are silently missing. Here the cut is found from the headers astropy
parsed, and named: which HDU the file ends in, and whether in its header or its data.
"""
from __future__ import annotations

import contextlib
import os
import warnings

from nnstudio.core.data import compression
from nnstudio.core.data.messages import first_line
from nnstudio.errors import NnstudioError

BLOCK = 2880
CARD = 80
_END = b"END" + b" " * 77
_MAX_HEADER_BLOCKS = 1000   # headers longer than this (2.9 MB) are not looked through


def declared_bytes(hdu) -> int:
    """Bytes of data the HDU's header declares, without the padding to a 2880-byte block."""
    # a tile-compressed image: the binary table astropy keeps underneath holds the file's bytes
    raw = getattr(hdu, "_bintable", None) or hdu
    try:
        return int(raw.size)
    except Exception:  # noqa: BLE001 - fall back to astropy's padded span
        return int(hdu.fileinfo()["datSpan"])


def _label(i: int, hdu) -> str:
    return f"HDU {i} ({hdu.name})" if getattr(hdu, "name", "") else f"HDU {i}"


def check_complete(hdul, path, size: int) -> None:
    """Refuse a file that ends before the data or the headers it declares."""
    name = os.path.basename(str(path))
    end, last = 0, None
    for i, hdu in enumerate(hdul):
        info = hdu.fileinfo()
        if info is None:
            continue
        start = int(info["datLoc"])
        need = declared_bytes(hdu)
        if start + need > size:
            have = max(0, size - start)
            raise NnstudioError(
                f"{name} is truncated: it ends inside the data of {_label(i, hdu)}, after "
                f"{have:,} of its {need:,} bytes.")
        end = start + int(info["datSpan"])
        last = (i, hdu, start, need)
    if last is not None and size < _whole_blocks(end):
        _check_last_block(name, size, *last)
    if size <= end:
        return
    rest = _read_at(path, end, 8)
    if not rest or not (rest.startswith(b"XTENSION") or b"XTENSION".startswith(rest)):
        return   # padding or stray bytes after the last HDU: nothing declared is missing
    n = len(hdul)
    if header_incomplete(path, end):
        raise NnstudioError(f"{name} is truncated: it ends inside the header of HDU {n}, after "
                            f"{size:,} bytes; HDU {n} and any after it are missing.")
    raise NnstudioError(f"{name} is corrupt: the header of HDU {n} (at byte {end:,}) cannot be "
                        f"read, so HDU {n} and any after it are missing.")


def _whole_blocks(n: int) -> int:
    return -(-n // BLOCK) * BLOCK


def _check_last_block(name: str, size: int, i: int, hdu, start: int, need: int) -> None:
    """The file stops inside the last HDU's final 2880-byte block (astropy warns of this).

    Only a file that ends exactly where the data does is let through (with a note): some
    writers leave the padding out. Ending part-way through the padding, or through the last
    block of a header, is a cut.
    """
    if need > 0 and size == start + need:
        return
    if need == 0 and start % BLOCK:   # astropy puts a data-less HDU's start at the end of file
        raise NnstudioError(f"{name} is truncated: it ends inside the header of "
                            f"{_label(i, hdu)}, after {size:,} bytes.")
    raise NnstudioError(f"{name} is truncated: it ends inside the padding after the data of "
                        f"{_label(i, hdu)}, after {size:,} bytes; any HDUs that followed are "
                        f"missing.")


def explain_open_failure(path, size: int, exc, memmap) -> NnstudioError:
    """The error for a file astropy refuses to open: where it is cut short, or that it is corrupt.

    astropy raises (rather than stopping) when a header is cut at a block boundary, so the HDUs
    before the break are read one at a time to find where it is.
    """
    from astropy.io import fits

    name = os.path.basename(str(path))
    whole = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the break raises, or IndexError ends a file that reads whole this way
        with contextlib.suppress(Exception), fits.open(
                str(path), memmap=memmap, lazy_load_hdus=True,
                do_not_scale_image_data=True) as hdul:
            while True:
                whole.append(hdul[len(whole)])
    if whole:
        try:
            check_complete(whole, path, size)
        except NnstudioError as located:
            return located
    elif header_incomplete(path, 0):
        return NnstudioError(f"{name} is truncated: it ends inside the header of HDU 0, after "
                             f"{size:,} bytes.")
    return NnstudioError(f"{name} is a corrupt FITS file ({first_line(exc)}).")


def completeness_notes(hdul, path, size: int) -> list[str]:
    """Signs that HDUs may be missing where nothing declared is: said, not refused.

    A file cut exactly between HDUs looks whole. Hints remain: the file ends right after the
    last HDU's data without the padding to a whole 2880-byte block (some writers leave it out),
    a NEXTEND keyword counting more extensions than there are, or a lone empty primary HDU that
    allows extensions.
    """
    name = os.path.basename(str(path))
    notes = []
    infos = [(i, h.fileinfo()) for i, h in enumerate(hdul)]
    infos = [(i, info) for i, info in infos if info is not None]
    if infos:
        i, info = infos[-1]
        if size < _whole_blocks(int(info["datLoc"]) + int(info["datSpan"])):
            notes.append(f"{name} ends right after the data of HDU {i}, without the padding to "
                         f"a whole FITS block: some writers leave it out, but the file may also "
                         f"have been cut there, losing any HDUs after it.")
    header = hdul[0].header if len(hdul) else {}
    try:
        announced = int(header.get("NEXTEND", 0))
    except (TypeError, ValueError):
        announced = 0
    if announced > len(hdul) - 1:
        notes.append(f"{name}'s primary header announces {announced} extensions (NEXTEND) but "
                     f"the file holds {len(hdul) - 1}: it may have been cut short after HDU "
                     f"{len(hdul) - 1}.")
    elif len(hdul) == 1 and header.get("EXTEND") is True and declared_bytes(hdul[0]) == 0:
        notes.append(f"{name} holds only an empty primary HDU, whose header allows extensions "
                     f"(EXTEND = T): it may have been cut short after HDU 0.")
    return notes


def header_incomplete(path, offset: int) -> bool:
    """True when the file ends inside the header that starts at ``offset``.

    That is before its END card, or before the end of the 2880-byte block that holds it.
    """
    try:
        with compression.open_plain(path) as f:
            f.seek(offset)
            for _ in range(_MAX_HEADER_BLOCKS):
                block = f.read(BLOCK)
                for k in range(0, len(block) - CARD + 1, CARD):
                    if block[k:k + CARD] == _END:
                        return len(block) < BLOCK
                if len(block) < BLOCK:
                    return True
    except (OSError, EOFError, ValueError, NnstudioError):
        return False
    return False


def _read_at(path, offset: int, n: int) -> bytes:
    try:
        with compression.open_plain(path) as f:
            f.seek(offset)
            return f.read(n)
    except (OSError, EOFError, ValueError, NnstudioError):
        return b""
