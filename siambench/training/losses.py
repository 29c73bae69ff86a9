"""Training losses: SiamFC's balanced logistic loss, SiamRPN's cross-entropy + smooth L1.

All losses are summed over the positions of one sample (with the sample's own weights) and
averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Smooth-L1 transition point, Faster R-CNN's RPN setting (sigma = 3, beta = 1 / sigma^2).
SMOOTH_L1_BETA = 1.0 / 9.0


def logistic_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """SiamFC: weighted ``log(1 + exp(-y v))`` over the score map, y in {-1, +1} as 1/0 labels."""
    per_cell = F.binary_cross_entropy_with_logits(logits, labels, weight=weights, reduction="none")
    return per_cell.flatten(1).sum(1).mean()


def split_rpn_outputs(
    cls: torch.Tensor, loc: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 2A, S, S), (B, 4A, S, S) -> logits (B, K, 2) and deltas (B, 4, K), K = A*S*S.

    The channel order is the one the tracker decodes (``siambench.ops.rpn_scores`` and
    ``rpn_deltas``): background channels then foreground ones, dx then dy, dw, dh, each
    anchor-major, so anchor k of the training targets is anchor k at test time.
    """
    batch = cls.size(0)
    logits = cls.reshape(batch, 2, -1).permute(0, 2, 1)
    deltas = loc.reshape(batch, 4, -1)
    return logits, deltas


def rpn_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the sampled anchors, positives and negatives weighing one half each
    (pysot's ``select_cross_entropy_loss``); labels -1 are ignored."""
    log_prob = F.log_softmax(logits, dim=-1)
    total = logits.new_zeros(())
    for value in (1, 0):
        chosen = labels == value
        if chosen.any():
            total = total + 0.5 * F.nll_loss(log_prob[chosen], labels[chosen])
    return total


def rpn_regression_loss(
    deltas: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Smooth L1 on the four normalised offsets, weighted per anchor (1/positives), per sample."""
    diff = F.smooth_l1_loss(deltas, targets, reduction="none", beta=SMOOTH_L1_BETA).sum(1)
    return (diff * weights).sum(1).mean()


def rpn_loss(
    cls: torch.Tensor,
    loc: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    reg_weight: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``L_cls + reg_weight * L_reg`` and its parts (as floats, for logging)."""
    logits, deltas = split_rpn_outputs(cls, loc)
    l_cls = rpn_classification_loss(logits, labels)
    l_reg = rpn_regression_loss(deltas, targets, weights)
    return l_cls + reg_weight * l_reg, {"cls": l_cls.item(), "reg": l_reg.item()}


def scale_rank_loss(response: torch.Tensor, off_scale: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """SiamFC's scale choice as a three-way classification: cross-entropy of the right scale
    against the off-scale crops, each scored by its highest response on the target's cells.

    response (B, 1, H, W): the search crop at the target's scale; off_scale (B, 2, H, W): the
    same region cut wider and narrower; positive (B, 1, H, W) bool: the cells on the target.
    The tracker keeps the scale whose map peaks highest, so this is the decision it makes;
    samples without a positive cell (negative pairs, targets off the map) are left out.
    """
    maps = torch.cat([response, off_scale], dim=1).flatten(2)  # (B, 3, H*W)
    mask = positive.flatten(1)[:, None, :].expand_as(maps)
    peaks = maps.masked_fill(~mask, float("-inf")).amax(dim=2)  # (B, 3)
    keep = positive.flatten(1).any(dim=1)
    if not keep.any():
        return response.new_zeros(())
    target = torch.zeros(int(keep.sum()), dtype=torch.long, device=response.device)
    return F.cross_entropy(peaks[keep], target)
