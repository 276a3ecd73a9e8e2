"""The experiment commands: train --repeat/--resume, sweep, runs; bad input is one line, status 1 or 2."""
import json

import pytest


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    from nnstudio.cli import main

    out = tmp_path_factory.mktemp("ex")
    assert main(["example", "galaxy-mass", "--out", str(out)]) == 0
    return out / "galaxy-mass.nnproj"


@pytest.mark.parametrize("argv", [["sweep", "p.nnproj", "--trials", "2"],
                                  ["train", "p.nnproj", "--resume", "--repeat", "2"],
                                  ["sweep", "p.nnproj", "--param", "batch_size=16,32", "--sampler", "bayes"]])
def test_bad_usage_is_status_2(run_cli, argv):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--param", "foo=1:2", "--trials", "2"], "Unknown setting 'foo'"),
    (["--param", "learning_rate=1e-2:1e-4:log", "--trials", "2"], "inverted"),
    (["--param", "batch_size=16,32", "--trials", "0"], "at least 1"),
    (["--param", "batch_size=16,32"], "budget"),
    (["--param", "units:dense_9=8,16", "--trials", "2"], "no layer 'dense_9'"),
])
def test_bad_sweep_input_is_one_line_status_1(run_cli, example, args, message):
    code, out, err = run_cli("sweep", example, *args)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_repeat_sweep_runs_resume_from_the_terminal(run_cli, example, tensorflow):
    code, _, err = run_cli("train", example, "--resume")
    assert code == 1 and "Nothing to resume" in err

    code, out, err = run_cli("train", example, "--repeat", "2", "--epochs", "1", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert [r["seed"] for r in res["runs"]] == [0, 1]
    a, b = (r["final"]["val_loss"] for r in res["runs"])
    assert res["summary"]["val_loss"]["mean"] == pytest.approx((a + b) / 2)
    assert res["summary"]["val_loss"]["std"] == pytest.approx(abs(a - b) / 2 ** 0.5)

    code, out, err = run_cli("sweep", example, "--param", "batch_size=32,64", "--sampler", "grid",
                             "--trials", "2", "--epochs", "1", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert len(res["trials"]) == 2
    for t in res["trials"]:
        assert set(t) >= {"params", "state", "value"} and t["state"] == "complete"
    assert res["best"]["params"]["batch_size"] in (32, 64) and res["best"]["value"] == res["trials"][0]["value"]

    code, out, err = run_cli("runs", example, "--json")
    assert code == 0, err
    rows = json.loads(out)["runs"]
    assert [r["id"] for r in rows] == ["run-0001", "run-0002"]
    assert rows[1]["changes"] == "seed 0 → 1" and rows[0]["group"] == rows[1]["group"]

    code, out, _ = run_cli("runs", example)
    assert code == 0 and "run-0002" in out and "seed 0 → 1" in out


def test_repeat_over_seeds_and_splits_compared_with_an_earlier_group(run_cli, tmp_path, tensorflow):
    from nnstudio.cli import main

    assert main(["example", "galaxy-mass", "--out", str(tmp_path)]) == 0
    project = tmp_path / "galaxy-mass.nnproj"
    code, _, err = run_cli("train", project, "--repeat", "2", "--compare", "group-009", "--epochs", "1")
    assert code == 1 and "No group 'group-009'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("train", project, "--repeat", "2", "--primary", "test_rmse", "--epochs", "1")
    assert code == 1 and "never rests on a test figure" in err

    code, out, err = run_cli("train", project, "--repeat", "2", "--epochs", "1")
    assert code == 0, err
    assert "mean ± std of 2 runs · spread over seeds" in out and "test_rmse" in out
    code, out, err = run_cli("train", project, "--repeat", "2", "--epochs", "1", "--resample-splits",
                             "--compare", "group-001", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["spread"] == "seeds_and_splits" and [r["split_seed"] for r in res["runs"]] == [0, 1]
    assert res["summary"]["test_rmse"]["interval"] is not None
    comp = res["comparison"]
    assert (comp["a"], comp["b"], comp["primary_metric"], comp["correction"]) == ("group-001", "group-002",
                                                                                  "val_loss", "holm")
    assert comp["spread_a"] == "seeds" and comp["spread_b"] == "seeds_and_splits"
    assert all(o["better"] is None and o["p_holm"] is not None for o in comp["others"])
    assert any(o["metric"] == "test_rmse" and o["role"] == "test" for o in comp["others"])
