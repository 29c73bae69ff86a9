"""Which tracker specs a checkpoint file fits, and installing it under the name they expect.

    fits = identify("Downloads/CIResNet22.pth")        # [Fit(spec=siamfcplus, ok=True), ...]
    specs = choose("Downloads/CIResNet22.pth", fits)   # [siamfcplus, siamfcplus-vot]: one file name
    install("Downloads/CIResNet22.pth", specs)          # -> (~/.cache/siambench/weights/siamdw_SiamFCRes22.pth, "copied")

A checkpoint fits a spec when the spec's tracker builds with it: the adapter's own loader reads
the file, maps its keys (DaSiamRPN's names, SiamDW's prefixes) and checks every key, shape and
value strictly, exactly as ``siambench run`` would. Specs whose network is the same (the VOT
and OTB settings of one model) are checked once. Where a file fits specs that expect different
checkpoint names (a user's spec of a released model under another name, say), the file's name
and its folder's decide when their words name one (``siamrpn_r50_l234_dwxcorr_otb/model.pth``),
else ``tracker`` must. A file that `siambench train` wrote (it records ``siambench_training``)
is never installed under a released checkpoint's name, whatever its layout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from siambench.errors import InputError, SiambenchError
from siambench.textio import ordinary_mode
from siambench.trackers.registry import TrackerSpec, create_tracker, list_trackers, load_spec
from siambench.weights import PACKAGE_PREFIX, expected_weights_path, file_digest, weights_dir


@dataclass(frozen=True)
class Fit:
    """Whether a checkpoint loads into one spec's tracker, and if not, why."""

    spec: TrackerSpec
    ok: bool
    problem: str | None = None
    differences: float = 0.0  # how far from fitting (keys missing, unexpected or mis-shaped)


def _specs_with_checkpoint(shipped: bool) -> list[TrackerSpec]:
    specs = []
    for name in list_trackers():
        try:
            spec = load_spec(name)
        except SiambenchError:
            continue  # a broken spec file is listed by `siambench list trackers`, not here
        if spec.checkpoint and spec.checkpoint.startswith(PACKAGE_PREFIX) == shipped:
            specs.append(spec)
    return specs


def installable_specs() -> list[TrackerSpec]:
    """Specs that name a checkpoint file to be put in the weights folder (not shipped ones)."""
    return _specs_with_checkpoint(shipped=False)


def shipped_specs() -> list[TrackerSpec]:
    """Specs whose weights ship inside siambench (``package:`` checkpoints, the demo trackers).

    A file that fits one of these (a retrained demo network) is not installed: the shipped file
    keeps its place and the new one is run with ``--weights FILE``.
    """
    return _specs_with_checkpoint(shipped=True)


def _network_key(spec: TrackerSpec) -> str:
    return json.dumps([spec.adapter, spec.model], sort_keys=True, default=str)


def identify(path: str | Path, specs: Sequence[TrackerSpec] | None = None,
             progress: Callable[[str], None] | None = None) -> list[Fit]:
    """One Fit per spec, fitting ones first, the rest nearest first."""
    from siambench.models.checkpoints import read_checkpoint

    path = Path(path)
    read_checkpoint(path)  # an unreadable file is one error, not one per spec
    tried: dict[str, tuple[bool, str | None, float]] = {}
    fits = []
    for spec in installable_specs() if specs is None else specs:
        key = _network_key(spec)
        if key not in tried:
            if progress is not None:
                progress(spec.name)
            tried[key] = _try(spec, path)
        ok, problem, differences = tried[key]
        fits.append(Fit(spec, ok, problem, differences))
    return sorted(fits, key=lambda f: (not f.ok, f.differences, f.spec.name))


def _try(spec: TrackerSpec, path: Path) -> tuple[bool, str | None, float]:
    from siambench.models.checkpoints import CheckpointMismatchError

    try:
        create_tracker(spec, device="cpu", weights=path)
    except CheckpointMismatchError as exc:
        return False, str(exc).split(": checkpoint does not fit ", 1)[-1], float(exc.differences)
    except SiambenchError as exc:
        return False, str(exc), float("inf")
    return True, None, 0.0


_GENERIC = {"pysot", "siamdw", "dasiamrpn", "pth", "model", "pt", "tar", ""}


def _words(text: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", text.lower())) - _GENERIC


def trained_here(path: str | Path) -> bool:
    """Whether `siambench train` wrote the file (it records how, under ``siambench_training``)."""
    import torch

    try:
        obj = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - identify() has read it already; a reader's quirk is not ours
        return False
    return isinstance(obj, dict) and "siambench_training" in obj


def choose(path: str | Path, fits: Sequence[Fit], tracker: str | None = None) -> list[TrackerSpec]:
    """The specs to install `path` for: all fitting specs that share one checkpoint name.

    Several checkpoint names fit (identical layouts): the one `tracker` names, else the most
    specific name whose words all appear in the file's path (``..._otb/model.pth`` names the OTB
    model, ``.../siamrpn_r50_l234_dwxcorr/model.pth`` the VOT one); otherwise an error listing them.
    """
    path = Path(path)
    good = [f.spec for f in fits if f.ok]
    if tracker is not None:
        if tracker not in list_trackers():
            from siambench.errors import UnknownNameError

            raise UnknownNameError("tracker", tracker, list_trackers())
        chosen = [s for s in good if s.name == tracker]
        if not chosen:
            fitting = ", ".join(s.name for s in good) or "none"
            raise SiambenchError(f"{path} does not fit tracker {tracker!r} (it fits: {fitting})")
        name = chosen[0].checkpoint
        return [s for s in good if s.checkpoint == name]
    names = sorted({s.checkpoint for s in good})
    if len(names) > 1:
        resolved = path.resolve()  # the file's own name and folder: an ancestor's words say nothing of it
        words = _words(resolved.name) | _words(resolved.parent.name)
        named = [n for n in names if _words(n) <= words]
        most = max((len(_words(n)) for n in named), default=0)
        named = [n for n in named if len(_words(n)) == most]  # the most specific name wins
        if len(named) != 1:
            options = "; ".join(f"{n} ({', '.join(s.name for s in good if s.checkpoint == n)})" for n in names)
            raise SiambenchError(f"{path} fits several checkpoints with the same layout: {options}. "
                                 "Say which with --tracker NAME")
        names = named
    return [s for s in good if s.checkpoint in names]


def install(path: str | Path, specs: Sequence[TrackerSpec], link: bool = False,
            force: bool = False) -> tuple[Path, str]:
    """Copy (or symlink) `path` to the weights folder under the specs' checkpoint name, atomically.

    Returns the target and what was done: "copied", "linked", or "already installed" (the same
    file, or one with the same bytes, was there; a link asked to be a copy is made one). A
    different file is replaced only with `force`; a dangling link is replaced as if absent.
    """
    path = Path(path).resolve()
    target = expected_weights_path(specs[0])
    if target is None:  # pragma: no cover - installable_specs() only lists specs with a checkpoint
        raise SiambenchError(f"tracker {specs[0].name!r} has no checkpoint")
    if target.exists():
        same = target.resolve() == path or file_digest(target) == file_digest(path)
        if same and (link or not target.is_symlink()):
            return target, "already installed"
        if not same and not force:
            raise InputError(target, "a different checkpoint is already installed here; use --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise InputError(target.parent, f"cannot write the weights folder ({exc.strerror or exc})") from None
    try:
        if link:
            os.unlink(tmp)
            os.symlink(path, tmp)
        else:
            shutil.copyfile(path, tmp)
            ordinary_mode(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(target, f"cannot install the checkpoint ({exc.strerror or exc})") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return target, "linked" if link else "copied"


__all__ = ["Fit", "choose", "identify", "install", "installable_specs", "shipped_specs", "trained_here", "weights_dir"]
