"""`siambench run`: run a tracker over a dataset and store pysot-layout raw results."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import click

from siambench.errors import SiambenchError
from siambench.execution import EXECUTORS
from siambench.protocols import PROTOCOLS


def _sequence_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:  # "--sequences ''" is a mistake, not a way to ask for everything
        raise SiambenchError(f"--sequences {text!r} names no sequence; leave the option out to run them all")
    return names


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so that worker processes and Ray actors are stopped too.

    The results on disk are safe either way (every write is atomic); this only cleans up.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("run")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml",
              help="Tracker name (see `siambench list trackers`) or a spec file.")
@click.option("--dataset", "-d", required=True,
              help="Dataset name (vot2018, otb2015, ...) or a folder in the VOT or OTB layout.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of the results tree.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's checkpoint in $SIAMBENCH_WEIGHTS "
                   "or ~/.cache/siambench/weights).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where the network runs; auto takes the GPU when there is one.")
@click.option("--sequences", default=None, metavar="A,B,...", help="Only these sequences.")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=None,
              help="Default: the dataset's (VOT: supervised with resets; OTB and others: ope). realtime: "
                   "VOT's realtime experiment, frames at the sequence's rate (30 fps unless its metadata say).")
@click.option("--repetitions", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs per sequence (supervised and realtime protocols).")
@click.option("--force", is_flag=True, help="Rerun sequences whose results are already complete.")
@click.option("--random-init", is_flag=True,
              help="Run with random weights, loading none (a smoke test; scores mean nothing).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel workers, each holding the model once (default 1; with --gpus one per "
                   "GPU; with --executor ray one actor per cluster GPU; with --executor dask and no "
                   "--address, the local cluster's processes, default one per core or per --threads cores).")
@click.option("--gpus", default=None, metavar="0,1,...",
              help="Local executor: one worker per listed GPU.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="local: this machine's processes; ray: a Ray cluster (the `ray` extra); dask: a Dask "
                   "cluster (the `dask` extra).")
@click.option("--address", default=None, metavar="ADDR",
              help="Cluster to join: Ray (auto, or ray://host:10001) or a Dask scheduler (tcp://host:8786); "
                   "default: a local instance.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch threads per worker (default: the cores shared out among the workers).")
@click.option("--batch", default=None, metavar="N|auto",
              help="Track N sequences at once, one batched network call per frame step, in each "
                   "worker (default: one at a time); auto: one at a time on 1-2 CPU cores, else "
                   "sized from free memory.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32",
              show_default=True, help="Network precision (fp16: CUDA only; bf16: CUDA or CPUs with it).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="When another run is writing the same tracker's results folder, wait for it "
                   "(or fail at once).")
def run_command(tracker: str, dataset: str, data_root: Path | None, results_dir: Path,
                weights: Path | None, device: str, sequences: str | None, protocol: str | None,
                repetitions: int, force: bool, random_init: bool, progress: bool,
                workers: int | None, gpus: str | None, executor: str, address: str | None,
                threads: int | None, batch: str | None, precision: str, wait: bool) -> None:
    """Run a tracker over a dataset; rerunning resumes where a previous run stopped."""
    from siambench.runner import run

    try:
        with _sigterm_interrupts():
            summary = run(
                tracker,
                dataset,
                data_root=data_root,
                results_dir=results_dir,
                weights=weights,
                device=device,
                sequences=_sequence_list(sequences),
                protocol=protocol,
                repetitions=repetitions,
                force=force,
                random_init=random_init,
                progress=progress,
                workers=workers,
                gpus=gpus,
                executor=executor,
                address=address,
                threads=threads,
                batch=batch,
                precision=precision,
                wait=wait,
            )
    except KeyboardInterrupt:
        # Finished sequences are on disk and recorded; say how to carry on.
        click.echo("interrupted: rerun the same command to resume with the unfinished sequences",
                   err=True)
        raise
    click.echo(summary.format())
