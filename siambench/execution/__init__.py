"""Running a plan of jobs: in this process, on local worker processes, or on a Ray or Dask cluster.

    executor = make_executor("local", workers=2)            # two processes on the CPU
    executor = make_executor("local", gpus=[0, 1])          # one process per GPU
    executor = make_executor("ray", address="auto")         # one actor per GPU of the cluster
    executor = make_executor("dask", address="tcp://h:8786")  # the workers of a Dask cluster
    executor = make_executor("local", batch=8)              # 8 sequences at once, one engine

Every executor takes the same jobs (:mod:`siambench.execution.jobs`) and yields the same
trajectories; only where and how fast they run differs. The driver writes the results.
With ``batch`` each worker (this process, a worker process, a Ray actor, a Dask worker) runs one batched
engine (:mod:`siambench.execution.batched`) instead of one sequence at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from siambench.errors import SiambenchError
from siambench.execution.jobs import (
    Executor,
    Job,
    JobRunner,
    SerialExecutor,
    TrackerSetup,
    default_threads,
    plan_jobs,
)

EXECUTORS = ("local", "ray", "dask")
CLUSTER_EXECUTORS = ("ray", "dask")  # workers placed by a cluster, not by --gpus

__all__ = [
    "CLUSTER_EXECUTORS",
    "EXECUTORS",
    "Executor",
    "Job",
    "JobRunner",
    "SerialExecutor",
    "TrackerSetup",
    "make_executor",
    "parse_gpus",
    "plan_jobs",
    "worker_threads",
]


def parse_gpus(text: str | Sequence[int] | None) -> list[int] | None:
    """'0,1' -> [0, 1]; None stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return [int(g) for g in text]
    try:
        gpus = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SiambenchError(f"--gpus takes GPU indices separated by commas, e.g. 0,1; got {text!r}") from None
    if not gpus or any(g < 0 for g in gpus):
        raise SiambenchError(f"--gpus takes GPU indices separated by commas, e.g. 0,1; got {text!r}")
    if len(set(gpus)) != len(gpus):
        raise SiambenchError(f"--gpus lists a GPU twice: {text!r}")
    return gpus


def worker_threads(workers: int, threads: int | None) -> int | None:
    """Torch threads per worker: as asked, else the cores shared out (None: one worker, as is)."""
    if threads is not None:
        if threads < 1:
            raise SiambenchError("--threads must be at least 1")
        return threads
    return default_threads(workers) if workers > 1 else None


def make_executor(
    executor: str = "local",
    workers: int | None = None,
    gpus: Sequence[int] | None = None,
    address: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    batch: int | str | None = None,
    precision: str = "fp32",
) -> Executor:
    """The executor for the `siambench run` options of the same names.

    local: one worker runs in this process (no start-up cost); more start worker processes.
    With `gpus`, one worker per listed GPU (or `workers` of them, handed the GPUs in turn).
    ray: actors on the cluster at `address`; `workers` actors, or one per cluster GPU.
    batch: None or 1 tracks one sequence at a time; N keeps N sequences in one batched engine
    per worker; "auto" sizes it per worker (:func:`siambench.execution.batched.resolve_batch`).
    precision: fp32 (default), fp16 or bf16, the network under torch autocast.
    """
    from siambench.execution.batched import parse_batch
    from siambench.trackers.network import PRECISIONS

    batch = parse_batch(batch)
    if precision not in PRECISIONS:
        raise SiambenchError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if executor not in EXECUTORS:
        raise SiambenchError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise SiambenchError("--workers must be at least 1")
    if executor in CLUSTER_EXECUTORS:
        if gpus is not None:
            raise SiambenchError(f"--gpus is for the local executor; with {executor}, GPUs are the cluster's "
                                 "workers' (--device picks cuda or cpu)")
        if executor == "ray":
            from siambench.execution.ray_executor import RayExecutor as ClusterExecutor
        else:
            from siambench.execution.dask_executor import DaskExecutor as ClusterExecutor
        return ClusterExecutor(address=address, workers=workers, device=device, threads=threads,
                               batch=batch, precision=precision)
    if address is not None:
        raise SiambenchError("--address is for --executor ray or dask")
    from siambench.weights import select_device

    if gpus:
        if device not in ("auto", "cuda") and not device.startswith("cuda"):
            raise SiambenchError(f"--gpus runs workers on GPUs; it does not combine with --device {device}")
        devices = [str(select_device(f"cuda:{g}")) for g in gpus]
        count = workers or len(devices)
    else:
        devices = [str(select_device(device))]
        count = workers or 1
    from siambench.trackers.network import check_precision

    for name in devices:
        check_precision(precision, name)
    if count == 1:
        return SerialExecutor(devices[0], batch, precision)
    from siambench.execution.local import LocalExecutor

    return LocalExecutor(count, devices, batch, precision)
