"""Numbers as people read them, one set of rules for the CLI, the report and every panel.

A missing or non-finite figure is a dash, never "nan" in one place and "—" in another.
"""
from __future__ import annotations

import math
import numbers

DASH = "—"


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_number(v, digits: int = 4, blank: str = DASH) -> str:
    """A float to ``digits`` significant digits ("0.1235", "1.235e+04"); ``blank`` when missing
    or not finite. Integers keep every digit; text is returned as it is."""
    if v is None:
        return blank
    if isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return str(v)
    f = _finite(v)
    return blank if f is None else f"{f:.{digits}g}"


def fmt_count(n, blank: str = DASH) -> str:
    """A whole count with thousands separators: 285569 -> "285,569"; ``blank`` when missing."""
    f = _finite(n)
    return blank if f is None else f"{round(f):,}"


def fmt_percent(v, digits: int = 1, blank: str = DASH) -> str:
    """A fraction as a percentage: 0.847 -> "84.7%"."""
    f = _finite(v)
    return blank if f is None else f"{100.0 * f:.{digits}f}%"


def fmt_level(v: float) -> str:
    """A nominal level: 0.9 -> "90%", erf(1/√2) -> "68.3%"."""
    p = 100.0 * float(v)
    return f"{p:.0f}%" if abs(p - round(p)) < 1e-9 else f"{p:.1f}%"


def fmt_interval(low, high, digits: int = 3) -> str:
    """A 95% interval as "[0.91, 0.95]" (dash when missing)."""
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return DASH
    return f"[{lo:.{digits}g}, {hi:.{digits}g}]"


def fmt_p(p, blank: str = DASH) -> str:
    """A p-value: "0.032", "0.5", "< 0.001" (below that the digits say nothing more)."""
    f = _finite(p)
    if f is None:
        return blank
    return "< 0.001" if f < 0.001 else f"{f:.2g}"


def fmt_seconds(s, blank: str = DASH) -> str:
    """A duration: "0:42", "12:05", "1:02:03"."""
    f = _finite(s)
    if f is None:
        return blank
    whole = round(f)
    h, rem = divmod(whole, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_when(iso: str | None) -> str:
    """An ISO timestamp to the minute: ``2025-01-01T12:03:04`` -> ``2025-01-01 12:03``."""
    return iso.replace("T", " ")[:16] if iso else DASH


__all__ = ["DASH", "fmt_count", "fmt_interval", "fmt_level", "fmt_number", "fmt_p", "fmt_percent",
           "fmt_seconds", "fmt_when"]
