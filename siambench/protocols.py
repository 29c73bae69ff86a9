"""The three ways of running a tracker over one sequence, as pysot's tools/test.py does them.

* OPE (one-pass evaluation, OTB and the like): initialise on frame 0, track to the end. Entry 0
  is the init box itself.
* supervised (VOT baseline, "reset"): after every frame the prediction is compared with the
  ground truth (``vot_overlap`` bounded by the image); a zero overlap is a failure, written as
  code 2, and the tracker is initialised again 5 frames later (code 1), the frames in between
  written as code 0.
* unsupervised (VOT, no reset): like OPE, scored by average overlap.

Each function takes frames as an iterable (see :class:`siambench.frames.FrameReader`), so the
caller chooses how they are decoded, and returns a :class:`Trajectory` with per-frame times.
Times cover the tracker call only (pysot starts its clock after the frame is read); `sync`
is called inside the timed region so that GPU work is finished before the clock stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siambench.errors import SiambenchError
from siambench.regions import axis_aligned, vot_overlap
from siambench.trackers.base import Tracker

PROTOCOLS = ("ope", "supervised", "unsupervised")

INIT, FAILURE, SKIPPED = 1, 2, 0  # VOT trajectory codes
RESET_DELAY = 5  # frames from a failure to the re-initialisation (pysot: idx + 5)


@dataclass
class Trajectory:
    """One run of a tracker over one sequence."""

    protocol: str
    lines: list[Any]  # per frame: a (4,) box, or an int code (supervised only)
    scores: np.ndarray  # per frame; NaN on init and skipped frames
    times: np.ndarray  # per frame: seconds in the tracker call, 0 where it was not called
    failures: int = 0
    model_seconds: float = 0.0  # network time reported by the tracker over the run
    wall_seconds: float = 0.0  # the whole loop, waiting for frames included
    tracked_frames: int = field(default=0)  # frames on which init() or track() ran

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) boxes; only for protocols without codes."""
        if any(isinstance(line, int) for line in self.lines):
            raise ValueError("a supervised trajectory holds codes; use .lines")
        return np.asarray(self.lines, dtype=np.float64).reshape(-1, 4)

    @property
    def tracker_seconds(self) -> float:
        return float(np.sum(self.times))


def pysot_polygon(region: np.ndarray) -> np.ndarray:
    """Ground truth as the polygon tools/test.py compares with in the supervised protocol.

    pysot turns a 4-value box into [x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y] (inclusive pixel
    corners) before deriving the init box and the overlap; polygons pass unchanged.
    """
    r = np.asarray(region, dtype=np.float64).ravel()
    if r.size != 4:
        return r
    x, y, w, h = r
    return np.array([x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y])


class _Clock:
    """Times tracker calls, finishing device work first."""

    def __init__(self, tracker: Tracker, sync: Callable[[], None] | None) -> None:
        self._tracker = tracker
        self._sync = sync
        self._model_start = tracker.model_seconds
        self._start = time.perf_counter()

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        tic = time.perf_counter()
        result = fn(*args)
        if self._sync is not None:
            self._sync()
        return result, time.perf_counter() - tic

    def finish(self, trajectory: Trajectory) -> Trajectory:
        trajectory.wall_seconds = time.perf_counter() - self._start
        trajectory.model_seconds = self._tracker.model_seconds - self._model_start
        return trajectory


def _check_count(seen: int, expected: int, seq: Any) -> None:
    if seen != expected:
        raise SiambenchError(
            f"sequence {seq.name!r}: {seen} frames read but the ground truth has {expected} rows"
        )


def run_ope(
    tracker: Tracker, seq: Any, frames: Iterable[np.ndarray], sync: Callable[[], None] | None = None
) -> Trajectory:
    """One pass: init on frame 0 with ``seq.init_box()``, then track every frame."""
    return _run_no_reset(tracker, seq, frames, sync, "ope")


def run_unsupervised(
    tracker: Tracker, seq: Any, frames: Iterable[np.ndarray], sync: Callable[[], None] | None = None
) -> Trajectory:
    """VOT's unsupervised experiment: init on frame 0, never reset."""
    return _run_no_reset(tracker, seq, frames, sync, "unsupervised")


def _run_no_reset(tracker, seq, frames, sync, protocol: str) -> Trajectory:
    n = len(seq.groundtruth)
    lines: list[Any] = []
    scores = np.full(n, np.nan)
    times = np.zeros(n)
    clock = _Clock(tracker, sync)
    idx = -1
    for idx, frame in enumerate(frames):
        if idx >= n:
            break
        if idx == 0:
            box = np.asarray(seq.init_box(), dtype=np.float64)
            _, times[0] = clock.call(tracker.init, frame, box)
            lines.append(box)
        else:
            result, times[idx] = clock.call(tracker.track, frame)
            lines.append(np.asarray(result.box, dtype=np.float64))
            scores[idx] = result.score
    _check_count(idx + 1, n, seq)
    return clock.finish(
        Trajectory(protocol=protocol, lines=lines, scores=scores, times=times, tracked_frames=n)
    )


def run_supervised(
    tracker: Tracker,
    seq: Any,
    frames: Iterable[np.ndarray],
    sync: Callable[[], None] | None = None,
    reset_delay: int = RESET_DELAY,
) -> Trajectory:
    """VOT baseline with resets, entry for entry as pysot's tools/test.py writes it.

    Frame `k` where the tracker is (re)initialised gets code 1; a tracked frame whose box has
    zero overlap with the ground truth (pysot's ``vot_overlap`` bounded by the image size) gets
    code 2 and schedules the next init at ``k + reset_delay``; the frames in between get code 0.
    Every init box, frame 0 included, comes from the ground truth polygon of that frame.

    Departure from pysot, which has no such frames in VOT2016-2019: a ground-truth region with
    a NaN cannot be judged, so the prediction is kept there; and an init due on such a frame
    moves to the next frame (the frame gets code 0).
    """
    gt = np.asarray(seq.groundtruth, dtype=np.float64)
    n = len(gt)
    lines: list[Any] = []
    scores = np.full(n, np.nan)
    times = np.zeros(n)
    failures = 0
    tracked = 0
    next_init = 0
    clock = _Clock(tracker, sync)
    idx = -1
    for idx, frame in enumerate(frames):
        if idx >= n:
            break
        region = pysot_polygon(gt[idx])
        known = bool(np.all(np.isfinite(region)))
        if idx == next_init:
            if not known:
                lines.append(SKIPPED)
                next_init += 1
                continue
            _, times[idx] = clock.call(tracker.init, frame, axis_aligned(region))
            lines.append(INIT)
            tracked += 1
        elif idx > next_init:
            result, times[idx] = clock.call(tracker.track, frame)
            tracked += 1
            box = np.asarray(result.box, dtype=np.float64)
            height, width = frame.shape[:2]
            if known and not vot_overlap(box, region, bounds=(width, height)) > 0:
                lines.append(FAILURE)
                failures += 1
                next_init = idx + reset_delay
            else:
                lines.append(box)
                scores[idx] = result.score
        else:
            lines.append(SKIPPED)
    _check_count(idx + 1, n, seq)
    return clock.finish(
        Trajectory(
            protocol="supervised",
            lines=lines,
            scores=scores,
            times=times,
            failures=failures,
            tracked_frames=tracked,
        )
    )


RUNNERS: dict[str, Callable[..., Trajectory]] = {
    "ope": run_ope,
    "supervised": run_supervised,
    "unsupervised": run_unsupervised,
}
