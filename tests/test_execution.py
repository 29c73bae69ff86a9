"""Jobs and executors: planning, identical results whatever runs them, real-signal resume, Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from siambench.errors import SiambenchError
from siambench.evaluate import evaluate
from siambench.execution import make_executor, parse_gpus, plan_jobs, worker_threads
from siambench.runner import LEDGER_NAME, run
from siambench.synth import generate

TRACKER = "opencv-mil"  # deterministic (seeded at every init), no weights, fast on tiny frames
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Five short synthetic OTB-layout sequences of different lengths."""
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo", layout="otb", sequences=5, frames=(16, 32), size=(96, 72), seed=7)
    return root


@pytest.fixture(scope="module")
def serial(data_root, tmp_path_factory) -> Path:
    """Results of an uninterrupted in-process run: the reference for every other executor."""
    results = tmp_path_factory.mktemp("serial")
    summary = run(TRACKER, "demo", data_root=data_root, results_dir=results, device="cpu",
                  threads=1, progress=False)
    assert len(summary.sequences_run) == 5 and summary.workers == 1
    return results


def box_files(results: Path) -> dict[str, bytes]:
    folder = results / "demo" / TRACKER
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt")) if not p.name.endswith("_time.txt")}


def scores(results: Path, data_root: Path) -> dict:
    return evaluate("demo", results_dir=results, data_root=data_root, trackers=[TRACKER])["trackers"][TRACKER]


def assert_same_as_serial(results: Path, serial: Path, data_root: Path) -> None:
    expected = box_files(serial)
    assert len(expected) == 5
    assert box_files(results) == expected  # byte for byte
    got, want = scores(results, data_root), scores(serial, data_root)
    def scored(per_sequence: dict) -> dict:  # the speeds differ run to run, the scores may not
        return {seq: {k: v for k, v in values.items() if k != "fps"} for seq, values in per_sequence.items()}

    assert scored(got["sequences"]) == scored(want["sequences"])
    assert got["overall"]["auc"] == want["overall"]["auc"]
    assert got["overall"]["precision"] == want["overall"]["precision"]


# ------------------------------------------------------------------ planning and options


def test_jobs_are_planned_longest_first_with_stable_ties():
    seqs = [SimpleNamespace(name=n, groundtruth=np.zeros((k, 4))) for n, k in
            [("a", 10), ("b", 30), ("c", 10), ("d", 20)]]
    jobs = plan_jobs("h", "vot2018", [(seqs[0], [1, 2]), (seqs[1], [1]), (seqs[2], [3]), (seqs[3], [1, 2])])
    assert [(j.sequence_name, j.repetition) for j in jobs] == [
        ("b", 1), ("d", 1), ("d", 2), ("a", 1), ("a", 2), ("c", 3)]
    assert jobs[0].key == ("h", "vot2018", "b", 1)
    assert jobs[0].frames == 30 and jobs[0].sequence is seqs[1]
    # the payload does not take part in a job's identity
    assert jobs[0] == plan_jobs("h", "vot2018", [(SimpleNamespace(name="b", groundtruth=np.ones((30, 4))), [1])])[0]


def test_executor_options_are_checked():
    with pytest.raises(SiambenchError, match="unknown executor"):
        make_executor("slurm")
    with pytest.raises(SiambenchError, match="--address is for --executor ray"):
        make_executor("local", address="auto")
    with pytest.raises(SiambenchError, match="--gpus is for the local executor; with ray"):
        make_executor("ray", gpus=[0])
    with pytest.raises(SiambenchError, match="does not combine"):
        make_executor("local", gpus=[0], device="cpu")
    with pytest.raises(SiambenchError, match="at least 1"):
        make_executor("local", workers=0)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SiambenchError, match="CUDA is not available"):
            make_executor("local", gpus=[0, 1])
    assert parse_gpus("0, 2") == [0, 2]
    for bad in ("x", "0,0", "", "-1"):
        with pytest.raises(SiambenchError, match="--gpus"):
            parse_gpus(bad)
    assert make_executor("local", device="cpu").describe() == "cpu"
    assert "2 worker processes" in make_executor("local", workers=2, device="cpu").describe()
    assert worker_threads(1, None) is None and worker_threads(3, 2) == 2
    assert worker_threads(64, None) == 1


# ------------------------------------------------------------------ same results, any executor


def test_two_workers_give_the_serial_results_and_resume(serial, data_root, tmp_path):
    summary = run(TRACKER, "demo", data_root=data_root, results_dir=tmp_path, device="cpu",
                  workers=2, threads=1, progress=False)
    assert summary.workers == 2 and "2 worker processes" in summary.device
    assert sorted(summary.sequences_run) == sorted(n[:-4] for n in box_files(serial))
    assert "throughput:" in summary.format()
    assert_same_as_serial(tmp_path, serial, data_root)
    ledger = json.loads((tmp_path / "demo" / TRACKER / LEDGER_NAME).read_text())
    assert len(ledger["runs"]["ope"]) == 5

    again = run(TRACKER, "demo", data_root=data_root, results_dir=tmp_path, device="cpu", workers=2,
                progress=False)
    assert again.sequences_run == [] and len(again.sequences_skipped) == 5


def test_worker_failure_is_reported_and_finished_jobs_are_kept(serial, data_root, tmp_path):
    data = tmp_path / "data"
    generate(data / "demo", layout="otb", sequences=3, frames=(12, 24), size=(96, 72), seed=7)
    shortest = min((data / "demo").glob("*/img"), key=lambda p: len(list(p.iterdir())))
    (shortest / "0005.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SiambenchError, match=rf"{shortest.parent.name} \(repetition 1\).*cannot decode"):
        run(TRACKER, "demo", data_root=data, results_dir=tmp_path / "res", device="cpu", workers=2,
            threads=1, progress=False)
    ledger = json.loads((tmp_path / "res" / "demo" / TRACKER / LEDGER_NAME).read_text())
    # The shortest job runs last: at least one longer sequence finished and was kept.
    assert shortest.parent.name not in ledger["runs"]["ope"]
    assert 1 <= len(ledger["runs"]["ope"]) <= 2


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'siambench[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_actors_give_the_serial_results(local_ray, serial, data_root, tmp_path):
    summary = run(TRACKER, "demo", data_root=data_root, results_dir=tmp_path, device="cpu",
                  executor="ray", progress=False)
    assert summary.device == "ray: 2 actor(s) on cpu" and summary.workers == 2
    assert_same_as_serial(tmp_path, serial, data_root)
    assert local_ray.is_initialized()  # a session the caller started is left running


@pytest.fixture
def dask_distributed():
    return pytest.importorskip("distributed", reason="dask is not installed (pip install 'siambench[dask]')")


def test_dask_workers_give_the_serial_results_and_resume(dask_distributed, serial, data_root, tmp_path):
    summary = run(TRACKER, "demo", data_root=data_root, results_dir=tmp_path, device="cpu", executor="dask",
                  workers=2, progress=False)
    assert summary.device == "dask: 2 worker(s) on cpu" and summary.workers == 2
    assert len(summary.sequences_run) == 5
    assert_same_as_serial(tmp_path, serial, data_root)
    again = run(TRACKER, "demo", data_root=data_root, results_dir=tmp_path, device="cpu", executor="dask",
                workers=2, progress=False)
    assert again.sequences_run == [] and len(again.sequences_skipped) == 5


def test_a_failing_dask_job_is_one_error_naming_its_sequence(dask_distributed, data_root, tmp_path):
    data = tmp_path / "data"
    generate(data / "demo", layout="otb", sequences=2, frames=12, size=(96, 72), seed=7)
    seq = sorted((data / "demo").glob("*/img"))[0]
    (seq / "0005.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(SiambenchError, match=rf"{seq.parent.name} \(repetition 1\).*cannot decode"):
        run(TRACKER, "demo", data_root=data, results_dir=tmp_path / "res", device="cpu", executor="dask",
            workers=2, progress=False)


def test_dask_options_that_do_not_fit(dask_distributed):
    with pytest.raises(SiambenchError, match="--gpus is for the local executor"):
        make_executor("dask", gpus=[0])
    with pytest.raises(SiambenchError, match="a cluster at --address has its own workers"):
        make_executor("dask", address="tcp://127.0.0.1:1", workers=2)
    executor = make_executor("dask", address="tcp://127.0.0.1:1")
    executor.connect_timeout = "1s"
    with pytest.raises(SiambenchError, match="cannot connect to the Dask scheduler"):
        list(executor.run(None, [object()]))


# ------------------------------------------------------------------ a real signal, then resume


def _wait_for_first_result(folder: Path, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(not p.name.endswith("_time.txt") for p in folder.glob("*.txt")):
            return
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            pytest.fail(f"siambench run exited ({process.returncode}) before any result:\n{out}")
        time.sleep(0.01)
    process.kill()
    pytest.fail("no result file appeared")


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGINT, 2), (signal.SIGTERM, 1)],
                         ids=["sigint-2-workers", "sigterm-serial"])
def test_signal_midway_then_rerun_gives_the_uninterrupted_scores(sig, workers, serial, data_root, tmp_path):
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "siambench", "run", "--tracker", TRACKER, "--dataset", "demo",
           "--data-root", str(data_root), "--results-dir", str(results), "--device", "cpu",
           "--no-progress", "--threads", "1", "--workers", str(workers)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=tmp_path, env=env)
    _wait_for_first_result(results / "demo" / TRACKER, process)
    process.send_signal(sig)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, out  # stopped cleanly, workers ended
    assert "rerun the same command to resume" in out

    ledger = json.loads((results / "demo" / TRACKER / LEDGER_NAME).read_text())
    finished = set(ledger["runs"]["ope"])
    assert 1 <= len(finished) < 5, "the signal came too late to interrupt anything"

    # Resuming does not depend on the executor: finish in this process.
    summary = run(TRACKER, "demo", data_root=data_root, results_dir=results, device="cpu",
                  threads=1, progress=False)
    assert set(summary.sequences_skipped) == finished
    assert len(summary.sequences_run) == 5 - len(finished)
    assert_same_as_serial(results, serial, data_root)


def test_a_dask_worker_builds_the_tracker_once_and_again_for_new_weights(dask_distributed, monkeypatch, tmp_path):
    from siambench.execution import TrackerSetup, dask_executor

    built = []

    class Built:
        def run_stream(self, unit):
            return [(job, f"done {job}") for job in unit]

    monkeypatch.setattr(dask_executor, "make_worker", lambda setup: built.append(setup) or Built())
    monkeypatch.setattr(dask_executor, "_BUILT", {})
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"one")
    setup = TrackerSetup(spec=SimpleNamespace(name="t"), protocol="ope", weights=weights)
    assert dask_executor.run_unit(setup, ["a"]) == [("a", "done a")]
    assert dask_executor.run_unit(setup, ["b", "c"]) == [("b", "done b"), ("c", "done c")]
    assert len(built) == 1
    weights.write_bytes(b"other weights")  # the same path, another file: another tracker
    dask_executor.run_unit(setup, ["d"])
    assert len(built) == 2
    dask_executor.release()
    dask_executor.run_unit(setup, ["e"])
    assert len(built) == 3
