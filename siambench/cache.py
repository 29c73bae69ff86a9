"""siambench's cache folder, and the per-frame VOT overlaps remembered in it.

Rasterising a VOT stack's 20,000 region pairs takes a fraction of a second, but the kernel is
compiled code: importing numba and starting its compiled functions costs a fresh process about
0.3 s, three times the scoring itself. ``eval``, ``report`` and ``gate`` mostly score files that
were scored before, so the overlaps are kept on disk under a key computed from everything they
depend on: the definition, the kernel version, and the exact bytes of the predictions, the
ground truth and the image bounds. A changed file, ground truth or bound gives another key,
never a stale value; a file that cannot be read is ignored and written again.

``$SIAMBENCH_OVERLAP_CACHE`` names another folder, or ``off`` to compute every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from siambench.trajectory import Trajectory

log = logging.getLogger("siambench")

CACHE_ENV = "SIAMBENCH_CACHE"
OVERLAP_CACHE_ENV = "SIAMBENCH_OVERLAP_CACHE"
#: Part of every overlap key: bump it whenever an overlap definition or its kernel changes
#: what it computes, so that no value from before is read.
OVERLAP_KERNEL_VERSION = 1
#: Entries kept (about 0.3 MB each for a VOT-sized stack); past it the least recently used go.
MAX_OVERLAP_ENTRIES = 500


def cache_dir() -> Path:
    """siambench's cache folder: ``$SIAMBENCH_CACHE``, else ``~/.cache/siambench``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/siambench").expanduser()


def overlap_cache_dir() -> Path | None:
    """Where overlaps are kept, or None when ``$SIAMBENCH_OVERLAP_CACHE`` is ``off``."""
    env = os.environ.get(OVERLAP_CACHE_ENV, "")
    if env.lower() in ("off", "0", "no", "false"):
        return None
    return Path(env).expanduser() if env else cache_dir() / "overlaps"


def overlap_key(definition: str, pred: Trajectory, gt: Trajectory, bounds: tuple[np.ndarray, np.ndarray]) -> str:
    """The cache key of one overlap computation: a hash of the definition and of its inputs' bytes."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{definition}\0{OVERLAP_KERNEL_VERSION}\0".encode())
    for array in (pred.values, pred.counts, gt.values, gt.counts, *bounds):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def remembered_overlaps(definition: str, compute: Callable[[Trajectory, Trajectory, tuple], np.ndarray | tuple],
                        pred: Trajectory, gt: Trajectory,
                        bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray | tuple[np.ndarray, ...]:
    """``compute(pred, gt, bounds)``, read from the cache when these exact inputs were seen before.

    `definition` names what `compute` computes (one name per overlap definition); the result is
    an array of one overlap per frame or a tuple of such arrays.
    """
    folder = overlap_cache_dir()
    if folder is None or len(pred) == 0:
        return compute(pred, gt, bounds)
    path = folder / f"{overlap_key(definition, pred, gt, bounds)}.npz"
    found = _read(path, len(pred))
    if found is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept the longest
        return found[0] if found[1] else found[0][0]
    result = compute(pred, gt, bounds)
    parts = result if isinstance(result, tuple) else (result,)
    _write(path, parts, isinstance(result, tuple))
    return result


def _read(path: Path, frames: int) -> tuple[tuple[np.ndarray, ...], bool] | None:
    """The arrays kept at `path` and whether they were a tuple, or None (absent or unusable)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as kept:
            parts = tuple(kept[f"part{i}"] for i in range(int(kept["parts"])))
            as_tuple = bool(kept["as_tuple"])
    except (OSError, ValueError, KeyError, EOFError) as exc:
        log.debug("%s: unreadable cached overlaps (%s); computing them again", path, exc)
        return None
    if not parts or any(p.shape != (frames,) for p in parts):
        return None
    return parts, as_tuple


def _write(path: Path, parts: tuple[np.ndarray, ...], as_tuple: bool) -> None:
    """Keep `parts` at `path`, atomically; a cache that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        arrays = {f"part{i}": p for i, p in enumerate(parts)}
        np.savez(temp, parts=np.int64(len(parts)), as_tuple=np.bool_(as_tuple), **arrays)
        os.replace(temp, path)
        _prune(path.parent)
    except OSError as exc:
        log.debug("%s: overlaps not cached (%s)", path, exc)


def _prune(folder: Path) -> None:
    """Remove the least recently used entries beyond MAX_OVERLAP_ENTRIES (others may race: fine)."""
    entries = list(folder.glob("*.npz"))
    if len(entries) <= MAX_OVERLAP_ENTRIES:
        return
    by_age = sorted(entries, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)
    for old in by_age[: len(entries) - MAX_OVERLAP_ENTRIES]:
        with contextlib.suppress(OSError):
            old.unlink()
