"""`siambench export-onnx`: a tracker's network as ONNX graphs, checked, with a spec that runs them."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-onnx")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml", help="Tracker spec name or spec file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("exports"),
              show_default=True, help="Folder for the graphs, their manifest and the spec that runs them.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's).")
@click.option("--random-init", is_flag=True, help="Export the network with random weights (a smoke test).")
def export_onnx_command(tracker: str, out_dir: Path, weights: Path | None, random_init: bool) -> None:
    """Export TRACKER's network to ONNX (template and search graphs) and check it with onnxruntime.

    The written spec, OUT/<tracker>-onnx.yaml, runs the graphs inside the tracker's own loop:
    `siambench run --tracker OUT/<tracker>-onnx.yaml` scores the exported network beside the
    original.
    """
    from siambench.onnx_export import export_onnx

    result = export_onnx(tracker, out_dir, weights, random_init)
    for path in result.files:
        click.echo(f"wrote {path}")
    click.echo(f"wrote {result.manifest_path}")
    click.echo(f"onnxruntime agrees with torch to {result.max_abs_diff:.2g} (largest output {result.max_abs_output:.3g})")
    click.echo(f"run it with: siambench run --tracker {result.spec_path} --dataset DATASET")
