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
    from siambench.errors import SiambenchError

    failed = []
    for path in files:  # one bad file is reported, and the others are still added
        click.echo(f"checking {path} against the tracker specs ...", err=True)
        try:
            target, action, specs = _add_one(path, tracker, link, force)
        except SiambenchError as exc:
            click.echo(f"siambench: error: {exc}", err=True)
            failed.append(path)
            continue
        ready = ", ".join(s.name for s in specs)
        click.echo(f"{path} -> {target} ({action}); ready: {ready}")
    if failed:
        raise SystemExit(2)


def _add_one(path: Path, tracker: str | None, link: bool, force: bool) -> tuple[Path, str, list]:
    """Install one file; every reason it cannot be is a SiambenchError naming it."""
    from siambench.checkpoint_fit import choose, identify, install, shipped_specs, trained_here
    from siambench.errors import SiambenchError

    fits = identify(path)
    fitting = [f.spec.name for f in fits if f.ok]
    if not fitting or trained_here(path):
        demo = [f.spec.name for f in identify(path, shipped_specs()) if f.ok]
        if fitting:
            # One trained by siambench never passes for a released checkpoint, whatever its layout.
            raise SiambenchError(f"{path}: written by `siambench train`, not a released checkpoint, so it is "
                                 f"not installed under one's name (it fits {', '.join(fitting)}); run it with "
                                 f"`siambench run --tracker {(demo or fitting)[0]} --weights {path}`")
        if demo:
            # A retrained demo network: the shipped file stays, the new one is run by path.
            raise SiambenchError(f"{path}: fits only {', '.join(demo)}, whose weights ship with siambench and "
                                 f"are not replaced; run it with `siambench run --tracker {demo[0]} "
                                 f"--weights {path}`")
        nearest = next((f for f in fits if f.problem), None)
        detail = f"; nearest: {nearest.spec.name} ({nearest.problem})" if nearest else ""
        raise SiambenchError(f"{path}: fits no tracker spec{detail}")
    specs = choose(path, fits, tracker)
    target, action = install(path, specs, link=link, force=force)
    return target, action, specs
