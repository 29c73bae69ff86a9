"""Small geometry helpers shared by planning and drawing."""

from __future__ import annotations

import math

import numpy as np


def half_extents(size: tuple[float, float], scale, angle) -> tuple[np.ndarray, np.ndarray]:
    """Half width and half height of the axis-aligned box around a rotated, scaled rectangle."""
    theta = np.radians(angle)
    w, h = size[0] * np.asarray(scale), size[1] * np.asarray(scale)
    cos, sin = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    return (w * cos + h * sin) / 2, (w * sin + h * cos) / 2


def unit_vector(rng: np.random.Generator) -> np.ndarray:
    """A random direction of length one."""
    theta = rng.uniform(0, 2 * math.pi)
    return np.array([math.cos(theta), math.sin(theta)])


def fold(values: np.ndarray, length: float) -> np.ndarray:
    """Reflect values into [0, length], as a point bouncing between two walls."""
    period = np.mod(values, 2 * length)
    return np.where(period > length, 2 * length - period, period)
