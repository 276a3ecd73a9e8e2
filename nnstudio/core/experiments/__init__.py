"""Many runs of one project: the run table, repeats over seeds (mean ± spread), sweeps, resuming a
run, and training a deep ensemble.

Importing this package is cheap: Keras, TensorFlow and Optuna are imported inside functions.
"""
from __future__ import annotations

from nnstudio.core.experiments.ensemble import EnsembleResult, train_ensemble
from nnstudio.core.experiments.repeat import (Comparison, GroupSummary, RepeatResult, Stat,
                                              compare_groups, group_summary, repeat_project,
                                              summarize_values)
from nnstudio.core.experiments.resume import find_resumable, resume_project
from nnstudio.core.experiments.runs import (RunRow, annotate_run, delete_run, export_runs_csv,
                                            hide_run, rename_run, run_curves, run_rows,
                                            settings_diff)
from nnstudio.core.experiments.sweep import (SweepParam, SweepResult, apply_params, best_settings,
                                             load_sweep, parse_param, run_sweep)

__all__ = ["Comparison", "EnsembleResult", "GroupSummary", "RepeatResult", "Stat", "compare_groups", "group_summary",
           "repeat_project", "summarize_values", "find_resumable", "resume_project", "RunRow",
           "annotate_run", "delete_run", "export_runs_csv", "hide_run", "rename_run", "run_curves",
           "run_rows", "settings_diff", "SweepParam", "SweepResult", "apply_params", "best_settings",
           "load_sweep", "parse_param", "run_sweep", "train_ensemble"]
