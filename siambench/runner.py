"""``siambench run``: a tracker over a dataset, with resume, progress and speed summary.

Results go to the pysot layouts through :class:`siambench.results.ResultStore`. Beside them,
``<results>/<DATASET>/<tracker>/.siambench.json`` (the *ledger*, :mod:`siambench.ledger`) records,
per protocol, sequence and repetition, the file written and its SHA-256, under the *run key* of
the finished run: a digest of the tracker spec and of the weights file's bytes (or "random-init" /
"no weights"). A rerun skips a repetition that the ledger lists under the same key whose file is
unchanged on disk; anything else (missing, truncated, edited, other spec or weights) is run again,
so an interrupted run resumes where it stopped. ``force`` reruns everything. A rerun with fewer
repetitions deletes the ones it supersedes, so the folder always holds exactly the last run.

A run holds the folder's lock (see :mod:`siambench.ledger`) from planning to the last write: a
second run into the same tracker folder waits for it (or fails, with ``wait=False``). The ledger
entry of a repetition is removed before its file is rewritten and added back after it is
written (each write atomic), so a crash in between can never leave old results labelled with the
new key, or new ones with the old.

The unfinished work is planned as independent jobs (one per sequence and repetition, longest
first) and handed to an executor (:mod:`siambench.execution`): this process, local worker
processes (``workers``, ``gpus``) or a Ray cluster (``executor="ray"``). Executors only track;
this process writes every result and ledger entry as the trajectories come back, so the results
do not depend on the executor, and a run killed at any point resumes with the jobs it lacks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from siambench import __version__
from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.execution import (
    CLUSTER_EXECUTORS,
    TrackerSetup,
    make_executor,
    plan_jobs,
    worker_threads,
)
from siambench.ledger import LEDGER_NAME, Ledger
from siambench.protocols import PROTOCOLS, RESET_PROTOCOLS, Trajectory
from siambench.results import PROTOCOL_EXPERIMENTS
from siambench.textio import check_writable_dir
from siambench.trackers.registry import TrackerSpec, load_spec

if TYPE_CHECKING:
    from siambench.datasets import Dataset

log = logging.getLogger("siambench")
__all__ = ["LEDGER_NAME", "Ledger", "RunSummary", "run", "run_key"]



# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run did, and how fast."""

    tracker: str
    dataset: str
    protocol: str
    results_dir: Path
    device: str
    weights: Path | None
    random_init: bool
    run_key: str
    sequences_run: list[str] = field(default_factory=list)
    sequences_skipped: list[str] = field(default_factory=list)
    frames: int = 0  # frames on which the tracker ran
    failures: int = 0  # supervised and realtime only
    held_frames: int = 0  # realtime only: frames that passed the busy tracker by
    tracker_seconds: float = 0.0  # summed per-frame tracker-call times
    model_seconds: float = 0.0  # network time, as the tracker reports it
    wall_seconds: float = 0.0  # whole per-sequence loops, frame waits included
    workers: int = 1  # processes or actors that tracked in parallel
    elapsed_seconds: float = 0.0  # from the first job handed out to the last result written
    removed_files: list[Path] = field(default_factory=list)  # superseded repetitions deleted

    @property
    def fps(self) -> float:
        """Frames per second of the tracker calls (pysot's "Speed")."""
        return _rate(self.frames, self.tracker_seconds)

    @property
    def model_fps(self) -> float:
        return _rate(self.frames, self.model_seconds)

    @property
    def loop_fps(self) -> float:
        return _rate(self.frames, self.wall_seconds)

    @property
    def throughput(self) -> float:
        """Frames per second of the whole run, all workers together."""
        return _rate(self.frames, self.elapsed_seconds)

    def add(self, name: str, trajectory: Trajectory) -> None:
        if name not in self.sequences_run:
            self.sequences_run.append(name)
        self.frames += trajectory.tracked_frames
        self.failures += trajectory.failures
        self.held_frames += trajectory.held_frames
        self.tracker_seconds += trajectory.tracker_seconds
        self.model_seconds += trajectory.model_seconds
        self.wall_seconds += trajectory.wall_seconds

    def format(self) -> str:
        """The lines `siambench run` prints at the end."""
        lines = []
        if self.random_init:
            lines.append("note: --random-init: the network has random weights; its scores mean nothing")
        lines.append(
            f"{self.tracker} on {self.dataset} ({self.protocol}, device {self.device}): "
            f"{len(self.sequences_run)} sequence(s) run, {len(self.sequences_skipped)} already complete"
        )
        if self.frames:
            model = f"{self.model_fps:.1f} fps" if self.model_seconds > 0 else "n/a"
            lines.append(
                f"mean speed over {self.frames} frames: tracker {self.fps:.1f} fps, "
                f"model {model}, whole loop {self.loop_fps:.1f} fps"
            )
            if self.workers > 1:
                lines.append(f"throughput: {self.throughput:.1f} frames/s with {self.workers} workers")
        if self.protocol in RESET_PROTOCOLS and self.sequences_run:
            lines.append(f"failures: {self.failures}")
        if self.protocol == "realtime" and self.sequences_run:
            lines.append(f"realtime: {self.held_frames} frame(s) passed the busy tracker by, each given its last box")
        if self.removed_files:
            lines.append(f"removed {len(self.removed_files)} superseded repetition file(s) "
                         f"(this run has fewer repetitions)")
        lines.append(f"results: {self.results_dir}")
        return "\n".join(lines)


def _rate(frames: int, seconds: float) -> float:
    return frames / seconds if seconds > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# Run keys
# --------------------------------------------------------------------------------------------


def run_key(spec: TrackerSpec, weights: Path | None, random_init: bool,
            precision: str = "fp32") -> tuple[str, dict[str, Any]]:
    """Digest identifying what produced a run, and the description stored with it.

    A reduced `precision` changes the boxes, so it is part of the key; fp32 adds nothing, which
    keeps the keys of runs recorded before precision was.
    """
    from siambench.weights import file_digest

    if random_init:
        weights_id = "random-init"
    elif weights is not None:
        weights_id = "sha256:" + file_digest(weights)
    else:
        weights_id = "no weights"
    what = f"{spec.spec_hash()}|{weights_id}" + ("" if precision == "fp32" else f"|{precision}")
    key = hashlib.sha256(what.encode()).hexdigest()[:16]
    info = {
        "tracker": spec.name,
        "adapter": spec.adapter,
        "spec_hash": spec.spec_hash(),
        "spec_file": str(spec.source) if spec.source else None,
        "model": spec.model,
        "hyper": spec.hyper,
        "checkpoint": spec.checkpoint,
        "weights_file": str(weights) if weights is not None else None,
        "weights": weights_id,
        "random_init": random_init,
        "precision": precision,
        "siambench_version": __version__,
    }
    return key, info


def run_environment(device: str) -> dict[str, str]:
    """Where a run's results were made, as its ledger entries record it: the device the engine
    reports, and the versions that change speed (and, on a GPU, the last digits of results)."""
    import platform

    env = {"device": device, "python": platform.python_version(), "platform": platform.platform(terse=True),
           "siambench": __version__}
    try:  # the driver of a remote executor may track nothing itself
        import torch
    except ImportError:
        return env
    env["torch"] = torch.__version__
    if "cuda" in device and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["cuda"] = str(torch.version.cuda)
        env["cudnn"] = str(torch.backends.cudnn.version())
    return env


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _select_sequences(ds: Any, names: Sequence[str] | str | None) -> list[Any]:
    if names is None:
        return list(ds)
    if isinstance(names, str):
        names = [n for n in (part.strip() for part in names.split(",")) if n]
    known = list(ds.names)
    missing = [n for n in names if n not in known]
    if missing:
        raise UnknownNameError(f"sequence of {ds.name}", missing[0], known)
    return [ds[n] for n in dict.fromkeys(names)]  # a name given twice is run once


def _check_frames(seq: Any) -> None:
    frames = list(seq.frames)
    if not frames:
        raise SiambenchError(f"sequence {seq.name!r} lists no frames")
    if len(frames) != len(seq.groundtruth):
        raise SiambenchError(
            f"sequence {seq.name!r}: {len(frames)} frames but {len(seq.groundtruth)} ground-truth rows"
        )
    if not Path(frames[0]).is_file():
        raise InputError(frames[0], f"frame not found: the images of sequence {seq.name!r} are missing "
                         "(only annotations are installed?)")
    box = seq.init_box()
    if not (np.isfinite(box).all() and box[2] > 0 and box[3] > 0):
        # a tracker started on no box crashes, or (OpenCV's MIL) spins beyond Ctrl-C's reach
        raise SiambenchError(f"sequence {seq.name!r}: the first frame's ground truth gives no box to start from "
                             f"(x,y,w,h {', '.join(f'{v:g}' for v in box)}; expected finite values with w, h > 0)")


def _check_targets(ledger: Ledger, protocol: str, sequence: str, repetitions: list[int]) -> None:
    """No folder sits where a result, its times or the ledger will be written, and no file
    where a folder of theirs goes (found after tracking, either would cost the sequence and
    leave its other files unrecorded)."""
    from siambench.ledger import result_relpath, times_relpath

    paths = [ledger.path, ledger.root / times_relpath(protocol, sequence)]
    paths += [ledger.root / result_relpath(protocol, sequence, rep) for rep in repetitions]
    for path in paths:
        if path.is_dir():
            raise InputError(path, "a folder is in the way of a file this run writes; move it away")
        for parent in path.relative_to(ledger.root).parents:
            folder = ledger.root / parent
            if folder.exists() and not folder.is_dir():
                raise InputError(folder, "a file is in the way of a folder this run writes into; move it away")


def _write(store: Any, protocol: str, seq: str, repetition: int, traj: Trajectory) -> None:
    if protocol == "ope":
        store.write_ope(seq, traj.boxes, traj.times)
    elif protocol == "unsupervised":
        store.write_unsupervised(seq, traj.boxes, traj.times)
    else:
        store.write_vot(seq, traj.lines, traj.times, repetition, PROTOCOL_EXPERIMENTS[protocol])


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    Recording a finished job takes three writes; a Ctrl-C between them would leave a result on
    disk that the ledger does not list, and the job would run again on resume. A stop request
    waits the few milliseconds the writes take instead. Signals can only be caught in the main
    thread, so elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back from here.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)  # now handled as it would have been: KeyboardInterrupt


def _progress(total: int, enabled: bool, label: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="seq", desc=label, disable=not enabled, dynamic_ncols=True)


def run(
    tracker: str | Path | TrackerSpec,
    dataset: str | Dataset,
    data_root: str | Path | None = None,
    results_dir: str | Path = "results",
    weights: str | Path | None = None,
    device: str = "auto",
    sequences: Sequence[str] | str | None = None,
    protocol: str | None = None,
    repetitions: int = 1,
    force: bool = False,
    random_init: bool = False,
    progress: bool = True,
    workers: int | None = None,
    gpus: Sequence[int] | str | None = None,
    executor: str = "local",
    address: str | None = None,
    threads: int | None = None,
    batch: int | str | None = None,
    precision: str = "fp32",
    wait: bool = True,
) -> RunSummary:
    """Run `tracker` on `dataset` and store the raw results; see the module docstring.

    dataset: a dataset name (see ``siambench list datasets``) or a loaded Dataset.
    protocol: ope, supervised, unsupervised or realtime; by default the dataset's own (VOT:
    supervised). realtime is VOT's realtime experiment (:func:`siambench.protocols.run_realtime`).
    repetitions: runs per sequence (supervised and realtime only, as in the VOT toolkit).
    workers, gpus, executor, address: where the jobs run (see :func:`make_executor`); by
    default in this process. threads: torch threads per worker (default: the cores shared
    out among several workers; a single worker leaves torch's setting alone).
    batch, precision: the batched engine (see :func:`make_executor`); None runs one job at a time.
    wait: when another process is writing the same tracker folder, wait for it (True) or fail.
    """
    from siambench.datasets import Dataset, load_dataset
    from siambench.execution import parse_gpus
    from siambench.results import ResultStore
    from siambench.weights import resolve_weights

    spec = load_spec(tracker)
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, root=data_root)
    protocol = protocol or ds.protocol
    if protocol not in PROTOCOLS:
        raise SiambenchError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if repetitions < 1:
        raise SiambenchError("--repetitions must be at least 1")
    if repetitions > 1 and protocol not in RESET_PROTOCOLS:
        raise SiambenchError(f"--repetitions applies to the {' and '.join(RESET_PROTOCOLS)} protocols only, "
                             f"not {protocol}")
    if random_init and weights is not None:
        raise SiambenchError("--weights and --random-init exclude each other")
    if spec.runtime != "torch" and (random_init or precision != "fp32"):
        raise SiambenchError(f"tracker {spec.name!r} runs exported {spec.runtime} graphs in float32: "
                             "--random-init and --precision do not apply")
    if protocol == "realtime" and batch not in (None, 1, "1"):
        # A batched call's time is shared by its sequences; the realtime rule needs each call's own.
        raise SiambenchError("--batch does not apply to the realtime protocol: it paces frames by the time of "
                             "each tracker call, which a batched call does not have; run it without --batch")
    selected = _select_sequences(ds, sequences)

    gpu_list = parse_gpus(gpus)
    engine_options: dict[str, Any] = {}
    if batch is not None:  # passed only when asked for, so executors without an engine still work
        engine_options["batch"] = batch
    if precision != "fp32":
        engine_options["precision"] = precision
    engine = make_executor(executor, workers=workers, gpus=gpu_list, address=address, device=device,
                           threads=threads, **engine_options)
    count = getattr(engine, "workers", None) or 1
    if protocol == "realtime" and count > max(1, len(gpu_list or ())):
        log.warning("realtime with %d workers: unless each has a device of its own, they slow each other's "
                    "calls, and more frames pass them by than would pass one alone", count)
    weights_path = None if random_init else resolve_weights(spec, weights)
    key, key_info = run_key(spec, weights_path, random_init, precision)

    results_dir = Path(results_dir)
    store = ResultStore(results_dir, ds.results_name, spec.name)
    check_writable_dir(store.root)  # a read-only folder fails now, not after the first sequence
    summary = RunSummary(
        tracker=spec.name,
        dataset=ds.name,
        protocol=protocol,
        results_dir=store.root,
        device=engine.describe(),
        weights=weights_path,
        random_init=random_init,
        run_key=key,
        workers=count,
    )
    ledger = Ledger(store.root)
    with ledger.lock(wait=wait, on_wait=log.warning):
        _run_locked(ledger, store, engine, spec, ds, selected, protocol, repetitions, force, key, key_info,
                    weights_path, random_init, device, threads, executor, progress, summary)
    return summary


def _run_locked(ledger: Ledger, store: Any, engine: Any, spec: TrackerSpec, ds: Any, selected: list[Any],
                protocol: str, repetitions: int, force: bool, key: str, key_info: dict[str, Any],
                weights_path: Path | None, random_init: bool, device: str, threads: int | None,
                executor: str, progress: bool, summary: RunSummary) -> None:
    """The run proper, while this process holds the results folder's lock."""
    todo: list[tuple[Any, list[int]]] = []
    for seq in selected:
        n = len(seq.groundtruth)
        pending = [
            rep
            for rep in range(1, repetitions + 1)
            if force
            or not (ledger.done(protocol, seq.name, rep, key)
                    and store.has_complete(seq.name, protocol, n, repetition=rep))
        ]
        if pending:
            todo.append((seq, pending))
        else:
            summary.sequences_skipped.append(seq.name)
            summary.removed_files += _remove_superseded(ledger, protocol, seq.name, repetitions)
    if not todo:
        return
    for seq, reps in todo:  # fail before the long run, not in the middle of it
        _check_frames(seq)
        _check_targets(ledger, protocol, seq.name, reps)

    jobs = plan_jobs(spec.spec_hash(), ds.name, todo)
    left = {seq.name: len(reps) for seq, reps in todo}  # jobs outstanding per sequence
    count = summary.workers
    # Cluster workers (Ray actors, Dask workers) hold one thread each unless told otherwise;
    # local workers share the cores.
    per_worker = (threads or 1) if executor in CLUSTER_EXECUTORS else worker_threads(count, threads)
    setup = TrackerSetup(spec, protocol, weights_path, random_init, device, per_worker)
    start = time.perf_counter()
    environment: dict[str, str] = {}  # filled once the engine has started and knows its devices
    with _progress(len(todo), progress, spec.name) as bar, \
            contextlib.closing(engine.run(setup, jobs)) as finished:
        for job, trajectory in finished:
            # Forget, write, record: each step atomic, so a kill anywhere costs at most this
            # job, and a stop request (Ctrl-C, SIGTERM) waits until the job is recorded.
            environment = environment or run_environment(engine.describe())
            with _signals_held():
                # A damaged ledger lists nothing as done, so everything is run; it is set aside
                # only now, at the first write, so that a run failing its checks leaves it to
                # keep eval from scoring the folder's files as foreign results.
                ledger.set_aside_if_damaged(log.warning)
                ledger.start(protocol, job.sequence_name, key)
                ledger.forget(protocol, job.sequence_name, job.repetition)
                _write(store, protocol, job.sequence_name, job.repetition, trajectory)
                ledger.finish(protocol, job.sequence_name, job.repetition, key, key_info,
                              times=trajectory.times is not None,
                              environment=environment)
            summary.add(job.sequence_name, trajectory)
            summary.elapsed_seconds = time.perf_counter() - start
            summary.device = engine.describe()
            summary.workers = getattr(engine, "workers", 1)
            left[job.sequence_name] -= 1
            if not left[job.sequence_name]:
                summary.removed_files += _remove_superseded(ledger, protocol, job.sequence_name, repetitions)
                bar.set_description(f"{spec.name} {job.sequence_name}")
                bar.set_postfix(fps=f"{summary.fps:.1f}")
                bar.update(1)


def _remove_superseded(ledger: Ledger, protocol: str, sequence: str, repetitions: int) -> list[Path]:
    """Delete the repetition files above `repetitions` of a sequence: this run supersedes them.

    Those the ledger lists go with their entries; files named like siambench's own repetition
    files (``<seq>_NNN.txt``, N above the count) that an interrupted earlier run left unlisted go
    too, so the folder holds exactly the repetitions of the last run. Other files are left alone
    (``siambench eval`` warns about them).
    """
    if protocol not in RESET_PROTOCOLS:
        return []
    with _signals_held():
        removed = ledger.prune(protocol, sequence, repetitions)
        folder = ledger.root / PROTOCOL_EXPERIMENTS[protocol] / sequence
        pattern = re.compile(rf"{re.escape(sequence)}_(\d{{3}})\.txt")
        if folder.is_dir():
            for path in folder.iterdir():
                match = pattern.fullmatch(path.name)
                if match and int(match.group(1)) > repetitions and path not in removed:
                    removed.append(path)
        for path in removed:
            path.unlink(missing_ok=True)
    return removed
