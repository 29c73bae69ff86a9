"""Throughput of `siambench run` with 1 and 2 local workers (part of ``make bench``).

A synthetic OTB-layout benchmark is rendered into a temporary folder and tracked by OpenCV's
MIL (CPU only, no weights) once per worker count, each worker with one thread. The wall time
covers everything a user waits for, worker start-up included; the ratio to one worker is the
speed-up. On a 2-core machine two workers can at best halve the time.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TRACKER = "opencv-mil"


def bench_workers(counts: Sequence[int] = (1, 2), sequences: int = 6, frames: int = 60,
                  size: tuple[int, int] = (160, 120), quiet: bool = False) -> list[dict[str, Any]]:
    """Run the same plan with each worker count; print and return one row per count."""
    from siambench.runner import run
    from siambench.synth import generate

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="siambench-bench-") as tmp:
        root = Path(tmp)
        generate(root / "data" / "demo", layout="otb", sequences=sequences, frames=frames, size=size)
        for workers in counts:
            start = time.perf_counter()
            summary = run(TRACKER, "demo", data_root=root / "data", results_dir=root / f"results-{workers}",
                          device="cpu", workers=workers, threads=1, progress=False)
            wall = time.perf_counter() - start
            rows.append({
                "workers": workers,
                "frames": summary.frames,
                "wall_s": wall,
                "frames_per_s": summary.frames / wall,
                "tracker_fps_per_worker": summary.fps,
            })
    base = rows[0]["frames_per_s"]
    for row in rows:
        row["speedup"] = row["frames_per_s"] / base
    if not quiet:
        print(f"Run throughput, {TRACKER} on {sequences} synthetic sequences x {frames} frames "
              f"({size[0]}x{size[1]}), one thread per worker, start-up included")
        for row in rows:
            print(f"  {row['workers']} worker(s): {row['wall_s']:6.2f} s  {row['frames_per_s']:6.1f} frames/s"
                  f"  (tracker {row['tracker_fps_per_worker']:5.1f} fps per worker)  x{row['speedup']:.2f}")
    return rows


if __name__ == "__main__":
    bench_workers()
