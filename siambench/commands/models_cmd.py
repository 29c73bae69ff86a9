"""``siambench models [NAME]``: every registered network with its parameters by part.

Models are built on PyTorch's "meta" device (shapes only, no memory, no weights), so this runs
in a second and needs no checkpoint. The table shows SiamRPN++'s point: a depthwise head
(DepthwiseRPN, 2.5M parameters at 256 channels) is a fraction of SiamRPN's up-channel head
(UPChannelRPN, 18.9M).
"""

from __future__ import annotations

import json

import click

__all__ = ["models_command"]


def _format_table(rows: list[dict]) -> str:
    from siambench.analysis.arch import PARTS

    extra = sorted({p for r in rows for p in r["params"]} - set(PARTS))
    columns = list(PARTS) + extra
    header = ["model", *columns, "total", "keys", "head type"]
    lines = []
    for r in rows:
        cells = [r["model"]]
        cells += [f"{r['params'][c]:,}" if c in r["params"] else "-" for c in columns]
        cells += [f"{r['total']:,}", str(r["keys"]), r["head_type"]]
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:-1], widths[1:-1], strict=True)]
        return "  ".join([first, *rest, cells[-1]]).rstrip()

    return "\n".join([fmt(header), *(fmt(cells) for cells in lines)])


@click.command("models")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--arch", is_flag=True,
              help="Also stride, receptive fields, output sizes, padding border and FLOPs "
                   "(the table of `siambench analyze arch`; takes seconds per network).")
def models_command(name: str | None, as_json: bool, arch: bool) -> None:
    """List registered networks with their parameter counts by part (no weights needed)."""
    from siambench.models import list_models, model_builder

    names = [name] if name else list_models()
    if name:
        model_builder(name)  # an unknown name is a one-line error listing the known ones
    if arch:
        from siambench.analysis.arch import analyze_arch, arch_table

        reports = analyze_arch(names)
        click.echo(json.dumps([r.to_json() for r in reports], indent=2) if as_json
                   else arch_table(reports))
        return
    from siambench.analysis.arch import model_summary  # builds torch models: imported only to run

    rows = [model_summary(n) for n in names]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_format_table(rows))
