import numpy as np
import pytest

from nnstudio.core.evaluation.uncertainty import dropout_layers, mc_dropout_predict
from nnstudio.core.tasks import Task
from nnstudio.errors import Cancelled

keras = pytest.importorskip("keras")


class Recorder(Task):
    def __init__(self):
        super().__init__()
        self.progress, self.messages = [], []

    def report_progress(self, done, total, text=""):
        self.progress.append((done, total))

    def report_message(self, text):
        self.messages.append(text)


def _x(n=37, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def test_without_dropout_every_pass_equals_predict():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3)])
    task = Recorder()
    s = mc_dropout_predict(model, _x(), n_passes=5, task=task)
    assert s.shape == (5, 37, 3) and s.dtype == np.float32
    np.testing.assert_allclose(s, np.broadcast_to(model.predict(_x(), verbose=0), s.shape), rtol=1e-6)
    assert "no dropout" in task.messages[0]


def test_dropout_passes_differ_and_average_to_the_deterministic_prediction():
    keras.utils.set_random_seed(1)
    inp = keras.Input((4,))
    h = keras.layers.Dropout(0.5)(inp)
    out = keras.layers.Dense(2)(h)          # linear after dropout: E[sample] = predict exactly
    model = keras.Model(inp, out)
    task = Recorder()
    s = mc_dropout_predict(model, _x(), n_passes=400, batch_size=16, task=task)
    assert s.shape == (400, 37, 2)
    assert np.all(s.std(axis=0) > 0)
    assert not np.allclose(s[0], s[1])
    det = model.predict(_x(), verbose=0)
    se = s.std(axis=0) / np.sqrt(400)
    assert np.all(np.abs(s.mean(axis=0) - det) < 5 * se + 1e-6)
    assert task.progress[-1] == (37, 37)
    # a second call gives fresh masks, not a replay
    assert not np.allclose(mc_dropout_predict(model, _x(), n_passes=2, batch_size=16)[0], s[0])


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.77])
def test_sixteen_bit_dropout_keeps_the_rate_and_the_mean(rate):
    """Each pass's draws: a Bernoulli(rate) drop per value (within 4 sigma on 2 M values), the kept
    values scaled by the exact keep probability, fresh draws each call, Keras's own distribution."""
    import tensorflow as tf

    from nnstudio.core.evaluation.uncertainty import dropout16

    gen = keras.random.SeedGenerator(3)
    ones = tf.ones((1000, 2000))
    a = dropout16(ones, rate, gen).numpy()
    b = dropout16(ones, rate, gen).numpy()
    cut = round(rate * 65536)
    assert set(np.unique(a)) == {0.0, np.float32(65536 / (65536 - cut))}
    dropped = np.mean(a == 0)
    assert abs(dropped - rate) < 4 * np.sqrt(rate * (1 - rate) / a.size)
    assert abs(a.mean() - 1.0) < 4 * np.sqrt(rate / (1 - rate) / a.size)
    assert np.mean((a == 0) & (b == 0)) == pytest.approx(rate * rate, abs=4 * np.sqrt(rate ** 2 / a.size))
    # neighbours (the two halves of one random word) are independent too
    pairs = (a[:, 0::2] == 0) & (a[:, 1::2] == 0)
    assert abs(pairs.mean() - rate * rate) < 4 * np.sqrt(rate ** 2 * (1 - rate ** 2) / pairs.size)
    odd = tf.ones((3, 5, 7))                             # an odd number of values: one half word unused
    assert dropout16(odd, rate, gen).shape == (3, 5, 7)


def test_batch_normalization_stays_in_inference_mode():
    inp = keras.Input((3,))
    bn = keras.layers.BatchNormalization(epsilon=0.0)
    out = keras.layers.Dropout(0.5)(bn(inp))
    model = keras.Model(inp, out)
    bn.moving_mean.assign([1.0, 2.0, 3.0])
    bn.moving_variance.assign([4.0, 4.0, 4.0])
    x = np.array([[3.0, 2.0, -1.0], [1.0, 1.0, 1.0]], dtype="float32")
    s = mc_dropout_predict(model, x, n_passes=50)
    expected = (x - [1.0, 2.0, 3.0]) / 2.0                  # inference-mode normalisation
    kept = s != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(s[kept], np.broadcast_to(2.0 * expected, s.shape)[kept], rtol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [1.0, 2.0, 3.0])   # not updated


def test_nested_model_and_spatial_dropout_cnn():
    keras.utils.set_random_seed(2)
    block = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.SpatialDropout2D(0.3)])
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Flatten()(block(inp))
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    assert len(dropout_layers(model)) == 1
    x = np.random.default_rng(3).normal(size=(10, 8, 8, 1)).astype("float32")
    s = mc_dropout_predict(model, x, n_passes=6)
    assert s.shape == (6, 10, 1)
    assert np.all((s >= 0) & (s <= 1)) and s.std(axis=0).mean() > 0


def test_stop_cancels():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    task = Task()
    task.stop.set()
    with pytest.raises(Cancelled):
        mc_dropout_predict(model, _x(), n_passes=3, task=task)


def _mean_matches_predict(model, x, T=400):
    s = mc_dropout_predict(model, x, n_passes=T, batch_size=16)
    det = model.predict(x, verbose=0)
    se = s.std(axis=0) / np.sqrt(T)
    assert np.all(np.abs(s.mean(axis=0) - det) < 5 * se + 1e-5)
    assert np.all(s.std(axis=0) > 0)


def test_shared_prefix_runs_once_and_keeps_inputs_aligned():
    from nnstudio.core.evaluation.uncertainty import _split_shared_prefix
    keras.utils.set_random_seed(4)
    inp = keras.Input((4,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    h = keras.layers.BatchNormalization()(h)
    out = keras.layers.Dense(2)(keras.layers.Dropout(0.3)(h))
    model = keras.Model(inp, out)
    prefix, rest = _split_shared_prefix(model)
    assert prefix is not None and len(rest.layers) < len(model.layers)
    _mean_matches_predict(model, _x())


def test_skip_connection_around_dropout_falls_back_to_tiling_the_input():
    from nnstudio.core.evaluation.uncertainty import _split_shared_prefix
    keras.utils.set_random_seed(5)
    inp = keras.Input((4,))
    h = keras.layers.Dense(4)(inp)
    out = keras.layers.Add()([inp, keras.layers.Dense(4)(keras.layers.Dropout(0.3)(h))])
    model = keras.Model(inp, out)
    assert _split_shared_prefix(model)[0] is None
    _mean_matches_predict(model, _x())


def test_benchmark_smoke_prints_a_json_last_line(capsys):
    import importlib.util
    import json
    from pathlib import Path
    path = Path(__file__).parents[3] / "benchmarks" / "uncertainty.py"
    spec = importlib.util.spec_from_file_location("bench_uncertainty", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--smoke"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["benchmark"] == "uncertainty" and result["goal"].startswith("ratio <= 0.5")
    dense = result["dense"]
    assert dense["interval"][0] <= dense["ratio"] <= dense["interval"][1] and dense["pairs"] == 2
    assert isinstance(result["pass"], bool)


def test_the_compiled_step_is_kept_with_its_model_and_reads_its_weights():
    import gc

    from nnstudio.core.evaluation import uncertainty

    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    first = mc_dropout_predict(model, _x(), n_passes=20, batch_size=16)
    step = uncertainty._mc_step(model, 20, (16, 4), np.float32)
    assert uncertainty._mc_step(model, 20, (16, 4), np.float32) is step          # no rebuild, no retrace
    again = mc_dropout_predict(model, _x(), n_passes=20, batch_size=16)
    assert not np.allclose(first, again)                                         # fresh masks
    model.layers[-1].set_weights([np.zeros((8, 1), np.float32), np.full(1, 2.5, np.float32)])
    np.testing.assert_allclose(mc_dropout_predict(model, _x(), n_passes=20, batch_size=16), 2.5)
    import weakref

    gone = weakref.ref(model)
    del model, step
    gc.collect()
    assert gone() is None                    # the kept step does not keep its model alive


def test_narrow_networks_take_larger_steps_within_the_same_memory_budget():
    from nnstudio.core.evaluation.uncertainty import _widest_output, default_mc_batch_size

    dense = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64), keras.layers.Dropout(0.2),
                              keras.layers.Dense(1)])
    assert _widest_output(dense) == 64
    # 2**22 values per layer output / 64 = 65,536 tiled rows: 1,310 inputs of 50 passes (163 without)
    assert default_mc_batch_size((16,), 50) == 163
    assert default_mc_batch_size((16,), 50, 64) == 1310
    # wide layers and big inputs keep the old caps
    assert default_mc_batch_size((16,), 50, 4096) == 163
    assert default_mc_batch_size((32, 32, 1), 50, 8) == default_mc_batch_size((32, 32, 1), 50) == 81
