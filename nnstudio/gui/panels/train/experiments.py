"""The experiments of the Train panel: the project's runs (select one to see its curves, tick runs
to overlay them, rename, annotate, hide, delete, export), Repeat ×N over seeds or seeds and splits
(mean ± spread, two groups compared on one metric), and sweeps of settings with "Apply best".

A repeat's runs train live through :class:`~nnstudio.gui.panels.train.live.LiveTraining`; sweeps
run as the panel's job on their own. Optuna and TensorFlow stay off the GUI thread.
"""
from __future__ import annotations

import json
import time

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from nnstudio.core.formatting import fmt_number
from nnstudio.gui.panels.train.group_view import RepeatView
from nnstudio.gui.panels.train.run_table import BEST_HEADER, RunTable
from nnstudio.gui.panels.train.sweep_view import SweepView

SWEEP_FORM_KEY = "train/sweep_form"     # the last sweep's form, so the same sweep can be resumed


def _latest_sweep(project, task=None):
    """The project's latest sweep, or None when its sweeps.db holds none of this project's."""
    from nnstudio.core.experiments.sweep import load_sweep
    from nnstudio.errors import NnstudioError

    try:
        return load_sweep(project)
    except NnstudioError as exc:
        if exc.message.startswith("No sweep of this project"):
            return None
        raise


def _plain_rows(project) -> list:
    """The project's runs as table rows without the experiments file (when it cannot be read):
    no settings diff, test figures, groups or hidden marks, but every run to select and overlay."""
    from nnstudio.core.experiments.runs import RunRow

    return [RunRow(id=r.id, name=r.name, note=r.note, started=r.started, status=r.status, changes="",
                   changes_full=[], epochs=r.epochs_run, best_val_loss=None, final=dict(r.final), test={},
                   duration_s=r.duration_s, device=r.device, seed=(r.settings or {}).get("seed"),
                   group=None, hidden=False, history=r.history) for r in project.runs]


class Experiments(QObject):
    """The run table (the panel's one list of runs), the repeat view and the sweep view."""

    def __init__(self, panel, live):
        super().__init__(panel)
        self.panel = panel
        self.live = live
        self.session = panel.session
        self.messages = panel.messages
        self.sweep = None            # state of the running sweep
        self._project_seen = None    # the project the experiment views show
        self._sweep_loaded_for = None
        self._sweep_form_restored = False
        self._pending_delete: list[str] = []

        self.run_table = RunTable()
        self.repeat_view = RepeatView()
        self.sweep_view = SweepView()
        self._connect()
        live.started.connect(self.refresh_runs)
        live.progress_shown.connect(self._on_live_progress)

    @property
    def sweeping(self) -> bool:
        return self.sweep is not None

    def _connect(self) -> None:
        t = self.run_table
        t.current_changed.connect(self._on_run_selected)
        t.overlay_toggled.connect(lambda _id, _on: self._apply_overlays())
        t.renamed.connect(self.rename_run)
        t.annotated.connect(self.annotate_run)
        t.hide_requested.connect(self.hide_runs)
        t.delete_requested.connect(self.delete_runs)
        t.export_requested.connect(lambda: self.export_csv())
        t.show_hidden_changed.connect(lambda _on: self.refresh_runs())
        r = self.repeat_view
        r.repeat_requested.connect(lambda n: self.start_repeat(n))
        r.cancel_requested.connect(self.live.stop)
        r.selection_changed.connect(self._show_groups)
        v = self.sweep_view
        v.start_requested.connect(lambda: self.start_sweep())
        v.cancel_requested.connect(self.cancel_sweep)
        v.apply_requested.connect(lambda: self.apply_best())

    def update_controls(self) -> None:
        busy = self.panel.busy
        can = not busy and self.panel.missing() is None
        state = self.live.state
        self.repeat_view.set_running(state is not None and state["kind"] == "repeat", can_start=can)
        self.sweep_view.set_running(self.sweep is not None, can_start=can)
        self.run_table.set_actions_enabled(not busy)

    # -- the runs (under the curves) --------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Fill the run table from the project; the run shown (the last one shown, else the active
        run or the newest) is selected and its curves drawn, unless a job owns them."""
        from nnstudio.core.experiments.runs import run_rows
        from nnstudio.errors import NnstudioError

        project = self.session.project
        checked = self.checked_runs()
        try:
            rows = run_rows(project, include_hidden=self.run_table.show_hidden_check.isChecked())
        except NnstudioError as exc:   # a damaged experiments.json: the runs themselves are fine
            self.messages.error("runs", exc.message)
            rows = _plain_rows(project)
        live = self.live.state
        live_id = live["run_id"] if live is not None and live["run_id"] not in live["finished"] else None
        self.run_table.set_rows(rows, records={r.id: r for r in project.runs}, overlaid=checked, live=live_id)
        if live is None:
            ids = [r.id for r in rows if not r.hidden]
            current = self.live.shown_run
            if current not in ids:
                current = project.active_run if project.active_run in ids else (ids[-1] if ids else None)
            self.run_table.set_current(current)
            self.live.show_run(current)
        self._apply_overlays()

    def run_ids(self) -> list[str]:
        return self.run_table.row_ids()

    def run_row(self, run_id: str) -> list[str] | None:
        """The run's Run, Status, Epochs, best validation loss and Time, as shown."""
        texts = self.run_table.row_texts(run_id)
        return None if texts is None else [texts[h] for h in ("Run", "Status", "Epochs", BEST_HEADER, "Time")]

    def checked_runs(self) -> list[str]:
        return self.run_table.checked_ids()

    def set_overlay(self, run_id: str, on: bool) -> None:
        self.run_table.set_checked(run_id, on)
        self._apply_overlays()

    def _on_run_selected(self, run_id: str) -> None:
        if not self.live.running:   # the live run owns the curves while training
            self.live.show_run(run_id)

    def _apply_overlays(self) -> None:
        project = self.session.project
        wanted = {}
        for run_id in self.checked_runs():
            r = project.run(run_id)
            if r is not None and r.id == run_id and r.history:
                wanted[run_id] = r.history
        self.live.plots.set_overlays(wanted)

    # -- the views beside the curves --------------------------------------------------------------
    def refresh(self) -> None:
        """Run table, groups, the resumable run and the sweep form, from the session's project."""
        project = self.session.project
        if self._project_seen is not project:   # another project: forget the last one's sweep
            self._project_seen = project
            self._sweep_loaded_for = None
            if self.sweep is None:
                self.sweep_view.begin([])
                self.sweep_view.set_state("")
                self.sweep_view.progress.setFormat("—")
        self.refresh_runs()
        self.refresh_groups()
        self.live.refresh_resumable()
        self.sweep_view.set_model(project.model)
        self.sweep_view.set_project_epochs(project.training.epochs)
        self.update_controls()
        if self.panel.tabs.currentWidget() is self.sweep_view:
            self._load_sweep_once()

    def on_tab_changed(self) -> None:
        if self.panel.tabs.currentWidget() is self.sweep_view:
            self._restore_sweep_form()
            self._load_sweep_once()

    def _settings(self):
        w = self.panel.window()
        return getattr(w, "settings", None) if w is not self.panel else None

    def rename_run(self, run_id: str, name: str) -> None:
        from nnstudio.core.experiments.runs import rename_run

        self._run_action(rename_run, run_id, name)
        self.refresh_runs()

    def annotate_run(self, run_id: str, note: str) -> None:
        from nnstudio.core.experiments.runs import annotate_run

        self._run_action(annotate_run, run_id, note)
        self.refresh_runs()

    def hide_runs(self, run_ids: list[str], hidden: bool = True) -> None:
        from nnstudio.core.experiments.runs import hide_run

        if self.panel.busy:
            return
        for rid in run_ids:
            if hidden:
                self.set_overlay(rid, False)
            self._run_action(hide_run, rid, hidden)
        self.refresh_runs()

    def _run_action(self, fn, *args) -> bool:
        from nnstudio.errors import NnstudioError

        try:
            fn(self.session.project, *args)
        except (NnstudioError, OSError) as exc:
            self.messages.error("runs", getattr(exc, "message", None) or str(exc))
            return False
        self.messages.clear("runs")
        return True

    def delete_runs(self, run_ids: list[str]) -> None:
        """Ask (in the message bar, not a dialog) before deleting runs and their files."""
        if not run_ids or self.panel.busy:
            return
        project = self.session.project
        self._pending_delete = list(run_ids)
        what = ", ".join(run_ids) if len(run_ids) <= 4 else f"{len(run_ids)} runs"
        where = project.folder / "runs" if project.folder is not None else "the project folder"
        self.messages.warning("delete", f"Delete {what} and {'its' if len(run_ids) == 1 else 'their'} files in "
                                        f"{where}? This cannot be undone.",
                              actions=[("Delete", self.confirm_delete), ("Keep", self.cancel_delete)])

    def cancel_delete(self) -> None:
        self._pending_delete = []
        self.messages.clear("delete")

    def confirm_delete(self) -> list[str]:
        from nnstudio.core.experiments.runs import delete_run

        ids, self._pending_delete = self._pending_delete, []
        self.messages.clear("delete")
        if self.panel.busy:
            return []
        project = self.session.project
        deleted = []
        for rid in ids:
            self.set_overlay(rid, False)
            if self._run_action(delete_run, rid):
                deleted.append(rid)
        if self.live.shown_run in deleted:
            self.live.shown_run = None
        if deleted:
            self.panel.save_project(project, "The runs were deleted")   # the project file must not name runs whose files are gone
            self.messages.info("runs", f"Deleted {', '.join(deleted)}.")
        self.refresh()
        return deleted

    def export_csv(self, path=None):
        """Write the run table (hidden runs included) as CSV; asks for a file name without ``path``."""
        from pathlib import Path

        from nnstudio.core.experiments.runs import export_runs_csv

        project = self.session.project
        if path is None:
            start = str(project.folder / "runs.csv") if project.folder is not None else "runs.csv"
            path, _ = QFileDialog.getSaveFileName(self.panel, "Export runs as CSV", start, "CSV files (*.csv)")
            if not path:
                return None
        if not self._run_action(export_runs_csv, Path(path)):
            return None
        self.messages.info("runs", f"Wrote {len(project.runs)} runs to {path}.")
        return Path(path)

    # -- repeat over seeds ------------------------------------------------------------------------
    def start_repeat(self, n: int | None = None) -> bool:
        """Train the current settings with ``n`` seeds in the background (a group of runs)."""
        from nnstudio.core.experiments.repeat import repeat_project

        n = int(n or self.repeat_view.n_spin.value())
        if not self.panel.prepare_start():
            return False
        project = self.session.project
        self.live.begin("repeat", project.next_run_id(), project.training.epochs, n=n, index=0,
                        group=None, group_a=self.repeat_view.group_a())
        self.live.curves_title.setText(f"<b>Curves</b> · {self.live.state['run_id']} (live, 1 of {n})")
        self.repeat_view.reset_progress("starting…")
        prepared = self.session.prepared
        evaluate = self.repeat_view.test_check.isChecked() and prepared.count("test") > 0
        resample = self.repeat_view.resample_check.isChecked()
        job = self.panel.start_job(repeat_project, project, n, prepared=prepared, evaluate=evaluate,
                                   resample_splits=resample, on_done=self._on_repeated,
                                   on_error=self.live.on_failed, name="repeat")
        self.live.watch(job, self._on_repeat_partial)
        return True

    def _on_live_progress(self, done: float, total, text: str) -> None:
        state = self.live.state
        if state is not None and state["kind"] == "repeat":
            self.repeat_view.set_progress(done, total, text)

    def _on_repeat_partial(self, obj) -> None:
        live = self.live.state
        if live is None or not isinstance(obj, dict):
            return
        if "run_done" in obj:
            live["finished"].append(obj["run_done"])
            self._on_group_grew(obj["run_done"])
            return
        rid = obj.get("run_id")
        if rid is not None and rid != live["run_id"]:   # the next seed's run has started
            self.live.next_run(rid, int(obj.get("run", 0)))
            self.refresh_runs()
        if "epoch" in obj:
            self.live.on_epoch(obj)

    def _on_group_grew(self, run_id: str) -> None:
        """A run of the repeat finished: the group's band gains it at once."""
        from nnstudio.core.experiments.runs import load_store
        from nnstudio.errors import NnstudioError

        try:
            gid = load_store(self.session.project)["runs"].get(run_id, {}).get("group")
        except NnstudioError:
            gid = None
        live = self.live.state
        if gid and live is not None:
            live["group"] = gid
            self._show_new_group(gid, live.get("group_a"))
        self.refresh_runs()

    def _show_new_group(self, gid: str, a_before: str | None) -> None:
        """A new group is shown as A, or as B beside the group that was shown before."""
        if a_before and a_before != gid:
            self.refresh_groups(a=a_before, b=gid)
        else:
            self.refresh_groups(a=gid)

    def _on_repeated(self, result) -> None:
        a_before = self.live.state.get("group_a") if self.live.state is not None else None
        self.live.finish()
        if self.panel.closing:
            return
        project = self.live.job_project
        self.panel.save_project(project, "The run finished")
        done = [r for r in result.runs if r.status == "completed"]
        n = len(result.runs)
        summary = result.summary
        stat = summary.metrics.get("val_loss")
        spread = (f"; validation loss {stat.text()} ({summary.spread_text})"
                  if stat is not None and stat.mean is not None else "")
        left = summary.left_out()
        counts = f"{len(done)} completed runs" if not left else summary.counts_text()
        if result.cancelled:
            self.messages.info("run", f"Repeat stopped: {result.group} has {len(done)} completed of {n} runs"
                                      f"{spread}.")
        else:
            self.messages.clear("job")
            self.messages.info("run", f"Repeat ×{n} done: {result.group}, {counts}{spread}.")
        self.live.state_label.setText("Repeat stopped" if result.cancelled else "Repeat done")
        self._show_new_group(result.group, a_before)
        self.repeat_view.progress.setValue(1000 if not result.cancelled else self.repeat_view.progress.value())
        self.repeat_view.progress.setFormat(f"{len(done)} of {n} runs completed")
        if result.runs and project is self.session.project:
            last = result.runs[-1]
            self.live.shown_run = last.id
            self.session.run_finished.emit(last)   # -> the panel's refresh: runs, curves of the last run
        self.panel.tabs.setCurrentWidget(self.repeat_view)

    def refresh_groups(self, a: str | None = None, b: str | None = None) -> None:
        from nnstudio.core.experiments.runs import load_store
        from nnstudio.errors import NnstudioError

        try:
            groups = load_store(self.session.project)["groups"]
        except NnstudioError:
            groups = {}
        items = []
        for gid, g in groups.items():
            n = len(g.get("runs", []))
            splits = ", seeds and splits" if g.get("spread") == "seeds_and_splits" else ""
            items.append((gid, f"{gid} ({n} run{'s' if n != 1 else ''}{splits})"))
        self.repeat_view.set_groups(items, a=a, b=b)
        self._show_groups()

    def _show_groups(self) -> None:
        from nnstudio.core.experiments.repeat import load_group
        from nnstudio.core.experiments.runs import settings_diff
        from nnstudio.errors import NnstudioError

        project = self.session.project
        a, b = self.repeat_view.group_a(), self.repeat_view.group_b()

        def load(gid):
            if not gid:
                return None
            try:
                return gid, load_group(project, gid)
            except NnstudioError:
                return None

        sa = load(a)
        sb = load(b) if b != a else None
        differs = ""
        if sa is not None and sb is not None and sa[1].runs and sb[1].runs:
            ra, rb = project.run(sa[1].runs[0]), project.run(sb[1].runs[0])
            changes = [c for c in settings_diff(ra, rb) if not c.startswith("seed ")]
            differs = ("B differs from A in: " + "; ".join(changes) if changes else
                       "A and B have the same settings: only the seeds differ.")
        self.repeat_view.show_summaries(sa, sb, differs)

    # -- sweeps -----------------------------------------------------------------------------------
    def start_sweep(self) -> bool:
        """Start the sweep the form describes (the same sweep again resumes its study)."""
        from nnstudio.core.experiments.sweep import check_params, parse_param, run_sweep
        from nnstudio.errors import NnstudioError

        if not self.panel.prepare_start():
            return False
        project = self.session.project
        budget = self.sweep_view.budget()
        try:
            params = [parse_param(p) for p in self.sweep_view.params()]
            check_params(params, project.model)
            if budget["trials"] is None and budget["timeout"] is None:
                raise NnstudioError("Give the sweep a budget: a number of trials, a time limit, or both.")
        except NnstudioError as exc:
            self.messages.error("sweep", exc.message)
            return False
        self.messages.clear("sweep")
        settings = self._settings()
        if settings is not None:
            settings.setValue(SWEEP_FORM_KEY, json.dumps(self.sweep_view.form_state()))
        self._sweep_form_restored = True   # the form on screen is the one to keep
        self.sweep = {"seen": set(), "params": params, "t0": time.monotonic()}
        self._sweep_loaded_for = self._project_key()
        self.sweep_view.begin([p.name for p in params])
        job = self.panel.start_job(run_sweep, project, params, prepared=self.session.prepared,
                                   on_done=self._on_swept, on_error=self._on_sweep_failed, name="sweep", **budget)
        job.partial.connect(self._on_sweep_partial)
        job.progress.connect(self._on_sweep_progress)
        job.finished.connect(lambda: self._on_sweep_finished(job))
        self.live.clear_progress("Sweeping — see the Sweep tab")
        self.panel.update_controls()
        self.panel.tabs.setCurrentWidget(self.sweep_view)
        return True

    def cancel_sweep(self) -> None:
        job = self.panel.job
        if self.sweep is not None and job is not None and job.running:
            job.cancel()
            self.sweep_view.set_state("Stopping: the current trial ends after its batch; finished trials "
                                      "are kept…")
            self.sweep_view.cancel_button.setEnabled(False)

    def _on_sweep_partial(self, obj) -> None:
        if self.sweep is None or not isinstance(obj, dict):
            return
        if "trial_done" in obj:
            d = obj["trial_done"]
            self.sweep["seen"].add(d["number"])
            self.sweep_view.add_trial(d)

    def _on_sweep_progress(self, done: float, total, text: str) -> None:
        if self.sweep is None:
            return
        self.sweep_view.set_progress(done, total, text)
        self.panel.status.emit(f"Sweep: {text}")

    def _on_swept(self, result) -> None:
        if self.panel.closing:
            return
        seen = self.sweep["seen"] if self.sweep is not None else set()
        earlier = [t for t in result.trials if t["number"] not in seen and t["state"] in ("complete", "pruned")]
        n = len(earlier)
        resumed = f"Resumed {n} finished trial{'s' if n != 1 else ''} of this study from before." if n else ""
        self.sweep_view.set_result(result, resumed)
        c = result.counts
        parts = [f"{c[k]} {k}" for k in ("complete", "pruned", "failed") if c.get(k)]
        text = f"Sweep {result.study}: {', '.join(parts) or 'no trials'}"
        if n:
            text += f" (resumed {n} finished trial{'s' if n != 1 else ''})"
        if result.cancelled:
            text += ". Stopped: start the same sweep again to resume it."
        else:
            self.messages.clear("job")   # trial failures were noted while it ran; the table keeps them
            text += "."
        self.messages.info("sweep", text)
        self.sweep_view.set_state("Stopped" if result.cancelled else "Finished")

    def _on_sweep_failed(self, exc) -> None:
        self.sweep_view.set_state("Failed")
        self.panel.show_error(exc)

    def _on_sweep_finished(self, job) -> None:
        if job is not self.panel.job:
            return
        self.sweep = None
        self.live.state_label.setText("Idle")
        self.panel.update_controls()
        if not self.panel.closing:
            self.live.refresh_resumable()

    def _project_key(self):
        project = self.session.project
        return (id(project), str(project.path))

    def _load_sweep_once(self) -> None:
        """Show the project's latest sweep the first time the Sweep tab is opened (read in the
        background: Optuna stays off the GUI thread)."""
        project = self.session.project
        key = self._project_key()
        if self._sweep_loaded_for == key or self.panel.busy or project.folder is None:
            return
        self._sweep_loaded_for = key
        if not (project.folder / "sweeps.db").exists():
            return

        def loaded(result):
            if result is not None and self.sweep is None and self._project_key() == key \
                    and self.sweep_view.result is None:
                self.sweep_view.set_result(result, "The latest sweep of this project; start the same sweep "
                                                   "to continue it.")

        self.panel.start_job(_latest_sweep, project, on_done=loaded, name="load-sweep",
                             on_error=lambda exc: self.messages.warning("sweep", f"Could not read the earlier "
                                                                                 f"sweeps: {getattr(exc, 'message', exc)}"))

    def _restore_sweep_form(self) -> None:
        if self._sweep_form_restored:
            return
        settings = self._settings()
        if settings is None:
            return
        self._sweep_form_restored = True
        raw = settings.value(SWEEP_FORM_KEY, "")
        try:
            state = json.loads(raw) if raw else None
        except (TypeError, ValueError):
            state = None
        if isinstance(state, dict):
            self.sweep_view.set_model(self.session.project.model)
            self.sweep_view.set_form_state(state)

    def apply_best(self) -> bool:
        """Copy the best trial's settings into the project's model and training settings."""
        from nnstudio.core.experiments.sweep import best_settings
        from nnstudio.errors import NnstudioError

        result = self.sweep_view.result
        if result is None or self.panel.busy:
            return False
        project = self.session.project
        try:
            spec, config = best_settings(project, result)
        except NnstudioError as exc:
            self.messages.error("sweep", exc.message)
            return False
        project.model, project.training = spec, config
        project.mark_changed("model")
        project.mark_changed("training")
        self.session.model_changed.emit()
        self.live.load_settings()
        best = result.best
        ps = ", ".join(f"{k}={fmt_number(v)}" for k, v in best["params"].items())
        self.messages.info("sweep", f"Applied trial {best['number']}'s settings ({ps}), chosen by the validation "
                                    "loss, to the model and the training settings; train a run to use them.")
        return True
