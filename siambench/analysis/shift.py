"""The shift ablation of SiamRPN++ (its Figure 2) at demo scale (``siambench analyze shift``).

For each tracker and each shift range, one network is trained by ``siambench train`` (the same
function, :func:`siambench.training.loop.train`) on the synthetic training set with the search
region shifted uniformly by up to that many pixels, scored on ``demo-vot`` (EAO, accuracy,
robustness) and ``demo`` (success AUC), and put through the bias analysis
(:mod:`siambench.analysis.bias`). The default pair is the unpadded AlexNet of the demo
SiamRPN++ tracker and a padded small ResNet (:data:`SMALL_RESNET`), where the paper's effect
(without shift, the padded network learns to prefer the centre) can show.

The training-side prior of Figure 1 needs no training: :func:`training_prior` draws the
training pairs of each shift range from the pair sampler and counts where the positive labels
fall on the score map.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError, SiambenchError
from siambench.training.data import SyntheticSet

#: The padded deep network trained next to the AlexNet (a spec made in code, adapter siamrpn).
SMALL_RESNET = "siamrpn-small-resnet"
DEFAULT_TRACKERS = ("siamrpnpp-alex-demo", SMALL_RESNET)
DEFAULT_SHIFTS = (0, 16, 32, 64)


def small_resnet_spec() -> Any:
    """The tracker spec of :data:`SMALL_RESNET`: pysot's SiamRPN++ (ResNet-50) inference
    settings around the small padded ResNet (its 25x25 map: base size 8, as ResNet-50's)."""
    from siambench.trackers.registry import TrackerSpec

    return TrackerSpec(
        name=SMALL_RESNET, adapter="siamrpn", model={"arch": "siamrpn_small_resnet"},
        hyper={"penalty_k": 0.05, "window_influence": 0.42, "lr": 0.38, "exemplar_size": 127,
               "instance_size": 255, "base_size": 8, "context_amount": 0.5, "anchor_stride": 8,
               "anchor_ratios": [0.33, 0.5, 1, 2, 3], "anchor_scales": [8]},
        description="SiamRPN++ layout around a small padded ResNet (siambench analyze shift)",
    )


def tracker_spec(name: str | Path | Any) -> Any:
    """A spec by name (the small ResNet's included), spec file or spec."""
    from siambench.trackers.registry import load_spec, require_torch

    return small_resnet_spec() if name == SMALL_RESNET else require_torch(load_spec(name), "analyze shift")


def parse_shifts(text: str) -> list[float]:
    try:
        shifts = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SiambenchError(f"--shifts must be comma-separated numbers, got {text!r}") from None
    if not shifts or any(s < 0 for s in shifts):
        raise SiambenchError(f"--shifts needs one or more values >= 0, got {text!r}")
    return shifts


@dataclass
class ShiftConfig:
    """The settings of one ablation run (defaults: the documented < 30 minute run)."""

    shifts: Sequence[float] = DEFAULT_SHIFTS
    epochs: int = 2
    pairs_per_epoch: int = 200
    batch_size: int = 8
    seed: int = 0
    synthetic: SyntheticSet = field(default_factory=SyntheticSet)
    eval_sequences: Sequence[str] | None = None  # None: every sequence of demo / demo-vot
    bias_frames: int = 4
    bias_offsets: str = "-64:64:16"
    prior_pairs: int = 256
    data_root: str | Path | None = None


# ----------------------------------------------------------------------------- training prior


def _positive_cells(spec: Any, style: Any, boxes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, S) count of positive labels over the score map for the batch's target boxes."""
    from siambench import ops
    from siambench.training import targets

    if style.family == "siamfc":
        from siambench.trackers.siamfc import SiamFCConfig, config_from, where

        cfg = config_from(SiamFCConfig, spec.hyper, where(spec))
        size = (style.search_size - style.exemplar_size) // cfg.total_stride + 1
        labels, _ = targets.siamfc_labels(boxes[:, :2], size, cfg.total_stride, 16.0)
        return labels[:, 0].sum(axis=0)
    from siambench.trackers.siamrpn import SiamRPNConfig

    cfg = SiamRPNConfig.from_hyper(spec.hyper, f"tracker {spec.name!r}")
    size = ops.score_size(style.search_size, style.exemplar_size, cfg.anchor_stride, cfg.base_size)
    anchors = ops.generate_anchors(cfg.anchor_stride, cfg.anchor_ratios, cfg.anchor_scales, size)
    counts = np.zeros(size * size)
    for box in boxes:
        labels, _, _ = targets.anchor_targets(anchors, box, rng)
        np.add.at(counts, np.flatnonzero(labels == 1) % (size * size), 1)
    return counts.reshape(size, size)


def training_prior(spec: Any, sequences: Sequence[Any], shifts: Sequence[float], pairs: int = 256,
                   seed: int = 0) -> dict[float, np.ndarray]:
    """Per shift range, the (S, S) share of positive labels at each score-map cell over
    `pairs` training pairs drawn exactly as training draws them."""
    from siambench.training.loop import DEFAULT_SCALE_JITTER, TrainConfig
    from siambench.training.pairs import Augment, PairSampler, crop_style, sample_batch

    style = crop_style(spec)
    sampler = PairSampler(sequences, TrainConfig().frame_range)
    prior = {}
    for shift in shifts:
        rng = np.random.default_rng(seed)
        augment = Augment(shift=float(shift), scale_jitter=DEFAULT_SCALE_JITTER[style.family])
        batch = sample_batch(sampler, style, augment, pairs, rng)
        counts = _positive_cells(spec, style, batch.boxes, rng)
        prior[float(shift)] = counts / max(counts.sum(), 1.0)
    return prior


# ----------------------------------------------------------------------------- the ablation


@dataclass
class ShiftPoint:
    tracker: str
    shift: float
    weights: str
    final_loss: float
    eao: float | None = None
    accuracy: float | None = None
    robustness: float | None = None
    auc: float | None = None
    centre_bias_index: float | None = None
    mean_error: float | None = None


def _subset(name: str, data_root: Any, names: Sequence[str] | None) -> Any:
    from siambench.datasets import load_dataset

    ds = load_dataset(name, root=data_root)
    if names is None:
        return ds
    # demo and demo-vot hold the same videos, named in each layout's case (Scale1, scale1)
    by_name = {n.lower(): n for n in ds.names}
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown:
        raise SiambenchError(f"dataset {name}: no sequence(s) {', '.join(unknown)}; "
                             f"known: {', '.join(ds.names)}")
    return dataclasses.replace(ds, sequences=[ds[by_name[n.lower()]] for n in names])


def _score(spec: Any, weights: Path, ds: Any, results: Path, device: str) -> dict[str, Any]:
    from siambench.evaluate import evaluate
    from siambench.runner import run

    run(spec, ds, results_dir=results, weights=weights, device=device, progress=False, force=True)
    try:
        scores = evaluate(ds, results_dir=results, trackers=[spec.name])
    except InputError as exc:
        # the scorer refuses a VOT file without a single region (a network that fails on every
        # frame after each re-initialisation): no score for this point, the others still count
        logging.getLogger("siambench").warning("%s on %s: not scored (%s)", spec.name, ds.name, exc)
        return {}
    return scores["trackers"][spec.name]["overall"]


def train_one(spec: Any, sequences: Sequence[Any], shift: float, config: ShiftConfig,
              out: Path, device: str) -> tuple[Path, float]:
    """Train `spec`'s network with search shift `shift`; the weights file and final loss."""
    from siambench.training.loop import TrainConfig, save_weights, train
    from siambench.weights import select_device

    train_config = TrainConfig(epochs=config.epochs, pairs_per_epoch=config.pairs_per_epoch,
                               batch_size=config.batch_size, shift=float(shift), seed=config.seed)
    result = train(spec, sequences, train_config, select_device(device))  # "auto" -> a real device
    path = out / "weights" / f"{spec.name}-shift{shift:g}.pth"
    save_weights(result.model, path, {**result.info, "analysis": "siambench analyze shift"})
    return path, float(result.info["final_loss"])


def analyze_shift(trackers: Sequence[str] = DEFAULT_TRACKERS, config: ShiftConfig | None = None,
                  out: str | Path = "results/analysis/shift", device: str = "auto",
                  progress: bool = True,
                  on_point: Callable[[ShiftPoint], None] | None = None) -> dict[str, Any]:
    """Train, score and bias-analyse one network per tracker and shift (module docstring)."""
    from tqdm import tqdm

    from siambench.analysis.bias import dataset_samples, measure_bias, parse_offsets, probe_for
    from siambench.textio import check_writable_dir
    from siambench.trackers.registry import create_tracker
    from siambench.training.data import load_sequences

    config = config or ShiftConfig()
    out = Path(out)
    check_writable_dir(out)
    specs = [tracker_spec(t) for t in trackers]
    grid = parse_offsets(config.bias_offsets)
    sequences, source = load_sequences(synthetic=config.synthetic)
    samples = dataset_samples("demo", config.data_root, config.bias_frames)
    vot_set = _subset("demo-vot", config.data_root, config.eval_sequences)
    ope_set = _subset("demo", config.data_root, config.eval_sequences)
    points, priors = [], {}
    jobs = [(spec, s) for spec in specs for s in config.shifts]
    for spec in specs:
        priors[spec.name] = training_prior(spec, sequences, config.shifts, config.prior_pairs,
                                           config.seed)
    for spec, shift in tqdm(jobs, desc="analyze shift", unit="network", disable=not progress):
        weights, loss = train_one(spec, sequences, shift, config, out, device)
        trained = dataclasses.replace(spec, name=f"{spec.name}-shift{shift:g}", checkpoint=None,
                                      source=None)
        vot = _score(trained, weights, vot_set, out / "results", device)
        ope = _score(trained, weights, ope_set, out / "results", device)
        probe = probe_for(create_tracker(trained, device=device, weights=weights), trained)
        bias = measure_bias(probe, samples, grid, progress=False)
        point = ShiftPoint(spec.name, float(shift), str(weights), loss, vot.get("eao"),
                           vot.get("accuracy"), vot.get("robustness"), ope.get("auc"),
                           bias.index, bias.to_json()["mean_error"])
        points.append(point)
        if on_point is not None:
            on_point(point)
    return {
        "trackers": [s.name for s in specs],
        "shifts": [float(s) for s in config.shifts],
        "training_data": source,
        "settings": {k: v for k, v in dataclasses.asdict(config).items() if k != "data_root"},
        "points": [dataclasses.asdict(p) for p in points],
        "training_prior": {name: {f"{s:g}": m.tolist() for s, m in prior.items()}
                           for name, prior in priors.items()},
    }
