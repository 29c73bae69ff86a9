"""The batched engine: equal to the sequential path for every Siamese family, and the same files.

Teacher-forced: every job's box from the batched step (batch 1, 3, 8, SiamFC's scales adding
their crops) within 0.01 px of the sequential ``track`` from the same state. Free-running: whole
runs through ``siambench run``'s API on synthetic demo / demo-vot sequences give the same
failure counts and scores within 0.002, and the same results layout and ledger.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from siambench.datasets import load_dataset
from siambench.errors import SiambenchError
from siambench.evaluate import evaluate
from siambench.execution import TrackerSetup, make_executor, plan_jobs
from siambench.execution.batched import BatchedWorker, batched_forward, parse_batch, resolve_batch
from siambench.frames import read_frame
from siambench.runner import LEDGER_NAME, load_spec, run
from siambench.synth import generate
from siambench.trackers.base import can_batch
from siambench.trackers.registry import create_tracker

torch.set_num_threads(1)

# bench/gpu.sh runs this file on CUDA; CI on the CPU
DEVICE = os.environ.get("SIAMBENCH_TEST_DEVICE", "cpu")
BATCHES = (1, 3, 8)
# (spec, random weights?, teacher-forced steps): the heavy backbones take one step
FAMILIES = [
    ("siamfc-demo", False, 2),
    ("siamfc", True, 1),
    ("siamrpnpp-alex-demo", False, 2),
    ("siamrpnpp-alex", True, 1),
    ("siamrpn", True, 1),
    ("siamrpnpp-mobilev2", True, 1),
    ("siamrpnpp", True, 1),
    ("siamfcplus", True, 1),
    ("siamrpnplus", True, 1),
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("engine-data")
    # three sequences of different lengths: slots refill, resets happen; small enough for CI
    generate(root / "demo-vot", layout="vot", sequences=3, frames=(20, 32), size=(128, 96), seed=5)
    generate(root / "demo", layout="otb", sequences=4, frames=(8, 14), size=(128, 96), seed=6)
    return root


def _starts(data_root: Path, steps: int) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """8 (frames, init box) starts: each sequence from frame 0 and from frame 3."""
    ds = load_dataset("demo", root=data_root)
    starts = []
    for first in (0, 3):
        for seq in ds.sequences:
            frames = [read_frame(p) for p in seq.frames[first : first + steps + 1]]
            box = np.asarray(seq.groundtruth[first], dtype=np.float64)[:4]
            starts.append((frames, box))
    return starts


@pytest.mark.parametrize(("name", "random_init", "steps"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_teacher_forced_batches_equal_sequential(data_root, name, random_init, steps):
    spec = load_spec(name)
    tracker = create_tracker(spec, DEVICE, None if random_init else _package_weights(spec), random_init)
    assert can_batch(tracker)
    starts = _starts(data_root, steps)
    jobs = []
    for frames, box in starts:
        job = tracker.spawn()
        job.init(frames[0], box)
        jobs.append(job)
    for t in range(1, steps + 1):
        frames = [s[0][t] for s in starts]
        # from the same state: shallow copies share it (state is rebound, never mutated)
        sequential = [copy.copy(job).track(f) for job, f in zip(jobs, frames, strict=True)]
        for batch in BATCHES:
            group = [copy.copy(job) for job in jobs[:batch]]
            crops = [g.search_inputs(f) for g, f in zip(group, frames, strict=False)]
            outputs = batched_forward(tracker, group, crops)
            for g, out, f, want in zip(group, outputs, frames, sequential, strict=False):
                got = g.finish(out, f)
                assert np.abs(got.box - want.box).max() < 0.01, (name, batch, t)
        for job, f in zip(jobs, frames, strict=True):
            job.track(f)  # every job moves on along the sequential path


def _package_weights(spec):
    from siambench.weights import resolve_weights

    return resolve_weights(spec, None)


def test_device_crops_in_the_engine(data_root, monkeypatch):
    """With device_crop the engine uploads frames and crops tensors (here CPU tensors).

    Crops equal OpenCV's within a grey level (tests/test_ops.py), which can move a
    free-running tracker's peak by a cell, so whole runs agree in shape, not box for box.
    """
    from siambench.execution.batched import BatchedEngine

    spec = load_spec("siamrpnpp-alex-demo")
    tracker = create_tracker(spec, DEVICE, _package_weights(spec), False)
    ds = load_dataset("demo-vot", root=data_root)
    jobs = plan_jobs(spec.spec_hash(), ds.name, [(s, [1]) for s in ds.sequences[:2]])
    seen = []
    search_inputs = type(tracker).search_inputs
    monkeypatch.setattr(type(tracker), "search_inputs",
                        lambda self, frame: seen.append(type(frame)) or search_inputs(self, frame))
    host = dict(BatchedEngine(tracker, "supervised", 3, device_crop=False).run(jobs))
    assert set(seen) == {np.ndarray}
    seen.clear()
    device = dict(BatchedEngine(tracker, "supervised", 3, device_crop=True).run(jobs))
    assert set(seen) == {torch.Tensor}
    for job in jobs:
        a, b = host[job], device[job]
        assert len(a.lines) == len(b.lines) == job.frames
        assert abs(a.failures - b.failures) <= 1


# ------------------------------------------------------------------ free-running, whole runs


def _scores(results: Path, data_root: Path, dataset: str, tracker: str) -> dict:
    return evaluate(dataset, results_dir=results, data_root=data_root, trackers=[tracker])["trackers"][tracker]


@pytest.fixture(scope="module")
def sequential_vot(data_root, tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("seq-vot")
    run("siamrpnpp-alex-demo", "demo-vot", data_root=data_root, results_dir=results, device=DEVICE,
        progress=False)
    return results


@pytest.mark.parametrize("batch", [3, 8])
def test_free_running_supervised_equals_sequential(data_root, sequential_vot, tmp_path, batch):
    summary = run("siamrpnpp-alex-demo", "demo-vot", data_root=data_root, results_dir=tmp_path,
                  device=DEVICE, progress=False, batch=batch)
    assert f"batch {batch}" in summary.device
    got = _scores(tmp_path, data_root, "demo-vot", "siamrpnpp-alex-demo")
    want = _scores(sequential_vot, data_root, "demo-vot", "siamrpnpp-alex-demo")
    assert got["overall"]["failures"] == want["overall"]["failures"]
    assert abs(got["overall"]["eao"] - want["overall"]["eao"]) <= 0.002
    assert abs(got["overall"]["accuracy"] - want["overall"]["accuracy"]) <= 0.002


def test_free_running_ope_equals_sequential(data_root, tmp_path):
    seq, bat = tmp_path / "seq", tmp_path / "bat"
    for folder, batch in ((seq, None), (bat, 3)):
        run("siamfc-demo", "demo", data_root=data_root, results_dir=folder, device=DEVICE,
            progress=False, batch=batch, sequences=["Clutter1", "Occlusion1", "Rotation1"])
    got = _scores(bat, data_root, "demo", "siamfc-demo")["overall"]
    want = _scores(seq, data_root, "demo", "siamfc-demo")["overall"]
    assert abs(got["auc"] - want["auc"]) <= 0.002


def test_engine_files_and_ledger_have_the_sequential_layout(data_root, sequential_vot, tmp_path):
    run("siamrpnpp-alex-demo", "demo-vot", data_root=data_root, results_dir=tmp_path, device="cpu",
        progress=False, batch=3)
    want_dir = sequential_vot / "demo-vot" / "siamrpnpp-alex-demo"
    got_dir = tmp_path / "demo-vot" / "siamrpnpp-alex-demo"
    files = sorted(p.relative_to(want_dir) for p in want_dir.rglob("*") if p.is_file())
    assert files and sorted(p.relative_to(got_dir) for p in got_dir.rglob("*") if p.is_file()) == files
    for rel in files:
        a, b = (want_dir / rel).read_text(), (got_dir / rel).read_text()
        if rel.name == LEDGER_NAME:
            ledger_a, ledger_b = json.loads(a), json.loads(b)
            assert ledger_a["runs"].keys() == ledger_b["runs"].keys()
            for protocol, seqs in ledger_a["runs"].items():
                assert seqs.keys() == ledger_b["runs"][protocol].keys()
        elif rel.name.endswith("_time.txt"):
            times = [float(v) for v in b.split()]
            assert len(times) == len(a.split()) and sum(times) > 0
        else:
            assert len(b.splitlines()) == len(a.splitlines())
    # rerunning resumes: everything is already complete
    again = run("siamrpnpp-alex-demo", "demo-vot", data_root=data_root, results_dir=tmp_path,
                device="cpu", progress=False, batch=3)
    assert not again.sequences_run and len(again.sequences_skipped) == 3


def test_workers_each_run_an_engine(data_root, sequential_vot, tmp_path):
    run("siamrpnpp-alex-demo", "demo-vot", data_root=data_root, results_dir=tmp_path, device="cpu",
        progress=False, batch=2, workers=2, threads=1)
    got = _scores(tmp_path, data_root, "demo-vot", "siamrpnpp-alex-demo")["overall"]
    want = _scores(sequential_vot, data_root, "demo-vot", "siamrpnpp-alex-demo")["overall"]
    assert got["failures"] == want["failures"]


# ------------------------------------------------------------------ options and fallbacks


def test_trackers_that_cannot_batch_run_sequentially(data_root, caplog):
    spec = load_spec("opencv-mil")
    ds = load_dataset("demo", root=data_root)
    worker = BatchedWorker(TrackerSetup(spec, "ope", None, False, "cpu", batch=4))
    assert not worker.batched and "cannot run batched" in caplog.text
    jobs = plan_jobs(spec.spec_hash(), ds.name, [(ds.sequences[0], [1])])
    [(job, trajectory)] = list(worker.run_stream(jobs))
    assert job is jobs[0] and trajectory.tracked_frames == len(ds.sequences[0].groundtruth)


def test_batch_option_is_parsed_and_auto_follows_the_cores(monkeypatch):
    assert parse_batch(None) == 1 and parse_batch("8") == 8 and parse_batch("auto") == "auto"
    for bad in ("x", 0, "-2"):
        with pytest.raises(SiambenchError, match="--batch"):
            parse_batch(bad)
    assert resolve_batch("auto", "cpu", cores=2) == 1  # does not pay on 1-2 cores
    import siambench.execution.batched as batched

    monkeypatch.setattr(batched, "free_memory", lambda device: 3 * batched.SLOT_BYTES)
    assert resolve_batch("auto", "cpu", cores=8) == 3  # what memory holds
    monkeypatch.setattr(batched, "free_memory", lambda device: 100 * batched.SLOT_BYTES)
    assert resolve_batch("auto", "cpu", cores=8) == batched.AUTO_CPU_BATCH
    assert resolve_batch(5, "cpu", cores=1) == 5


def test_precision_is_checked_and_bf16_runs_on_the_cpu(data_root):
    with pytest.raises(SiambenchError, match="fp16 needs a CUDA"):
        make_executor("local", device="cpu", precision="fp16")
    with pytest.raises(SiambenchError, match="--precision"):
        make_executor("local", device="cpu", precision="fp8")
    assert "bf16" in make_executor("local", device="cpu", batch=2, precision="bf16").describe()
    spec = load_spec("siamrpnpp-alex-demo")
    tracker = create_tracker(spec, DEVICE, _package_weights(spec), False)
    [(frames, box)] = _starts(data_root, 1)[:1]
    full = tracker.spawn()
    full.init(frames[0], box)
    half = tracker.spawn()
    half.precision = "bf16"
    half.init(frames[0], box)
    assert half.template[0].dtype == torch.bfloat16  # autocast really ran
    a, b = full.track(frames[1]), half.track(frames[1])
    assert np.abs(a.box - b.box).max() < 5.0  # close, not equal
