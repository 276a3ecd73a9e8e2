import json
import time

import numpy as np
import pytest

from nnstudio.core.evaluation.classification import (
    class_curves, classification_diagnostics, confident_mistakes, confusion_at, metrics_from_confusion,
    operating_point, predicted_labels,
)
from nnstudio.errors import NnstudioError


def one_hot_proba(pred, k, conf=0.8):
    p = np.full((len(pred), k), (1 - conf) / (k - 1))
    p[np.arange(len(pred)), pred] = conf
    return p


def test_known_confusion_matrix_and_scores():
    y = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    d = classification_diagnostics(y, one_hot_proba(pred, 3), ["a", "b", "c"])
    np.testing.assert_array_equal(d.confusion, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    np.testing.assert_allclose(d.confusion_normalised, [[.5, .5, 0], [0, 2 / 3, 1 / 3], [0, 0, 1]])
    assert d.accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(d.precision, [1, 2 / 3, 1 / 2])
    np.testing.assert_allclose(d.recall, [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(d.f1, [2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_array_equal(d.support, [2, 3, 1])
    assert d.macro["f1"] == pytest.approx(2 / 3)
    assert d.weighted["precision"] == pytest.approx(0.75)
    assert d.decision == "argmax"
    s = d.summary()
    assert s["precision"] == pytest.approx(d.macro["precision"])
    assert s["confusion_matrix"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]


def test_scores_agree_with_sklearn():
    from sklearn.metrics import precision_recall_fscore_support
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 500)
    p = rng.dirichlet(np.ones(4), 500)
    m = metrics_from_confusion(confusion_at(y, p, None))
    for avg in ("macro", "weighted"):
        pr, rc, f1, _ = precision_recall_fscore_support(y, p.argmax(1), average=avg, zero_division=0)
        assert m[avg]["precision"] == pytest.approx(pr)
        assert m[avg]["recall"] == pytest.approx(rc)
        assert m[avg]["f1"] == pytest.approx(f1)


def test_four_point_roc_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    d = classification_diagnostics(y, p, ["neg", "pos"])
    c = d.curves[1]
    np.testing.assert_allclose(c.fpr, [0, 0, .5, .5, 1])
    np.testing.assert_allclose(c.tpr, [0, .5, .5, 1, 1])
    np.testing.assert_allclose(c.thresholds, [np.inf, .8, .4, .35, .1])
    assert d.roc_auc == pytest.approx(0.75)
    assert d.average_precision == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert operating_point(d, 0.4) == pytest.approx((.5, .5, .5, .5))
    assert operating_point(d, 0.37) == pytest.approx((.5, .5, .5, .5))
    assert operating_point(d, 0.35) == pytest.approx((.5, 1, 2 / 3, 1))
    assert operating_point(c, 0.9) == pytest.approx((0, 0, 1, 0))
    assert operating_point(c, 0.0) == pytest.approx((1, 1, .5, 1))
    # threshold 0.5 predicts only the 0.8 sample positive
    np.testing.assert_array_equal(d.confusion, [[2, 0], [1, 1]])
    assert d.summary()["recall"] == pytest.approx(0.5)


def test_perfect_and_random_classifiers():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20000)
    perfect = classification_diagnostics(y, y * 0.9 + 0.05, ["a", "b"])
    assert perfect.roc_auc == 1.0 and perfect.average_precision == pytest.approx(1.0)
    assert perfect.accuracy == 1.0
    random = classification_diagnostics(y, rng.random(20000), ["a", "b"])
    assert abs(random.roc_auc - 0.5) < 0.02
    assert abs(random.average_precision - y.mean()) < 0.02


def test_curves_match_sklearn_with_ties():
    from sklearn.metrics import average_precision_score, roc_curve
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 1000)
    s = np.round(np.clip(y * 0.3 + rng.random(1000) * 0.7, 0, 1), 1)   # many ties
    c = class_curves(s, y == 1)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(c.fpr, fpr)
    np.testing.assert_allclose(c.tpr, tpr)
    np.testing.assert_allclose(c.thresholds[1:], thr[1:])
    assert c.average_precision == pytest.approx(average_precision_score(y, s))


def test_multiclass_one_vs_rest_auc_and_operating_point():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(size=(3000, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    d = classification_diagnostics(y, p, ["x", "y", "z"], threshold=0.3, positive=2)
    assert d.roc_auc == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    np.testing.assert_array_equal(d.y_pred, p.argmax(1))
    fpr, tpr, prec, rec = operating_point(d, 0.3)
    pos = p[:, 2] >= 0.3
    assert tpr == pytest.approx(np.mean(pos[y == 2]))
    assert fpr == pytest.approx(np.mean(pos[y != 2]))
    assert prec == pytest.approx(np.mean(y[pos] == 2))


def test_threshold_decision_rule():
    p = np.array([0.2, 0.5, 0.7])
    np.testing.assert_array_equal(predicted_labels(p, 0.5), [0, 1, 1])
    np.testing.assert_array_equal(predicted_labels(p, 0.6), [0, 0, 1])
    # positive = 0: predict class 0 when P(class 0) = 1 - p >= threshold
    np.testing.assert_array_equal(predicted_labels(p, 0.5, positive=0), [0, 0, 1])
    p3 = np.array([[0.4, 0.35, 0.25], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]])
    np.testing.assert_array_equal(predicted_labels(p3, None), [0, 1, 2])
    # class 2 when P(2) >= 0.3, otherwise the likelier of the other two
    np.testing.assert_array_equal(predicted_labels(p3, 0.3, positive=2), [0, 2, 2])
    np.testing.assert_array_equal(confusion_at([0, 1, 2], p3, 0.3, positive=2),
                                  [[1, 0, 0], [0, 0, 1], [0, 0, 1]])


def test_confusion_at_is_fast_on_100k():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 100_000)
    p = rng.random(100_000)
    confusion_at(y, p, 0.5)
    start = time.perf_counter()
    for t in np.linspace(0.01, 0.99, 20):
        cm = confusion_at(y, p, t)
    per_call = (time.perf_counter() - start) / 20
    assert cm.sum() == 100_000
    assert cm[:, 1].sum() == np.sum(p >= 0.99)
    assert per_call < 0.05


def test_one_class_split_gives_none_and_a_note():
    d = classification_diagnostics(np.ones(5, int), np.linspace(0.1, 0.9, 5), ["no", "yes"])
    assert d.roc_auc is None and d.roc_auc_macro is None
    assert any("only class 'yes'" in n for n in d.notes)
    assert d.accuracy == pytest.approx(0.6)
    assert operating_point(d, 0.5)[1] == pytest.approx(0.6)
    json.dumps(d.to_dict(), allow_nan=False)


def test_to_dict_is_json_and_thinned():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 50_000)
    d = classification_diagnostics(y, rng.random(50_000), ["a", "b"])
    out = d.to_dict(max_curve_points=500)
    text = json.dumps(out, allow_nan=False)
    assert len(out["curves"][1]["roc"]["fpr"]) <= 502
    assert out["curves"][1]["roc"]["fpr"][0] == 0 and out["curves"][1]["roc"]["fpr"][-1] == 1
    assert "y_pred" not in out and len(text) < 200_000
    assert d.metrics_csv().splitlines()[0].startswith("class,precision")


def test_confident_mistakes_most_confident_first():
    y = np.array([0, 1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.95, 0.1])
    np.testing.assert_array_equal(confident_mistakes(y, p, 0.5), [0, 1, 2])
    np.testing.assert_array_equal(confident_mistakes(y, p, 0.5, limit=1), [0])


@pytest.mark.parametrize("y, p, names, match", [
    ([0, 1], [0.2], None, "different numbers"),
    ([0, 3], [[0.5, 0.5], [0.2, 0.8]], None, "label 3"),
    ([0, 1], [1.2, 0.5], None, "not probabilities"),
    ([0, 1], [np.nan, 0.5], None, "NaN"),
    ([0, 1], [0.3, 0.5], ["a", "b", "c"], "class names"),
    ([], np.zeros(0), None, "empty"),
])
def test_user_errors_are_clear(y, p, names, match):
    with pytest.raises(NnstudioError, match=match):
        classification_diagnostics(y, p, names)
