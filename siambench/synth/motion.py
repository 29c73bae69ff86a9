"""Trajectories over time: event times, smooth ramps between levels, and a bouncing walk."""

from __future__ import annotations

import numpy as np

from siambench.synth.geometry import unit_vector

BORDER = 2.0  # the target keeps this many pixels from the frame's edges


def plan_bursts(
    rng: np.random.Generator, n: int, count: int, speed: tuple[float, float], unit: float
) -> list[tuple[int, int, float]]:
    """Fast-motion bursts as (first frame, length, speed), spread over the sequence."""
    bursts = []
    for t0 in event_times(rng, n, count, 0.15, 0.85):
        length = int(rng.integers(4, 9))
        bursts.append((t0, length, float(rng.uniform(*speed)) * unit))
    return bursts


def walk(
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
    vel = unit_vector(rng) * rng.uniform(0.5, 2.5) * unit
    burst_at = {t0: (t0 + length, speed) for t0, length, speed in bursts}
    burst_end = -1
    out = np.zeros((n, 2))
    for t in range(n):
        lo = np.array([ex[t], ey[t]]) + BORDER
        hi = np.array([width - ex[t], height - ey[t]]) - BORDER
        if t > 0:
            if t in burst_at:
                burst_end, speed = burst_at[t]
                # Head for a far point of the frame, so a burst is not spent bouncing in a corner.
                goal = rng.uniform(lo, np.maximum(lo, hi))
                away = goal - pos if np.hypot(*(goal - pos)) > 1e-6 else unit_vector(rng)
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


def event_times(
    rng: np.random.Generator, n: int, count: int, start: float, stop: float
) -> list[int]:
    """`count` frame indices spread over [start, stop] of the sequence, one per equal slot."""
    if count == 0:
        return []
    edges = np.linspace(start * (n - 1), stop * (n - 1), count + 1)
    times = [int(rng.uniform(edges[i], edges[i + 1])) for i in range(count)]
    return [min(max(t, 1), n - 1) for t in times]


def ramps(
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
        times = event_times(rng, n, len(levels), 0.1, 0.8)
    for t0, level in zip(times, levels, strict=True):
        if ramp is None:
            length = rng.uniform(max(3.0, 0.08 * n), max(4.0, 0.25 * n))
        else:
            length = rng.uniform(*ramp)
        steps = np.clip(np.arange(n - t0) / length, 0.0, 1.0)
        before = values[t0 - 1]
        values[t0:] = before + (level - before) * steps * steps * (3 - 2 * steps)
    return values
