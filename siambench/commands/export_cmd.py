"""`siambench export-got10k` and `export-trackingnet`: one-pass results in a server's submission layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click


def _export_options(name: str, dataset: str, layout: str, zip_help: str) -> Callable:
    """The options both exports take; `layout` is what lands under --out."""

    def wrap(fn: Callable) -> click.Command:
        options = [
            click.option("--tracker", "-t", required=True, help="Tracker name in the results tree."),
            click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                         show_default=True, help="Root of siambench's results tree."),
            click.option("--dataset", "-d", default=dataset, show_default=True,
                         help="Dataset whose results folder to read."),
            click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
                         help=f"Folder to write {layout} into."),
            click.option("--zip", "zip_results", is_flag=True, help=zip_help),
        ]
        for option in reversed(options):
            fn = option(fn)
        return click.command(name)(fn)

    return wrap


@_export_options("export-got10k", "got10k-val", "<tracker>/<seq>/<seq>_001.txt and <seq>_time.txt",
                 "Also pack them as <out>/<tracker>.zip.")
def export_got10k_command(tracker: str, results_dir: Path, dataset: str, out: Path, zip_results: bool) -> None:
    """Write a tracker's results as the GOT-10k evaluation server takes them."""
    from siambench.interop.got10k import export_got10k

    path = export_got10k(results_dir, tracker, out, dataset=dataset, zip_results=zip_results)
    click.echo(f"wrote {path}")


@_export_options("export-trackingnet", "trackingnet", "<tracker>/<seq>.txt",
                 "Also pack them as <out>/<tracker>.zip (files at its root), the archive the server takes.")
def export_trackingnet_command(tracker: str, results_dir: Path, dataset: str, out: Path, zip_results: bool) -> None:
    """Write a tracker's results as the TrackingNet evaluation server takes them."""
    from siambench.interop.trackingnet import export_trackingnet

    path = export_trackingnet(results_dir, tracker, out, dataset=dataset, zip_results=zip_results)
    click.echo(f"wrote {path}")
