"""SiamDW's design rules, measured on every registered network (``siambench analyze arch``).

For the feature branch of a Siamese network (backbone, and the neck where there is one; the
template's neck crop included) this reports:

- *total stride*: input pixels per output cell, from the output sizes of two search inputs;
- *theoretical receptive field*: the input extent the centre output unit depends on at all.
  It is read off the layer graph by back-propagating from that unit through a *structural
  copy* of the network: every convolution an average over its window, BatchNorm the identity,
  activations removed and max-pooling made average-pooling. Every path through the graph then
  carries a positive weight and nothing cancels, so the gradient's support is exactly the
  union of the paths' windows: strides, dilations, residual branches and SiamDW's crops all
  count as they do in the real graph;
- *effective receptive field*: the side of the centred square that holds 95% of the input
  gradient's magnitude of the centre unit in the real network (its weights as built), after
  Luo et al.; much smaller than the theoretical one in deep networks;
- *receptive field share* of the exemplar (SiamDW: 60-80% works best);
- *output sizes* for exemplar and search crops;
- *padding border*: how many output rows or columns, from the edge of the map inward, see
  zero padding (the features SiamDW's cropping-inside residual units remove). In the
  structural copy fed with ones every padding-free unit has the same value; a unit whose value
  differs has zero padding in its window;
- *FLOPs* of the template branch (once per sequence) and of the search branch (per search
  crop, the head's correlation included), counted by :mod:`torch.utils.flop_counter`;
- *parameters* by part (the accounting of ``siambench models``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

#: The share of the input gradient's magnitude the effective receptive field holds.
ERF_MASS = 0.95
#: SiamDW's rule for the receptive field as a share of the exemplar.
RF_SHARE_RULE = (0.6, 0.8)
PARTS = ("backbone", "neck", "head")
# attribute names the model families use for the same parts (SiamDW: features, connect_model)
PART_ALIASES = {"features": "backbone", "rpn_head": "head", "connect_model": "head"}

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- parameters


def model_parts(model: nn.Module) -> dict[str, nn.Module]:
    """Named parts of a model: its own ``parts()`` when it has one, else its top-level children."""
    if hasattr(model, "parts"):
        return dict(model.parts())
    return {PART_ALIASES.get(name, name): child for name, child in model.named_children()}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def model_summary(name: str) -> dict[str, Any]:
    """Parameter counts by part, state-dict key count and head type of one registered model.

    Built on PyTorch's "meta" device (shapes only, no memory), so it takes no time.
    """
    from siambench.models import model_builder

    builder = model_builder(name)
    try:
        with torch.device("meta"):
            model = builder()
    except (NotImplementedError, RuntimeError):
        # a builder that computes on its weights while constructing needs real tensors
        model = builder()
    parts = model_parts(model)
    head = parts.get("head")
    return {
        "model": name,
        "params": {part: count_parameters(module) for part, module in parts.items()},
        "total": count_parameters(model),
        "keys": len(model.state_dict()),
        "head_type": type(head).__name__ if head is not None else "",
    }


# ----------------------------------------------------------------------------- the branch


def branch_features(model: nn.Module, x: torch.Tensor, is_template: bool) -> torch.Tensor:
    """The features a Siamese model correlates, for exemplar (`is_template`) or search crops.

    pysot models have a ``features(x, is_template)`` method (backbone, then the neck, which
    crops the template); SiamDW models hold their backbone as the ``features`` module; SiamFC
    as ``backbone``. Of several feature levels the last is returned (pysot's are one size).
    """
    features = getattr(model, "features", None)
    if isinstance(features, nn.Module):
        out = features(x)
    elif callable(features):
        out = features(x, is_template)
    else:
        out = model.backbone(x)
    return out[-1] if isinstance(out, (list, tuple)) else out


def template_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return branch_features(model, x, True)


def search_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return branch_features(model, x, False)


# ----------------------------------------------------------------------------- structure


def structural_copy(model: nn.Module) -> nn.Module:
    """A copy whose output at each unit sums positive weights over every input path.

    Convolutions average their window, BatchNorm passes values through, activations are
    removed and max-pooling averages; so the copy is linear, positive and has the original's
    graph (see the module docstring).
    """
    net = copy.deepcopy(model).float().cpu()
    _replace_modules(net)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.fill_(1.0 / fan_in)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_parameters()
                module.eps = 0.0
    return net.eval()


def _replace_modules(net: nn.Module) -> None:
    for name, child in list(net.named_children()):
        if isinstance(child, nn.MaxPool2d):
            setattr(net, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                            ceil_mode=child.ceil_mode))
        elif isinstance(child, (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.LeakyReLU, nn.SiLU, nn.GELU)):
            setattr(net, name, nn.Identity())
        else:
            _replace_modules(child)


def _centre_gradient(net: nn.Module, forward: Forward, x: torch.Tensor) -> tuple[torch.Tensor, torch.Size]:
    """|d (centre output unit, summed over channels) / d input|, summed over batch and channels."""
    x = x.clone().requires_grad_(True)
    out = forward(net, x)
    h, w = out.shape[-2:]
    out[..., h // 2, w // 2].sum().backward()
    return x.grad.abs().sum(dim=(0, 1)), out.shape


def _support(grad: torch.Tensor) -> tuple[int, int, int, int]:
    """First and last row and column where `grad` is non-zero."""
    rows = torch.nonzero(grad.sum(dim=1) > 0).flatten()
    cols = torch.nonzero(grad.sum(dim=0) > 0).flatten()
    if len(rows) == 0:
        return 0, -1, 0, -1
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def output_size(model: nn.Module, forward: Forward, size: int) -> int:
    """Side of the (square) output map for a size x size input."""
    with torch.no_grad():
        return int(forward(model, torch.zeros(1, 3, size, size)).shape[-1])


def total_stride(model: nn.Module, forward: Forward, size: int, step: int = 64) -> int:
    """Input pixels per output cell: `step` more input pixels give step / stride more cells."""
    grown = output_size(model, forward, size + step) - output_size(model, forward, size)
    return round(step / grown) if grown > 0 else 0


def receptive_field(structure: nn.Module, forward: Forward, size: int, largest: int = 1024) -> int:
    """The theoretical receptive field of the centre output unit (`structure`: a structural copy).

    The input grows until the field fits inside it with a margin, so a border never cuts it.
    """
    while True:
        grad, _ = _centre_gradient(structure, forward, torch.ones(1, 3, size, size))
        top, bottom, left, right = _support(grad)
        inside = top > 0 and left > 0 and bottom < size - 1 and right < size - 1
        if inside or size >= largest:
            return max(bottom - top + 1, right - left + 1)
        size *= 2


def effective_receptive_field(model: nn.Module, forward: Forward, size: int, seed: int = 0,
                              batch: int = 2) -> int:
    """Side of the centred square holding :data:`ERF_MASS` of the centre unit's input gradient."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, size, size, generator=generator)
    net = copy.deepcopy(model).float().cpu().eval()
    grad, _ = _centre_gradient(net, forward, x)
    total = float(grad.sum())
    if total <= 0:
        return 0
    top, bottom, left, right = _support(grad)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    for half in range(size):
        r0, r1 = max(int(cy - half), 0), min(int(cy + half + 1), size)
        c0, c1 = max(int(cx - half), 0), min(int(cx + half + 1), size)
        if float(grad[r0:r1, c0:c1].sum()) >= ERF_MASS * total:
            return max(r1 - r0, c1 - c0)
    return size


def padding_border(structure: nn.Module, forward: Forward, size: int, reference: float) -> int:
    """Output rows/columns, counted from the map's edges inward, whose window holds padding.

    `reference` is a padding-free unit's value in the structural copy fed with ones.
    """
    with torch.no_grad():
        out = forward(structure, torch.ones(1, 3, size, size))[0, 0]
    affected = (out - reference).abs() > 1e-4 * abs(reference)
    n = out.shape[-1]
    border = 0
    for k in range((n + 1) // 2):
        ring = torch.cat([affected[k, k:n - k], affected[n - 1 - k, k:n - k],
                          affected[k:n - k, k], affected[k:n - k, n - 1 - k]])
        if not bool(ring.any()):
            break
        border = k + 1
    return border


def padding_free_value(structure: nn.Module, forward: Forward, rf: int, stride: int) -> float:
    """The structural copy's value at a unit whose window holds no padding at all."""
    size = 2 * rf + 4 * max(stride, 1) + 1
    with torch.no_grad():
        out = forward(structure, torch.ones(1, 3, size, size))[0, 0]
    return float(out[out.shape[0] // 2, out.shape[1] // 2])


# ----------------------------------------------------------------------------- FLOPs


def branch_flops(model: nn.Module, exemplar: int, search: int) -> tuple[int, int]:
    """FLOPs of the template branch for one exemplar, and of the search branch for one crop."""
    from torch.utils.flop_counter import FlopCounterMode

    net = copy.deepcopy(model).float().cpu().eval()
    z, x = torch.zeros(1, 3, exemplar, exemplar), torch.zeros(1, 3, search, search)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            template = net.make_template(z)
        template_flops = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            net.track_with(template, x)
        return int(template_flops), int(counter.get_total_flops())


# ----------------------------------------------------------------------------- report


@dataclass
class ArchReport:
    """The numbers of one network (see the module docstring)."""

    model: str
    exemplar_size: int
    search_size: int
    stride: int
    receptive_field: int
    effective_rf: int
    rf_share: float
    exemplar_out: int
    search_out: int
    border_exemplar: int
    border_search: int
    flops_template: int | None = None
    flops_search: int | None = None
    params: dict[str, int] = field(default_factory=dict)
    total_params: int = 0

    @property
    def within_rule(self) -> bool:
        return RF_SHARE_RULE[0] <= self.rf_share <= RF_SHARE_RULE[1]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "within_siamdw_rule": self.within_rule}


def geometry(model: nn.Module, exemplar: int = 127, search: int = 255,
             forward: tuple[Forward, Forward] = (template_forward, search_forward)) -> dict[str, int | float]:
    """Stride, receptive fields, output sizes and padding borders of a feature branch.

    `forward` holds the template and the search forward (a plain network: both ``net(x)``).
    """
    z_forward, x_forward = forward
    model = model.float().cpu().eval()
    structure = structural_copy(model)
    stride = total_stride(model, x_forward, search)
    rf = receptive_field(structure, x_forward, search)
    reference = padding_free_value(structure, x_forward, rf, stride)
    return {
        "stride": stride,
        "receptive_field": rf,
        "effective_rf": effective_receptive_field(model, x_forward, search),
        "rf_share": rf / exemplar,
        "exemplar_out": output_size(model, z_forward, exemplar),
        "search_out": output_size(model, x_forward, search),
        "border_exemplar": padding_border(structure, z_forward, exemplar, reference),
        "border_search": padding_border(structure, x_forward, search, reference),
    }


def analyze_model(name: str, exemplar: int = 127, search: int = 255) -> ArchReport:
    """Every number of :class:`ArchReport` for the registered model `name` (random weights)."""
    from siambench.models import create_model
    from siambench.trackers.network import seeded

    model = seeded(lambda: create_model(name))
    summary = model_summary(name)
    numbers = geometry(model, exemplar, search)
    flops = branch_flops(model, exemplar, search)
    return ArchReport(model=name, exemplar_size=exemplar, search_size=search,
                      flops_template=flops[0], flops_search=flops[1], params=summary["params"],
                      total_params=summary["total"], **numbers)


def analyze_arch(names: list[str] | None = None, exemplar: int = 127, search: int = 255,
                 progress: bool = True) -> list[ArchReport]:
    """:func:`analyze_model` for each name (default: every registered model)."""
    from tqdm import tqdm

    from siambench.models import list_models, model_builder

    if names:
        for name in names:
            model_builder(name)  # an unknown name fails before any work
    names = list(names or list_models())
    with torch.random.fork_rng(devices=[]):
        return [analyze_model(n, exemplar, search)
                for n in tqdm(names, desc="analyze arch", unit="model", disable=not progress)]


def _millions(value: int) -> str:
    return f"{value / 1e6:.2f}M"


def arch_table(reports: list[ArchReport]) -> str:
    """A plain-text table, one row per network."""
    header = ["model", "stride", "RF", "ERF", "RF/z", "z->", "x->", "pad z/x",
              "GFLOPs z", "GFLOPs x", *PARTS, "total"]
    rows = []
    for r in reports:
        rule = "" if r.within_rule else "*"
        rows.append([
            r.model, str(r.stride), str(r.receptive_field), str(r.effective_rf),
            f"{100 * r.rf_share:.0f}%{rule}", str(r.exemplar_out), str(r.search_out),
            f"{r.border_exemplar}/{r.border_search}",
            f"{(r.flops_template or 0) / 1e9:.2f}", f"{(r.flops_search or 0) / 1e9:.2f}",
            *[_millions(r.params[p]) if p in r.params else "-" for p in PARTS],
            _millions(r.total_params),
        ])
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def fmt(cells: list[str]) -> str:
        return "  ".join([cells[0].ljust(widths[0]),
                          *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    note = (f"RF: theoretical receptive field, ERF: effective ({ERF_MASS:.0%} of the input "
            f"gradient), px; * outside SiamDW's {RF_SHARE_RULE[0]:.0%}-{RF_SHARE_RULE[1]:.0%} "
            "of the exemplar; pad: output rows/columns per edge that see zero padding; "
            "GFLOPs per exemplar / per search crop")
    return "\n".join([fmt(header), *(fmt(r) for r in rows), note])
