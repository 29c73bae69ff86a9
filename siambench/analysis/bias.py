"""The spatial bias of a Siamese network (``siambench analyze bias``; SiamRPN++, Figure 1).

For each probe frame the exemplar is cut around the target as the tracker cuts it, and the
search region is cut again and again with the target placed at each offset of a grid, in
search-crop pixels from the crop centre (the crops of :mod:`siambench.training.pairs`, i.e.
the tracker's own crop functions, colour order and padding). The network scores every crop;
where its response peaks (no cosine window, no penalty: the network's own preference) is
compared with where the target is.

- *positional prior*: how often each score-map cell holds the peak, summed over all offsets
  and frames. An unbiased network spreads it like the offsets; a biased one piles it up in
  the centre;
- *localisation error* against the offset's ring (the larger of |dx| and |dy|);
- *centre-bias index*: the least-squares slope of predicted against true offset, x and y
  pooled. 1: the peak follows the target; 0: the peak ignores where the target is.

The exemplar comes from the same frame as the search region, so appearance change does not
blur the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.training.pairs import CropStyle, crop_search, crop_template

#: Crops per network call.
CHUNK = 32

ScoreMaps = Callable[[Any], np.ndarray]


@dataclass
class Probe:
    """What the analysis needs from a tracker: its network, crops, stride and score maps.

    `model` has ``make_template(z)`` and ``track_with(template, x)``; `score_maps` turns the
    network's output for N crops into (N, H, W) maps, higher = more likely the target.
    """

    name: str
    model: nn.Module
    style: CropStyle
    stride: int
    score_maps: ScoreMaps
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


@dataclass
class Sample:
    frame: np.ndarray  # (H, W, 3) uint8, BGR
    box: np.ndarray  # x, y, w, h


@dataclass
class BiasResult:
    tracker: str
    offsets: np.ndarray  # (K, 2) true offsets, crop pixels (x, y)
    predicted: np.ndarray  # (F, K, 2) peak offsets per frame and offset
    heatmap: np.ndarray  # (H, W) peak counts over the score map
    cell_offsets: np.ndarray  # (H,) crop-pixel offset of each score-map row / column
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> float:
        return centre_bias_index(self.offsets, self.predicted)

    def error_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Rings (max of |dx|, |dy|) and the mean localisation error at each, crop pixels."""
        rings = np.abs(self.offsets).max(axis=1)
        error = np.linalg.norm(self.predicted - self.offsets[None], axis=2).mean(axis=0)
        keys = np.unique(rings)
        return keys, np.array([error[rings == k].mean() for k in keys])

    def to_json(self) -> dict[str, Any]:
        rings, error = self.error_curve()
        return {
            "tracker": self.tracker,
            "centre_bias_index": self.index,
            "mean_error": float(np.linalg.norm(self.predicted - self.offsets[None], axis=2).mean()),
            "frames": int(self.predicted.shape[0]),
            "offsets": self.offsets.tolist(),
            "error_curve": {"ring": rings.tolist(), "error": error.tolist()},
            "heatmap": self.heatmap.astype(int).tolist(),
            "cell_offsets": self.cell_offsets.tolist(),
            **self.info,
        }


def centre_bias_index(offsets: np.ndarray, predicted: np.ndarray) -> float:
    """Least-squares slope of predicted against true offset, both axes pooled."""
    true = np.broadcast_to(np.asarray(offsets, dtype=np.float64), predicted.shape).ravel()
    pred = np.asarray(predicted, dtype=np.float64).ravel()
    spread = true - true.mean()
    denominator = float((spread**2).sum())
    if denominator == 0:
        raise SiambenchError("the centre-bias index needs more than one offset")
    return float((spread * (pred - pred.mean())).sum() / denominator)


def parse_offsets(text: str) -> np.ndarray:
    """``LO:HI:STEP`` (inclusive, both axes) -> the (K, 2) grid of (dx, dy) offsets."""
    try:
        lo, hi, step = (float(v) for v in text.split(":"))
    except ValueError:
        raise SiambenchError(f"--offsets must be LO:HI:STEP (e.g. -64:64:8), got {text!r}") from None
    if step <= 0 or hi < lo:
        raise SiambenchError(f"--offsets {text!r}: need STEP > 0 and HI >= LO")
    axis = np.arange(lo, hi + step / 2, step)
    if len(axis) < 2:
        raise SiambenchError(f"--offsets {text!r}: the grid needs at least two values per axis")
    dx, dy = np.meshgrid(axis, axis)
    return np.stack([dx.ravel(), dy.ravel()], axis=1)


# ----------------------------------------------------------------------------- probes


def _fc_maps(output: torch.Tensor) -> np.ndarray:
    return output.float().cpu()[:, 0].numpy()


def _rpn_maps(foreground: Callable[[torch.Tensor], np.ndarray]) -> ScoreMaps:
    """Best anchor's foreground probability per cell, from the tracker's own scoring."""

    def maps(output: tuple[torch.Tensor, torch.Tensor]) -> np.ndarray:
        cls = output[0].float().cpu()
        side = cls.shape[-1]
        return np.stack([foreground(cls[i : i + 1]).reshape(-1, side, side).max(axis=0)
                         for i in range(cls.shape[0])])

    return maps


def probe_for(tracker: Any, spec: Any) -> Probe:
    """The probe of a built tracker (every adapter around a Siamese network)."""
    from siambench.training.pairs import crop_style

    model = getattr(tracker, "model", None)
    if model is None or not hasattr(model, "make_template") or not hasattr(model, "track_with"):
        raise SiambenchError(f"tracker {spec.name!r} (adapter {spec.adapter}) has no Siamese "
                             "network to analyse")
    params = getattr(tracker, "params", None)  # the RPN loops' shared parameters
    config = params if params is not None else tracker.config
    exemplar, search = int(config.exemplar_size), int(config.instance_size)
    stride = int(getattr(config, "stride", None) or config.total_stride)
    if spec.adapter in ("siamfc", "siamrpn"):
        style = crop_style(spec, search)
    else:  # SiamDW: round() crops about the same centre, BGR input
        style = CropStyle("siamrpn", exemplar, search, float(config.context_amount), "python")
    maps = _rpn_maps(tracker.foreground) if hasattr(tracker, "foreground") else _fc_maps
    return Probe(spec.name, model, style, stride, maps, torch.device(getattr(tracker, "device", "cpu")))


# ----------------------------------------------------------------------------- samples


def dataset_samples(dataset: str, data_root: str | Path | None, frames: int) -> list[Sample]:
    """`frames` frames spread evenly over the sequences of `dataset`, with their boxes."""
    from siambench.datasets import load_dataset
    from siambench.frames import read_frame
    from siambench.regions import axis_aligned
    from siambench.training.pairs import usable_frames

    ds = load_dataset(dataset, root=data_root)
    usable = [(seq, usable_frames(seq)) for seq in ds.sequences]
    usable = [(seq, idx) for seq, idx in usable if len(idx)]
    if not usable:
        raise SiambenchError(f"dataset {dataset!r} has no frame with a usable box")
    picks = []
    for k in range(frames):  # round-robin over sequences, evenly inside each
        seq, idx = usable[k % len(usable)]
        rounds = -(-frames // len(usable))
        picks.append((seq, int(idx[(k // len(usable)) * len(idx) // rounds])))
    return [Sample(read_frame(seq.frames[i]), axis_aligned(seq.groundtruth[i])) for seq, i in picks]


# ----------------------------------------------------------------------------- measurement


def _crops(style: CropStyle, sample: Sample, offsets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    z, fill = crop_template(style, sample.frame, sample.box)
    xs = [crop_search(style, sample.frame, sample.box, fill, off)[0] for off in offsets]
    return ops.stack_patches([z]), ops.stack_patches(xs)


def score_crops(probe: Probe, z: torch.Tensor, xs: torch.Tensor) -> np.ndarray:
    """(N, H, W) score maps of search crops `xs` against exemplar `z` (one per network call
    chunk; the template is repeated so that per-crop kernels work for every head)."""
    maps = []
    with torch.inference_mode():
        for start in range(0, len(xs), CHUNK):
            x = xs[start : start + CHUNK].to(probe.device)
            template = probe.model.make_template(z.to(probe.device).expand(len(x), -1, -1, -1))
            maps.append(probe.score_maps(probe.model.track_with(template, x)))
    return np.concatenate(maps)


def peak_cells(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each (H, W) map's maximum."""
    n, h, w = maps.shape
    return np.unravel_index(maps.reshape(n, -1).argmax(axis=1), (h, w))


def peak_offsets(maps: np.ndarray, stride: int) -> np.ndarray:
    """(N, 2) crop-pixel (x, y) offsets from the crop centre of each map's maximum.

    Cell i lies ``(i - (S - 1) / 2) * stride`` from the centre, as the trackers decode it.
    """
    _, h, w = maps.shape
    rows, cols = peak_cells(maps)
    return np.stack([(cols - (w - 1) / 2) * stride, (rows - (h - 1) / 2) * stride], axis=1)


def measure_bias(probe: Probe, samples: Sequence[Sample], offsets: np.ndarray,
                 progress: bool = True) -> BiasResult:
    """Run the probe on every sample at every offset (see the module docstring)."""
    import logging

    from tqdm import tqdm

    if not samples:
        raise SiambenchError("the bias analysis needs at least one frame")
    predicted, heatmap, size = [], None, 0
    for sample in tqdm(samples, desc=f"bias {probe.name}", unit="frame", disable=not progress):
        z, xs = _crops(probe.style, sample, offsets)
        maps = score_crops(probe, z, xs)
        size = maps.shape[-1]
        counts = np.zeros(maps.shape[1:])
        np.add.at(counts, peak_cells(maps), 1)
        heatmap = counts if heatmap is None else heatmap + counts
        predicted.append(peak_offsets(maps, probe.stride))
    reach = (size - 1) / 2 * probe.stride
    if np.abs(offsets).max() > reach:
        logging.getLogger("siambench").warning(
            "%s: offsets up to %g px but the score map reaches only %g px from the centre",
            probe.name, float(np.abs(offsets).max()), reach)
    return BiasResult(probe.name, np.asarray(offsets, dtype=np.float64), np.stack(predicted),
                      heatmap, (np.arange(size) - (size - 1) / 2) * probe.stride,
                      {"stride": probe.stride, "search_size": probe.style.search_size})


def analyze_bias(tracker: str | Any, dataset: str = "demo", data_root: str | Path | None = None,
                 offsets: str | np.ndarray = "-64:64:8", frames: int = 8,
                 weights: str | Path | None = None, random_init: bool = False,
                 device: str = "auto", progress: bool = True) -> BiasResult:
    """The bias analysis of a tracker (name, spec file or spec), with its weights as `run` finds
    them, explicit `weights`, or `random_init`."""
    from siambench.trackers.registry import create_tracker, load_spec, require_torch

    spec = require_torch(load_spec(tracker), "analyze bias")  # batches of exemplars: no fixed shape
    grid = parse_offsets(offsets) if isinstance(offsets, str) else np.asarray(offsets, float)
    built = create_tracker(spec, device=device, weights=weights, random_init=random_init)
    probe = probe_for(built, spec)
    result = measure_bias(probe, dataset_samples(dataset, data_root, frames), grid, progress)
    result.info.update({"dataset": dataset, "random_init": random_init,
                        "weights": None if weights is None else str(weights)})
    return result
