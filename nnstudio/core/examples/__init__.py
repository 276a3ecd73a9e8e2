"""Bundled examples: seeded, deterministic generators that write ready-to-use data files.

``write_example_data(name, out_dir)`` writes the files and returns the DataSelection that uses
them (absolute paths, target, problem and inputs set).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core.data.spec import DataSelection
from nnstudio.errors import NnstudioError


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    description: str
    problem: str
    write: Callable[[Path, int], DataSelection]
    # the physics a network should beat: log M = log L + log(M/L), with the mass-to-light ratio
    # linear in colour (Bell & de Jong 2001); b = 1 means mass follows light
    formula: str | None = None


def _write_galaxy_mass(out_dir: Path, seed: int) -> DataSelection:
    from nnstudio.core.examples import galaxy_mass
    from nnstudio.core.examples._write import write_csv

    cols = galaxy_mass.generate(seed=seed)
    path = write_csv(out_dir / "galaxy_mass.csv", cols)
    return DataSelection(path=str(path.resolve()), inputs=["log_luminosity", "g_r", "redshift"],
                         target="log_stellar_mass", problem="regression")


def _write_photometric(out_dir: Path, seed: int) -> DataSelection:
    from nnstudio.core.examples import photometric
    from nnstudio.core.examples._write import write_csv

    cols = photometric.generate(seed=seed)
    path = write_csv(out_dir / "photometric_classes.csv", cols)
    return DataSelection(path=str(path.resolve()), inputs=["u_g", "g_r", "r_i", "i_z", "r"],
                         target="class", problem="classification")


def _write_strong_lens(out_dir: Path, seed: int) -> DataSelection:
    from nnstudio.core.examples import strong_lens
    from nnstudio.core.examples._write import write_csv, write_fits_cube

    cube, cols = strong_lens.generate(seed=seed)
    cube_path = write_fits_cube(out_dir / "strong_lens.fits", cube, {
        "OBJECT": "simulated strong lenses",
        "ORIGIN": "nnstudio strong-lens example",
        "SEED": seed,
        "COMMENT": "Cutouts along axis 3; labels in strong_lens_labels.csv (same order).",
    })
    labels_path = write_csv(out_dir / "strong_lens_labels.csv", cols,
                            {"einstein_radius": "%.3f"})
    return DataSelection(path=str(cube_path.resolve()), hdu=0,
                         labels_path=str(labels_path.resolve()), target="is_lens",
                         problem="classification")


EXAMPLES: dict[str, Example] = {
    e.name: e for e in (
        Example("galaxy-mass", "Galaxy stellar mass",
                "Predict the stellar mass of 5000 galaxies from luminosity, g-r colour and "
                "redshift. The mass-to-light ratio depends on colour, and faint galaxies scatter "
                "more (regression).", "regression", _write_galaxy_mass,
                formula="a + b*log_luminosity + c*g_r"),
        Example("strong-lens", "Strong gravitational lenses",
                "Find strong lenses among 1500 simulated 64×64 cutouts: arcs and rings around "
                "lens galaxies against look-alikes such as companions, spirals, rings and "
                "edge-on discs (classification, a FITS cube and a label table).",
                "classification", _write_strong_lens),
        Example("photometric-classes", "Stars, galaxies and quasars",
                "Classify 6000 objects as star, galaxy or quasar from their u-g, g-r, r-i and "
                "i-z colours and r magnitude (multi-class classification).",
                "classification", _write_photometric),
    )
}


def get_example(name: str) -> Example:
    try:
        return EXAMPLES[name]
    except KeyError:
        raise NnstudioError(f"There is no example {name!r}. Examples: "
                            f"{', '.join(EXAMPLES)}.") from None


def write_example_data(name: str, out_dir, seed: int = 0) -> DataSelection:
    """Write example ``name``'s data files into ``out_dir``; returns the selection using them."""
    example = get_example(name)
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NnstudioError(f"Cannot create the folder {out}: {exc.strerror or exc}.") from None
    return example.write(out, seed)


__all__ = ["EXAMPLES", "Example", "get_example", "write_example_data"]
