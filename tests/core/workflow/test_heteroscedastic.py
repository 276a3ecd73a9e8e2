"""A mean-and-variance head trained with Gaussian NLL gives honest intervals on data with known noise."""
import numpy as np

from nnstudio.core.data.prepared import PreparedData
from nnstudio.core.evaluation import gaussian_coverage
from nnstudio.core.model import make_template
from nnstudio.core.training import TrainConfig
from nnstudio.core.training.trainer import train
from nnstudio.core.workflow.evaluate import evaluate


def noisy_sine(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(x) + N(0, σ(x)²) with σ(x) = 0.05 + 0.25·|x|/3: noise grows fivefold across the range."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=n)
    sigma = 0.05 + 0.25 * np.abs(x) / 3
    return x.astype("float32")[:, None], (np.sin(x) + sigma * rng.normal(size=n)).astype("float32")


def test_heteroscedastic_95_percent_intervals_cover_93_to_97_percent(tmp_path, tensorflow):
    x, y = noisy_sine(8000, seed=1)
    mean, std = float(y[:5000].mean()), float(y[:5000].std())
    ys = (y - mean) / std
    cuts = {"train": slice(0, 4000), "val": slice(4000, 5000), "cal": slice(5000, 5000), "test": slice(5000, 8000)}
    prepared = PreparedData(kind="table", problem="regression",
                            x={k: x[s] for k, s in cuts.items()}, y={k: ys[s] for k, s in cuts.items()},
                            index={k: np.arange(8000)[s] for k, s in cuts.items()}, feature_names=["x"],
                            target_name="y", target_scaler={"mean": mean, "std": std})
    spec = make_template("heteroscedastic-mlp", (1,), "regression")
    record, model = train(prepared, spec, TrainConfig(epochs=60, batch_size=64, patience=8, seed=3), tmp_path / "r")
    assert record.status == "completed"
    result = evaluate(prepared=prepared, model=model)
    out = {"mean": result.arrays["mean"], "sigma": result.uncertainty.arrays["sigma"]}
    y_test = prepared.inverse_y(prepared.y["test"])
    coverage = gaussian_coverage(y_test, out["mean"], out["sigma"], 0.95)
    assert result.uncertainty.method == "heteroscedastic"
    assert 0.93 <= coverage <= 0.97, coverage
    # and the predicted noise follows the true one: larger sigma where |x| is larger
    xt = prepared.x["test"][:, 0]
    assert out["sigma"][np.abs(xt) > 2].mean() > 2 * out["sigma"][np.abs(xt) < 1].mean()
