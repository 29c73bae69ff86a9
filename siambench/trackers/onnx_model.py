"""A tracker's network as ONNX graphs run by onnxruntime (spec ``runtime: onnxruntime``).

``siambench export-onnx`` (:mod:`siambench.onnx_export`) writes a tracker's network as the graphs
a deployment runs: the *template* graph (exemplar crop -> the template state the tracker keeps,
flattened into a tuple of tensors) and a *search* graph per search size (that state and the
search crops -> the head's outputs), plus a manifest naming each file with its SHA-256 and a
spec that runs them. :class:`OnnxModel` stands in for the torch network inside the tracker's own
loop (crops, windows, penalties and box updates stay the adapter's), so `siambench run` and
`siambench eval` score the exported graphs exactly as deployed.

The graphs have fixed input shapes, as runtimes such as TensorRT want them: a correlation whose
kernel is an input cannot have a dynamic batch in ONNX.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siambench.errors import InputError, SiambenchError

MANIFEST_FORMAT = 1
RUNTIME = "onnxruntime"


def _session(path: Path, threads: int | None) -> Any:
    try:
        import onnxruntime as ort
    except ModuleNotFoundError as exc:
        raise SiambenchError("the spec runs its network with onnxruntime, which is not installed: "
                             "pip install 'siambench[onnx]'") from exc
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a bad file
        raise InputError(path, f"onnxruntime cannot load it as an ONNX model ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:200]})") from None


def _shape_problem(graph: Any) -> bool:
    return not (isinstance(graph, dict) and isinstance(graph.get("file"), str) and isinstance(graph.get("sha256"), str)
                and isinstance(graph.get("input"), list))


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest export-onnx wrote, its graph files checked against their recorded SHA-256."""
    from siambench.textio import read_json
    from siambench.weights import file_digest

    manifest = read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or "check" not in manifest:
        raise InputError(path, f"expected a manifest written by `siambench export-onnx` (format {MANIFEST_FORMAT}, "
                               "with its onnxruntime check)")
    search = manifest.get("search")
    if (_shape_problem(manifest.get("template")) or not isinstance(search, dict) or not search
            or not all(key.isdigit() and not _shape_problem(graph) for key, graph in search.items())):
        raise InputError(path, "expected 'template' and 'search' (by crop size) entries with 'file', 'sha256' "
                               "and 'input'")
    for graph in [manifest["template"], *search.values()]:
        file = path.parent / graph["file"]
        if not file.is_file():
            raise InputError(file, f"ONNX graph listed in {path.name} not found")
        if file_digest(file) != graph["sha256"]:
            raise InputError(file, f"changed since {path.name} was written (SHA-256 differs); export again")
    return manifest


class OnnxModel:
    """The torch network's ``make_template`` / ``track_with`` pair, run by onnxruntime."""

    def __init__(self, folder: Path, manifest: dict[str, Any], threads: int | None = None,
                 where: Path | None = None) -> None:
        self.where = where or folder
        self.manifest = manifest
        self._template = _session(folder / manifest["template"]["file"], threads)
        self._search = {int(size): _session(folder / graph["file"], threads)
                        for size, graph in manifest["search"].items()}

    def make_template(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self._check_shape("template", self.manifest["template"]["input"], z)
        outputs = self._template.run(None, {self._template.get_inputs()[0].name: _array(z)})
        return tuple(torch.from_numpy(o) for o in outputs)

    def track_with(self, template: tuple[torch.Tensor, ...], crops: torch.Tensor) -> Any:
        size = int(crops.shape[-1])
        session = self._search.get(size)
        if session is None:
            raise SiambenchError(f"{self.where}: no search graph for {size}-pixel crops "
                                 f"(exported: {', '.join(map(str, sorted(self._search)))})")
        self._check_shape("search", self.manifest["search"][str(size)]["input"], crops)
        feeds = [_array(t) for t in template] + [_array(crops)]
        outputs = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), feeds, strict=True)})
        tensors = tuple(torch.from_numpy(o) for o in outputs)
        return tensors[0] if len(tensors) == 1 else tensors

    def _check_shape(self, graph: str, expected: list[int], tensor: torch.Tensor) -> None:
        if list(tensor.shape) != list(expected):
            raise SiambenchError(f"{self.where}: the {graph} graph takes shape {expected}, the tracker gave "
                                 f"{list(tensor.shape)} (a spec changed since the export, or a caller other "
                                 "than the tracking loop); export again")


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())


def load_onnx_model(manifest_path: Path, spec: Any, threads: int | None = None) -> OnnxModel:
    """The exported graphs of `manifest_path`, for a spec whose network they must be."""
    manifest = read_manifest(manifest_path)
    if (manifest.get("adapter"), manifest.get("model")) != (spec.adapter, spec.model):
        raise InputError(manifest_path, f"exported from another network (adapter {manifest.get('adapter')!r}, "
                                        f"model {manifest.get('model')!r}) than tracker {spec.name!r}'s")
    return OnnxModel(manifest_path.parent, manifest, threads, manifest_path)


def use_onnx(tracker: Any, model: OnnxModel) -> Any:
    """Put the exported graphs in place of `tracker`'s torch network."""
    if not hasattr(tracker, "model") or not hasattr(tracker, "channels_last"):
        raise SiambenchError(f"tracker {tracker.name!r} has no network for onnxruntime to run")
    tracker.model = model
    tracker.channels_last = False  # ONNX takes NCHW arrays
    tracker.batchable = False  # fixed input shapes: one sequence at a time
    return tracker


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"
