"""Step checks: one-line conditions on a snapshot of the session, written in the lesson file.

A check is ``KEY``, ``not KEY`` or ``KEY OP VALUE`` with OP one of ``== != >= <= > < has``. A key
may take one argument after a colon (``visited:diagnostics``). The state is a plain dict built by
the GUI (``nnstudio.gui.lessons.state``); these functions never see a widget, so tests hand-build
states and the CLI can validate lesson files without Qt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# key -> (type, what it means); the documentation in docs/lessons.md lists the same keys
STATE_KEYS: dict[str, tuple[str, str]] = {
    "data_loaded": ("bool", "the data is loaded and split"),
    "problem": ("text", "the problem (regression or classification; empty before data)"),
    "input_kind": ("text", "the inputs (table or images; empty before data)"),
    "n_samples": ("number", "samples in the loaded data"),
    "model_valid": ("bool", "the network fits the data (no red row in the Model step)"),
    "n_hidden_layers": ("number", "Dense and convolution layers before the output layer"),
    "has_conv_layer": ("bool", "the network has a convolution layer"),
    "hidden_activations": ("list", "activations of the hidden layers (use 'has')"),
    "output_activation": ("text", "the output layer's activation"),
    "n_params": ("number", "trainable + frozen parameters of the network"),
    "loss": ("text", "the loss training minimises"),
    "epochs_setting": ("number", "the Epochs box of the Train step"),
    "runs": ("number", "finished runs with a saved model"),
    "runs_with_val_loss": ("number", "finished runs that recorded a validation loss"),
    "training": ("bool", "training is running"),
    "evaluated": ("bool", "Diagnostics shows an evaluation"),
    "threshold_moved": ("bool", "the decision threshold was moved away from 0.5"),
    "threshold": ("number", "the decision threshold (0.5 when not moved)"),
    "uncertainty_computed": ("bool", "the Uncertainty step shows a result"),
    "explained": ("bool", "attribution maps are shown (Explain, in the Diagnostics sample list)"),
    "panel": ("text", "the step shown now: data, model, train, diagnostics, uncertainty, predict"),
    "visited": ("list", ("places seen since the lesson started, e.g. visited:diagnostics, "
                         "visited:model/budget, visited:diagnostics/beside")),
}
# the names a list key's argument takes for the tabs lesson files point at: visited:model/budget
TAB_NAMES = {"Layer settings": "settings", "Diagram": "diagram", "Parameter budget": "budget",
             "Metrics": "metrics", "Beside the network": "beside"}
OPS = ("==", "!=", ">=", "<=", ">", "<", "has")
_EXPR = re.compile(r"^\s*(not\s+)?([a-z_]+)(?::([\w/.-]+))?\s*(?:(==|!=|>=|<=|>|<|has)\s*(.+?))?\s*$")


class CheckError(ValueError):
    """A check that cannot be read; the loader adds the file and step."""


@dataclass(frozen=True)
class Check:
    text: str
    key: str
    arg: str | None = None
    op: str | None = None
    value: Any = None
    negate: bool = False

    def holds(self, state: dict) -> bool:
        got = state.get(self.key)
        if self.arg is not None:            # keyed list membership: visited:diagnostics
            got = self.arg in (got or ())
        if self.op is None:
            result = bool(got)
        elif self.op == "has":
            result = self.value in (got or ())
        elif got is None:
            result = self.op == "!=" and self.value is not None
        else:
            try:
                result = {"==": got == self.value, "!=": got != self.value}.get(self.op)
                if result is None:
                    result = {">=": got >= self.value, "<=": got <= self.value,
                              ">": got > self.value, "<": got < self.value}[self.op]
            except TypeError:
                result = False
        return result != self.negate


def _literal(text: str):
    t = text.strip()
    if t in ("true", "false"):
        return t == "true"
    if t in ("none", "null"):
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def parse_check(text: str) -> Check:
    """``"n_hidden_layers >= 1"`` -> :class:`Check`; an unknown key or a bad form raises CheckError."""
    if not isinstance(text, str) or not text.strip():
        raise CheckError("a check must be a non-empty text such as \"data_loaded\"")
    m = _EXPR.match(text)
    if not m:
        raise CheckError(f"cannot read {text!r}: write KEY, not KEY, or KEY OP VALUE with OP one of "
                         f"{' '.join(OPS)}")
    negate, key, arg, op, value = m.groups()
    if key not in STATE_KEYS:
        raise CheckError(f"unknown key {key!r} in {text!r}; known keys: {', '.join(STATE_KEYS)}")
    kind = STATE_KEYS[key][0]
    if arg is not None and kind != "list":
        raise CheckError(f"{key!r} takes no ':' argument (only list keys such as 'visited' do)")
    if op == "has" and kind != "list":
        raise CheckError(f"'has' needs a list key, and {key!r} is a {kind}")
    if op is not None and op != "has" and kind == "list" and arg is None:
        raise CheckError(f"{key!r} is a list: use '{key} has NAME' or '{key}:NAME'")
    val = _literal(value) if op is not None else None
    if op in (">=", "<=", ">", "<") and not isinstance(val, (int, float)):
        raise CheckError(f"{op!r} needs a number in {text!r}")
    return Check(text=text.strip(), key=key, arg=arg, op=op, value=val, negate=bool(negate))


def all_hold(checks, state: dict) -> bool:
    return all(c.holds(state) for c in checks)


def empty_state() -> dict:
    """The state before anything happened: every key present, nothing done."""
    return {"data_loaded": False, "problem": "", "input_kind": "", "n_samples": 0, "model_valid": False,
            "n_hidden_layers": 0, "has_conv_layer": False, "hidden_activations": [], "output_activation": "",
            "n_params": 0, "loss": "", "epochs_setting": 0, "runs": 0, "runs_with_val_loss": 0,
            "training": False, "evaluated": False, "threshold_moved": False, "threshold": 0.5,
            "uncertainty_computed": False, "explained": False, "panel": "", "visited": []}


def describe(check: Check) -> str:
    """The check in words, for the "not yet" line under a step."""
    if check.arg is not None:
        titles = {v: k for k, v in TAB_NAMES.items()}
        where = " ▸ ".join(titles.get(p, p.capitalize()) for p in check.arg.split("/"))
        text = f"open {where}" if check.key == "visited" else f"{check.key.replace('_', ' ')}: {check.arg}"
    elif check.op is None:
        text = STATE_KEYS[check.key][1]
    elif check.op == "has":
        text = f"{STATE_KEYS[check.key][1].split(' (')[0]}: {check.value}"
    else:
        words = {"==": "", "!=": "not ", ">=": "at least ", "<=": "at most ", ">": "more than ",
                 "<": "fewer than "}[check.op]
        value = "yes" if check.value is True else "no" if check.value is False else check.value
        text = f"{STATE_KEYS[check.key][1].split(' (')[0]}: {words}{value}"
    return f"not: {text}" if check.negate else text
