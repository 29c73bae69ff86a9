"""`siambench export-trackingnet`: one-pass results in the TrackingNet submission layout."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-trackingnet")
@click.option("--tracker", "-t", required=True, help="Tracker name in the results tree.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of siambench's results tree.")
@click.option("--dataset", "-d", default="trackingnet", show_default=True,
              help="Dataset whose results folder to read.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write <tracker>/<seq>.txt into.")
@click.option("--zip", "zip_results", is_flag=True,
              help="Also pack them as <out>/<tracker>.zip (files at its root), the archive the server takes.")
def export_trackingnet_command(tracker: str, results_dir: Path, dataset: str, out: Path, zip_results: bool) -> None:
    """Write a tracker's results as the TrackingNet evaluation server takes them."""
    from siambench.interop.trackingnet import export_trackingnet

    path = export_trackingnet(results_dir, tracker, out, dataset=dataset, zip_results=zip_results)
    click.echo(f"wrote {path}")
