"""The project's data: read it, prepare it, and keep what preparation chose in the project."""
from __future__ import annotations

from pathlib import Path

from nnstudio.core.data.spec import DataSelection
from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

PREVIEW_IMAGES = 48          # read ahead of the full cube so thumbnails appear at once


def load_dataset(project: Project, task: Task | None = None):
    from nnstudio.core.data.readers import read_dataset

    return read_dataset(project.resolved_selection(), task=task)


def prepare_project(project: Project, dataset=None, task: Task | None = None):
    """Read (unless ``dataset`` is given) and prepare the project's data; keeps what preparation
    chose (target, inputs, problem, class names, fitted scalers) in the project."""
    from nnstudio.core.data.prepare import prepare

    sel = project.resolved_selection()
    if dataset is None:
        from nnstudio.core.data.readers import read_dataset

        dataset = read_dataset(sel, task=task)
        # nobody else holds this data set: let preparation reuse its image buffer (1x memory, not 2x)
        prepared = prepare(dataset, sel, project.preparation, task=task, in_place=True)
    else:
        prepared = prepare(dataset, sel, project.preparation, task=task)
    remember_choices(project, prepared)
    return prepared


def split_twin(project: Project, seed: int) -> Project:
    """A stand-in for ``project`` whose data split is drawn with ``seed`` (scalers fitted afresh):
    what preparation chooses is kept on the stand-in, never on the project."""
    from nnstudio.core.data.spec import PreparationSpec

    twin = Project(name=project.name, path=project.path)
    twin.data = DataSelection.from_dict(project.data.to_dict()) if project.data is not None else None
    twin.preparation = PreparationSpec.from_dict({**project.preparation.to_dict(), "seed": int(seed),
                                                  "fitted": None})
    return twin


def run_split_seed(project: Project, run) -> int | None:
    """The split seed a run drew its own data split with, when it is not the project's (a repeat
    over seeds and splits); None when the run trained on the project's split."""
    seed = (run.settings or {}).get("split_seed") if run is not None else None
    return None if seed is None or int(seed) == project.preparation.seed else int(seed)


def remember_choices(project: Project, prepared) -> None:
    """Store what preparation chose, with the project's own (relative) paths left as they are."""
    project.data.problem = prepared.problem
    project.data.class_names = prepared.class_names
    project.data.inputs = list(prepared.inputs)
    project.data.target = prepared.target_name
    project.preparation.fitted = prepared.fitted


def load_job(project: Project, dataset=None, *, task: Task | None = None):
    """Read (unless ``dataset`` is given) and prepare ``project``'s data: ``(dataset, prepared)``.

    Reports as partial results ``("hdus", list)``, ``("preview", first images, total)`` and
    ``("label_columns", names)`` before the full read, then ``("dataset", dataset, stats,
    selection)``.
    """
    from nnstudio.core.data import fitsio
    from nnstudio.core.data.readers import read_any_table, read_dataset
    from nnstudio.core.project import file_fingerprint

    task = task or Task()
    if dataset is None:
        sel = project.resolved_selection()
        path = Path(sel.path)
        if path.is_file() and fitsio.is_fits(path):
            task.report_partial(("hdus", fitsio.list_hdus(path)))
            first = first_images(path, sel.hdu, PREVIEW_IMAGES)
            if first is not None:
                task.report_partial(("preview",) + first)
        if sel.labels_path:
            try:
                columns, _ = read_any_table(sel.labels_path)
                task.report_partial(("label_columns", list(columns)))
            except NnstudioError:
                pass  # the full read below says what is wrong with it
        dataset = read_dataset(sel, task=task)
        stats = {name: dataset.column_stats(name) for name in dataset.columns}
        # a copy taken here: preparation below keeps its choices in project.data
        task.report_partial(("dataset", dataset, stats, DataSelection.from_dict(project.data.to_dict())))
        if project.data.fingerprint is None:
            project.data.fingerprint = file_fingerprint(path)
    task.check()
    prepared = prepare_project(project, dataset=dataset, task=task)
    return dataset, prepared


def first_images(path, hdu, n: int):
    """(the first ``n`` images of the chosen HDU, how many there are), or None for a table."""
    from nnstudio.core.data import fitsio

    with fitsio.open_fits(path) as hdul:
        index = fitsio.choose_hdu(hdul, hdu, path)
        if fitsio.hdu_kind(hdul[index]) != "image":
            return None
        total = fitsio.image_shape(hdul, index, path)[0]
        return fitsio.read_image_rows(path, hdul, index, 0, min(n, total)), int(total)


def load_and_prepare(project: Project, task: Task | None = None):
    """Read and prepare the project's data in one job: returns ``(dataset, prepared)``."""
    dataset = load_dataset(project, task=task)
    return dataset, prepare_project(project, dataset=dataset, task=task)


__all__ = ["PREVIEW_IMAGES", "first_images", "load_and_prepare", "load_dataset", "load_job", "prepare_project",
           "remember_choices"]
