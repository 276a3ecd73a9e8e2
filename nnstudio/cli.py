"""The ``nnstudio`` command: the GUI with no arguments, and a headless CLI over ``nnstudio.core``.

No Qt at import: only ``open``, ``selftest`` and the bare command import ``nnstudio.gui``.
Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage. ``--json`` keeps stdout
pure JSON; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nnstudio import __version__
from nnstudio.errors import NnstudioError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line and exit status 2, never a traceback."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nnstudio",
                description="nnstudio: from your own data to a trained, honestly diagnosed neural network. "
                            "With no command, opens the desktop app.")
    p.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("open", help="open the app with a project or data file, or a lesson")
    s.add_argument("path", nargs="?",
                   help="a .nnproj project, or a data file (FITS, CSV, ECSV, VOTable) or folder")
    s.add_argument("--lesson", metavar="ID", help="start a guided lesson (see 'nnstudio lessons')")
    s.add_argument("--lessons-dir", action="append", default=[], metavar="DIR",
                   help="also read lessons from this folder (an instructor's own)")

    s = sub.add_parser("lessons", help="list the guided lessons")
    s.add_argument("--lessons-dir", action="append", default=[], metavar="DIR",
                   help="also read lessons from this folder (an instructor's own)")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("inspect", help="describe what is in a data file")
    s.add_argument("file")
    _add_part_options(s, "describe only")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("example", help="write a bundled example data set and a ready project")
    s.add_argument("name", help="galaxy-mass, strong-lens or photometric-classes")
    s.add_argument("--out", required=True, help="folder to write into (DIR/NAME.nnproj)")

    s = sub.add_parser("new-project", help="make a project from a data file")
    s.add_argument("--data", required=True, help="FITS file, table, or folder of cutouts")
    _add_part_options(s, "train on")
    s.add_argument("--labels", help="label table for images")
    s.add_argument("--target", help="target column")
    s.add_argument("--task", choices=["classification", "regression"])
    s.add_argument("--template", help="model template (default: one that fits the data)")
    s.add_argument("--seed", type=int, default=0, help="seed of the data split (default 0)")
    s.add_argument("--out", required=True, help="project file to write, PROJECT.nnproj")

    s = sub.add_parser("train", help="train a project's model")
    s.add_argument("project")
    s.add_argument("--epochs", type=int)
    how = s.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true",
                     help="continue the last stopped or crashed run from its checkpoint")
    how.add_argument("--repeat", type=int, metavar="N", help="train the same settings with N seeds")
    how.add_argument("--ensemble", type=int, metavar="K",
                     help="train a deep ensemble of K members (different seeds) for uncertainty")
    s.add_argument("--resample-splits", action="store_true",
                   help="with --repeat: each run also draws its own data split, so the spread covers the "
                        "test samples too (spread over seeds and splits)")
    s.add_argument("--compare", metavar="GROUP",
                   help="with --repeat: compare the new group (B) with an earlier one (A), e.g. group-001")
    s.add_argument("--residual", action=argparse.BooleanOptionalAction, default=None,
                   help="the network learns what the project's formula misses; predictions are formula + "
                        "network (kept in the project; --no-residual turns it off)")
    s.add_argument("--init-from", metavar="RUN|PATH",
                   help="start from a run of this project or a .keras file: its weights where the layers fit, "
                        "a tenth of the learning rate unless the project sets one")
    s.add_argument("--freeze", type=int, default=0, metavar="K",
                   help="with --init-from: keep the first K layers that have weights as they are")
    s.add_argument("--augmentation", choices=["auto", "none", "sky"],
                   help="training batches only: sky = the 8 flips and quarter turns of square cutouts "
                        "(auto: on for square images; turn off when labels depend on handedness)")
    s.add_argument("--class-weight", choices=["auto", "none", "balanced"],
                   help="weigh rare classes up (auto: balanced past 5:1)")
    s.add_argument("--schedule", choices=["auto", "constant", "cosine"],
                   help="learning rate over the run (auto: warm-up then cosine for images, running the full "
                        "length and keeping the best epoch; constant for tables)")
    s.add_argument("--primary", metavar="METRIC", default="val_loss",
                   help="with --compare: the one metric the verdict rests on, chosen before looking "
                        "(default val_loss; never a test figure)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("sweep", help="search settings (learning rate, layer sizes, …) by validation loss")
    s.add_argument("project")
    s.add_argument("--param", action="append", required=True, metavar="NAME=SPEC",
                   help="a setting and its values: learning_rate=1e-4:1e-2:log, batch_size=16,32,64, "
                        "units:dense_1=16:128, dropout:dropout_1=0.1:0.5, depth=1,2,3, width=0.25,0.5,1,2 "
                        "(every hidden layer's size times a factor; each trial's parameter count is shown) "
                        "(repeatable)")
    s.add_argument("--trials", type=int, help="number of trials")
    s.add_argument("--timeout", type=float, metavar="S", help="time budget in seconds")
    s.add_argument("--jobs", type=int, default=1, metavar="J", help="parallel processes on this machine")
    s.add_argument("--sampler", choices=["grid", "random", "tpe"], default="tpe")
    s.add_argument("--storage", metavar="URL",
                   help="study database shared by processes or machines (default: sqlite in the project folder)")
    s.add_argument("--study", help="study name (default: derived from the settings, so a rerun resumes)")
    s.add_argument("--epochs", type=int, help="epochs per trial (default: the project's)")
    s.add_argument("--no-prune", action="store_true", help="never stop a hopeless trial early")
    s.add_argument("--apply", action="store_true", help="copy the best settings into the project")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("runs", help="list a project's runs")
    s.add_argument("project")
    s.add_argument("--all", action="store_true", help="include hidden runs")
    s.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    s.add_argument("--json", action="store_true")

    methods = ["auto", "mc_dropout", "ensemble", "heteroscedastic"]
    s = sub.add_parser("evaluate", help="diagnostics and uncertainty on the test split")
    s.add_argument("project")
    s.add_argument("--split", choices=["test", "val"], default="test")
    s.add_argument("--method", choices=methods, default="auto",
                   help="uncertainty method: the model's own (auto), MC dropout, the deep ensemble, "
                        "or the mean-and-variance head")
    s.add_argument("--passes", type=int, metavar="T", help="MC dropout passes (default: the project's)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("baseline", help="models without a network, and a physical formula, on the test split")
    s.add_argument("project")
    s.add_argument("--formula", metavar="EXPR",
                   help="a formula over input columns and parameters, e.g. 'a * luminosity**b' "
                        "(kept in the project; parameters are letters with optional digits or Greek names)")
    s.add_argument("--clear", action="store_true", help="remove the project's formula")
    s.add_argument("--split", choices=["test", "val"], default="test")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("report", help="write the HTML report of an evaluation (what the GUI exports)")
    s.add_argument("project")
    s.add_argument("--out", required=True, help="the report file, REPORT.html")
    s.add_argument("--split", choices=["test", "val"], default="test")
    s.add_argument("--method", choices=methods, default="auto", help="uncertainty method, as for evaluate")
    s.add_argument("--passes", type=int, metavar="T", help="MC dropout passes (default: the project's)")
    s.add_argument("--no-explain", action="store_true",
                   help="leave out the Explain section (input importance for tables; a few attribution maps "
                        "with their sanity check for images)")

    s = sub.add_parser("export-script", help="write a standalone Keras training script")
    s.add_argument("project")
    s.add_argument("--out", required=True)

    s = sub.add_parser("predict", help="run a trained model on new data and write a catalog")
    s.add_argument("project", nargs="?", help="the project, PROJECT.nnproj")
    s.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="a FITS file, a table, a folder of cutouts (searched recursively), or several cutout files")
    s.add_argument("--out", required=True, help="the catalog: .fits (default), .csv, .ecsv or .vot; a cancelled "
                   "run keeps its finished chunks in OUT.partial/ and the same command resumes from them")
    s.add_argument("--run", help="the run to use (default: the project's active run)")
    s.add_argument("--format", choices=["fits", "csv", "ecsv", "votable"], help="catalog format (default: by extension)")
    s.add_argument("--batch-size", type=int, default=256, metavar="N")
    s.add_argument("--shard", metavar="K/N", help="predict only the K-th of N interleaved parts (K from 1)")
    s.add_argument("--skip-bad", action="store_true", help="flag unreadable files instead of refusing the input")
    s.add_argument("--epistemic", choices=["auto", "mc", "ensemble", "none"], default="auto",
                   help="add epistemic_std (regression) or mutual_information (classification) from MC dropout "
                        "(masks seeded per row) or the project's ensemble; auto: the project's uncertainty method")
    s.add_argument("--labels", metavar="TABLE",
                   help="a table holding the target for the input's rows: adds an external test with 95%% intervals")
    s.add_argument("--id-column", metavar="COL",
                   help="match --labels by this column (cutouts: file name without extension; cube: position)")
    s.add_argument("--merge", nargs="+", metavar="PART", help="join shard catalogs in input order (no project then)")
    _add_part_options(s, "predict on")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("explain", help="why the network said what it said: attribution maps or input importance")
    s.add_argument("project")
    which = s.add_mutually_exclusive_group()
    which.add_argument("--rows", metavar="R,R,…", help="0-based rows of the data file (or of --input) to explain")
    which.add_argument("--split", choices=["train", "val", "cal", "test"], help="explain a whole split (default test)")
    s.add_argument("--method", choices=["ig", "gradcam", "occlusion"], default="ig",
                   help="images: integrated gradients (default), Grad-CAM or occlusion")
    s.add_argument("--steps", type=int, default=32, help="integrated gradients: steps along the path (default 32)")
    s.add_argument("--input", metavar="PATH",
                   help="new cutouts, as `predict` reads them (a folder, a FITS cube, files): explain their --rows, "
                        "numbered as the catalog's `row` column")
    _add_part_options(s, "explain")
    s.add_argument("--cascade", action="store_true",
                   help="images: also re-initialise the layers one by one from the output down and check "
                        "the maps after each (Adebayo et al.'s cascade; one map set per layer)")
    s.add_argument("--out", required=True, help="folder for the maps (images: one FITS and one PNG per sample)")
    s.add_argument("--json", action="store_true")

    sub.add_parser("selftest", help="check that everything works (offscreen, about a minute)")
    return p


def _add_part_options(s, verb: str) -> None:
    """--hdu / --table: which HDU of a FITS file or table of a VOTable (one field underneath)."""
    part = s.add_mutually_exclusive_group()
    part.add_argument("--hdu", metavar="N|NAME",
                      help=f"FITS: {verb} this HDU (default: the first usable image, then table)")
    part.add_argument("--table", metavar="N|ID",
                      help=f"VOTable: {verb} this table (default: the first with rows)")


def _part(args) -> int | str | None:
    """The chosen HDU or table: a number as an index, anything else as a name or ID."""
    value = args.hdu if args.hdu is not None else args.table
    return int(value) if value is not None and value.strip().isdigit() else value


# -- commands ----------------------------------------------------------------------------------
def _print_json(obj) -> None:
    from nnstudio.core.files import jsonable

    sys.stdout.write(json.dumps(jsonable(obj), allow_nan=False) + "\n")



def _units(project) -> str | None:
    """How a regression project's figures read: the loss is on the standardised target."""
    if project.data is not None and project.data.problem == "regression":
        return ("figures in the target's units; the loss (and best_val_loss) on the standardised target "
                "the network was trained on")
    return None


def _quiet_tf() -> None:
    """Import TensorFlow with its start-up chatter on fd 2 captured (the CLI discards it)."""
    from nnstudio.core.training.tf_runtime import import_tensorflow

    import_tensorflow(quiet=True)


def cmd_inspect(args) -> int:
    from nnstudio.core.data.inspect import format_inspection, inspect_file

    suffix = Path(args.file).suffix.lower()
    if suffix in (".nnproj", ".keras") and not Path(args.file).exists():
        raise NnstudioError(f"No such file: {args.file}")
    if suffix == ".nnproj":
        info, text = _inspect_project(args.file)
    elif suffix == ".keras":
        info, text = _inspect_keras(args.file)
    else:
        info = inspect_file(args.file, part=_part(args))
        text = format_inspection(info)
    if args.json:
        _print_json(info)
    else:
        print(text)
    return EXIT_OK


def _inspect_project(path: str) -> tuple[dict, str]:
    project = _load_project(path)
    data = project.data
    info = {"path": str(project.path), "format": "nnproj", "name": project.name,
            "data": str(project.resolve(data.path)) if data and data.path else None,
            "target": data.target if data else None, "problem": data.problem if data else None, "task": data.problem if data else None,
            "layers": [layer.class_name for layer in project.model.layers] if project.model else [],
            "runs": [{"id": r.id, "status": r.status, "epochs": r.epochs_run} for r in project.runs],
            "warnings": project.warnings}
    text = "\n".join([f"project {info['name']} ({info['path']})",
                      f"  data     {info['data']} (target {info['target']}, {info['problem']})",
                      f"  model    {' → '.join(info['layers']) or 'none yet'}",
                      f"  runs     {', '.join(r['id'] + ' ' + r['status'] for r in info['runs']) or 'none yet'}"])
    return info, text


def _inspect_keras(path: str) -> tuple[dict, str]:
    from nnstudio.core.model import load_keras_file

    _quiet_tf()
    spec, summary = load_keras_file(path)  # safe_mode: a refused file raises with the reason
    info = {"path": str(Path(path).absolute()), "format": "keras", "editable": spec is not None,
            "summary": summary, "model": spec.to_dict() if spec is not None else None}
    return info, summary


def cmd_example(args) -> int:
    from nnstudio.core.workflow.projects import write_example_project

    path = write_example_project(args.name, Path(args.out))
    print(path)
    return EXIT_OK


def cmd_new_project(args) -> int:
    from nnstudio.core.workflow.projects import new_project

    project = new_project(data=args.data, out=args.out, labels=args.labels, target=args.target,
                          problem=args.task, template=args.template, seed=args.seed, hdu=_part(args))
    print(project.path)
    return EXIT_OK


def _load_project(path: str):
    from nnstudio.core.project import Project

    project = Project.load(path)
    for w in project.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return project


def _apply_training_flags(project, args) -> None:
    """``--residual``, ``--augmentation``, ``--class-weight``: training settings, kept in the project."""
    from dataclasses import replace

    if getattr(args, "residual", None) is not None:
        if args.residual and not project.physics.formula:
            raise NnstudioError("--residual needs a physical formula: set one with "
                                "`nnstudio baseline PROJECT --formula EXPR`.")
        project.training = replace(project.training, residual=args.residual)
    for name in ("augmentation", "class_weight", "schedule"):
        if getattr(args, name, None) is not None:
            project.training = replace(project.training, **{name: getattr(args, name)})


def cmd_train(args) -> int:
    from nnstudio.core.tasks import ConsoleTask
    from nnstudio.core.workflow.train import train_project

    if (args.init_from or args.freeze) and (args.repeat is not None or args.ensemble is not None or args.resume):
        raise NnstudioError("--init-from and --freeze start one new run: leave out --repeat, --ensemble and --resume.")
    if args.repeat is not None:
        return cmd_repeat(args)
    if args.ensemble is not None:
        return cmd_ensemble(args)
    project = _load_project(args.project)
    _apply_training_flags(project, args)
    _quiet_tf()
    if args.resume:
        from nnstudio.core.experiments.resume import resume_project

        record = resume_project(project, epochs=args.epochs, task=ConsoleTask())
    else:
        record = train_project(project, epochs=args.epochs, task=ConsoleTask(), init_from=args.init_from,
                               freeze=args.freeze)
    project.save()
    if args.json:
        _print_json({"run": record.id, "status": record.status, "history": record.history,
                     "final": record.final, "epochs": record.epochs_run, "duration_s": record.duration_s,
                     "device": record.device, "model": str(project.model_path(record)),
                     "units": _units(project)})
    else:
        finals = ", ".join(f"{k} {v:.4g}" for k, v in record.final.items() if v is not None)
        print(f"{record.id}: {record.status} after {record.epochs_run} epochs in {record.duration_s:.1f} s"
              f" ({finals}); model saved to {project.model_path(record)}")
    if record.message:
        print(record.message, file=sys.stderr)
    return EXIT_OK if record.status in ("completed", "stopped") else EXIT_FAIL


def cmd_repeat(args) -> int:
    from nnstudio.core.experiments.compare import compare
    from nnstudio.core.experiments.repeat import load_group, repeat_project
    from nnstudio.core.tasks import ConsoleTask

    project = _load_project(args.project)
    _apply_training_flags(project, args)
    if args.primary.startswith("test_"):
        raise NnstudioError(f"--primary {args.primary}: the verdict never rests on a test figure (choosing by "
                            "it tunes to the test split); pick a validation metric such as val_loss.")
    before = load_group(project, args.compare) if args.compare else None   # refuses an unknown group now
    _quiet_tf()
    result = repeat_project(project, args.repeat, epochs=args.epochs, task=ConsoleTask(), evaluate=True,
                            resample_splits=args.resample_splits)
    project.save()
    summary = result.summary
    comparison = compare(before, summary, primary=args.primary) if before is not None else None
    if args.json:
        out = result.to_dict()
        out["summary"] = {k: {"mean": v["mean"], "std": v["std"], "n": v["n"], "min": v["min"], "max": v["max"],
                              "interval": v["interval"]}
                          for k, v in out["summary"]["metrics"].items()}
        if comparison is not None:
            out["comparison"] = {"a": args.compare, "b": result.group, **comparison.to_dict()}
        _print_json(out)
    else:
        splits = result.split_seeds or [None] * len(result.runs)
        for r, split in zip(result.runs, splits):
            where = f", split seed {split}" if split is not None else ""
            print(f"{r.id}: seed {r.settings.get('seed')}{where}, {r.status} after {r.epochs_run} epochs"
                  + (f" ({r.message})" if r.status == "failed" and r.message else ""))
        print(f"{result.group}:")
        print(summary.format())
        if comparison is not None:
            print(f"A = {args.compare} ({before.headline()}), B = {result.group}")
            print(comparison.format())
    return EXIT_OK if all(r.status == "completed" for r in result.runs) else EXIT_FAIL


def cmd_ensemble(args) -> int:
    from nnstudio.core.experiments.ensemble import train_ensemble
    from nnstudio.core.tasks import ConsoleTask

    project = _load_project(args.project)
    _apply_training_flags(project, args)
    _quiet_tf()
    result = train_ensemble(project, k=args.ensemble, epochs=args.epochs, task=ConsoleTask())
    project.save()
    if args.json:
        _print_json(result.to_dict())
    else:
        print(f"{result.group}: ensemble of {len(result.members)} members "
              f"({', '.join(r.id for r in result.members)}); use it with the Uncertainty panel's "
              "'Deep ensemble' method")
    return EXIT_OK if len(result.members) >= 2 else EXIT_FAIL


def cmd_sweep(args) -> int:
    from nnstudio.core.experiments.sweep import best_settings, run_sweep
    from nnstudio.core.tasks import ConsoleTask

    project = _load_project(args.project)
    _quiet_tf()
    result = run_sweep(project, args.param, trials=args.trials, timeout=args.timeout, sampler=args.sampler,
                       storage=args.storage, study=args.study, jobs=args.jobs, epochs=args.epochs,
                       prune=not args.no_prune, task=ConsoleTask())
    if args.apply:
        project.model, project.training = best_settings(project, result)
        project.save()
    if args.json:
        _print_json(result.to_dict())
    else:
        print(result.format())
        if args.apply:
            print(f"best settings applied to {project.path}")
    return EXIT_OK


def cmd_runs(args) -> int:
    from nnstudio.core.experiments.runs import export_runs_csv, format_rows, run_rows

    project = _load_project(args.project)
    rows = run_rows(project, include_hidden=args.all)
    if args.csv:
        export_runs_csv(project, args.csv, include_hidden=args.all)
    if args.json:
        _print_json({"runs": [r.to_dict() for r in rows], "units": _units(project)})
    else:
        print(format_rows(rows))
        if rows and _units(project):
            print(f"({_units(project)})")
    return EXIT_OK


def _evaluate(args):
    from nnstudio.core.tasks import ConsoleTask
    from nnstudio.core.workflow.data import prepare_project
    from nnstudio.core.workflow.evaluate import evaluate

    project = _load_project(args.project)
    _quiet_tf()
    task = ConsoleTask()
    prepared = prepare_project(project, task=task)
    result = evaluate(project, split=args.split, method=args.method, n_passes=args.passes,
                      prepared=prepared, task=task)
    return project, prepared, result


def cmd_evaluate(args) -> int:
    from nnstudio.core.workflow.evaluate import format_evaluation

    _project, _prepared, result = _evaluate(args)
    if args.json:
        _print_json(result.to_dict())
    else:
        print(format_evaluation(result))
    return EXIT_OK


def cmd_baseline(args) -> int:
    from nnstudio.core.project import PhysicsSettings
    from nnstudio.core.tasks import ConsoleTask
    from nnstudio.core.workflow.baselines import baseline_results, fit_data_formula
    from nnstudio.core.workflow.data import prepare_project

    project = _load_project(args.project)
    prepared = prepare_project(project, task=ConsoleTask())
    if args.clear or args.formula:
        if args.formula:
            fit_data_formula(prepared, args.formula)         # refuses a bad formula before it is kept
        project.physics = PhysicsSettings(None if args.clear else args.formula)
        project.mark_changed("physics")
        project.save()
    results = [b for b, _ in baseline_results(prepared, args.split, project.physics.formula)]
    if args.json:
        _print_json({"split": args.split, "n": prepared.count(args.split), "formula": project.physics.formula,
                     "baselines": {b.name: b.to_dict() for b in results}})
        return EXIT_OK
    from nnstudio.core.formatting import fmt_interval, fmt_number

    print(f"{prepared.problem} · {args.split} split · {prepared.count(args.split)} samples · "
          "fitted on the training split")
    for b in results:
        print(b.label + (f"  ({b.note})" if b.note else ""))
        for name, v in (b.parameters or {}).items():
            print(f"  {name:<22} {fmt_number(v['value'])} ± {fmt_number(v['error'])}")
        for k, v in b.metrics.items():
            if isinstance(v, float) and k in b.metrics_ci:
                print(f"  {k:<22} {fmt_number(v)}  95% {fmt_interval(*b.metrics_ci[k])}")
    return EXIT_OK


def cmd_report(args) -> int:
    from nnstudio.core.workflow.report import write_report

    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise NnstudioError(f"The report is an HTML file: give --out a name ending in .html (got {args.out}).")
    project, prepared, result = _evaluate(args)
    explanation = None
    if not args.no_explain:
        from nnstudio.core.workflow.report import explain_for_report

        explanation = explain_for_report(project, prepared, split=args.split)
    print(write_report(project, result, args.out, prepared=prepared, explanation=explanation))
    return EXIT_OK


def cmd_export_script(args) -> int:
    from nnstudio.core.workflow.export import export_project_script

    out = export_project_script(_load_project(args.project), Path(args.out))
    print(out)
    return EXIT_OK


def cmd_gui(path: str | None, lesson: str | None = None) -> int:
    try:
        from nnstudio.gui.app import run_app
    except ImportError as exc:  # e.g. Qt's system libraries missing
        raise NnstudioError(f"The desktop app cannot start: {exc}. "
                            "On Linux, install Qt's xcb libraries (see the README).") from None
    return run_app(path, lesson=lesson) if lesson else run_app(path)


def _lessons_dirs(dirs) -> None:
    """``--lessons-dir`` joins NNSTUDIO_LESSONS_DIR, so the app's Help ▸ Lessons sees it too."""
    import os

    from nnstudio.core.lessons import ENV_DIRS

    if dirs:
        old = [p for p in os.environ.get(ENV_DIRS, "").split(os.pathsep) if p]
        os.environ[ENV_DIRS] = os.pathsep.join([*old, *(str(Path(d).absolute()) for d in dirs)])


def cmd_lessons(args) -> int:
    from nnstudio.core.lessons import load_lessons

    _lessons_dirs(args.lessons_dir)
    lessons = load_lessons()
    if args.json:
        _print_json({"lessons": [lesson.to_dict() for lesson in lessons]})
        return EXIT_OK
    for lesson in lessons:
        minutes = f", about {lesson.minutes} min" if lesson.minutes else ""
        print(f"{lesson.id}: {lesson.title} ({len(lesson.steps)} steps{minutes})")
        for i, step in enumerate(lesson.steps, 1):
            print(f"  {i}. {step.title}")
    print("Start one with: nnstudio open --lesson ID")
    return EXIT_OK


def cmd_open(args) -> int:
    if args.lesson:
        from nnstudio.core.lessons import get_lesson

        _lessons_dirs(args.lessons_dir)
        get_lesson(args.lesson)            # an unknown id or a broken file: one line, before any window
        if args.path:
            raise NnstudioError("Give a path or --lesson, not both: a lesson opens its own copy of its example.")
        return cmd_gui(None, lesson=args.lesson)
    if not args.path:
        raise UsageError("nnstudio open: give a PATH or --lesson ID (see 'nnstudio open --help')")
    if not Path(args.path).exists():
        raise NnstudioError(f"No such file or folder: {args.path}")
    return cmd_gui(args.path)


def cmd_selftest(args) -> int:
    from nnstudio.gui.selftest import run_selftest

    return run_selftest()


COMMANDS = {
    "inspect": cmd_inspect,
    "example": cmd_example,
    "new-project": cmd_new_project,
    "train": cmd_train,
    "sweep": cmd_sweep,
    "runs": cmd_runs,
    "evaluate": cmd_evaluate,
    "baseline": cmd_baseline,
    "report": cmd_report,
    "export-script": cmd_export_script,
    "selftest": cmd_selftest,
}


def cmd_predict(args) -> int:
    """``predict PROJECT INPUT... --out CATALOG`` or ``predict --merge PART... --out CATALOG``."""
    from nnstudio.core.data.catalog import merge_catalogs

    if args.merge:
        if args.project or args.inputs:
            print("nnstudio predict: --merge takes the shard catalogs only, no project or input", file=sys.stderr)
            return EXIT_USAGE
        out = merge_catalogs(args.merge, args.out, args.format)
        if args.json:
            _print_json({"catalog": str(out), "parts": len(args.merge)})
        else:
            print(out)
        return EXIT_OK
    if not args.project or not args.inputs:
        print("nnstudio predict: give a project and an input (or --merge PART...)", file=sys.stderr)
        return EXIT_USAGE
    from nnstudio.core.formatting import fmt_interval, fmt_number
    from nnstudio.core.tasks import ConsoleTask
    from nnstudio.core.workflow.predict import parse_shard, predict_project

    shard = parse_shard(args.shard)
    project = _load_project(args.project)
    _quiet_tf()
    inputs = args.inputs[0] if len(args.inputs) == 1 else args.inputs
    result = predict_project(project, inputs, args.out, run_id=args.run, fmt=args.format,
                             batch_size=args.batch_size, shard=shard, skip_bad=args.skip_bad, hdu=_part(args),
                             epistemic=args.epistemic, labels=args.labels, id_column=args.id_column,
                             task=ConsoleTask())
    if args.json:
        _print_json(result.to_dict())
        return EXIT_OK
    print(f"{result.path}: {result.n_rows} rows ({result.n_flagged} flagged) · {result.meta['nnrun']}")
    for note in result.notes:
        print(f"note: {note}")
    if result.metrics is not None:
        print(f"external test on the input's own {project.data.target!r} ({result.metrics['n']} rows):")
        for k, v in result.metrics.items():
            if isinstance(v, float) and k in result.metrics_ci:
                print(f"  {k:<22} {fmt_number(v)}  95% {fmt_interval(*result.metrics_ci[k])}")
    return EXIT_OK


COMMANDS["predict"] = cmd_predict


def _explain_rows(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        rows = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise NnstudioError(f"--rows takes 0-based row numbers separated by commas, e.g. 0,5,12 (got {text!r}).") from None
    if not rows or min(rows) < 0:
        raise NnstudioError("--rows takes 0-based row numbers separated by commas, e.g. 0,5,12.")
    return rows


def cmd_explain(args) -> int:
    from nnstudio.core.tasks import ConsoleTask
    from nnstudio.core.workflow.explain import explain as explain_project
    from nnstudio.core.workflow.explain import write_explanation

    rows = _explain_rows(args.rows)
    if args.input is None and (args.hdu is not None or args.table is not None):
        raise UsageError("--hdu and --table choose a part of --input.")
    if args.input is not None and rows is None:
        raise UsageError("explain --input needs --rows: the catalog rows to explain, e.g. --rows 0,5,12.")
    project = _load_project(args.project)
    _quiet_tf()
    if args.input is not None:
        from nnstudio.core.workflow.predict_explain import explain_input_rows

        result = explain_input_rows(project, args.input, rows, args.method, hdu=_part(args), steps=args.steps,
                                    cascade=args.cascade, task=ConsoleTask())
    else:
        result = explain_project(project, rows=rows, split=args.split, method=args.method, steps=args.steps,
                                 cascade=args.cascade, task=ConsoleTask())
    files = write_explanation(result, args.out)
    if result.kind == "table":
        from nnstudio.core.files import atomic_write_json

        Path(args.out).mkdir(parents=True, exist_ok=True)
        files.append(atomic_write_json(Path(args.out) / "explanation.json", result.to_dict()))
    if args.json:
        _print_json({**result.to_dict(), "out": str(Path(args.out)), "files": [str(f) for f in files]})
        return EXIT_OK
    from nnstudio.core.formatting import fmt_interval, fmt_number

    where = f"{result.split} split" if result.split else ("rows of " + args.input if args.input else "chosen rows")
    print(f"{result.problem} · {where} · {len(result.rows)} sample(s)")
    if result.kind == "images":
        print(f"{len(files) // 2} map(s) ({result.method}) written to {args.out}")
        print(result.sanity.verdict)
        for name, check in result.cascade or []:
            print(f"  re-initialised from {name} up: correlation {check.mean_linear:.2f}"
                  + ("" if check.informative else " (maps barely changed)"))
        d = result.deletion
        print(f"deletion: mean score {fmt_number(d.area_attributed)} removing top-attributed pixels first, "
              f"{fmt_number(d.area_random)} removing random ones"
              + ("" if d.better_than_random else " (the maps do no better than chance)"))
    else:
        print(f"permutation importance ({result.units}), 95% bootstrap intervals:")
        for r in result.importance:
            print(f"  {r.input:<22} {fmt_number(r.mean)}  95% {fmt_interval(r.low, r.high)}")
    for note in result.notes:
        print(f"note: {note}")
    return EXIT_OK


COMMANDS["explain"] = cmd_explain
COMMANDS["lessons"] = cmd_lessons

def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # the packaged app: let `sweep --jobs` start worker processes
        import multiprocessing

        multiprocessing.freeze_support()
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 1 and argv[0] not in COMMANDS and argv[0] != "open" and Path(argv[0]).exists():
        argv = ["open", argv[0]]  # `nnstudio FILE`, as a file manager or the .desktop entry calls it
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    try:
        if args.command is None:
            return cmd_gui(None)
        if args.command == "open":
            return cmd_open(args)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except NnstudioError as exc:
        print(f"nnstudio: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("nnstudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: keep the traceback in the log, give the person one line
        import logging

        from nnstudio.logs import setup_logging

        path = setup_logging()
        logging.getLogger("nnstudio.cli").exception("unexpected error in %s", args.command)
        print(f"nnstudio: unexpected error: {type(exc).__name__}: {exc} (details in {path})",
              file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
