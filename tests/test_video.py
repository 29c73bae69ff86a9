"""`siambench track`: a tracker on a video file, boxes and an annotated video out, on real and made-up video."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from siambench.cli import main  # noqa: E402
from siambench.errors import InputError, SiambenchError  # noqa: E402
from siambench.regions import axis_aligned, rect_iou  # noqa: E402
from siambench.results import read_boxes  # noqa: E402
from siambench.trackers.base import Tracker, TrackResult  # noqa: E402
from siambench.video import parse_box, track_video  # noqa: E402

N = 12


class Follow(Tracker):
    """Finds the bright square of the made-up video; raises KeyboardInterrupt after `stop_after` calls."""

    stop_after: int | None = None  # then KeyboardInterrupt, as outside the main thread
    signal_at: int | None = None  # a real Ctrl-C (SIGINT) during this call

    def init(self, frame, box):
        self.calls = 0

    def track(self, frame):
        self.calls += 1
        if Follow.stop_after is not None and self.calls > Follow.stop_after:
            raise KeyboardInterrupt
        if self.calls == Follow.signal_at:
            signal.raise_signal(signal.SIGINT)
        ys, xs = np.nonzero(frame[:, :, 1] > 128)
        return TrackResult(np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], float), 1.0)


@pytest.fixture
def follow(isolated_registry, monkeypatch):
    monkeypatch.setattr(Follow, "stop_after", None)
    monkeypatch.setattr(Follow, "signal_at", None)
    isolated_registry("follow", lambda spec: Follow())


@pytest.fixture
def clip(tmp_path) -> Path:
    """A square moving 4 px a frame to the right on a black 96x72 video."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 72))
    for i in range(N):
        frame = np.zeros((72, 96, 3), np.uint8)
        frame[20:36, 10 + 4 * i:26 + 4 * i] = 255
        writer.write(frame)
    writer.release()
    return path


def _frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_a_video_is_tracked_frame_by_frame(follow, clip, tmp_path):
    result = track_video("follow", clip, [10, 20, 16, 16], tmp_path / "out", device="cpu")
    boxes = read_boxes(result.boxes_path)
    assert result.frames == N == len(boxes) and not result.interrupted
    np.testing.assert_allclose(boxes[0], [10, 20, 16, 16])  # the first line is the box it started on
    np.testing.assert_allclose(boxes[1:, 0], 10 + 4 * np.arange(1, N), atol=2)  # JPEG edges blur a pixel
    assert result.video_path == tmp_path / "out" / "clip.follow.mp4"
    assert _frame_count(result.video_path) == N
    assert "clip" in result.format() and "fps" in result.format()


def test_ctrl_c_keeps_what_was_tracked(follow, clip, tmp_path, monkeypatch):
    monkeypatch.setattr(Follow, "stop_after", 4)
    result = track_video("follow", clip, [10, 20, 16, 16], tmp_path, device="cpu")
    assert result.interrupted and result.frames == 5  # the start and 4 tracked frames
    assert len(read_boxes(result.boxes_path)) == 5 and _frame_count(result.video_path) == 5
    assert "stopped by Ctrl-C" in result.format()


@pytest.mark.parametrize("video", [True, False])
def test_a_real_ctrl_c_finishes_the_frame_in_hand_and_keeps_everything(follow, clip, tmp_path, monkeypatch, video):
    monkeypatch.setattr(Follow, "signal_at", 3)
    result = track_video("follow", clip, [10, 20, 16, 16], tmp_path, device="cpu", video=video)
    assert result.interrupted and result.frames == 4  # the start and 3 tracked frames, the 3rd finished
    assert len(read_boxes(result.boxes_path)) == 4
    if video:
        assert _frame_count(result.video_path) == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C is Ctrl-C again


def test_frames_limit_and_no_video(follow, clip, tmp_path):
    result = track_video("follow", clip, [10, 20, 16, 16], tmp_path, device="cpu", max_frames=3, video=False)
    assert result.frames == 3 and result.video_path is None
    assert not list(tmp_path.glob("*.mp4"))


def test_bad_input_is_a_one_line_error(follow, clip, tmp_path, capsys):
    with pytest.raises(InputError, match="video not found"):
        track_video("follow", tmp_path / "nothing.mp4", [1, 1, 5, 5], tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    with pytest.raises(InputError, match="cannot read it as a video"):
        track_video("follow", text, [1, 1, 5, 5], tmp_path)
    with pytest.raises(SiambenchError, match="outside the 96x72 frames"):
        track_video("follow", clip, [200, 10, 5, 5], tmp_path)
    for bad in ("1,2,3", "1,2,0,4", "a,b,c,d", "1,2,nan,4"):
        with pytest.raises(SiambenchError, match="expected x,y,w,h"):
            parse_box(bad)
    capsys.readouterr()
    out = tmp_path / "out"
    for video, box in ((clip, "1,2,3"), (tmp_path / "nothing.mp4", "1,1,5,5"), (text, "1,1,5,5"), (clip, "200,1,5,5")):
        with pytest.raises(SystemExit) as stop:
            main(["track", "--tracker", "follow", "--video", str(video), "--box", box, "--out", str(out)])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("siambench: error:") and err.strip().count("\n") == 0, err
    assert not list(out.glob("*"))  # nothing written, half or whole


def test_the_real_bag_video_is_followed_by_opencv_mil(shared_data, tmp_path):
    """bag.avi is VOT2018's `bag`: MIL started on its first ground-truth box stays on the bag."""
    groundtruth = json.loads((shared_data / "VOT2018" / "VOT2018.json").read_text())["bag"]["gt_rect"]
    truth = np.array([axis_aligned(np.array(region)) for region in groundtruth])
    result = track_video("opencv-mil", shared_data / "bag.avi", truth[0], tmp_path, device="cpu")
    boxes = read_boxes(result.boxes_path)
    assert result.frames == len(truth) == 196
    overlap = rect_iou(boxes, truth)
    assert overlap[:30].min() > 0.25 and overlap.mean() > 0.25
    assert _frame_count(result.video_path) == 196
