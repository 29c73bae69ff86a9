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
* realtime (VOT2017-2019's realtime experiment): supervised, with the frames arriving at the
  sequence's frame rate as vot-toolkit's ``RealtimeTrackerRuntime`` simulates it: a tracker
  call that takes longer than a frame's interval makes the following frames pass it by, each
  given the last reported box, until the time it overran is used up (see :class:`RealtimeClock`).

Each function takes frames as an iterable (see :class:`siambench.frames.FrameReader`), so the
caller chooses how they are decoded, and returns a :class:`Trajectory` with per-frame times.
The rules themselves are one step-wise :class:`ProtocolDriver`, which the batched engine
drives too, so the sequential and batched runs cannot differ in them.
Times cover the tracker call only (pysot starts its clock after the frame is read); `sync`
is called inside the timed region so that GPU work is finished before the clock stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np

from siambench.errors import SiambenchError
from siambench.regions import axis_aligned, vot_overlap
from siambench.trackers.base import Tracker
from siambench.trackers.box_policy import PYSOT_BOXES, BoxPolicy, box_policy_of

PROTOCOLS = ("ope", "supervised", "unsupervised", "realtime")
RESET_PROTOCOLS = ("supervised", "realtime")  # failures, codes and re-initialisation

INIT, FAILURE, SKIPPED = 1, 2, 0  # VOT trajectory codes
RESET_DELAY = 5  # frames from a failure to the re-initialisation (pysot: idx + 5)
REALTIME_GRACE = 3  # overrunning calls forgiven after each init (VOT2017-2019 stacks: grace 3)
DEFAULT_FPS = 30.0  # vot-toolkit's frame rate for a sequence whose metadata gives none


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
    held_frames: int = 0  # realtime: frames that passed the busy tracker by

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

    def __init__(self, tracker: Tracker, sync: Callable[[], None] | None,
                 timer: Callable[[], float] | None = None) -> None:
        self._tracker = tracker
        self._sync = sync
        self._timer = timer or perf_counter
        self._model_start = tracker.model_seconds
        self._start = self._timer()

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        tic = self._timer()
        result = fn(*args)
        if self._sync is not None:
            self._sync()
        return result, self._timer() - tic

    def finish(self, trajectory: Trajectory) -> Trajectory:
        trajectory.wall_seconds = self._timer() - self._start
        trajectory.model_seconds = self._tracker.model_seconds - self._model_start
        return trajectory


def _check_count(seen: int, expected: int, seq: Any) -> None:
    if seen != expected:
        raise SiambenchError(
            f"sequence {seq.name!r}: {seen} frames read but the ground truth has {expected} rows"
        )


INIT_STEP, TRACK_STEP, SKIP_STEP, HOLD_STEP = "init", "track", "skip", "hold"


@dataclass(frozen=True)
class Step:
    """What a protocol asks of the tracker on one frame: init on `box`, track, or nothing
    (skip: the frame waits for a re-initialisation; hold: the realtime experiment's tracker
    is still busy, so its last box stands for the frame)."""

    kind: str
    box: np.ndarray | None = None


class RealtimeClock:
    """Which frames a tracker sees when they arrive every `interval` seconds: the rule of
    vot-toolkit's ``RealtimeTrackerRuntime``, fed with the measured time of each call.

    After each initialisation the first `grace` calls that overrun the interval are forgiven.
    After that, a call taking ``t > interval`` leaves a debt of ``t - interval``; while the debt
    is above one interval the next frame passes the tracker by (the debt drops by an interval),
    and a debt of one interval or less is forgiven at the next frame. The toolkit's rule, kept
    as it is: a tracker up to twice too slow loses no frames.
    """

    def __init__(self, interval: float, grace: int = REALTIME_GRACE) -> None:
        if not interval > 0:
            raise SiambenchError(f"the realtime experiment needs a positive frame interval, got {interval!r} s")
        self.interval = interval
        self.grace = grace
        self._countdown = grace
        self._debt = 0.0

    def started(self, seconds: float) -> None:
        """An initialisation took `seconds`; the grace starts again."""
        self._countdown = self.grace
        self._debt = 0.0
        self.ran(seconds)

    def ran(self, seconds: float) -> None:
        """A call (init or track) took `seconds`."""
        if seconds > self.interval:
            if self._countdown > 0:
                self._countdown -= 1
                self._debt = 0.0
            else:
                self._debt = seconds - self.interval

    def passes(self) -> bool:
        """Whether the next frame passes the busy tracker by (ask once per tracking frame)."""
        if self._debt > self.interval:
            self._debt -= self.interval
            return True
        self._debt = 0.0
        return False


def frame_interval(seq: Any) -> float:
    """Seconds between frames in the realtime experiment: the sequence's frame rate (its
    ``sequence`` metadata), else vot-toolkit's default of 30 fps."""
    fps = getattr(seq, "fps", None) or DEFAULT_FPS
    return 1.0 / float(fps)


class ProtocolDriver:
    """One run of one protocol over one sequence, frame by frame.

    The caller feeds frames in order: :meth:`next_step` says what the tracker must do on the
    next one, and :meth:`initialised`, :meth:`tracked` or :meth:`skipped` report it. Both the
    sequential loop (:func:`run_protocol`) and the batched engine
    (:mod:`siambench.execution.batched`) drive trackers through this class, so the protocols'
    rules (failure at zero overlap, re-initialisation ``reset_delay`` frames later) live here
    only. Every init box is siambench's (:func:`siambench.regions.axis_aligned`); the tracker's
    `box_policy` moves it to where its original starts, and decides the line written for an
    initialised frame. The realtime protocol adds hold steps (:class:`RealtimeClock`), which
    only the sequential loop drives: a batched call's time is not one tracker's.
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
        self.held_frames = 0
        self._next_init = 0
        self._region: np.ndarray | None = None  # ground truth of the frame being tracked
        self._overrun = False
        self._clock = RealtimeClock(frame_interval(seq)) if protocol == "realtime" else None
        self._last_box: np.ndarray | None = None  # realtime: the box a held frame is given

    @property
    def done(self) -> bool:
        return self.index >= self.n

    def next_step(self) -> Step:
        """The step for frame ``self.index`` (call once per frame, then report it)."""
        idx = self.index
        if self.protocol not in RESET_PROTOCOLS:
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
            if self._clock is not None and self._clock.passes():
                return Step(HOLD_STEP)
            return Step(TRACK_STEP)
        return Step(SKIP_STEP)

    def initialised(self, seconds: float, box: np.ndarray) -> None:
        if self._clock is not None:
            self._clock.started(seconds)
            # Held only where an init overran with no grace left (grace 0): the region given, which
            # a TraX tracker reports back on init.
            self._last_box = np.asarray(box, dtype=np.float64)
        self.lines.append(INIT if self.protocol in RESET_PROTOCOLS else self.box_policy.first_line(box))
        self._record(seconds)

    def tracked(self, box: np.ndarray, score: float, frame_hw: tuple[int, int], seconds: float) -> None:
        box = np.asarray(box, dtype=np.float64)
        if self._clock is not None:
            self._clock.ran(seconds)
            self._last_box = box
        self._judge(box, score, frame_hw)
        self._record(seconds)

    def held(self, frame_hw: tuple[int, int]) -> None:
        """Realtime: the tracker was busy; its last box is judged on this frame (no call, no time)."""
        if self._last_box is None:
            raise RuntimeError("a hold step before any box was reported")
        self._judge(self._last_box, np.nan, frame_hw)
        self.held_frames += 1
        self.index += 1

    def _judge(self, box: np.ndarray, score: float, frame_hw: tuple[int, int]) -> None:
        """The line for the current frame: the box, or a failure where it misses the target."""
        if self.protocol in RESET_PROTOCOLS and self._region is not None:
            height, width = int(frame_hw[0]), int(frame_hw[1])
            if not vot_overlap(box, self._region, bounds=(width, height)) > 0:
                self.lines.append(FAILURE)
                self.failures += 1
                self._next_init = self.index + self.reset_delay
                return
        self.lines.append(box)
        self.scores[self.index] = score

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
            held_frames=self.held_frames,
        )


def run_protocol(
    protocol: str,
    tracker: Tracker,
    seq: Any,
    frames: Iterable[np.ndarray],
    sync: Callable[[], None] | None = None,
    reset_delay: int = RESET_DELAY,
    timer: Callable[[], float] | None = None,
) -> Trajectory:
    """Run `tracker` over `frames` under `protocol`, one frame at a time; `timer` (default
    ``time.perf_counter``) times the calls."""
    driver = ProtocolDriver(protocol, seq, reset_delay, box_policy_of(tracker))
    clock = _Clock(tracker, sync, timer)
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
        elif step.kind == HOLD_STEP:
            driver.held(frame.shape[:2])
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


def run_realtime(
    tracker: Tracker,
    seq: Any,
    frames: Iterable[np.ndarray],
    sync: Callable[[], None] | None = None,
    timer: Callable[[], float] | None = None,
) -> Trajectory:
    """VOT's realtime experiment: the baseline's resets, with frames at the sequence's rate.

    Lines as in :func:`run_supervised`; a frame that passed the busy tracker by gets its last
    box (or code 2 where that box misses the target) and a time of 0. The frame rate is the
    sequence's (:func:`frame_interval`), the grace :data:`REALTIME_GRACE` calls after each init.
    """
    return run_protocol("realtime", tracker, seq, frames, sync, RESET_DELAY, timer)


RUNNERS: dict[str, Callable[..., Trajectory]] = {
    "ope": run_ope,
    "supervised": run_supervised,
    "unsupervised": run_unsupervised,
    "realtime": run_realtime,
}
