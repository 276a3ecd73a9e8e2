"""New data to predict on: any input the Data step reads, its rows in input order, read a chunk at
a time so that memory stays bounded whatever the input's size.

:func:`open_source` looks at headers only (a cube's shape, each cutout's size and WCS) and reads
tables whole; :meth:`Source.read` reads the pixels of the rows asked for. A folder is searched
recursively and its order is its files' relative paths, sorted. Rows that cannot be read (an
unreadable file, with ``skip_bad``) keep their place with a ``flags`` entry saying why.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.data import fitsio
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

RA_NAMES = ("ra", "raj2000", "ra_deg", "ra_icrs", "alpha_j2000", "ra2000")
DEC_NAMES = ("dec", "dej2000", "decj2000", "dec_deg", "de_icrs", "dec_icrs", "delta_j2000", "dec2000")


@dataclass
class Source:
    """``n`` rows of new data. ``kind`` "images" (``image_shape`` (H, W, C)) or "table"
    (``columns``, read whole). ``identity`` holds what the catalog carries over (``source``,
    ``hdu``, ``index``, id-like columns, ``ra``/``dec`` in degrees); ``labels`` the columns a
    label table or class sub-folders give (the target, when present); ``flags`` a reason per row
    that cannot be read ('' for the others)."""

    kind: str
    n: int
    name: str
    identity: dict[str, np.ndarray] = field(default_factory=dict)
    flags: np.ndarray | None = None
    image_shape: tuple[int, int, int] | None = None
    columns: dict[str, np.ndarray] | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    files: list[Path] | None = None       # one cutout per row
    cube: tuple[Path, int] | None = None  # (file, HDU) of a cube, one image per row
    notes: list[str] = field(default_factory=list)
    sky: str = ""                         # where ra/dec came from, or why there are none

    def __post_init__(self):
        if self.flags is None:
            self.flags = np.full(self.n, "", dtype=object)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Float32 images (k, H, W, C) of ``rows`` (sorted); flagged rows come back as NaN."""
        rows = np.asarray(rows, dtype=np.int64)
        h, w, c = self.image_shape
        out = np.full((len(rows), h, w, c), np.nan, dtype=np.float32)
        if self.files is not None:
            from nnstudio.core.data.readers import _read_cutout

            for k, r in enumerate(rows):
                if self.flags[r]:
                    continue
                try:
                    out[k] = _read_cutout(self.files[r]).reshape(h, w, c)
                except (NnstudioError, OSError, ValueError) as exc:
                    self.flags[r] = f"unreadable: {_reason(exc)}"
            return out
        path, index = self.cube
        with fitsio.open_fits(path) as hdul:
            for a, b in _runs(rows):
                k = int(np.searchsorted(rows, a))
                fitsio.read_image_rows(path, hdul, index, int(a), int(b), out=out[k:k + b - a])
        return out

    def column(self, name: str) -> np.ndarray:
        return self.columns[name]


def _reason(exc) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _runs(rows: np.ndarray):
    """Contiguous runs [a, b) of sorted row numbers."""
    if len(rows) == 0:
        return
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for part in np.split(rows, breaks):
        yield int(part[0]), int(part[-1]) + 1


# -- opening ----------------------------------------------------------------------------------------

def open_source(paths, hdu=None, *, skip_bad: bool = False, task: Task | None = None) -> Source:
    """The rows of ``paths``: one FITS file, table or folder, or several FITS cutouts (one a row)."""
    task = task or Task()
    paths = [Path(p).expanduser() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise NnstudioError("No input given: name a FITS file, a table, a folder of cutouts or "
                            "a list of files.")
    for p in paths:
        if not p.exists():
            raise NnstudioError(f"{p} does not exist.")
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        files = sorted((p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                        and fitsio.looks_like_fits_name(p)),
                       key=lambda p: p.relative_to(folder).as_posix())
        if not files:
            raise NnstudioError(f"The folder {folder.name} holds no FITS cutouts (.fits, .fit, "
                                f".fts, .fits.gz), directly or in sub-folders.")
        names = [p.relative_to(folder).as_posix() for p in files]
        src = _cutouts(files, names, folder.name, skip_bad, task)
        tops = [n.split("/")[0] for n in names if "/" in n]
        if len(tops) == len(names):
            src.labels["folder"] = np.array(tops, dtype=str)
        return src
    if len(paths) > 1:
        dirs = [p.name for p in paths if p.is_dir()]
        if dirs:
            raise NnstudioError(f"Give one folder, or a list of files: {dirs[0]} is a folder.")
        return _cutouts(paths, [str(p) for p in paths], f"{len(paths)} files", skip_bad, task)
    path = paths[0]
    if path.stat().st_size == 0:
        raise NnstudioError(f"{path.name} is empty (0 bytes).")
    if fitsio.is_fits(path):
        with fitsio.open_fits(path) as hdul:
            index = fitsio.choose_hdu(hdul, hdu, path)
            if fitsio.hdu_kind(hdul[index]) == "image":
                return _cube(path, hdul, index)
    return _table(path, hdu, task)


def _cutout_shape(shape) -> tuple[int, int, int] | None:
    """(H, W, C) of a cutout file's image as the Data step reads it, None if it holds several."""
    n, h, w, c = shape
    if n == 1:
        return h, w, c
    if c == 1 and n <= 16:
        return h, w, n
    return None


def _cutouts(files, names, name, skip_bad, task) -> Source:
    n = len(files)
    shapes: list = [None] * n
    ra = np.full(n, np.nan)
    dec = np.full(n, np.nan)
    flags = np.full(n, "", dtype=object)
    for k, p in enumerate(files):
        task.check()
        try:
            with fitsio.open_fits(p) as hdul:
                index = fitsio.choose_hdu(hdul, None, p)
                if fitsio.hdu_kind(hdul[index]) != "image":
                    raise NnstudioError(f"{p.name} holds a table, not an image cutout.")
                shape = _cutout_shape(fitsio.image_shape(hdul, index, p))
                if shape is None:
                    raise NnstudioError(f"{p.name} holds several images; give one cutout a file.")
                shapes[k] = shape
                ra[k], dec[k] = sky_position(hdul[index].header, shape)
        except (NnstudioError, OSError, ValueError) as exc:
            flags[k] = f"unreadable: {_reason(exc)}"
        if k % 64 == 0 or k == n - 1:
            task.report_progress(k + 1, n, f"Reading headers: {k + 1} of {n}")
    bad = [names[k] for k in range(n) if flags[k]]
    if bad and not skip_bad:
        listed = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise NnstudioError(f"{len(bad)} of {n} file(s) cannot be read: {listed}. Use --skip-bad "
                            f"(or 'skip unreadable files') to predict the others.")
    good = [s for s in shapes if s is not None]
    if not good:
        raise NnstudioError(f"None of the {n} file(s) can be read.")
    sizes = {}
    for k, s in enumerate(shapes):
        if s is not None:
            sizes.setdefault(s, k)
    if len(sizes) > 1:
        (s1, k1), (s2, k2) = list(sizes.items())[:2]
        raise NnstudioError(f"The images have different sizes: {names[k1]} is {size_text(s1)} but "
                            f"{names[k2]} is {size_text(s2)}. Every image must have the same size.")
    identity = {"source": np.array(names, dtype=str)}
    if np.isfinite(ra).any():
        identity.update(ra=ra, dec=dec)
    notes = [f"{len(bad)} unreadable file(s) skipped and flagged."] if bad else []
    return Source("images", n, name, identity, flags, image_shape=next(iter(sizes)),
                  files=list(files), notes=notes)


def _cube(path: Path, hdul, index: int) -> Source:
    from nnstudio.core.data import fits_tables

    n, h, w, c = fitsio.image_shape(hdul, index, path)
    identity = {"source": np.full(n, path.name), "hdu": np.full(n, index, dtype=np.int16),
                "index": np.arange(n, dtype=np.int64)}
    if n == 1:
        ra, dec = sky_position(hdul[index].header, (h, w, c))
        if np.isfinite(ra):
            identity.update(ra=np.array([ra]), dec=np.array([dec]))
    src = Source("images", n, path.name, identity, image_shape=(h, w, c), cube=(path, index))
    if n > 1:
        ra, dec, why = plane_positions(hdul[index].header, fitsio._image_shape(hdul[index]))
        if why:
            src.sky = why
        else:
            src.identity.update(ra=ra, dec=dec)
            src.sky = "ra/dec: each plane's centre by the cube's WCS"
    tables = [d["index"] for d in fitsio.describe_hdus(hdul)
              if d["kind"] == "table" and d["usable"] and d["shape"] == [n]]
    if len(tables) == 1:
        columns, _ = fits_tables.read_table_hdu(path, hdul, tables[0])
        src.identity.update(identity_columns(columns))
        src.labels.update(columns)
        if "ra" in identity_columns(columns):
            src.sky = f"ra/dec: from {path.name} HDU {tables[0]}"
        src.notes.append(f"Identity and labels from {path.name} HDU {tables[0]} (same rows).")
    return src


def _table(path: Path, hdu, task) -> Source:
    from nnstudio.core.data.readers import read_dataset
    from nnstudio.core.data.spec import DataSelection

    ds = read_dataset(DataSelection(path=str(path), hdu=hdu), task=task)
    if ds.kind == "images":
        raise NnstudioError(f"{path.name} holds images in a form nnstudio cannot predict on; give "
                            f"the FITS file itself or a folder of cutouts.")
    identity = {"source": np.full(ds.n_rows, path.name), "index": np.arange(ds.n_rows, dtype=np.int64)}
    identity.update(identity_columns(ds.columns))
    return Source("table", ds.n_rows, path.name, identity, columns=ds.columns,
                  labels=dict(ds.columns), notes=list(ds.notes))


def attach_label_table(source: Source, path, id_column: str | None = None) -> None:
    """Put a label table's columns beside the input's rows, as the Data step puts a label table
    beside its images: in row order, or matched by ``id_column`` (against a table's own column,
    a cutout's file name without extension, or a cube's image position from 0)."""
    from nnstudio.core.data.dataset import Dataset
    from nnstudio.core.data.readers import _stem, attach_labels, read_any_table

    path = Path(path).expanduser()
    labels, notes = read_any_table(path)
    if source.kind == "table":
        ds = Dataset("table", dict(source.columns), name=source.name)
    else:
        ids = [_stem(Path(f)) for f in source.files] if source.files is not None else None
        ds = Dataset("images", {"\0row": np.arange(source.n)}, name=source.name, image_ids=ids)
    before = set(ds.columns)
    attach_labels(ds, labels, path.name, id_column)
    source.labels.update({k: v for k, v in ds.columns.items() if k not in before})
    source.notes.extend(notes + ds.notes[-1:])


# -- identity ---------------------------------------------------------------------------------------

def identity_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The id-like columns of a table under their own names, and its RA/Dec as ``ra``, ``dec``."""
    from nnstudio.core.data.prepare import is_id_name

    out = {}
    lower = {name.lower(): name for name in columns}
    for low_names, key in ((RA_NAMES, "ra"), (DEC_NAMES, "dec")):
        name = next((lower[n] for n in low_names if n in lower), None)
        if name is not None and columns[name].dtype.kind in "iuf" and columns[name].ndim == 1:
            out[key] = columns[name].astype(np.float64)
    for name, col in columns.items():
        if is_id_name(name) and col.ndim == 1 and col.dtype.kind in "iuUSb" \
                and name not in ("row", "index", "source", "file"):
            out[name] = col
    return out


def sky_position(header, shape) -> tuple[float, float]:
    """(RA, Dec) in degrees of the image centre by its celestial WCS; NaN without one."""
    try:
        from astropy.wcs import WCS, FITSFixedWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header)
            if not wcs.has_celestial:
                return np.nan, np.nan
            h, w = shape[0], shape[1]
            sky = wcs.celestial.pixel_to_world((w - 1) / 2.0, (h - 1) / 2.0).icrs
            ra, dec = sky.ra.deg, sky.dec.deg
        return float(ra) % 360.0, float(dec)
    except Exception:  # noqa: BLE001 - a damaged WCS must not stop a prediction: position unknown
        return np.nan, np.nan


def plane_positions(header, shape) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """(RA, Dec) in degrees of each plane's centre of a cube (numpy ``shape``, planes along the
    first axis, the last FITS axis), by the cube's own WCS: planes share a position unless the
    WCS ties the celestial axes to the plane axis. Else (None, None, why not)."""
    try:
        from astropy.coordinates import SkyCoord
        from astropy.wcs import WCS, FITSFixedWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header)
            if not wcs.has_celestial:
                return None, None, "no ra/dec: the cube's header has no celestial WCS"
            naxis = len(shape)
            if wcs.pixel_n_dim != naxis:
                return None, None, (f"no ra/dec: the cube's WCS has {wcs.pixel_n_dim} axes, "
                                    f"its data {naxis}")
            n = shape[0]
            pixels = [np.full(n, (shape[naxis - j] - 1) / 2.0) for j in range(1, naxis)]
            pixels.append(np.arange(n, dtype=np.float64))        # the plane, along the last axis
            world = wcs.pixel_to_world(*pixels)
            sky = next(w for w in (world if isinstance(world, (list, tuple)) else [world])
                       if isinstance(w, SkyCoord)).icrs
            return np.asarray(sky.ra.deg, np.float64) % 360.0, np.asarray(sky.dec.deg, np.float64), ""
    except Exception as exc:  # noqa: BLE001 - a damaged WCS must not stop a prediction: say why
        return None, None, f"no ra/dec: the cube's WCS cannot be evaluated ({_reason(exc)})"


def size_text(shape) -> str:
    h, w, c = shape
    return f"{h}×{w}" + (f"×{c}" if c > 1 else "")


__all__ = ["Source", "attach_label_table", "identity_columns", "open_source", "plane_positions", "size_text", "sky_position"]
