"""`make bench` scoring at scale: many trackers on VOT2018, and a LaSOT-sized one-pass set.

    python -m siambench.bench --only scale

- VOT2018 (pysot definitions) scored for 1, 10 and 50 trackers (copies of the published
  DaSiamRPN files, so every tracker does the full work): seconds per tracker and peak memory,
  which should stay flat as the count grows.
- A generated one-pass set of LaSOT's size (280 sequences x 2,500 frames), scored by siambench
  and by got10k 0.1.3's own curve code on the same arrays, as a ratio.
- ``siambench eval --dataset vot2018`` as a whole command, in a fresh process, with the overlaps
  computed and with them read from the overlap cache (:mod:`siambench.cache`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

LASOT_SEQUENCES, LASOT_FRAMES = 280, 2500


@contextlib.contextmanager
def overlap_cache(setting: str):
    """$SIAMBENCH_OVERLAP_CACHE set to `setting` (a folder or off) for the block."""
    from siambench.cache import OVERLAP_CACHE_ENV

    before = os.environ.get(OVERLAP_CACHE_ENV)
    os.environ[OVERLAP_CACHE_ENV] = setting
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OVERLAP_CACHE_ENV, None)
        else:
            os.environ[OVERLAP_CACHE_ENV] = before


def _timed(fn, memory: bool = True) -> tuple[float, float]:
    """Seconds of one call and, from a second call (tracing slows Python), its peak MiB."""
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    if not memory:
        return seconds, float("nan")
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def bench_many_trackers(shared: Path) -> None:
    from siambench.datasets import load_dataset
    from siambench.evaluate import evaluate

    data = shared / "data"
    source = data / "results" / "VOT2018" / "DaSiamRPN"
    if not source.is_dir():
        print(f"scale: skipped, no published VOT2018 results at {source}")
        return
    ds = load_dataset("vot2018", data)
    print("Scoring many trackers: VOT2018, pysot definitions (A + R + EAO), warm")
    # copies of one tracker's files would all be answered by the overlap cache: compute them
    with tempfile.TemporaryDirectory() as tmp, overlap_cache("off"):
        root = Path(tmp) / "VOT2018"
        root.mkdir()
        per_tracker = []
        for count in (1, 10, 50):
            memory = count < 50  # tracing 50 trackers takes a minute; the trend shows by 10
            for i in range(count):
                if not (root / f"T{i:02d}").exists():
                    shutil.copytree(source, root / f"T{i:02d}")
            evaluate(ds, tmp)  # warm: kernels compiled, files cached
            seconds, peak = _timed(lambda: evaluate(ds, tmp), memory)
            per_tracker.append(seconds / count)
            print(f"  {count:3d} tracker(s): {seconds:7.3f} s, {seconds / count:6.3f} s per tracker, "
                  f"peak {peak:7.1f} MiB")
        print(f"  time per tracker at 50 / at 1: {per_tracker[-1] / per_tracker[0]:.2f} (1.0 = linear)")


def _lasot_like(rng: np.random.Generator):
    gts, preds = [], []
    for _ in range(LASOT_SEQUENCES):
        centre = np.cumsum(rng.normal(0, 3, (LASOT_FRAMES, 2)), axis=0) + 300
        size = np.clip(60 + np.cumsum(rng.normal(0, 0.5, (LASOT_FRAMES, 2)), axis=0), 10, None)
        gt = np.concatenate([centre - size / 2, size], axis=1)
        pred = gt + rng.normal(0, 6, gt.shape) * [1, 1, 0.5, 0.5]
        gts.append(gt)
        preds.append(pred)
    return gts, preds


def bench_lasot_sized() -> None:
    from siambench.metrics import ope

    gts, preds = _lasot_like(np.random.default_rng(0))

    def ours() -> None:
        ope.mean_curves([ope.sequence_curves(g, p) for g, p in zip(gts, preds, strict=True)])

    ours()
    t_ours = min(_timed(ours, memory=False)[0] for _ in range(2))
    peak = _timed(ours)[1]
    print(f"Scoring a LaSOT-sized one-pass set ({LASOT_SEQUENCES} x {LASOT_FRAMES} frames, generated)")
    print(f"  siambench (success, precision, norm. precision): {t_ours:6.3f} s, peak {peak:6.1f} MiB")
    try:
        from got10k.experiments.otb import ExperimentOTB
        from got10k.utils.metrics import center_error, rect_iou
    except Exception as exc:  # noqa: BLE001 - any import failure means: no reference to time
        print(f"  got10k reference: skipped ({type(exc).__name__}: {exc})")
        return

    class Bins:  # the two attributes ExperimentOTB._calc_curves reads
        nbins_iou, nbins_ce = 21, 51

    def theirs() -> None:
        curves = [ExperimentOTB._calc_curves(Bins, rect_iou(p, g), center_error(p, g))
                  for g, p in zip(gts, preds, strict=True)]
        np.mean([c[0] for c in curves], axis=0)

    theirs()
    t_ref = min(_timed(theirs, memory=False)[0] for _ in range(2))
    print(f"  got10k 0.1.3 (success, precision) on the same arrays: {t_ref:6.3f} s"
          f"  -> siambench at {t_ref / t_ours:4.1f}x got10k's speed (and computes norm. precision too)")


def bench_eval_command(shared: Path) -> None:
    """The eval command in fresh processes: overlaps computed (no cache) and read from the cache."""
    data = shared / "data"
    if not (data / "VOT2018").is_dir():
        return
    command = [sys.executable, "-m", "siambench", "eval", "-d", "vot2018", "--data-root", str(data),
               "--results-dir", str(data / "results")]
    with tempfile.TemporaryDirectory() as overlaps:
        for label, setting in (("overlaps computed", "off"), ("overlaps from the cache", overlaps)):
            times = []
            with overlap_cache(setting):  # the child processes inherit it
                subprocess.run(command, capture_output=True, check=True)  # numba cache, files, overlaps
                for _ in range(3):
                    start = time.perf_counter()
                    subprocess.run(command, capture_output=True, check=True)
                    times.append(time.perf_counter() - start)
            print(f"`siambench eval --dataset vot2018` as a command (fresh process, warm disk), {label}: "
                  f"{min(times):.2f} s   (target < 0.6 s)")


def bench_scale(shared: Path) -> None:
    bench_many_trackers(shared)
    bench_lasot_sized()
    bench_eval_command(shared)
