"""Small tensor and array operations shared by every Siamese tracker.

Everything here is a pure function of its arguments, with no tracker state, so that the SiamFC,
SiamRPN, SiamRPN++ and SiamDW adapters can share one tested implementation. The definitions
follow pysot (``pysot/tracker/base_tracker.py``, ``siamrpn_tracker.py``, ``utils/anchor.py``,
``core/xcorr.py``); SiamDW and DaSiamRPN differ only where a parameter says so.

Conventions:
- Images are BGR ``uint8`` arrays of shape (H, W, 3), as OpenCV reads them.
- :func:`get_subwindow` returns a ``torch.float32`` tensor of shape (1, 3, S, S) on the CPU
  (BGR, raw 0-255 values, no normalisation), which is what every released model expects; the
  caller moves it to its device. :func:`crop_patch` returns the same pixels as an HWC ``uint8``
  array for callers that crop several scales from one patch.
- The crop functions also take the frame as a torch ``uint8`` (H, W, 3) tensor (uploaded once
  per frame with :func:`frame_tensor`): they then crop, pad and resize on the tensor's device
  and return tensors there, equal to the OpenCV crops within one grey level.
- Anchor, window and decoding helpers work on numpy arrays, in search-crop pixels relative to
  the crop centre, with pysot's flat index ``a * S * S + y * S + x`` (anchor-major).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Rounding = Literal["half_up", "python"]


# --------------------------------------------------------------------------- cropping


def channel_mean(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per-channel mean of an (H, W, C) image as float64, the value crops are padded with."""
    if isinstance(image, torch.Tensor):
        return image.double().mean(dim=(0, 1)).cpu().numpy()
    return np.mean(image, axis=(0, 1))


def frame_tensor(frame: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """A BGR uint8 frame as a (H, W, 3) uint8 tensor on `device`: the one upload per frame."""
    return torch.from_numpy(np.ascontiguousarray(frame)).to(device, non_blocking=True)


def reverse_channels(image: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """BGR <-> RGB of an (H, W, 3) image, array or tensor."""
    if isinstance(image, torch.Tensor):
        return image.flip(-1)
    return np.ascontiguousarray(image[..., ::-1])


def _round_start(value: float, rounding: Rounding) -> int:
    # pysot uses floor(x + 0.5); SiamDW and DaSiamRPN call Python's round(), which under
    # Python 3 rounds halves to even. Both are kept so either family reproduces its reference.
    if rounding == "half_up":
        return int(math.floor(value + 0.5))
    if rounding == "python":
        return int(round(value))
    raise ValueError(f"unknown rounding {rounding!r}; expected 'half_up' or 'python'")


def crop_patch(
    image: np.ndarray | torch.Tensor,
    center_xy: Sequence[float],
    model_size: int,
    original_size: float,
    avg_chans: np.ndarray,
    rounding: Rounding = "half_up",
) -> np.ndarray:
    """Crop a square of side `original_size` centred on `center_xy` and resize it to `model_size`.

    Parts of the square outside the image take the value `avg_chans` cast to uint8 (truncated,
    as pysot's uint8 canvas does). Returns an (model_size, model_size, C) uint8 array.
    The square's first column is ``round(cx - (original_size + 1) / 2)`` with `rounding`.
    """
    size = int(original_size)
    if size < 1:
        raise ValueError(f"crop size must be at least 1 pixel, got {original_size}")
    height, width = image.shape[:2]
    half = (original_size + 1) / 2
    xmin = _round_start(center_xy[0] - half, rounding)
    ymin = _round_start(center_xy[1] - half, rounding)
    if isinstance(image, torch.Tensor):
        return _crop_tensor(image, xmin, ymin, size, model_size, avg_chans)
    xmax, ymax = xmin + size - 1, ymin + size - 1

    if xmin >= 0 and ymin >= 0 and xmax < width and ymax < height:
        patch = image[ymin : ymax + 1, xmin : xmax + 1]
    else:
        # Only the crop window is materialised, not pysot's whole padded image: the pixels are
        # the same, the cost no longer grows with the image when the target nears a border.
        fill = np.asarray(avg_chans).astype(np.uint8)
        x0, y0 = max(xmin, 0), max(ymin, 0)
        x1, y1 = min(xmax + 1, width), min(ymax + 1, height)
        if x0 < x1 and y0 < y1:
            # OpenCV pads in C: numpy's broadcast fill of a 3-vector is ~50x slower, and a
            # drifting tracker's search square can reach thousands of pixels.
            patch = cv2.copyMakeBorder(image[y0:y1, x0:x1], y0 - ymin, ymax + 1 - y1, x0 - xmin,
                                       xmax + 1 - x1, cv2.BORDER_CONSTANT,
                                       value=[int(v) for v in fill])
        else:
            patch = np.empty((size, size, image.shape[2]), dtype=np.uint8)
            patch[:] = fill

    if size != model_size:
        patch = cv2.resize(patch, (model_size, model_size))
    return patch


def _crop_tensor(
    image: torch.Tensor, xmin: int, ymin: int, size: int, model_size: int, avg_chans: np.ndarray
) -> torch.Tensor:
    """:func:`crop_patch` on the device of `image`, a (H, W, C) uint8 tensor.

    The square is pasted onto a canvas of the uint8 mean colour, then resized bilinearly
    with half-pixel centres and no antialiasing, which is what cv2.INTER_LINEAR computes
    (OpenCV in 11-bit fixed point, hence the grey level of tolerance); rounded back to uint8.
    """
    height, width = image.shape[:2]
    x0, y0 = max(xmin, 0), max(ymin, 0)
    x1, y1 = min(xmin + size, width), min(ymin + size, height)
    if xmin >= 0 and ymin >= 0 and x1 - xmin == size and y1 - ymin == size:
        patch = image[ymin : ymin + size, xmin : xmin + size]
    else:
        fill = torch.as_tensor(np.asarray(avg_chans).astype(np.uint8), device=image.device)
        patch = fill.expand(size, size, image.shape[2]).clone()
        if x0 < x1 and y0 < y1:
            patch[y0 - ymin : y1 - ymin, x0 - xmin : x1 - xmin] = image[y0:y1, x0:x1]
    if size == model_size:
        return patch
    chw = patch.permute(2, 0, 1).unsqueeze(0).float()
    resized = F.interpolate(chw, size=(model_size, model_size), mode="bilinear", align_corners=False)
    return resized[0].round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)


def patch_to_tensor(patch: np.ndarray | torch.Tensor) -> torch.Tensor:
    """HWC uint8 patch -> (1, C, H, W) float32 tensor with the raw 0-255 values (a tensor
    patch stays on its device)."""
    if isinstance(patch, torch.Tensor):
        return patch.permute(2, 0, 1).float().unsqueeze(0).contiguous()
    return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1))).float().unsqueeze(0)


def stack_patches(patches: Sequence[np.ndarray | torch.Tensor]) -> torch.Tensor:
    """HWC uint8 patches -> one (N, C, H, W) float32 batch."""
    return torch.cat([patch_to_tensor(p) for p in patches])


def get_subwindow(
    image: np.ndarray | torch.Tensor,
    center_xy: Sequence[float],
    model_size: int,
    original_size: float,
    avg_chans: np.ndarray,
    rounding: Rounding = "half_up",
) -> torch.Tensor:
    """pysot's ``get_subwindow``: the crop of :func:`crop_patch` as a (1, 3, S, S) float tensor."""
    return patch_to_tensor(
        crop_patch(image, center_xy, model_size, original_size, avg_chans, rounding)
    )


# --------------------------------------------------------------------------- cross-correlation


def xcorr_slow(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each search map with its own template, one output channel: (B,1,H',W')."""
    outputs = [F.conv2d(x[i : i + 1], kernel[i : i + 1]) for i in range(x.size(0))]
    return torch.cat(outputs, dim=0)


def xcorr_fast(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Up-channel correlation with the batch folded into groups.

    `kernel` is (B, k*C, h, w), read as k kernels of C channels per sample; the result is
    (B, k, H', W'). With k=1 this equals :func:`xcorr_slow`.
    """
    batch = kernel.size(0)
    channels = x.size(1)
    pk = kernel.reshape(-1, channels, kernel.size(2), kernel.size(3))
    px = x.reshape(1, -1, x.size(2), x.size(3))
    out = F.conv2d(px, pk, groups=batch)
    return out.reshape(batch, -1, out.size(2), out.size(3))


def xcorr_depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Channel-by-channel correlation: (B,C,H,W) * (B,C,h,w) -> (B,C,H',W')."""
    batch, channels = kernel.size(0), kernel.size(1)
    px = x.reshape(1, batch * channels, x.size(2), x.size(3))
    pk = kernel.reshape(batch * channels, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(px, pk, groups=batch * channels)
    return out.reshape(batch, channels, out.size(2), out.size(3))


# --------------------------------------------------------------------------- anchors and window


def score_size(instance_size: int, exemplar_size: int, stride: int, base_size: int) -> int:
    """Side of the score map for a search crop, as pysot's tracker computes it."""
    return (instance_size - exemplar_size) // stride + 1 + base_size


def base_anchors(stride: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """The (len(ratios)*len(scales), 4) anchor shapes as (0, 0, w, h), ratio-major.

    For each ratio r: ``ws = int(sqrt(stride**2 / r))``, ``hs = int(ws * r)``, then each scale s
    gives (ws*s, hs*s). With stride 8 and scale 8, r=0.33 gives 104x32 and r=3 gives 32x96.
    """
    area = stride * stride
    shapes = []
    for ratio in ratios:
        ws = int(math.sqrt(area * 1.0 / ratio))
        hs = int(ws * ratio)
        for scale in scales:
            shapes.append((0.0, 0.0, ws * scale, hs * scale))
    return np.asarray(shapes, dtype=np.float32)


def generate_anchors(
    stride: int, ratios: Sequence[float], scales: Sequence[float], score_size: int
) -> np.ndarray:
    """All anchors of an S x S score map as a (K*S*S, 4) float32 array of (cx, cy, w, h).

    Row ``a*S*S + y*S + x`` is anchor shape a at grid cell (x, y), centred at
    ``(-(S//2)*stride + stride*x, -(S//2)*stride + stride*y)`` in search-crop pixels relative to
    the crop centre (the integer division reproduces DaSiamRPN's Python 2 arithmetic).
    """
    shapes = base_anchors(stride, ratios, scales)
    count = shapes.shape[0]
    cells = score_size * score_size
    anchors = np.repeat(shapes, cells, axis=0)
    origin = -(score_size // 2) * stride
    offsets = origin + stride * np.arange(score_size)
    xx, yy = np.meshgrid(offsets, offsets)
    anchors[:, 0] = np.tile(xx.ravel(), count)
    anchors[:, 1] = np.tile(yy.ravel(), count)
    return anchors


def cosine_window(
    size: int, repeat: int | None = None, normalize: bool = False
) -> np.ndarray:
    """Outer product of two Hann windows of length `size` (peak 1, border 0).

    `normalize` divides by the sum (SiamFC style). With `repeat`, the window is flattened and
    tiled `repeat` times, matching the anchor-major layout of :func:`generate_anchors`.
    """
    hann = np.hanning(size)
    window = np.outer(hann, hann)
    if normalize:
        window = window / window.sum()
    if repeat is not None:
        return np.tile(window.ravel(), repeat)
    return window


# --------------------------------------------------------------------------- RPN outputs


def rpn_scores(cls: torch.Tensor) -> np.ndarray:
    """Foreground probability per anchor from a (1, 2A, S, S) map, softmax over bg/fg.

    Channels 0..A-1 are background and A..2A-1 foreground; the result is (A*S*S,) in the
    anchor-major order of :func:`generate_anchors`.
    """
    logits = cls.permute(1, 2, 3, 0).reshape(2, -1).permute(1, 0)
    return F.softmax(logits.float(), dim=1)[:, 1].detach().cpu().numpy()


def rpn_deltas(loc: torch.Tensor) -> np.ndarray:
    """Regression outputs from a (1, 4A, S, S) map as a (4, A*S*S) array of dx, dy, dw, dh."""
    return loc.permute(1, 2, 3, 0).reshape(4, -1).detach().float().cpu().numpy()


def decode_deltas(deltas: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Apply (4, N) deltas to (N, 4) anchors (cx, cy, w, h); returns (4, N) cx, cy, w, h.

    ``cx = dx*aw + acx``, ``cy = dy*ah + acy``, ``w = exp(dw)*aw``, ``h = exp(dh)*ah``.
    """
    boxes = np.empty_like(deltas)
    boxes[0] = deltas[0] * anchors[:, 2] + anchors[:, 0]
    boxes[1] = deltas[1] * anchors[:, 3] + anchors[:, 1]
    boxes[2] = np.exp(deltas[2]) * anchors[:, 2]
    boxes[3] = np.exp(deltas[3]) * anchors[:, 3]
    return boxes


# --------------------------------------------------------------------------- penalties and clipping


def change(ratio: np.ndarray | float) -> np.ndarray | float:
    """``max(r, 1/r)``: 1 when nothing changed, growing with the change in either direction."""
    return np.maximum(ratio, 1.0 / ratio)


def sz(w: np.ndarray | float, h: np.ndarray | float) -> np.ndarray | float:
    """Side of the square with the area of the box padded by half its perimeter (context)."""
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def size_change_penalty(
    pred_w: np.ndarray,
    pred_h: np.ndarray,
    prev_w: float,
    prev_h: float,
    penalty_k: float,
    scale: float = 1.0,
) -> np.ndarray:
    """pysot's scale and aspect-ratio penalty ``exp(-(r_c * s_c - 1) * k)``.

    `prev_w`, `prev_h` are the previous target size and `scale` maps it into the units of the
    predictions (pysot: image pixels and ``scale_z``). ``s_c = change(sz(pred) / sz(prev *
    scale))``, ``r_c = change((prev_w / prev_h) / (pred_w / pred_h))``, computed in that
    order so that the numbers equal pysot's. The penalty is 1 for an unchanged size and shape
    and falls with the change.
    """
    s_c = change(sz(pred_w, pred_h) / sz(prev_w * scale, prev_h * scale))
    r_c = change((prev_w / prev_h) / (pred_w / pred_h))
    return np.exp(-(r_c * s_c - 1) * penalty_k)


def clip_box(
    cx: float, cy: float, w: float, h: float, image_hw: Sequence[int], min_size: float = 10
) -> tuple[float, float, float, float]:
    """Keep the centre inside [0, W] x [0, H] and the size inside [min_size, W] x [min_size, H]."""
    height, width = image_hw[0], image_hw[1]
    cx = max(0.0, min(float(cx), float(width)))
    cy = max(0.0, min(float(cy), float(height)))
    w = max(float(min_size), min(float(w), float(width)))
    h = max(float(min_size), min(float(h), float(height)))
    return cx, cy, w, h


# --------------------------------------------------------------------------- SiamDW / SiamFC helpers


def python2round(value: float) -> float:
    """Python 2's ``round``: halves go away from zero (SiamDW's ``python2round``).

    SiamRPN+ rounds its crop sizes this way, whereas Python 3's ``round`` sends halves to the
    even neighbour (2.5 -> 2, here 3.0). Returns a float with an integral value.
    """
    value = float(value)
    # Python 3 rounds a half to even, so exactly at a half the two roundings below differ by
    # 0 or 2 instead of 1; SiamDW detects halves this way and steps away from zero.
    if round(value + 1) - round(value) != 1:
        return value + math.copysign(0.5, value)
    return float(round(value))


def upsample_responses(responses: np.ndarray, size: int) -> np.ndarray:
    """Bicubic (``cv2.INTER_CUBIC``) upsampling of (N, h, w) response maps to (N, size, size).

    This is how SiamFC and SiamFC+ refine their 17x17 responses (16x to 272x272) before
    taking the peak. Works in float32, as the references do.
    """
    maps = np.asarray(responses, dtype=np.float32)
    return np.stack(
        [cv2.resize(m, (size, size), interpolation=cv2.INTER_CUBIC) for m in maps]
    )
