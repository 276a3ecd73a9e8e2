"""Diagnostics under uneven classes: balanced accuracy, the rare class's recall and PR AUC first."""
import dataclasses

import numpy as np
import pytest
from binary_states import open_state, synthetic_binary, wait_result
from PySide6.QtCore import Qt

from nnstudio.core.project import Project


@pytest.fixture(scope="module")
def uneven_project(tmp_path_factory, tensorflow):
    from nnstudio.core.model import make_template
    from nnstudio.core.workflow import train_project

    base = synthetic_binary(n=1600, class_names=("faint", "lens"), target_name="is_lens")
    keep = {}
    for s in base.x:  # every split keeps one lens in six
        pos = np.flatnonzero(base.y[s] == 1)
        drop = pos[np.arange(len(pos)) % 6 != 0]
        keep[s] = np.setdiff1d(np.arange(len(base.y[s])), drop)
    prepared = dataclasses.replace(base, x={s: base.x[s][k] for s, k in keep.items()},
                                   y={s: base.y[s][k] for s, k in keep.items()},
                                   index={s: base.index[s][k] for s, k in keep.items()})
    project = Project(name="uneven")
    project.model = make_template("dense", (4,), "classification", 2)
    project.save(tmp_path_factory.mktemp("uneven") / "uneven.nnproj")
    train_project(project, epochs=2, prepared=prepared)
    project.save()
    return project.path, prepared


def test_the_summary_leads_with_what_matters_under_imbalance(make_window, qtbot, uneven_project):
    from nnstudio.core import evaluation as ev

    path, prepared = uneven_project
    w = open_state(make_window, path, prepared)
    panel = w.panels["diagnostics"]
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    result = wait_result(qtbot, panel)
    assert result.imbalanced and list(result.metrics)[0] == "balanced_accuracy"
    text = panel.summary_label.text()
    m = ev.metrics_from_confusion(panel.confusion)
    assert text.startswith(f"Balanced accuracy {m['macro']['recall']:.3f} [")
    assert f"recall of lens {m['recall'][1]:.3f} [" in text
    assert text.index("average precision") < text.index("ROC AUC") < text.index("accuracy", 20)
