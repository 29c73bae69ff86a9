"""Rendering: compositing sprites (with motion blur) and the frames of a planned sequence."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from siambench.synth.geometry import half_extents

if TYPE_CHECKING:  # scene imports this module to draw its sprites
    from siambench.synth.scene import SequencePlan

_NOISE_SIGMA = 2.0  # sensor noise, grey levels


def draw_sprite(
    frame: np.ndarray,
    levels: list[np.ndarray],
    size: tuple[float, float],
    centre: tuple[float, float],
    scale: float,
    angle: float,
    streak: np.ndarray | None = None,
    want_alpha: bool = False,
) -> np.ndarray | None:
    """Composites a sprite onto `frame` in place; returns its sharp full-frame alpha if asked."""
    import cv2

    height, width = frame.shape[:2]
    base_h, base_w = levels[0].shape[:2]
    shrink = max(base_w / (size[0] * scale), base_h / (size[1] * scale))
    # Pick the pyramid level that leaves between 0.75 and 1.5 texels per pixel.
    level = min(len(levels) - 1, max(0, math.floor(math.log2(shrink / 1.5)) + 1))
    texture = levels[level]
    th, tw = texture.shape[:2]
    theta = math.radians(angle)
    rotate = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    linear = rotate @ np.diag([size[0] * scale / tw, size[1] * scale / th])
    # Continuous map X = linear @ u + offset; OpenCV indexes pixel centres, hence the half-pixels.
    offset = np.asarray(centre) - linear @ np.array([tw / 2, th / 2])
    offset = offset + linear @ np.array([0.5, 0.5]) - 0.5
    ex, ey = half_extents(size, scale, angle)
    pad = 2 + (0 if streak is None else math.ceil(np.hypot(*streak) / 2) + 1)
    x0, y0 = max(0, math.floor(centre[0] - ex) - pad), max(0, math.floor(centre[1] - ey) - pad)
    x1 = min(width, math.ceil(centre[0] + ex) + pad + 1)
    y1 = min(height, math.ceil(centre[1] + ey) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((height, width), np.float32) if want_alpha else None
    matrix = np.hstack([linear, (offset - (x0, y0))[:, None]])
    layer = cv2.warpAffine(
        texture,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    sharp_alpha = layer[..., 3].copy()
    if streak is not None and np.hypot(*streak) >= 1.0:
        layer = cv2.filter2D(layer, -1, _streak_kernel(streak), borderType=cv2.BORDER_CONSTANT)
    roi = frame[y0:y1, x0:x1]
    roi *= 1.0 - layer[..., 3:4]
    roi += layer[..., :3]
    if not want_alpha:
        return None
    alpha = np.zeros((height, width), np.float32)
    alpha[y0:y1, x0:x1] = sharp_alpha
    return alpha


def _streak_kernel(streak: np.ndarray) -> np.ndarray:
    """A normalised line of the streak's length and direction (linear motion blur)."""
    length = float(np.hypot(*streak))
    side = 2 * math.ceil(length / 2) + 1
    kernel = np.zeros((side, side), np.float32)
    steps = np.linspace(-0.5, 0.5, max(2, math.ceil(4 * length)))
    xs = side // 2 + steps * streak[0]
    ys = side // 2 + steps * streak[1]
    ix, iy = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - ix, ys - iy
    for dx, dy, w in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(kernel, (np.clip(iy + dy, 0, side - 1), np.clip(ix + dx, 0, side - 1)), w)
    return kernel / kernel.sum()


def render_frames(
    plan: SequencePlan, noise: np.random.Generator
) -> Iterator[tuple[np.ndarray, float]]:
    """Each frame (BGR uint8) with the fraction of the target hidden by occluders."""
    import cv2

    width, height = plan.size
    gx = ((np.arange(width, dtype=np.float32) + 0.5) - width / 2) / (width / 2)
    gy = ((np.arange(height, dtype=np.float32) + 0.5) - height / 2) / (height / 2)
    target = plan.target
    for t in range(plan.n):
        shift = np.array([[1.0, 0.0, -plan.camera[t, 0]], [0.0, 1.0, -plan.camera[t, 1]]])
        frame = cv2.warpAffine(
            plan.background,
            shift,
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        for sprite in plan.distractors:
            sprite.draw(frame, t)
        target_alpha = target.draw(frame, t, want_alpha=bool(plan.occluders))
        hidden = 0.0
        if plan.occluders:
            cover = np.zeros((height, width), np.float32)
            for sprite in plan.occluders:
                cover += sprite.draw(frame, t, want_alpha=True) * (1.0 - cover)
            hidden = float((target_alpha * cover).sum() / max(float(target_alpha.sum()), 1e-6))
        cos, sin = math.cos(plan.light_dir[t]), math.sin(plan.light_dir[t])
        gain = plan.light_level[t] * (
            1.0 + plan.light_slope[t] * (gy[:, None] * sin + gx[None, :] * cos)
        )
        frame *= np.maximum(gain, 0.0)[..., None]
        frame += noise.standard_normal(frame.shape, dtype=np.float32) * _NOISE_SIGMA
        yield np.clip(np.rint(frame), 0, 255).astype(np.uint8), hidden
