"""Jobs on a Dask cluster: each worker process builds the tracker once and keeps it.

``siambench run --executor dask --address tcp://host:8786`` sends jobs to a running Dask
scheduler; without ``--address`` a local cluster of ``--workers`` processes (one thread each)
is started for the run and closed after it. The driver keeps one job (or, with ``--batch``,
one unit of jobs) in flight per worker, longest first, and writes every trajectory it gets back
itself (atomically, through the results store), so the results tree and its ledger have one
writer and no worker needs write access to it.

A worker process keeps the tracker of the last setup it ran (:func:`run_unit`), so the model
is loaded once per worker, not once per sequence. Tasks of one process run one at a time (a
lock), whatever ``--nthreads`` the workers were started with. On GPU nodes start one worker
per GPU (``dask cuda worker``, which sets each one's ``CUDA_VISIBLE_DEVICES``); the default
``--device auto`` then takes the worker's GPU.

Frames and weights are read by the workers from the paths the driver sees, made absolute: on a
multi-node cluster they must be on a file system every node mounts at the same place.

Dask is optional (``pip install 'siambench[dask]'``): it is imported only here, on first use.
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections.abc import Iterator
from typing import Any

from siambench.errors import SiambenchError
from siambench.execution.jobs import (
    Job,
    TrackerSetup,
    Worker,
    absolute_frames,
    describe_device,
    job_units,
    make_worker,
    portable_error,
)
from siambench.protocols import Trajectory

DASK_HINT = "the Dask executor needs Dask's distributed scheduler: pip install 'siambench[dask]'"

# In each worker process: the tracker of the last setup, under the pickled setup's bytes.
_BUILT: dict[bytes, Worker] = {}
_LOCK = threading.Lock()


def run_unit(setup: TrackerSetup, unit: list[Job]) -> list[tuple[Job, Trajectory]]:
    """Track `unit` in this worker process with `setup`'s tracker, built on first use."""
    with _LOCK:
        key = pickle.dumps(setup)
        worker = _BUILT.get(key)
        try:
            if worker is None:
                _BUILT.clear()  # one model per process: the previous run's goes
                worker = _BUILT[key] = make_worker(setup)
            return list(worker.run_stream(unit))
        except BaseException as exc:  # noqa: BLE001 - sent back as a plain, picklable error
            raise portable_error(exc, unit[0] if len(unit) == 1 else None) from None


def import_distributed() -> Any:
    """The distributed module, or a SiambenchError saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise SiambenchError(f"{DASK_HINT} ({exc})") from exc
    return distributed


class DaskExecutor:
    """Runs jobs on the workers of a Dask cluster (a local one of `workers` processes by default)."""

    connect_timeout = "20s"  # for a scheduler at --address to answer

    def __init__(self, address: str | None = None, workers: int | None = None, device: str = "auto",
                 threads: int | None = None, batch: int | str = 1, precision: str = "fp32") -> None:
        if workers is not None and workers < 1:
            raise SiambenchError("--workers must be at least 1")
        if address is not None and workers is not None:
            raise SiambenchError("--workers sizes a local Dask cluster; a cluster at --address has its own workers")
        self.address = address
        self.workers = workers or 1  # the actual number once connected
        self.device = device
        self.threads = threads or 1  # torch threads in each worker
        self.batch = batch
        self.precision = precision
        self._described = f"dask ({describe_device(device, batch, precision)})"

    def describe(self) -> str:
        return self._described

    def _connect(self, distributed: Any) -> tuple[Any, Any]:
        """A client, and the local cluster it runs on (None for a cluster at --address)."""
        if self.address is not None:
            try:
                return distributed.Client(self.address, timeout=self.connect_timeout), None
            except (OSError, TimeoutError) as exc:
                raise SiambenchError(f"cannot connect to the Dask scheduler at {self.address!r}: {exc}") from None
        cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        return distributed.Client(cluster), cluster

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not jobs:
            return
        distributed = import_distributed()
        client, cluster = self._connect(distributed)
        try:
            count = len(client.scheduler_info().get("workers", {}))
            if count == 0:
                raise SiambenchError(f"the Dask cluster at {self.address!r} has no workers")
            self.workers = count
            self._described = f"dask: {count} worker(s) on {describe_device(self.device, self.batch, self.precision)}"
            weights = setup.weights.absolute() if setup.weights is not None else None
            setup = dataclasses.replace(setup, weights=weights, device=self.device, threads=self.threads,
                                        batch=self.batch, precision=self.precision)
            units = job_units([absolute_frames(job) for job in jobs], self.batch)
            yield from self._dispatch(distributed, client, setup, units, count)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    @staticmethod
    def _dispatch(distributed: Any, client: Any, setup: TrackerSetup, units: list[list[Job]],
                  count: int) -> Iterator[tuple[Job, Trajectory]]:
        """Keep one unit in flight per worker, longest first, until none is left; yield results
        as they come."""
        pending = list(reversed(units))  # pop() takes the longest first
        in_flight = distributed.as_completed()
        for _ in range(min(count, len(pending))):
            in_flight.add(client.submit(run_unit, setup, pending.pop(), pure=False))
        for future in in_flight:
            try:
                finished = future.result()
            except SiambenchError:
                raise
            except Exception as exc:  # a worker lost, a scheduler gone: the finished ones are saved
                raise SiambenchError(f"a Dask task failed ({type(exc).__name__}: {exc}); finished sequences "
                                     "are saved, rerun to resume") from None
            if pending:
                in_flight.add(client.submit(run_unit, setup, pending.pop(), pure=False))
            yield from finished
