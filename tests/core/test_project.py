"""Project files: round trip, atomic save, relative paths, damaged and newer files, changed data."""
import json
from pathlib import Path

import pytest

from nnstudio.core import project as project_mod
from nnstudio.core.data.spec import DataSelection
from nnstudio.core.model import make_template
from nnstudio.core.project import Project, file_fingerprint
from nnstudio.core.training import RunRecord, TrainConfig
from nnstudio.errors import NnstudioError


def make_project(tmp_path) -> Project:
    data = tmp_path / "data" / "table.csv"
    data.parent.mkdir()
    data.write_text("a,b,y\n1,2,3\n4,5,6\n")
    p = Project(name="demo")
    p.data = DataSelection(path=str(data), target="y", problem="regression", inputs=["a", "b"],
                           fingerprint=file_fingerprint(data))
    p.model = make_template("mlp-regression", (2,), "regression")
    p.training.epochs = 12
    p.runs.append(RunRecord(id="run-0001", started="2026-01-01T00:00:00", settings=p.training.to_dict(),
                            model=p.model.to_dict(), status="completed", history={"loss": [1.0, 0.5]},
                            model_path="run-0001/model.keras"))
    return p


def test_round_trip(tmp_path):
    p = make_project(tmp_path)
    path = p.save(tmp_path / "demo.nnproj")
    q = Project.load(path)
    assert q.to_dict()["data"] == p.to_dict()["data"]
    assert q.model == p.model
    assert q.training.epochs == 12
    assert q.runs[0].history == {"loss": [1.0, 0.5]}
    assert q.folder == tmp_path / "demo" and q.folder.is_dir()
    assert q.warnings == []


def test_file_is_readable_versioned_json_with_relative_paths(tmp_path):
    p = make_project(tmp_path)
    p.save(tmp_path / "demo.nnproj")
    d = json.loads((tmp_path / "demo.nnproj").read_text())
    assert d["format"] == "nnstudio-project" and d["format_version"] == project_mod.FORMAT_VERSION
    assert d["data"]["path"] == "data/table.csv"
    assert d["nnstudio_version"]


def test_save_as_elsewhere_keeps_data_reachable(tmp_path):
    p = make_project(tmp_path)
    p.save(tmp_path / "demo.nnproj")
    (tmp_path / "demo" / "runs" / "run-0001").mkdir(parents=True)
    (tmp_path / "demo" / "runs" / "run-0001" / "model.keras").write_bytes(b"x")
    other = tmp_path / "elsewhere" / "copy.nnproj"
    other.parent.mkdir()
    p.save(other)
    q = Project.load(other)
    assert q.resolve(q.data.path) == tmp_path / "data" / "table.csv"
    assert (tmp_path / "elsewhere" / "copy" / "runs" / "run-0001" / "model.keras").exists()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    p = make_project(tmp_path)
    path = p.save(tmp_path / "demo.nnproj")
    before = path.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(project_mod.os, "replace", boom)
    p.training.epochs = 99
    with pytest.raises(OSError):
        p.save()
    assert path.read_text() == before  # the old file is intact
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []


@pytest.mark.parametrize("text,message", [
    ("{ nope", "broken JSON at line 1"),
    ("[1, 2]", "not an nnstudio project file"),
    ('{"format": "nnstudio-project"}', "no format version"),
    ('{"format": "nnstudio-project", "format_version": 99}', "newer nnstudio"),
    ('{"format": "nnstudio-project", "format_version": 1, "model": {"format_version": 1, "layers": [{"class_name": "Lambda", "config": {}}]}}',
     "Lambda"),
    ('{"format": "nnstudio-project", "format_version": 1, "training": {"epochs": 0}}', "Epochs"),
])
def test_damaged_files_get_clear_messages(tmp_path, text, message):
    path = tmp_path / "bad.nnproj"
    path.write_text(text)
    with pytest.raises(NnstudioError, match=message):
        Project.load(path)


def test_upgrade_chain_runs_each_step(monkeypatch):
    calls = []

    def v1_to_v2(d):
        calls.append(d["format_version"])
        d["training"] = {**(d.get("training") or {}), "epochs": 5}
        return d

    monkeypatch.setattr(project_mod, "FORMAT_VERSION", 2)
    monkeypatch.setitem(project_mod.UPGRADES, 1, v1_to_v2)
    d = project_mod.upgrade({"format": "nnstudio-project", "format_version": 1, "training": {}})
    assert calls == [1] and d["format_version"] == 2 and d["training"]["epochs"] == 5
    with pytest.raises(NnstudioError, match="too old"):
        project_mod.upgrade({"format": "nnstudio-project", "format_version": 0})


def test_missing_and_changed_data_are_reported(tmp_path):
    p = make_project(tmp_path)
    p.save(tmp_path / "demo.nnproj")
    (tmp_path / "data" / "table.csv").write_text("a,b,y\n1,2,3\n4,5,7\n9,9,9\n")
    q = Project.load(tmp_path / "demo.nnproj")
    assert len(q.warnings) == 1 and "changed since the project was saved" in q.warnings[0]
    (tmp_path / "data" / "table.csv").unlink()
    q = Project.load(tmp_path / "demo.nnproj")
    assert "missing" in q.warnings[0]


def test_changed_signal_and_dirty_flag(tmp_path):
    p = make_project(tmp_path)
    seen = []
    p.changed.connect(seen.append)
    p.mark_changed("model")
    assert p.dirty and seen == ["model"]
    p.save(tmp_path / "demo.nnproj")
    assert not p.dirty and seen[-1] == "saved"


def test_next_run_id_skips_used_ids(tmp_path):
    p = make_project(tmp_path)
    assert p.next_run_id() == "run-0002"


def test_a_format_1_project_opens_with_its_problem_kind(tmp_path):
    """A project saved by format 1 (``data.task``) opens, and saves again as the current format."""
    import shutil

    src = Path(__file__).parent / "projects" / "v1"
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    assert json.loads((tmp_path / "v1.nnproj").read_text())["data"]["task"] == "regression"
    p = Project.load(tmp_path / "v1.nnproj")
    assert p.data.problem == "regression" and p.data.target == "kind" and p.data.inputs == ["a", "b"]
    p.save(tmp_path / "v1.nnproj")
    d = json.loads((tmp_path / "v1.nnproj").read_text())
    assert d["format_version"] == project_mod.FORMAT_VERSION
    assert d["data"]["problem"] == "regression" and "task" not in d["data"]
    assert d["decision"] == {"positive": None, "threshold": None, "split": None}
    assert d["physics"] == {"formula": None} and d["training"]["residual"] is False
    assert d["training"]["schedule"] == "auto"


def test_a_format_6_project_opens_with_the_automatic_schedule(tmp_path):
    """Format 7 adds ``training.schedule``; a project saved by format 6 has none and opens."""
    d = make_project(tmp_path).to_dict()
    del d["training"]["schedule"]
    d["format_version"] = 6
    path = tmp_path / "six.nnproj"
    path.write_text(json.dumps(d))
    p = Project.load(path)
    assert p.training.schedule == "auto"
    with pytest.raises(NnstudioError, match="schedule"):
        TrainConfig(schedule="linear").validate()


def test_the_decision_rule_round_trips_and_refuses_nonsense(tmp_path):
    from nnstudio.core.project import DecisionRule

    p = make_project(tmp_path)
    p.decision = DecisionRule(positive=0, threshold=0.109, split="val")
    p.save(tmp_path / "demo.nnproj")
    q = Project.load(tmp_path / "demo.nnproj")
    assert (q.decision.positive, q.decision.threshold, q.decision.split) == (0, 0.109, "val")
    assert DecisionRule(threshold=0.3).positive == 1 and not DecisionRule().uses_threshold
    for bad in ({"threshold": 1.5}, {"positive": -1}, {"positive": "spiral"}):
        with pytest.raises(NnstudioError):
            DecisionRule(**bad)


def test_a_physics_formula_is_kept():
    from nnstudio.core.project import PhysicsSettings

    p = Project(name="x")
    p.physics = PhysicsSettings("a * luminosity**b")
    q = Project.from_dict(p.to_dict())
    assert q.physics.formula == "a * luminosity**b"
    with pytest.raises(NnstudioError, match="text"):
        PhysicsSettings.from_dict({"formula": 3})
