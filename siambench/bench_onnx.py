"""`make bench` (``--only onnx``): the exported ONNX network against the torch one, one run.

Each tracker is exported (:func:`siambench.onnx_export.export_onnx`, its demo weights or random
ones) into a temporary folder, built twice (torch, and its ``-onnx`` spec on onnxruntime) and
timed on the same frames alternately, the faster of `repeats` runs kept for each, so load from
other processes favours neither. One thread for both: torch's and onnxruntime's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from siambench.bench_trackers import _time_tracker, initial_box, read_frames

#: the demo trackers ship their weights; the others run with random ones (the same work)
TRACKERS = ["siamfc-demo", "siamrpnpp-alex-demo", "siamrpnpp"]


def bench_onnx(frames_dir: str | Path, n_frames: int = 40, trackers: list[str] | None = None,
               repeats: int = 2) -> list[dict]:
    """Frames per second of each tracker with torch and with its exported graphs on onnxruntime."""
    from siambench.onnx_export import export_onnx
    from siambench.trackers.registry import create_tracker, load_spec

    frames = read_frames(frames_dir, n_frames)
    box = initial_box(frames_dir, frames[0])
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for name in trackers or TRACKERS:
                spec = load_spec(name)
                random_init = not str(spec.checkpoint or "").startswith("package:")
                exported = export_onnx(spec, folder, random_init=random_init)
                native = create_tracker(spec, "cpu", random_init=random_init)
                onnx = create_tracker(exported.spec_path, "cpu")
                runs: dict[str, list[float]] = {"torch": [], "onnxruntime": []}
                for _ in range(max(1, repeats)):
                    runs["torch"].append(_time_tracker(native, frames, box)[0])
                    runs["onnxruntime"].append(_time_tracker(onnx, frames, box)[0])
                n = len(frames) - 1
                rows.append({"tracker": name, "frames": n, "torch_fps": n / min(runs["torch"]),
                             "onnx_fps": n / min(runs["onnxruntime"]), "max_abs_diff": exported.max_abs_diff})
    finally:
        torch.set_num_threads(previous)
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'tracker':<22} {'torch fps':>9} {'onnx fps':>9} {'onnx/torch':>10} {'max |diff|':>10}"]
    for r in rows:
        lines.append(f"{r['tracker']:<22} {r['torch_fps']:>9.1f} {r['onnx_fps']:>9.1f} "
                     f"{r['onnx_fps'] / r['torch_fps']:>9.2f}x {r['max_abs_diff']:>10.1e}")
    return "\n".join(lines)
