"""A survey catalog from a job array: the example SLURM script's tasks run as local processes
(SLURM_ARRAY_TASK_ID set as the scheduler sets it), merged, equal a one-process catalog row for row."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from predict_projects import galaxy_project

from nnstudio.core.data.catalog import read_catalog

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "predict_array.sbatch"


@pytest.mark.timeout(300)
def test_shards_of_a_job_array_merge_into_the_one_process_catalog(tmp_path, tensorflow):
    project, held_out = galaxy_project(tmp_path / "p")
    table = tmp_path / "survey.csv"
    names = [k for k in held_out if k != "log_stellar_mass"]
    rows = [",".join(names)] + [",".join(f"{held_out[k][i]:.6g}" for k in names)
                                for i in range(len(held_out[names[0]]))]
    table.write_text("\n".join(rows) + "\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               OUT=str(tmp_path / "catalog"))
    n = 3
    tasks = [subprocess.Popen(["bash", str(SCRIPT), str(project.path), str(table), str(n)],
                              env=dict(env, SLURM_ARRAY_TASK_ID=str(k)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(1, n + 1)]
    for t in tasks:
        _out, err = t.communicate(timeout=240)
        assert t.returncode == 0, err[-2000:]
    merged = subprocess.run(["bash", str(SCRIPT), "--merge", str(n)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert merged.returncode == 0, merged.stderr[-2000:]
    single = subprocess.run([str(Path(sys.executable).parent / "nnstudio"), "predict", str(project.path), str(table),
                             "--out", str(tmp_path / "single.fits")], capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr[-2000:]
    a, b = read_catalog(tmp_path / "catalog.fits"), read_catalog(tmp_path / "single.fits")
    assert len(a) == len(b) == len(table.read_text().splitlines()) - 1
    assert a.colnames == b.colnames and list(a["row"]) == list(range(len(b)))
    for name in a.colnames:
        if a[name].dtype.kind == "f":
            np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            assert list(a[name]) == list(b[name]), name
    with pytest.raises(subprocess.CalledProcessError):             # not started by the scheduler
        subprocess.run(["bash", str(SCRIPT), str(project.path), str(table), "2"], env=env, check=True,
                       capture_output=True, timeout=60)
