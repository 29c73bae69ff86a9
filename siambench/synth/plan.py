"""Scene planning: every trajectory and texture of a sequence, decided before anything is rendered.

All randomness comes from one generator seeded by ``(seed, sequence index)``, drawn in a fixed
order; reordering the draws below changes the data (bump ``GENERATOR_VERSION`` if you must).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from siambench.synth.config import SynthConfig
from siambench.synth.geometry import fold, half_extents, unit_vector
from siambench.synth.motion import BORDER, event_times, plan_bursts, ramps, walk
from siambench.synth.render import draw_sprite
from siambench.synth.scenarios import SCENARIOS, Knobs, scenario_knobs, sequence_name
from siambench.synth.scene import SequencePlan, Sprite
from siambench.synth.textures import (
    ellipse_mask,
    make_palette,
    make_texture,
    pyramid,
    texture_shape,
)

_EXPOSURE = 0.6  # motion blur streak = exposure x displacement per frame
_BLUR_SPEED = 6.0  # u-pixels per frame above which the target is rendered blurred
CLEAR_FRAMES = 4  # occluders keep off the target in the first frames


def plan_sequence(config: SynthConfig, index: int) -> tuple[SequencePlan, np.random.Generator]:
    """The plan of sequence `index` and the generator for its sensor noise."""
    plan_seed, noise_seed = np.random.SeedSequence([config.seed, index]).spawn(2)
    rng = np.random.default_rng(plan_seed)
    lo, hi = config.frames
    n = int(rng.integers(lo, hi + 1))
    width, height = config.size
    unit = min(width, height) / 240.0
    scenario = SCENARIOS[index % len(SCENARIOS)]
    knobs = scenario_knobs(scenario, rng)

    bg_hue = rng.uniform(0.0, 360.0)
    target_hue = (bg_hue + rng.uniform(100.0, 260.0)) % 360.0
    target_palette = make_palette(rng, target_hue, spread=40.0, sat=(0.45, 0.95), val=(0.15, 1.0))

    target = _plan_target(rng, knobs, n, config.size, unit, target_palette)
    mx, my = round(0.5 * width), round(0.5 * height)
    background = make_texture(
        rng,
        (height + 2 * my, width + 2 * mx),
        make_palette(rng, bg_hue, spread=50.0, sat=(0.1, 0.5), val=(0.25, 0.85)),
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
    knobs: Knobs,
    n: int,
    frame: tuple[int, int],
    unit: float,
    palette: np.ndarray,
) -> Sprite:
    width, height = frame
    side = rng.uniform(26.0, 44.0) * unit
    aspect = math.exp(rng.uniform(math.log(0.55), math.log(1.8)))
    size = (side * math.sqrt(aspect), side / math.sqrt(aspect))
    scale = ramps(rng, n, 1.0, knobs.scale_levels)
    angle = ramps(rng, n, 0.0, knobs.angle_levels)
    # Shrink where needed so the rotated box always fits inside the frame's border.
    ex, ey = half_extents(size, np.ones(n), angle)
    fit = np.minimum((width / 2 - BORDER - 1) / ex, (height / 2 - BORDER - 1) / ey)
    scale = np.minimum(scale, fit)
    bursts = plan_bursts(rng, n, knobs.bursts, knobs.burst_speed, unit)
    cx, cy = walk(rng, n, frame, unit, half_extents(size, scale, angle), bursts)
    speed = np.hypot(np.diff(cx, prepend=cx[0]), np.diff(cy, prepend=cy[0]))
    streak = np.stack([np.diff(cx, prepend=cx[0]), np.diff(cy, prepend=cy[0])], axis=1) * _EXPOSURE
    streak[speed < _BLUR_SPEED * unit] = 0.0
    texture = make_texture(
        rng,
        texture_shape(size, float(scale.max())),
        palette,
        cells=tuple(c * unit * max(1.0, float(scale.max())) for c in (12.0, 6.0, 3.0)),
    )
    return Sprite(pyramid(texture, None), size, cx, cy, scale, angle, streak)


def _plan_camera(
    rng: np.random.Generator, knobs: Knobs, n: int, unit: float, margin: tuple[int, int]
) -> np.ndarray:
    """Pans: the view's velocity ramps up, holds, and ramps back to rest; edges reflect it."""
    levels = []
    for _ in range(knobs.pans):
        levels += [unit_vector(rng) * rng.uniform(*knobs.pan_speed) * unit, np.zeros(2)]
    times = event_times(rng, n, len(levels), 0.05, 0.9)
    velocity = np.zeros((n, 2))
    for axis in range(2):
        velocity[:, axis] = ramps(rng, n, 0.0, [v[axis] for v in levels], times=times, ramp=(3, 6))
    velocity[0] = 0.0
    path = np.cumsum(velocity, axis=0) + margin
    return np.stack([fold(path[:, a], 2 * margin[a]) for a in range(2)], axis=1)


def _look_alike_maker(
    rng: np.random.Generator, target: Sprite, hue: float, jitter: float, unit: float
) -> Callable[[], tuple[np.ndarray, tuple[float, float], bool]]:
    """Makes textures like the target's (same palette family, fresh noise) and their sizes."""

    def make() -> tuple[np.ndarray, tuple[float, float], bool]:
        shade = hue + rng.uniform(-jitter, jitter)
        palette = make_palette(rng, shade, 40.0, (0.45, 0.95), (0.15, 1.0))
        size = (target.size[0] * rng.uniform(0.8, 1.2), target.size[1] * rng.uniform(0.8, 1.2))
        ellipse = bool(rng.random() < 0.3)
        texture = make_texture(
            rng, texture_shape(size, 1.2), palette, tuple(c * unit for c in (12, 6, 3))
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
        levels = pyramid(texture, ellipse_mask(texture.shape[:2]) if ellipse else None)
        draw_sprite(canvas, levels, size, (x, y), scale, angle)
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
    scale = ramps(rng, n, rng.uniform(0.85, 1.1), [rng.uniform(0.8, 1.15)])
    angle = ramps(rng, n, rng.uniform(-30, 30), [rng.uniform(-30, 30)])
    ex, ey = half_extents(size, scale, angle)
    if escort:
        reach = rng.uniform(0.7, 1.3) * (target.diagonal() + math.hypot(*size) * scale) / 2
        phase = rng.uniform(0, 2 * math.pi) + np.radians(
            rng.choice([-1, 1]) * rng.uniform(2.5, 6.0)
        ) * np.arange(n)
        cx = np.clip(target.cx + reach * np.cos(phase), ex + 1, frame[0] - ex - 1)
        cy = np.clip(target.cy + reach * np.sin(phase), ey + 1, frame[1] - ey - 1)
    else:
        cx, cy = walk(rng, n, frame, unit, (ex, ey), [])
    return Sprite(
        pyramid(texture, ellipse_mask(texture.shape[:2]) if ellipse else None),
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
    t_cross = event_times(rng, n, slots, 0.25, 0.85)[slot]
    ex, ey = target.extents(t_cross)
    direction = unit_vector(rng)
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
    early = slice(0, min(n, CLEAR_FRAMES))
    clearance = (math.hypot(*size) + target.diagonal()[early]) / 2 + BORDER
    for _ in range(60):
        x = centre[0] + direction[0] * speed * steps[early]
        y = centre[1] + direction[1] * speed * steps[early]
        if np.all(np.hypot(x - target.cx[early], y - target.cy[early]) > clearance):
            break
        speed *= 1.15
    palette = make_palette(rng, rng.uniform(0, 360), 30.0, (0.0, 0.25), (0.2, 0.9))
    texture = make_texture(rng, texture_shape(size, 1.0), palette, tuple(c * unit for c in (16, 6)))
    return Sprite(
        pyramid(texture, ellipse_mask(texture.shape[:2]) if ellipse else None),
        size,
        centre[0] + direction[0] * speed * steps,
        centre[1] + direction[1] * speed * steps,
        np.ones(n),
        np.full(n, rng.uniform(-45, 45)),
    )


def _plan_light(rng: np.random.Generator, knobs: Knobs, n: int) -> tuple[np.ndarray, ...]:
    level = ramps(rng, n, rng.uniform(0.9, 1.1), knobs.light_levels)
    if knobs.light_levels:
        slope = ramps(
            rng, n, rng.uniform(0, knobs.light_slope), list(rng.uniform(0, knobs.light_slope, 2))
        )
        direction = rng.uniform(0, 2 * math.pi) + np.linspace(0, rng.uniform(-math.pi, math.pi), n)
    else:
        slope = np.full(n, knobs.light_slope)
        direction = np.full(n, rng.uniform(0, 2 * math.pi))
    return level, slope, direction
