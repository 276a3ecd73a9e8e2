"""The one evaluation core: a trained model (or the project's deep ensemble) on a held-out split.

:func:`evaluate` predicts once, then computes the diagnostics and the uncertainty of the chosen
method from those predictions. The CLI, the Diagnostics and the Uncertainty panels and the HTML
report all call it. Temperature is fitted on the validation split and conformal quantiles on the
calibration split; every reported figure comes from the evaluated split.
"""
from __future__ import annotations

import numpy as np

from nnstudio.core.project import Project
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.baselines import add_baselines
from nnstudio.core.workflow.data import prepare_project, run_split_seed, split_twin
from nnstudio.core.workflow.ensembles import MIN_MEMBERS, NO_ENSEMBLE, ensemble_members
from nnstudio.core.workflow.results import METHODS, SPLIT_LABELS, EvaluationResult
from nnstudio.core.workflow.train import load_run_model, predict
from nnstudio.core.workflow.uncertainty import (REFERENCE_SIZE, check_mc_model, classification_uncertainty,
                                                ensemble_point, ensemble_samples, feature_ood, of_class,
                                                reference_split, regression_uncertainty)
from nnstudio.errors import NnstudioError


def _check_arguments(method: str, split: str, n_passes: int, level: float) -> None:
    if method not in METHODS:
        raise NnstudioError(f"Unknown uncertainty method {method!r}. Choose one of: {', '.join(METHODS)}.")
    if split not in SPLIT_LABELS:
        raise NnstudioError("Evaluate on the test or the validation split.")
    if not 0.0 < level < 1.0:
        raise NnstudioError("The conformal level must lie strictly between 0 and 1 (e.g. 0.9).")
    if method == "mc_dropout" and not 2 <= n_passes <= 10000:
        raise NnstudioError("MC dropout needs between 2 and 10000 passes (T).")


def _members(project: Project | None) -> list:
    if project is None:
        raise NnstudioError(NO_ENSEMBLE)
    members = ensemble_members(project)
    if not members:
        raise NnstudioError(NO_ENSEMBLE)
    if len(members) < MIN_MEMBERS:
        raise NnstudioError(f"The ensemble has only {len(members)} finished member (its training was "
                            f"stopped); it needs at least {MIN_MEMBERS} to measure a spread. Train the "
                            "ensemble again.")
    return members


def evaluate(project: Project | None = None, split: str = "test", method: str = "auto", *,
             run_id: str | None = None, prepared=None, model=None, n_passes: int | None = None,
             level: float | None = None, reference_size: int = REFERENCE_SIZE, seed: int = 0,
             baselines: bool = True, formula: str | None = None, task: Task | None = None) -> EvaluationResult:
    """Metrics, diagnostics and uncertainty of a trained run on ``split`` ("test" or "val").

    ``method`` is the project file's name of an uncertainty method: "auto" (the model's own σ or
    probabilities), "heteroscedastic", "mc_dropout" (``n_passes`` passes) or "ensemble" (the
    project's deep ensemble stands in for the model). ``project`` gives the defaults (the active
    run's model, the prepared data, ``n_passes``, the conformal level and temperature scaling from
    ``project.uncertainty``); ``prepared`` and ``model`` may be passed instead. ``baselines``
    adds models without a network, fitted on the training split, and the paired verdict;
    ``formula`` a physical formula fitted beside them (default: the project's).
    """
    task = task or Task()
    settings = project.uncertainty if project is not None else None
    n_passes = int(n_passes if n_passes is not None else (settings.mc_samples if settings else 50))
    level = float(level if level is not None else (settings.conformal_level if settings else 0.9))
    temperature_scaling = settings.temperature_scaling if settings else True
    _check_arguments(method, split, n_passes, level)
    members = _members(project) if method == "ensemble" else None

    task.report_progress(0, 100, "loading the model")
    if prepared is None:
        if project is None:
            raise NnstudioError("No data to evaluate on.")
        prepared = prepare_project(project, task=task)
    run = project.run(run_id) if project is not None else None
    own_split = run_split_seed(project, run) if project is not None else None
    if own_split is not None:  # the project's test split holds samples this run trained on
        prepared = prepare_project(split_twin(project, own_split), task=task)
    if model is None and method != "ensemble":
        if project is None:
            raise NnstudioError("No trained model to evaluate.")
        model = load_run_model(project, run)
    if method == "mc_dropout":
        check_mc_model(model)
    if prepared.count(split) == 0:
        raise NnstudioError(f"The {SPLIT_LABELS[split]} split is empty: give it a non-zero fraction "
                            "in the Data panel.")
    task.check()
    task.report_progress(5, 100, "predicting")
    splits = [s for s in dict.fromkeys(("val", "cal", split)) if prepared.count(s) > 0]
    from nnstudio.core.training.augment import uses_tta

    tta = method in ("auto", "heteroscedastic") and uses_tta(run.settings if run is not None else None, prepared)
    ens = ens_meta = None
    if method == "ensemble":
        ens, ens_meta = ensemble_samples(project, members, prepared, splits, reference_size, seed, task)
        raw = {s: ensemble_point(ens[s], prepared.problem) for s in splits}
    else:
        raw = {s: predict(model, prepared.x[s], tta=tta) for s in splits}
    task.check()
    args = (prepared, model, raw, method, split, n_passes, level, reference_size, seed, task, ens)
    if prepared.problem == "classification":
        uncertainty = classification_uncertainty(*args, temperature_scaling=temperature_scaling, tta=tta)
    else:
        uncertainty = regression_uncertainty(*args)
    if tta:
        uncertainty.notes.append("The run trained on the sky symmetries: each prediction averages the 8 flips "
                                 "and quarter turns of its cutout (test-time augmentation).")
    if own_split is not None:
        uncertainty.notes.append(f"{run.id} drew its own data split (split seed {own_split}, a repeat over seeds "
                                 f"and splits): these figures are on that split's {SPLIT_LABELS[split]} samples, "
                                 "which it never trained on, not on the project's.")
    uncertainty.arrays["index"] = np.asarray(prepared.index[split])
    uncertainty.ensemble = ens_meta
    _add_ood(uncertainty, model, prepared, split, method, reference_size, seed, task)
    result = _point_result(prepared, raw[split], split, run.id if run is not None else None, uncertainty)
    task.report_progress(98, 100, "95% intervals (bootstrap)")
    result.metrics_ci = _intervals(result, seed)
    if baselines:
        task.report_progress(99, 100, "baselines without a network")
        formula = formula or (project.physics.formula if project is not None else None)
        add_baselines(result, prepared, seed, formula=formula)
    if run is not None and run.history:
        from nnstudio.core import evaluation as ev

        loss_name = (run.model or {}).get("loss") or (project.model.loss if project.model else "mse")
        baseline = ev.baseline_loss(loss_name, prepared.n_classes or None, y_train=prepared.y.get("train"))
        result.hint = ev.learning_curve_hint(run.history, baseline=baseline)
    task.report_progress(100, 100, "done")
    return result


def _add_ood(uncertainty, model, prepared, split, method, reference_size, seed, task) -> None:
    """The out-of-distribution score of every model (distance to the training data in its last
    hidden features), and the measured rate of flags on this split beside the flag."""
    a, summary = uncertainty.arrays, uncertainty.summary
    task.report_progress(97, 100, "distance to the training data")
    found = feature_ood(model, prepared, split, reference_size, seed) if model is not None else None
    if found is not None:
        a["ood_score"] = found["ood_score"]
        if "ood" not in a:          # MC dropout and ensembles flag by their own epistemic spread
            a.update(ood=found["ood"], ood_threshold=found["ood_threshold"])
    ref = reference_split(prepared, split)
    if "ood" in a and ref is not None:
        summary["ood_reference"] = SPLIT_LABELS.get(ref, "calibration")
        summary["ood_by"] = ("epistemic spread" if method in ("mc_dropout", "ensemble")
                             else "distance to the training data in the last hidden features")
        summary["ood_flag_rate"] = float(np.mean(a["ood"]))


def _intervals(result: EvaluationResult, seed: int) -> dict:
    """The 95% interval of every scalar figure of ``result`` (bootstrap over the split's samples,
    stratified by class): its metrics, and the ECE or interval coverages of its uncertainty."""
    from nnstudio.core import evaluation as ev
    from nnstudio.core.evaluation.uncertainty import LEVEL_68, z_for_level

    a, u = result.arrays, result.uncertainty
    scores = a["proba"] if result.problem == "classification" else a["mean"]
    ci = {k: v for k, v in ev.metric_intervals(result.problem, a["y_true"], scores, seed=seed).items()
          if k in result.metrics}
    if result.problem == "regression":
        # |r| > threshold is an outlier: the complement of the coverage of [mean - t, mean + t]
        thr = result.metrics["outlier_threshold"]
        lo, hi = ev.coverage_interval(a["y_true"], a["mean"] - thr, a["mean"] + thr, seed=seed)
        ci["outlier_fraction"] = (1.0 - hi, 1.0 - lo)
    ua = u.arrays
    if result.problem == "classification" and "ece" in u.summary:
        ci["ece"] = ev.ece_interval(ua["proba"], ua["y_true"], seed=seed)
    if "sigma" in ua:
        for name, lv in (("coverage_68", LEVEL_68), ("coverage_95", 0.95)):
            half = z_for_level(lv) * ua["sigma"]
            ci[name] = ev.coverage_interval(ua["y_true"], ua["mean"] - half, ua["mean"] + half, seed=seed)
    if "conformal_low" in ua:
        ci["conformal_coverage"] = ev.coverage_interval(ua["y_true"], ua["conformal_low"], ua["conformal_high"],
                                                        seed=seed)
    return {k: (float(lo), float(hi)) for k, (lo, hi) in ci.items()}


def _point_result(prepared, raw: np.ndarray, split: str, run_id: str | None, uncertainty) -> EvaluationResult:
    """Diagnostics of the point predictions (probabilities, or the mean in the target's units)."""
    from nnstudio.core import evaluation as ev
    from nnstudio.core.evaluation.metrics import class_ratio, order_metrics, point_metrics

    arrays = {"index": np.asarray(prepared.index[split])}
    ratio = None
    if prepared.problem == "classification":
        y = np.asarray(prepared.y[split])
        proba = raw[:, 0] if raw.ndim == 2 and raw.shape[1] == 1 else raw
        metrics, diag = point_metrics("classification", y, proba, prepared.class_names)
        ratio = class_ratio(prepared.y["train"], len(prepared.class_names))
        metrics = order_metrics(metrics, ratio)
        arrays.update(y_true=y, proba=proba, y_pred=diag.y_pred, confidence=of_class(proba, diag.y_pred),
                      entropy=ev.predictive_entropy(proba))
    else:
        y = prepared.inverse_y(prepared.y[split]).astype(np.float64)
        mu = prepared.inverse_y(raw[:, 0] if raw.ndim == 2 else raw).astype(np.float64)
        metrics, diag = point_metrics("regression", y, mu)
        arrays.update(y_true=y, mean=mu, residual=diag.residuals)
    return EvaluationResult(problem=prepared.problem, split=split, run=run_id, n=prepared.count(split),
                            target=prepared.target_name, metrics=metrics, uncertainty=uncertainty,
                            diagnostics=diag, class_names=prepared.class_names
                            if prepared.problem == "classification" else None, arrays=arrays,
                            class_ratio=ratio)


def format_evaluation(result: EvaluationResult) -> str:
    """The evaluation as the CLI prints it."""
    from nnstudio.core.formatting import fmt_interval, fmt_number

    lines = [f"{result.problem} · {result.split} split · {result.n} samples · {result.run}"]
    for k, v in result.metrics.items():
        if isinstance(v, float):
            ci = result.metrics_ci.get(k)
            lines.append(f"  {k:<22} {fmt_number(v)}" + (f"  95% {fmt_interval(*ci)}" if ci else ""))
        elif isinstance(v, list) and k == "confusion_matrix":
            lines.append(f"  {k:<22} " + " | ".join(" ".join(str(c) for c in row) for row in v))
    unc = result.uncertainty
    lines.append(f"uncertainty ({unc.method_label}):")
    for k, v in unc.summary.items():
        if isinstance(v, float):
            lines.append(f"  {k:<22} {fmt_number(v)}")
    lines.append(f"  verdict                {unc.verdict['text']}")
    if result.baselines:
        shown = ("roc_auc", "accuracy") if result.problem == "classification" else ("rmse", "r2")
        lines.append("baselines (no network, fitted on the training split):")
        for b in result.baselines:
            figures = "  ".join(f"{k} {fmt_number(b.metrics[k])}" + (f" ({fmt_interval(*b.metrics_ci[k])})"
                                                                      if k in b.metrics_ci else "")
                                for k in shown if isinstance(b.metrics.get(k), float))
            if len(b.label) > 22:                   # a formula: its own line, the figures under it
                lines.append(f"  {b.label}")
                lines.append(f"  {'':<22} {figures or b.note}")
            else:
                lines.append(f"  {b.label:<22} {figures or b.note}")
    if result.versus_baseline:
        lines.append(f"  verdict                {result.versus_baseline['verdict']['text']}")
    if result.hint:
        lines.append("hint: " + result.hint)
    return "\n".join(lines)


__all__ = ["evaluate", "format_evaluation"]
