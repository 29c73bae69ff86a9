"""VOT's realtime experiment: the pacing rule, the lines it writes, and run / eval / gate on it.

The tracker's call times come from a fake clock that the tracker itself advances, so every
expectation here is exact and no test depends on how fast the machine is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from siambench.cli import main
from siambench.datasets.base import Sequence
from siambench.errors import SiambenchError
from siambench.evaluate import evaluate
from siambench.protocols import (
    FAILURE,
    INIT,
    SKIPPED,
    RealtimeClock,
    frame_interval,
    run_realtime,
    run_supervised,
)
from siambench.results import ResultStore, read_vot_trajectory
from siambench.runner import run
from siambench.scores import direction, flatten, load_scores
from siambench.synth import generate
from siambench.trackers.base import Tracker, TrackResult

W, H = 1000, 60
N = 30


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowOracle(Tracker):
    """Reports each frame's ground truth; init takes `init_s` and track `track_s` of fake time.
    Frames carry their index in pixel (0, 0)."""

    def __init__(self, gt: np.ndarray, clock: FakeTime, track_s: float, init_s: float = 0.01) -> None:
        self.gt, self.clock, self.track_s, self.init_s = gt, clock, track_s, init_s
        self.seen: list[int] = []

    def init(self, frame, box):
        self.clock.now += self.init_s

    def track(self, frame):
        self.clock.now += self.track_s
        idx = int(frame[0, 0, 0])
        self.seen.append(idx)
        return TrackResult(np.asarray(self.gt[idx], dtype=float), 0.9)


def frames(n: int = N) -> list[np.ndarray]:
    out = []
    for i in range(n):
        frame = np.zeros((H, W, 3), dtype=np.uint8)
        frame[0, 0, 0] = i
        out.append(frame)
    return out


def sequence(step: float, fps: float | None = 10.0, n: int = N) -> Sequence:
    """A 20-pixel-wide target moving `step` pixels a frame; at 30 a stale box misses it."""
    gt = np.array([[10.0 + step * i, 20.0, 20.0, 16.0] for i in range(n)])
    return Sequence("mover", [], gt, W, H, fps=fps)


def kinds(lines) -> list:
    return [line if isinstance(line, int) else "box" for line in lines]


# ------------------------------------------------------------------------------- the rule


def test_clock_forgives_the_grace_calls_then_lets_frames_pass_while_in_debt():
    clock = RealtimeClock(interval=1.0, grace=3)
    clock.started(0.5)  # a fast init
    for _ in range(3):  # three slow calls forgiven
        clock.ran(2.5)
        assert not clock.passes()
    clock.ran(3.5)  # 2.5 intervals of debt: two frames pass by, the third is tracked
    assert [clock.passes() for _ in range(3)] == [True, True, False]
    clock.ran(1.9)  # under two intervals: the debt is forgiven at the next frame (the toolkit's rule)
    assert not clock.passes()
    clock.ran(0.2)
    assert not clock.passes()


def test_a_slow_init_uses_a_grace_call_and_a_new_init_restores_the_grace():
    clock = RealtimeClock(interval=1.0, grace=1)
    clock.started(5.0)  # forgiven: the grace is spent
    assert not clock.passes()
    clock.ran(3.0)
    assert [clock.passes() for _ in range(2)] == [True, False]
    clock.started(5.0)  # a re-initialisation: the grace again
    assert not clock.passes()
    no_grace = RealtimeClock(interval=1.0, grace=0)
    no_grace.started(3.5)
    assert [no_grace.passes() for _ in range(3)] == [True, True, False]


def test_frame_rate_from_the_sequence_or_vot_toolkits_default():
    assert frame_interval(sequence(1.0, fps=10.0)) == pytest.approx(0.1)
    assert frame_interval(sequence(1.0, fps=None)) == pytest.approx(1 / 30)
    with pytest.raises(SiambenchError, match="positive frame interval"):
        RealtimeClock(0.0)


# ------------------------------------------------------------------------------- the protocol


def test_a_tracker_fast_enough_writes_what_the_baseline_writes():
    seq = sequence(30.0)
    clock = FakeTime()
    realtime = run_realtime(SlowOracle(seq.groundtruth, clock, track_s=0.09), seq, frames(), timer=clock)
    baseline = run_supervised(SlowOracle(seq.groundtruth, FakeTime(), track_s=0.09), seq, frames())
    assert kinds(realtime.lines) == kinds(baseline.lines) == [INIT] + ["box"] * (N - 1)
    assert realtime.failures == 0
    assert realtime.times[1:] == pytest.approx([0.09] * (N - 1))


def test_a_tracker_under_twice_too_slow_loses_no_frame():
    seq = sequence(30.0)
    clock = FakeTime()
    traj = run_realtime(SlowOracle(seq.groundtruth, clock, track_s=0.19), seq, frames(), timer=clock)
    assert traj.failures == 0 and traj.tracked_frames == N


def test_a_slow_tracker_fails_on_the_frame_its_stale_box_misses():
    # 2.5 intervals a call: after the 3 forgiven calls, the 4th leaves 1.5 intervals of debt, so
    # the next frame is given the 4th frame's box, which misses a target moving 30 px a frame.
    seq = sequence(30.0)
    clock = FakeTime()
    tracker = SlowOracle(seq.groundtruth, clock, track_s=0.25)
    traj = run_realtime(tracker, seq, frames(), timer=clock)
    cycle = [INIT, "box", "box", "box", "box", FAILURE, SKIPPED, SKIPPED, SKIPPED, SKIPPED]
    assert kinds(traj.lines) == cycle * 3
    assert traj.failures == 3
    assert tracker.seen == [f for start in (0, 10, 20) for f in range(start + 1, start + 5)]
    assert traj.tracked_frames == 15  # 3 inits and 12 tracked frames; the rest never reached the tracker
    assert traj.times[5] == 0 and traj.times[4] == pytest.approx(0.25)


def test_held_frames_repeat_the_last_box_with_no_time():
    seq = sequence(0.5)  # a slow target: the stale box still overlaps it
    clock = FakeTime()
    tracker = SlowOracle(seq.groundtruth, clock, track_s=0.35)  # 3.5 intervals: 2 frames pass by
    traj = run_realtime(tracker, seq, frames(), timer=clock)
    assert traj.failures == 0
    assert tracker.seen[:5] == [1, 2, 3, 4, 7]
    np.testing.assert_allclose(traj.lines[5], seq.groundtruth[4])
    np.testing.assert_allclose(traj.lines[6], seq.groundtruth[4])
    assert traj.times[5] == traj.times[6] == 0
    assert np.isnan(traj.scores[5])
    assert traj.tracked_frames == 1 + len(tracker.seen)
    assert traj.held_frames == N - traj.tracked_frames


# ------------------------------------------------------------------------------- run, eval, gate


class Late(Tracker):
    """A perfect tracker that knows each frame by its pixels (from `table`, frame bytes -> the
    ground-truth box); each track call claims `seconds` on a fake clock the test installs."""

    seconds = 0.0

    def __init__(self, table: dict[bytes, np.ndarray]) -> None:
        self.table = table

    def init(self, frame, box):
        pass

    def track(self, frame):
        _CLOCK.now += Late.seconds
        return TrackResult(self.table[hashlib.sha1(frame.tobytes()).digest()].copy(), 1.0)


_CLOCK = FakeTime()


@pytest.fixture(scope="module")
def vot_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rt")
    generate(root / "demo-vot", layout="vot", sequences=2, frames=40, size=(96, 72))
    return root


@pytest.fixture
def late_registry(isolated_registry, monkeypatch, vot_root):
    from siambench.datasets import load_dataset
    from siambench.frames import read_frame
    from siambench.regions import axis_aligned

    table = {hashlib.sha1(read_frame(path).tobytes()).digest(): axis_aligned(seq.groundtruth[i])
             for seq in load_dataset("demo-vot", root=vot_root) for i, path in enumerate(seq.frames)}
    isolated_registry("late", lambda spec: Late(table))
    import siambench.protocols as protocols

    monkeypatch.setattr(protocols, "perf_counter", _CLOCK)  # the sequential loop's default timer


def test_run_writes_the_realtime_folder_and_eval_scores_it_beside_the_baseline(late_registry, vot_root, tmp_path,
                                                                                monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setattr(Late, "seconds", 0.0)
    run("late", "demo-vot", data_root=vot_root, results_dir=results, progress=False)
    monkeypatch.setattr(Late, "seconds", 0.09)  # 2.7 frame intervals: after the grace, 1 frame in 2 passes it by
    summary = run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol="realtime", progress=False)
    assert summary.protocol == "realtime"
    assert summary.held_frames > 0 and "passed the busy tracker by" in summary.format()
    store = ResultStore(results, "demo-vot", "late")
    for seq in summary.sequences_run:
        traj = read_vot_trajectory(store.vot_path(seq, 1, "realtime"))
        assert traj.counts[0] == 1  # the first line initialises
    scores = evaluate("demo-vot", results, data_root=vot_root)
    overall = scores["trackers"]["late"]["overall"]
    for key in ("eao", "accuracy", "robustness", "realtime_eao", "realtime_accuracy", "realtime_robustness",
                "realtime_failures"):
        assert key in overall, key
    assert "realtime_eao" in overall["curves"]
    # Perfect on every frame it sees, so its losses in realtime are the stale boxes of held frames.
    assert summary.held_frames == 2 * (40 - 1 - 3) // 2
    assert overall["failures"] == 0
    assert overall["realtime_accuracy"] < overall["accuracy"]
    assert overall["realtime_eao"] < overall["eao"]
    # Per tag too, each experiment keeps its own numbers (frame counts included).
    tagged = [values for values in overall["tags"].values() if "realtime_accuracy" in values]
    assert tagged
    for values in tagged:
        assert values["realtime_frames"] == values["frames"]
    # Both experiments' lines count for completeness; the sequences are those both scored.
    assert overall["frames"] == 2 * 2 * 40
    assert overall["sequences_scored"] == 2
    seq = next(iter(scores["trackers"]["late"]["sequences"].values()))
    assert {"accuracy", "realtime_accuracy", "realtime_failures"} <= set(seq)


def test_realtime_resumes_and_is_refused_batched(late_registry, vot_root, tmp_path):
    results = tmp_path / "results"
    run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol="realtime", progress=False)
    again = run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol="realtime", progress=False)
    assert again.sequences_run == [] and len(again.sequences_skipped) == 2
    with pytest.raises(SiambenchError, match="--batch does not apply to the realtime protocol"):
        run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol="realtime", batch=4,
            progress=False, force=True)


def test_realtime_metrics_are_gated_in_the_right_direction(late_registry, vot_root, tmp_path, monkeypatch, capsys):
    assert direction("realtime_robustness") == direction("robustness") == -1
    assert direction("realtime_failures") == -1 and direction("realtime_eao") == 1
    results = tmp_path / "results"
    monkeypatch.setattr(Late, "seconds", 0.0)  # fast: the realtime lines are the baseline's
    for protocol in ("supervised", "realtime"):
        run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol=protocol, progress=False)
    out = tmp_path / "scores.json"
    main(["eval", "--dataset", "demo-vot", "--data-root", str(vot_root), "--results-dir", str(results),
          "--json", str(out)])
    assert "Realtime EAO" in capsys.readouterr().out
    entries = {e.metric for e in flatten(load_scores([out]))}
    assert {"realtime_eao", "realtime_accuracy", "realtime_robustness"} <= entries
    assert not any(m.startswith("realtime_") and m.endswith(("length", "repetitions")) for m in entries)
    overall = json.loads(out.read_text())["trackers"]["late"]["overall"]
    for metric in ("eao", "accuracy", "robustness", "failures"):
        assert overall[f"realtime_{metric}"] == overall[metric]


@pytest.mark.parametrize("metric, change", [("realtime_eao", -0.05), ("realtime_robustness", +1.0)])
def test_a_realtime_loss_fails_the_gate(late_registry, vot_root, tmp_path, monkeypatch, capsys, metric, change):
    results, baseline, current = tmp_path / "results", tmp_path / "baseline.json", tmp_path / "current.json"
    for protocol in ("supervised", "realtime"):
        run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol=protocol, progress=False)
    main(["eval", "--dataset", "demo-vot", "--data-root", str(vot_root), "--results-dir", str(results),
          "--json", str(current)])
    main(["gate", "--baseline", str(baseline), "--scores", str(current), "--update"])
    assert metric in baseline.read_text()
    data = json.loads(current.read_text())
    data["trackers"]["late"]["overall"][metric] += change  # worse in the metric's own direction
    current.write_text(json.dumps(data))
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["gate", "--baseline", str(baseline), "--scores", str(current)])
    assert stop.value.code == 1
    assert metric in capsys.readouterr().out


def test_the_frame_rate_comes_from_a_vot_sequence_metadata_file(vot_root, tmp_path, caplog):
    import shutil

    from siambench.datasets.vot import read_vot_layout

    root = tmp_path / "vot"
    shutil.copytree(vot_root / "demo-vot", root)
    first = sorted(p for p in root.iterdir() if p.is_dir())[0]
    (first / "sequence").write_text("name=x\nfps=25\nformat=default\n")
    rates = {seq.name: seq.fps for seq in read_vot_layout(root)}
    assert rates[first.name] == 25.0
    assert all(rate == 30.0 for name, rate in rates.items() if name != first.name)  # as synth writes it
    (first / "sequence").write_text("fps=fast\nwidth=640.0\n")  # sizes unread: the images are there
    with caplog.at_level("WARNING", "siambench"):
        rates = {seq.name: seq.fps for seq in read_vot_layout(root)}
    assert rates[first.name] is None and "not a positive number" in caplog.text


@pytest.mark.parametrize("ratio, passed", [(1.5, 0), (1.99, 0), (2.5, 1), (3.5, 2), (3.99, 2), (6.2, 5)])
def test_a_call_of_t_lets_ceil_t_over_interval_minus_2_frames_pass(ratio, passed):
    clock = RealtimeClock(interval=0.1, grace=0)
    clock.started(0.0)
    clock.ran(ratio * 0.1)
    count = 0
    while clock.passes():
        count += 1
    assert count == passed  # the README's rule


def test_show_draws_the_experiment_asked_for(late_registry, vot_root, tmp_path, monkeypatch):
    from siambench.errors import InputError
    from siambench.show import show

    results = tmp_path / "results"
    monkeypatch.setattr(Late, "seconds", 0.09)
    for protocol in ("supervised", "realtime"):
        run("late", "demo-vot", data_root=vot_root, results_dir=results, protocol=protocol, progress=False)
    seq = "clutter1"
    written = show(["late"], "demo-vot", seq, results_dir=results, data_root=vot_root, video=False,
                   experiment="realtime")
    assert written["sheet"].name == f"{seq}-realtime.png" and written["sheet"].is_file()
    assert show(["late"], "demo-vot", seq, results_dir=results, data_root=vot_root,
                video=False)["sheet"].name == f"{seq}.png"  # the baseline, as before
    with pytest.raises(InputError, match="no unsupervised result for sequence 'clutter1'"):
        show(["late"], "demo-vot", seq, results_dir=results, data_root=vot_root, video=False,
             experiment="unsupervised")
