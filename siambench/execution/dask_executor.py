"""Jobs on a Dask cluster: each worker process builds the tracker once and keeps it.

``siambench run --executor dask --address tcp://host:8786`` sends jobs to a running Dask
scheduler; without ``--address`` a local cluster of ``--workers`` processes (one thread each)
is started for the run and closed after it. The driver keeps one job (or, with ``--batch``,
one unit of jobs) in flight per worker, longest first, and writes every trajectory it gets back
itself (atomically, through the results store), so the results tree and its ledger have one
writer and no worker needs write access to it.

A worker process keeps the tracker of the last setup it ran (:func:`run_unit`), so the model
is loaded once per worker, not once per sequence; a run on a cluster at ``--address`` frees it
at the end, as the cluster outlives the run. Each task is placed on a worker of its own, and
tasks of one process run one at a time (a lock) whatever ``--nthreads`` the workers have. On
GPU nodes start one worker per GPU with ``dask cuda worker``: it lists each worker's own GPU
first in its ``CUDA_VISIBLE_DEVICES``, so a worker's GPU is ``cuda:0`` inside it, and
``--device auto`` or ``cuda[:N]`` both run there.

Frames and weights are read by the workers from the paths the driver sees, made absolute: on a
multi-node cluster they must be on a file system every node mounts at the same place.

Dask is optional (``pip install 'siambench[dask]'``): it is imported only here, on first use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
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


def _file_stamp(path: Path | None) -> tuple[int, int] | None:
    """Size and modification time: new weights at the same path are another tracker."""
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None  # building the tracker reports the file
    return stat.st_size, stat.st_mtime_ns


def run_unit(setup: TrackerSetup, unit: list[Job]) -> list[tuple[Job, Trajectory]]:
    """Track `unit` in this worker process with `setup`'s tracker, built on first use."""
    with _LOCK:
        key = pickle.dumps((setup, _file_stamp(setup.weights)))
        worker = _BUILT.get(key)
        try:
            if worker is None:
                _BUILT.clear()  # one model per process: the previous run's goes
                worker = _BUILT[key] = make_worker(setup)
            return list(worker.run_stream(unit))
        except BaseException as exc:  # noqa: BLE001 - sent back as a plain, picklable error
            raise portable_error(exc, unit[0] if len(unit) == 1 else None) from None


def release() -> None:
    """Drop this worker process's tracker (and the GPU memory it held)."""
    with _LOCK:
        _BUILT.clear()
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


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
        self.threads = threads or 1  # torch threads in each worker
        # a local cluster: as asked, else the cores shared out; a cluster's own count once connected
        self.workers = workers or max(1, (os.cpu_count() or 1) // self.threads)
        # Inside a worker of `dask cuda worker` its own GPU is listed first: cuda:0. A local
        # cluster's workers see this machine's GPUs as they are.
        self.device = "cuda:0" if address is not None and device.startswith("cuda") else device
        self.batch = batch
        self.precision = precision
        self._described = f"dask ({describe_device(device, batch, precision)})"

    def describe(self) -> str:
        return self._described

    def _client(self, distributed: Any) -> tuple[Any, Any]:
        """A client of the cluster at --address (and None), or of a local cluster (and that
        cluster, for the caller to close)."""
        if self.address is not None:
            try:
                return distributed.Client(self.address, timeout=self.connect_timeout), None
            except (OSError, TimeoutError, ValueError) as exc:
                raise SiambenchError(f"cannot connect to the Dask scheduler at {self.address!r} "
                                     f"(expected tcp://HOST:PORT): {exc}") from None
        # One thread and no memory limit per worker: the tracker's own threads do the work, and a
        # large model must not get its worker restarted. Its logs stay in the workers.
        cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit=0,
                                           silence_logs=logging.CRITICAL)
        try:
            return distributed.Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise

    def run(self, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        if not jobs:
            return
        distributed = import_distributed()
        quiet = _QuietLogs()
        try:
            yield from self._run(distributed, setup, jobs)
        finally:
            quiet.restore()

    def _run(self, distributed: Any, setup: TrackerSetup, jobs: list[Job]) -> Iterator[tuple[Job, Trajectory]]:
        client, cluster = self._client(distributed)
        futures: dict[Any, str] = {}  # in flight -> the worker it runs on
        try:
            workers = list(client.scheduler_info().get("workers", {}))
            if not workers:
                raise SiambenchError(f"the Dask cluster at {self.address} has no workers")
            self.workers = len(workers)
            self._described = (f"dask: {len(workers)} worker(s) on "
                               f"{describe_device(self.device, self.batch, self.precision)}")
            setup = setup.for_cluster(self.device, self.batch, self.precision)
            units = job_units([absolute_frames(job) for job in jobs], self.batch)
            yield from _dispatch(distributed, client, setup, units, workers, futures)
        finally:
            with contextlib.suppress(Exception):  # a cluster already gone has nothing to free
                client.cancel(list(futures))
                if self.address is not None:
                    client.run(release)  # the cluster outlives the run; its workers' memory should not
            client.close()
            if cluster is not None:
                cluster.close()


def _dispatch(distributed: Any, client: Any, setup: TrackerSetup, units: list[list[Job]], workers: list[str],
              futures: dict[Any, str]) -> Iterator[tuple[Job, Trajectory]]:
    """Keep one unit in flight on each worker, longest first, until none is left; yield results
    as they come. `futures` holds those in flight (for the caller to cancel)."""
    pending = list(reversed(units))  # pop() takes the longest first
    in_flight = distributed.as_completed()

    def start(worker: str) -> None:
        # Placed on the worker that is free; allowed elsewhere only should that worker be lost
        # (else the task would wait for it for ever). run_unit's lock keeps a worker to one task.
        future = client.submit(run_unit, setup, pending.pop(), pure=False, workers=[worker],
                               allow_other_workers=True)
        futures[future] = worker
        in_flight.add(future)

    for worker in workers[: len(pending)]:
        start(worker)
    for future in in_flight:
        worker = futures.pop(future)
        try:
            finished = future.result()
        except SiambenchError:
            raise
        except Exception as exc:  # a worker lost, a scheduler gone: the finished ones are saved
            raise SiambenchError(f"a Dask task failed ({type(exc).__name__}: {exc}); finished sequences "
                                 "are saved, rerun to resume") from None
        if pending:
            start(worker)
        yield from finished


class _QuietLogs:
    """distributed's loggers in this process held at ERROR (it reports closing clusters and
    cancelled tasks at INFO and WARNING); :meth:`restore` puts the levels back."""

    def __init__(self) -> None:
        self._levels = {}
        for name in ("distributed", "distributed.client", "distributed.scheduler", "distributed.nanny",
                     "distributed.worker", "distributed.core"):
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.ERROR)

    def restore(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
