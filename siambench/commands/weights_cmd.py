"""`siambench weights add`: put official checkpoints where the trackers look for them."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("weights")
def weights_group() -> None:
    """Manage the weights folder ($SIAMBENCH_WEIGHTS, else ~/.cache/siambench/weights)."""


@weights_group.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tracker", "-t", default=None, help="Install for this tracker (when a file fits several).")
@click.option("--link", is_flag=True, help="Symlink instead of copying.")
@click.option("--force", is_flag=True, help="Replace a different checkpoint already installed.")
def add_command(files: tuple[Path, ...], tracker: str | None, link: bool, force: bool) -> None:
    """Find which trackers each checkpoint FILE fits and install it under the name they expect."""
    from siambench.checkpoint_fit import choose, identify, install, shipped_specs
    from siambench.errors import SiambenchError

    failed = []
    for path in files:
        click.echo(f"checking {path} against the tracker specs ...", err=True)
        fits = identify(path)
        if not any(f.ok for f in fits):
            demo = [f.spec.name for f in identify(path, shipped_specs()) if f.ok]
            if demo:
                # a retrained demo network: the shipped file stays, the new one is run by path
                click.echo(f"siambench: error: {path}: fits only {', '.join(demo)}, whose weights ship with "
                           f"siambench and are not replaced; run it with `siambench run --tracker {demo[0]} "
                           f"--weights {path}`", err=True)
                failed.append(path)
                continue
            nearest = next((f for f in fits if f.problem), None)
            detail = f"; nearest: {nearest.spec.name} ({nearest.problem})" if nearest else ""
            click.echo(f"siambench: error: {path}: fits no tracker spec{detail}", err=True)
            failed.append(path)
            continue
        try:
            specs = choose(path, fits, tracker)
            target = install(path, specs, link=link, force=force)
        except SiambenchError as exc:
            click.echo(f"siambench: error: {exc}", err=True)
            failed.append(path)
            continue
        ready = ", ".join(s.name for s in specs)
        click.echo(f"{path} -> {target} ({'linked' if link else 'copied'}); ready: {ready}")
    if failed:
        raise SystemExit(2)
