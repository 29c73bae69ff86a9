"""Jobs on a Ray cluster: one actor per GPU (or per worker on CPUs), each holding the model.

``siambench run --executor ray [--address ADDR]`` connects to a running cluster (``auto``, or
``ray://host:10001``), or starts a local Ray instance when no address is given and none is
running. Ray places the actors (``num_gpus=1`` each when the cluster has GPUs and the device
allows them); the driver hands each idle actor the next job, longest first, and writes every
trajectory it gets back itself (atomically, through the results store), so the results tree
and its ledger have one writer and no node needs write access to it.

Frames and weights are read by the actors from the paths the driver sees, made absolute: on a
multi-node cluster they must be on a file system every node mounts at the same place.

Ray is optional (``pip install 'siambench[ray]'``): it is imported only here, on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from siambench.errors import SiambenchError
from siambench.execution.jobs import (
    Job,
    TrackerSetup,
    absolute_frames,
    describe_device,
    job_units,
    make_worker,
    portable_error,
)
from siambench.protocols import Trajectory

RAY_HINT = "the Ray executor needs Ray: pip install 'siambench[ray]' (or pip install ray)"


def import_ray() -> Any:
    """The ray module, or a SiambenchError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise SiambenchError(f"{RAY_HINT} ({exc})") from exc
    return ray


def connect(ray: Any, address: str | None) -> bool:
    """Join `address` (or start a local instance); True when this call started the session."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
    except ConnectionError as exc:
        raise SiambenchError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    return True


class _JobActor:
    """A Ray actor: a worker (one sequence at a time, or a batched engine) in one Ray process."""

    def __init__(self, setup: TrackerSetup) -> None:
        self._worker = make_worker(setup)

    def run(self, jobs: list[Job]) -> list[tuple[Job, Trajectory]]:
        """Track `jobs` (one, or a batch's worth) and send them back together."""
        try:
            return list(self._worker.run_stream(jobs))
        except BaseException as exc:  # noqa: BLE001 - sent back as a plain, picklable error
            raise portable_error(exc, jobs[0] if len(jobs) == 1 else None) from None


class RayExecutor:
    """Runs jobs on Ray actors; `workers` actors, or one per GPU of the cluster by default."""

    def __init__(self, address: str | None = None, workers: int | None = None, device: str = "auto",
                 threads: int | None = None, batch: int | str = 1, precision: str = "fp32") -> None:
        if workers is not None and workers < 1:
            raise SiambenchError("--workers must be at least 1")
        self.address = address
        self._requested = workers
        self.workers = workers or 1  # the actual number once the actors are placed
        self.device = device
        self.threads = threads or 1  # one busy thread per actor unless asked otherwise
        self.batch = batch
        self.precision = precision
        self._described = f"ray ({describe_device(device, batch, precision)})"

    def describe(self) -> str:
        return self._described

    def _placement(self, ray: Any) -> tuple[int, str, float]:
        """Number of actors, their device, and the GPUs each asks for."""
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cpus = max(1, int(resources.get("CPU", 1)))
        wants_gpu = self.device == "auto" or self.device.startswith("cuda")
        if self.device.startswith("cuda") and gpus == 0:
            raise SiambenchError(f"device {self.device!r} requested but the Ray cluster has no GPU")
        if wants_gpu and gpus > 0:
            # Ray sets CUDA_VISIBLE_DEVICES per actor: its GPU is always cuda:0 inside it.
            return self._requested or gpus, "cuda:0", 1.0
        return self._requested or max(1, cpus // self.threads), "cpu", 0.0

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not jobs:
            return
        ray = import_ray()
        started = connect(ray, self.address)
        actors: list[Any] = []
        try:
            count, device, gpus = self._placement(ray)
            count = min(count, len(jobs))
            self.workers = count
            where = describe_device(device if gpus == 0 else "one GPU each", self.batch, self.precision)
            self._described = f"ray: {count} actor(s) on {where}"
            actor_class = ray.remote(num_cpus=self.threads, num_gpus=gpus)(_JobActor)
            setup = setup.for_cluster(device, self.batch, self.precision)
            actors = [actor_class.remote(setup) for _ in range(count)]
            units = job_units([absolute_frames(job) for job in jobs], self.batch)
            yield from self._dispatch(ray, actors, units)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started:
                ray.shutdown()

    @staticmethod
    def _dispatch(ray: Any, actors: list[Any], units: list[list[Job]]) -> Iterator[tuple[Job, Trajectory]]:
        """Keep every actor busy with one unit of jobs until none is left; yield results as
        they come."""
        pending = list(reversed(units))  # pop() takes the longest first
        running: dict[Any, tuple[Any, list[Job]]] = {}
        for actor in actors:
            if pending:
                unit = pending.pop()
                running[actor.run.remote(unit)] = (actor, unit)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            actor, unit = running.pop(done[0])
            try:
                finished = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                raise SiambenchError(str(cause) if cause is not None else str(exc)) from None
            except ray.exceptions.RayActorError as exc:
                names = ", ".join(job.sequence_name for job in unit)
                raise SiambenchError(
                    f"a Ray actor died while running {names}: {exc}; finished "
                    "sequences are saved, rerun to resume"
                ) from None
            if pending:
                nxt = pending.pop()
                running[actor.run.remote(nxt)] = (actor, nxt)
            yield from finished
