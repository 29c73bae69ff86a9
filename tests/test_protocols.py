"""OPE, supervised (reset) and unsupervised protocols, and the prefetching frame reader."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from siambench.errors import InputError, SiambenchError
from siambench.frames import FrameReader, read_frame
from siambench.protocols import pysot_polygon, run_ope, run_supervised, run_unsupervised
from siambench.regions import axis_aligned
from siambench.trackers.base import Tracker, TrackResult

W, H = 80, 60


@dataclass
class FakeSeq:
    name: str
    groundtruth: np.ndarray
    frames: list = field(default_factory=list)

    def init_box(self) -> np.ndarray:
        return axis_aligned(self.groundtruth[0])


class Oracle(Tracker):
    """Reports the ground-truth box of each frame, except on frames listed in `lose`, where it
    reports a box far from the target. Frames carry their index in pixel (0, 0)."""

    def __init__(self, gt: np.ndarray, lose: set[int] = frozenset()) -> None:
        self.gt = gt
        self.lose = set(lose)
        self.inits: list[tuple[int, np.ndarray]] = []
        self.tracked: list[int] = []

    def init(self, frame, box):
        self.inits.append((int(frame[0, 0, 0]), np.asarray(box, dtype=float)))

    def track(self, frame):
        idx = int(frame[0, 0, 0])
        self.tracked.append(idx)
        if idx in self.lose:
            return TrackResult(np.array([60.0, 45.0, 5.0, 5.0]), 0.1)
        return TrackResult(axis_aligned(self.gt[idx]), 0.9)

    @property
    def model_seconds(self) -> float:
        return 0.001 * (len(self.inits) + len(self.tracked))


def frames_for(n: int) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = np.zeros((H, W, 3), dtype=np.uint8)
        frame[0, 0, 0] = i
        frames.append(frame)
    return frames


def box_gt(n: int) -> np.ndarray:
    """4-value boxes in the left half of the image, drifting slowly."""
    return np.array([[10.0 + i * 0.5, 12.0, 20.0, 16.0] for i in range(n)])


def poly_gt(n: int) -> np.ndarray:
    """Rotated-rectangle polygons (VOT style)."""
    rows = []
    for i in range(n):
        cx, cy = 25.0 + 0.3 * i, 25.0
        rows.append([cx - 12, cy - 2, cx + 2, cy - 10, cx + 12, cy + 2, cx - 2, cy + 10])
    return np.array(rows)


def codes(lines) -> list:
    return [line if isinstance(line, int) else "box" for line in lines]


# ------------------------------------------------------------------ supervised


def test_supervised_codes_follow_pysot():
    n = 20
    gt = poly_gt(n)
    tracker = Oracle(gt, lose={3, 9, 18})
    traj = run_supervised(tracker, FakeSeq("s", gt), frames_for(n))
    # frame 3 fails: 4..7 skipped, re-init at 8; frame 9 fails: 10..13 skipped, init 14;
    # frame 18 fails and the sequence ends before the re-init.
    expected = [1, "box", "box", 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, "box", "box", "box", 2, 0]
    assert codes(traj.lines) == expected
    assert traj.failures == 3
    assert [i for i, _ in tracker.inits] == [0, 8, 14]
    assert tracker.tracked == [1, 2, 3, 9, 15, 16, 17, 18]
    assert traj.tracked_frames == 3 + 8
    for i, line in enumerate(traj.lines):
        if not isinstance(line, int):
            np.testing.assert_array_equal(line, axis_aligned(gt[i]))


def test_supervised_timing_and_scores():
    n = 12
    gt = poly_gt(n)
    calls = []
    traj = run_supervised(Oracle(gt, lose={4}), FakeSeq("s", gt), frames_for(n), sync=lambda: calls.append(1))
    skipped = [i for i, line in enumerate(codes(traj.lines)) if line == 0]
    assert skipped == [5, 6, 7, 8]
    assert np.all(traj.times[skipped] == 0)
    ran = [i for i in range(n) if i not in skipped]
    assert np.all(traj.times[ran] > 0)
    assert len(calls) == len(ran)  # one device sync per tracker call
    assert np.isnan(traj.scores[[0, 4, 9]]).all()  # init, failure, init
    assert traj.scores[1] == pytest.approx(0.9)
    assert traj.model_seconds == pytest.approx(0.001 * len(ran))
    assert traj.wall_seconds >= traj.tracker_seconds


def test_supervised_init_box_from_pysot_polygon_of_a_4_value_box():
    n = 6
    gt = box_gt(n)
    tracker = Oracle(gt, lose={2})
    run_supervised(tracker, FakeSeq("s", gt), frames_for(n))
    # tools/test.py makes [x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y] first, so the init box is
    # [x, y, w, h] (not OPE's [x + 0.5, y + 0.5, w, h])
    np.testing.assert_allclose(tracker.inits[0][1], gt[0])
    np.testing.assert_allclose(pysot_polygon(gt[0]), [10, 12, 10, 27, 29, 27, 29, 12])


def test_supervised_overlap_is_bounded_by_the_image():
    # The target crosses the right border; a prediction overlapping it only outside the image
    # has zero bounded overlap, so it is a failure.
    n = 3
    gt = np.array([[75.0, 20.0, 20.0, 10.0]] * n)

    class Outside(Oracle):
        def track(self, frame):
            self.tracked.append(int(frame[0, 0, 0]))
            return TrackResult(np.array([W + 2.0, 20.0, 10.0, 10.0]), 0.5)

    traj = run_supervised(Outside(gt), FakeSeq("s", gt), frames_for(n))
    assert codes(traj.lines) == [1, 2, 0]


def test_supervised_nan_ground_truth_is_not_judged():
    n = 8
    gt = poly_gt(n)
    gt[3] = np.nan
    traj = run_supervised(Oracle(gt, lose={3}), FakeSeq("s", gt), frames_for(n))
    assert codes(traj.lines)[:5] == [1, "box", "box", "box", "box"]
    assert traj.failures == 0


# ------------------------------------------------------------------ OPE / unsupervised


@pytest.mark.parametrize("runner, protocol", [(run_ope, "ope"), (run_unsupervised, "unsupervised")])
def test_no_reset_protocols(runner, protocol):
    n = 10
    gt = box_gt(n)
    tracker = Oracle(gt, lose={4, 5})
    traj = runner(tracker, FakeSeq("s", gt), frames_for(n))
    assert traj.protocol == protocol
    boxes = traj.boxes
    assert boxes.shape == (n, 4)
    # line 0 is the init box, pysot's [x + 0.5, y + 0.5, w, h] for a 4-value ground truth
    np.testing.assert_allclose(boxes[0], gt[0] + [0.5, 0.5, 0, 0])
    np.testing.assert_allclose(tracker.inits[0][1], boxes[0])
    assert tracker.tracked == list(range(1, n))  # never reset, even after losing the target
    np.testing.assert_allclose(boxes[4], [60, 45, 5, 5])
    assert np.isnan(traj.scores[0]) and traj.scores[1] == pytest.approx(0.9)
    assert traj.failures == 0 and traj.tracked_frames == n


def test_frame_count_must_match_ground_truth():
    gt = box_gt(5)
    with pytest.raises(SiambenchError, match="4 frames read but the ground truth has 5"):
        run_ope(Oracle(gt), FakeSeq("s", gt), frames_for(4))
    with pytest.raises(SiambenchError, match="ground truth has 5"):
        run_supervised(Oracle(gt), FakeSeq("s", gt), frames_for(7))


def test_codes_are_refused_as_boxes():
    gt = poly_gt(8)
    traj = run_supervised(Oracle(gt, lose={2}), FakeSeq("s", gt), frames_for(8))
    with pytest.raises(ValueError):
        _ = traj.boxes


# ------------------------------------------------------------------ frame reader


def write_frames(folder: Path, n: int, grey_at: int | None = None) -> list[Path]:
    paths = []
    for i in range(n):
        path = folder / f"{i + 1:04d}.png"
        if i == grey_at:
            image = np.full((H, W), i, dtype=np.uint8)
        else:
            image = np.zeros((H, W, 3), dtype=np.uint8)
            image[..., 2] = i  # red channel, to check BGR order
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def test_frame_reader_yields_bgr_frames_in_order(tmp_path):
    paths = write_frames(tmp_path, 20, grey_at=5)
    with FrameReader(paths, prefetch=3) as reader:
        frames = list(reader)
    assert len(frames) == 20
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    assert [int(f[0, 0, 2]) for f in frames] == list(range(20))
    assert frames[5][0, 0].tolist() == [5, 5, 5]  # grey expanded to three channels
    assert int(frames[3][0, 0, 0]) == 0


def test_unreadable_frame_is_an_input_error_naming_the_file(tmp_path):
    paths = write_frames(tmp_path, 4)
    paths[2].write_bytes(b"not an image")
    paths.append(tmp_path / "missing.jpg")
    got = []
    with pytest.raises(InputError) as info:
        for frame in FrameReader(paths):
            got.append(frame)
    assert str(paths[2]) in str(info.value)
    assert len(got) == 2
    with pytest.raises(InputError, match="missing.jpg"):
        read_frame(paths[-1])


def test_leaving_early_stops_the_decoding_thread(tmp_path):
    paths = write_frames(tmp_path, 30)
    before = threading.active_count()
    reader = FrameReader(paths, prefetch=2)
    for i, _ in enumerate(reader):
        if i == 3:
            break
    reader.close()
    assert threading.active_count() == before
    with pytest.raises(RuntimeError):
        list(reader)
