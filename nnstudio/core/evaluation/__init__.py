"""Evaluation: diagnostics and uncertainty as pure functions on numpy arrays.

Each function returns plain numbers or small dataclasses of arrays with ``to_dict()`` (JSON-able).
Importing this package is cheap: scikit-learn and Keras are imported inside the functions that
need them.
"""
from nnstudio.core.evaluation._common import bin_members
from nnstudio.core.evaluation.bootstrap import (
    CLASSIFICATION_METRICS, REGRESSION_METRICS, coverage_interval, coverage_resamples, ece_interval,
    ece_resamples, metric_intervals, metric_resamples,
)
from nnstudio.core.evaluation.calibration import (
    ReliabilityDiagram, apply_temperature, classification_nll, expected_calibration_error,
    fit_temperature, reliability_diagram,
)
from nnstudio.core.evaluation.classification import (
    ClassCurves, ClassificationDiagnostics, cell_indices, class_curves, classification_diagnostics,
    confident_mistakes, confusion_at, diagnostics_at, metrics_from_confusion, normalise_rows,
    operating_point, predicted_labels,
)
from nnstudio.core.evaluation.conformal import (
    conformal_intervals, conformal_quantile, conformal_regression_quantile, conformal_threshold,
    interval_coverage, mean_set_size, minimum_calibration_size, prediction_sets, set_coverage,
    summarise_conformal_classification, summarise_conformal_regression,
)
from nnstudio.core.evaluation.hints import baseline_loss, learning_curve_hint
from nnstudio.core.evaluation.regression import RegressionDiagnostics, nmad, regression_diagnostics
from nnstudio.core.evaluation.report import html_report, write_html_report
from nnstudio.core.evaluation.uncertainty import (
    LEVEL_68, LEVEL_95, CoverageCurve, combine_gaussian_samples, coverage_curve, distance_scores, dropout_layers,
    error_vs_sigma, flag_out_of_distribution, gaussian_coverage, gaussian_nll, mc_dropout_predict,
    mutual_information, ood_threshold, pit_histogram, pit_values, predictive_entropy, sharpness,
    split_mean_sigma, summarise_classification_uncertainty, summarise_regression_uncertainty,
)
from nnstudio.core.evaluation.verdicts import (
    classification_verdict, coverage_tolerance, ece_noise, regression_verdict,
)

__all__ = ["CLASSIFICATION_METRICS", "ClassCurves", "ClassificationDiagnostics", "CoverageCurve",
           "LEVEL_68", "LEVEL_95", "REGRESSION_METRICS", "RegressionDiagnostics",
           "ReliabilityDiagram", "apply_temperature", "baseline_loss",
           "bin_members", "cell_indices", "class_curves", "classification_diagnostics",
           "classification_nll", "classification_verdict", "combine_gaussian_samples",
           "confident_mistakes", "conformal_intervals", "conformal_quantile",
           "conformal_regression_quantile", "conformal_threshold", "confusion_at",
           "coverage_curve", "coverage_interval", "coverage_resamples", "coverage_tolerance",
           "diagnostics_at", "distance_scores", "dropout_layers", "ece_interval", "ece_noise", "ece_resamples",
           "error_vs_sigma", "expected_calibration_error", "fit_temperature",
           "flag_out_of_distribution", "gaussian_coverage", "gaussian_nll", "html_report",
           "interval_coverage", "learning_curve_hint", "mc_dropout_predict", "mean_set_size",
           "metric_intervals", "metric_resamples",
           "metrics_from_confusion", "minimum_calibration_size", "mutual_information", "nmad",
           "normalise_rows", "ood_threshold", "operating_point", "pit_histogram", "pit_values",
           "predicted_labels", "prediction_sets", "predictive_entropy", "regression_diagnostics",
           "regression_verdict", "reliability_diagram", "set_coverage", "sharpness",
           "split_mean_sigma", "summarise_classification_uncertainty",
           "summarise_conformal_classification", "summarise_conformal_regression",
           "summarise_regression_uncertainty", "write_html_report"]
