"""Render the README's screenshots of the real app, offscreen.

    python resources/screenshots/make_screenshots.py [--theme light|dark]

Writes the strong-lens example into a temporary folder, trains it for a few epochs through the same
background job the Train panel uses, evaluates it, and saves one PNG per panel beside this script
(``main-window.png`` is the Diagnostics panel).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theme", default="light", choices=["light", "dark"])
    ap.add_argument("--example", default="strong-lens")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings

    from nnstudio.gui.app import create_main_window, make_application
    from nnstudio.gui.selftest import _job, _wait

    tmp = Path(tempfile.mkdtemp(prefix="nnstudio-shots-"))
    app = make_application()
    settings = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
    settings.setValue("examples_dir", str(tmp))
    window = create_main_window(settings=settings)
    window.ask = lambda title, text, buttons=(), default=None: (  # never block on a question
        buttons[0] if title == "Work in progress" else "Discard")
    window.resize(1440, 900)
    window.show()
    if not window.panels:
        _wait(app, window.panels_loaded, 60, "the panels")
    window.set_theme(args.theme)
    if window.session.tf_info is None:
        _wait(app, window.session.tf_ready, 120, "TensorFlow")
    window.open_example(args.example)
    while window.session.prepared is None:
        _wait(app, window.session.prepared_changed, 120, "the data")
    from nnstudio.core.workflow import train_project

    project = window.session.project
    record = _job(app, lambda task: train_project(project, epochs=args.epochs, task=task,
                                                  prepared=window.session.prepared), what="training")
    project.save()
    window.session.run_finished.emit(record)
    suffix = "" if args.theme == "light" else "-dark"
    for key in window.panel_keys:
        window.show_panel(key)
        panel = window.panels[key]
        app.processEvents()  # panels start their own jobs when shown
        for _ in range(40):  # let jobs started by the panel (evaluation) finish and draw
            if panel.job is None or not panel.job.running:
                break
            _wait(app, panel.job.finished, 120, f"the {key} panel")
        app.processEvents()
        window.grab().save(str(HERE / f"{key}{suffix}.png"))
    window.show_panel("diagnostics")
    app.processEvents()
    window.grab().save(str(HERE / f"main-window{suffix}.png"))
    window.session.project.dirty = False
    window.close()
    print(f"wrote {len(window.panel_keys) + 1} screenshots to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
