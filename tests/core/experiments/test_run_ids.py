"""Run ids come from one place, atomically: jobs started at the same time never share one."""
import threading


def test_concurrent_allocations_are_unique_and_reserve_their_folders(project):
    ids, barrier = [], threading.Barrier(8)

    def grab():
        barrier.wait()
        for _ in range(5):
            ids.append(project.allocate_run_id())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(project.run_dir(i).is_dir() for i in ids)
    assert project.allocate_run_id() == "run-0041"      # a reserved folder is never handed out again


def test_an_ensemble_and_a_run_started_together_get_different_ids(tmp_path, project_factory, prepared, tensorflow):
    from nnstudio.core.experiments.ensemble import train_ensemble
    from nnstudio.core.workflow.train import train_project

    project = project_factory(tmp_path, epochs=1)
    results, errors, start = {}, [], threading.Barrier(2)

    def run(name, job):
        try:
            start.wait()
            results[name] = job()
        except Exception as exc:      # surfaced below with the test's own message
            errors.append(exc)

    jobs = [threading.Thread(target=run, args=("ensemble", lambda: train_ensemble(project, k=2, prepared=prepared))),
            threading.Thread(target=run, args=("run", lambda: train_project(project, prepared=prepared)))]
    for t in jobs:
        t.start()
    for t in jobs:
        t.join()
    assert not errors, errors
    ids = [r.id for r in project.runs]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert results["run"].id not in {r.id for r in results["ensemble"].members}
