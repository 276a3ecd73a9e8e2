"""Background jobs behind the Diagnostics and Uncertainty panels, and the plain-words verdicts.

Qt-free: the panels run these through their workers, tests call them directly. Every job takes
``task`` (progress, messages, cancel). Results are dicts: JSON-able summaries plus numpy
per-sample arrays under ``"arrays"`` (never shown to ``json.dumps`` as they are).
"""
from __future__ import annotations

import math

import numpy as np

from nnstudio.core.tasks import Task
from nnstudio.errors import NnstudioError

#: methods offered by the Uncertainty panel (key -> label)
METHODS = {
    "auto": "Automatic",
    "heteroscedastic": "Mean-and-variance head",
    "mc_dropout": "MC dropout",
    "ensemble": "Deep ensemble",
}
SPLIT_LABELS = {"test": "test", "val": "validation"}
REFERENCE_SIZE = 2000       # training samples whose epistemic spread is the "normal" reference
OOD_QUANTILE = 0.99
MAX_ERROR_BARS = 2000       # error bars drawn on predicted-vs-true
HIST_BINS = 30              # entropy and mutual-information histograms


class _Stage(Task):
    """Maps one step's progress into a slice [start, start + span] of the whole job's 0..100."""

    def __init__(self, parent: Task, start: float, span: float, text: str):
        super().__init__()
        self.stop, self.pause = parent.stop, parent.pause
        self.parent, self.start, self.span, self.text = parent, start, span, text

    def report_progress(self, done, total, text=""):
        frac = (float(done) / float(total)) if total else 0.0
        self.parent.report_progress(self.start + self.span * min(max(frac, 0.0), 1.0), 100, self.text)

    def report_message(self, text):
        self.parent.report_message(text)


# -- the Diagnostics panel's job ------------------------------------------------------------------

def evaluate_split(project, split: str = "test", prepared=None, model=None, run_id: str | None = None,
                   task: Task | None = None) -> dict:
    """``evaluate_project(..., arrays=True)`` (which holds ``result["diagnostics"]``:
    :class:`ClassificationDiagnostics` at threshold 0.5 or :class:`RegressionDiagnostics`), plus,
    for classifiers, per-sample ``confidence`` (probability of the predicted class) and
    ``entropy`` in ``result["arrays"]``, for regressors the residuals.
    """
    from nnstudio.core import evaluation as ev
    from nnstudio.core.workflow import evaluate_project

    task = task or Task()
    result = evaluate_project(project, split=split, run_id=run_id, task=task, prepared=prepared,
                              model=model, arrays=True)
    task.check()
    a, diag = result["arrays"], result["diagnostics"]
    if result["task"] == "classification":
        p = np.asarray(a["proba"], dtype=np.float64)
        a["y_pred"] = diag.y_pred
        a["confidence"] = _of_class(p, diag.y_pred)
        a["entropy"] = ev.predictive_entropy(p)
    else:
        a["residual"] = diag.residuals
    return result


def _of_class(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each sample's probability of ``classes[i]``; (N,) binary P(class 1) or (N, K)."""
    p2 = np.stack([1.0 - proba, proba], axis=1) if proba.ndim == 1 else proba
    return p2[np.arange(len(p2)), classes]


def bin_members(values, edges, i: int) -> np.ndarray:
    """Indices of ``values`` that ``np.histogram(values, bins=edges)`` counts in bin ``i``
    (half-open bins, the last one closed), so a clicked bar lists exactly its samples."""
    v = np.asarray(values, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if not 0 <= i < len(edges) - 1:
        return np.zeros(0, dtype=np.int64)
    lo, hi = edges[i], edges[i + 1]
    upper = (v <= hi) if i == len(edges) - 2 else (v < hi)
    return np.flatnonzero((v >= lo) & upper)


# -- the Uncertainty panel's job ------------------------------------------------------------------

def _mc_model_check(model) -> None:
    from nnstudio.core.evaluation import dropout_layers

    if not dropout_layers(model):
        raise NnstudioError("This model has no dropout layers, so every MC dropout pass gives the same "
                            "answer and shows no model uncertainty. Add a Dropout layer in the Model "
                            "panel and train again, or choose another method.")


def _reference_rows(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def compute_uncertainty(project=None, method: str = "auto", split: str = "test",
                        mc_samples: int | None = None, level: float | None = None, prepared=None,
                        model=None, run_id: str | None = None, reference_size: int = REFERENCE_SIZE,
                        seed: int = 0, task: Task | None = None) -> dict:
    """Uncertainty of a trained model on ``split`` by ``method`` ("auto", "heteroscedastic",
    "mc_dropout", "ensemble"), with the checks that tell whether to trust it.

    Returns ``{"task", "split", "method", "method_label", "summary", "conformal", "verdict",
    "notes", "arrays"}`` (classifiers also ``"histograms"``: name -> (counts, edges) of the
    per-sample entropy and mutual information, and ``"temperature"``). ``summary`` is :func:`summarise_regression_uncertainty` or
    :func:`summarise_classification_uncertainty`; ``conformal`` the split-conformal summary at
    ``level`` (calibration split; None without one); ``verdict`` is ``{"level": "good" | "warn" |
    "bad", "text"}``. MC dropout also scores ``reference_size`` training samples, and flags test
    samples whose epistemic uncertainty exceeds the training data's 99th percentile; so does
    "ensemble", whose predictions (and conformal sets / intervals) are those of the project's deep
    ensemble (:mod:`nnstudio.core.ensemble`; ``model`` and ``run_id`` are then not used, and the
    result has ``"ensemble": {"group", "members"}``).

    ``project`` gives the defaults (model of the active run, prepared data, T and the conformal
    level from ``project.uncertainty``); ``prepared`` and ``model`` may be passed instead.
    """
    from nnstudio.core.workflow import load_run_model, predict, prepare_project

    task = task or Task()
    if method not in METHODS:
        raise NnstudioError(f"Unknown uncertainty method {method!r}. Choose one of: {', '.join(METHODS)}.")
    if split not in SPLIT_LABELS:
        raise NnstudioError("Compute uncertainty on the test or the validation split.")
    settings = project.uncertainty if project is not None else None
    T = int(mc_samples if mc_samples is not None else (settings.mc_samples if settings else 50))
    level = float(level if level is not None else (settings.conformal_level if settings else 0.9))
    if not 0.0 < level < 1.0:
        raise NnstudioError("The conformal level must lie strictly between 0 and 1 (e.g. 0.9).")
    if method == "mc_dropout" and not 2 <= T <= 10000:
        raise NnstudioError("MC dropout needs between 2 and 10000 passes (T).")

    if method == "ensemble":
        from nnstudio.core.ensemble import MIN_MEMBERS, NO_ENSEMBLE, ensemble_members

        if project is None:
            raise NnstudioError(NO_ENSEMBLE)
        members = ensemble_members(project)
        if not members:
            raise NnstudioError(NO_ENSEMBLE)
        if len(members) < MIN_MEMBERS:
            raise NnstudioError(f"The ensemble has only {len(members)} finished member (its training was "
                                f"stopped); it needs at least {MIN_MEMBERS} to measure a spread. Train the "
                                "ensemble again.")
    task.report_progress(0, 100, "loading the model")
    if prepared is None:
        if project is None:
            raise NnstudioError("No data to compute uncertainty on.")
        prepared = prepare_project(project, task=task)
    if model is None and method != "ensemble":
        if project is None:
            raise NnstudioError("No trained model to compute uncertainty with.")
        model = load_run_model(project, project.run(run_id))
    if prepared.count(split) == 0:
        raise NnstudioError(f"The {SPLIT_LABELS[split]} split is empty: give it a non-zero fraction "
                            "in the Data panel.")
    task.check()
    task.report_progress(5, 100, "predicting")
    splits = [s for s in dict.fromkeys(("val", "cal", split)) if prepared.count(s) > 0]
    ens = None
    if method == "ensemble":
        ens, ens_meta = _ensemble_samples(project, members, prepared, splits, reference_size, seed, task)
        raw = {s: _ensemble_point(ens[s], prepared.task) for s in splits}
    else:
        raw = {s: predict(model, prepared.x[s]) for s in splits}
    task.check()
    if method == "mc_dropout":
        _mc_model_check(model)
    if prepared.task == "classification":
        out = _classification(prepared, model, raw, method, split, T, level, reference_size, seed, task, ens)
    else:
        out = _regression(prepared, model, raw, method, split, T, level, reference_size, seed, task, ens)
    out["arrays"]["index"] = np.asarray(prepared.index[split])
    out.update(task=prepared.task, split=split, level=level, mc_samples=T if out["method"] == "mc_dropout" else None)
    if ens is not None:
        out["ensemble"] = ens_meta
    task.report_progress(100, 100, "done")
    return out


def _ensemble_samples(project, members, prepared, splits, reference_size, seed, task) -> tuple[dict, dict]:
    """Every member's raw outputs on ``splits`` and on the training reference rows (key
    "reference"): name -> (K, N, ...); and ``{"group", "members"}``."""
    from nnstudio.core.ensemble import STORE_KEY, ensemble_outputs
    from nnstudio.core.experiments.runs import load_store

    inputs = {s: prepared.x[s] for s in splits}
    if prepared.count("train") > 0:
        inputs["reference"] = prepared.x["train"][_reference_rows(prepared.count("train"), reference_size, seed)]
    k = len(members)
    out = ensemble_outputs(project, inputs, task=_Stage(task, 5, 85, f"deep ensemble ({k} members)"),
                           members=members)
    return out, {"group": load_store(project).get(STORE_KEY), "members": [r.id for r in members]}


def _ensemble_point(samples, task: str) -> np.ndarray:
    """The ensemble as one model: mean probabilities; for regression the mean, or [mean, total σ]
    when the members are mean-and-variance heads (so conformal intervals scale with that σ)."""
    s = np.asarray(samples, dtype=np.float64)
    if task == "classification":
        return s.mean(axis=0)
    if s.ndim == 3 and s.shape[2] == 2:
        from nnstudio.core.evaluation import combine_gaussian_samples

        comb = combine_gaussian_samples(s)
        return np.stack([comb["mu"], comb["sigma"]], axis=1)
    return (s[..., 0] if s.ndim == 3 else s).mean(axis=0)


def _mc(model, x, T, task, start, span, text):
    from nnstudio.core.evaluation import mc_dropout_predict

    return mc_dropout_predict(model, x, T=T, task=_Stage(task, start, span, text))


def _regression(prepared, model, raw, method, split, T, level, reference_size, seed, task, ens=None) -> dict:
    from nnstudio.core import evaluation as ev
    from nnstudio.core.evaluation._common import downsample_indices

    has_sigma = raw[split].ndim == 2 and raw[split].shape[1] == 2
    if method == "auto":
        method = "heteroscedastic" if has_sigma else "residual"
    if method == "heteroscedastic" and not has_sigma:
        raise NnstudioError("This model predicts no σ: only a mean-and-variance head (the 'MLP with "
                            "uncertainty' template) gives one. Choose MC dropout, or train such a model.")

    def mean_of(r):
        return prepared.inverse_y(r[:, 0] if r.ndim == 2 else r).astype(np.float64)

    y = prepared.inverse_y(prepared.y[split]).astype(np.float64)
    mu = mean_of(raw[split])
    notes: list[str] = []
    arrays: dict = {}
    if method == "heteroscedastic":
        sigma = prepared.inverse_sigma(raw[split][:, 1]).astype(np.float64)
        label = "mean-and-variance head"
    elif method == "residual":
        cal = "cal" if "cal" in raw else ("val" if "val" in raw else None)
        if cal is None:
            raise NnstudioError("Uncertainty needs a calibration or validation split; give one a "
                                "non-zero fraction in the Data panel.")
        resid = prepared.inverse_y(prepared.y[cal]) - mean_of(raw[cal])
        sigma = np.full_like(mu, max(float(np.std(resid)), 1e-12))
        label = f"constant σ from the {SPLIT_LABELS.get(cal, 'calibration')} split's residuals"
        notes.append("This model predicts no σ of its own: every sample gets the same σ (the spread "
                     "of the held-out residuals). Use MC dropout or a mean-and-variance head for "
                     "per-sample error bars.")
    elif method == "ensemble":
        k = len(ens[split])
        comb = ev.combine_gaussian_samples(ens[split])
        mu = prepared.inverse_y(comb["mu"]).astype(np.float64)
        sigma = prepared.inverse_sigma(comb["sigma"]).astype(np.float64)
        epi = prepared.inverse_sigma(comb["sigma_epistemic"]).astype(np.float64)
        arrays["sigma_epistemic"] = epi
        if "reference" in ens:
            ref = prepared.inverse_sigma(ev.combine_gaussian_samples(ens["reference"])["sigma_epistemic"])
            arrays.update(ood=ev.flag_out_of_distribution(epi, ref, OOD_QUANTILE),
                          ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        if has_sigma:
            label = f"deep ensemble of {k} mean-and-variance heads (σ: members' spread and their own σ)"
        else:
            label = f"deep ensemble of {k} (σ: spread of the members, epistemic only)"
            notes.append("The members predict no σ of their own, so σ here is only their spread: the "
                         "model's (epistemic) uncertainty, without the noise in the data. These error "
                         "bars are too narrow wherever the data are noisy; the conformal intervals are "
                         "the honest ones. Members with a mean-and-variance head (the 'MLP with "
                         "uncertainty' template) give the full σ.")
        if np.any(sigma <= 0):
            raise NnstudioError("Some ensemble σ are zero: the members agree exactly. Train the ensemble "
                                "again with different seeds.")
    else:  # mc_dropout
        samples = _mc(model, prepared.x[split], T, task, 10, 60, f"MC dropout ({T} passes)")
        comb = ev.combine_gaussian_samples(samples)
        mu = prepared.inverse_y(comb["mu"]).astype(np.float64)
        sigma = prepared.inverse_sigma(comb["sigma"]).astype(np.float64)
        epi = prepared.inverse_sigma(comb["sigma_epistemic"]).astype(np.float64)
        rows = _reference_rows(prepared.count("train"), reference_size, seed)
        ref_samples = _mc(model, prepared.x["train"][rows], T, task, 70, 25,
                          "MC dropout on training data (reference)")
        ref = prepared.inverse_sigma(ev.combine_gaussian_samples(ref_samples)["sigma_epistemic"])
        arrays.update(sigma_epistemic=epi,
                      ood=ev.flag_out_of_distribution(epi, ref, OOD_QUANTILE),
                      ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        label = f"MC dropout, T = {T}" + (" (with the mean-and-variance head)" if has_sigma else "")
        if np.any(sigma <= 0):
            raise NnstudioError("Some MC dropout σ are zero: the dropout passes agree exactly. Use a "
                                "higher dropout rate or another method.")
    task.check()
    task.report_progress(96, 100, "summarising")
    summary = ev.summarise_regression_uncertainty(y, mu, sigma, method=label)
    conformal = None
    if "cal" in raw:
        cal_sigma = prepared.inverse_sigma(raw["cal"][:, 1]) if has_sigma else None
        test_sigma = prepared.inverse_sigma(raw[split][:, 1]) if has_sigma else None
        det_mu = mean_of(raw[split])
        conformal = ev.summarise_conformal_regression(
            prepared.inverse_y(prepared.y["cal"]), mean_of(raw["cal"]), y, det_mu,
            alpha=1.0 - level, sigma_cal=cal_sigma, sigma_test=test_sigma)
        q = conformal["q"]
        lo, hi = (ev.conformal_intervals(det_mu, q if q is not None else math.inf, test_sigma))
        arrays.update(conformal_low=lo, conformal_high=hi)
    else:
        notes.append("No calibration split: conformal intervals are off (give the calibration "
                     "split a non-zero fraction in the Data panel).")
    z = (mu - y) / sigma
    arrays.update(y_true=y, mean=mu, sigma=sigma, z=z, pit=ev.pit_values(y, mu, sigma),
                  plot_index=downsample_indices(len(y), MAX_ERROR_BARS, priority=np.abs(z), seed=seed))
    return {"method": method, "method_label": label, "summary": summary, "conformal": conformal,
            "verdict": regression_verdict(summary, SPLIT_LABELS[split], conformal),
            "notes": notes, "arrays": arrays}


def _classification(prepared, model, raw, method, split, T, level, reference_size, seed, task,
                    ens=None) -> dict:
    from nnstudio.core import evaluation as ev

    if method == "heteroscedastic":
        raise NnstudioError("A mean-and-variance head is for regression; for a classifier choose "
                            "automatic (its probabilities), MC dropout or a deep ensemble.")

    def squeeze(p):
        p = np.asarray(p, dtype=np.float64)
        return p[..., 0] if p.shape[-1] == 1 else p

    y = np.asarray(prepared.y[split])
    det = squeeze(raw[split])
    notes: list[str] = []
    arrays: dict = {}
    samples = None
    if method == "ensemble":
        samples = squeeze(ens[split])
        proba = samples.mean(axis=0)
        val_proba = squeeze(ens["val"]).mean(axis=0) if "val" in ens else None
        mi = ev.mutual_information(samples)
        arrays["mutual_information"] = mi
        if "reference" in ens:
            ref = ev.mutual_information(squeeze(ens["reference"]))
            arrays.update(ood=ev.flag_out_of_distribution(mi, ref, OOD_QUANTILE),
                          ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        label = f"deep ensemble of {len(samples)}"
    elif method == "mc_dropout":
        samples = squeeze(_mc(model, prepared.x[split], T, task, 10, 40, f"MC dropout ({T} passes)"))
        proba = samples.mean(axis=0)
        val_proba = None
        if "val" in raw:
            val_proba = squeeze(_mc(model, prepared.x["val"], T, task, 50, 25,
                                    "MC dropout on the validation split")).mean(axis=0)
        rows = _reference_rows(prepared.count("train"), reference_size, seed)
        ref = ev.mutual_information(squeeze(_mc(model, prepared.x["train"][rows], T, task, 75, 20,
                                                "MC dropout on training data (reference)")))
        mi = ev.mutual_information(samples)
        arrays.update(mutual_information=mi, ood=ev.flag_out_of_distribution(mi, ref, OOD_QUANTILE),
                      ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        label = f"MC dropout, T = {T}"
    else:
        method = "softmax"
        proba = det
        val_proba = squeeze(raw["val"]) if "val" in raw else None
        label = "the model's probabilities"
    task.check()
    task.report_progress(96, 100, "summarising")
    temperature = 1.0
    if val_proba is not None:
        temperature = ev.fit_temperature(val_proba, prepared.y["val"], kind="proba")
    else:
        notes.append("No validation split: temperature scaling is off (T = 1).")
    summary = ev.summarise_classification_uncertainty(proba, y, temperature, prob_samples=samples,
                                                      method=label)
    conformal = None
    if "cal" in raw:
        conformal = ev.summarise_conformal_classification(squeeze(raw["cal"]), prepared.y["cal"],
                                                          det, y, alpha=1.0 - level)
        qhat = conformal["qhat"]
        sets = ev.prediction_sets(det, qhat if qhat is not None else math.inf)
        arrays["set_size"] = sets.sum(axis=1)
    else:
        notes.append("No calibration split: conformal prediction sets are off.")
    k = proba.shape[1] if proba.ndim == 2 else 2
    pred = ev.predicted_labels(proba, threshold=None)
    scaled = ev.apply_temperature(proba, temperature, kind="proba")
    entropy = ev.predictive_entropy(proba)
    arrays.update(y_true=y, proba=proba, y_pred=pred, confidence=_of_class(proba, pred),
                  confidence_scaled=_of_class(scaled, pred), entropy=entropy)
    histograms = {"entropy": np.histogram(entropy, bins=HIST_BINS, range=(0.0, math.log(k)))}
    if "mutual_information" in arrays:
        mi = arrays["mutual_information"]
        histograms["mutual_information"] = np.histogram(mi, bins=HIST_BINS, range=(0.0, max(float(mi.max()), 1e-6)))
    return {"method": method, "method_label": label, "summary": summary, "conformal": conformal,
            "verdict": classification_verdict(summary, SPLIT_LABELS[split], conformal),
            "notes": notes, "arrays": arrays, "histograms": histograms, "temperature": temperature}


# -- verdicts ---------------------------------------------------------------------------------------

def coverage_tolerance(nominal: float, n: int) -> float:
    """How far an observed coverage may sit from ``nominal`` by chance: two binomial standard
    errors, at least one percentage point."""
    n = max(int(n), 1)
    return max(2.0 * math.sqrt(nominal * (1.0 - nominal) / n), 0.01)


def _pct(v: float) -> str:
    return f"{100.0 * v:.1f}%"


def _level(v: float) -> str:
    """A nominal level: "90%", "68.3%"."""
    p = 100.0 * v
    return f"{p:.0f}%" if abs(p - round(p)) < 1e-9 else f"{p:.1f}%"


def regression_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """One line saying whether the Gaussian error bars can be trusted, from the 95% (then the
    68%) coverage against nominal, allowing for the sampling noise of ``n`` samples."""
    n = int(summary["n_samples"])
    c95, c68 = float(summary["coverage_95"]), float(summary["coverage_68"])
    n95, n68 = float(summary["nominal_95"]), float(summary["nominal_68"])
    tol95, tol68 = coverage_tolerance(n95, n), coverage_tolerance(n68, n)
    head = f"95% intervals cover {_pct(c95)} of {n} {split_label} samples"
    if c95 < n95 - tol95:
        level = "bad" if c95 < n95 - 3 * tol95 else "warn"
        text = (f"{head} (nominal 95%): the error bars are too narrow (over-confident); "
                "trust them less, or use the conformal intervals.")
    elif c95 > n95 + tol95:
        level = "warn"
        text = f"{head} (nominal 95%): the error bars are too wide (under-confident)."
    elif abs(c68 - n68) > tol68:
        level = "warn"
        side = "narrow" if c68 < n68 else "wide"
        text = (f"{head}: good at 95%, but the 68% intervals cover {_pct(c68)} (nominal "
                f"{_level(n68)}): the errors are not Gaussian (1σ bars too {side}).")
    else:
        level = "good"
        text = f"{head}: well calibrated (68% intervals: {_pct(c68)})."
    if conformal and conformal.get("coverage") is not None and conformal.get("mean_width") is not None:
        text += (f" Conformal {_level(conformal['nominal'])} intervals: coverage "
                 f"{_pct(conformal['coverage'])}, width ±{conformal['mean_width'] / 2:.3g}.")
    return {"level": level, "text": text}


def ece_noise(reliability: dict, n: int) -> float:
    """ECE expected from sampling noise alone for a perfectly calibrated model with these bins:
    sum over bins of (n_b / N) * sqrt(2 p_b (1 - p_b) / (pi n_b)), p_b the bin's confidence."""
    total = 0.0
    for conf, count in zip(reliability["confidence"], reliability["count"]):
        if count and conf is not None:
            p = min(max(float(conf), 0.0), 1.0)
            total += (count / n) * math.sqrt(2.0 * p * (1.0 - p) / (math.pi * count))
    return total


def classification_verdict(summary: dict, split_label: str = "test", conformal: dict | None = None) -> dict:
    """One line saying whether the probabilities can be trusted: ECE before and after
    temperature scaling, against the ECE sampling noise alone would give."""
    n = int(summary["n_samples"])
    ece, after, T = float(summary["ece"]), float(summary["ece_after_temperature"]), float(summary["temperature"])
    good = max(0.015, 1.5 * ece_noise(summary["reliability"], n))
    if ece <= good:
        level = "good"
        text = (f"Probabilities are well calibrated on {n} {split_label} samples "
                f"(expected calibration error {ece:.3f}).")
    else:
        mood = "over-confident" if T > 1 else "under-confident"
        if after <= good:
            level = "warn"
            text = (f"Raw probabilities are {mood} (ECE {ece:.3f} on {n} {split_label} samples); "
                    f"temperature scaling (T = {T:.2f}, fitted on validation) fixes it: ECE {after:.3f}. "
                    "Use the scaled probabilities.")
        else:
            level = "bad" if min(ece, after) > 3 * good else "warn"
            text = (f"Probabilities are not calibrated: ECE {ece:.3f} on {n} {split_label} samples, "
                    f"{after:.3f} after temperature scaling (T = {T:.2f}). Do not read them as "
                    "frequencies; the conformal sets keep their guarantee.")
    if conformal and conformal.get("coverage") is not None:
        text += (f" Conformal {_level(conformal['nominal'])} sets: coverage {_pct(conformal['coverage'])}, "
                 f"{conformal['mean_set_size']:.2f} classes on average.")
    return {"level": level, "text": text}


__all__ = [
    "METHODS",
    "bin_members",
    "classification_verdict",
    "compute_uncertainty",
    "coverage_tolerance",
    "ece_noise",
    "evaluate_split",
    "regression_verdict",
]
