"""``siambench models [NAME]``: every registered network with its parameters by part.

Models are built on PyTorch's "meta" device (shapes only, no memory, no weights), so this runs
in a second and needs no checkpoint. The table shows SiamRPN++'s point: a depthwise head
(DepthwiseRPN, 2.5M parameters at 256 channels) is a fraction of SiamRPN's up-channel head
(UPChannelRPN, 18.9M).
"""

from __future__ import annotations

import json

import click

PARTS = ("backbone", "neck", "head")
# attribute names the model families use for the same parts (SiamDW: features, connect_model)
PART_ALIASES = {"features": "backbone", "rpn_head": "head", "connect_model": "head"}


def _parts(model) -> dict:
    """Named parts of a model: its own ``parts()`` when it has one, else its top-level children."""
    if hasattr(model, "parts"):
        return dict(model.parts())
    return {PART_ALIASES.get(name, name): child for name, child in model.named_children()}


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def model_summary(name: str) -> dict:
    """Parameter counts by part, state-dict key count and head type of one registered model."""
    import torch

    from siambench.models import model_builder

    builder = model_builder(name)
    try:
        with torch.device("meta"):
            model = builder()
    except (NotImplementedError, RuntimeError):
        # a builder that computes on its weights while constructing needs real tensors
        model = builder()
    parts = _parts(model)
    counts = {part: _count(module) for part, module in parts.items()}
    head = parts.get("head")
    return {
        "model": name,
        "params": counts,
        "total": _count(model),
        "keys": len(model.state_dict()),
        "head_type": type(head).__name__ if head is not None else "",
    }


def _format_table(rows: list[dict]) -> str:
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
def models_command(name: str | None, as_json: bool) -> None:
    """List registered networks with their parameter counts by part (no weights needed)."""
    from siambench.models import list_models, model_builder

    names = [name] if name else list_models()
    if name:
        model_builder(name)  # an unknown name is a one-line error listing the known ones
    rows = [model_summary(n) for n in names]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_format_table(rows))
