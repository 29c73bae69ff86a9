"""What every tracker around a torch network shares: device, timing, weights, random init.

:class:`NetworkTracker` moves crops to the model's device (channels-last unless a spec says
``channels_last: false``), runs the
network under inference mode and adds the time spent in it to ``model_seconds`` (waiting for
CUDA, so that the work is timed and not its launch). :func:`prepare_model` gives a network its
weights, or calibrated random ones with ``--random-init``.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from siambench.errors import SiambenchError
from siambench.models.checkpoints import load_checkpoint
from siambench.models.fuse import calibrate_batchnorm, fuse_bn
from siambench.trackers.base import BatchedTracker, TrackResult
from siambench.trackers.registry import TrackerSpec
from siambench.trackers.spec_checks import where

RANDOM_INIT_SEED = 0  # --random-init builds the same network every time

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def check_precision(precision: str, device: torch.device | str) -> None:
    """Refuse a precision the device cannot run under autocast."""
    if precision not in PRECISIONS:
        raise SiambenchError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if precision == "fp16" and device.type != "cuda":
        raise SiambenchError("--precision fp16 needs a CUDA device; on the CPU use bf16")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise SiambenchError(f"--precision bf16: {device} does not support bfloat16")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """torch autocast for `precision` on `device` (nothing for fp32)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


class NetworkTracker(BatchedTracker):
    """A tracker around a torch model: device placement and timing of the network calls."""

    #: False runs the network with autograd recording, as pysot does. Only the pysot adapter
    #: exposes it (``SiamRPNTracker.grad_free``, for the unoptimised run of bench_trackers).
    _grad_free = True

    def __init__(
        self, model: nn.Module, device: torch.device | str = "cpu", channels_last: bool = False
    ) -> None:
        # NHWC weights make the convolutions take NHWC kernels (to_input lays the crops out to match)
        self.model = (model.to(memory_format=torch.channels_last) if channels_last else model).eval()
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.precision = "fp32"
        self.template: Any = None
        self._model_seconds = 0.0

    @property
    def model_seconds(self) -> float:
        return self._model_seconds

    def to_input(self, patch: torch.Tensor) -> torch.Tensor:
        """A crop as the network's input: on its device, channels-last if the model is."""
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        return patch.to(self.device, memory_format=memory_format, non_blocking=True)

    def sync(self) -> None:
        """Wait for the device to finish (CUDA runs asynchronously)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def run_network(self, fn: Callable[..., Any], *inputs: torch.Tensor, fetch: bool = True) -> Any:
        """``fn(*inputs)`` on the device, timed.

        With `fetch`, the output tensors come back to the CPU as float32 (a tuple stays a
        tuple); without, they stay where the network left them (the caller fetches what it
        needs; a template branch returns nothing and keeps its state on the model).
        """
        inputs = tuple(self.to_input(t) for t in inputs)
        with torch.inference_mode(self._grad_free), autocast(self.precision, self.device):
            start = time.perf_counter()
            out = fn(*inputs)
            if fetch:
                out = tuple(o.float().cpu() for o in out) if isinstance(out, tuple) else out.float().cpu()
            else:
                self.sync()
            self._model_seconds += time.perf_counter() - start
        return out

    def set_template(self, z: torch.Tensor) -> None:
        """Run the template branch on exemplar crop `z` and keep its output for this job."""
        self.template = self.run_network(self.model.make_template, z, fetch=False)

    def forward(self, template: Any, crops: torch.Tensor) -> Any:
        return self.model.track_with(template, crops)

    def _forward_own(self, crops: torch.Tensor) -> Any:
        return self.forward(self.template, crops)

    def track(self, frame: Any) -> TrackResult:
        crops = self.search_inputs(frame)
        outputs = self.run_network(self._forward_own, crops, fetch=False)
        return self.finish(outputs, frame)

    def spawn(self) -> NetworkTracker:
        # The model (and caches derived from the config) is shared; the state fields are rebound
        # by init and finish, never changed in place, so a shallow copy is a fresh job.
        clone = copy.copy(self)
        clone.template = None
        clone._model_seconds = 0.0
        return clone


def use_channels_last(setting: Any, device: torch.device | str) -> bool:
    """A spec's ``channels_last`` (auto, true, false) for a network on `device`.

    auto is on everywhere. cuDNN runs NHWC convolutions on tensor cores; on the CPU, oneDNN's
    NHWC kernels measured 1.1x (ResNet-50) to 1.6x (SiamFC's AlexNet) faster per search
    forward than NCHW, at batch 1 and batch 8 alike (one thread, random weights).
    """
    if setting in (None, "auto"):
        return True
    return bool(setting)


def prepare_model(
    model: nn.Module,
    spec: TrackerSpec,
    device: torch.device | str,
    weights: Path | None,
    random_init: bool,
    calibration_inputs: Callable[[], tuple[torch.Tensor, ...]],
    load: Callable[[nn.Module, Path], nn.Module] = load_checkpoint,
) -> nn.Module:
    """Weights (or calibrated random ones), eval mode, optional BN folding, device.

    With `random_init` the BatchNorm statistics are set from one pass over
    `calibration_inputs()` so that a random network's outputs stay finite; otherwise `weights`
    is loaded strictly with `load`.
    """
    if random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            calibrate_batchnorm(model, *calibration_inputs())
    elif weights is not None:
        load(model, weights)
    else:
        raise SiambenchError(f"{where(spec)}: no weights given (use --weights FILE or --random-init)")
    model.eval()
    if spec.model.get("fuse_bn", True):
        fuse_bn(model)
    return model.to(torch.device(device))


def seeded(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a network with the fixed random-init seed, leaving the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        return build()


def random_images(*sizes: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    """A factory of random 0-255 image batches of the given square sizes (for calibration)."""
    return lambda: tuple(torch.rand(1, 3, s, s) * 255 for s in sizes)
