"""Networks made for the analyses of ``siambench analyze`` (not released trackers).

``siamrpn_small_resnet``: SiamRPN++'s layout (backbone, a neck that keeps the central 7x7 of
the template features, a depthwise RPN head) around the padded
:class:`~siambench.models.backbones.small_resnet.SmallResNet`, so that the padding-induced
spatial bias can be reproduced by CPU training. Template 127 -> 7x7 kernels, search 255 ->
31x31 features, a 25x25 score map (pysot's ResNet-50 geometry: anchor stride 8, base size 8).
"""

from __future__ import annotations

from siambench.models import register_model
from siambench.models.backbones.small_resnet import SmallResNet
from siambench.models.necks import AdjustLayer
from siambench.models.rpn_heads import DepthwiseRPN
from siambench.models.siamrpn import SiamRPN


@register_model(name="siamrpn_small_resnet")
def siamrpn_small_resnet(anchor_num: int = 5, width: int = 64) -> SiamRPN:
    """SiamRPN++ with the small padded ResNet (about 0.4 M parameters with its head)."""
    backbone = SmallResNet((width // 4, width // 2, width))
    return SiamRPN(backbone, AdjustLayer(width, width, center_size=7),
                   DepthwiseRPN(anchor_num, width, width))
