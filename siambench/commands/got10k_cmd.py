"""`siambench export-got10k`: one-pass results in the GOT-10k submission layout."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-got10k")
@click.option("--tracker", "-t", required=True, help="Tracker name in the results tree.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of siambench's results tree.")
@click.option("--dataset", "-d", default="got10k-val", show_default=True,
              help="Dataset whose results folder to read.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write <tracker>/<seq>/<seq>_001.txt and <seq>_time.txt into.")
@click.option("--zip", "zip_results", is_flag=True, help="Also pack them as <out>/<tracker>.zip.")
def export_got10k_command(tracker: str, results_dir: Path, dataset: str, out: Path, zip_results: bool) -> None:
    """Write a tracker's results as the GOT-10k evaluation server takes them."""
    from siambench.interop.got10k import export_got10k

    path = export_got10k(results_dir, tracker, out, dataset=dataset, zip_results=zip_results)
    click.echo(f"wrote {path}")
