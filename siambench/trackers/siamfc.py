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

Boxes are (x, y, w, h) with the centre at ``x + (w - 1) / 2`` both ways, as siamfc-pytorch.
The reported score is the sigmoid of the raw response at the chosen peak (the network was
trained with a logistic loss), before any penalty or window.

Spec ``model`` keys:
- ``backbone``: ``alexnet_v1`` (the only one; siamfc-pytorch ``AlexNetV1``);
- ``out_scale``: factor on the correlation (0.001);
- ``input_color``: ``rgb`` (default; siamfc-pytorch weights) or ``bgr``;
- ``fuse_bn``: fold BatchNorm into the convolutions after loading (default true).

Spec ``hyper`` keys (siamfc-pytorch ``parse_args`` names; defaults are its values):
exemplar_size (127), instance_size (255), context_amount (0.5), scale_num (3), scale_step
(1.0375), scale_lr (0.59), scale_penalty (0.9745), window_influence (0.176), response_size
(17), response_up (16), total_stride (8).

:class:`NetworkTracker` and :func:`prepare_model` are shared with the SiamDW adapters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.models.checkpoints import load_checkpoint
from siambench.models.fuse import calibrate_batchnorm, fuse_bn
from siambench.models.siamfc import siamfc_alexnet
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.registry import TrackerSpec, register_adapter

RANDOM_INIT_SEED = 0  # --random-init builds the same network every time

C = TypeVar("C")


# --------------------------------------------------------------------------- shared helpers


def where(spec: TrackerSpec) -> str:
    """How error messages name a spec."""
    return f"tracker {spec.name!r}" + (f" ({spec.source})" if spec.source else "")


def check_keys(section: Mapping[str, Any], known: set[str], what: str, place: str) -> None:
    """Raise SiambenchError naming every key of `section` that is not in `known`."""
    unknown = sorted(set(section) - known)
    if unknown:
        raise SiambenchError(
            f"{place}: unknown {what} key(s) {', '.join(map(str, unknown))}; "
            f"expected {', '.join(sorted(known))}"
        )


def config_from(cls: type[C], values: Mapping[str, Any], place: str) -> C:
    """Build the dataclass `cls` from a spec's hyper section, rejecting keys it does not have."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    check_keys(values, names, "hyper", place)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
    try:
        return cls(**kwargs)
    except SiambenchError as exc:  # a value the config itself rejects
        raise SiambenchError(f"{place}: {exc}") from exc


def prepare_model(
    model: nn.Module,
    spec: TrackerSpec,
    device: torch.device | str,
    weights: Path | None,
    random_init: bool,
    calibration_inputs: Callable[[], tuple[torch.Tensor, ...]],
    load: Callable[[nn.Module, Path], nn.Module] = load_checkpoint,
) -> nn.Module:
    """Weights (or calibrated random ones), eval mode, optional BN folding, device.

    With `random_init` the BatchNorm statistics are set from one pass over random inputs so
    that a random network's outputs stay finite; otherwise `weights` is loaded strictly.
    """
    if random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            calibrate_batchnorm(model, *calibration_inputs())
    elif weights is not None:
        load(model, weights)
    else:
        raise SiambenchError(f"{where(spec)}: no weights given (use --weights FILE or --random-init)")
    model.eval()
    if spec.model.get("fuse_bn", True):
        fuse_bn(model)
    return model.to(torch.device(device))


def seeded(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a network with the fixed random-init seed, leaving the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        return build()


def random_images(*sizes: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    """A factory of random 0-255 image batches of the given square sizes (for calibration)."""
    return lambda: tuple(torch.rand(1, 3, s, s) * 255 for s in sizes)


class NetworkTracker(Tracker):
    """A tracker around a torch model: device placement and timing of the network calls."""

    def __init__(self, model: nn.Module, device: torch.device | str = "cpu") -> None:
        self.model = model.eval()
        self.device = torch.device(device)
        self._model_seconds = 0.0

    @property
    def model_seconds(self) -> float:
        return self._model_seconds

    def run_network(self, fn: Callable[..., Any], *inputs: torch.Tensor, fetch: bool = True) -> Any:
        """``fn(*inputs)`` on the device under inference mode.

        With `fetch`, the output tensors come back to the CPU as float32 (a tuple stays a
        tuple); without, nothing is returned (the template branch keeps its state on the model).
        """
        inputs = tuple(t.to(self.device, non_blocking=True) for t in inputs)
        with torch.inference_mode():
            start = time.perf_counter()
            out = fn(*inputs)
            if fetch:
                out = tuple(o.float().cpu() for o in out) if isinstance(out, tuple) else out.float().cpu()
            elif self.device.type == "cuda":
                torch.cuda.synchronize(self.device)  # time the work, not its launch
            self._model_seconds += time.perf_counter() - start
        return out if fetch else None


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
    ) -> None:
        super().__init__(model, device)
        self.config = config
        self.rgb = rgb
        self.window = ops.cosine_window(config.upscale_size, normalize=True)
        self.factors = config.scale_factors()
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.z_sz = 0.0
        self.x_sz = 0.0
        self.fill = np.zeros(3)

    def _colour(self, frame: np.ndarray) -> np.ndarray:
        # siambench frames are BGR; siamfc-pytorch's weights were trained on RGB.
        return np.ascontiguousarray(frame[..., ::-1]) if self.rgb else frame

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        cfg = self.config
        image = self._colour(frame)
        x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64)[:4])
        self.center = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        self.size = np.array([w, h])
        context = cfg.context_amount * (w + h)
        self.z_sz = float(np.sqrt((w + context) * (h + context)))
        self.x_sz = self.z_sz * cfg.instance_size / cfg.exemplar_size
        # siamfc-pytorch pads with cv2.copyMakeBorder, which rounds the mean colour
        self.fill = np.round(ops.channel_mean(image))
        z = crop_siamfc(image, self.center, self.z_sz, cfg.exemplar_size, self.fill)
        self.run_network(self.model.template, ops.patch_to_tensor(z), fetch=False)

    def track(self, frame: np.ndarray) -> TrackResult:
        cfg = self.config
        image = self._colour(frame)
        crops = [
            crop_siamfc(image, self.center, self.x_sz * f, cfg.instance_size, self.fill)
            for f in self.factors
        ]
        x = torch.cat([ops.patch_to_tensor(c) for c in crops])
        responses = self.run_network(self.model.track, x)[:, 0].numpy()
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
        peak = float(upsampled[scale_id, row, col])
        return TrackResult(box=box, score=float(1.0 / (1.0 + np.exp(-peak))))


_SIAMFC_MODEL_KEYS = {"backbone", "out_scale", "input_color", "fuse_bn"}


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
    tracker = SiamFCTracker(model, config, device, rgb=colour == "rgb")
    tracker.name = spec.name
    return tracker
