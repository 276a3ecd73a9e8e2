"""Compressed data files (gzip, bzip2, xz, LZW): what a file is wrapped in and its plain bytes.

These are the whole-file compressions astropy's readers open themselves; nnstudio looks inside
them only to sniff a format, measure the plain size and find where a FITS file ends. LZW (``.Z``) needs astropy's optional ``uncompresspy``; without it such a
file is refused with a line that says so.
"""
from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib.util
import lzma
import os

from nnstudio.core.data.messages import first_line
from nnstudio.errors import NnstudioError

_MAGIC = (("gzip", b"\x1f\x8b"), ("bzip2", b"BZh"), ("xz", b"\xfd7zXZ\x00"), ("lzw", b"\x1f\x9d"))
SUFFIXES = (".gz", ".bz2", ".xz", ".Z")
_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


def compression(path) -> str | None:
    """"gzip", "bzip2", "xz" or "lzw" from the file's first bytes; None for a plain file."""
    try:
        with open(path, "rb") as f:
            start = f.read(6)
    except OSError:
        return None
    for name, magic in _MAGIC:
        if start.startswith(magic):
            return name
    return None


def plain_name(name: str) -> str:
    """The file name without a compression suffix: ``t.csv.gz`` -> ``t.csv``."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) or (suffix != ".Z" and name.lower().endswith(suffix)):
            return name[: -len(suffix)]
    return name


def plain_suffix(path) -> str:
    """The lower-case extension that says the format, compression suffix removed."""
    return os.path.splitext(plain_name(os.path.basename(str(path))))[1].lower()


def check_readable(path) -> None:
    """Refuse, in one line, a compressed file that astropy cannot open here."""
    if compression(path) == "lzw" and importlib.util.find_spec("uncompresspy") is None:
        name = os.path.basename(str(path))
        raise NnstudioError(f"{name} is LZW-compressed (.Z), which astropy reads only with the "
                            f"optional package 'uncompresspy': install it or decompress the file "
                            f"first (uncompress {name}).")


@contextlib.contextmanager
def open_plain(path):
    """A binary file object of the file's decompressed bytes (the file itself when plain).

    gzip, bzip2 and xz through the standard library (which closes the file when the stream is
    broken); LZW through astropy.
    """
    kind = compression(path)
    if kind is None:
        with open(path, "rb") as f:
            yield f
        return
    if kind in _OPENERS:
        with _OPENERS[kind](path, "rb") as f:
            yield f
        return
    from astropy.utils.data import get_readable_fileobj

    check_readable(path)
    with get_readable_fileobj(str(path), encoding="binary") as f:
        yield f


def read_plain(path, limit: int | None = None) -> bytes:
    """The first ``limit`` decompressed bytes (all when None); a broken stream raises."""
    name = os.path.basename(str(path))
    try:
        with open_plain(path) as f:
            return f.read() if limit is None else f.read(limit)
    except NnstudioError:
        raise
    except (OSError, EOFError, ValueError, ImportError) as exc:
        raise NnstudioError(f"{name} is a damaged or truncated {compression(path)} file "
                            f"({first_line(exc)}).") from None


def plain_size(path) -> int:
    """The number of decompressed bytes (the file size when plain); a broken stream raises."""
    if compression(path) is None:
        return os.path.getsize(path)
    name = os.path.basename(str(path))
    total = 0
    try:
        with open_plain(path) as f:
            while chunk := f.read(16 << 20):
                total += len(chunk)
    except NnstudioError:
        raise
    except (OSError, EOFError, ValueError, ImportError) as exc:
        raise NnstudioError(f"{name} is a damaged or truncated {compression(path)} file "
                            f"({first_line(exc)}).") from None
    return total

