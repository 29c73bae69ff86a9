"""`make bench`: speed measured in one run, printed as times and ratios (never asserted in tests).

    python -m siambench.bench [--only eval|scale|trackers|workers|batched|onnx] [--shared DIR]

Scoring speed uses the published raw results in the shared folder (``$SIAMBENCH_SHARED``,
default ``../shared``) and compares with vot-toolkit 0.9.0's own analyses on the same files.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_eval(shared: Path) -> None:
    from siambench.bench_scoring import overlap_cache
    from siambench.datasets import load_dataset
    from siambench.evaluate import evaluate

    data, results = shared / "data", shared / "data" / "results"
    if not (data / "VOT2018").is_dir():
        print(f"eval: skipped, no shared data at {data}")
        return
    vot = load_dataset("vot2018", data)
    otb = load_dataset("otb2015", data)
    # The overlaps are computed on every call here (the overlap cache would answer from disk):
    # this times the scoring itself; the cached figure follows.
    with overlap_cache("off"):
        evaluate(vot, results, trackers=["DaSiamRPN"])  # warm-up: numba kernels, file cache
        t_vot = _best_of(lambda: evaluate(vot, results, trackers=["DaSiamRPN"]), 5)
        t_votkit_variant = _best_of(lambda: evaluate(vot, results, trackers=["DaSiamRPN"], variant="vot-toolkit"), 3)
    with tempfile.TemporaryDirectory() as folder, overlap_cache(folder):
        evaluate(vot, results, trackers=["DaSiamRPN"])
        t_vot_cached = _best_of(lambda: evaluate(vot, results, trackers=["DaSiamRPN"]), 5)
    evaluate(otb, results, trackers=["SiamRPN++"])
    t_otb = _best_of(lambda: evaluate(otb, results, trackers=["SiamRPN++"]), 5)
    print("Scoring speed (warm, best of several runs, annotations already loaded)")
    print(f"  VOT2018, 60 sequences, A + R + EAO (pysot definitions):   {t_vot:6.3f} s   (target < 0.15 s)")
    print(f"  VOT2018, the same with the overlaps from the cache:       {t_vot_cached:6.3f} s")
    print(f"  VOT2018, vot-toolkit variant:                             {t_votkit_variant:6.3f} s")
    print(f"  OTB100, 100 sequences, AUC + precision + norm. precision: {t_otb:6.3f} s   (target < 0.5 s)")
    t_ref = _vot_toolkit_reference(vot, results)
    if t_ref is not None:
        print(f"  vot-toolkit 0.9.0 analyses (A, R, EAO curve) on the same files: {t_ref:6.3f} s"
              f"  -> siambench is {t_ref / t_votkit_variant:5.1f}x faster on the same definitions")


def _vot_toolkit_reference(dataset, results: Path) -> float | None:
    """Time vot-toolkit's AccuracyRobustness + EAOCurve over the same raw results."""
    try:
        import vot.analysis.supervised  # noqa: F401 - fail here when vot-toolkit is absent

        from siambench.metrics.votkit_reference import supervised_analyses
    except Exception as exc:  # noqa: BLE001 - any import failure means: no reference to time
        print(f"  vot-toolkit reference: skipped ({type(exc).__name__}: {exc})")
        return None
    from siambench.results import ResultStore

    store = ResultStore(results, "VOT2018", "DaSiamRPN")
    trajectories = {s.name: store.read_vot(s.name) for s in dataset}
    sequences = list(dataset)
    supervised_analyses(sequences, trajectories)  # numba compilation
    return _best_of(lambda: supervised_analyses(sequences, trajectories), 1)


def bench_trackers(shared: Path) -> None:
    try:
        from siambench.bench_trackers import bench_trackers as run
        from siambench.bench_trackers import format_rows
    except ImportError as exc:
        print(f"trackers: skipped ({exc})")
        return
    frames = shared / "data" / "OTB100" / "Couple" / "img"
    if not frames.is_dir():
        print(f"trackers: skipped, no frames at {frames}")
        return
    rows = run(frames, 40, threads=2)
    print("Tracker speed on CPU (2 threads, random weights, 40 real Couple frames)")
    print(format_rows(rows))


def bench_exported(shared: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        print("onnx: skipped, onnx and onnxruntime are not installed (pip install 'siambench[onnx]')")
        return
    from siambench.bench_onnx import bench_onnx, format_rows

    frames = shared / "data" / "OTB100" / "Couple" / "img"
    print("Exported networks on CPU (one thread; onnxruntime against torch; 40 real Couple frames)")
    print(format_rows(bench_onnx(frames, 40)) if frames.is_dir() else f"onnx: skipped, no frames at {frames}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["eval", "scale", "trackers", "workers", "batched", "onnx"], default=None)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("SIAMBENCH_SHARED", "../shared")))
    args = parser.parse_args(argv)
    if args.only in (None, "eval"):
        bench_eval(args.shared)
    if args.only in (None, "scale"):
        from siambench.bench_scoring import bench_scale

        bench_scale(args.shared)
    if args.only in (None, "trackers"):
        bench_trackers(args.shared)
    if args.only in (None, "workers"):
        from siambench.bench_workers import bench_workers

        bench_workers()
    if args.only in (None, "onnx"):
        bench_exported(args.shared)
    if args.only in (None, "batched"):
        from siambench.bench_batched import TRACKERS, bench_batched

        # issue 9's goals on the CPU: >= 1.5x alex and mobilev2, >= 1.1x r50, auto never slower
        # 8 sequences of 40-80 frames: the ResNet-50 runs take minutes each on two cores
        bench_batched(list(TRACKERS), ["8", "auto"], "cpu", 8, (40, 80), "bf16", None)


if __name__ == "__main__":
    main()
