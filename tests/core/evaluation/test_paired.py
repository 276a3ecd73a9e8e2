"""The paired bootstrap of a difference: point values equal scikit-learn's, the interval is the
noise of the difference, and a real gap is told from none."""
import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, roc_auc_score

from nnstudio.core.evaluation.paired import _weighted_auc, paired_difference
from nnstudio.errors import NnstudioError


def test_weighted_auc_equals_sklearn_with_sample_weights_and_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300).astype(bool)
    s = np.round(rng.normal(size=300) + y, 1)            # rounded: many ties
    w = rng.integers(0, 4, size=(5, 300)).astype(float)
    got = _weighted_auc(y, s, w)
    want = [roc_auc_score(y, s, sample_weight=row) for row in w]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_binary_and_multiclass_point_values_are_sklearns():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 400)
    logits_a = rng.normal(size=(400, 3)) + 2.0 * np.eye(3)[y]
    logits_b = rng.normal(size=(400, 3)) + 0.5 * np.eye(3)[y]
    pa = np.exp(logits_a) / np.exp(logits_a).sum(1, keepdims=True)
    pb = np.exp(logits_b) / np.exp(logits_b).sum(1, keepdims=True)
    r = paired_difference("classification", y, pa, pb, n_resamples=300)
    assert r.a == pytest.approx(roc_auc_score(y, pa, multi_class="ovr", average="macro"), rel=1e-12)
    assert r.b == pytest.approx(roc_auc_score(y, pb, multi_class="ovr", average="macro"), rel=1e-12)
    assert r.interval[0] > 0 and r.a_better is True and r.p_value < 0.01

    yb = (y == 1).astype(int)
    r2 = paired_difference("classification", yb, pa[:, 1], pb[:, 1], n_resamples=300)
    assert r2.a == pytest.approx(roc_auc_score(yb, pa[:, 1]), rel=1e-12)


def test_regression_rmse_and_the_interval_holds_zero_for_the_same_model():
    rng = np.random.default_rng(3)
    t = rng.normal(1000, 50, 500)
    good = t + rng.normal(0, 10, 500)
    bad = t + rng.normal(0, 30, 500)
    r = paired_difference("regression", t, good, bad, n_resamples=500)
    assert r.a == pytest.approx(np.sqrt(mean_squared_error(t, good)))
    assert r.metric == "rmse" and r.difference < 0 and r.interval[1] < 0 and r.a_better is True
    same = paired_difference("regression", t, good, good, n_resamples=500)
    assert same.difference == 0 and same.a_better is None


def test_pairing_narrows_the_interval_where_the_models_share_their_errors():
    """Two models that err on the same hard samples differ by little: the paired interval of the
    difference is much narrower than the two single intervals side by side suggest."""
    rng = np.random.default_rng(4)
    t = rng.normal(size=400)
    shared = rng.normal(0, 1.0, 400) * rng.exponential(1.0, 400)
    a = t + shared
    b = t + shared * 1.05
    r = paired_difference("regression", t, a, b, n_resamples=1000)
    width = r.interval[1] - r.interval[0]
    single = np.std([np.sqrt(np.mean((a[i] - t[i]) ** 2))
                     for i in np.random.default_rng(0).integers(0, 400, (300, 400))])
    assert width < single and r.a_better is True


def test_bad_input_is_refused_in_words():
    with pytest.raises(NnstudioError, match="two classes"):
        paired_difference("classification", np.zeros(10, int), np.full(10, 0.3), np.full(10, 0.4))
    with pytest.raises(NnstudioError, match="classification"):
        paired_difference("ranking", [1, 2], [1, 2], [1, 2])
    with pytest.raises(NnstudioError, match="different"):
        paired_difference("regression", [1.0, 2.0, 3.0], [1, 2, 3], [1, 2])
