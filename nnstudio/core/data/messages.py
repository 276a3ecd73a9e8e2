"""One-line text from the exceptions astropy and the compression modules raise."""
from __future__ import annotations

import os


def first_line(exc, path=None, limit: int = 200) -> str:
    """The exception's first line (its type when it has no text), the file's folder cut off.

    astropy's VOTable errors start with the full path of the file; the name alone is enough.
    """
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    if path is not None:
        full = str(path)
        text = text.replace(full, os.path.basename(full))
    return text[:limit]
