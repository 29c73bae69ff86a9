"""The ledger of a results folder: which files a run wrote, with what, and their content hashes.

Every tracker folder that siambench writes (``<results>/<DATASET>/<tracker>/``) holds a ledger,
``.siambench.json``::

    {"format": 2,
     "keys": {"<run key>": {description of the spec and weights that produced it}},
     "runs": {"<protocol>": {"<sequence>": {
         "key": "<run key>",
         "repetitions": [1, 2],
         "files": {"1": {"path": "baseline/ants1/ants1_001.txt", "sha256": "..."}, "2": {...}},
         "times": "baseline/ants1/ants1_time.txt",
         "finished": "2026-12-02T01:00:00+00:00",
         "environment": {"device": "cuda:0", "torch": "2.13.0", "gpu": "NVIDIA H100", ...}}}}}

It is the single answer to "which files are the results": ``siambench run`` skips a repetition
only when the ledger lists it under the same run key *and* the file on disk still has the
recorded hash, and ``siambench eval`` scores exactly the files the ledger lists, warning about any
other result file in the folder (see :mod:`siambench.results`).

Writers hold an OS lock on ``.siambench.lock`` beside the ledger (``flock`` on POSIX, a
byte-range lock through ``msvcrt.locking`` on Windows) for as long as they change the folder,
and every update re-reads the ledger, changes it and writes it back atomically under that lock,
so two runs into one folder neither interleave their results nor lose each other's entries. A
run that finds the lock taken waits (saying for whom) or, with ``wait=False``, fails with a
one-line error.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from siambench.errors import InputError, SiambenchError
from siambench.results import PROTOCOL_EXPERIMENTS
from siambench.textio import atomic_write_text, os_reason

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

LEDGER_NAME = ".siambench.json"
LOCK_NAME = ".siambench.lock"
LEDGER_FORMAT = 2
# msvcrt locks a byte range, and a locked byte cannot be read by others: lock one far past the
# pid written at the start, so a waiting run can still say whom it waits for.
_WINDOWS_LOCK_OFFSET = 1 << 30
_WINDOWS_RETRY_S = 0.1
PROTOCOL_DIRS: dict[str, str | None] = {"ope": None, **PROTOCOL_EXPERIMENTS}  # None: the tracker folder


class FolderBusyError(SiambenchError):
    """Another process holds the lock of a results folder."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _empty() -> dict[str, Any]:
    return {"format": LEDGER_FORMAT, "runs": {}, "keys": {}}


def result_relpath(protocol: str, sequence: str, repetition: int) -> str:
    """Where a repetition's result file lies, relative to the tracker folder (pysot's layout)."""
    folder = PROTOCOL_DIRS[protocol]
    if folder is None:
        return f"{sequence}.txt"
    return f"{folder}/{sequence}/{sequence}_{repetition:03d}.txt"


def times_relpath(protocol: str, sequence: str) -> str:
    folder = PROTOCOL_DIRS[protocol]
    return f"{sequence}_time.txt" if folder is None else f"{folder}/{sequence}/{sequence}_time.txt"


class Ledger:
    """The ledger of one tracker folder; every change is a locked read-modify-write.

    ``with ledger.lock(): ...`` holds the folder for a whole run. Changes made outside such a
    block take the lock for their own duration.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / LEDGER_NAME
        self.lock_path = self.root / LOCK_NAME
        self._lock_fd: int | None = None
        self._depth = 0
        self.damaged: str | None = None  # why the ledger on disk could not be read, if it could not
        self.data = self._read()

    # ---- reading ------------------------------------------------------------------------------
    @classmethod
    def existing(cls, root: str | Path) -> Ledger | None:
        """The ledger of a folder siambench wrote, or None for a foreign folder (no ledger)."""
        root = Path(root)
        return cls(root) if (root / LEDGER_NAME).is_file() else None

    def _read(self) -> dict[str, Any]:
        """The ledger's content; a damaged one reads as empty, with `damaged` saying why.

        A damaged ledger never gives a wrong score: eval refuses the folder (it cannot tell
        which files are results), and run sets the file aside and runs everything again.
        """
        self.damaged = None
        if not self.path.is_file():
            return _empty()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            self.damaged = f"unreadable ({os_reason(exc)})"
            return _empty()
        except ValueError as exc:  # invalid JSON, or bytes that are not UTF-8
            self.damaged = f"not valid JSON ({getattr(exc, 'msg', None) or exc.__class__.__name__})"
            return _empty()
        if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
            self.damaged = "not a ledger object (no 'runs')"
            return _empty()
        fmt = data.get("format")
        if fmt == 1:
            return self._upgrade(data)
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > LEDGER_FORMAT:
            raise InputError(self.path, f"results ledger of format {fmt}, which this siambench (format "
                                        f"{LEDGER_FORMAT}) does not know: written by a newer siambench? Use that "
                                        "one, or another --results-dir")
        problem = None if fmt == LEDGER_FORMAT else f"of no known format ({json.dumps(fmt)})"
        self.damaged = problem or _shape_problem(data)
        if self.damaged:
            return _empty()
        data.setdefault("keys", {})
        return data

    def set_aside_if_damaged(self, warn: Callable[[str], None]) -> None:
        """For writers, under the lock: a damaged ledger is moved out of the way (kept as
        ``.siambench.json.damaged`` for a look) with a warning, and the folder starts afresh;
        nothing it listed counts as done, so a run redoes everything."""
        if not self.damaged:
            return
        target = self.path.with_name(LEDGER_NAME + ".damaged")
        count = 1
        while target.exists():  # an earlier one kept for a look stays
            target = self.path.with_name(f"{LEDGER_NAME}.damaged.{count}")
            count += 1
        os.replace(self.path, target)
        warn(f"{self.path}: results ledger {self.damaged}; kept as {target.name}, and nothing it listed "
             "counts as done")
        self.data, self.damaged = _empty(), None
        # An empty ledger at once, not at the first result: should the run fail before that, the
        # folder's old files stay unlisted strays, never foreign results that eval would score.
        self._save()

    def _upgrade(self, old: dict[str, Any]) -> dict[str, Any]:
        """Format 1 listed repetitions without files: record the files as they are now."""
        data = _empty()
        data["keys"] = old.get("keys", {}) if isinstance(old.get("keys"), dict) else {}
        for protocol, seqs in old["runs"].items():
            if protocol not in PROTOCOL_DIRS or not isinstance(seqs, dict):
                continue
            for seq, entry in seqs.items():
                files = {}
                for rep in entry.get("repetitions", []) if isinstance(entry, dict) else []:
                    rel = result_relpath(protocol, seq, int(rep))
                    if (self.root / rel).is_file():
                        files[str(int(rep))] = {"path": rel, "sha256": file_sha256(self.root / rel)}
                if files:
                    data["runs"].setdefault(protocol, {})[seq] = {
                        "key": entry.get("key"), "repetitions": sorted(int(r) for r in files),
                        "files": files, "finished": entry.get("finished"),
                    }
        return data

    def entry(self, protocol: str, sequence: str) -> dict[str, Any] | None:
        entry = self.data["runs"].get(protocol, {}).get(sequence)
        return entry if isinstance(entry, dict) else None

    def protocols(self) -> list[str]:
        return [p for p, seqs in self.data["runs"].items() if seqs]

    def sequences(self, protocol: str) -> list[str]:
        return list(self.data["runs"].get(protocol, {}))

    def files(self, protocol: str, sequence: str) -> dict[int, tuple[Path, str]]:
        """Repetition -> (file, recorded sha256) that the ledger lists for a sequence."""
        entry = self.entry(protocol, sequence)
        if entry is None:
            return {}
        out = {}
        for rep, item in sorted(entry.get("files", {}).items(), key=lambda kv: int(kv[0])):
            out[int(rep)] = (self.root / item["path"], item["sha256"])
        return out

    def listed_paths(self) -> set[Path]:
        """Every file the ledger lists (results and timing files), for spotting the others."""
        paths: set[Path] = set()
        for seqs in self.data["runs"].values():
            for entry in seqs.values():
                paths.update(self.root / item["path"] for item in entry.get("files", {}).values())
                if entry.get("times"):
                    paths.add(self.root / entry["times"])
        return paths

    def describe_key(self, key: str) -> str:
        """A run key with what it stands for, as far as the ledger recorded it."""
        info = self.data["keys"].get(key)
        if not isinstance(info, dict):
            return f"run {key}"
        weights = str(info.get("weights") or "?")
        weights = weights[:19] + "..." if weights.startswith("sha256:") else weights
        spec = str(info.get("spec_hash") or "?")[:8]
        precision = info.get("precision")
        extra = f", {precision}" if precision and precision != "fp32" else ""
        return f"run {key} (spec {spec}, weights {weights}{extra})"

    def done(self, protocol: str, sequence: str, repetition: int, key: str) -> bool:
        """Listed under `key`, and the file on disk is still the one that was recorded."""
        entry = self.entry(protocol, sequence)
        if entry is None or entry.get("key") != key:
            return False
        item = entry.get("files", {}).get(str(repetition))
        if item is None:
            return False
        path = self.root / item["path"]
        try:
            return path.is_file() and file_sha256(path) == item["sha256"]
        except OSError:
            return False

    # ---- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[Ledger]:
        """Hold the folder's lock (re-entrant within this object); re-read the ledger under it."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        fd = self._acquire(wait, on_wait)
        self._lock_fd, self._depth = fd, 1
        try:
            self.data = self._read()
            yield self
        finally:
            self._depth = 0
            self._lock_fd = None
            _unlock(fd)
            os.close(fd)

    def _acquire(self, wait: bool, on_wait: Callable[[str], None] | None) -> int:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        except OSError as exc:
            raise InputError(self.lock_path, f"cannot create the results folder's lock ({os_reason(exc)})") from None
        locked = False
        try:
            if not _try_lock(fd):
                holder = self._holder()
                if not wait:
                    raise FolderBusyError(
                        f"{self.root}: another siambench process{holder} is writing these results; "
                        "wait for it to finish or use another --results-dir")
                if on_wait is not None:
                    on_wait(f"waiting for another siambench process{holder} writing {self.root}")
                _wait_lock(fd)
            locked = True
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException as exc:  # the lock is not kept past a failure (nor an interrupt)
            if locked:
                _unlock(fd)
            os.close(fd)
            if isinstance(exc, OSError):
                raise InputError(self.lock_path, f"cannot lock the results folder ({os_reason(exc)})") from None
            raise
        return fd

    def _holder(self) -> str:
        try:
            pid = self.lock_path.read_text().strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""

    @contextlib.contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under the lock (taking it re-reads the ledger; while it is held,
        no other process writes, so the data in memory is the ledger's)."""
        with self.lock():
            yield self.data
            self._save()

    def _save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")

    # ---- changing -----------------------------------------------------------------------------
    def start(self, protocol: str, sequence: str, key: str) -> list[Path]:
        """Forget a sequence's entry unless it is for `key`; returns the files it listed."""
        entry = self.entry(protocol, sequence)
        if entry is None or entry.get("key") == key:
            return []
        with self._change() as data:
            old = data["runs"].get(protocol, {}).pop(sequence, None) or {}
        return [self.root / item["path"] for item in old.get("files", {}).values()]

    def forget(self, protocol: str, sequence: str, repetition: int) -> None:
        entry = self.entry(protocol, sequence)
        if entry is None or str(repetition) not in entry.get("files", {}):
            return
        with self._change() as data:
            entry = data["runs"].get(protocol, {}).get(sequence)
            if entry is not None:
                entry.get("files", {}).pop(str(repetition), None)
                entry["repetitions"] = sorted(int(r) for r in entry.get("files", {}))

    def finish(self, protocol: str, sequence: str, repetition: int, key: str, info: dict[str, Any],
               times: bool = False, environment: dict[str, str] | None = None) -> None:
        """Record a written result file (hashed now, from disk) under `key`, and where it was
        made (`environment`: device, library versions), which speeds depend on."""
        rel = result_relpath(protocol, sequence, repetition)
        digest = file_sha256(self.root / rel)
        with self._change() as data:
            runs = data["runs"].setdefault(protocol, {})
            entry = runs.get(sequence)
            if entry is None or entry.get("key") != key:
                entry = runs[sequence] = {"key": key, "files": {}}
            entry.setdefault("files", {})[str(repetition)] = {"path": rel, "sha256": digest}
            entry["repetitions"] = sorted(int(r) for r in entry["files"])
            if times:
                entry["times"] = times_relpath(protocol, sequence)
            entry["finished"] = _now()
            if environment:
                entry["environment"] = environment
            data["keys"][key] = info

    def record_import(self, protocol: str, sequence: str, written: dict[int, Path], key: str,
                      info: dict[str, Any]) -> list[Path]:
        """Make `written` (repetition -> file) the sequence's whole entry; returns the files it drops."""
        with self._change() as data:
            runs = data["runs"].setdefault(protocol, {})
            old = runs.get(sequence) or {}
            files = {str(rep): {"path": path.relative_to(self.root).as_posix(), "sha256": file_sha256(path)}
                     for rep, path in sorted(written.items())}
            runs[sequence] = {"key": key, "files": files, "repetitions": sorted(written), "finished": _now()}
            data["keys"][key] = info
        kept = {item["path"] for item in files.values()}
        return [self.root / item["path"] for item in old.get("files", {}).values() if item["path"] not in kept]

    def prune(self, protocol: str, sequence: str, repetitions: int) -> list[Path]:
        """Drop the entries of repetitions above `repetitions`; returns their files (not deleted)."""
        entry = self.entry(protocol, sequence)
        if entry is None or not any(int(r) > repetitions for r in entry.get("files", {})):
            return []
        dropped: list[Path] = []
        with self._change() as data:
            entry = data["runs"].get(protocol, {}).get(sequence) or {}
            for rep in [r for r in entry.get("files", {}) if int(r) > repetitions]:
                dropped.append(self.root / entry["files"].pop(rep)["path"])
            entry["repetitions"] = sorted(int(r) for r in entry.get("files", {}))
        return dropped


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What makes a format-2 ledger unusable (an entry of the wrong shape), or None."""
    if not isinstance(data.get("keys", {}), dict):
        return "malformed ('keys' is not an object)"
    for protocol, seqs in data["runs"].items():
        if protocol not in PROTOCOL_DIRS or not isinstance(seqs, dict):
            return f"malformed (runs.{protocol})"
        for seq, entry in seqs.items():
            where = f"runs.{protocol}.{seq}"
            if not isinstance(entry, dict) or not isinstance(entry.get("files", {}), dict):
                return f"malformed ({where})"
            for rep, item in entry.get("files", {}).items():
                if not (str(rep).isdigit() and isinstance(item, dict) and isinstance(item.get("path"), str)
                        and isinstance(item.get("sha256"), str)):
                    return f"malformed ({where}.files.{rep})"
            if not isinstance(entry.get("times", ""), str | None):
                return f"malformed ({where}.times)"
    return None


# ---- the OS lock ----------------------------------------------------------------------------------
def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of the open lock file `fd` if it is free; whether it was taken."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    if msvcrt is not None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            # held by another handle; any other failure (a share without byte-range locks) is
            # an error, not a wait that would never end
            if exc.errno in (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)):
                return False
            raise
        return True
    return True  # pragma: no cover - neither: runs are not protected against each other


def _wait_lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    # msvcrt's own blocking mode gives up after ten seconds; a run may hold a folder for hours
    while not _try_lock(fd):
        time.sleep(_WINDOWS_RETRY_S)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        return  # closing the descriptor releases the flock
    if msvcrt is not None:  # Windows may release a region only some time after the close
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
