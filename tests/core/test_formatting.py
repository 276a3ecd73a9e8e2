"""The one number formatter: the forms the panels and the CLI show."""
import math

import numpy as np

from nnstudio.core.formatting import DASH, fmt_count, fmt_number, fmt_percent


def test_counts_have_thousands_separators_and_missing_is_a_dash():
    assert [fmt_count(v) for v in (0, 7, 285569, np.int64(1234567), 12.0)] == \
        ["0", "7", "285,569", "1,234,567", "12"]
    assert fmt_count(None) == DASH and fmt_count(math.nan) == DASH
    assert fmt_count(None, blank="?") == "?"


def test_numbers_to_significant_digits():
    assert fmt_number(0.123456) == "0.1235"
    assert fmt_number(2.5e-7, digits=6) == "2.5e-07"
    assert fmt_number(1234567.0, digits=6) == "1.23457e+06"
    assert fmt_number(12345) == "12345"              # integers keep every digit
    assert fmt_number(math.inf) == DASH and fmt_number(None, blank="") == ""
    assert fmt_percent(12 / 24, 0) == "50%"
