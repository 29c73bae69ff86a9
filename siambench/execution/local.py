"""A pool of local worker processes, each holding one built tracker.

``siambench run --workers N`` starts N processes (``spawn``: safe with CUDA, and the same on
every OS). Each builds the tracker once, then takes jobs from a shared queue, longest first,
and sends each trajectory back; the driver writes the results. With ``--gpus 0,1`` worker *i*
runs on ``cuda:<gpus[i mod len(gpus)]>``.

Workers ignore SIGINT: a Ctrl-C in the terminal reaches the whole process group, and it is
the driver that decides to stop, terminating the workers (jobs in flight are lost and run
again next time). A worker whose driver has died (killed without cleanup) notices that its
parent changed and exits when it next waits for a job.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
from collections.abc import Iterator, Sequence
from typing import Any

from siambench.errors import SiambenchError
from siambench.execution.jobs import Job, TrackerSetup, describe_device, make_worker, portable_error
from siambench.protocols import Trajectory

_POLL_SECONDS = 0.5  # how often the driver checks that its workers are alive


def _queued_jobs(tasks: Any, parent: int, taken: dict[tuple, tuple[int, Job]]) -> Iterator[Job]:
    """The jobs on the shared queue, until the stop mark (or the driver is gone)."""
    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # orphaned: the driver is gone
                return
            continue
        if item is None:
            return
        index, job = item
        taken[job.key] = (index, job)
        yield job


def _worker_main(setup: TrackerSetup, tasks: Any, results: Any, parent: int) -> None:
    """Body of a worker process: build the tracker, then run jobs until told to stop.

    With a batch the worker's engine takes several jobs off the queue at once and takes the
    next one whenever a slot frees up.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = make_worker(setup)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which raises it
        results.put(("error", -1, portable_error(exc)))
        return
    taken: dict[tuple, tuple[int, Job]] = {}  # jobs taken off the queue and not yet sent back
    try:
        for job, trajectory in worker.run_stream(_queued_jobs(tasks, parent, taken)):
            results.put(("done", taken.pop(job.key)[0], trajectory))
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which raises it
        # one sequence at a time the failing job is known; in a batch it is one of several
        (index, job), = taken.values() if len(taken) == 1 else [(-1, None)]
        results.put(("error", index, portable_error(exc, job)))


class LocalExecutor:
    """`workers` local processes; `devices` are handed out to them in turn."""

    def __init__(self, workers: int, devices: Sequence[str] = ("cpu",), batch: int | str = 1,
                 precision: str = "fp32") -> None:
        if workers < 1:
            raise SiambenchError("--workers must be at least 1")
        if not devices:
            raise SiambenchError("no device given for the workers")
        self.workers = workers
        self.devices = [devices[i % len(devices)] for i in range(workers)]
        self.batch = batch
        self.precision = precision

    def describe(self) -> str:
        distinct = describe_device(", ".join(sorted(set(self.devices))), self.batch, self.precision)
        return f"{distinct} ({self.workers} worker processes)"

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not jobs:
            return
        ctx = multiprocessing.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        count = min(self.workers, len(jobs))
        for index, job in enumerate(jobs):
            tasks.put((index, job))
        for _ in range(count):
            tasks.put(None)
        processes = [
            ctx.Process(
                target=_worker_main,
                args=(setup.on(self.devices[i]).running(self.batch, self.precision), tasks, results,
                      os.getpid()),
                name=f"siambench-worker-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        try:
            for process in processes:
                process.start()
            remaining = len(jobs)
            all_gone = False
            while remaining:
                try:
                    kind, index, payload = results.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    # A worker's last result may still be on its way when it exits: give up
                    # only after a further wait finds nothing.
                    if all_gone:
                        raise SiambenchError("every worker exited but jobs are left") from None
                    all_gone = _all_exited(processes)
                    continue
                if kind == "error":
                    raise payload
                remaining -= 1
                yield jobs[index], payload
        finally:
            _stop(processes, (tasks, results))


def _all_exited(processes: list[Any]) -> bool:
    """Whether every worker has exited; raise if one died without reporting.

    A worker dies without a word when it is killed, runs out of memory or crashes in C code.
    """
    for process in processes:
        if process.exitcode not in (None, 0):
            raise SiambenchError(
                f"{process.name} died (exit code {process.exitcode}); finished sequences are "
                "saved, rerun to resume"
            )
    return all(process.exitcode == 0 for process in processes)


def _stop(processes: list[Any], queues: tuple[Any, ...]) -> None:
    """End the workers (at once: jobs still running are abandoned) and release the queues."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    for q in queues:
        # Do not wait for queued items to be flushed to pipes nobody reads any more.
        q.cancel_join_thread()
        q.close()
