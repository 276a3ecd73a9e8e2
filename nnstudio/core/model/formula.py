"""A physical formula beside the network: y = f(x, p) with p constants that mean something.

The user types a formula over the input columns and free parameters, e.g. ``a * luminosity**b``
or ``a + b*log10(x) + c*g_r``. It is parsed with :mod:`ast` and evaluated by walking the tree
with numpy: only numbers, + - * / ** and unary minus, the functions in :data:`FUNCTIONS`, input
columns and parameters are allowed; user text is never passed to ``eval``. A name is an input
column when the data has a column of that name, a parameter when it is a short parameter name
(one letter with optional digits, ``a``, ``b2``, or a Greek letter's name, ``alpha``); any other
name is refused, so a misspelt column is never fitted as a parameter.

The parameters are fitted by non-linear least squares (``scipy.optimize.curve_fit``) on the
training split; their errors are the square roots of the covariance's diagonal, scaled by the
residual variance (``absolute_sigma=False``: the scatter is measured, not known).
"""
from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from nnstudio.errors import NnstudioError

FUNCTIONS = {
    "log": np.log, "ln": np.log, "log10": np.log10, "log2": np.log2, "exp": np.exp, "sqrt": np.sqrt,
    "abs": np.abs, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
}
CONSTANTS = {"pi": np.pi}
GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa", "lam",
         "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega")
_PARAMETER = re.compile(r"^([a-zA-Z]\d*|(" + "|".join(GREEK) + r")\d*)$")
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Pow: np.power}
MAX_LENGTH = 500

#: formulas a user may pick instead of typing one ({x} is the chosen input column)
PRESETS = {
    "linear": "a + b*{x}",
    "power law": "a * {x}**b",
    "broken power law": "a * ({x}/x0)**(b1*({x} < x0) + b2*({x} >= x0))",
    "polynomial (2nd order)": "a + b*{x} + c*{x}**2",
    "Gaussian": "a * exp(-0.5*(({x} - m)/s)**2)",
    "Schechter": "phi * ({x}/x0)**alpha * exp(-{x}/x0)",
}


@dataclass
class Formula:
    """A parsed formula: the text, the input columns it reads, and its free parameters in order
    of first appearance."""

    text: str
    columns: list[str]
    parameters: list[str]
    tree: ast.Expression = field(repr=False)

    def __call__(self, inputs: dict[str, np.ndarray], values) -> np.ndarray:
        env = {**CONSTANTS, **dict(zip(self.parameters, values))}
        env.update({c: np.asarray(inputs[c], dtype=np.float64) for c in self.columns})
        with np.errstate(all="ignore"):
            out = self.evaluate(env, NUMPY_OPS)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), np.shape(inputs[self.columns[0]]))

    def evaluate(self, env: dict, ops: "Ops"):
        """The formula's value with ``env`` naming every column and parameter, computed by
        ``ops`` (numpy here; Keras ops inside a model)."""
        return _evaluate(self.tree.body, env, ops)


def parse_formula(text: str, columns) -> Formula:
    """Parse ``text`` safely against the data's ``columns``; one clear error for anything else."""
    text = (text or "").strip()
    if not text:
        raise NnstudioError("Type a formula, e.g. a * luminosity**b.")
    if len(text) > MAX_LENGTH:
        raise NnstudioError(f"The formula is longer than {MAX_LENGTH} characters.")
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise NnstudioError(f"The formula is not valid: {exc.msg} at character {exc.offset}.") from None
    columns = set(columns)
    used_columns, parameters = [], []
    # in order of first appearance in the text (ast.walk goes breadth first)
    nodes = sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 1 << 30), getattr(n, "col_offset", 0)))
    for node in nodes:
        if isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, ast.Compare,
                             ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.USub, ast.UAdd, *_BINARY)):
            if isinstance(node, ast.Compare) and len(node.ops) != 1:
                raise NnstudioError("Compare two things at a time in a formula (x < x0).")
            continue
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise NnstudioError(f"The formula may hold numbers, not {node.value!r}.")
            continue
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords \
                    or len(node.args) != 1:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise NnstudioError(f"Unknown function {name!r} in the formula: use one of "
                                    f"{', '.join(sorted(FUNCTIONS))} with one argument.")
            continue
        if isinstance(node, ast.Name):
            name = node.id
            if name in FUNCTIONS and _is_called(tree, node):
                continue
            if name in columns:
                if name not in used_columns:
                    used_columns.append(name)
            elif name in CONSTANTS:
                continue
            elif _PARAMETER.match(name):
                if name not in parameters:
                    parameters.append(name)
            else:
                raise NnstudioError(f"The formula names {name!r}, which is neither an input column nor a "
                                    "parameter name (a letter with optional digits, or a Greek letter).")
            continue
        what = (ast.unparse(node) if hasattr(node, "lineno") else "") or type(node).__name__.lower()
        raise NnstudioError(f"The formula may not contain {what!r}: only numbers, + - * / **, "
                            "comparisons, functions of one argument, input columns and parameters.")
    if not used_columns:
        raise NnstudioError("The formula uses no input column: name at least one.")
    if not parameters:
        raise NnstudioError("The formula has no free parameter to fit (e.g. a, b).")
    return Formula(text, used_columns, parameters, tree)


def _is_called(tree, name_node) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name_node for n in ast.walk(tree))


@dataclass(frozen=True)
class Ops:
    """The arithmetic a formula is computed with: +-*/** and comparisons by AST node type, the
    functions by name, and how a comparison's truth becomes a number."""

    binary: dict
    compare: dict
    functions: dict
    as_number: object


NUMPY_OPS = Ops(binary=_BINARY,
                compare={ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal},
                functions=FUNCTIONS, as_number=lambda b: np.asarray(b, dtype=np.float64))


def _evaluate(node, env, ops: Ops):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, env, ops)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        return ops.binary[type(node.op)](_evaluate(node.left, env, ops), _evaluate(node.right, env, ops))
    if isinstance(node, ast.Compare):
        a, b = _evaluate(node.left, env, ops), _evaluate(node.comparators[0], env, ops)
        return ops.as_number(ops.compare[type(node.ops[0])](a, b))
    if isinstance(node, ast.Call):
        return ops.functions[node.func.id](_evaluate(node.args[0], env, ops))
    raise NnstudioError("The formula holds something that cannot be evaluated.")   # parse refuses it first


@dataclass
class FormulaFit:
    """Fitted parameters with their 1σ errors and the covariance; ``note`` says when the errors
    cannot be trusted (parameters the data do not constrain)."""

    formula: Formula
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    n_train: int
    note: str = ""

    def predict(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.formula(inputs, self.values)

    def parameters(self) -> dict:
        return {name: {"value": float(v), "error": float(e)}
                for name, v, e in zip(self.formula.parameters, self.values, self.errors)}


def fit_formula(formula: Formula, inputs: dict[str, np.ndarray], y, p0=None) -> FormulaFit:
    """Least-squares fit of ``formula`` to ``y`` on the given (training) rows."""
    from scipy.optimize import curve_fit

    y = np.asarray(y, dtype=np.float64)
    k = len(formula.parameters)
    if len(y) <= k:
        raise NnstudioError(f"The formula has {k} parameters and only {len(y)} training rows to fit them.")
    start = np.ones(k) if p0 is None else np.asarray(p0, dtype=np.float64)
    rows = np.arange(len(y))

    def model(_rows, *p):
        return formula(inputs, p)

    if not np.all(np.isfinite(model(rows, *start))):
        start = _finite_start(formula, inputs, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            values, cov = curve_fit(model, rows, y, p0=start, maxfev=20000)
        except (RuntimeError, ValueError) as exc:
            raise NnstudioError(f"The formula could not be fitted to the training data: {exc}. Try "
                                "another form, or rescale the inputs (e.g. log10).") from None
    errors = np.sqrt(np.clip(np.diag(cov), 0, None))
    return FormulaFit(formula, values, errors, cov, len(y), _degeneracy(formula.parameters, cov, errors))


def _degeneracy(names, cov, errors) -> str:
    """Words for parameters the data cannot tell apart: infinite errors, or two parameters whose
    estimates are (anti-)correlated beyond 0.999."""
    if not np.all(np.isfinite(errors)):
        return ("The data do not constrain every parameter (infinite errors): the formula may have "
                "more parameters than the data can tell apart.")
    with np.errstate(all="ignore"):
        corr = cov / np.outer(errors, errors)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if abs(corr[i, j]) > 0.999:
                return (f"The data do not constrain {names[i]} and {names[j]} separately (correlation "
                        f"{corr[i, j]:+.4f}): only a combination of them is measured.")
    return ""


def _finite_start(formula: Formula, inputs, k: int) -> np.ndarray:
    """A starting point where the formula is finite on every row (e.g. a power law of a column
    with zeros needs b > 0; log of a negative parameter fails)."""
    for guess in (0.5, 0.1, 2.0, -1.0, 0.0):
        p = np.full(k, guess)
        if np.all(np.isfinite(formula(inputs, p))):
            return p
    raise NnstudioError("The formula gives no finite value on the training rows for any starting "
                        "parameters: check its inputs (e.g. log of zero or of negative values).")
