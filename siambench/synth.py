"""Synthetic tracking benchmarks rendered from seeded noise, and the ``demo`` datasets.

`generate` renders deterministic sequences: a textured rectangle (the target) moves, scales and
rotates over a textured background, among look-alike distractors, behind moving occluders, with
fast-motion bursts (motion-blurred), camera pans and illumination changes. Everything comes from
numpy noise seeded by ``(seed, sequence index)``, so sequence *i* is the same whatever the number
of sequences or the layout, and ``demo`` and ``demo-vot`` hold the same videos. Tags and
attributes are derived from what the generator did, with the thresholds named below.

Sequence *i* stresses the scenario ``SCENARIOS[i % 6]`` and is named after it: ``Occlusion1``,
``Clutter1``, ``FastMotion1``, ``Rotation1``, ``Scale1``, ``Lighting1``, then ``Occlusion2`` ...
(lower-case in the VOT layout).

Coordinates are continuous pixel coordinates in which pixel (i, j) covers [i, i+1) x [j, j+1),
0-based, the convention of the trackers' outputs.

OTB layout (``layout="otb"``; the ``demo`` dataset)::

    <root>/attributes.txt               Name<TAB>IV, OCC, ...  (format of attributes_otb100.txt)
    <root>/synth.json                   how it was made: generator version, seed, size, names
    <root>/<Seq>/img/0001.jpg ...       frames, numbered from 1
    <root>/<Seq>/groundtruth_rect.txt   x,y,w,h per frame: integers, 0-based, to be used as-is
                                        (like pysot's OTB loader; no -1 shift)

VOT layout (``layout="vot"``; the ``demo-vot`` dataset), VOT 2015-2019 style::

    <root>/list.txt                     one sequence name per line
    <root>/synth.json
    <root>/<seq>/color/00000001.jpg ...
    <root>/<seq>/groundtruth.txt        x1,y1,x2,y2,x3,y3,x4,y4 per frame (the rotated rectangle)
    <root>/<seq>/<tag>.tag              one 0/1 per frame: camera_motion, illum_change,
                                        motion_change, size_change, occlusion
    <root>/<seq>/sequence               channels.color=color/%08d.jpg, format=default, fps=30,
                                        name=<seq>

The demo data live in ``$SIAMBENCH_CACHE/data/{demo,demo-vot}`` (default cache
``~/.cache/siambench``); `ensure_demo` renders them on first use.
"""

from __future__ import annotations

import colorsys
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siambench import __version__
from siambench.errors import SiambenchError

#: Bumped whenever a change alters the rendered data; a cached demo of another version is redone.
GENERATOR_VERSION = 1

LAYOUTS = ("otb", "vot")
SCENARIOS = ("occlusion", "clutter", "fast_motion", "rotation", "scale", "illumination")
_TITLES = {
    "occlusion": "Occlusion",
    "clutter": "Clutter",
    "fast_motion": "FastMotion",
    "rotation": "Rotation",
    "scale": "Scale",
    "illumination": "Lighting",
}
VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
#: OTB-100's attributes, in the order of its attribute list. DEF, OPR and OV never occur here:
#: the target is rigid, planar and always fully inside the frame.
OTB_ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")

DEMO_SEED = 2015
DEMO_SEQUENCES = 6  # one per scenario
DEMO_FRAMES = (70, 100)  # each sequence's length is drawn from this range
DEMO_SIZE = (320, 240)
DEMO_FOLDERS = {"otb": "demo", "vot": "demo-vot"}
CACHE_ENV = "SIAMBENCH_CACHE"
MANIFEST = "synth.json"

# Tag and attribute thresholds. "u" is the frame's shorter side / 240, so that motion thresholds
# follow the frame size; FM and LR keep OTB's absolute definitions (tm=20 px, tr=400 px).
OCCLUSION_MIN = 0.10  # fraction of the target's area hidden by occluders (tag and OCC)
CAMERA_MOTION_MIN = 0.5  # camera pan, u-pixels per frame
MOTION_CHANGE_MIN = 3.0  # change of the target's velocity between frames, u-pixels per frame
SIZE_CHANGE_WINDOW, SIZE_CHANGE_MIN = 10, 0.10  # relative change of linear size over the window
ILLUM_WINDOW, ILLUM_CHANGE_MIN = 5, 0.05  # relative change of light on the target over the window
IV_RATIO = 1.4  # brightest / darkest light on the target over the sequence
SV_RATIO = 2.0  # OTB's ts: area ratio to the first frame
FM_PIXELS = 20.0  # OTB's tm: centre displacement between frames
MB_PIXELS = 5.0  # length of the motion-blur streak
IPR_DEGREES = 20.0  # rotation away from the first frame's angle
BC_REACH, BC_FRACTION = 0.75, 0.2  # a look-alike near the target in this share of frames
LR_PIXELS = 400.0  # OTB's tr: ground-truth box area

_BORDER = 2.0  # the target keeps this many pixels from the frame's edges
_EXPOSURE = 0.6  # motion blur streak = exposure x displacement per frame
_BLUR_SPEED = 6.0  # u-pixels per frame above which the target is rendered blurred
_NOISE_SIGMA = 2.0  # sensor noise, grey levels
_CLEAR_FRAMES = 4  # occluders keep off the target in the first frames


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the rendered data (besides the OpenCV version)."""

    layout: str = "otb"
    sequences: int = DEMO_SEQUENCES
    seed: int = DEMO_SEED
    frames: tuple[int, int] = DEMO_FRAMES
    size: tuple[int, int] = DEMO_SIZE
    jpeg_quality: int = 90

    def validate(self) -> None:
        """Raise SiambenchError on values the generator cannot honour."""
        if self.layout not in LAYOUTS:
            raise SiambenchError(f"unknown layout {self.layout!r}; known: {', '.join(LAYOUTS)}")
        if self.sequences < 1:
            raise SiambenchError(f"need at least one sequence, got {self.sequences}")
        if self.seed < 0:
            raise SiambenchError(f"the seed must be >= 0, got {self.seed}")
        lo, hi = self.frames
        longest = 9999 if self.layout == "otb" else 99_999_999
        if not 2 <= lo <= hi <= longest:
            raise SiambenchError(
                f"frames per sequence must satisfy 2 <= min <= max <= {longest}, got {lo}-{hi}"
            )
        width, height = self.size
        if width < 48 or height < 48:
            raise SiambenchError(f"frames must be at least 48x48 pixels, got {width}x{height}")
        if not 1 <= self.jpeg_quality <= 100:
            raise SiambenchError(f"JPEG quality must be in 1..100, got {self.jpeg_quality}")

    def to_json(self) -> dict:
        return {
            "layout": self.layout,
            "sequences": self.sequences,
            "seed": self.seed,
            "frames": list(self.frames),
            "size": list(self.size),
            "jpeg_quality": self.jpeg_quality,
        }


def frame_range(frames: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """A fixed length N becomes (N, N); a (min, max) pair is kept."""
    if isinstance(frames, int):
        return (frames, frames)
    lo, hi = frames
    return (int(lo), int(hi))


def sequence_name(index: int, layout: str) -> str:
    """The name of sequence `index` (0-based): its scenario's title and a running number."""
    title = _TITLES[SCENARIOS[index % len(SCENARIOS)]] + str(index // len(SCENARIOS) + 1)
    return title.lower() if layout == "vot" else title


# ---------------------------------------------------------------------------------------------
# Plans: every trajectory and texture of a sequence, decided before anything is rendered.


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
        return _extents(self.size, self.scale[t], self.angle[t])

    def diagonal(self) -> np.ndarray:
        return np.hypot(*self.size) * self.scale

    def draw(self, frame: np.ndarray, t: int, want_alpha: bool = False) -> np.ndarray | None:
        """Composites the sprite's frame-`t` pose onto `frame` (see `_draw`)."""
        streak = None if self.blur is None else self.blur[t]
        centre = (self.cx[t], self.cy[t])
        return _draw(
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


@dataclass
class _Knobs:
    """How hard each challenge is in one sequence."""

    bursts: int = 0
    burst_speed: tuple[float, float] = (8.0, 12.0)
    occlusions: list[str] = field(default_factory=list)
    distractors: int = 1
    escorts: int = 0
    clutter: int = 3
    hue_jitter: float = 25.0
    scale_levels: list[float] = field(default_factory=list)
    angle_levels: list[float] = field(default_factory=list)
    pans: int = 0
    pan_speed: tuple[float, float] = (0.7, 2.0)
    light_levels: list[float] = field(default_factory=list)
    light_slope: float = 0.1


def _knobs(scenario: str, rng: np.random.Generator) -> _Knobs:
    """Mild doses of every challenge, and a strong dose of the scenario's own."""
    k = _Knobs(
        bursts=int(rng.random() < 0.3),
        occlusions=["partial"] if rng.random() < 0.35 else [],
        distractors=int(rng.integers(1, 3)),
        clutter=int(rng.integers(2, 5)),
        scale_levels=list(np.exp(rng.uniform(np.log(0.8), np.log(1.25), rng.integers(1, 3)))),
        angle_levels=list(rng.uniform(-8.0, 8.0, rng.integers(1, 3))),
        pans=int(rng.random() < 0.5),
        light_slope=float(rng.uniform(0.0, 0.15)),
    )
    if scenario == "occlusion":
        k.occlusions = ["full", "partial"] + (["full"] if rng.random() < 0.5 else [])
        rng.shuffle(k.occlusions)
    elif scenario == "clutter":
        k.distractors = int(rng.integers(3, 5))
        k.escorts = int(rng.integers(1, 3))
        k.clutter = int(rng.integers(8, 13))
        k.hue_jitter = 8.0
    elif scenario == "fast_motion":
        k.bursts = int(rng.integers(2, 4))
        k.burst_speed = (21.0, 28.0)  # above OTB's 20-pixel FM threshold at 320x240
        k.pans, k.pan_speed = 2, (1.5, 3.5)
    elif scenario == "rotation":
        count = int(rng.integers(2, 4))
        sign = rng.choice([-1.0, 1.0])
        k.angle_levels = [sign * (-1) ** i * rng.uniform(45.0, 110.0) for i in range(count)]
    elif scenario == "scale":
        count = int(rng.integers(2, 4))
        small_first = rng.random() < 0.5
        k.scale_levels = [
            rng.uniform(0.45, 0.6) if (i % 2 == 0) == small_first else rng.uniform(1.6, 2.0)
            for i in range(count)
        ]
        k.pans = 1
    elif scenario == "illumination":
        count = int(rng.integers(2, 4))
        dark_first = rng.random() < 0.5
        k.light_levels = [
            rng.uniform(0.4, 0.55) if (i % 2 == 0) == dark_first else rng.uniform(1.25, 1.45)
            for i in range(count)
        ]
        k.light_slope = 0.35
    return k


def plan_sequence(config: SynthConfig, index: int) -> tuple[SequencePlan, np.random.Generator]:
    """The plan of sequence `index` and the generator for its sensor noise."""
    plan_seed, noise_seed = np.random.SeedSequence([config.seed, index]).spawn(2)
    rng = np.random.default_rng(plan_seed)
    lo, hi = config.frames
    n = int(rng.integers(lo, hi + 1))
    width, height = config.size
    unit = min(width, height) / 240.0
    scenario = SCENARIOS[index % len(SCENARIOS)]
    knobs = _knobs(scenario, rng)

    bg_hue = rng.uniform(0.0, 360.0)
    target_hue = (bg_hue + rng.uniform(100.0, 260.0)) % 360.0
    target_palette = _palette(rng, target_hue, spread=40.0, sat=(0.45, 0.95), val=(0.15, 1.0))

    target = _plan_target(rng, knobs, n, config.size, unit, target_palette)
    mx, my = round(0.5 * width), round(0.5 * height)
    background = _texture(
        rng,
        (height + 2 * my, width + 2 * mx),
        _palette(rng, bg_hue, spread=50.0, sat=(0.1, 0.5), val=(0.25, 0.85)),
        cells=(60 * unit, 20 * unit, 6 * unit),
    )
    camera = _plan_camera(rng, knobs, n, unit, (mx, my))
    look_alike = _look_alike_maker(rng, target, target_hue, knobs.hue_jitter, unit)
    clutter = _paint_clutter(rng, background, knobs.clutter, look_alike)
    distractors = [
        _plan_distractor(
            rng, n, config.size, unit, look_alike(), escort=i < knobs.escorts, target=target
        )
        for i in range(knobs.distractors)
    ]
    occluders = [
        _plan_occluder(rng, n, unit, kind, slot, len(knobs.occlusions), target)
        for slot, kind in enumerate(knobs.occlusions)
    ]
    level, slope, direction = _plan_light(rng, knobs, n)
    plan = SequencePlan(
        name=sequence_name(index, "otb"),
        scenario=scenario,
        n=n,
        size=config.size,
        unit=unit,
        background=background,
        camera=camera,
        target=target,
        distractors=distractors,
        clutter=clutter,
        occluders=occluders,
        light_level=level,
        light_slope=slope,
        light_dir=direction,
    )
    return plan, np.random.default_rng(noise_seed)


def _plan_target(
    rng: np.random.Generator,
    knobs: _Knobs,
    n: int,
    frame: tuple[int, int],
    unit: float,
    palette: np.ndarray,
) -> Sprite:
    width, height = frame
    side = rng.uniform(26.0, 44.0) * unit
    aspect = math.exp(rng.uniform(math.log(0.55), math.log(1.8)))
    size = (side * math.sqrt(aspect), side / math.sqrt(aspect))
    scale = _ramps(rng, n, 1.0, knobs.scale_levels)
    angle = _ramps(rng, n, 0.0, knobs.angle_levels)
    # Shrink where needed so the rotated box always fits inside the frame's border.
    ex, ey = _extents(size, np.ones(n), angle)
    fit = np.minimum((width / 2 - _BORDER - 1) / ex, (height / 2 - _BORDER - 1) / ey)
    scale = np.minimum(scale, fit)
    bursts = _plan_bursts(rng, n, knobs.bursts, knobs.burst_speed, unit)
    cx, cy = _walk(rng, n, frame, unit, _extents(size, scale, angle), bursts)
    speed = np.hypot(np.diff(cx, prepend=cx[0]), np.diff(cy, prepend=cy[0]))
    streak = np.stack([np.diff(cx, prepend=cx[0]), np.diff(cy, prepend=cy[0])], axis=1) * _EXPOSURE
    streak[speed < _BLUR_SPEED * unit] = 0.0
    texture = _texture(
        rng,
        _texture_shape(size, float(scale.max())),
        palette,
        cells=tuple(c * unit * max(1.0, float(scale.max())) for c in (12.0, 6.0, 3.0)),
    )
    return Sprite(_pyramid(texture, None), size, cx, cy, scale, angle, streak)


def _plan_bursts(
    rng: np.random.Generator, n: int, count: int, speed: tuple[float, float], unit: float
) -> list[tuple[int, int, float]]:
    """Fast-motion bursts as (first frame, length, speed), spread over the sequence."""
    bursts = []
    for t0 in _event_times(rng, n, count, 0.15, 0.85):
        length = int(rng.integers(4, 9))
        bursts.append((t0, length, float(rng.uniform(*speed)) * unit))
    return bursts


def _walk(
    rng: np.random.Generator,
    n: int,
    frame: tuple[int, int],
    unit: float,
    extents: tuple[np.ndarray, np.ndarray],
    bursts: list[tuple[int, int, float]],
) -> tuple[np.ndarray, np.ndarray]:
    """A wandering centre that bounces off the frame's edges and sometimes bursts away."""
    width, height = frame
    ex, ey = extents
    pos = np.array([width / 2, height / 2]) + rng.uniform(-0.25, 0.25, 2) * (width, height)
    vel = _unit_vector(rng) * rng.uniform(0.5, 2.5) * unit
    burst_at = {t0: (t0 + length, speed) for t0, length, speed in bursts}
    burst_end = -1
    out = np.zeros((n, 2))
    for t in range(n):
        lo = np.array([ex[t], ey[t]]) + _BORDER
        hi = np.array([width - ex[t], height - ey[t]]) - _BORDER
        if t > 0:
            if t in burst_at:
                burst_end, speed = burst_at[t]
                # Head for a far point of the frame, so a burst is not spent bouncing in a corner.
                goal = rng.uniform(lo, np.maximum(lo, hi))
                away = goal - pos if np.hypot(*(goal - pos)) > 1e-6 else _unit_vector(rng)
                vel = away / np.hypot(*away) * speed
            elif t == burst_end:
                vel = vel / max(np.hypot(*vel), 1e-9) * rng.uniform(1.0, 2.5) * unit
            elif t > burst_end:
                vel = vel + rng.normal(0.0, 0.35 * unit, 2)
                vel *= min(1.0, 3.5 * unit / max(np.hypot(*vel), 1e-9))
            pos = pos + vel
        for axis in range(2):
            if lo[axis] > hi[axis]:
                pos[axis] = (lo[axis] + hi[axis]) / 2
            elif pos[axis] < lo[axis]:
                pos[axis], vel[axis] = 2 * lo[axis] - pos[axis], abs(vel[axis])
            elif pos[axis] > hi[axis]:
                pos[axis], vel[axis] = 2 * hi[axis] - pos[axis], -abs(vel[axis])
        pos = np.clip(pos, np.minimum(lo, hi), np.maximum(lo, hi))
        out[t] = pos
    return out[:, 0], out[:, 1]


def _plan_camera(
    rng: np.random.Generator, knobs: _Knobs, n: int, unit: float, margin: tuple[int, int]
) -> np.ndarray:
    """Pans: the view's velocity ramps up, holds, and ramps back to rest; edges reflect it."""
    levels = []
    for _ in range(knobs.pans):
        levels += [_unit_vector(rng) * rng.uniform(*knobs.pan_speed) * unit, np.zeros(2)]
    times = _event_times(rng, n, len(levels), 0.05, 0.9)
    velocity = np.zeros((n, 2))
    for axis in range(2):
        velocity[:, axis] = _ramps(rng, n, 0.0, [v[axis] for v in levels], times=times, ramp=(3, 6))
    velocity[0] = 0.0
    path = np.cumsum(velocity, axis=0) + margin
    return np.stack([_fold(path[:, a], 2 * margin[a]) for a in range(2)], axis=1)


def _look_alike_maker(
    rng: np.random.Generator, target: Sprite, hue: float, jitter: float, unit: float
) -> Callable[[], tuple[np.ndarray, tuple[float, float], bool]]:
    """Makes textures like the target's (same palette family, fresh noise) and their sizes."""

    def make() -> tuple[np.ndarray, tuple[float, float], bool]:
        palette = _palette(rng, hue + rng.uniform(-jitter, jitter), 40.0, (0.45, 0.95), (0.15, 1.0))
        size = (target.size[0] * rng.uniform(0.8, 1.2), target.size[1] * rng.uniform(0.8, 1.2))
        ellipse = bool(rng.random() < 0.3)
        texture = _texture(
            rng, _texture_shape(size, 1.2), palette, tuple(c * unit for c in (12, 6, 3))
        )
        return texture, size, ellipse

    return make


def _paint_clutter(
    rng: np.random.Generator,
    canvas: np.ndarray,
    count: int,
    look_alike: Callable[[], tuple[np.ndarray, tuple[float, float], bool]],
) -> np.ndarray:
    """Paints still look-alikes into the background; returns their canvas x, y and diagonal."""
    height, width = canvas.shape[:2]
    found = np.zeros((count, 3))
    for i in range(count):
        texture, size, ellipse = look_alike()
        scale = rng.uniform(0.6, 1.0)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        angle = rng.uniform(-90.0, 90.0)
        levels = _pyramid(texture, _ellipse_mask(texture.shape[:2]) if ellipse else None)
        _draw(canvas, levels, size, (x, y), scale, angle)
        found[i] = (x, y, math.hypot(*size) * scale)
    return found


def _plan_distractor(
    rng: np.random.Generator,
    n: int,
    frame: tuple[int, int],
    unit: float,
    look: tuple[np.ndarray, tuple[float, float], bool],
    escort: bool,
    target: Sprite,
) -> Sprite:
    """A moving look-alike: wandering on its own, or (an escort) circling close to the target."""
    texture, size, ellipse = look
    scale = _ramps(rng, n, rng.uniform(0.85, 1.1), [rng.uniform(0.8, 1.15)])
    angle = _ramps(rng, n, rng.uniform(-30, 30), [rng.uniform(-30, 30)])
    ex, ey = _extents(size, scale, angle)
    if escort:
        reach = rng.uniform(0.7, 1.3) * (target.diagonal() + math.hypot(*size) * scale) / 2
        phase = rng.uniform(0, 2 * math.pi) + np.radians(
            rng.choice([-1, 1]) * rng.uniform(2.5, 6.0)
        ) * np.arange(n)
        cx = np.clip(target.cx + reach * np.cos(phase), ex + 1, frame[0] - ex - 1)
        cy = np.clip(target.cy + reach * np.sin(phase), ey + 1, frame[1] - ey - 1)
    else:
        cx, cy = _walk(rng, n, frame, unit, (ex, ey), [])
    return Sprite(
        _pyramid(texture, _ellipse_mask(texture.shape[:2]) if ellipse else None),
        size,
        cx,
        cy,
        scale,
        angle,
    )


def _plan_occluder(
    rng: np.random.Generator, n: int, unit: float, kind: str, slot: int, slots: int, target: Sprite
) -> Sprite:
    """An object on a straight path that crosses the target: wholly ("full") or in part."""
    t_cross = _event_times(rng, n, slots, 0.25, 0.85)[slot]
    ex, ey = target.extents(t_cross)
    direction = _unit_vector(rng)
    ellipse = bool(rng.random() < 0.5)
    if kind == "full":
        grow = rng.uniform(1.2, 1.5) * (1.45 if ellipse else 1.0)
        size = (2 * float(ex) * grow, 2 * float(ey) * grow)
        offset = np.zeros(2)
        speed = rng.uniform(2.5, 4.5) * unit
    else:
        size = (2 * float(ex) * rng.uniform(0.5, 0.9), 2 * float(ey) * rng.uniform(0.5, 0.9))
        side = np.array([-direction[1], direction[0]]) * rng.choice([-1, 1])
        offset = side * rng.uniform(0.2, 0.45) * float(target.diagonal()[t_cross])
        speed = rng.uniform(2.0, 4.0) * unit
    centre = np.array([target.cx[t_cross], target.cy[t_cross]]) + offset
    steps = np.arange(n) - t_cross
    # The first frames must show the target whole (trackers start from frame 1): hurry the
    # occluder until it is clear of the target there.
    early = slice(0, min(n, _CLEAR_FRAMES))
    clearance = (math.hypot(*size) + target.diagonal()[early]) / 2 + _BORDER
    for _ in range(60):
        x = centre[0] + direction[0] * speed * steps[early]
        y = centre[1] + direction[1] * speed * steps[early]
        if np.all(np.hypot(x - target.cx[early], y - target.cy[early]) > clearance):
            break
        speed *= 1.15
    palette = _palette(rng, rng.uniform(0, 360), 30.0, (0.0, 0.25), (0.2, 0.9))
    texture = _texture(rng, _texture_shape(size, 1.0), palette, tuple(c * unit for c in (16, 6)))
    return Sprite(
        _pyramid(texture, _ellipse_mask(texture.shape[:2]) if ellipse else None),
        size,
        centre[0] + direction[0] * speed * steps,
        centre[1] + direction[1] * speed * steps,
        np.ones(n),
        np.full(n, rng.uniform(-45, 45)),
    )


def _plan_light(rng: np.random.Generator, knobs: _Knobs, n: int) -> tuple[np.ndarray, ...]:
    level = _ramps(rng, n, rng.uniform(0.9, 1.1), knobs.light_levels)
    if knobs.light_levels:
        slope = _ramps(
            rng, n, rng.uniform(0, knobs.light_slope), list(rng.uniform(0, knobs.light_slope, 2))
        )
        direction = rng.uniform(0, 2 * math.pi) + np.linspace(0, rng.uniform(-math.pi, math.pi), n)
    else:
        slope = np.full(n, knobs.light_slope)
        direction = np.full(n, rng.uniform(0, 2 * math.pi))
    return level, slope, direction


def _event_times(
    rng: np.random.Generator, n: int, count: int, start: float, stop: float
) -> list[int]:
    """`count` frame indices spread over [start, stop] of the sequence, one per equal slot."""
    if count == 0:
        return []
    edges = np.linspace(start * (n - 1), stop * (n - 1), count + 1)
    times = [int(rng.uniform(edges[i], edges[i + 1])) for i in range(count)]
    return [min(max(t, 1), n - 1) for t in times]


def _ramps(
    rng: np.random.Generator,
    n: int,
    start: float,
    levels: list[float],
    times: list[int] | None = None,
    ramp: tuple[int, int] | None = None,
) -> np.ndarray:
    """A value that starts at `start` and glides (smoothstep) to each level in turn."""
    values = np.full(n, float(start))
    if times is None:
        times = _event_times(rng, n, len(levels), 0.1, 0.8)
    for t0, level in zip(times, levels, strict=True):
        if ramp is None:
            length = rng.uniform(max(3.0, 0.08 * n), max(4.0, 0.25 * n))
        else:
            length = rng.uniform(*ramp)
        steps = np.clip(np.arange(n - t0) / length, 0.0, 1.0)
        before = values[t0 - 1]
        values[t0:] = before + (level - before) * steps * steps * (3 - 2 * steps)
    return values


# ---------------------------------------------------------------------------------------------
# Textures and drawing.


def _palette(
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


def _texture(
    rng: np.random.Generator, shape: tuple[int, int], palette: np.ndarray, cells: tuple[float, ...]
) -> np.ndarray:
    """A colour texture: one noise field indexes the palette, a second one shades it."""
    index = 0.5 + 0.5 * np.tanh(0.9 * _noise(rng, shape, cells))
    shade = 1.0 + 0.2 * np.tanh(_noise(rng, shape, cells[1:] or cells))
    stops = np.linspace(0.0, 1.0, len(palette))
    out = np.stack([np.interp(index, stops, palette[:, c]) for c in range(3)], axis=-1)
    return (out * shade[..., None]).astype(np.float32)


def _texture_shape(size: tuple[float, float], scale: float) -> tuple[int, int]:
    """Texture rows and columns so that the sprite at `scale` is drawn about one texel a pixel."""
    return (max(4, math.ceil(size[1] * scale) + 2), max(4, math.ceil(size[0] * scale) + 2))


def _ellipse_mask(shape: tuple[int, int]) -> np.ndarray:
    """The ellipse inscribed in the texture, with a one-texel soft edge."""
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    a, b = width / 2, height / 2
    r = np.sqrt(((x - a) / a) ** 2 + ((y - b) / b) ** 2)
    return np.clip(0.5 - (r - 1.0) * min(a, b), 0.0, 1.0)


def _pyramid(texture: np.ndarray, mask: np.ndarray | None) -> list[np.ndarray]:
    """Premultiplied RGBA texture and its halvings, so shrunken sprites do not alias."""
    import cv2

    alpha = np.ones(texture.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
    rgba = np.concatenate([texture * alpha[..., None], alpha[..., None]], axis=-1)
    levels = [np.ascontiguousarray(rgba)]
    while min(levels[-1].shape[:2]) >= 16:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _draw(
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
    ex, ey = _extents(size, scale, angle)
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


# ---------------------------------------------------------------------------------------------
# Ground truth, tags and attributes.


@dataclass
class Annotation:
    polygons: np.ndarray  # (N, 8) corners of the rotated target rectangle
    boxes: np.ndarray  # (N, 4) integer x, y, w, h of the axis-aligned box around it
    tags: dict[str, np.ndarray]  # VOT_TAGS -> (N,) 0/1
    attributes: list[str]  # OTB attributes, in OTB_ATTRIBUTES order
    hidden: np.ndarray  # (N,) fraction of the target hidden by occluders


def target_polygons(target: Sprite) -> np.ndarray:
    """The rotated rectangle's corners, in order around it: (N, 8) x1, y1, ..., x4, y4."""
    half_w = target.size[0] * target.scale / 2
    half_h = target.size[1] * target.scale / 2
    theta = np.radians(target.angle)
    cos, sin = np.cos(theta), np.sin(theta)
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        dx, dy = sx * half_w, sy * half_h
        corners += [target.cx + cos * dx - sin * dy, target.cy + sin * dx + cos * dy]
    return np.stack(corners, axis=1)


def annotate(plan: SequencePlan, hidden: np.ndarray) -> Annotation:
    """Ground truth, per-frame VOT tags and OTB attributes from the plan and the render."""
    polygons = target_polygons(plan.target)
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    left, top = np.rint(xs.min(axis=1)), np.rint(ys.min(axis=1))
    boxes = np.stack(
        [left, top, np.rint(xs.max(axis=1)) - left, np.rint(ys.max(axis=1)) - top], axis=1
    )
    boxes = boxes.astype(np.int64)
    target, u = plan.target, plan.unit

    def change(values: np.ndarray, window: int) -> np.ndarray:
        earlier = values[np.maximum(np.arange(plan.n) - window, 0)]
        return np.abs(values / earlier - 1.0)

    velocity = np.diff(
        np.stack([target.cx, target.cy], axis=1), axis=0, prepend=[[target.cx[0], target.cy[0]]]
    )
    jerk = np.hypot(*np.diff(velocity, axis=0, prepend=velocity[:1]).T)
    pan = np.hypot(*np.diff(plan.camera, axis=0, prepend=plan.camera[:1]).T)
    light = light_on_target(plan)
    tags = {
        "camera_motion": pan >= CAMERA_MOTION_MIN * u,
        "illum_change": change(light, ILLUM_WINDOW) >= ILLUM_CHANGE_MIN,
        "motion_change": jerk >= MOTION_CHANGE_MIN * u,
        "size_change": change(target.scale, SIZE_CHANGE_WINDOW) >= SIZE_CHANGE_MIN,
        "occlusion": hidden >= OCCLUSION_MIN,
    }
    tags = {name: tags[name].astype(np.int8) for name in VOT_TAGS}

    area_ratio = (target.scale / target.scale[0]) ** 2
    blur = np.hypot(*target.blur.T) if target.blur is not None else np.zeros(plan.n)
    rotation = np.abs(target.angle - target.angle[0])
    found = {
        "IV": light.max() / max(light.min(), 1e-6) >= IV_RATIO,
        "SV": bool(np.any((area_ratio > SV_RATIO) | (area_ratio < 1 / SV_RATIO))),
        "OCC": bool(np.any(hidden >= OCCLUSION_MIN)),
        "MB": bool(np.any(blur >= MB_PIXELS)),
        "FM": bool(np.any(np.hypot(*velocity.T) > FM_PIXELS)),
        "IPR": bool(np.any(rotation >= IPR_DEGREES)),
        "BC": float(np.mean(look_alike_near(plan))) >= BC_FRACTION,
        "LR": bool(np.any(boxes[:, 2] * boxes[:, 3] < LR_PIXELS)),
    }
    attributes = [name for name in OTB_ATTRIBUTES if found.get(name, False)]
    return Annotation(polygons, boxes, tags, attributes, hidden)


def light_on_target(plan: SequencePlan) -> np.ndarray:
    """The illumination gain at the target's centre, per frame (as `render_frames` applies it)."""
    width, height = plan.size
    gx = (plan.target.cx - width / 2) / (width / 2)
    gy = (plan.target.cy - height / 2) / (height / 2)
    along = gx * np.cos(plan.light_dir) + gy * np.sin(plan.light_dir)
    return np.maximum(plan.light_level * (1.0 + plan.light_slope * along), 1e-6)


def look_alike_near(plan: SequencePlan) -> np.ndarray:
    """Per frame: is a look-alike (moving or painted) close to the target?

    Close means centres nearer than BC_REACH times the sum of the two diagonals.
    """
    target = plan.target
    near = np.zeros(plan.n, bool)
    reach = target.diagonal()
    for sprite in plan.distractors:
        gap = np.hypot(sprite.cx - target.cx, sprite.cy - target.cy)
        near |= gap < BC_REACH * (reach + sprite.diagonal())
    for x, y, diagonal in plan.clutter:
        gap = np.hypot(x - plan.camera[:, 0] - target.cx, y - plan.camera[:, 1] - target.cy)
        near |= gap < BC_REACH * (reach + diagonal)
    return near


# ---------------------------------------------------------------------------------------------
# Writing the layouts.


def generate(
    out: str | Path,
    layout: str = "otb",
    sequences: int = DEMO_SEQUENCES,
    seed: int = DEMO_SEED,
    frames: int | tuple[int, int] = DEMO_FRAMES,
    size: tuple[int, int] = DEMO_SIZE,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Render a benchmark into `out` atomically and return its sequence names.

    The data are rendered into a temporary sibling folder that replaces `out` only when complete.
    An existing non-empty `out` is an error unless `overwrite`. `progress(done, total)` is called
    after each frame.
    """
    config = SynthConfig(layout, sequences, seed, frame_range(frames), (int(size[0]), int(size[1])))
    config.validate()
    out = Path(out).expanduser()
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise SiambenchError(f"{out} already exists and is not empty (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_folder(out)
    try:
        names = write_benchmark(staging, config, progress)
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names


def write_benchmark(
    root: Path, config: SynthConfig, progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Render every sequence of `config` into the existing folder `root` (not atomic)."""
    import cv2

    config.validate()
    plans = [plan_sequence(config, i) for i in range(config.sequences)]
    total, done = sum(plan.n for plan, _ in plans), 0
    names, info = [], []
    params = [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality]
    for plan, noise in plans:
        name = plan.name.lower() if config.layout == "vot" else plan.name
        folder = root / name
        images = folder / ("color" if config.layout == "vot" else "img")
        images.mkdir(parents=True)
        pattern = "{:08d}.jpg" if config.layout == "vot" else "{:04d}.jpg"
        hidden = np.zeros(plan.n)
        for t, (image, covered) in enumerate(render_frames(plan, noise)):
            path = images / pattern.format(t + 1)
            if not cv2.imwrite(str(path), image, params):
                raise SiambenchError(f"{path}: OpenCV could not write the JPEG")
            hidden[t] = covered
            done += 1
            if progress is not None:
                progress(done, total)
        note = annotate(plan, hidden)
        if config.layout == "vot":
            _write_vot_sequence(folder, name, note)
        else:
            _write_lines(
                folder / "groundtruth_rect.txt", (",".join(map(str, b)) for b in note.boxes)
            )
        names.append(name)
        info.append(
            {
                "name": name,
                "scenario": plan.scenario,
                "frames": plan.n,
                "attributes": note.attributes,
                "size": list(plan.size),
            }
        )
    if config.layout == "vot":
        _write_lines(root / "list.txt", names)
    else:
        _write_lines(
            root / "attributes.txt", (f"{i['name']}\t{', '.join(i['attributes'])}" for i in info)
        )
    manifest = {
        "generator": "siambench.synth",
        "generator_version": GENERATOR_VERSION,
        "siambench": __version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        **config.to_json(),
        "sequence_info": info,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return names


def _write_vot_sequence(folder: Path, name: str, note: Annotation) -> None:
    _write_lines(
        folder / "groundtruth.txt", (",".join(f"{v:.2f}" for v in p) for p in note.polygons)
    )
    for tag, values in note.tags.items():
        _write_lines(folder / f"{tag}.tag", (str(int(v)) for v in values))
    _write_lines(
        folder / "sequence",
        ["channels.color=color/%08d.jpg", "format=default", "fps=30", f"name={name}"],
    )


def _write_lines(path: Path, lines) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))


def _staging_folder(out: Path) -> Path:
    """An empty sibling of `out` to render into, with the permissions a new folder gets."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private
    return staging


def _publish(staging: Path, out: Path) -> None:
    """Move the finished `staging` folder to `out`, replacing what was there."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists() and not out.is_symlink():
        os.rename(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.rename(out, retired / out.name)
    os.rename(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The demo datasets.


def cache_dir() -> Path:
    """siambench's cache folder: ``$SIAMBENCH_CACHE``, else ``~/.cache/siambench``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/siambench").expanduser()


def demo_config(kind: str = "otb") -> SynthConfig:
    """The configuration of the ``demo`` (kind "otb") or ``demo-vot`` (kind "vot") dataset."""
    if kind not in DEMO_FOLDERS:
        raise SiambenchError(f"unknown demo kind {kind!r}; known: {', '.join(DEMO_FOLDERS)}")
    return SynthConfig(layout=kind)


def demo_path(kind: str = "otb") -> Path:
    """Where the demo dataset of `kind` lives (it may not exist yet)."""
    demo_config(kind)
    return cache_dir() / "data" / DEMO_FOLDERS[kind]


def is_current(root: Path, config: SynthConfig) -> bool:
    """Does `root` hold a complete benchmark made by this generator version from `config`?"""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("generator_version") != GENERATOR_VERSION:
        return False
    if any(manifest.get(key) != value for key, value in config.to_json().items()):
        return False
    names = [info.get("name") for info in manifest.get("sequence_info", [])]
    return len(names) == config.sequences and all((root / str(name)).is_dir() for name in names)


def ensure_demo(kind: str = "otb", progress: Callable[[int, int], None] | None = None) -> Path:
    """The folder of the ``demo`` ("otb") or ``demo-vot`` ("vot") dataset, rendered on first use."""
    config = demo_config(kind)
    root = demo_path(kind)
    if is_current(root, config):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging_folder(root)
    try:
        write_benchmark(staging, config, progress)
        # Another process may have finished first; its copy is identical, so keep it.
        if not is_current(root, config):
            _publish(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


# ---------------------------------------------------------------------------------------------
# Small geometry helpers.


def _extents(size: tuple[float, float], scale, angle) -> tuple[np.ndarray, np.ndarray]:
    theta = np.radians(angle)
    w, h = size[0] * np.asarray(scale), size[1] * np.asarray(scale)
    cos, sin = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    return (w * cos + h * sin) / 2, (w * sin + h * cos) / 2


def _unit_vector(rng: np.random.Generator) -> np.ndarray:
    theta = rng.uniform(0, 2 * math.pi)
    return np.array([math.cos(theta), math.sin(theta)])


def _fold(values: np.ndarray, length: float) -> np.ndarray:
    """Reflect values into [0, length], as a point bouncing between two walls."""
    period = np.mod(values, 2 * length)
    return np.where(period > length, 2 * length - period, period)
