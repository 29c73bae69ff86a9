"""BatchNorm at inference: fold it into the convolution before it; calibrate it for random weights.

At inference BatchNorm is a fixed per-channel affine map, ``y = (x - mean) * g / s + b`` with
``s = sqrt(var + eps)``; applied to a convolution's output it equals a convolution with weights
scaled by ``g / s`` and bias ``(bias - mean) * g / s + b``. Folding removes one pass over every
feature map. It changes the state dict (BatchNorm layers become ``nn.Identity``), so it runs
after the weights are loaded and only for inference.

Two placements are recognised, which cover every model in this package:
- a ``Conv2d`` directly followed by a ``BatchNorm2d`` inside an ``nn.Sequential``;
- sibling attributes ``conv<X>`` and ``bn<X>`` of one module (ResNet's stem and bottlenecks),
  where the forward pass applies ``bn<X>`` right after ``conv<X>``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution equal to ``bn(conv(x))`` for an eval-mode BatchNorm."""
    fused = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
        padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
        padding_mode=conv.padding_mode,
    ).to(device=conv.weight.device, dtype=conv.weight.dtype)
    # fold in float64 so that the fused model differs from the original by rounding only
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    weight = conv.weight.double() * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    fused.weight.copy_(weight.to(conv.weight.dtype))
    fused.bias.copy_(((bias - bn.running_mean.double()) * scale + bn.bias.double()).to(conv.weight.dtype))
    return fused


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(bn, nn.BatchNorm2d)
        and bn.track_running_stats
        and bn.affine
        and conv.out_channels == bn.num_features
    )


def _fuse_sequential(seq: nn.Sequential) -> int:
    count = 0
    names = list(seq._modules)
    for first, second in zip(names, names[1:], strict=False):
        conv, bn = seq._modules[first], seq._modules[second]
        if _foldable(conv, bn):
            seq._modules[first] = fold_conv_bn(conv, bn)
            seq._modules[second] = nn.Identity()
            count += 1
    return count


def _fuse_named_pairs(module: nn.Module) -> int:
    count = 0
    for name, child in list(module.named_children()):
        if not name.startswith("conv"):
            continue
        bn_name = "bn" + name[len("conv") :]
        bn = getattr(module, bn_name, None)
        if bn is not None and _foldable(child, bn):
            setattr(module, name, fold_conv_bn(child, bn))
            setattr(module, bn_name, nn.Identity())
            count += 1
    return count


def fuse_bn(model: nn.Module) -> nn.Module:
    """Fold every Conv2d + BatchNorm2d pair of `model` in place; returns the model (in eval mode).

    Call after loading weights; the outputs equal the unfused model's up to float rounding.
    """
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            _fuse_sequential(module)
        else:
            _fuse_named_pairs(module)
    return model


def count_batchnorm(model: nn.Module) -> int:
    """Number of BatchNorm2d layers left (0 after a complete fuse)."""
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, *inputs: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of `model(*inputs)`.

    A randomly initialised network keeps BatchNorm's identity statistics (mean 0, variance 1),
    so in eval mode its activations grow layer after layer (a random ResNet-50 head outputs
    ~1e6) and the tracker's exp() of regression outputs overflows. One training-mode pass
    over random inputs gives each BatchNorm the statistics it sees, which keeps random-weight
    runs finite (use :func:`calibration_images`: pure pixel noise gives statistics far from a
    real frame's, and a random ResNet-50 then still overflows on real images). Used only for
    ``--random-init``; released weights carry their own statistics.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration pass
        m.train()
    try:
        model(*inputs)
    finally:
        for m, (momentum, _) in zip(norms, saved, strict=True):
            m.momentum = momentum
        model.eval()
    return model


def calibration_images(size: int, seed: int = 0) -> torch.Tensor:
    """Four synthetic (3, size, size) images in 0-255, from smooth to pixel noise.

    Random colours on 4x4, 16x16 and 64x64 grids upsampled bilinearly, plus full-resolution
    noise: a mix of smooth regions and texture, closer to real frames than noise alone.
    """
    gen = torch.Generator().manual_seed(seed)
    images = []
    for grid in (4, 16, 64, size):
        coarse = torch.rand(1, 3, grid, grid, generator=gen) * 255
        images.append(F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False))
    return torch.cat(images)
