"""`nnstudio baseline`: the physics beside the network from the command line."""
import json

from nnstudio.core.project import Project


def test_the_galaxy_mass_example_ships_its_formula_and_fits_it(run_cli, tmp_path):
    code, out, _ = run_cli("example", "galaxy-mass", "--out", tmp_path)
    assert code == 0
    path = tmp_path / "galaxy-mass.nnproj"
    assert Project.load(path).physics.formula == "a + b*log_luminosity + c*g_r"
    code, out, _ = run_cli("baseline", path, "--json")
    assert code == 0
    res = json.loads(out)
    f, ridge = res["baselines"]["formula"], res["baselines"]["ridge"]
    assert set(f["parameters"]) == {"a", "b", "c"}
    assert abs(f["parameters"]["b"]["value"] - 1.0) < 0.05 and 0 < f["parameters"]["b"]["error"] < 0.02
    # the formula is the same linear model as ridge regression: the same RMSE within its noise
    lo, hi = ridge["metrics_ci"]["rmse"]
    assert lo < f["metrics"]["rmse"] < hi and "mean" in res["baselines"]


def test_a_new_formula_is_kept_and_a_bad_one_refused_in_one_line(run_cli, tmp_path):
    run_cli("example", "galaxy-mass", "--out", tmp_path)
    path = tmp_path / "galaxy-mass.nnproj"
    code, out, err = run_cli("baseline", path, "--formula", "a * 10**(b*log_lumin)")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "'log_lumin'" in err
    assert Project.load(path).physics.formula == "a + b*log_luminosity + c*g_r"     # unchanged
    code, out, err = run_cli("baseline", path, "--formula", "a * 10**(b*log_luminosity)")
    assert code == 0 and "formula a * 10**(b*log_luminosity)" in out and " ± " in out
    assert Project.load(path).physics.formula == "a * 10**(b*log_luminosity)"
    code, out, _ = run_cli("baseline", path, "--clear", "--json")
    assert code == 0 and "formula" not in json.loads(out)["baselines"]
    assert Project.load(path).physics.formula is None
