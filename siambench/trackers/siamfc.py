"""Adapter ``siamfc``: the original SiamFC, tracking loop of huanglianghua/siamfc-pytorch.

pysot has no SiamFC, so the loop follows siamfc-pytorch's ``TrackerSiamFC`` (reference
section 3.3, "siamfc-pytorch differences"):

- crops of side ``round(size)`` whose first pixel is ``round(centre - (size - 1) / 2)``
  (Python 3 rounding, halves to even), padded with the rounded image mean;
- ``scale_num`` search crops of sides ``x_sz * scale_step ** linspace(-(n//2), n//2, n)``;
- responses upsampled bicubically by ``response_up``; every non-centre scale's whole map
  multiplied by ``scale_penalty``; the scale with the highest peak wins;
- its map shifted to a minimum of 0, normalised to sum 1, blended with a normalised Hann
  window by ``window_influence``; the peak's offset from the map centre ``(U - 1) / 2``,
  scaled to the frame with that scale's search size, moves the centre;
- target, exemplar and search sizes all multiplied by ``(1 - scale_lr) + scale_lr * factor``.
  Neither centre nor size is clipped.

Colour: siamfc-pytorch reads frames as RGB; siambench frames are BGR as OpenCV reads them, so
with ``input_color: rgb`` (its released weights) every frame is converted before cropping.

Boxes are (x, y, w, h) with the centre at ``x + (w - 1) / 2``, as siamfc-pytorch; where it
starts from the ground truth (0-based, ``x - 1 + (w - 1) / 2``) and how it writes its boxes
(1-based again) is the ``siamfc-pytorch`` box policy (:mod:`siambench.trackers.box_policy`).
The reported score is the sigmoid of the raw response at the chosen peak (the network was
trained with a logistic loss), before any penalty or window.

Spec ``model`` keys:
- ``backbone``: ``alexnet_v1`` (the only one; siamfc-pytorch ``AlexNetV1``);
- ``out_scale``: factor on the correlation (0.001);
- ``input_color``: ``rgb`` (default; siamfc-pytorch weights) or ``bgr``;
- ``fuse_bn``: fold BatchNorm into the convolutions after loading (default true);
- ``channels_last``: auto (default: on), true or false: NHWC convolutions (see
  :func:`siambench.trackers.network.use_channels_last`).

Spec ``hyper`` keys (siamfc-pytorch ``parse_args`` names; defaults are its values):
exemplar_size (127), instance_size (255), context_amount (0.5), scale_num (3), scale_step
(1.0375), scale_lr (0.59), scale_penalty (0.9745), window_influence (0.176), response_size
(17), response_up (16), total_stride (8).

Not merged with SiamDW's SiamFC+ loop (:mod:`siambench.trackers.siamdw`): the two differ in
the algorithm, not only in constants. SiamFC+ cuts its scales from one crop (two resizes),
measures the displacement from ``ceil(U / 2)`` with the search size before the update rather
than the winning scale's, penalises only the per-scale maxima and clips centre, size and search
size; siamfc-pytorch crops each scale from the frame, shifts from ``(U - 1) / 2`` and clips
nothing. What they share (target state, network calls, spec checks) is in
:mod:`siambench.trackers.siamese`, :mod:`~siambench.trackers.network` and
:mod:`~siambench.trackers.spec_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.models.siamfc import siamfc_alexnet
from siambench.trackers.base import TrackResult
from siambench.trackers.network import (
    NetworkTracker,
    prepare_model,
    random_images,
    seeded,
    use_channels_last,
)
from siambench.trackers.registry import TrackerSpec, register_adapter
from siambench.trackers.siamese import context_side
from siambench.trackers.spec_checks import check_keys, config_from, where

# --------------------------------------------------------------------------- SiamFC


@dataclass(frozen=True)
class SiamFCConfig:
    """siamfc-pytorch's inference parameters (``TrackerSiamFC.parse_args`` defaults)."""

    exemplar_size: int = 127
    instance_size: int = 255
    context_amount: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_lr: float = 0.59
    scale_penalty: float = 0.9745
    window_influence: float = 0.176
    response_size: int = 17
    response_up: int = 16
    total_stride: int = 8

    @property
    def upscale_size(self) -> int:
        return self.response_up * self.response_size

    def scale_factors(self) -> np.ndarray:
        half = self.scale_num // 2
        return self.scale_step ** np.linspace(-half, half, self.scale_num)


def crop_siamfc(
    image: np.ndarray, center_xy: np.ndarray, size: float, out_size: int, fill: np.ndarray
) -> np.ndarray:
    """siamfc-pytorch's ``crop_and_resize`` as an (out, out, 3) uint8 patch.

    Its first pixel is ``round(c - (side - 1) / 2)`` with ``side = round(size)``; ops' crop
    starts at ``round(c' - (side + 1) / 2)``, so the centre is passed shifted by one pixel.
    """
    side = round(float(size))
    return ops.crop_patch(image, np.asarray(center_xy) + 1.0, out_size, side, fill, "python")


def siamfc_peak(
    responses: np.ndarray, cfg: SiamFCConfig, window: np.ndarray
) -> tuple[int, int, int]:
    """(scale, row, col) of siamfc-pytorch's peak in (n, U, U) upsampled responses."""
    penalised = responses.copy()
    half = cfg.scale_num // 2
    penalised[:half] *= cfg.scale_penalty
    penalised[half + 1 :] *= cfg.scale_penalty
    scale_id = int(np.argmax(np.amax(penalised, axis=(1, 2))))
    response = penalised[scale_id]
    response = response - response.min()
    response = response / (response.sum() + 1e-16)
    response = (1 - cfg.window_influence) * response + cfg.window_influence * window
    row, col = np.unravel_index(int(response.argmax()), response.shape)
    return scale_id, int(row), int(col)


class SiamFCTracker(NetworkTracker):
    """siamfc-pytorch's ``TrackerSiamFC.init`` / ``update`` around a SiamFC model."""

    def __init__(
        self,
        model: nn.Module,
        config: SiamFCConfig,
        device: torch.device | str = "cpu",
        rgb: bool = True,
        channels_last: bool = False,
    ) -> None:
        super().__init__(model, device, channels_last)
        self.config = config
        self.rgb = rgb
        self.window = ops.cosine_window(config.upscale_size, normalize=True)
        self.factors = config.scale_factors()
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.z_sz = 0.0
        self.x_sz = 0.0
        self.fill = np.zeros(3)

    def _colour(self, frame: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        # siambench frames are BGR; siamfc-pytorch's weights were trained on RGB.
        return ops.reverse_channels(frame) if self.rgb else frame

    def init(self, frame: np.ndarray | torch.Tensor, box: np.ndarray) -> None:
        cfg = self.config
        image = self._colour(frame)
        self.center, self.size = self.box_policy.start(box)
        self.z_sz = float(context_side(self.size[0], self.size[1], cfg.context_amount))
        self.x_sz = self.z_sz * cfg.instance_size / cfg.exemplar_size
        # siamfc-pytorch pads with cv2.copyMakeBorder, which rounds the mean colour
        self.fill = np.round(ops.channel_mean(image))
        z = crop_siamfc(image, self.center, self.z_sz, cfg.exemplar_size, self.fill)
        self.set_template(ops.patch_to_tensor(z))

    def search_inputs(self, frame: np.ndarray | torch.Tensor) -> torch.Tensor:
        """One crop per scale, each cut from the frame (a batch of ``scale_num``)."""
        cfg = self.config
        image = self._colour(frame)
        return ops.stack_patches([
            crop_siamfc(image, self.center, self.x_sz * f, cfg.instance_size, self.fill)
            for f in self.factors
        ])

    def finish(self, outputs: torch.Tensor, frame: np.ndarray | torch.Tensor) -> TrackResult:
        cfg = self.config
        responses = outputs.float().cpu()[:, 0].numpy()
        upsampled = ops.upsample_responses(responses, cfg.upscale_size)
        scale_id, row, col = siamfc_peak(upsampled, cfg, self.window)

        disp_response = np.array([col, row]) - (cfg.upscale_size - 1) / 2
        disp_instance = disp_response * cfg.total_stride / cfg.response_up
        factor = self.factors[scale_id]
        self.center = self.center + disp_instance * self.x_sz * factor / cfg.instance_size
        scale = (1 - cfg.scale_lr) + cfg.scale_lr * factor
        self.size = self.size * scale
        self.z_sz *= scale
        self.x_sz *= scale

        w, h = self.size
        box = np.array([self.center[0] - (w - 1) / 2, self.center[1] - (h - 1) / 2, w, h])
        box = self.box_policy.written(box)
        peak = float(upsampled[scale_id, row, col])
        return TrackResult(box=box, score=float(1.0 / (1.0 + np.exp(-peak))))


_SIAMFC_MODEL_KEYS = {"backbone", "out_scale", "input_color", "fuse_bn", "channels_last"}


@register_adapter("siamfc")
def build(
    spec: TrackerSpec, device: torch.device | str, weights: Path | None, random_init: bool
) -> SiamFCTracker:
    """Build the ``siamfc`` tracker of `spec` (see the module docstring for its keys)."""
    place = where(spec)
    check_keys(spec.model, _SIAMFC_MODEL_KEYS, "model", place)
    config = config_from(SiamFCConfig, spec.hyper, place)
    backbone = spec.model.get("backbone", "alexnet_v1")
    if backbone != "alexnet_v1":
        raise SiambenchError(f"{place}: backbone must be 'alexnet_v1', got {backbone!r}")
    colour = spec.model.get("input_color", "rgb")
    if colour not in ("rgb", "bgr"):
        raise SiambenchError(f"{place}: input_color must be 'rgb' or 'bgr', got {colour!r}")
    out_scale = float(spec.model.get("out_scale", 0.001))
    model = seeded(lambda: siamfc_alexnet(out_scale))
    model = prepare_model(
        model, spec, device, weights, random_init,
        random_images(config.exemplar_size, config.instance_size),
    )
    tracker = SiamFCTracker(model, config, device, rgb=colour == "rgb",
                            channels_last=use_channels_last(spec.model.get("channels_last"), device))
    tracker.name = spec.name
    return tracker
