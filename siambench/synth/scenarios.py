"""The six scenarios: which one sequence *i* stresses, its name, and how hard each challenge is."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCENARIOS = ("occlusion", "clutter", "fast_motion", "rotation", "scale", "illumination")
_TITLES = {
    "occlusion": "Occlusion",
    "clutter": "Clutter",
    "fast_motion": "FastMotion",
    "rotation": "Rotation",
    "scale": "Scale",
    "illumination": "Lighting",
}


def sequence_name(index: int, layout: str) -> str:
    """The name of sequence `index` (0-based): its scenario's title and a running number."""
    title = _TITLES[SCENARIOS[index % len(SCENARIOS)]] + str(index // len(SCENARIOS) + 1)
    return title.lower() if layout == "vot" else title


@dataclass
class Knobs:
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


def scenario_knobs(scenario: str, rng: np.random.Generator) -> Knobs:
    """Mild doses of every challenge, and a strong dose of the scenario's own."""
    k = Knobs(
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
