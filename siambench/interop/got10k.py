"""got10k (the GOT-10k toolkit, 0.1.x): siambench trackers in its experiments, and its submission layout.

    from got10k.experiments import ExperimentGOT10k
    from siambench.interop.got10k import Got10kTracker

    ExperimentGOT10k("data/GOT-10k", subset="val").run(Got10kTracker("siamrpnpp", device="cuda"))

got10k hands trackers RGB PIL images and ``(x, y, w, h)`` boxes as its annotation files hold
them; siambench trackers take BGR uint8 arrays (OpenCV's order) and the same boxes, so the
wrapper only converts the image.

:func:`export_got10k` turns siambench's one-pass results (``<results>/GOT-10k/<tracker>/<seq>.txt``
and ``<seq>_time.txt``) into the layout the GOT-10k evaluation server takes:
``<out>/<tracker>/<seq>/<seq>_001.txt`` and ``<seq>_time.txt``, optionally zipped as
``<out>/<tracker>.zip`` with the sequence folders at its root (as got10k's own report does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError
from siambench.interop.submission import box_lines, one_pass_results, server_boxes, zip_folder

try:  # optional: without got10k the wrapper still offers init/update
    from got10k.trackers import Tracker as _Got10kBase
except ImportError:  # pragma: no cover - exercised only where got10k is absent
    _Got10kBase = object

TIME_FORMAT = "%.8f"  # got10k's own precision for per-frame times


def pil_to_bgr(image: Any) -> np.ndarray:
    """A PIL image (any mode) as a contiguous BGR uint8 (H, W, 3) array."""
    if getattr(image, "mode", "RGB") != "RGB":
        image = image.convert("RGB")
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


class Got10kTracker(_Got10kBase):  # type: ignore[misc, valid-type]
    """A siambench tracker behind got10k's Tracker interface (init / update / track)."""

    def __init__(self, tracker: str | Path, device: str = "auto", weights: str | Path | None = None,
                 random_init: bool = False, name: str | None = None, is_deterministic: bool = True) -> None:
        from siambench.trackers.registry import create_tracker, load_spec
        from siambench.weights import select_device

        spec = load_spec(tracker)
        # got10k's base __init__ only sets these two; set them directly so that the class also
        # works where got10k is not installed.
        self.name = name or spec.name
        # Deterministic trackers make got10k run one repetition instead of three.
        self.is_deterministic = is_deterministic
        self.device = select_device(device)
        self.tracker = create_tracker(spec, self.device, weights, random_init)

    def init(self, image: Any, box: np.ndarray) -> None:
        from siambench.execution.jobs import inference

        with inference(self.device):
            self.tracker.init(pil_to_bgr(image), np.asarray(box, dtype=np.float64))

    def update(self, image: Any) -> np.ndarray:
        from siambench.execution.jobs import inference

        with inference(self.device):
            result = self.tracker.track(pil_to_bgr(image))
        return np.asarray(result.box, dtype=np.float64)


def export_got10k(results_dir: str | Path, tracker: str, out: str | Path, dataset: str = "got10k-val",
                  zip_results: bool = False) -> Path:
    """Write `tracker`'s one-pass results in the GOT-10k submission layout; returns the folder
    (or the zip file with `zip_results`)."""
    from siambench.textio import atomic_write_lines, read_column

    target = Path(out) / tracker
    # every file is read and checked before any is written: a bad one leaves no partial submission
    checked = []
    for seq, path in one_pass_results(results_dir, tracker, dataset, out):
        boxes = server_boxes(path)
        time_path = path.parent / f"{seq}_time.txt"
        if not time_path.is_file():
            raise InputError(time_path, "missing: the GOT-10k server needs per-frame times")
        times = read_column(time_path)
        if len(times) != len(boxes):
            raise InputError(time_path, f"{len(times)} times for {len(boxes)} boxes")
        checked.append((seq, boxes, times))
    for seq, boxes, times in checked:
        folder = target / seq
        atomic_write_lines(folder / f"{seq}_001.txt", box_lines(boxes))
        atomic_write_lines(folder / f"{seq}_time.txt", (TIME_FORMAT % t for t in times))
    if not zip_results:
        return target
    return zip_folder(target, Path(out) / f"{tracker}.zip")
