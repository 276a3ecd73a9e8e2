"""Damaged FITS files (hypothesis): the readers raise nnstudio's own one-line error, nothing else.

Real files from astropy's test data are cut short, have header cards replaced, or are replaced
by random bytes; every reader entry point must either read them or refuse them with an
NnstudioError.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

astropy = pytest.importorskip("astropy")

from nnstudio.core.data.inspect import inspect_file
from nnstudio.core.data.readers import list_parts, read_any_table, read_dataset
from nnstudio.core.data.spec import DataSelection
from nnstudio.errors import NnstudioError

FITS_DIR = Path(astropy.__file__).parent / "io" / "fits" / "tests" / "data"
REAL = sorted(p for p in FITS_DIR.glob("*.fits") if p.stat().st_size <= 100_000)
if not REAL:
    pytest.skip("this astropy ships no FITS test data", allow_module_level=True)

SETTINGS = settings(deadline=None, max_examples=40, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# header cards that break the structure in the ways real damage does
BAD_CARDS = [
    "NAXIS   =                  999", "NAXIS   =                   -1", "NAXIS1  =        2147483647",
    "NAXIS2  =             99999999", "NAXIS1  =                    0", "BITPIX  =                    7",
    "BITPIX  = 'sixteen'", "BSCALE  = 'x'", "BZERO   =                  1E9", "BLANK   =          3.5",
    "GCOUNT  =                   -3", "PCOUNT  =           1000000000", "TFIELDS =                  500",
    "TFORM1  = 'QQ'", "TFORM1  = '1000000E'", "TDIM1   = '(9,9,9)'", "TNULL1  = 'abc'",
    "XTENSION= 'BINTABLE'", "XTENSION= 'IMAGE   '", "XTENSION= 'TABLE   '", "ZNAXIS1 =           100000",
    "ZBITPIX =                   13", "ZCMPTYPE= 'NOPE_1'", "ZTILE1  =                    0",
    "END", "SIMPLE  =                    F", "EXTEND  =                    T",
]


def _read_everything(path: Path) -> None:
    """Every entry point a file reaches: inspect, the reader, the HDU list, a label table.

    A warning that gets out (astropy's complaints about a damaged header) fails the test too:
    on the command line it would print lines of its own.
    """
    for call in (lambda: inspect_file(path), lambda: read_dataset(DataSelection(path=str(path))),
                 lambda: list_parts(path), lambda: read_any_table(path)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                call()
            except NnstudioError as exc:
                assert str(exc) and "\n" not in str(exc)


def _header_card_offsets(raw: bytes) -> list[int]:
    """Offsets of the 80-byte cards of every header (up to each END card)."""
    offsets, pos = [], 0
    while pos + 80 <= len(raw) and raw[pos:pos + 8] in (b"SIMPLE  ", b"XTENSION"):
        k = pos
        while k + 80 <= len(raw):
            offsets.append(k)
            if raw[k:k + 8] == b"END     ":
                break
            k += 80
        pos = -(-(k + 80) // 2880) * 2880
        # the data: skip to the next block that starts a header
        while pos + 8 <= len(raw) and raw[pos:pos + 8] != b"XTENSION":
            pos += 2880
    return offsets


@SETTINGS
@given(source=st.sampled_from(REAL), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_real_files(tmp_path_factory, source, fraction):
    raw = source.read_bytes()
    path = tmp_path_factory.mktemp("cut") / source.name
    path.write_bytes(raw[: int(len(raw) * fraction)])
    _read_everything(path)


@SETTINGS
@given(source=st.sampled_from(REAL), data=st.data(),
       card=st.one_of(st.sampled_from(BAD_CARDS),
                      st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)))
def test_real_files_with_a_header_card_replaced(tmp_path_factory, source, data, card):
    raw = bytearray(source.read_bytes())
    offsets = _header_card_offsets(bytes(raw))
    at = data.draw(st.sampled_from(offsets))
    raw[at:at + 80] = card.ljust(80)[:80].encode("ascii")
    path = tmp_path_factory.mktemp("card") / source.name
    path.write_bytes(bytes(raw))
    _read_everything(path)


@SETTINGS
@given(body=st.binary(max_size=6000), fits_start=st.booleans(),
       name=st.sampled_from(["x.fits", "x.fits.gz", "x.csv", "x.xml", "x.dat"]))
def test_random_bytes(tmp_path_factory, body, fits_start, name):
    path = tmp_path_factory.mktemp("rand") / name
    path.write_bytes((b"SIMPLE  =                    T" + b" " * 50 if fits_start else b"") + body)
    _read_everything(path)
