"""PNG files from RGB arrays with the standard library only (zlib), so core needs no imaging package."""
from __future__ import annotations

import struct
import zlib

import numpy as np


def png_bytes(rgb) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (H, W, 3), values 0..255 (clipped), first row at the top."""
    a = np.clip(np.asarray(rgb, dtype=np.float64), 0, 255).round().astype(np.uint8)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, got {a.shape}")
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(h))      # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


__all__ = ["png_bytes"]
