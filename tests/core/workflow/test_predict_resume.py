"""A cancelled prediction resumes where it stopped: the finished chunks are kept beside the catalog
and only the rest is predicted again; the result is the uninterrupted run's catalog."""
import importlib

import numpy as np
import pytest
from predict_projects import lens_project

from nnstudio.core.data.catalog import read_catalog
from nnstudio.core.tasks import Task
from nnstudio.core.workflow.predict import predict_project
from nnstudio.errors import Cancelled

CHUNK = 32 * 32 * 4 * 16          # 16 images a chunk
predict_module = importlib.import_module("nnstudio.core.workflow.predict")


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"), epochs=1)


class StopAfter(Task):
    def __init__(self, chunks):
        super().__init__()
        self.chunks = chunks

    def report_progress(self, done, total, text=""):
        if text.startswith("Predicting") and done >= self.chunks * 16:
            self.stop.set()


def _counting(monkeypatch):
    seen = []
    real = predict_module.forward

    def forward(cal, model, x, batch_size=256):
        seen.append(len(x))
        return real(cal, model, x, batch_size)

    monkeypatch.setattr(predict_module, "forward", forward)
    return seen


def test_a_cancelled_prediction_resumes_from_its_finished_chunks(lens, tmp_path, monkeypatch):
    from nnstudio.core.examples._write import write_fits_cube

    project, images, _ = lens
    write_fits_cube(tmp_path / "cube.fits", images[:100])
    whole = predict_project(project, tmp_path / "cube.fits", tmp_path / "whole.fits", chunk_bytes=CHUNK,
                            epistemic="none")
    assert not (tmp_path / "whole.fits.partial").exists()       # nothing left once written

    out = tmp_path / "cat.fits"
    with pytest.raises(Cancelled):
        predict_project(project, tmp_path / "cube.fits", out, chunk_bytes=CHUNK, task=StopAfter(3))
    assert not out.exists()
    assert len(list((tmp_path / "cat.fits.partial").glob("rows_*.npz"))) == 3

    seen = _counting(monkeypatch)
    resumed = predict_project(project, tmp_path / "cube.fits", out, chunk_bytes=CHUNK)
    assert sum(seen) == 100 - 3 * 16                           # only the unfinished chunks
    assert not (tmp_path / "cat.fits.partial").exists()
    a, b = read_catalog(out), read_catalog(tmp_path / "whole.fits")
    assert a.colnames == b.colnames and list(a["row"]) == list(range(100))
    for name in ("p_0", "p_1", "ood_score"):
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=1e-6)
    assert resumed.n_rows == whole.n_rows == 100
    assert a.meta["radec"] == "no ra/dec: the cube's header has no celestial WCS"    # said in the catalog


def test_chunks_of_another_prediction_are_not_reused(lens, tmp_path, monkeypatch):
    from nnstudio.core.examples._write import write_fits_cube

    project, images, _ = lens
    write_fits_cube(tmp_path / "cube.fits", images[:64])
    out = tmp_path / "cat.fits"
    with pytest.raises(Cancelled):
        predict_project(project, tmp_path / "cube.fits", out, chunk_bytes=CHUNK, task=StopAfter(2))
    write_fits_cube(tmp_path / "cube.fits", images[64:128])             # the input changed
    seen = _counting(monkeypatch)
    predict_project(project, tmp_path / "cube.fits", out, chunk_bytes=CHUNK)
    assert sum(seen) == 64                                     # all predicted afresh
    with pytest.raises(Cancelled):
        predict_project(project, tmp_path / "cube.fits", out, shard=(1, 2), chunk_bytes=CHUNK, task=StopAfter(1))
    seen.clear()
    predict_project(project, tmp_path / "cube.fits", out, shard=(2, 2), chunk_bytes=CHUNK)
    assert sum(seen) == 32                                     # another shard: nothing reused
