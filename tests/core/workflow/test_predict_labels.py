"""Predict with a label table: the external test on new data, with 95% intervals."""
import numpy as np
import pytest
from predict_projects import lens_project, write_cutouts

from nnstudio.core.workflow.predict import predict_project
from nnstudio.errors import NnstudioError


@pytest.fixture(scope="module")
def lens(tmp_path_factory, tensorflow):
    return lens_project(tmp_path_factory.mktemp("lens"))


def test_a_label_table_in_row_order_gives_the_external_test(lens, tmp_path):
    from sklearn.metrics import roc_auc_score

    from nnstudio.core.examples._write import write_csv, write_fits_cube

    project, images, labels = lens
    write_fits_cube(tmp_path / "new.fits", images)
    plain = predict_project(project, tmp_path / "new.fits")
    assert plain.metrics is None                        # the cube alone carries no labels
    write_csv(tmp_path / "truth.csv", {"is_lens": labels})
    r = predict_project(project, tmp_path / "new.fits", labels=tmp_path / "truth.csv")
    auc = roc_auc_score(labels, r.columns["p_1"])
    assert r.metrics["roc_auc"] == pytest.approx(auc, abs=2e-3)     # judged on the model's own scores
    lo, hi = r.metrics_ci["roc_auc"]
    assert lo < auc < hi and hi - lo < 0.5
    assert r.metrics["n"] == len(labels)
    assert tuple(r.to_dict()["external_test"]["metrics_ci"]["roc_auc"]) == (lo, hi)


def test_labels_are_matched_to_cutouts_by_an_id_column(lens, tmp_path):
    from nnstudio.core.examples._write import write_csv

    project, images, labels = lens
    names = [f"obj{i:03d}" for i in range(40)]
    write_cutouts(tmp_path / "new", images[:40], [n + ".fits" for n in names])
    order = np.random.default_rng(0).permutation(40)
    write_csv(tmp_path / "truth.csv", {"name": np.array(names)[order], "is_lens": labels[:40][order]})
    r = predict_project(project, tmp_path / "new", labels=tmp_path / "truth.csv", id_column="name")
    in_order = predict_project(project, tmp_path / "new", labels=_row_order(tmp_path, labels[:40]))
    assert r.metrics["n"] == 40
    assert r.metrics == in_order.metrics
    with pytest.raises(NnstudioError, match="has 39 rows but there are 40 images"):
        predict_project(project, tmp_path / "new", labels=_row_order(tmp_path, labels[:39]))


def _row_order(folder, labels):
    from nnstudio.core.examples._write import write_csv

    path = folder / f"truth_{len(labels)}.csv"
    write_csv(path, {"is_lens": labels})
    return path
