"""`siambench show`: raw results drawn on the frames, as an MP4 video and a PNG contact sheet."""

from __future__ import annotations

from pathlib import Path

import click

from siambench.results import EXPERIMENT_PROTOCOLS


@click.command("show")
@click.option("--tracker", "-t", "trackers", required=True, metavar="T[,T2...]",
              help="Tracker result folders to draw, comma-separated (repeatable).", multiple=True)
@click.option("--dataset", "-d", required=True,
              help="Dataset name (see `siambench list datasets`) or a folder in the VOT or OTB layout.")
@click.option("--sequence", "-s", required=True, help="Sequence to draw.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of the raw results.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default <results-dir>/show/<DATASET>).")
@click.option("--tiles", type=click.IntRange(min=1), default=12, show_default=True,
              help="Evenly spaced frames on the sheet (every failure frame is added).")
@click.option("--fps", type=click.FloatRange(min=1), default=20.0, show_default=True, help="Video frame rate.")
@click.option("--no-video", is_flag=True, help="Only the contact sheet.")
@click.option("--experiment", type=click.Choice(list(EXPERIMENT_PROTOCOLS)), default=None,
              help="VOT data: the experiment to draw (default: the first of them each tracker has); "
                   "the files are named <sequence>-<experiment>.")
def show_command(trackers: tuple[str, ...], dataset: str, sequence: str, results_dir: Path,
                 data_root: Path | None, out: Path | None, tiles: int, fps: float, no_video: bool,
                 experiment: str | None) -> None:
    """Draw ground truth and each tracker's boxes on a sequence (from results on disk, no re-run)."""
    from siambench.show import show

    names = [n for spec in trackers for n in (part.strip() for part in spec.split(",")) if n]
    written = show(names, dataset, sequence, results_dir=results_dir, data_root=data_root, out=out,
                   video=not no_video, tiles=tiles, fps=fps, experiment=experiment)
    for what, path in written.items():
        click.echo(f"wrote {what}: {path}")
