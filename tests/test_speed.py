"""`siambench speed`: warm-up untimed, frames from memory, every frame timed, both FPS conventions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_run import run_cli

from siambench.errors import InputError
from siambench.synth import generate
from siambench.trackers.base import Tracker, TrackResult


class Sleepy(Tracker):
    """Takes 20 ms on its first 3 frames ever (a warm-up), then 2 ms, or 8 ms on every 4th."""

    calls = 0

    def init(self, frame, box):
        self.box = box

    def track(self, frame):
        Sleepy.calls += 1
        time.sleep(0.02 if Sleepy.calls <= 3 else 0.008 if Sleepy.calls % 4 == 0 else 0.002)
        return TrackResult(self.box, 1.0)


@pytest.fixture
def sleepy(isolated_registry):
    Sleepy.calls = 0
    isolated_registry("sleepy", lambda spec: Sleepy())


@pytest.fixture(scope="module")
def frames_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("speed")
    generate(root / "Clips", layout="otb", sequences=2, frames=6, size=(64, 48))
    return root / "Clips"


def test_speed_times_every_frame_after_the_warm_up(sleepy, frames_root, tmp_path, capsys):
    out = tmp_path / "speed.json"
    # 2 sequences of 5 tracked frames each: 23 frames go round them more than twice
    code, stdout, err = run_cli(["speed", "-t", "sleepy", "-d", str(frames_root), "--frames", "20", "--warmup", "3",
                                 "--json", str(out)], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["frames"] == 20 and report["warmup"] == 3 and Sleepy.calls == 23
    lat = report["latency_ms"]
    assert 1.5 < lat["p50"] < 6 and lat["p99"] >= 7.5 and lat["max"] < 19  # the slow warm-up is not timed
    assert report["fps"] == pytest.approx(20 / report["seconds"])
    assert report["fps_mean_inverse"] > report["fps"]  # fast frames weigh more in got10k's mean
    assert report["environment"]["device"] == "cpu" and "python" in report["environment"]
    assert "fps (frames / total time)" in stdout and "p99" in stdout


def test_speed_needs_the_images(sleepy, tmp_path):
    from siambench.speed import measure_speed

    generate(tmp_path / "Clips", layout="otb", sequences=1, frames=4, size=(64, 48))
    for image in (tmp_path / "Clips").rglob("*.jpg"):
        image.unlink()
    with pytest.raises(InputError, match="frames of Clips/.* are missing"):
        measure_speed("sleepy", str(tmp_path / "Clips"), frames=2, warmup=0)
