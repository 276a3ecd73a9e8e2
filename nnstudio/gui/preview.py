"""The application for a panel's ``python -m`` preview."""
from __future__ import annotations

import sys


def preview_application():
    """The application with pyqtgraph configured; ``--dark`` on the command line shows the dark
    theme."""
    from nnstudio.gui.application import make_application
    from nnstudio.gui.theme import apply_theme, configure_pyqtgraph

    app = make_application()
    if "--dark" in sys.argv:
        apply_theme("dark")
    configure_pyqtgraph()
    return app


def preview_session(problem: str, n: int = 20000):
    """A session holding the evaluation of the toy predictor on the toy data (for previews)."""
    from nnstudio.core.data.dataset import Dataset
    from nnstudio.core.examples.synthetic import ToyPredictor, toy_classification, toy_regression
    from nnstudio.core.training.config import RunRecord
    from nnstudio.core.workflow.evaluate import evaluate
    from nnstudio.gui.session import Session

    prepared = toy_regression(n) if problem == "regression" else toy_classification(n)
    session = Session()
    import numpy as np

    x = np.concatenate([prepared.x[s] for s in ("train", "val", "cal", "test")])
    session.dataset = Dataset(kind="table", columns={name: x[:, i] for i, name in enumerate(prepared.feature_names)})
    session.prepared = prepared
    session.project.runs.append(RunRecord(id="preview", started="", settings={}, model={}, model_path="-"))
    result = evaluate(prepared=prepared, model=ToyPredictor(problem, sigma=0.1 if problem == "regression" else None))
    result.run = "preview"
    return session, result
