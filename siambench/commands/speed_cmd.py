"""`siambench speed`: a tracker's speed, warmed up, frames from memory, every frame timed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("speed")
@click.option("--tracker", "-t", required=True, help="Tracker spec name or spec file.")
@click.option("--dataset", "-d", default="demo", show_default=True,
              help="Whose frames to track (a name or a folder); its first sequences are read into memory.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--frames", type=click.IntRange(min=1), default=300, show_default=True, help="Frames to time.")
@click.option("--warmup", type=click.IntRange(min=0), default=20, show_default=True,
              help="Frames tracked before timing starts (kernel selection, allocations).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's).")
@click.option("--random-init", is_flag=True, help="Random weights: the same work, so the same speed.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Torch threads (default: torch's).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the measurement as JSON.")
def speed_command(tracker, dataset, data_root, frames, warmup, device, weights, random_init, threads,
                  json_path) -> None:
    """Measure tracking speed: fps, got10k's mean-of-rates fps, latency percentiles, environment."""
    from siambench.speed import measure_speed
    from siambench.textio import atomic_write_text, check_writable_file

    if json_path is not None:
        check_writable_file(json_path)
    with click.progressbar(length=frames + warmup, label="timing", file=sys.stderr) as bar:
        def step(done: int, total: int) -> None:
            bar.update(done - bar.pos)

        report = measure_speed(tracker, dataset, data_root, frames, warmup, device, weights, random_init,
                               threads, progress=step)
    click.echo(report.format())
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(report.as_dict(), indent=1) + "\n")
        click.echo(f"written to {json_path}")
