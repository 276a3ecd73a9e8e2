"""The model's own (epistemic) uncertainty of each predicted row, as the Uncertainty step measures
it: the spread of MC dropout passes or of the project's ensemble members, reduced to
``epistemic_std`` (regression, target units) or ``mutual_information`` (classification, nats).
MC dropout masks are seeded per row (:mod:`nnstudio.core.evaluation.seeded_dropout`), and
ensemble members are deterministic, so a row's value does not depend on its shard, chunk or batch.
"""
from __future__ import annotations

import numpy as np

from nnstudio.errors import NnstudioError

CHOICES = ("auto", "mc", "ensemble", "none")


class _Spread:
    def __init__(self, samples, prepared, label: str):
        self.samples, self.prepared, self.label = samples, prepared, label

    def __call__(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        from nnstudio.core import evaluation as ev

        s = self.samples(x, rows)
        if self.prepared.problem == "classification":
            return ev.mutual_information(s)
        epi = ev.combine_gaussian_samples(s)["sigma_epistemic"]
        return np.asarray(self.prepared.inverse_sigma(epi), np.float64)


def epistemic_sampler(project, model, prepared, choice: str, source, batch_size: int, seed: int = 0):
    """A callable (scaled inputs, their input rows) -> one value per row, or None for "none"."""
    if choice not in CHOICES:
        raise NnstudioError(f"--epistemic takes {', '.join(CHOICES)}, not {choice!r}.")
    if choice == "auto":
        choice = {"mc_dropout": "mc", "ensemble": "ensemble"}.get(project.uncertainty.method, "none")
    if choice == "none":
        return None
    if choice == "ensemble":
        from nnstudio.core.workflow.ensembles import (
            MIN_MEMBERS,
            NO_ENSEMBLE,
            ensemble_members,
            ensemble_outputs,
        )

        members = ensemble_members(project)
        if len(members) < MIN_MEMBERS:
            raise NnstudioError(NO_ENSEMBLE)

        def samples(x, rows):
            return ensemble_outputs(project, {"x": x}, members=members)["x"]

        return _Spread(samples, prepared, f"ensemble of {len(members)}")
    from nnstudio.core.evaluation.seeded_dropout import SeededMC

    shape = model.input_shape[1:]
    t = int(project.uncertainty.mc_samples)
    mc = SeededMC(model, t, shape, seed=seed, batch_size=batch_size)
    return _Spread(mc, prepared, f"mc_dropout T={t}, masks seeded per row")


__all__ = ["CHOICES", "epistemic_sampler"]
