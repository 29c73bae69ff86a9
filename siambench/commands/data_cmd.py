"""`siambench data`: prepare benchmark data (for now: render a synthetic benchmark)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from siambench import synth


def _frames(value: str) -> tuple[int, int]:
    """'80' -> (80, 80); '60-100' -> (60, 100)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[-:]\s*(\d+)\s*)?", value)
    if not match:
        raise click.BadParameter(f"expected N or MIN-MAX, got {value!r}", param_hint="--frames")
    lo = int(match.group(1))
    return (lo, int(match.group(2) or lo))


def _size(value: str) -> tuple[int, int]:
    """'320x240' -> (320, 240)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not match:
        raise click.BadParameter(f"expected WIDTHxHEIGHT, got {value!r}", param_hint="--size")
    return (int(match.group(1)), int(match.group(2)))


@click.group("data")
def data_group() -> None:
    """Prepare benchmark data."""


@data_group.command("synth")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write; it must not exist or be empty (see --force).",
)
@click.option(
    "--layout",
    type=click.Choice(synth.LAYOUTS),
    default="otb",
    show_default=True,
    help="otb: <Seq>/img/0001.jpg + groundtruth_rect.txt; vot: list.txt, color/, polygons, tags.",
)
@click.option(
    "--sequences",
    type=click.IntRange(min=1),
    default=synth.DEMO_SEQUENCES,
    show_default=True,
    help="Number of sequences; sequence i stresses scenario i mod 6.",
)
@click.option("--seed", type=click.IntRange(min=0), default=synth.DEMO_SEED, show_default=True)
@click.option(
    "--frames",
    default="{}-{}".format(*synth.DEMO_FRAMES),
    show_default=True,
    help="Frames per sequence: N, or MIN-MAX for a seeded length in that range.",
)
@click.option(
    "--size",
    default="{}x{}".format(*synth.DEMO_SIZE),
    show_default=True,
    help="Frame size, WIDTHxHEIGHT.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def synth_command(
    out: Path,
    layout: str,
    sequences: int,
    seed: int,
    frames: str,
    size: str,
    force: bool,
    quiet: bool,
) -> None:
    """Render a deterministic synthetic benchmark in the VOT or OTB layout.

    Textured targets move, scale and rotate over cluttered backgrounds, among look-alikes, behind
    occluders, with fast-motion bursts, camera pans and lighting changes. The same seed gives the
    same ground truth (and, with the same OpenCV, the same JPEG bytes).
    """
    from tqdm import tqdm

    from siambench.textio import check_writable_dir

    check_writable_dir(out)  # before rendering, which takes a while
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="frame", desc="rendering", disable=quiet)
        bar.update(done - bar.n)

    try:
        names = synth.generate(
            out,
            layout=layout,
            sequences=sequences,
            seed=seed,
            frames=_frames(frames),
            size=_size(size),
            overwrite=force,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    total = bar.total if bar is not None else 0
    click.echo(f"wrote {len(names)} sequences ({total} frames, {layout} layout) to {out}")


@data_group.command("export-json")
@click.option("--dataset", "-d", required=True,
              help="Dataset to describe: a name (vot2018, otb2015, ...) or a folder in the VOT or OTB layout.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file to write (default <dataset folder>/<FOLDER>.json, where pysot looks).")
def export_json_command(dataset: str, data_root: Path | None, out: Path | None) -> None:
    """Write pysot's dataset JSON (VOT2018.json / OTB100.json style) from the official layout."""
    from siambench.interop.pysot_json import export_json
    from siambench.textio import check_writable_file

    if out is not None:
        check_writable_file(out)
    path = export_json(dataset, out=out, data_root=data_root)
    click.echo(f"wrote {path}")


@data_group.command("import-json")
@click.argument("json_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the official layout (default: the folder the image paths start from).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder the JSON's image paths are relative to (default: the JSON's folder).")
@click.option("--images", type=click.Choice(["link", "copy", "none"]), default="link", show_default=True,
              help="How frames not already in place get there (none: annotations only).")
@click.option("--format", "kind", type=click.Choice(["vot", "otb"]), default=None,
              help="JSON style (default: VOT when it has tags or polygons, else OTB).")
def import_json_command(json_file: Path, out: Path | None, root: Path | None, images: str,
                        kind: str | None) -> None:
    """Write the official VOT or OTB layout from a pysot dataset JSON file."""
    from siambench.interop.pysot_json import import_json
    from siambench.textio import check_writable_dir

    if out is not None:
        check_writable_dir(out)
    names = import_json(json_file, out=out, images=images, root=root, kind=kind)
    click.echo(f"wrote {len(names)} sequences to {out or root or json_file.parent}")
