"""The reader registry and :func:`read_dataset`, the single entry point from a selection.

Each reader is (label, sniff, read, priority): the highest-priority reader whose ``sniff`` accepts
a path reads it. FITS files are recognised by content (the ``SIMPLE  =`` card, also inside
gzip, bzip2 or xz), tables by extension (a compression suffix removed), folders of FITS cutouts
by their contents. ``DataSelection.hdu`` picks the HDU of a FITS file or the table of a VOTable.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.core.data import compression, fits_tables, fitsio, tables, votables
from nnstudio.core.data.dataset import Dataset
from nnstudio.core.data.fitsio import list_hdus  # noqa: F401  (public API of this module)
from nnstudio.core.data.spec import DataSelection
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError


@dataclass(frozen=True)
class Reader:
    label: str
    sniff: Callable[[Path], bool]
    read: Callable[..., Dataset]
    priority: int = 0


READERS: list[Reader] = []


def register_reader(label: str, sniff, read, priority: int = 0) -> Reader:
    reader = Reader(label, sniff, read, priority)
    READERS.append(reader)
    READERS.sort(key=lambda r: -r.priority)
    return reader


def find_reader(path) -> Reader | None:
    path = Path(path)
    for reader in READERS:
        try:
            if reader.sniff(path):
                return reader
        except OSError:
            continue
    return None


# -- FITS -------------------------------------------------------------------------------------

def read_fits(path, hdu=None, task: Task | None = None, **_) -> Dataset:
    """An image HDU as images (2-D: one, 3-D: N, 4-D: N with channels), a table HDU as a table."""
    path = Path(path)
    with fitsio.open_fits(path) as hdul:
        index = fitsio.choose_hdu(hdul, hdu, path)
        kind = fitsio.hdu_kind(hdul[index])
        reason = fitsio.unusable_reason(hdul[index], kind)
        if reason and kind != "empty":
            label = f"HDU {index} ({hdul[index].name})" if hdul[index].name else f"HDU {index}"
            raise NnstudioError(f"{path.name} {label} cannot be used: it is {reason}.")
        if kind == "image":
            images, notes = fitsio.read_image_hdu(path, hdul, index, task)
            return Dataset("images", {}, images, name=path.name, source=str(path.resolve()),
                           notes=fitsio.file_notes(hdul) + notes, hdu=index,
                           parts=fitsio.describe_hdus(hdul))
        if kind == "table":
            columns, notes = fits_tables.read_table_hdu(path, hdul, index)
            notes = fitsio.file_notes(hdul) + notes
            if not columns or len(next(iter(columns.values()))) == 0:
                raise NnstudioError(f"{path.name} HDU {index} is a table with no rows.")
            return Dataset("table", columns, None, name=path.name, source=str(path.resolve()),
                           notes=notes, hdu=index, parts=fitsio.describe_hdus(hdul))
        raise NnstudioError(f"{path.name} HDU {index} ({hdul[index].name}) holds no data.")


# -- tables -----------------------------------------------------------------------------------

def _by_extension(*exts):
    def sniff(path: Path) -> bool:
        return path.is_file() and compression.plain_suffix(path) in exts
    return sniff


def is_votable(path) -> bool:
    return tables.table_format(path) == "votable"


def read_table(path, hdu=None, task: Task | None = None, **_) -> Dataset:
    """A table file; for a VOTable ``hdu`` picks the table (index, ID or name)."""
    path = Path(path)
    index = parts = None
    if is_votable(path):
        columns, notes, index, parts = votables.read_votable(path, hdu)
    elif hdu is not None:
        raise NnstudioError(f"{path.name} holds a single table: an HDU or table can only be "
                            f"chosen in a FITS file or a VOTable.")
    else:
        columns, notes = tables.read_table_file(path)
    return Dataset("table", columns, None, name=path.name, source=str(path.resolve()),
                   notes=notes, hdu=index, parts=parts)


def read_any_table(path, hdu=None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns of a label/companion table in any supported table format (FITS: a table HDU)."""
    path = Path(path)
    if not path.exists():
        raise NnstudioError(f"Label table {path} does not exist.")
    if path.is_file() and path.stat().st_size == 0:
        raise NnstudioError(f"{path.name} is empty (0 bytes).")
    if fitsio.is_fits(path):
        return fits_tables.read_fits_table_file(path, hdu)
    if fitsio.looks_like_fits_name(path):
        raise fitsio.misnamed_fits(path)
    if is_votable(path):
        return votables.read_votable(path, hdu)[:2]
    return tables.read_table_file(path)


def list_parts(path) -> list[dict] | None:
    """The HDUs of a FITS file or the tables of a VOTable (same keys); None for other files."""
    path = Path(path)
    if not path.is_file():
        return None
    if fitsio.is_fits(path):
        return fitsio.list_hdus(path)
    if is_votable(path):
        return votables.list_tables(path)
    return None


# -- folders of cutouts -----------------------------------------------------------------------

def _fits_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and fitsio.looks_like_fits_name(p) and not p.name.startswith("."))


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and _fits_files(p))


def is_cutout_folder(path: Path) -> bool:
    return path.is_dir() and bool(_fits_files(path) or _class_folders(path))


def _stem(p: Path) -> str:
    name = p.name
    for ext in sorted(fitsio.FITS_EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return p.stem


def read_folder(path, task: Task | None = None, labelled_by_folder: bool = True, **_) -> Dataset:
    """One FITS cutout a file; the class is the sub-folder's name (when there are sub-folders)."""
    task = task or Task()
    folder = Path(path)
    classes = _class_folders(folder) if labelled_by_folder else []
    notes: list[str] = []
    top = _fits_files(folder)
    if classes:
        files = [(p, c.name) for c in classes for p in _fits_files(c)]
        if top:
            notes.append(f"{len(top)} FITS file(s) directly in {folder.name} "
                         f"were ignored: with class sub-folders every cutout must be in one.")
    else:
        files = [(p, None) for p in top]
        files += [(p, None) for c in _class_folders(folder) for p in _fits_files(c)]
    if not files:
        raise NnstudioError(f"The folder {folder.name} holds no FITS cutouts (.fits, .fit, .fts, "
                            f".fits.gz), directly or in sub-folders.")
    n = len(files)
    images = None
    first_name = ""
    for k, (p, _) in enumerate(files):
        task.check()
        img = _read_cutout(p)
        if images is None:
            images = np.empty((n,) + img.shape, dtype=np.float32)
            first_name = p.relative_to(folder).as_posix()
        elif img.shape != images.shape[1:]:
            raise NnstudioError(
                f"The cutouts have different sizes: {first_name} is {_size(images.shape[1:])} "
                f"but {p.relative_to(folder).as_posix()} is {_size(img.shape)}. Every image "
                f"must have the same size.")
        images[k] = img
        task.report_progress(k + 1, n, f"Reading cutouts: {k + 1} of {n}")
    columns: dict[str, np.ndarray] = {
        "file": np.array([p.relative_to(folder).as_posix() for p, _ in files], dtype=str)}
    if classes:
        columns["label"] = np.array([c for _, c in files], dtype=str)
    n_bad = int(images.size - np.count_nonzero(np.isfinite(images)))
    if n_bad:
        notes.append(f"{n_bad} pixel(s) are NaN, blank or infinite.")
    return Dataset("images", columns, images, name=folder.name, source=str(folder.resolve()),
                   notes=notes, image_ids=[_stem(p) for p, _ in files])


def _size(shape) -> str:
    h, w, c = shape
    return f"{h}×{w}" + (f"×{c}" if c > 1 else "")


def _read_cutout(p: Path) -> np.ndarray:
    with fitsio.open_fits(p) as hdul:
        index = fitsio.choose_hdu(hdul, None, p)
        if fitsio.hdu_kind(hdul[index]) != "image":
            raise NnstudioError(f"{p.name} holds a table, not an image cutout.")
        images, _ = fitsio.read_image_hdu(p, hdul, index)
    if images.shape[0] == 1:
        return images[0]
    if images.shape[-1] == 1 and images.shape[0] <= 16:  # a (bands, H, W) cutout
        return np.ascontiguousarray(images[..., 0].transpose(1, 2, 0))
    raise NnstudioError(f"{p.name} holds {images.shape[0]} images; a cutout folder needs one "
                        f"image (or a few bands) per file.")


# -- labels -------------------------------------------------------------------------------------

def _id_keys(values: np.ndarray) -> list[str]:
    """Ids as comparable strings: 12, 12.0 and '12' are the same object."""
    out = []
    for v in values.tolist():
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v).strip())
    return out


def attach_labels(ds: Dataset, labels: dict[str, np.ndarray], source: str,
                  id_column: str | None) -> Dataset:
    """Put a label table's rows beside the images (or table rows): by row order or by id."""
    if not labels:
        raise NnstudioError(f"The label table {source} has no columns.")
    n_rows = len(next(iter(labels.values())))
    n = ds.n_rows
    what = "images" if ds.kind == "images" else "rows"
    if id_column is None:
        if n_rows != n:
            raise NnstudioError(
                f"The label table {source} has {n_rows} rows but there are {n} {what}: they must "
                f"match one to one in order (or choose an id column to match them by).")
        merged = dict(labels)
    else:
        if id_column not in labels:
            raise NnstudioError(f"The label table {source} has no column {id_column!r}. Its "
                                f"columns: {', '.join(labels)}.")
        label_keys = _id_keys(labels[id_column])
        position: dict[str, int] = {}
        for i, k in enumerate(label_keys):
            if k in position:
                raise NnstudioError(f"The id {k!r} appears more than once in column "
                                    f"{id_column!r} of {source}.")
            position[k] = i
        own = _own_ids(ds, id_column)
        missing = [k for k in own if k not in position]
        if missing:
            raise NnstudioError(
                f"{len(missing)} of {n} {what} have no row in {source} (column {id_column!r}), "
                f"e.g. {', '.join(repr(m) for m in missing[:3])}.")
        order = np.array([position[k] for k in own], dtype=np.int64)
        merged = {k: v[order] for k, v in labels.items()}
        if n_rows > n:
            ds.notes.append(f"{n_rows - n} row(s) of {source} match no {what[:-1]} and were "
                            f"ignored.")
    for k, v in merged.items():
        name = k if k not in ds.columns else f"{k}_labels"
        ds.columns[name] = v
    ds.notes.append(f"Labels from {source}" + (f", matched by {id_column!r}." if id_column
                                                else ", in row order."))
    return ds


def _own_ids(ds: Dataset, id_column: str) -> list[str]:
    if ds.kind == "table":
        if id_column not in ds.columns:
            raise NnstudioError(f"{ds.name} has no column {id_column!r} to match labels by.")
        return _id_keys(ds.columns[id_column])
    if ds.image_ids is not None:
        return list(ds.image_ids)
    return [str(i) for i in range(ds.n_rows)]  # a cube: the image's position, from 0


# -- the entry point ----------------------------------------------------------------------------

def read_dataset(selection: DataSelection, task: Task | None = None) -> Dataset:
    """Read ``selection.path`` (HDU ``selection.hdu``) and attach its labels, if any."""
    task = task or Task()
    if not selection.path:
        raise NnstudioError("No data file chosen.")
    path = Path(selection.path).expanduser()
    if not path.exists():
        raise NnstudioError(f"{path} does not exist.")
    if path.is_file() and path.stat().st_size == 0:
        raise NnstudioError(f"{path.name} is empty (0 bytes).")
    if path.is_file():
        compression.check_readable(path)
    reader = find_reader(path)
    if reader is None:
        if path.is_file() and fitsio.looks_like_fits_name(path):
            raise fitsio.misnamed_fits(path)
        if path.is_dir():
            raise NnstudioError(f"The folder {path.name} holds no FITS cutouts.")
        raise NnstudioError(
            f"nnstudio cannot read {path.name}: supported are FITS files, folders of FITS "
            f"cutouts and tables ({', '.join(sorted(set(supported_table_extensions())))}).")
    labelled_by_folder = not (path.is_dir() and selection.labels_path)
    ds = reader.read(path, hdu=selection.hdu, task=task, labelled_by_folder=labelled_by_folder)
    if selection.labels_hdu is not None:
        if not fitsio.is_fits(path):
            raise NnstudioError("A label HDU can only be chosen for a FITS file.")
        with fitsio.open_fits(path) as hdul:
            index = fitsio.choose_hdu(hdul, selection.labels_hdu, path)
            labels, notes = fits_tables.read_table_hdu(path, hdul, index)
        ds.notes.extend(notes)
        attach_labels(ds, labels, f"{path.name} HDU {index}", selection.id_column)
    elif selection.labels_path:
        lpath = Path(selection.labels_path).expanduser()
        labels, notes = read_any_table(lpath)
        ds.notes.extend(notes)
        attach_labels(ds, labels, lpath.name, selection.id_column)
    elif ds.kind == "images" and not ds.columns and fitsio.is_fits(path):
        _attach_matching_table_hdu(ds, path, selection.id_column)
    return ds


def _attach_matching_table_hdu(ds: Dataset, path: Path, id_column) -> None:
    """A cube with one table HDU of as many rows as images: that table holds the labels."""
    with fitsio.open_fits(path) as hdul:
        candidates = [d["index"] for d in fitsio.describe_hdus(hdul)
                      if d["kind"] == "table" and d["usable"] and d["shape"] == [ds.n_rows]]
        if len(candidates) != 1:
            return
        labels, notes = fits_tables.read_table_hdu(path, hdul, candidates[0])
    ds.notes.extend(notes)
    attach_labels(ds, labels, f"{path.name} HDU {candidates[0]}", id_column)


def supported_table_extensions() -> list[str]:
    exts = [e for e, fmt in tables.TABLE_FORMATS.items() if fmt != "hdf5" or _has_h5py()]
    return exts


def _has_h5py() -> bool:
    return importlib.util.find_spec("h5py") is not None


register_reader("FITS file", lambda p: p.is_file() and fitsio.is_fits(p), read_fits, priority=20)
register_reader("Folder of FITS cutouts", is_cutout_folder, read_folder, priority=15)
register_reader("CSV table", _by_extension(".csv"), read_table, priority=10)
register_reader("ECSV table", _by_extension(".ecsv"), read_table, priority=10)
register_reader("VOTable", _by_extension(".vot", ".votable", ".xml"), read_table, priority=10)
if _has_h5py():
    register_reader("HDF5 table", _by_extension(".hdf5", ".h5"), read_table, priority=10)
register_reader("RDB table", _by_extension(".rdb"), read_table, priority=10)
register_reader("IPAC table", _by_extension(".tbl", ".ipac"), read_table, priority=10)
register_reader("Text table", _by_extension(".tsv", ".tab", ".txt", ".dat"), read_table,
                priority=1)
