"""Tracker registry: spec files name trackers, adapters build them.

A *spec* (a YAML file in a ``trackers/`` folder) names a tracker and says which *adapter*
builds it, with which architecture (``model``), inference hyper-parameters (``hyper``),
checkpoint file name and box conventions (``box_policy``, see
:mod:`siambench.trackers.box_policy`; the adapter's original by default). An *adapter* is a builder function registered under a name::

    @register_adapter("siamrpn")
    def build(spec: TrackerSpec, device, weights: Path | None, random_init: bool) -> Tracker: ...

Built-in adapters live in modules imported only when first needed (importing torch models is
slow). Third-party packages add adapters through the ``siambench.trackers`` entry-point group:
an entry point may load a module whose import registers builders, or a builder itself, which is
then registered under the entry point's name. An entry point whose name has no spec file can
be used directly as a tracker name (with an empty model and hyper section).

Spec files are searched, in order, in ``$SIAMBENCH_TRACKERS`` (one or more folders separated
by the OS path separator), ``./trackers`` and the project's ``trackers/`` folder (the
checkout's, or the copy an installed wheel carries; see :mod:`siambench.project_data`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.project_data import project_folder
from siambench.textio import read_yaml
from siambench.trackers.box_policy import get_box_policy
from siambench.trackers.spec_checks import (
    box_policy_name,
    box_policy_problem,
    check_spec,
    spec_problem,
)

if TYPE_CHECKING:
    import torch

    from siambench.trackers.base import Tracker

TRACKERS_ENV = "SIAMBENCH_TRACKERS"
ENTRY_POINT_GROUP = "siambench.trackers"

# adapter name -> module whose import registers it. Imported lazily.
BUILTIN_ADAPTER_MODULES: dict[str, str] = {
    "siamrpn": "siambench.trackers.siamrpn",
    "siamfc": "siambench.trackers.siamfc",
    "siamfcplus": "siambench.trackers.siamdw",
    "siamrpnplus": "siambench.trackers.siamdw",
    "opencv-mil": "siambench.trackers.opencv_mil",
}

_SPEC_KEYS = ("name", "adapter", "description", "checkpoint", "box_policy", "runtime", "model", "hyper")
RUNTIMES = ("torch", "onnxruntime")  # what runs the network: the adapter's torch model, or exported graphs


@dataclass
class TrackerSpec:
    """Everything needed to build one tracker, as read from a spec file."""

    name: str
    adapter: str
    model: dict[str, Any] = field(default_factory=dict)
    hyper: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    description: str = ""
    source: Path | None = None  # the spec file, None for specs made in code
    box_policy: str | None = None  # None: the adapter's default (spec_checks.DEFAULT_BOX_POLICY)
    # torch, or onnxruntime: the network is the graphs `siambench export-onnx` wrote, and
    # `checkpoint` names their manifest, beside the spec file
    runtime: str = "torch"

    def spec_hash(self) -> str:
        """Digest of what changes a tracker's output: adapter, model, hyper, checkpoint name
        and box policy (the one in force, so that naming the default changes nothing).

        The description and the file's location do not count, so editing a comment or moving
        the file does not invalidate stored results.
        """
        payload = {
            "adapter": self.adapter,
            "model": self.model,
            "hyper": self.hyper,
            "checkpoint": self.checkpoint,
            "box_policy": box_policy_name(self),
        }
        if self.runtime != "torch":  # torch adds nothing, which keeps the hashes of older specs
            payload["runtime"] = self.runtime
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


Builder = Callable[[TrackerSpec, "torch.device | str", "Path | None", bool], "Tracker"]

_ADAPTERS: dict[str, Builder] = {}
_SPECS: dict[str, TrackerSpec] = {}  # specs registered in code (plugins, tests)


# --------------------------------------------------------------------------------------------
# Adapters
# --------------------------------------------------------------------------------------------


def register_adapter(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering `builder` as the adapter called `name`."""

    def decorate(builder: Builder) -> Builder:
        known = _ADAPTERS.get(name)
        # Re-importing the same module (e.g. importlib.reload) re-registers the same builder;
        # two different packages claiming one name is a conflict the user must hear about.
        if known is not None and _qualified(known) != _qualified(builder):
            raise SiambenchError(
                f"tracker adapter {name!r} registered twice: by {_qualified(known)} "
                f"and by {_qualified(builder)}"
            )
        _ADAPTERS[name] = builder
        return builder

    return decorate


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_point(ep: metadata.EntryPoint) -> None:
    try:
        loaded = ep.load()
    except Exception as exc:  # a broken plugin must not look like an unknown name
        raise SiambenchError(
            f"tracker plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
        ) from exc
    if not isinstance(loaded, ModuleType) and callable(loaded) and ep.name not in _ADAPTERS:
        register_adapter(ep.name)(loaded)


def get_adapter(name: str) -> Builder:
    """The builder registered as `name`, importing its module or plugin on first use."""
    if name in _ADAPTERS:
        return _ADAPTERS[name]
    module = BUILTIN_ADAPTER_MODULES.get(name)
    if module is not None:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SiambenchError(
                f"tracker adapter {name!r} cannot be imported ({module}): {exc}. "
                "Tracking needs the [track] extra: pip install 'siambench[track]'"
            ) from exc
    else:
        plugins = _entry_points()
        # The entry point named like the adapter first, then the others (one plugin module
        # may register several adapters under names of its own).
        for ep in sorted(plugins, key=lambda e: e.name != name):
            _load_entry_point(ep)
            if name in _ADAPTERS:
                break
    if name not in _ADAPTERS:
        raise UnknownNameError("tracker adapter", name, list_adapters())
    return _ADAPTERS[name]


def list_adapters() -> list[str]:
    """Names of all adapters: built in, registered, or offered by plugins."""
    names = set(BUILTIN_ADAPTER_MODULES) | set(_ADAPTERS)
    names |= {ep.name for ep in _entry_points()}
    return sorted(names)


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


def spec_dirs() -> list[Path]:
    """Existing folders searched for spec files, first match wins."""
    candidates: list[Path] = []
    env = os.environ.get(TRACKERS_ENV)
    if env:
        candidates += [Path(part).expanduser() for part in env.split(os.pathsep) if part]
    candidates.append(Path.cwd() / "trackers")
    candidates.append(project_folder("trackers"))
    seen: set[Path] = set()
    dirs: list[Path] = []
    for folder in candidates:
        resolved = folder.resolve()
        if resolved.is_dir() and resolved not in seen:
            seen.add(resolved)
            dirs.append(folder)
    return dirs


def _spec_files() -> dict[str, Path]:
    """name -> spec file, the first folder in search order winning."""
    found: dict[str, Path] = {}
    for folder in spec_dirs():
        for path in sorted(folder.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                found.setdefault(path.stem, path)
    return found


def register_spec(spec: TrackerSpec) -> None:
    """Make a spec built in code available by name (takes precedence over spec files)."""
    _SPECS[spec.name] = spec


def list_trackers() -> list[str]:
    """All tracker names: spec files, specs registered in code, plugin entry points."""
    names = set(_spec_files()) | set(_SPECS)
    names |= {ep.name for ep in _entry_points()}
    return sorted(names)


def parse_spec(path: str | Path) -> TrackerSpec:
    """Read and check one spec file."""
    path = Path(path)
    data = read_yaml(path, "tracker spec")
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise InputError(path, "a tracker spec is a YAML mapping with keys "
                         + ", ".join(_SPEC_KEYS) + f"; got {got}")
    unknown = sorted(set(map(str, data)) - set(_SPEC_KEYS))
    if unknown:
        raise InputError(path, f"unknown key(s) {', '.join(map(str, unknown))}; expected {', '.join(_SPEC_KEYS)}")
    name = data.get("name", path.stem)
    adapter = data.get("adapter")
    if not isinstance(name, str) or not name:
        raise InputError(path, "'name' must be a non-empty string")
    if not isinstance(adapter, str) or not adapter:
        raise InputError(path, "'adapter' is required: the name of the adapter that builds this tracker")
    sections = {}
    for key in ("model", "hyper"):
        value = data.get(key)
        value = {} if value is None else value  # `hyper:` with nothing under it
        if not isinstance(value, dict):
            raise InputError(path, f"'{key}' must be a mapping, got {type(value).__name__}")
        sections[key] = value
    problem = spec_problem(adapter, sections["model"], sections["hyper"])
    if problem:
        raise InputError(path, problem)
    checkpoint = data.get("checkpoint")
    if checkpoint is not None and (not isinstance(checkpoint, str) or not checkpoint):
        raise InputError(path, "'checkpoint' must be a file name or null")
    if checkpoint is not None and Path(checkpoint).name != checkpoint:
        raise InputError(path, f"'checkpoint' is a file name, not a path: {checkpoint!r}")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise InputError(path, "'description' must be a string")
    box_policy = data.get("box_policy")
    problem = box_policy_problem(box_policy)
    if problem:
        raise InputError(path, problem)
    runtime = data.get("runtime") or "torch"
    if runtime not in RUNTIMES:
        raise InputError(path, f"'runtime' must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime != "torch" and not checkpoint:
        raise InputError(path, f"runtime {runtime} needs 'checkpoint': the manifest `siambench export-onnx` wrote")
    return TrackerSpec(
        name=name,
        adapter=adapter,
        model=sections["model"],
        hyper=sections["hyper"],
        checkpoint=checkpoint,
        description=description.strip(),
        source=path,
        box_policy=box_policy,
        runtime=runtime,
    )


def _looks_like_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text


def load_spec(name_or_path: str | Path | TrackerSpec) -> TrackerSpec:
    """A spec by tracker name, or from a spec file path."""
    if isinstance(name_or_path, TrackerSpec):
        return name_or_path
    if isinstance(name_or_path, Path) or _looks_like_path(str(name_or_path)):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise InputError(path, "tracker spec file not found")
        return parse_spec(path)
    name = str(name_or_path)
    if name in _SPECS:
        return _SPECS[name]
    path = _spec_files().get(name)
    if path is not None:
        spec = parse_spec(path)
        if spec.name != name:
            raise InputError(path, f"spec file {path.name} declares name {spec.name!r}; "
                             "a spec's name must match its file name")
        return spec
    if name in {ep.name for ep in _entry_points()}:
        # A plugin tracker without a spec file: its adapter takes no settings from us.
        return TrackerSpec(name=name, adapter=name, description=f"plugin tracker {name!r}")
    raise UnknownNameError("tracker", name, list_trackers())


# --------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------


def require_torch(spec: TrackerSpec, what: str) -> TrackerSpec:
    """`spec`, if its network is a torch one; `what` (a command) cannot work on exported graphs."""
    if spec.runtime != "torch":
        raise SiambenchError(f"{what} needs the torch network of tracker {spec.name!r}, not its exported "
                             f"{spec.runtime} graphs: use the spec it was exported from")
    return spec


def create_tracker(
    name_or_spec: str | Path | TrackerSpec,
    device: str | torch.device = "auto",
    weights: str | Path | None = None,
    random_init: bool = False,
) -> Tracker:
    """Build a ready-to-use tracker from a name, a spec file or a spec.

    weights: an explicit checkpoint file; by default the spec's checkpoint name is looked up
    in the weights folder (see :mod:`siambench.weights`). random_init: build the network with
    random weights and load nothing (for smoke tests; its scores mean nothing).
    """
    from siambench.weights import resolve_weights, select_device

    spec = load_spec(name_or_spec)
    if random_init and weights is not None:
        raise SiambenchError("--weights and --random-init exclude each other")
    check_spec(spec)  # specs made in code were never read by parse_spec
    builder = get_adapter(spec.adapter)
    if spec.runtime == "onnxruntime":
        if random_init:
            raise SiambenchError(f"tracker {spec.name!r} runs exported ONNX graphs: --random-init does not apply")
        if str(device) not in ("auto", "cpu"):
            raise SiambenchError(f"tracker {spec.name!r} runs with onnxruntime's CPU provider: use --device cpu")
        import torch

        from siambench.trackers.onnx_model import load_onnx_model, use_onnx

        # onnxruntime gets as many threads as torch has (--threads sets both).
        model = load_onnx_model(resolve_weights(spec, weights), spec, torch.get_num_threads())
        # The adapter's torch network only gives the loop its shape: its random weights never run.
        tracker = use_onnx(builder(spec, select_device("cpu"), None, True), model)
    else:
        weights_path = None if random_init else resolve_weights(spec, weights)
        tracker = builder(spec, select_device(device), weights_path, random_init)
    if not tracker.name:
        tracker.name = spec.name
    tracker.box_policy = get_box_policy(box_policy_name(spec))
    return tracker
