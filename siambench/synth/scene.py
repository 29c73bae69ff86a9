"""The plan of a sequence: sprites with a pose per frame, the camera path and the lighting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siambench.synth.geometry import half_extents
from siambench.synth.render import draw_sprite


@dataclass
class Sprite:
    """A textured rectangle or ellipse with a pose per frame (image coordinates)."""

    levels: list[np.ndarray]  # (th, tw, 4) float32 pyramid: colour premultiplied by alpha, alpha
    size: tuple[float, float]  # (w, h) in image pixels at scale 1
    cx: np.ndarray  # (N,) centre
    cy: np.ndarray
    scale: np.ndarray  # (N,)
    angle: np.ndarray  # (N,) degrees, clockwise on screen
    blur: np.ndarray | None = None  # (N, 2) motion-blur streak in pixels

    def extents(self, t: int | slice | np.ndarray = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Half width and half height of the axis-aligned box around the sprite."""
        return half_extents(self.size, self.scale[t], self.angle[t])

    def diagonal(self) -> np.ndarray:
        return np.hypot(*self.size) * self.scale

    def draw(self, frame: np.ndarray, t: int, want_alpha: bool = False) -> np.ndarray | None:
        """Composites the sprite's frame-`t` pose onto `frame` (see `draw_sprite`)."""
        streak = None if self.blur is None else self.blur[t]
        centre = (self.cx[t], self.cy[t])
        return draw_sprite(
            frame, self.levels, self.size, centre, self.scale[t], self.angle[t], streak, want_alpha
        )


@dataclass
class SequencePlan:
    name: str  # OTB-style name; the VOT layout lower-cases it
    scenario: str
    n: int
    size: tuple[int, int]
    unit: float  # shorter frame side / 240
    background: np.ndarray  # (H + 2 my, W + 2 mx, 3) float32 canvas, clutter painted in
    camera: np.ndarray  # (N, 2) top-left corner of the view in the canvas
    target: Sprite
    distractors: list[Sprite]  # look-alikes moving in image coordinates, drawn behind the target
    clutter: np.ndarray  # (K, 3) look-alikes painted into the canvas: canvas x, y and diagonal
    occluders: list[Sprite]  # drawn over the target
    light_level: np.ndarray  # (N,) global gain
    light_slope: np.ndarray  # (N,) strength of a linear light gradient across the frame
    light_dir: np.ndarray  # (N,) its direction, radians
