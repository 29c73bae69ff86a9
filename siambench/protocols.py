"""The three ways of running a tracker over one sequence, as pysot's tools/test.py does them.

* OPE (one-pass evaluation, OTB and the like): initialise on frame 0, track to the end. Entry 0
  is what the tracker's original writes for that frame (its box policy's
  :meth:`~siambench.trackers.box_policy.BoxPolicy.first_line`: pysot its init box, the others
  the ground truth).
* supervised (VOT baseline, "reset"): after every frame the prediction is compared with the
  ground truth (``vot_overlap`` bounded by the image); a zero overlap is a failure, written as
  code 2, and the tracker is initialised again 5 frames later (code 1), the frames in between
  written as code 0.
* unsupervised (VOT, no reset): like OPE, scored by average overlap.

Each function takes frames as an iterable (see :class:`siambench.frames.FrameReader`), so the
caller chooses how they are decoded, and returns a :class:`Trajectory` with per-frame times.
The rules themselves are one step-wise :class:`ProtocolDriver`, which the batched engine
drives too, so the sequential and batched runs cannot differ in them.
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
from siambench.trackers.box_policy import PYSOT_BOXES, BoxPolicy, box_policy_of

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


INIT_STEP, TRACK_STEP, SKIP_STEP = "init", "track", "skip"


@dataclass(frozen=True)
class Step:
    """What a protocol asks of the tracker on one frame: init on `box`, track, or nothing."""

    kind: str
    box: np.ndarray | None = None


class ProtocolDriver:
    """One run of one protocol over one sequence, frame by frame.

    The caller feeds frames in order: :meth:`next_step` says what the tracker must do on the
    next one, and :meth:`initialised`, :meth:`tracked` or :meth:`skipped` report it. Both the
    sequential loop (:func:`run_protocol`) and the batched engine
    (:mod:`siambench.execution.batched`) drive trackers through this class, so the protocols'
    rules (failure at zero overlap, re-initialisation ``reset_delay`` frames later) live here
    only. Every init box is siambench's (:func:`siambench.regions.axis_aligned`); the tracker's
    `box_policy` moves it to where its original starts, and decides the line written for an
    initialised frame.
    """

    def __init__(
        self, protocol: str, seq: Any, reset_delay: int = RESET_DELAY, box_policy: BoxPolicy = PYSOT_BOXES
    ) -> None:
        if protocol not in PROTOCOLS:
            raise SiambenchError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.seq = seq
        self.reset_delay = reset_delay
        self.box_policy = box_policy
        self._gt = np.asarray(seq.groundtruth, dtype=np.float64)
        self.n = len(self._gt)
        self.index = 0  # the frame the next step is for
        self.lines: list[Any] = []
        self.scores = np.full(self.n, np.nan)
        self.times = np.zeros(self.n)
        self.failures = 0
        self.tracked_frames = 0
        self._next_init = 0
        self._region: np.ndarray | None = None  # ground truth of the frame being tracked
        self._overrun = False

    @property
    def done(self) -> bool:
        return self.index >= self.n

    def next_step(self) -> Step:
        """The step for frame ``self.index`` (call once per frame, then report it)."""
        idx = self.index
        if self.protocol != "supervised":
            if idx == 0:
                return Step(INIT_STEP, np.asarray(self.seq.init_box(), dtype=np.float64))
            return Step(TRACK_STEP)
        region = pysot_polygon(self._gt[idx])
        known = bool(np.all(np.isfinite(region)))
        self._region = region if known else None
        if idx == self._next_init:
            if not known:  # an init due on a frame that cannot be judged moves to the next one
                self._next_init += 1
                return Step(SKIP_STEP)
            return Step(INIT_STEP, axis_aligned(region))
        if idx > self._next_init:
            return Step(TRACK_STEP)
        return Step(SKIP_STEP)

    def initialised(self, seconds: float, box: np.ndarray) -> None:
        self.lines.append(INIT if self.protocol == "supervised" else self.box_policy.first_line(box))
        self._record(seconds)

    def tracked(self, box: np.ndarray, score: float, frame_hw: tuple[int, int], seconds: float) -> None:
        box = np.asarray(box, dtype=np.float64)
        if self.protocol == "supervised" and self._region is not None:
            height, width = int(frame_hw[0]), int(frame_hw[1])
            if not vot_overlap(box, self._region, bounds=(width, height)) > 0:
                self.lines.append(FAILURE)
                self.failures += 1
                self._next_init = self.index + self.reset_delay
                self._record(seconds)
                return
        self.lines.append(box)
        self.scores[self.index] = score
        self._record(seconds)

    def skipped(self) -> None:
        self.lines.append(SKIPPED)
        self.index += 1

    def overran(self) -> None:
        """The frame source had a frame beyond the ground truth."""
        self._overrun = True

    def _record(self, seconds: float) -> None:
        self.times[self.index] = seconds
        self.tracked_frames += 1
        self.index += 1

    def trajectory(self) -> Trajectory:
        """The finished run; an error if the frames and the ground truth disagree in number."""
        _check_count(self.index + int(self._overrun), self.n, self.seq)
        return Trajectory(
            protocol=self.protocol,
            lines=self.lines,
            scores=self.scores,
            times=self.times,
            failures=self.failures,
            tracked_frames=self.tracked_frames,
        )


def run_protocol(
    protocol: str,
    tracker: Tracker,
    seq: Any,
    frames: Iterable[np.ndarray],
    sync: Callable[[], None] | None = None,
    reset_delay: int = RESET_DELAY,
) -> Trajectory:
    """Run `tracker` over `frames` under `protocol`, one frame at a time."""
    driver = ProtocolDriver(protocol, seq, reset_delay, box_policy_of(tracker))
    clock = _Clock(tracker, sync)
    for frame in frames:
        if driver.done:
            driver.overran()
            break
        step = driver.next_step()
        if step.kind == INIT_STEP:
            _, seconds = clock.call(tracker.init, frame, step.box)
            driver.initialised(seconds, step.box)
        elif step.kind == TRACK_STEP:
            result, seconds = clock.call(tracker.track, frame)
            driver.tracked(result.box, result.score, frame.shape[:2], seconds)
        else:
            driver.skipped()
    return clock.finish(driver.trajectory())


def run_ope(
    tracker: Tracker, seq: Any, frames: Iterable[np.ndarray], sync: Callable[[], None] | None = None
) -> Trajectory:
    """One pass: init on frame 0 with ``seq.init_box()``, then track every frame."""
    return run_protocol("ope", tracker, seq, frames, sync)


def run_unsupervised(
    tracker: Tracker, seq: Any, frames: Iterable[np.ndarray], sync: Callable[[], None] | None = None
) -> Trajectory:
    """VOT's unsupervised experiment: init on frame 0, never reset."""
    return run_protocol("unsupervised", tracker, seq, frames, sync)


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
    return run_protocol("supervised", tracker, seq, frames, sync, reset_delay)


RUNNERS: dict[str, Callable[..., Trajectory]] = {
    "ope": run_ope,
    "supervised": run_supervised,
    "unsupervised": run_unsupervised,
}
