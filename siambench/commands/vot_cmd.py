"""`siambench vot-integration` and `siambench import-vot`: run trackers in the VOT toolkit, read back."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("vot-integration")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml", help="Tracker to expose.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for trackers.ini and the wrapper (a vot-toolkit workspace, or one to be).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's checkpoint in the weights folder).")
@click.option("--random-init", is_flag=True, help="Random weights (to test the integration).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Torch threads of the tracker.")
@click.option("--sequences", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Also make --out a workspace on this VOT-layout dataset, unsupervised experiment.")
@click.option("--force", is_flag=True, help="Rewrite an existing workspace configuration.")
def vot_integration_command(tracker: str, out: Path, device: str, weights: Path | None,
                            random_init: bool, threads: int | None, sequences: Path | None,
                            force: bool) -> None:
    """Write trackers.ini and a TraX wrapper so that vot-toolkit can run a siambench tracker."""
    from siambench.interop.vot_integration import vot_identifier, write_integration
    from siambench.textio import check_writable_dir
    from siambench.trackers.registry import load_spec

    check_writable_dir(out)
    written = write_integration(tracker, out, device=device, weights=weights, random_init=random_init,
                                threads=threads, sequences=sequences, force=force)
    for what, path in written.items():
        click.echo(f"wrote {what}: {path}")
    identifier = vot_identifier(load_spec(tracker).name)
    if sequences is None:
        click.echo(f"next: vot initialize <stack> --workspace {out}  (keeps this trackers.ini), then")
    click.echo(f"  vot evaluate --workspace {out} {identifier}")
    click.echo(f"  siambench import-vot --workspace {out} --tracker {identifier} --dataset <name>")


@click.command("import-vot")
@click.option("--workspace", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The vot-toolkit workspace.")
@click.option("--tracker", "-t", required=True, help="Tracker identifier in the workspace.")
@click.option("--dataset", "-d", required=True, help="siambench dataset the workspace ran on.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of siambench's results tree.")
@click.option("--name", default=None, help="Tracker name in the results tree (default: the identifier).")
def import_vot_command(workspace: Path, tracker: str, dataset: str, data_root: Path | None,
                       results_dir: Path, name: str | None) -> None:
    """Copy a tracker's vot-toolkit results into siambench's results tree (for siambench eval)."""
    from siambench.interop.vot_integration import import_vot
    from siambench.textio import check_writable_dir

    check_writable_dir(results_dir)  # before reading the workspace
    imported = import_vot(workspace, tracker, dataset, results_dir=results_dir, name=name,
                          data_root=data_root)
    for experiment, names in imported.items():
        click.echo(f"{experiment}: {len(names)} sequence(s) imported")
