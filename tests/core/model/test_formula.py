"""Physical formulas: parsed safely (never eval), fitted with honest errors."""
import numpy as np
import pytest
from scipy.optimize import curve_fit

from nnstudio.core.model.formula import PRESETS, fit_formula, parse_formula
from nnstudio.errors import NnstudioError


def test_a_power_law_is_recovered_within_its_errors():
    """y = a x^b with 5% scatter: each fitted parameter lies within three reported errors of the
    truth, and the errors are those scipy's curve_fit reports for the same model written in Python."""
    rng = np.random.default_rng(7)
    x = rng.uniform(1, 100, 400)
    y = 2.5 * x ** 0.75 * (1 + 0.05 * rng.normal(size=400))
    f = parse_formula("a * luminosity**b", ["luminosity", "colour"])
    assert f.columns == ["luminosity"] and f.parameters == ["a", "b"]
    fit = fit_formula(f, {"luminosity": x}, y)
    (a, b), (ea, eb) = fit.values, fit.errors
    assert abs(a - 2.5) < 3 * ea and abs(b - 0.75) < 3 * eb and 0 < eb < 0.02
    ref, cov = curve_fit(lambda x, a, b: a * x ** b, x, y, p0=[1, 1])
    np.testing.assert_allclose(fit.values, ref, rtol=1e-6)
    np.testing.assert_allclose(fit.errors, np.sqrt(np.diag(cov)), rtol=1e-4)
    assert fit.parameters()["b"]["error"] == pytest.approx(eb)


def test_functions_comparisons_and_presets_parse_and_evaluate():
    f = parse_formula("a + b*log10(x) + c*g_r", ["x", "g_r"])
    assert f.parameters == ["a", "b", "c"] and f.columns == ["x", "g_r"]
    v = f({"x": np.array([10.0, 100.0]), "g_r": np.array([0.5, 1.0])}, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(v, [1 + 2 + 1.5, 1 + 4 + 3])
    for name, text in PRESETS.items():
        g = parse_formula(text.format(x="flux"), ["flux"])
        assert g.columns == ["flux"], name
    broken = parse_formula(PRESETS["broken power law"].format(x="x"), ["x"])
    out = broken({"x": np.array([1.0, 4.0])}, [1.0, 2.0, -1.0, -3.0])       # a, x0, b1, b2
    np.testing.assert_allclose(out, [0.5 ** -1, 2.0 ** -3])


@pytest.mark.parametrize("text, message", [
    ("a * lumnosity**b", "'lumnosity', which is neither an input column"),
    ("a * gamma_fn(luminosity)", "Unknown function 'gamma_fn'"),
    ("__import__('os').system('rm -rf /')", "Unknown function"),
    ("a * luminosity.real", "may not contain"),
    ("a * luminosity[0]", "may not contain"),
    ("(lambda: 1)()", "Unknown function"),
    ("a * 'luminosity'", "numbers"),
    ("a * luminosity **", "not valid"),
    ("luminosity * 2", "no free parameter"),
    ("a + b", "no input column"),
    ("", "Type a formula"),
])
def test_unsafe_or_unknown_formulas_are_refused_in_one_line(text, message):
    with pytest.raises(NnstudioError, match=message):
        parse_formula(text, ["luminosity"])


def test_an_unconstrained_parameter_is_said_and_a_hopeless_formula_refused():
    x = np.linspace(1, 2, 50)
    f = parse_formula("a*b*x", ["x"])                   # only a·b is constrained
    fit = fit_formula(f, {"x": x}, 3 * x + np.random.default_rng(0).normal(0, 0.1, 50))
    assert "do not constrain" in fit.note
    with pytest.raises(NnstudioError, match="parameters and only"):
        fit_formula(parse_formula("a + b*x + c*x**2", ["x"]), {"x": x[:3]}, x[:3])
    with pytest.raises(NnstudioError, match="no finite value"):
        fit_formula(parse_formula("a*log(x - 10)", ["x"]), {"x": x}, x)
