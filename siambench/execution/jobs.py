"""Planning a run as independent jobs, and running one job where the tracker lives.

A *job* is one repetition of one sequence for one tracker spec on one dataset: it identifies
itself by ``(spec hash, dataset, sequence, repetition)`` and carries the annotated sequence
(frame paths and ground truth) so that any process can run it. Jobs are planned longest
sequence first: when they are spread over workers, the long ones start early and the short
ones fill the gaps at the end, which keeps the last worker from finishing alone.

:class:`TrackerSetup` is everything a worker needs to build the tracker; :func:`make_worker`
builds it once and then runs job after job: a :class:`JobRunner` one sequence at a time, or,
with ``batch`` above 1, the batched engine (:mod:`siambench.execution.batched`). Every executor
(in-process, process pool, Ray) runs jobs through such a worker, so the trajectories cannot
depend on the executor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from siambench.protocols import RUNNERS, Trajectory
from siambench.trackers.registry import TrackerSpec


@dataclass(frozen=True)
class Job:
    """One repetition of one sequence; `sequence` is the payload, the rest its identity."""

    spec_hash: str
    dataset: str
    sequence_name: str
    repetition: int
    frames: int
    sequence: Any = field(compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.spec_hash, self.dataset, self.sequence_name, self.repetition)


def plan_jobs(spec_hash: str, dataset: str, pending: Iterable[tuple[Any, Iterable[int]]]) -> list[Job]:
    """Jobs for `pending` (sequence, repetitions) pairs, longest sequence first.

    The sort is stable, so sequences of equal length keep the dataset's order, and the
    repetitions of a sequence stay in order.
    """
    jobs = [
        Job(spec_hash, dataset, seq.name, rep, len(seq.groundtruth), seq)
        for seq, reps in pending
        for rep in reps
    ]
    return sorted(jobs, key=lambda job: -job.frames)


@dataclass(frozen=True)
class TrackerSetup:
    """What a worker needs to build the tracker and run jobs (picklable)."""

    spec: TrackerSpec
    protocol: str
    weights: Path | None = None
    random_init: bool = False
    device: str = "cpu"
    threads: int | None = None  # torch intra-op threads in the worker; None: leave as is
    batch: int | str = 1  # jobs tracked at once by one worker, or "auto" (see resolve_batch)
    precision: str = "fp32"  # network precision: fp32, fp16 or bf16 (autocast)

    def on(self, device: str) -> TrackerSetup:
        """The same setup on another device."""
        return dataclasses.replace(self, device=device)

    def running(self, batch: int | str, precision: str) -> TrackerSetup:
        """The same setup with the executor's batch and precision."""
        return dataclasses.replace(self, batch=batch, precision=precision)

    def for_cluster(self, device: str, batch: int | str, precision: str) -> TrackerSetup:
        """The setup a cluster's workers get: the weights by absolute path (their working
        directory is not the driver's; see :func:`absolute_frames`), on their device, with the
        executor's batch and precision."""
        weights = self.weights.absolute() if self.weights is not None else None
        return dataclasses.replace(self.on(device).running(batch, precision), weights=weights)


def limit_threads(threads: int | None) -> tuple[int, int] | None:
    """Cap torch's and OpenCV's thread pools (one busy thread per worker keeps workers apart).

    Returns the previous (torch, OpenCV) counts for :func:`restore_threads`, None if unchanged.
    """
    if threads is None:
        return None
    import cv2
    import torch

    previous = (torch.get_num_threads(), cv2.getNumThreads())
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return previous


def restore_threads(previous: tuple[int, int] | None) -> None:
    if previous is None:
        return
    import cv2
    import torch

    torch.set_num_threads(previous[0])
    cv2.setNumThreads(previous[1])


def deterministic_kernels(device: Any) -> None:
    """On CUDA, deterministic cuDNN kernels, so that two runs on the same frames agree."""
    import torch

    if getattr(device, "type", None) == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


@contextlib.contextmanager
def inference(device: Any) -> Iterator[Any]:
    """torch.inference_mode, and the GPU synchronisation used to time calls honestly."""
    import torch

    sync = None
    deterministic_kernels(device)
    if getattr(device, "type", None) == "cuda":

        def sync() -> None:
            torch.cuda.synchronize(device)

    with torch.inference_mode():
        yield sync


class JobRunner:
    """A built tracker that runs jobs one after the other, inside one process."""

    def __init__(self, setup: TrackerSetup) -> None:
        from siambench.trackers.registry import create_tracker
        from siambench.weights import select_device

        self.previous_threads = limit_threads(setup.threads)
        self.setup = setup
        self.device = select_device(setup.device)
        self.tracker = create_tracker(setup.spec, self.device, setup.weights, setup.random_init)
        set_precision(self.tracker, setup.precision, self.device)
        self._run = RUNNERS[setup.protocol]

    def run(self, job: Job) -> Trajectory:
        """Track the job's sequence once, frames decoded ahead in a thread."""
        from siambench.frames import FrameReader

        with inference(self.device) as sync, FrameReader(job.sequence.frames) as frames:
            return self._run(self.tracker, job.sequence, frames, sync=sync)

    def run_stream(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Trajectory]]:
        """Run `jobs` one after the other (taken lazily); yield each with its trajectory."""
        for job in jobs:
            yield job, self.run(job)


def set_precision(tracker: Any, precision: str, device: Any) -> None:
    """Run `tracker`'s network in `precision`; only network trackers have one to change."""
    if precision == "fp32":
        return
    from siambench.errors import SiambenchError
    from siambench.trackers.network import check_precision

    check_precision(precision, device)
    if not hasattr(tracker, "precision"):
        raise SiambenchError(f"--precision {precision}: tracker {tracker.name!r} has no network to run in it")
    tracker.precision = precision


class Worker(Protocol):
    """A built tracker in one process, running the jobs it is given."""

    previous_threads: tuple[int, int] | None  # for restore_threads

    def run_stream(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Trajectory]]:
        ...


def make_worker(setup: TrackerSetup) -> Worker:
    """The worker for `setup`: the batched engine when its batch resolves above 1."""
    if setup.batch in (1, None):
        return JobRunner(setup)
    from siambench.execution.batched import BatchedWorker

    return BatchedWorker(setup)


class Executor(Protocol):
    """Runs jobs and yields each with its trajectory as it finishes (any order).

    The caller writes the results: executors never touch the results tree, so the ledger has a
    single writer whatever runs the jobs.
    """

    def describe(self) -> str:
        """The device(s) the jobs run on, for the run summary."""
        ...

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        ...


class SerialExecutor:
    """Runs the jobs in this process, in plan order."""

    workers = 1

    def __init__(self, device: str = "cpu", batch: int | str = 1, precision: str = "fp32") -> None:
        self.device = device
        self.batch = batch
        self.precision = precision

    def describe(self) -> str:
        return describe_device(self.device, self.batch, self.precision)

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not jobs:
            return
        worker = make_worker(setup.on(self.device).running(self.batch, self.precision))
        try:
            yield from worker.run_stream(jobs)
        finally:
            # This is the caller's process: leave its thread settings as they were.
            restore_threads(worker.previous_threads)


def describe_device(device: str, batch: int | str = 1, precision: str = "fp32") -> str:
    """`device`, with the batch and precision where they are not the defaults."""
    extra = [f"batch {batch}"] if batch not in (1, None) else []
    extra += [precision] if precision != "fp32" else []
    return f"{device} ({', '.join(extra)})" if extra else device


def default_threads(workers: int) -> int:
    """Torch threads per worker so that the workers together use the machine's cores once."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def portable_error(exc: BaseException, job: Job | None = None) -> Exception:
    """`exc` as a SiambenchError that pickles back to the driver, naming the job it stopped.

    siambench's own errors keep their one-line message; anything else (a bug, a CUDA error)
    is prefixed with its type. The original class is not sent: exceptions with their own
    constructors (InputError) do not unpickle, and the driver only needs to report it.
    """
    from siambench.errors import SiambenchError

    where = f"{job.sequence_name} (repetition {job.repetition}): " if job is not None else ""
    what = str(exc) if isinstance(exc, SiambenchError) else f"{type(exc).__name__}: {exc}"
    return SiambenchError(where + what)


def absolute_frames(job: Job) -> Job:
    """The job with frame paths a worker can open from any working directory (a cluster's)."""
    frames = [Path(p).absolute() for p in job.sequence.frames]
    return dataclasses.replace(job, sequence=dataclasses.replace(job.sequence, frames=frames))


def job_units(jobs: list[Job], batch: int | str) -> list[list[Job]]:
    """Jobs in the units handed to one remote call: single jobs, or with a batch, runs of
    twice the batch (the engine refills its slots within a unit; "auto" counts as 8)."""
    size = 1 if batch in (1, None) else 2 * (batch if isinstance(batch, int) else 8)
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]
