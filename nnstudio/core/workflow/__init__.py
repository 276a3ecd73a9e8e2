"""One project, one step: what the CLI commands and the GUI's jobs call.

Prepare the data (:mod:`.data`), make a project (:mod:`.projects`), train once (:mod:`.train`),
evaluate with uncertainty (:mod:`.evaluate`, the one evaluation core; typed results in
:mod:`.results`), read the deep ensemble (:mod:`.ensembles`), write the HTML report
(:mod:`.report`) or a standalone training script (:mod:`.export`). Many runs of a project
(repeats, sweeps, training an ensemble) live in :mod:`nnstudio.core.experiments`.

Modules inside this package import each other by their own names, never through this package.
"""
from __future__ import annotations

from nnstudio.core.workflow.data import load_and_prepare, load_dataset, prepare_project
from nnstudio.core.workflow.evaluate import evaluate, format_evaluation
from nnstudio.core.workflow.export import export_project_script
from nnstudio.core.workflow.projects import new_project, write_example_project
from nnstudio.core.workflow.report import report_context, write_report
from nnstudio.core.workflow.results import METHODS, EvaluationResult, UncertaintyResult
from nnstudio.core.workflow.train import load_run_model, predict, train_project

__all__ = ["METHODS", "EvaluationResult", "UncertaintyResult", "evaluate", "format_evaluation",
           "load_and_prepare", "load_dataset", "load_run_model", "new_project", "predict",
           "prepare_project", "report_context", "train_project", "write_example_project",
           "export_project_script", "write_report"]
