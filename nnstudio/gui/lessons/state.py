"""The plain snapshot of the window that lesson checks read (see core/lessons/checks.py).

Reads the session and the panels' public attributes only; never changes them.
"""
from __future__ import annotations

from nnstudio.core.lessons import empty_state
from nnstudio.core.lessons.checks import TAB_NAMES

WEIGHTED = ("Dense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D",
            "Conv2DTranspose", "LSTM", "GRU", "SimpleRNN")


def tab_slug(title: str) -> str:
    title = title.replace("&", "").strip()
    return TAB_NAMES.get(title, title.split(" ")[0].lower() if title else "")


def places(window) -> list[str]:
    """Where the learner is looking now: the panel, and ``panel/tab`` for its visible tab."""
    if not window.panels:
        return []
    key = window.current_panel_key()
    out = [key]
    panel = window.panels.get(key)
    tabs = {"model": "tabs", "diagnostics": "side_tabs"}.get(key)
    widget = getattr(panel, tabs, None) if tabs else None
    if widget is not None and widget.isVisible():
        out.append(f"{key}/{tab_slug(widget.tabText(widget.currentIndex()))}")
    return out


def snapshot(window, visited=()) -> dict:
    """The state dict of :data:`nnstudio.core.lessons.STATE_KEYS` for the window now."""
    state = empty_state()
    state["visited"] = sorted(set(visited))
    session = window.session
    if session is None or not window.panels:
        return state
    state["panel"] = window.current_panel_key()
    project, prep = session.project, session.prepared
    if prep is not None:
        state.update(data_loaded=True, problem=prep.problem, input_kind=prep.kind,
                     n_samples=int(sum(len(v) for v in prep.y.values())))
    spec = project.model
    if spec is not None and spec.layers:
        weighted = [layer for layer in spec.layers if layer.class_name in WEIGHTED]
        hidden = weighted[:-1]
        state.update(
            n_hidden_layers=len(hidden),
            has_conv_layer=any(layer.class_name.startswith(("Conv", "Separable", "Depthwise"))
                               for layer in spec.layers),
            hidden_activations=sorted({str(layer.config.get("activation", "")) for layer in hidden} - {""}),
            output_activation=str(weighted[-1].config.get("activation", "")) if weighted else "",
            loss=spec.loss)
    if spec is not None and prep is not None:
        from nnstudio.core.model import infer

        n = len(prep.class_names) if prep.class_names else None
        inference = infer(spec, prep.input_shape, prep.problem, n)   # pure Python, instant
        errors = inference.model_errors or any(li.error for li in inference.layers)
        state["model_valid"] = not errors and bool(spec.layers)
        state["n_params"] = int(inference.trainable_params + inference.non_trainable_params)
    train = window.panels.get("train")
    if train is not None:
        state["epochs_setting"] = int(train.epochs_spin.value())
        state["training"] = bool(train.busy)
    done = [r for r in project.runs if r.model_path and r.status != "running"]
    state["runs"] = len(done)
    state["runs_with_val_loss"] = sum(1 for r in done if r.history.get("val_loss"))
    diag = window.panels.get("diagnostics")
    if diag is not None:
        state["evaluated"] = diag.result is not None
    views = [getattr(getattr(window.panels.get(k), "browser", None), "explain_view", None)
             for k in ("diagnostics", "uncertainty")]
    state["explained"] = any(getattr(v, "result", None) is not None for v in views)
    rule = project.decision
    if rule.threshold is not None:
        state["threshold"] = float(rule.threshold)
        state["threshold_moved"] = abs(float(rule.threshold) - 0.5) > 1e-9
    unc = window.panels.get("uncertainty")
    state["uncertainty_computed"] = getattr(unc, "result", None) is not None
    return state
