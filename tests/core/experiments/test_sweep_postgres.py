"""Two sweeps on two copies of a project share one Optuna study through a PostgreSQL server.

The server is the one .ci/run starts in CI (NNSTUDIO_TEST_POSTGRES_URL); tests never install one.
"""
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest

from nnstudio.core.experiments.sweep import open_storage
from nnstudio.core.project import Project
from nnstudio.core.workflow import write_example_project
from nnstudio.errors import NnstudioError

URL = os.environ.get("NNSTUDIO_TEST_POSTGRES_URL")
needs_server = pytest.mark.skipif(not URL, reason="NNSTUDIO_TEST_POSTGRES_URL is not set: no PostgreSQL server "
                                                  "to share a study through (.ci/run starts one when CI=true)")
TRIALS = 4
TIMEOUT_S = 240


def _sweep(project, study, *extra):
    argv = [sys.executable, "-m", "nnstudio", "sweep", str(project), "--param", "learning_rate=1e-4:1e-2:log",
            "--trials", str(TRIALS), "--epochs", "1", "--sampler", "random", "--no-prune",
            "--study", study, "--storage", URL, "--json", *extra]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", env=env)


def _wait(procs):
    try:
        results = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-2000:]
    return [json.loads(out) for out, _ in results]


@needs_server
@pytest.mark.timeout(2 * TIMEOUT_S + 60)
def test_two_sweeps_share_one_study_on_a_server(tmp_path, tensorflow):
    import optuna
    from optuna.trial import TrialState

    # two copies of the project and its data, as on two machines
    a = write_example_project("galaxy-mass", tmp_path / "a")
    b = write_example_project("galaxy-mass", tmp_path / "b")
    study = f"test-{uuid.uuid4().hex[:12]}"
    before = Project.load(b).model.learning_rate
    try:
        procs = [_sweep(a, study), _sweep(b, study)]
        _wait(procs)

        trials = optuna.load_study(study_name=study, storage=URL).get_trials(deepcopy=False)
        assert all(t.state == TrialState.COMPLETE for t in trials), [t.user_attrs for t in trials]
        # each trial ran in exactly one of the two processes, and both took part
        pids = [t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials]
        per_process = [pids.count(str(p.pid)) for p in procs]
        assert min(per_process) >= 1 and sum(per_process) == len(trials)
        # the budget is shared: a process that finishes last may start one more trial than asked
        assert TRIALS <= len(trials) <= TRIALS + 1
        rates = [t.params["learning_rate"] for t in trials]
        assert len(set(rates)) == len(rates), "the two processes ran the same settings twice"

        # --apply on an exhausted budget runs nothing more and copies the best trial's settings
        summary, = _wait([_sweep(a, study, "--apply")])
        assert len(optuna.load_study(study_name=study, storage=URL).get_trials(deepcopy=False)) == len(trials)
        best = min(trials, key=lambda t: t.value)
        assert summary["best"]["number"] == best.number
        assert Project.load(a).model.learning_rate == pytest.approx(best.params["learning_rate"])
        assert Project.load(b).model.learning_rate == before  # the other copy is left as it was
    finally:
        try:
            optuna.delete_study(study_name=study, storage=URL)
        except KeyError:  # the study was never created
            pass


def test_a_missing_driver_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(NnstudioError) as err:
        open_storage("postgresql://me:secret@127.0.0.1:5432/db")
    message = str(err.value)
    assert "\n" not in message and "secret" not in message
    assert "psycopg" in message and "nnstudio[cluster]" in message


def test_an_unreachable_server_is_one_line():
    pytest.importorskip("psycopg")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NnstudioError) as err:
        open_storage(f"postgresql://me:secret@127.0.0.1:{port}/db")
    message = str(err.value)
    assert "\n" not in message and "secret" not in message
    assert f"port {port}" in message and "Connection refused" in message
