"""`siambench run`: result layouts, resume, force, run keys, determinism, the CLI, real frames."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest

from siambench.cli import main
from siambench.datasets import load_dataset
from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.regions import rect_iou
from siambench.results import ResultStore, read_boxes, read_vot_trajectory
from siambench.runner import LEDGER_NAME, run
from siambench.synth import generate
from siambench.trackers import registry
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.registry import TrackerSpec, register_adapter, register_spec

N_FRAMES = 25


class Still(Tracker):
    """Reports its init box on every frame; optionally interrupts after some track calls."""

    interrupt_after: int | None = None  # set by tests to simulate Ctrl-C
    calls = 0

    def init(self, frame, box):
        self.box = np.asarray(box, dtype=float)

    def track(self, frame):
        Still.calls += 1
        if Still.interrupt_after is not None and Still.calls > Still.interrupt_after:
            raise KeyboardInterrupt
        return TrackResult(self.box.copy(), 1.0)


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setenv("SIAMBENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setattr(Still, "interrupt_after", None)
    monkeypatch.setattr(Still, "calls", 0)
    register_adapter("still")(lambda spec, device, weights, random_init: Still())
    register_spec(TrackerSpec("still", "still"))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Two tiny synthetic sequences in VOT layout (demo-vot) and OTB layout (demo)."""
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo-vot", layout="vot", sequences=2, frames=N_FRAMES, size=(96, 72))
    generate(root / "demo", layout="otb", sequences=2, frames=N_FRAMES, size=(96, 72))
    return root


def ledger(results: Path, dataset: str, tracker: str) -> dict:
    return json.loads((results / dataset / tracker / LEDGER_NAME).read_text())


# ------------------------------------------------------------------ layouts per protocol


def test_vot_defaults_to_supervised_with_repetitions(fake_registry, data_root, tmp_path):
    summary = run("still", "demo-vot", data_root=data_root, results_dir=tmp_path, repetitions=2,
                  device="cpu", progress=False)
    assert summary.protocol == "supervised"
    assert summary.sequences_run == ["occlusion1", "clutter1"]
    store = ResultStore(tmp_path, "demo-vot", "still")
    for seq in summary.sequences_run:
        for rep in (1, 2):
            entries = read_vot_trajectory(store.vot_path(seq, rep))
            assert len(entries) == N_FRAMES
            assert entries[0].tolist() == [1]
        assert len(store.read_times(seq, "baseline")) == N_FRAMES
    assert sorted(ledger(tmp_path, "demo-vot", "still")["runs"]["supervised"]["clutter1"]["repetitions"]) == [1, 2]
    assert summary.frames > 0 and summary.fps > 0
    assert "failures:" in summary.format()


def test_unsupervised_and_ope_layouts(fake_registry, data_root, tmp_path):
    ds = load_dataset("demo-vot", root=data_root)
    run("still", ds, results_dir=tmp_path, protocol="unsupervised", device="cpu", progress=False)
    store = ResultStore(tmp_path, "demo-vot", "still")
    entries = read_vot_trajectory(store.vot_path("occlusion1", 1, "unsupervised"))
    assert len(entries) == N_FRAMES and all(e.size == 4 for e in entries)
    np.testing.assert_allclose(entries[0], ds["occlusion1"].init_box(), atol=1e-4)

    summary = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert summary.protocol == "ope"
    otb = load_dataset("demo", root=data_root)
    boxes = ResultStore(tmp_path, "demo", "still").read_ope("Occlusion1")
    assert boxes.shape == (N_FRAMES, 4)
    np.testing.assert_array_equal(boxes[0], otb["Occlusion1"].groundtruth[0] + [0.5, 0.5, 0, 0])


def test_bad_arguments(fake_registry, data_root, tmp_path):
    with pytest.raises(SiambenchError, match="supervised and realtime protocols only"):
        run("still", "demo", data_root=data_root, results_dir=tmp_path, repetitions=3, progress=False)
    with pytest.raises(SiambenchError, match="unknown protocol"):
        run("still", "demo", data_root=data_root, results_dir=tmp_path, protocol="reset", progress=False)
    with pytest.raises(UnknownNameError, match="nosuch"):
        run("still", "demo", data_root=data_root, results_dir=tmp_path, sequences="Occlusion1,nosuch",
            progress=False)
    with pytest.raises(SiambenchError, match="unknown device"):
        run("still", "demo", data_root=data_root, results_dir=tmp_path, device="gpu", progress=False)


def test_missing_frames_are_reported_before_running(fake_registry, shared_data, tmp_path):
    # The shared VOT2018 holds annotations only.
    with pytest.raises(InputError, match="frame not found"):
        run("still", "vot2018", data_root=shared_data, results_dir=tmp_path, sequences=["ants1"],
            progress=False)
    assert not (tmp_path / "VOT2018" / "still" / "baseline").exists()


# ------------------------------------------------------------------ resume and run keys


def test_interrupted_run_resumes(fake_registry, data_root, tmp_path):
    first_seq, second_seq = load_dataset("demo", root=data_root).names
    Still.interrupt_after = N_FRAMES + 5  # in the middle of the second sequence
    with pytest.raises(KeyboardInterrupt):
        run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    store = ResultStore(tmp_path, "demo", "still")
    assert store.has_complete(first_seq, "ope", N_FRAMES)
    assert not store.ope_path(second_seq).exists()  # nothing half-written
    assert list(ledger(tmp_path, "demo", "still")["runs"]["ope"]) == [first_seq]
    first = store.ope_path(first_seq).read_bytes()

    Still.interrupt_after = None
    summary = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert summary.sequences_run == [second_seq]
    assert summary.sequences_skipped == [first_seq]
    assert store.ope_path(first_seq).read_bytes() == first

    again = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert again.sequences_run == [] and again.frames == 0

    forced = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", force=True,
                 progress=False)
    assert forced.sequences_run == [first_seq, second_seq]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_stop_request_while_recording_waits_for_the_ledger(fake_registry, data_root, tmp_path,
                                                           monkeypatch, sig):
    # The stop arrives just after the result file is written, before the ledger lists it: the
    # worst moment. The job must still be recorded, so that a resume does not redo it.
    first_seq, _ = load_dataset("demo", root=data_root).names
    write_ope = ResultStore.write_ope

    def write_then_signal(self, *args, **kwargs):
        write_ope(self, *args, **kwargs)
        signal.raise_signal(sig)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(ResultStore, "write_ope", write_then_signal)
    previous = signal.signal(signal.SIGTERM, interrupt)  # as `siambench run` sets it up
    try:
        with pytest.raises(KeyboardInterrupt):
            run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(ledger(tmp_path, "demo", "still")["runs"]["ope"]) == [first_seq]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back

    monkeypatch.setattr(ResultStore, "write_ope", write_ope)
    summary = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert summary.sequences_skipped == [first_seq]


def test_incomplete_results_are_redone(fake_registry, data_root, tmp_path):
    run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    path = ResultStore(tmp_path, "demo", "still").ope_path("Clutter1")
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-3]))
    summary = run("still", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert summary.sequences_run == ["Clutter1"]
    assert len(read_boxes(path)) == N_FRAMES


def test_changed_spec_or_weights_redo_everything(fake_registry, data_root, tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"first")
    register_spec(TrackerSpec("still", "still", hyper={"lr": 0.3}, checkpoint="w.pth"))

    def go(**kwargs):
        return run("still", "demo", data_root=data_root, results_dir=tmp_path / "results", device="cpu",
                   progress=False, **kwargs)

    assert len(go(weights=weights).sequences_run) == 2
    assert go(weights=weights).sequences_run == []
    # the same bytes elsewhere are the same weights
    copy = tmp_path / "copy.pth"
    copy.write_bytes(b"first")
    assert go(weights=copy).sequences_run == []
    weights.write_bytes(b"second")
    assert len(go(weights=weights).sequences_run) == 2
    register_spec(TrackerSpec("still", "still", hyper={"lr": 0.4}, checkpoint="w.pth"))
    assert len(go(weights=weights).sequences_run) == 2
    summary = go(random_init=True)
    assert len(summary.sequences_run) == 2
    assert "random weights" in summary.format()
    book = ledger(tmp_path / "results", "demo", "still")
    key = book["runs"]["ope"]["Occlusion1"]["key"]
    assert book["keys"][key]["random_init"] is True
    assert book["keys"][key]["weights"] == "random-init"


def test_tracker_runs_under_inference_mode(fake_registry, data_root, tmp_path):
    import torch

    seen = []

    class Probe(Still):
        def track(self, frame):
            seen.append(torch.is_inference_mode_enabled())
            assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
            return super().track(frame)

    register_adapter("probe")(lambda spec, device, weights, random_init: Probe())
    register_spec(TrackerSpec("probe", "probe"))
    run("probe", "demo", data_root=data_root, results_dir=tmp_path, sequences="Clutter1", device="cpu",
        progress=False)
    assert len(seen) == N_FRAMES - 1 and all(seen)
    assert not torch.is_inference_mode_enabled()


# ------------------------------------------------------------------ CLI


def test_cli_run_prints_speed_and_reports_missing_weights(fake_registry, data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["run", "--tracker", "still", "--dataset", "demo", "--data-root", str(data_root), "--device", "cpu",
          "--no-progress", "--sequences", "Clutter1"])
    out = capsys.readouterr().out
    assert "1 sequence(s) run" in out and "mean speed over" in out
    assert (tmp_path / "results" / "demo" / "still" / "Clutter1.txt").is_file()

    with pytest.raises(SystemExit) as info:
        main(["run", "--tracker", "siamrpnpp", "--dataset", "demo", "--data-root", str(data_root),
              "--no-progress"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "pysot_siamrpn_r50_l234_dwxcorr.pth" in err and "siamrpn_r50_l234_dwxcorr/model.pth" in err


# ------------------------------------------------------------------ real frames


def test_mil_on_real_couple_frames_is_repeatable_and_scored(shared_data, tmp_path):
    if not (shared_data / "OTB100" / "Couple" / "img" / "0001.jpg").is_file():
        pytest.skip("the real Couple frames are not in the shared data")
    runs = []
    for name in ("a", "b"):
        summary = run("opencv-mil", "otb2015", data_root=shared_data, results_dir=tmp_path / name,
                      sequences=["Couple"], device="cpu", progress=False)
        assert summary.frames == 140
        runs.append(tmp_path / name / "OTB100" / "opencv-mil" / "Couple.txt")
    assert runs[0].read_bytes() == runs[1].read_bytes()  # identical trajectories

    boxes = read_boxes(runs[0])
    gt = load_dataset("otb2015", root=shared_data)["Couple"].groundtruth
    assert boxes.shape == (140, 4)
    np.testing.assert_array_equal(boxes[0], gt[0] + [0.5, 0.5, 0, 0])
    # MIL follows the couple for most of the clip: a coordinate mix-up would score near 0
    assert rect_iou(boxes, gt).mean() > 0.3

    evaluate = pytest.importorskip("siambench.evaluate").evaluate
    scores = evaluate(dataset="otb2015", results_dir=tmp_path / "a", data_root=shared_data,
                      trackers=["opencv-mil"])
    overall = scores["trackers"]["opencv-mil"]["overall"]
    assert 0.2 < overall["auc"] < 0.8


def test_an_empty_or_repeated_sequence_list(capsys):
    from cli_run import run_cli

    code, _, err = run_cli(["run", "-t", "opencv-mil", "-d", "demo", "--sequences", ","], capsys)
    assert code == 2 and "names no sequence" in err
    code, _, err = run_cli(["gate", "--baseline", "b.json", "--metric", ""], capsys)
    assert code == 2 and "names no metric" in err
