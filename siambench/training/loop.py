"""The training loop: seeded, small, on the CPU or a GPU.

``train(spec, sequences, config)`` builds the spec's network with random weights, draws
``epochs x pairs_per_epoch`` pairs (:mod:`siambench.training.pairs`), and minimises

- SiamFC (adapter ``siamfc``): the balanced logistic loss on the score map, positives within
  `radius` crop pixels of the target centre;
- SiamRPN (adapter ``siamrpn``): ``L_cls + reg_weight * L_reg`` on pysot's anchor targets.

SiamFC starts from the very network its tracker runs with ``--random-init`` (the tracker's
seed, BatchNorm calibrated alike) and keeps BatchNorm's statistics frozen: a random AlexNet
with correlation is already a fair template matcher on textured targets, and fine-tuning it
with a small learning rate improves on that start, where training from scratch for a few
hundred steps ended below it. SiamRPN starts from fresh weights drawn from `seed` (its random
regression branch is useless anyway) with BatchNorm in training mode.

With ``scale_rank > 0`` SiamFC also learns the decision its scale search makes: each search
region is cut again, 8-30% wider and narrower about the same target position
(`off_scale`), and a cross-entropy over the three crops' highest responses on the target's
cells (:func:`siambench.training.losses.scale_rank_loss`), weighted by `scale_rank`, asks the
right scale to peak highest. The logistic loss alone never compares scales: it scores each
crop's map on its own, so a network trained by it alone peaks about as high on a target 10%
too large or too small and the tracker's size follows the target late.

With ``min_visible > 0``, frames in which occluders hide most of the target (less than that
fraction of it shows, where the data say: the synthetic sets' ``visible.txt``) are never
templates, and as search frames they make negative pairs: their box frames the occluder, and
as positives they would teach the network to take the occluder for the target
(siamfc-pytorch trains only on GOT-10k frames whose visibility label is high enough). The
default, 0, takes the ground truth as it is, as the released demo weights were trained.

With ``negatives > 0`` that fraction of the pairs are negative pairs (the search region from
another sequence, every cell and anchor a negative: :mod:`siambench.training.pairs`). With
``lookalikes > 0`` that fraction of the pairs centre the search region on a look-alike of the
target (where the data record them), so the object where the tracker looks first is the wrong
one: the cells there are negatives, and SiamRPN takes the anchors on it as negatives first
(unless occluders hide the target in that frame: the pair is then a negative one, all of whose
anchors are sampled alike). One draw per pair decides its kind, so the two fractions are
shares of all pairs.

The optimiser is Adam, its learning rate decaying log-linearly from `lr` to `lr * final_lr`
after a short linear warm-up (pysot's schedules, shortened to a few hundred steps). Everything
random (pairs, augmentation, anchor sampling, SiamRPN's initial weights) follows `seed`, so
one command gives the same weights again on the same machine and library versions.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.datasets import Sequence as Video
from siambench.errors import InputError, SiambenchError
from siambench.textio import os_reason
from siambench.trackers.registry import TrackerSpec
from siambench.training import losses, targets
from siambench.training.pairs import (
    Augment,
    Batch,
    CropStyle,
    PairSampler,
    crop_style,
    sample_batch,
)

#: Per-family defaults: search shift in crop pixels (SiamRPN++: 64; siamfc-pytorch's random
#: crop moves by up to 8) and scale jitter (pysot SEARCH.SCALE 0.18, siamfc-pytorch 0.05).
DEFAULT_SHIFT = {"siamfc": 8.0, "siamrpn": 64.0}
DEFAULT_SCALE_JITTER = {"siamfc": 0.05, "siamrpn": 0.18}
#: Peak learning rates (Adam). SiamFC's random twin already matches templates by correlation;
#: small steps keep that and sharpen it (the demo weights' README has the measurements: 1e-3
#: scored below the random network). SiamRPN's box regression starts from nothing.
DEFAULT_LR = {"siamfc": 1e-4, "siamrpn": 1e-3}
#: Where training starts. "tracker-random": the very network ``--random-init`` tracks with
#: (weights seeded with the tracker's fixed seed, BatchNorm calibrated the same way), so that
#: fine-tuning starts from its random twin's scores; "seeded": fresh weights from `seed`.
DEFAULT_INIT = {"siamfc": "tracker-random", "siamrpn": "seeded"}
#: BatchNorm during training. "frozen": running statistics kept (eval mode; scale and shift
#: still learn), as batches of a few pairs give noisy statistics; "train": batch statistics.
DEFAULT_BATCHNORM = {"siamfc": "frozen", "siamrpn": "train"}
INITS = ("tracker-random", "seeded")
BATCHNORM_MODES = ("frozen", "train")


@dataclass
class TrainConfig:
    """Everything that decides the trained weights besides the spec and the data."""

    epochs: int = 4
    pairs_per_epoch: int = 400
    batch_size: int = 8
    lr: float | None = None  # None: the family's default (DEFAULT_LR)
    final_lr: float = 0.05  # the last step's learning rate, as a fraction of `lr`
    warmup_steps: int = 10
    weight_decay: float = 1e-4
    shift: float | None = None  # None: the family's default
    scale_jitter: float | None = None
    light_jitter: float = 0.0  # search-frame gain between 1 / (1 + x) and 1 + x (0: none)
    frame_range: int = 50
    min_visible: float = 0.0  # frames showing less of the target: no template, negative search
    negatives: float = 0.0  # fraction of negative pairs (search frame from another sequence)
    lookalikes: float = 0.0  # fraction of look-alike pairs (search region on a look-alike)
    search_size: int | None = None  # None: siamfc the spec's instance size, siamrpn 255
    radius: float = 16.0  # SiamFC positive radius, crop pixels
    scale_rank: float = 0.0  # SiamFC: weight of the scale-choice loss (0: off)
    off_scale: tuple[float, float] = (1.08, 1.3)  # its off-scale side ratios (log-uniform)
    reg_weight: float = 1.2  # SiamRPN lambda (pysot LOC_WEIGHT)
    init: str | None = None  # None: the family's default (DEFAULT_INIT)
    batchnorm: str | None = None  # None: the family's default (DEFAULT_BATCHNORM)
    seed: int = 0

    def validate(self) -> None:
        for name in ("epochs", "pairs_per_epoch", "batch_size"):
            if getattr(self, name) < 1:
                raise SiambenchError(f"{name.replace('_', ' ')} must be at least 1")
        if (self.lr is not None and self.lr <= 0) or not 0 < self.final_lr <= 1:
            raise SiambenchError("the learning rate must be > 0 and the final fraction in (0, 1]")
        if (self.shift is not None and self.shift < 0) or (
            self.scale_jitter is not None and not 0 <= self.scale_jitter < 1
        ):
            raise SiambenchError("--shift must be >= 0 and --scale-jitter in [0, 1)")
        if not 0 <= self.light_jitter <= 10:
            raise SiambenchError(f"--light-jitter must be in [0, 10], got {self.light_jitter}")
        if not 0 <= self.min_visible <= 1:
            raise SiambenchError(f"--min-visible must be in [0, 1], got {self.min_visible}")
        if not 0 <= self.negatives < 1:
            raise SiambenchError(f"--negatives must be in [0, 1), got {self.negatives}")
        if not 0 <= self.lookalikes < 1 or self.negatives + self.lookalikes >= 1:
            raise SiambenchError(f"--lookalikes must be in [0, 1) and, with --negatives, leave "
                                 f"ordinary pairs; got {self.lookalikes} and {self.negatives}")
        if self.seed < 0:
            raise SiambenchError(f"the seed must be >= 0, got {self.seed}")
        if self.scale_rank < 0 or not 1 < self.off_scale[0] <= self.off_scale[1]:
            raise SiambenchError("--scale-rank must be >= 0 and the off-scale ratios > 1, low first")
        if self.init is not None and self.init not in INITS:
            raise SiambenchError(f"unknown init {self.init!r}; known: {', '.join(INITS)}")
        if self.batchnorm is not None and self.batchnorm not in BATCHNORM_MODES:
            raise SiambenchError(f"unknown BatchNorm mode {self.batchnorm!r}; known: "
                                 f"{', '.join(BATCHNORM_MODES)}")

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.pairs_per_epoch / self.batch_size)


@dataclass
class Progress:
    """Reported after every epoch."""

    epoch: int
    epochs: int
    loss: float
    parts: dict[str, float]
    pairs: int
    seconds: float


@dataclass
class TrainResult:
    model: nn.Module
    history: list[Progress] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- tasks


class SiamFCTask:
    """Network and loss of the ``siamfc`` adapter."""

    def __init__(self, spec: TrackerSpec, config: TrainConfig, style: CropStyle) -> None:
        from siambench.trackers.siamfc import SiamFCConfig, config_from, where

        self.spec = spec
        cfg = config_from(SiamFCConfig, spec.hyper, where(spec))
        self.stride = cfg.total_stride
        self.exemplar_size, self.instance_size = cfg.exemplar_size, cfg.instance_size
        self.radius = config.radius
        self.scale_rank = config.scale_rank

    def build(self) -> nn.Module:
        from siambench.models.siamfc import siamfc_alexnet

        backbone = self.spec.model.get("backbone", "alexnet_v1")
        if backbone != "alexnet_v1":
            raise SiambenchError(f"tracker {self.spec.name!r}: backbone must be 'alexnet_v1'")
        return siamfc_alexnet(float(self.spec.model.get("out_scale", 0.001)))

    def calibration_inputs(self) -> tuple[torch.Tensor, ...]:
        """What the ``siamfc`` adapter calibrates a random network's BatchNorm with."""
        from siambench.trackers.network import random_images

        return random_images(self.exemplar_size, self.instance_size)()

    def loss(self, model: nn.Module, batch: Batch, device: torch.device,
             rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        response = model(batch.z.to(device), batch.x.to(device))
        labels, weights = targets.siamfc_labels(batch.boxes[:, :2], response.size(-1), self.stride,
                                                self.radius, batch.negative)
        labels = torch.from_numpy(labels).to(device)
        loss = losses.logistic_loss(response, labels, torch.from_numpy(weights).to(device))
        if batch.x_off is None or not self.scale_rank:
            return loss, {}
        b, _, c, s, _ = batch.x_off.shape
        off = model(batch.z.to(device).repeat_interleave(2, dim=0),
                    batch.x_off.to(device).reshape(2 * b, c, s, s)).reshape(b, 2, *response.shape[-2:])
        # siamfc_labels already gives negative pairs no positive cell, so they drop out here
        rank = losses.scale_rank_loss(response, off, labels > 0)
        return loss + self.scale_rank * rank, {"logistic": loss.item(), "scale": rank.item()}


class SiamRPNTask:
    """Network and loss of the ``siamrpn`` adapter."""

    def __init__(self, spec: TrackerSpec, config: TrainConfig, style: CropStyle) -> None:
        from siambench.trackers.siamrpn import SiamRPNConfig

        self.spec = spec
        self.cfg = SiamRPNConfig.from_hyper(spec.hyper, f"tracker {spec.name!r}")
        self.reg_weight = config.reg_weight
        self._anchors: dict[int, np.ndarray] = {}

    def build(self) -> nn.Module:
        from siambench.trackers.siamrpn import build_model

        return build_model(self.spec)

    def calibration_inputs(self) -> tuple[torch.Tensor, ...]:
        """What the ``siamrpn`` adapter calibrates a random network's BatchNorm with."""
        from siambench.models.fuse import calibration_images
        from siambench.trackers.network import RANDOM_INIT_SEED

        return (calibration_images(self.cfg.exemplar_size, RANDOM_INIT_SEED),
                calibration_images(self.cfg.instance_size, RANDOM_INIT_SEED + 1))

    def anchors(self, size: int) -> np.ndarray:
        """The tracker's anchors for a size x size score map (cx, cy, w, h about the centre)."""
        if size not in self._anchors:
            cfg = self.cfg
            self._anchors[size] = ops.generate_anchors(cfg.anchor_stride, cfg.anchor_ratios,
                                                       cfg.anchor_scales, size)
        return self._anchors[size]

    def loss(self, model: nn.Module, batch: Batch, device: torch.device,
             rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        cls, loc = model(batch.z.to(device), batch.x.to(device))
        anchors = self.anchors(cls.size(-1))
        made = [targets.anchor_targets(anchors, box, rng, negative=bool(neg), lookalike=look)
                for box, neg, look in zip(batch.boxes, batch.negative, batch.lookalikes, strict=True)]
        labels = torch.from_numpy(np.stack([m[0] for m in made])).to(device)
        deltas = torch.from_numpy(np.stack([m[1] for m in made])).to(device)
        weights = torch.from_numpy(np.stack([m[2] for m in made])).to(device)
        return losses.rpn_loss(cls, loc, labels, deltas, weights, self.reg_weight)


TASKS = {"siamfc": SiamFCTask, "siamrpn": SiamRPNTask}


# ----------------------------------------------------------------------------- loop


def initial_model(task: SiamFCTask | SiamRPNTask, init: str, seed: int) -> nn.Module:
    """The network training starts from (see :data:`DEFAULT_INIT`)."""
    if init == "seeded":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return task.build()
    # the steps of siambench.trackers.network.prepare_model with random_init, before fusion
    from siambench.models.fuse import calibrate_batchnorm
    from siambench.trackers.network import RANDOM_INIT_SEED, seeded

    model = seeded(task.build)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        calibrate_batchnorm(model, *task.calibration_inputs())
    return model


def set_training_mode(model: nn.Module, batchnorm: str) -> None:
    """Training mode, with BatchNorm's statistics frozen when `batchnorm` is "frozen"."""
    model.train()
    if batchnorm == "frozen":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up to `lr`, then log-linear decay to ``lr * final_lr`` at the last step."""
    if config.lr is None:
        raise ValueError("learning_rate needs a config whose lr is set (train() fills it in)")
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(config.steps - config.warmup_steps - 1, 1)
    progress = min((step - config.warmup_steps) / span, 1.0)
    return config.lr * config.final_lr**progress


def train(
    spec: TrackerSpec,
    sequences: Sequence[Video],
    config: TrainConfig,
    device: torch.device | str = "cpu",
    report: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train the network of `spec` on pairs from `sequences`; see the module docstring."""
    config.validate()
    device = torch.device(device)
    style = crop_style(spec, config.search_size)
    if config.lr is None:
        config = replace(config, lr=DEFAULT_LR[style.family])
    task = TASKS[style.family](spec, config, style)
    augment = Augment(
        shift=DEFAULT_SHIFT[style.family] if config.shift is None else config.shift,
        scale_jitter=(DEFAULT_SCALE_JITTER[style.family] if config.scale_jitter is None
                      else config.scale_jitter),
        negatives=config.negatives,
        lookalikes=config.lookalikes,
        light=config.light_jitter,
        off_scale=config.off_scale if config.scale_rank > 0 else None,
    )
    if config.scale_rank > 0 and style.family != "siamfc":
        raise SiambenchError("--scale-rank trains SiamFC's scale choice; it needs the 'siamfc' adapter")
    sampler = PairSampler(sequences, config.frame_range, config.min_visible)
    if config.lookalikes > 0:  # checked now, not at the first look-alike draw (late, or never)
        sampler.require_lookalikes()
    rng = np.random.default_rng(config.seed)
    init = config.init or DEFAULT_INIT[style.family]
    batchnorm = config.batchnorm or DEFAULT_BATCHNORM[style.family]
    model = initial_model(task, init, config.seed).to(device)
    set_training_mode(model, batchnorm)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    result = TrainResult(model)
    step = 0
    per_epoch = math.ceil(config.pairs_per_epoch / config.batch_size)
    for epoch in range(1, config.epochs + 1):
        start, total, parts_sum, pairs = time.perf_counter(), 0.0, {}, 0
        for _ in range(per_epoch):
            size = min(config.batch_size, config.pairs_per_epoch - pairs)
            batch = sample_batch(sampler, style, augment, size, rng)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(step, config)
            loss, parts = task.loss(model, batch, device, rng)
            value = loss.item()
            if not math.isfinite(value):
                raise SiambenchError(f"training diverged at step {step} (loss {value}); "
                                     "try a lower --lr")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            pairs += size
            total += value * size
            for key, part in parts.items():
                parts_sum[key] = parts_sum.get(key, 0.0) + part * size
        progress = Progress(epoch, config.epochs, total / pairs,
                            {k: v / pairs for k, v in parts_sum.items()}, pairs,
                            time.perf_counter() - start)
        result.history.append(progress)
        if report is not None:
            report(progress)
    model.eval()
    result.info = {
        "tracker": spec.name,
        "adapter": spec.adapter,
        "config": asdict(config),
        "init": init,
        "batchnorm": batchnorm,
        "shift": augment.shift,
        "scale_jitter": augment.scale_jitter,
        "search_size": style.search_size,
        "final_loss": result.history[-1].loss,
    }
    return result


# ----------------------------------------------------------------------------- weight files


def _half_precision(key: str, value: torch.Tensor) -> bool:
    # Convolution kernels hold nearly all the bytes and survive float16; biases and BatchNorm
    # statistics (variances of 0-255 inputs can exceed float16's range) stay float32.
    return value.is_floating_point() and value.dim() == 4


def save_weights(model: nn.Module, path: str | Path, info: dict[str, Any], half: bool = True) -> Path:
    """Write the model's state dict (conv kernels in float16 when `half`) with `info` beside it.

    The file loads with ``siambench.models.checkpoints.load_checkpoint`` (which reads the
    ``state_dict`` entry and ignores ``siambench_training``) and holds no date, so the same
    training gives the same bytes.
    """
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if half and _half_precision(key, value):
            converted = value.half()
            if not torch.isfinite(converted).all():
                raise SiambenchError(f"{key} does not fit float16; save without --half")
            value = converted
        state[key] = value.clone()
    path = Path(path)
    # Serialised in memory, then written by Python: torch's own file writer reports a folder in
    # the way or a missing parent as a RuntimeError of its C++ internals.
    buffer = io.BytesIO()
    torch.save({"state_dict": state, "siambench_training": _plain(info)}, buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    except OSError as exc:
        raise InputError(path, f"cannot write ({os_reason(exc)})") from None
    return path


def _plain(value: Any) -> Any:
    """`value` with tuples as lists and numbers as Python numbers (what weights_only loads)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):  # str subclasses (torch.__version__) would not load
        return str(value)
    return value
