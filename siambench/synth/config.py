"""What decides a synthetic benchmark: `SynthConfig`, its layouts and the demo defaults."""

from __future__ import annotations

from dataclasses import dataclass

from siambench.errors import SiambenchError

LAYOUTS = ("otb", "vot")

DEMO_SEED = 2015
DEMO_SEQUENCES = 6  # one per scenario
DEMO_FRAMES = (70, 100)  # each sequence's length is drawn from this range
DEMO_SIZE = (320, 240)


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
