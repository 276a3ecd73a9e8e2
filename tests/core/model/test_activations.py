import math

import numpy as np
import pytest

from nnstudio.core.model import ACTIVATIONS


def test_every_activation_has_formula_description_and_curve():
    assert list(ACTIVATIONS) == ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                 "softmax", "gelu", "swish"]
    assert ACTIVATIONS["sigmoid"].formula == "y = 1 / (1 + e^-x)"
    assert ACTIVATIONS["relu"].formula == "y = max(0, x)"
    for name, (formula, description, fn) in ACTIVATIONS.items():
        assert formula.startswith("y") and description
        y = fn(np.linspace(-5, 5, 11))
        assert y.shape == (11,) and np.all(np.isfinite(y)), name


@pytest.mark.parametrize("name, x, expected", [
    ("linear", -2.0, -2.0),
    ("sigmoid", 0.0, 0.5),
    ("sigmoid", math.log(3.0), 0.75),          # 1 / (1 + 1/3)
    ("tanh", math.log(2.0), 0.6),              # (2 - 1/2) / (2 + 1/2)
    ("relu", -3.0, 0.0),
    ("relu", 2.0, 2.0),
    ("leaky_relu", -1.0, -0.2),                # Keras default slope
    ("elu", -math.log(2.0), -0.5),             # 1 * (1/2 - 1)
    ("softmax", 0.0, 0.5),                     # two equal inputs
    ("gelu", 0.0, 0.0),
    ("gelu", 1.0, 0.8413447460685429),         # 1 * Phi(1)
    ("swish", math.log(3.0), math.log(3.0) * 0.75),
])
def test_curves_match_hand_values(name, x, expected):
    assert ACTIVATIONS[name].function(np.array([x]))[0] == pytest.approx(expected, abs=1e-12)


def test_alpha_changes_leaky_relu_and_elu():
    assert ACTIVATIONS["leaky_relu"].function(np.array([-2.0]), alpha=0.05)[0] == pytest.approx(-0.1)
    assert ACTIVATIONS["elu"].function(np.array([-math.log(2.0)]), alpha=2.0)[0] == pytest.approx(-1.0)
    assert ACTIVATIONS["sigmoid"].function(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
