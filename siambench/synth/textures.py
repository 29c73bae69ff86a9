"""Textures: seeded colour noise, palettes, soft masks and anti-aliasing pyramids."""

from __future__ import annotations

import colorsys
import math

import numpy as np


def make_palette(
    rng: np.random.Generator,
    hue: float,
    spread: float,
    sat: tuple[float, float],
    val: tuple[float, float],
    count: int = 4,
) -> np.ndarray:
    """`count` BGR colours (0..255) around a hue, sorted dark to bright."""
    colours = []
    values = np.sort(rng.uniform(*val, count))
    for v in values:
        h = ((hue + rng.uniform(-spread, spread) / 2) % 360.0) / 360.0
        r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*sat), v)
        colours.append((b * 255, g * 255, r * 255))
    return np.array(colours, dtype=np.float32)


def _noise(
    rng: np.random.Generator, shape: tuple[int, int], cells: tuple[float, ...]
) -> np.ndarray:
    """Smooth noise with unit variance: random grids of the given cell sizes, upsampled."""
    import cv2

    height, width = shape
    total = np.zeros(shape, np.float32)
    for octave, cell in enumerate(cells):
        cell = max(float(cell), 1.5)
        gh, gw = math.ceil(height / cell) + 3, math.ceil(width / cell) + 3
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        up = cv2.resize(grid, (round(gw * cell), round(gh * cell)), interpolation=cv2.INTER_CUBIC)
        skip = int(cell)
        total += 0.7**octave * up[skip : skip + height, skip : skip + width]
    return (total - total.mean()) / max(float(total.std()), 1e-6)


def make_texture(
    rng: np.random.Generator, shape: tuple[int, int], palette: np.ndarray, cells: tuple[float, ...]
) -> np.ndarray:
    """A colour texture: one noise field indexes the palette, a second one shades it."""
    index = 0.5 + 0.5 * np.tanh(0.9 * _noise(rng, shape, cells))
    shade = 1.0 + 0.2 * np.tanh(_noise(rng, shape, cells[1:] or cells))
    stops = np.linspace(0.0, 1.0, len(palette))
    out = np.stack([np.interp(index, stops, palette[:, c]) for c in range(3)], axis=-1)
    return (out * shade[..., None]).astype(np.float32)


def texture_shape(size: tuple[float, float], scale: float) -> tuple[int, int]:
    """Texture rows and columns so that the sprite at `scale` is drawn about one texel a pixel."""
    return (max(4, math.ceil(size[1] * scale) + 2), max(4, math.ceil(size[0] * scale) + 2))


def ellipse_mask(shape: tuple[int, int]) -> np.ndarray:
    """The ellipse inscribed in the texture, with a one-texel soft edge."""
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    a, b = width / 2, height / 2
    r = np.sqrt(((x - a) / a) ** 2 + ((y - b) / b) ** 2)
    return np.clip(0.5 - (r - 1.0) * min(a, b), 0.0, 1.0)


def pyramid(texture: np.ndarray, mask: np.ndarray | None) -> list[np.ndarray]:
    """Premultiplied RGBA texture and its halvings, so shrunken sprites do not alias."""
    import cv2

    alpha = np.ones(texture.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
    rgba = np.concatenate([texture * alpha[..., None], alpha[..., None]], axis=-1)
    levels = [np.ascontiguousarray(rgba)]
    while min(levels[-1].shape[:2]) >= 16:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels
