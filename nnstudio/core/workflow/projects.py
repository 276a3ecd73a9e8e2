"""New projects: from a data file, or from a bundled example."""
from __future__ import annotations

from pathlib import Path

from nnstudio.core.data.spec import DataSelection, PreparationSpec
from nnstudio.core.project import Project, file_fingerprint
from nnstudio.core.workflow.data import prepare_project
from nnstudio.errors import NnstudioError


def new_project(data: str, out: str | Path, labels: str | None = None, target: str | None = None,
                problem: str | None = None, template: str | None = None, seed: int = 0,
                hdu: int | str | None = None, inputs: list[str] | None = None) -> Project:
    """Make and save a project for any supported data (checked by preparing it once)."""
    from nnstudio.core.model import default_template, make_template

    data_path = Path(data).absolute()
    if not data_path.exists():
        raise NnstudioError(f"No such data file or folder: {data}")
    out = Path(out)
    if out.suffix != ".nnproj":
        raise NnstudioError(f"The project file must end in .nnproj (got {out.name}).")
    if labels and not Path(labels).exists():
        raise NnstudioError(f"No such label file: {labels}")
    project = Project(name=out.stem)
    project.data = DataSelection(path=str(data_path), hdu=hdu,
                                 labels_path=str(Path(labels).absolute()) if labels else None,
                                 target=target, problem=problem, inputs=list(inputs or []))
    project.preparation = PreparationSpec(seed=seed)
    prepared = prepare_project(project)
    name = template or default_template(prepared.kind, prepared.problem)
    project.model = make_template(name, prepared.input_shape, prepared.problem, prepared.n_classes)
    project.data.fingerprint = file_fingerprint(data_path)
    project.save(out)
    return project


def write_example_project(name: str, out_dir: str | Path) -> Path:
    """Write a bundled example's data and a ready project ``DIR/NAME.nnproj``."""
    from nnstudio.core.examples import write_example_data

    out_dir = Path(out_dir).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    from nnstudio.core.examples import get_example
    from nnstudio.core.project import PhysicsSettings

    sel = write_example_data(name, out_dir)
    project = new_project(data=sel.path, out=out_dir / f"{name}.nnproj", labels=sel.labels_path,
                          target=sel.target, problem=sel.problem, inputs=sel.inputs, hdu=sel.hdu)
    formula = get_example(name).formula
    if formula:
        project.physics = PhysicsSettings(formula)
        project.save()
    return project.path


__all__ = ["new_project", "write_example_project"]
