"""Tracking speed of the released trackers, with random weights, on real frames.

For each tracker in :data:`TRACKERS` (built at its released input sizes from its spec), this
measures frames per second of ``track()``, the share of that time spent outside the network
(cropping, resizing, decoding: the part a faster GPU does not shrink), and the speed-up over
the same tracker unoptimised (BatchNorm not folded, autograd recording as in pysot).
Weights do not change the amount of work, so random weights give the released speed.

Adding a tracker: append its spec name to :data:`TRACKERS`; if its adapter has options that
turn the optimisations off, list them in :data:`UNOPTIMISED_MODEL_KEYS`. A tracker object with
a ``grad_free`` attribute has it set to False for the unoptimised run.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from siambench.errors import InputError
from siambench.frames import read_frame
from siambench.textio import read_regions

TRACKERS = ["siamrpn", "siamrpnpp", "siamrpnpp-alex", "siamrpnpp-mobilev2", "siamfc", "siamfcplus", "siamrpnplus"]

# adapter -> spec model keys that turn its optimisations off
UNOPTIMISED_MODEL_KEYS: dict[str, dict] = {
    "siamrpn": {"fuse_bn": False, "channels_last": False},
    "siamfc": {"fuse_bn": False, "channels_last": False},
    "siamfcplus": {"fuse_bn": False, "channels_last": False},
    "siamrpnplus": {"fuse_bn": False, "channels_last": False},
}

# Frames per second of the original code on this project's reference 2-core machine (2 threads,
# random weights, the 140 Couple frames), as measured when siambench was started: pysot's own
# SiamRPNTracker and SiamDW's trackers. Printed beside our figures as a ratio.
REFERENCE_FPS = {
    "siamrpnpp": 1.9,
    "siamrpnpp-alex": 11.9,
    "siamrpnpp-mobilev2": 6.3,
    "siamfcplus": 6.6,
    "siamrpnplus": 7.3,
}

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_frames(frames_dir: str | Path, n_frames: int) -> list[np.ndarray]:
    """The first `n_frames` images of a folder, in name order, as BGR arrays."""
    folder = Path(frames_dir)
    if not folder.is_dir():
        raise InputError(folder, "frames folder not found")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:n_frames]
    if len(paths) < 2:
        raise InputError(folder, f"need at least 2 images ({', '.join(IMAGE_SUFFIXES)})")
    return [read_frame(path) for path in paths]


def initial_box(frames_dir: str | Path, frame: np.ndarray) -> np.ndarray:
    """First box of an OTB-style ``../groundtruth_rect.txt`` if present, else a central box."""
    folder = Path(frames_dir)
    for gt in sorted(folder.parent.glob("groundtruth_rect*.txt")):
        return read_regions(gt, sizes=(4,))[0]
    height, width = frame.shape[:2]
    return np.array([width * 3 / 8, height * 3 / 8, width / 4, height / 4])


def _time_tracker(tracker, frames: list[np.ndarray], box: np.ndarray) -> tuple[float, float]:
    """Seconds for track() over frames[1:] and the network's share of them (after a warm-up)."""
    tracker.init(frames[0], box)
    tracker.track(frames[1])  # warm-up: lazy allocations, kernel selection
    tracker.init(frames[0], box)
    model_before = tracker.model_seconds
    start = time.perf_counter()
    for frame in frames[1:]:
        tracker.track(frame)
    total = time.perf_counter() - start
    return total, tracker.model_seconds - model_before


def _unoptimised_spec(spec):
    extra = UNOPTIMISED_MODEL_KEYS.get(spec.adapter, {})
    return dataclasses.replace(spec, model={**spec.model, **extra})


def bench_one(
    name: str, frames: list[np.ndarray], box: np.ndarray, device: str = "cpu", repeats: int = 2
) -> dict:
    """Speed of one tracker, optimised and unoptimised.

    The two versions are timed alternately `repeats` times and the fastest run of each is kept,
    so that load from other processes does not favour either.
    """
    from siambench.trackers.registry import create_tracker, load_spec

    spec = load_spec(name)
    tracker = create_tracker(spec, device=device, random_init=True)
    plain = create_tracker(_unoptimised_spec(spec), device=device, random_init=True)
    if hasattr(plain, "grad_free"):
        plain.grad_free = False
    runs, plain_runs = [], []
    for _ in range(max(1, repeats)):
        runs.append(_time_tracker(tracker, frames, box))
        plain_runs.append(_time_tracker(plain, frames, box))
    total, in_model = min(runs)
    plain_total = min(plain_runs)[0]
    n = len(frames) - 1
    return {
        "tracker": name,
        "instance_size": getattr(tracker, "instance_size", None),
        "frames": n,
        "fps": n / total,
        "outside_network_share": max(0.0, 1.0 - in_model / total),
        "unoptimised_fps": n / plain_total,
        "speedup": plain_total / total,
    }


def bench_trackers(
    frames_dir: str | Path,
    n_frames: int,
    threads: int = 2,
    trackers: list[str] | None = None,
    device: str = "cpu",
    repeats: int = 2,
) -> list[dict]:
    """Measure every tracker of `trackers` (default :data:`TRACKERS`) on one frame folder."""
    frames = read_frames(frames_dir, n_frames)
    box = initial_box(frames_dir, frames[0])
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rows = []
        for name in trackers or TRACKERS:
            row = bench_one(name, frames, box, device, repeats)
            row["threads"] = threads
            row["device"] = device
            rows.append(row)
        return rows
    finally:
        torch.set_num_threads(previous)


def format_rows(rows: list[dict]) -> str:
    """A plain-text table of :func:`bench_trackers` results."""
    header = (f"{'tracker':<20} {'search':>6} {'fps':>8} {'outside net':>11} {'unopt fps':>9} {'speed-up':>8}"
              f" {'original fps':>12} {'vs original':>11}")
    lines = [header]
    for r in rows:
        ref = REFERENCE_FPS.get(r["tracker"])
        ref_cols = f" {ref:>12.1f} {r['fps'] / ref:>10.2f}x" if ref else f" {'-':>12} {'-':>11}"
        lines.append(
            f"{r['tracker']:<20} {r['instance_size'] or '-':>6} {r['fps']:>8.1f} "
            f"{r['outside_network_share']:>10.0%} {r['unoptimised_fps']:>9.1f} {r['speedup']:>7.2f}x" + ref_cols
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/OTB100/Couple/img"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(format_rows(bench_trackers(folder, count)))
