"""``siambench speed``: how fast a tracker tracks, measured the way a speed claim needs.

The FPS a benchmark run prints mixes in reading frames from disk, writing results, other runs
sharing the GPU and the first frames' lazy set-up (kernel selection, allocations). A speed
worth quoting (Stark#67 shows how parallel runs distort it) takes the frames from memory,
warms the tracker up before timing, waits for the GPU after every frame
(``torch.cuda.synchronize``) and times each ``track()`` call alone. It reports:

- ``fps``: frames over the seconds they took (what papers mean by FPS);
- ``fps_mean_inverse``: the mean of per-frame rates, got10k's definition (higher: fast
  frames count more), so the two conventions can be compared;
- per-frame latency percentiles (p50, p90, p99) and the slowest frame;
- the environment: device, GPU, CUDA, cuDNN, torch and Python versions, threads.

Run it alone on the machine: it cannot see other processes using the same device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError, SiambenchError


@dataclass
class SpeedReport:
    tracker: str
    dataset: str
    device: str
    frames: int  # frames timed
    warmup: int  # track() calls before timing began
    seconds: float
    fps: float
    fps_mean_inverse: float
    latency_ms: dict[str, float]  # p50, p90, p99, max
    init_ms: float  # mean time of init() over the sequences used
    environment: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        lat = self.latency_ms
        env = ", ".join(f"{k} {v}" for k, v in self.environment.items() if k != "device")
        return "\n".join([
            f"{self.tracker} on {self.dataset}, {self.device}: {self.frames} frames timed after "
            f"{self.warmup} warm-up frames",
            f"  {self.fps:.1f} fps (frames / total time); {self.fps_mean_inverse:.1f} fps as got10k "
            "averages (mean of per-frame rates)",
            f"  per frame: p50 {lat['p50']:.1f} ms, p90 {lat['p90']:.1f} ms, p99 {lat['p99']:.1f} ms, "
            f"slowest {lat['max']:.1f} ms; init {self.init_ms:.1f} ms",
            f"  {env}",
        ])


def _frames_in_memory(dataset: Any, count: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(init box, frames) per sequence, in the dataset's order, until `count` frames are held."""
    from siambench.frames import read_frame

    chosen, held = [], 0
    for seq in dataset:
        if held >= count:
            break
        paths = list(seq.frames)[: min(len(seq), count - held + 1)]
        if len(paths) < 2:
            continue
        if not Path(paths[0]).is_file():
            raise InputError(paths[0], f"the frames of {dataset.name}/{seq.name} are missing: speed is "
                                       "measured on the images (annotations alone are not enough)")
        chosen.append((seq.init_box(), [read_frame(p) for p in paths]))
        held += len(paths) - 1
    if not held:
        raise InputError(dataset.root, f"{dataset.name} has no sequence of 2 frames or more to time")
    return chosen


def measure_speed(
    tracker: str | Path,
    dataset: str = "demo",
    data_root: str | Path | None = None,
    frames: int = 300,
    warmup: int = 20,
    device: str = "auto",
    weights: str | Path | None = None,
    random_init: bool = False,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SpeedReport:
    """Time `frames` track() calls of `tracker` on `dataset`'s frames, after `warmup` untimed ones."""
    import torch

    from siambench.datasets import Dataset, load_dataset
    from siambench.runner import run_environment
    from siambench.trackers.registry import create_tracker

    if frames < 1 or warmup < 0:
        raise SiambenchError("--frames must be at least 1 and --warmup at least 0")
    if threads is not None:
        torch.set_num_threads(threads)
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_root)
    held = _frames_in_memory(ds, frames + warmup)
    trk = create_tracker(tracker, device=device, weights=weights, random_init=random_init)
    device_name = str(getattr(trk, "device", "cpu"))  # a tracker without a network runs on the CPU
    cuda = device_name.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    times, inits, done = [], [], 0
    total = frames + warmup
    while done < total:  # the sequences again from the first, should they hold too few frames
        for box, images in held:
            sync()
            start = time.perf_counter()
            trk.init(images[0], box)
            sync()
            inits.append(time.perf_counter() - start)
            for image in images[1:]:
                start = time.perf_counter()
                trk.track(image)
                sync()
                if done >= warmup:
                    times.append(time.perf_counter() - start)
                done += 1
                if progress is not None:
                    progress(done, total)
                if done >= total:
                    break
            if done >= total:
                break
    seconds = np.asarray(times)
    environment = run_environment(device_name)
    environment["threads"] = str(torch.get_num_threads())
    return SpeedReport(
        tracker=getattr(trk, "name", str(tracker)) or str(tracker),
        dataset=ds.name,
        device=device_name,
        frames=len(seconds),
        warmup=warmup,
        seconds=float(seconds.sum()),
        fps=len(seconds) / float(seconds.sum()),
        fps_mean_inverse=float(np.mean(1.0 / seconds)),
        latency_ms={name: float(np.percentile(seconds, q) * 1000)
                    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        init_ms=float(np.mean(inits) * 1000),
        environment=environment,
    )


__all__ = ["SpeedReport", "measure_speed"]
