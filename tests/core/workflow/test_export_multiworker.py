"""The exported script trains on two real workers (MultiWorkerMirroredStrategy over loopback ports)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from nnstudio.core.model.importer import load_keras, load_keras_file
from nnstudio.core.project import Project
from nnstudio.core.workflow import (
    export_project_script,
    prepare_project,
    write_example_project,
)

WORKER_TIMEOUT_S = 240
# Measured on galaxy-mass (and photometric-classes): the two-worker first-epoch loss equals the
# single process's to the last digit; float32 all-reduce may add up the two halves of a batch in
# another order than one process does, which moves the loss by a few ulp at most.
LOSS_RTOL = 1e-5


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def _start(script, out, env, *args):
    return subprocess.Popen([sys.executable, str(script), "--epochs", "1", "--out", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", env=env)


def _finish(procs, deadline):
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((p.returncode, out, err))
    finally:
        for p in procs:  # a worker left waiting for its peer must not outlive the test
            if p.poll() is None:
                p.kill()
                p.communicate()
    return results


@pytest.mark.timeout(WORKER_TIMEOUT_S + 60)
def test_two_workers_train_like_one_process(tmp_path, tensorflow):
    project = Project.load(write_example_project("galaxy-mass", tmp_path / "work"))
    prepare_project(project)
    script = export_project_script(project, tmp_path / "train.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)

    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = [_start(script, tmp_path / "trained",
                    {**env, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": i}})},
                    "--strategy", "multiworker")
             for i in range(2)]
    procs.append(_start(script, tmp_path / "single", env))  # one process, the same global batch
    results = _finish(procs, time.monotonic() + WORKER_TIMEOUT_S)
    for name, (code, _, err) in zip(("worker 0", "worker 1", "single process"), results):
        assert code == 0, f"{name}: {err[-2000:]}"
    chief, other, single = (_last_json(out) for _, out, _ in results)
    assert other["worker"] == 1
    assert chief["test"]["rmse"] > 0 and chief["test_ci"]["rmse"][0] <= chief["test"]["rmse"]
    single = single["first_epoch_loss"]
    assert chief["first_epoch_loss"] == pytest.approx(single, rel=LOSS_RTOL)
    assert other["first_epoch_loss"] == chief["first_epoch_loss"]

    # worker 0 wrote the model, and nnstudio opens it in safe mode as a plain stack of layers
    written = sorted(p.name for p in (tmp_path / "trained").iterdir())
    assert written == ["best.keras", "history.json", "model.keras"]
    model = load_keras(tmp_path / "trained" / "model.keras")
    x_test = prepare_project(project).x["test"]
    assert model.predict(x_test[:5], verbose=0).shape == (5, 1)
    spec, _ = load_keras_file(tmp_path / "trained" / "model.keras")
    assert spec is not None and [layer.class_name for layer in spec.layers] == \
        [layer.class_name for layer in project.model.layers]
