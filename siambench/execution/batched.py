"""The batched engine: many jobs tracked at once on one device, one network call per step.

The engine keeps up to `batch` jobs in slots. Each step it asks every slot's protocol driver
(:class:`siambench.protocols.ProtocolDriver`, the same rules the sequential path runs) what the
next frame needs: inits and skipped frames are done on the spot, one job at a time; the jobs
that must track give their search crops (SiamFC: one per scale), which are stacked into one
batch and run through backbone, neck and head against the jobs' templates stacked the same
way (:class:`siambench.trackers.base.BatchedTracker`). Each job then post-processes its own
rows. A finished job's slot takes the next job at once, so sequences of different lengths,
resets and repetitions keep the batch full. Crops of different sizes (DaSiamRPN's and SiamDW's
larger search for small targets) go through the network in one call per size.

Frames are decoded ahead by a small pool of threads shared by all slots (:class:`FramePool`,
around :func:`siambench.frames.read_frame`). With ``device_crop`` (the default on CUDA) each
frame is uploaded once, as uint8, and cropped, padded and resized on the device.

Times (what the results' ``*_time.txt`` files and the run summary hold):

- a tracked frame's time is the job's own work on it (cutting its crops, its post-processing)
  plus its share of the batched network call: the call's time divided equally among the jobs
  in it. An init frame's time is that job's init. The times of all frames therefore add up to
  the engine's tracking time, and frames divided by their summed times is the throughput of
  the whole run (the sequential path's "tracker fps" is the same quantity at batch 1);
- ``model_seconds``: the job's inits plus its shares of the network calls;
- ``wall_seconds``: the engine's wall time, frame waits included, shared out among the jobs
  that were in the slots meanwhile, so that over a run they add up to the engine's wall time.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from siambench import ops
from siambench.errors import SiambenchError
from siambench.execution.jobs import Job, JobRunner, TrackerSetup, deterministic_kernels
from siambench.frames import read_frame
from siambench.protocols import INIT_STEP, TRACK_STEP, ProtocolDriver, Trajectory
from siambench.trackers.base import BatchedTracker, can_batch
from siambench.trackers.box_policy import box_policy_of
from siambench.trackers.network import autocast

LOG = logging.getLogger("siambench")

FRAME_THREADS = 2  # decoding threads shared by all slots (OpenCV releases the GIL)
FRAMES_AHEAD = 3  # frames decoded ahead per slot
AUTO_CPU_BATCH = 8  # on the CPU the gain levels off around here (issue 9's probe)
AUTO_MAX_BATCH = 64
SLOT_BYTES = 256 * 2**20  # memory budget per slot for --batch auto (crops, activations, frames)


# --------------------------------------------------------------------------- frames


class FramePool:
    """A few threads decoding frames ahead for every slot; use as a context manager."""

    def __init__(self, threads: int = FRAME_THREADS, ahead: int = FRAMES_AHEAD,
                 device: torch.device | None = None) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="siambench-frames")
        self._ahead = ahead
        self._device = device  # upload each frame there once (device-side crops)

    def __enter__(self) -> FramePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _load(self, path: Path) -> Any:
        frame = read_frame(path)
        return frame if self._device is None else ops.frame_tensor(frame, self._device)

    def open(self, paths: Sequence[str | Path]) -> SlotFrames:
        return SlotFrames(self, [Path(p) for p in paths])


class SlotFrames:
    """One sequence's frames in order, `ahead` of them being decoded at any time."""

    def __init__(self, pool: FramePool, paths: list[Path]) -> None:
        self._pool = pool
        self._paths = collections.deque(paths)
        self._queued: collections.deque = collections.deque()
        self.count = len(paths)
        self._top_up()

    def _top_up(self) -> None:
        while self._paths and len(self._queued) < self._pool._ahead:
            self._queued.append(self._pool._pool.submit(self._pool._load, self._paths.popleft()))

    def next(self) -> Any | None:
        """The next frame, or None at the end."""
        if not self._queued:
            return None
        frame = self._queued.popleft().result()
        self._top_up()
        return frame

    def close(self) -> None:
        for future in self._queued:
            future.cancel()
        self._queued.clear()
        self._paths.clear()


# --------------------------------------------------------------------------- templates and outputs


def stack_tree(trees: Sequence[Any], counts: Sequence[int]) -> Any:
    """Per-job tensors (or tuples / lists of them, batch 1) stacked along the batch, job i's
    repeated counts[i] times (once per crop it contributes)."""
    first = trees[0]
    if isinstance(first, torch.Tensor):
        return torch.cat([t.expand(k, *t.shape[1:]) for t, k in zip(trees, counts, strict=True)])
    if isinstance(first, (tuple, list)):
        parts = [stack_tree([t[i] for t in trees], counts) for i in range(len(first))]
        return type(first)(parts)
    raise SiambenchError(f"cannot stack template state of type {type(first).__name__}")


def slice_tree(tree: Any, start: int, stop: int) -> Any:
    """Rows start:stop of every tensor in `tree`."""
    if isinstance(tree, torch.Tensor):
        return tree[start:stop]
    if isinstance(tree, (tuple, list)):
        return type(tree)(slice_tree(t, start, stop) for t in tree)
    raise SiambenchError(f"cannot split network output of type {type(tree).__name__}")


def batched_forward(network: BatchedTracker, trackers: Sequence[BatchedTracker],
                    crops: Sequence[torch.Tensor]) -> list[Any]:
    """One network call for several jobs: their crops (same size) stacked, each against its
    own template; returns each job's rows of the outputs, in order.

    `network` is the tracker whose model, device and precision run the call (the jobs'
    trackers share it).
    """
    counts = [c.shape[0] for c in crops]
    batch = network.to_input(torch.cat(list(crops)))
    templates = stack_tree([t.template for t in trackers], counts)
    with torch.inference_mode(), autocast(network.precision, network.device):
        outputs = network.forward(templates, batch)
    rows, start = [], 0
    for count in counts:
        rows.append(slice_tree(outputs, start, start + count))
        start += count
    return rows


# --------------------------------------------------------------------------- batch size


def free_memory(device: torch.device) -> int:
    """Bytes free on `device` (the GPU's, or the machine's available memory)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not on this OS
        return AUTO_CPU_BATCH * SLOT_BYTES


def parse_batch(batch: int | str | None) -> int | str:
    """`--batch` checked: a positive number (None: 1), or "auto"."""
    if batch is None:
        return 1
    if batch == "auto":
        return batch
    if isinstance(batch, str):
        try:
            batch = int(batch)
        except ValueError:
            raise SiambenchError(f"--batch takes a number or 'auto', got {batch!r}") from None
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SiambenchError(f"--batch must be at least 1 (or 'auto'), got {batch!r}")
    return batch


def resolve_batch(batch: int | str | None, device: torch.device | str, cores: int | None = None) -> int:
    """`--batch` as a number of slots: None -> 1; "auto" -> see below; a number as given.
    `cores`: the worker's CPU threads (default: the machine's).

    auto: sequential (1) on the CPU with 1 or 2 cores, where batching competes with the
    frame decoding for the same cores and measured no gain for the heavy backbones; otherwise
    as many slots as the free memory holds at :data:`SLOT_BYTES` each, at most
    :data:`AUTO_CPU_BATCH` on the CPU and :data:`AUTO_MAX_BATCH` on a GPU.
    """
    batch = parse_batch(batch)
    device = torch.device(device)
    if batch != "auto":
        return int(batch)
    if cores is None:
        cores = os.cpu_count() or 1
    if device.type == "cpu" and cores <= 2:
        return 1
    cap = AUTO_CPU_BATCH if device.type == "cpu" else AUTO_MAX_BATCH
    return max(1, min(cap, free_memory(device) // SLOT_BYTES))


# --------------------------------------------------------------------------- the engine


@dataclass
class _Slot:
    """One job in flight."""

    job: Job
    tracker: BatchedTracker
    driver: ProtocolDriver
    frames: SlotFrames
    model_start: float
    frame: Any = None  # the frame being tracked
    crops: torch.Tensor | None = None
    own_seconds: float = 0.0  # this frame's crop time so far
    shared_model: float = 0.0  # shares of batched network calls
    wall: float = 0.0


class BatchedEngine:
    """Runs jobs of one tracker and protocol `batch` at a time on the tracker's device.

    `tracker` is a built :class:`BatchedTracker` (its network is shared by all slots);
    `device_crop` crops on the device (default: on CUDA only).
    """

    def __init__(self, tracker: BatchedTracker, protocol: str, batch: int,
                 device_crop: bool | None = None, frame_threads: int = FRAME_THREADS) -> None:
        if batch < 1:
            raise SiambenchError("--batch must be at least 1")
        if protocol == "realtime":
            raise SiambenchError("the batched engine cannot run the realtime protocol (it needs each call's own time)")
        self.tracker = tracker
        self.protocol = protocol
        self.batch = batch
        self.device = torch.device(getattr(tracker, "device", "cpu"))
        self.device_crop = self.device.type == "cuda" if device_crop is None else device_crop
        self.frame_threads = frame_threads
        self._last = 0.0

    # ------------------------------------------------------------------ timing helpers

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _share_wall(self, slots: Iterable[_Slot]) -> None:
        """The wall time since the last call, shared out among `slots`."""
        slots = list(slots)
        now = time.perf_counter()
        if slots:
            for slot in slots:
                slot.wall += (now - self._last) / len(slots)
        self._last = now

    # ------------------------------------------------------------------ slots

    def _open(self, job: Job, pool: FramePool) -> _Slot:
        tracker = self.tracker.spawn()
        driver = ProtocolDriver(self.protocol, job.sequence, box_policy=box_policy_of(tracker))
        frames = pool.open(job.sequence.frames)
        if frames.count > driver.n:
            driver.overran()
        return _Slot(job, tracker, driver, frames, tracker.model_seconds)

    def _advance(self, slot: _Slot) -> bool:
        """Do the slot's inits and skips up to its next tracked frame, and cut its crops.

        False when the job is finished (or its frames ran out).
        """
        while not slot.driver.done:
            frame = slot.frames.next()
            if frame is None:
                return False
            step = slot.driver.next_step()
            if step.kind == INIT_STEP:
                tic = time.perf_counter()
                slot.tracker.init(frame, step.box)
                self._sync()
                slot.driver.initialised(time.perf_counter() - tic, step.box)
            elif step.kind == TRACK_STEP:
                tic = time.perf_counter()
                slot.crops = slot.tracker.search_inputs(frame)
                slot.own_seconds = time.perf_counter() - tic
                slot.frame = frame
                return True
            else:
                slot.driver.skipped()
        return False

    def _close(self, slot: _Slot) -> Trajectory:
        slot.frames.close()
        trajectory = slot.driver.trajectory()
        trajectory.model_seconds = slot.tracker.model_seconds - slot.model_start + slot.shared_model
        trajectory.wall_seconds = slot.wall
        return trajectory

    # ------------------------------------------------------------------ one step

    def _step(self, slots: list[_Slot]) -> None:
        """One batched network call per crop size, then every slot's own post-processing."""
        groups: dict[tuple[int, ...], list[_Slot]] = collections.defaultdict(list)
        for slot in slots:
            groups[tuple(slot.crops.shape[1:])].append(slot)
        for group in groups.values():
            tic = time.perf_counter()
            outputs = batched_forward(self.tracker, [s.tracker for s in group], [s.crops for s in group])
            self._sync()
            share = (time.perf_counter() - tic) / len(group)
            for slot, mine in zip(group, outputs, strict=True):
                tic = time.perf_counter()
                result = slot.tracker.finish(mine, slot.frame)
                own = slot.own_seconds + time.perf_counter() - tic
                slot.driver.tracked(result.box, result.score, slot.frame.shape[:2], own + share)
                slot.shared_model += share
                slot.frame = slot.crops = None

    # ------------------------------------------------------------------ the loop

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Trajectory]]:
        """Track `jobs` (taken lazily, as slots free up); yield each as it finishes."""
        pending = iter(jobs)
        upload = self.device if self.device_crop else None
        # No inference mode around the loop: it would leak into the caller at every yield;
        # the network calls set it themselves.
        with FramePool(self.frame_threads, device=upload) as pool:
            active: list[_Slot] = []
            self._last = time.perf_counter()
            try:
                while True:
                    if active:
                        self._step(active)
                    still: list[_Slot] = []
                    done: list[_Slot] = []
                    for slot in active:
                        (still if self._advance(slot) else done).append(slot)
                    while len(still) < self.batch:
                        job = next(pending, None)
                        if job is None:
                            break
                        slot = self._open(job, pool)
                        (still if self._advance(slot) else done).append(slot)
                    self._share_wall(still + done)
                    for slot in done:
                        trajectory = self._close(slot)
                        yield slot.job, trajectory
                    self._last = time.perf_counter()  # the caller's writing is not tracking
                    active = still
                    if not active and not done:
                        return
            finally:
                for slot in active:
                    slot.frames.close()


class BatchedWorker:
    """A built tracker running its jobs through a :class:`BatchedEngine`.

    Trackers that cannot batch (:func:`siambench.trackers.base.can_batch`: OpenCV's MIL,
    third-party adapters) run one sequence at a time, as without ``--batch``.
    """

    def __init__(self, setup: TrackerSetup) -> None:
        self.runner = JobRunner(setup)  # builds the tracker, sets threads and precision
        self.previous_threads = self.runner.previous_threads
        self.setup = setup
        self.batch = resolve_batch(setup.batch, self.runner.device, setup.threads)
        tracker = self.runner.tracker
        self.batched = self.batch > 1 and can_batch(tracker)
        if self.batch > 1 and not self.batched:
            LOG.warning("tracker %s cannot run batched; it runs one sequence at a time",
                        setup.spec.name)

    def run_stream(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not self.batched:
            yield from self.runner.run_stream(jobs)
            return
        deterministic_kernels(self.runner.device)
        engine = BatchedEngine(self.runner.tracker, self.setup.protocol, self.batch)
        yield from engine.run(jobs)
