"""`siambench list datasets|trackers`."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("list")
def list_group() -> None:
    """List known datasets or trackers."""


@list_group.command("datasets")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Folder holding one folder per dataset (default: $SIAMBENCH_DATA or ./data).")
def list_datasets(data_root: Path | None) -> None:
    """Dataset names, their expected folder and whether it is found."""
    from siambench.datasets.catalog import DATASETS, default_data_root, find_folder

    root = data_root if data_root is not None else default_data_root()
    rows = [["Name", "Protocol", "Folder", "Found", "Description"]]
    for info in DATASETS.values():
        folder = find_folder(info, root)
        if info.family == "demo":
            if folder is None:  # where ensure_demo renders it, not under the data root
                from siambench.synth.demo import demo_path

                folder = demo_path("vot" if info.protocol == "supervised" else "otb")
            status = "yes" if folder.is_dir() else "generated on first use"
        else:
            status = "yes" if folder is not None else "no"
        shown = str(folder if folder is not None else root / info.folders[0])
        name = info.name + (f" ({', '.join(info.aliases)})" if info.aliases else "")
        rows.append([name, info.protocol, shown, status, info.description])
    _echo(rows)


@list_group.command("trackers")
def list_trackers() -> None:
    """Registered trackers, their checkpoint and whether the weights file is found."""
    from siambench.trackers.listing import tracker_rows

    rows = [["Name", "Adapter", "Checkpoint", "Weights", "Description"]]
    for r in tracker_rows():
        found = r.get("weights_found")
        weights = "not needed" if found is None else ("found" if found else f"missing: {r.get('weights_path')}")
        rows.append([r["name"], r["adapter"], r.get("checkpoint") or "-", weights, r.get("description", "")])
    _echo(rows)


def _echo(rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if k == 0:
            click.echo("  ".join("-" * w for w in widths))
