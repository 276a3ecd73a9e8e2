"""Uncertainty of a trained model on a split, by each method, with the checks that tell whether
to trust it: the part of :func:`nnstudio.core.workflow.evaluate.evaluate` that depends on the
method (a mean-and-variance head, constant σ from held-out residuals, MC dropout, a deep
ensemble, or a classifier's own probabilities).
"""
from __future__ import annotations

import math

import numpy as np

from nnstudio.core.evaluation.verdicts import classification_verdict, regression_verdict
from nnstudio.core.project import Project, load_store
from nnstudio.core.tasks import ChildTask, Task
from nnstudio.core.workflow.ensembles import STORE_KEY, ensemble_outputs
from nnstudio.core.workflow.results import SPLIT_LABELS, UncertaintyResult
from nnstudio.errors import NnstudioError

REFERENCE_SIZE = 2000       # held-out samples whose scores are the "normal" reference (at most)
OOD_QUANTILE = 0.99
MAX_ERROR_BARS = 2000       # error bars drawn on predicted-vs-true
HIST_BINS = 30              # entropy and mutual-information histograms


def of_class(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each sample's probability of ``classes[i]``; (N,) binary P(class 1) or (N, K)."""
    p2 = np.stack([1.0 - proba, proba], axis=1) if proba.ndim == 1 else proba
    return p2[np.arange(len(p2)), classes]


def check_mc_model(model) -> None:
    from nnstudio.core.evaluation import dropout_layers

    if not dropout_layers(model):
        raise NnstudioError("This model has no dropout layers, so every MC dropout pass gives the same "
                            "answer and shows no model uncertainty. Add a Dropout layer in the Model "
                            "panel and train again, or choose another method.")


def reference_rows(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def reference_split(prepared, split: str) -> str | None:
    """The held-out split whose scores are "normal" for the out-of-distribution flags: the
    calibration split, else the validation split (never the training split: the network fitted
    those samples, so their scores are smaller and the flags would fire far more than 1%)."""
    for s in ("cal", "val"):
        if s != split and prepared.count(s) > 0:
            return s
    return None


def hidden_features(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The network's last hidden features: the input of its output layer."""
    import keras

    from nnstudio.core.model.build import output_layer

    head = keras.Model(model.inputs, output_layer(model).input)
    return np.asarray(head.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def _logits(model, x: np.ndarray, tta: bool) -> np.ndarray | None:
    """The logits, averaged over the 8 sky symmetries with ``tta`` (as the probabilities are)."""
    if not tta:
        return predict_logits(model, x)
    from nnstudio.core.training.augment import sky_views

    views = [predict_logits(model, np.ascontiguousarray(v)) for v in sky_views(x)]
    return None if views[0] is None else np.mean(views, axis=0)


def predict_logits(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray | None:
    """A classifier's pre-activation outputs in float64, or None when its last layer does not end
    in a sigmoid or softmax. Computed from the last hidden features and the output layer's own
    weights, so that probabilities float32 rounds to exactly 0 or 1 still have their logit
    (temperature fitted on clipped probabilities comes out wrong)."""
    import keras

    last = getattr(model, "layers", [None])[-1]
    act = getattr(getattr(last, "activation", None), "__name__", "")
    if isinstance(last, keras.layers.Softmax) or (isinstance(last, keras.layers.Activation) and act in
                                                   ("softmax", "sigmoid")):
        z = np.asarray(keras.Model(model.inputs, last.input).predict(x, batch_size=batch_size, verbose=0),
                       dtype=np.float64)
    elif isinstance(last, keras.layers.Dense) and act in ("softmax", "sigmoid"):
        weights = last.get_weights()
        z = hidden_features(model, x, batch_size) @ np.asarray(weights[0], dtype=np.float64)
        if last.use_bias:
            z = z + np.asarray(weights[1], dtype=np.float64)
    else:
        return None
    return z[:, 0] if z.ndim == 2 and z.shape[1] == 1 else z


def feature_ood(model, prepared, split: str, reference_size: int, seed: int) -> dict | None:
    """Every model's out-of-distribution score: the distance of each sample's last hidden features
    to the training data's (:func:`distance_scores`), flagged above the 99th percentile of the
    reference split's distances. None without a held-out reference split."""
    from nnstudio.core import evaluation as ev

    ref = reference_split(prepared, split)
    if ref is None or prepared.count("train") == 0 or not getattr(model, "layers", None):
        return None             # no held-out reference, or not a Keras model (a stand-in predictor)
    rows = reference_rows(prepared.count("train"), reference_size, seed)
    train = hidden_features(model, prepared.x["train"][rows])
    ref_rows = reference_rows(prepared.count(ref), reference_size, seed)
    ref_scores = ev.distance_scores(train, hidden_features(model, prepared.x[ref][ref_rows]))
    scores = ev.distance_scores(train, hidden_features(model, prepared.x[split]))
    threshold = ev.ood_threshold(ref_scores, OOD_QUANTILE)
    return {"ood_score": scores, "ood_threshold": threshold, "ood": scores > threshold, "reference": ref}


def ensemble_samples(project: Project, members, prepared, splits, reference_size: int, seed: int,
                     task: Task) -> tuple[dict, dict]:
    """Every member's raw outputs on ``splits`` and on the held-out reference rows (key
    "reference", see :func:`reference_split`): name -> (K, N, ...); and ``{"group", "members"}``."""
    inputs = {s: prepared.x[s] for s in splits}
    ref = reference_split(prepared, splits[-1])
    if ref is not None:
        inputs["reference"] = prepared.x[ref][reference_rows(prepared.count(ref), reference_size, seed)]
    k = len(members)
    out = ensemble_outputs(project, inputs, task=ChildTask(task, 5, 85, 100, text=f"deep ensemble ({k} members)"),
                           members=members)
    return out, {"group": load_store(project).get(STORE_KEY), "members": [r.id for r in members]}


def ensemble_point(samples, problem: str) -> np.ndarray:
    """The ensemble as one model: mean probabilities; for regression the mean, or [mean, total σ]
    when the members are mean-and-variance heads (so conformal intervals scale with that σ)."""
    s = np.asarray(samples, dtype=np.float64)
    if problem == "classification":
        return s.mean(axis=0)
    if s.ndim == 3 and s.shape[2] == 2:
        from nnstudio.core.evaluation import combine_gaussian_samples

        comb = combine_gaussian_samples(s)
        return np.stack([comb["mu"], comb["sigma"]], axis=1)
    return (s[..., 0] if s.ndim == 3 else s).mean(axis=0)


def _mc(model, x, n_passes, task, start, span, text):
    from nnstudio.core.evaluation import mc_dropout_predict

    return mc_dropout_predict(model, x, n_passes=n_passes, task=ChildTask(task, start, span, 100, text=text))


def regression_uncertainty(prepared, model, raw, method, split, n_passes, level, reference_size, seed, task,
                           ens=None) -> UncertaintyResult:
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
        if "cal" not in raw:
            return _without_calibration(prepared, raw, split, level, mean_of)
        resid = prepared.inverse_y(prepared.y["cal"]) - mean_of(raw["cal"])
        # RMS, not the standard deviation: a biased model's errors are larger than their spread
        sigma = np.full_like(mu, max(float(np.sqrt(np.mean(resid ** 2))), 1e-12))
        label = "constant σ from the calibration split's residuals (RMS)"
        notes.append("This model predicts no σ of its own: every sample gets the same σ (the RMS of "
                     "the calibration split's residuals). Use MC dropout or a mean-and-variance head for "
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
        samples = _mc(model, prepared.x[split], n_passes, task, 10, 60, f"MC dropout ({n_passes} passes)")
        comb = ev.combine_gaussian_samples(samples)
        mu = prepared.inverse_y(comb["mu"]).astype(np.float64)
        sigma = prepared.inverse_sigma(comb["sigma"]).astype(np.float64)
        epi = prepared.inverse_sigma(comb["sigma_epistemic"]).astype(np.float64)
        arrays["sigma_epistemic"] = epi
        ref_split = reference_split(prepared, split)
        if ref_split is not None:
            rows = reference_rows(prepared.count(ref_split), reference_size, seed)
            ref_samples = _mc(model, prepared.x[ref_split][rows], n_passes, task, 70, 25,
                              f"MC dropout on the {SPLIT_LABELS.get(ref_split, 'calibration')} split (reference)")
            ref = prepared.inverse_sigma(ev.combine_gaussian_samples(ref_samples)["sigma_epistemic"])
            arrays.update(ood=ev.flag_out_of_distribution(epi, ref, OOD_QUANTILE),
                          ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        label = f"MC dropout, T = {n_passes}" + (" (with the mean-and-variance head)" if has_sigma else "")
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
    return UncertaintyResult(method=method, method_label=label, summary=summary, conformal=conformal,
                             verdict=in_sample_note(regression_verdict(summary, SPLIT_LABELS[split], conformal), split),
                             level=level,
                             notes=notes, n_passes=n_passes if method == "mc_dropout" else None, arrays=arrays)


NO_CALIBRATION = ("No calibration split, so no constant σ and no conformal intervals: they need held-out "
                  "samples that neither training nor early stopping has seen (the validation split chose "
                  "the epoch). Give the calibration split a non-zero fraction in the Data panel.")


def _without_calibration(prepared, raw, split, level, mean_of) -> UncertaintyResult:
    """A model with no σ of its own and no calibration split: no error bars to judge."""
    y = prepared.inverse_y(prepared.y[split]).astype(np.float64)
    return UncertaintyResult(method="residual", method_label="none (no calibration split)", summary={},
                             conformal=None, verdict={"level": "warn", "text": NO_CALIBRATION}, level=level,
                             notes=[NO_CALIBRATION], arrays={"y_true": y, "mean": mean_of(raw[split])})


def in_sample_note(verdict: dict, split: str) -> dict:
    """The validation split chose the epoch (and fitted the temperature): judged on it, the
    uncertainty is in-sample and looks better than it is. Say so, as the Diagnostics panel does."""
    if split != "val":
        return verdict
    return {**verdict, "text": verdict["text"] + " These figures come from the validation split, which "
            "chose the best epoch and fitted the temperature: they are in-sample and optimistic; the test "
            "split gives the honest ones."}


def _validated_temperature(val_logits, val_proba, y_val) -> tuple[float, str | None]:
    """The temperature fitted on the validation split, or 1 with the reason when it does not
    lower both the validation NLL and ECE there (scaling that does not help is not applied)."""
    from nnstudio.core import evaluation as ev

    kind, values = ("logits", val_logits) if val_logits is not None else ("proba", val_proba)
    t = ev.fit_temperature(values, y_val, kind=kind)
    raw = ev.apply_temperature(values, 1.0, kind=kind)
    scaled = ev.apply_temperature(values, t, kind=kind)
    nll, nll_t = ev.classification_nll(raw, y_val), ev.classification_nll(scaled, y_val)
    ece, ece_t = ev.expected_calibration_error(raw, y_val), ev.expected_calibration_error(scaled, y_val)
    if nll_t < nll and ece_t < ece:
        return t, None
    return 1.0, (f"T = {t:.2f} would change NLL {nll:.4f} → {nll_t:.4f} and ECE {ece:.4f} → {ece_t:.4f} "
                 "on validation")


def classification_uncertainty(prepared, model, raw, method, split, n_passes, level, reference_size, seed,
                               task, ens=None, temperature_scaling: bool = True, tta: bool = False) -> UncertaintyResult:
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
        samples = squeeze(_mc(model, prepared.x[split], n_passes, task, 10, 40, f"MC dropout ({n_passes} passes)"))
        proba = samples.mean(axis=0)
        val_proba = None
        if "val" in raw:
            val_proba = squeeze(_mc(model, prepared.x["val"], n_passes, task, 50, 25,
                                    "MC dropout on the validation split")).mean(axis=0)
        mi = ev.mutual_information(samples)
        arrays["mutual_information"] = mi
        ref_split = reference_split(prepared, split)
        if ref_split is not None:
            rows = reference_rows(prepared.count(ref_split), reference_size, seed)
            ref = ev.mutual_information(squeeze(_mc(
                model, prepared.x[ref_split][rows], n_passes, task, 75, 20,
                f"MC dropout on the {SPLIT_LABELS.get(ref_split, 'calibration')} split (reference)")))
            arrays.update(ood=ev.flag_out_of_distribution(mi, ref, OOD_QUANTILE),
                          ood_threshold=ev.ood_threshold(ref, OOD_QUANTILE))
        label = f"MC dropout, T = {n_passes}"
    else:
        method = "softmax"
        proba = det
        val_proba = squeeze(raw["val"]) if "val" in raw else None
        label = "the model's probabilities"
    task.check()
    task.report_progress(96, 100, "summarising")
    # a single model's own logits when it has them (the ensemble and MC means have none)
    logits = {}
    if method == "softmax" and getattr(model, "layers", None):
        logits = {s: _logits(model, prepared.x[s], tta) for s in ("val", split) if s in raw}
        logits = {s: z for s, z in logits.items() if z is not None}
    temperature, skipped = 1.0, None
    if not temperature_scaling:
        notes.append("Temperature scaling is off in the project's settings (T = 1).")
    elif "val" in logits or val_proba is not None:
        temperature, skipped = _validated_temperature(logits.get("val"), val_proba, prepared.y["val"])
    else:
        notes.append("No validation split: temperature scaling is off (T = 1).")
    summary = ev.summarise_classification_uncertainty(proba, y, temperature, prob_samples=samples,
                                                      method=label, logits=logits.get(split))
    if skipped:
        summary["temperature_skipped"] = skipped
    conformal = None
    if "cal" in raw:
        conformal = ev.summarise_conformal_classification(squeeze(raw["cal"]), prepared.y["cal"],
                                                          det, y, alpha=1.0 - level)
        qhat = conformal["qhat"]
        sets = ev.prediction_sets(det, qhat if qhat is not None else math.inf)
        arrays["set_size"] = sets.sum(axis=1)
        arrays["conformal_set"] = sets
    else:
        notes.append("No calibration split: conformal prediction sets are off.")
    k = proba.shape[1] if proba.ndim == 2 else 2
    pred = ev.predicted_labels(proba, threshold=None)
    scaled = (ev.apply_temperature(logits[split], temperature, kind="logits") if split in logits
              else ev.apply_temperature(proba, temperature, kind="proba"))
    entropy = ev.predictive_entropy(proba)
    arrays.update(y_true=y, proba=proba, y_pred=pred, confidence=of_class(proba, pred),
                  confidence_scaled=of_class(scaled, pred), entropy=entropy)
    histograms = {"entropy": np.histogram(entropy, bins=HIST_BINS, range=(0.0, math.log(k)))}
    if "mutual_information" in arrays:
        mi = arrays["mutual_information"]
        histograms["mutual_information"] = np.histogram(mi, bins=HIST_BINS, range=(0.0, max(float(mi.max()), 1e-6)))
    return UncertaintyResult(method=method, method_label=label, summary=summary, conformal=conformal,
                             verdict=in_sample_note(classification_verdict(summary, SPLIT_LABELS[split], conformal), split),
                             level=level, notes=notes, n_passes=n_passes if method == "mc_dropout" else None,
                             temperature=temperature, histograms=histograms, arrays=arrays)


__all__ = [
    "HIST_BINS",
    "MAX_ERROR_BARS",
    "NO_CALIBRATION",
    "OOD_QUANTILE",
    "REFERENCE_SIZE",
    "check_mc_model",
    "classification_uncertainty",
    "ensemble_point",
    "ensemble_samples",
    "feature_ood",
    "hidden_features",
    "in_sample_note",
    "of_class",
    "predict_logits",
    "reference_rows",
    "reference_split",
    "regression_uncertainty",
]
