"""``FormulaOffset``: a fitted physical formula inside a model, so the network learns only what
the physics misses (imported only by ``keras_objects.register``).

The layer takes ``[x, h]``: the model's (scaled) input and the network's output. It undoes the
input scaling of the formula's columns, computes the formula in the data's units with the
fitted parameters (constants, not trained), scales the result like the target, and adds it to
the network's prediction. The network's output is first multiplied by ``residual_scale`` (the
residuals' spread over the target's, both on the training split), so it learns numbers of order
one however much of the target the formula explains; a mean-and-variance head's σ is scaled
alike. Training the whole model then fits the network to y − formula(x).
"""
import ast

import keras
from keras import ops

from nnstudio.core.model.formula import FUNCTIONS, Ops, parse_formula

_KERAS_FUNCTIONS = {name: getattr(ops, {"ln": "log"}.get(name, name)) for name in FUNCTIONS}
KERAS_OPS = Ops(binary={ast.Add: ops.add, ast.Sub: ops.subtract, ast.Mult: ops.multiply,
                        ast.Div: ops.divide, ast.Pow: ops.power},
                compare={ast.Lt: ops.less, ast.LtE: ops.less_equal, ast.Gt: ops.greater,
                         ast.GtE: ops.greater_equal},
                functions=_KERAS_FUNCTIONS, as_number=lambda b: ops.cast(b, "float32"))


@keras.saving.register_keras_serializable(package="nnstudio")
class FormulaOffset(keras.layers.Layer):
    """formula(raw x) in the scaled target's units, added to the network's prediction."""

    def __init__(self, formula: str, columns: dict, parameters: dict, target_mean: float = 0.0,
                 target_std: float = 1.0, residual_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.formula_text = formula
        self.columns = {k: dict(v) for k, v in columns.items()}       # name -> {index, shift, scale}
        self.parameter_values = {k: float(v) for k, v in parameters.items()}
        self.target_mean, self.target_std = float(target_mean), float(target_std)
        self.residual_scale = float(residual_scale)
        self.formula = parse_formula(formula, list(self.columns))

    def call(self, inputs):
        x, h = inputs
        env = {name: ops.add(ops.multiply(x[:, c["index"]], c["scale"]), c["shift"])
               for name, c in self.columns.items()}
        env.update(self.parameter_values)
        env["pi"] = 3.141592653589793
        value = ops.cast(self.formula.evaluate(env, KERAS_OPS), h.dtype)
        offset = ops.expand_dims((value - self.target_mean) / self.target_std, -1)
        h = ops.multiply(h, self.residual_scale)
        if h.shape[-1] == 1:
            return ops.add(h, offset)
        return ops.concatenate([ops.add(h[:, :1], offset), h[:, 1:]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "formula": self.formula_text, "columns": self.columns,
                "parameters": self.parameter_values, "target_mean": self.target_mean,
                "target_std": self.target_std, "residual_scale": self.residual_scale}
