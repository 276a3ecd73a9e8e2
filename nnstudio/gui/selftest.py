"""``nnstudio selftest``: offscreen, shows the window and every panel, then runs
example → train one short epoch → evaluate in a temporary folder, through the same worker
pattern the panels use. Prints one line ``selftest: PASS …`` or ``selftest: FAIL …``."""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

TIMEOUT_S = 180


def _wait(app, signal, timeout_s: float, what: str):
    """Run the event loop until ``signal`` fires; returns its arguments."""
    from PySide6.QtCore import QEventLoop, QTimer

    got = []
    loop = QEventLoop()
    signal.connect(lambda *a: (got.append(a), loop.quit()))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout_s * 1000))
    loop.exec()
    if not got:
        raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
    return got[0]


def _job(app, fn, *args, what: str, **kwargs):
    from nnstudio.gui.workers import Job

    job = Job(fn, *args, **kwargs)
    result, error = [], []
    job.returned.connect(result.append)
    job.errored.connect(error.append)
    job.start()
    if job.running:
        _wait(app, job.finished, TIMEOUT_S, what)
    if error:
        raise error[0]
    return result[0]


def run_selftest() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.perf_counter()
    step = "start"
    try:
        from PySide6.QtCore import QSettings

        from nnstudio.gui.app import create_main_window, make_application

        with tempfile.TemporaryDirectory(prefix="nnstudio-selftest-") as tmp:
            tmp = Path(tmp)
            app = make_application()
            settings = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
            step = "window"
            window = create_main_window(settings=settings)
            window.ask = lambda title, text, buttons=(), default=None: (  # never block on a question
                buttons[0] if title == "Work in progress" else "Discard")
            window.show()
            if not window.panels:
                _wait(app, window.panels_loaded, 60, "the panels")
            step = "panels"
            n_panels = len(window.panel_keys)
            for key in window.panel_keys:
                window.show_panel(key)
                app.processEvents()
                if window.grab().isNull():
                    raise RuntimeError(f"the {key} panel did not render")
            step = "tensorflow"
            if window.session.tf_info is None:
                _wait(app, window.session.tf_ready, 120, "TensorFlow")
            t_tf = time.perf_counter() - t0

            from nnstudio.core.project import Project
            from nnstudio.core.workflow import evaluate, train_project, write_example_project

            step = "example"
            path = write_example_project("galaxy-mass", tmp / "example")
            window.open_path(str(path))
            app.processEvents()
            project = Project.load(path)
            step = "train"
            record = _job(app, lambda task: train_project(project, epochs=1, task=task), what="training")
            if record.status != "completed" or not record.history.get("loss"):
                raise RuntimeError(f"training ended as {record.status}: {record.message}")
            project.save()
            step = "evaluate"
            result = _job(app, lambda task: evaluate(project, task=task), what="evaluation")
            rmse = result.metrics.get("rmse")
            if rmse is None or not math.isfinite(rmse):
                raise RuntimeError(f"evaluation gave no finite RMSE: {result.metrics}")
            formula = next((b for b in result.baselines if b.name == "formula"), None)
            if formula is None or not formula.parameters or not all(
                    math.isfinite(v["value"]) and math.isfinite(v["error"]) for v in formula.parameters.values()):
                raise RuntimeError(f"the example's formula was not fitted: {formula.note if formula else 'none'}")
            step = "predict"
            from nnstudio.core.workflow.predict import predict_project

            catalog = _job(app, lambda task: predict_project(
                project, project.resolved_selection().path, tmp / "catalog.fits", task=task), what="prediction")
            if catalog.n_rows < 1 or not catalog.path.exists():
                raise RuntimeError(f"the prediction wrote no catalog ({catalog.n_rows} rows)")
            step = "close"
            window.session.project.dirty = False
            window.close()
        total = time.perf_counter() - t0
        print(f"selftest: PASS (window, {n_panels} panels, TensorFlow ready at {t_tf:.1f} s, galaxy-mass example, "
              f"1 epoch, test RMSE {rmse:.3f}, formula RMSE {formula.metrics['rmse']:.3f}, "
              f"{catalog.n_rows} rows predicted; {total:.1f} s)")
        return 0
    except Exception as exc:  # report any failure as one line; details follow on stderr
        traceback.print_exc(file=sys.stderr)
        print(f"selftest: FAIL at {step}: {type(exc).__name__}: {exc}")
        return 1
