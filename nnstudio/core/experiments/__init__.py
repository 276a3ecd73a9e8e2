"""Many runs of one project: the run table, repeats over seeds or seeds and splits (mean ± spread,
two groups compared on one primary metric), sweeps, resuming a run, and training a deep ensemble.

Importing this package is cheap: Keras, TensorFlow and Optuna are imported inside functions.
"""
from __future__ import annotations

from nnstudio.core.experiments.compare import Comparison, GroupComparison, compare, compare_groups, holm
from nnstudio.core.experiments.ensemble import EnsembleResult, train_ensemble
from nnstudio.core.experiments.groups import GroupSummary, Stat, group_summary, summarize_values
from nnstudio.core.experiments.repeat import RepeatResult, load_group, repeat_project
from nnstudio.core.experiments.resume import find_resumable, resume_project
from nnstudio.core.experiments.runs import (RunRow, annotate_run, delete_run, export_runs_csv, hide_run,
                                            rename_run, run_curves, run_rows, settings_diff)
from nnstudio.core.experiments.sweep import (SweepParam, SweepResult, apply_params, best_settings, load_sweep,
                                             parse_param, run_sweep)

__all__ = ["Comparison", "EnsembleResult", "GroupComparison", "GroupSummary", "RepeatResult", "RunRow", "Stat",
           "SweepParam", "SweepResult", "annotate_run", "apply_params", "best_settings", "compare",
           "compare_groups", "delete_run", "export_runs_csv", "find_resumable", "group_summary", "hide_run", "holm",
           "load_group", "load_sweep", "parse_param", "rename_run", "repeat_project", "resume_project",
           "run_curves", "run_rows", "run_sweep", "settings_diff", "summarize_values", "train_ensemble"]
