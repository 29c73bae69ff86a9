"""``siambench export-onnx``: a tracker's network as the ONNX graphs a deployment runs.

The tracker is built as ``siambench run`` builds it and driven over one synthetic frame, so that
the graphs are traced on the exact shapes its loop feeds the network (the exemplar crop, and the
search crops of every scale at once). Two graphs are written (see
:mod:`siambench.trackers.onnx_model`): the template graph and one search graph per search size.
onnxruntime then runs both on the traced inputs and the export fails unless they agree with torch.

Written to the output folder, each atomically:

    <name>.template.onnx, <name>.search<size>.onnx    the graphs
    <name>.onnx.json                                   manifest: files, SHA-256, shapes, check
    <name>-onnx.yaml                                   a tracker spec that runs them

``siambench run --tracker <out>/<name>-onnx.yaml`` then tracks with onnxruntime in place of torch,
under its own name, so ``siambench eval`` puts the exported network beside the original.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.utils._pytree as pytree
import yaml

from siambench.errors import InputError, SiambenchError
from siambench.textio import atomic_write_text, check_writable_dir
from siambench.trackers.onnx_model import MANIFEST_FORMAT, RUNTIME, OnnxModel, manifest_text
from siambench.trackers.registry import TrackerSpec, create_tracker, load_spec

log = logging.getLogger("siambench")

OPSET = 17
#: exported outputs may differ from torch's by this share of the largest output, or by this much
#: where every output is below 1 (float32 kernels differ in summation order; anything larger is a
#: wrong graph)
RELATIVE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class OnnxExport:
    """What export_onnx wrote, and how close onnxruntime came to torch."""

    spec_path: Path
    manifest_path: Path
    files: list[Path]
    max_abs_diff: float
    max_abs_output: float


class _Recorder:
    """Stands in for a tracker's network, remembering the inputs its loop gives it."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.template_input: torch.Tensor | None = None
        self.search_inputs: dict[int, torch.Tensor] = {}  # by crop size

    def make_template(self, z: torch.Tensor) -> Any:
        if self.template_input is None:
            self.template_input = z.detach().clone()
        elif z.shape != self.template_input.shape:
            raise SiambenchError("the exemplar crop changes shape between targets; fixed-shape graphs cannot follow")
        return self.model.make_template(z)

    def track_with(self, template: Any, crops: torch.Tensor) -> Any:
        self.search_inputs.setdefault(int(crops.shape[-1]), crops.detach().clone())
        return self.model.track_with(template, crops)


class _TemplateGraph(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(pytree.tree_flatten(self.model.make_template(z))[0])


class _SearchGraph(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, structure: pytree.TreeSpec) -> None:
        super().__init__()
        self.model = model
        self.structure = structure

    def forward(self, *inputs: torch.Tensor) -> Any:
        template = pytree.tree_unflatten(list(inputs[:-1]), self.structure)
        return self.model.track_with(template, inputs[-1])


# Targets of a small, a middling and a large share of the frame: trackers that pick their search
# size by the target's share (DaSiamRPN and SiamRPN+ for small targets) show every size they use.
TRACE_BOXES = ((235.0, 176.0, 10.0, 8.0), (200.0, 150.0, 80.0, 60.0), (120.0, 90.0, 240.0, 180.0))


def _traced_inputs(tracker: Any) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """The exemplar crop, and the search crops of each size, that the tracker's loop feeds its
    network, from one synthetic frame and targets of three sizes."""
    recorder = _Recorder(tracker.model)
    model, tracker.model = tracker.model, recorder
    try:
        rng = np.random.default_rng(0)
        frame = rng.integers(0, 256, size=(360, 480, 3), dtype=np.uint8)
        for box in TRACE_BOXES:
            tracker.init(frame, np.array(box))
            tracker.track(frame)
    finally:
        tracker.model = model
    if recorder.template_input is None or not recorder.search_inputs:
        raise SiambenchError(f"tracker {tracker.name!r} did not run its network through make_template and "
                             "track_with, so it cannot be exported")
    return recorder.template_input, recorder.search_inputs


def _export(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, names: list[str]) -> None:
    """One graph at `path` (in the export's staging folder, which is what makes it atomic)."""
    # The TorchScript-based exporter: the dynamo one needs onnxscript and gives the same graph.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, str(path), dynamo=False, opset_version=OPSET, input_names=names,
                          do_constant_folding=True)


def export_onnx(tracker: str | Path | TrackerSpec, out_dir: str | Path, weights: str | Path | None = None,
                random_init: bool = False) -> OnnxExport:
    """Export `tracker`'s network to `out_dir` and check it with onnxruntime (see the module doc)."""
    from siambench.weights import file_digest, resolve_weights

    if random_init and weights is not None:
        raise SiambenchError("--weights and --random-init exclude each other")
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:  # both: the exporter writes with onnx, the check runs with onnxruntime
        raise SiambenchError(f"export-onnx needs {' and '.join(missing)}: pip install 'siambench[onnx]'")
    spec = load_spec(tracker)
    if spec.runtime != "torch":
        raise SiambenchError(f"tracker {spec.name!r} already runs with {spec.runtime}; export the spec it came from")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(out, "expected a folder to write the ONNX files into")
    out.mkdir(parents=True, exist_ok=True)
    check_writable_dir(out)
    weights_path = None if random_init else resolve_weights(spec, weights)
    built = create_tracker(spec, "cpu", weights_path, random_init)
    if not hasattr(built, "model") or not isinstance(built.model, torch.nn.Module):
        raise SiambenchError(f"tracker {spec.name!r} has no torch network to export")
    model = built.model.to(memory_format=torch.contiguous_format).eval()
    built.model, built.channels_last = model, False
    with torch.inference_mode():
        z, searches = _traced_inputs(built)
    # ordinary tensors again: tracing refuses inference ones
    z, searches = z.clone(), {size: crops.clone() for size, crops in searches.items()}
    # The graphs are written and checked in a folder of their own and moved into `out` only once
    # they pass, so a failed export leaves an earlier one of the same tracker as it was.
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{spec.name}.export-"))
    try:
        with torch.no_grad():
            leaves, structure = pytree.tree_flatten(model.make_template(z))
            graphs = {"template": (_TemplateGraph(model), (z,), ["exemplar"])}
            kernel_names = [f"template{i}" for i in range(len(leaves))]
            for size, crops in sorted(searches.items()):
                graphs[f"search{size}"] = (_SearchGraph(model, structure), (*leaves, crops), [*kernel_names, "search"])
            files = {}
            for part, (module, inputs, names) in graphs.items():
                files[part] = staging / f"{spec.name}.{part}.onnx"
                _export(module, inputs, files[part], names)
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "tracker": spec.name,
            "adapter": spec.adapter,
            "model": spec.model,
            "weights": "random-init" if random_init else f"sha256:{file_digest(weights_path)}" if weights_path else None,
            "opset": OPSET,
            "torch": torch.__version__,
            "template": {"file": files["template"].name, "sha256": file_digest(files["template"]),
                         "input": list(z.shape), "outputs": len(leaves)},
            "search": {str(size): {"file": files[f"search{size}"].name, "sha256": file_digest(files[f"search{size}"]),
                                   "input": list(crops.shape)} for size, crops in sorted(searches.items())},
        }
        manifest_path = out / f"{spec.name}.onnx.json"
        diff, scale = _check(model, OnnxModel(staging, manifest), z, searches, manifest_path)
        manifest["check"] = {"max_abs_diff": diff, "max_abs_output": scale, "onnxruntime": _ort_version()}
        written = []
        for path in files.values():
            os.replace(path, out / path.name)
            written.append(out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    spec_path = out / f"{spec.name}-onnx.yaml"
    atomic_write_text(spec_path, _spec_text(spec, manifest_path.name, weights_path, random_init))
    # The manifest last: until it is written, the spec of an earlier export refuses the new
    # graphs (their digests differ from its manifest's) rather than run them unrecorded.
    atomic_write_text(manifest_path, manifest_text(manifest))
    return OnnxExport(spec_path, manifest_path, written, diff, scale)


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def _check(model: torch.nn.Module, onnx: OnnxModel, z: torch.Tensor, searches: dict[int, torch.Tensor],
           where: Path) -> tuple[float, float]:
    """Largest difference between onnxruntime's and torch's outputs on the traced inputs, every
    graph included; an error beyond :data:`RELATIVE_TOLERANCE` of the largest output."""
    with torch.no_grad():
        kernels = model.make_template(z)
        pairs = list(zip(onnx.make_template(z), pytree.tree_flatten(kernels)[0], strict=True))
        for crops in searches.values():
            expected = pytree.tree_flatten(model.track_with(kernels, crops))[0]
            got = pytree.tree_flatten(onnx.track_with(onnx.make_template(z), crops))[0]
            pairs += list(zip(got, expected, strict=True))
    diff = max(float((a - b).abs().max()) for a, b in pairs)
    scale = max(float(b.abs().max()) for _, b in pairs)
    if not diff <= RELATIVE_TOLERANCE * max(scale, 1.0):
        raise SiambenchError(f"{where}: onnxruntime's outputs differ from torch's by up to {diff:.3g} (largest "
                             f"output {scale:.3g}); the exported graphs are not the network, so none was kept")
    return diff, scale


def _spec_text(spec: TrackerSpec, manifest_name: str, weights: Path | None, random_init: bool) -> str:
    made_from = "random weights (--random-init)" if random_init else str(weights) if weights else "no weights"
    header = (f"# Written by `siambench export-onnx` from tracker {spec.name!r}"
              f"{f' ({spec.source})' if spec.source else ''} and {made_from}.\n"
              f"# Runs the exported graphs ({manifest_name}, beside this file) with onnxruntime; the\n"
              "# tracking loop and hyper-parameters are the original's.\n")
    body: dict[str, Any] = {
        "name": f"{spec.name}-onnx",
        "adapter": spec.adapter,
        "description": f"{spec.description or spec.name}, exported to ONNX and run by onnxruntime",
        "runtime": RUNTIME,
        "checkpoint": manifest_name,
    }
    if spec.box_policy:
        body["box_policy"] = spec.box_policy
    body["model"] = spec.model
    body["hyper"] = spec.hyper
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
