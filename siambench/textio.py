"""Reading and writing the small text files of tracking benchmarks, strictly and atomically."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siambench.errors import InputError

_SPLIT = re.compile(r"[,\t ]+")


def parse_numbers(text: str, path: Path, line_no: int) -> list[float]:
    """Numbers on one line, separated by commas, tabs or spaces (as found in OTB and VOT files)."""
    fields = [f for f in _SPLIT.split(text.strip()) if f]
    try:
        return [float(f) for f in fields]
    except ValueError:
        bad = next(f for f in fields if not _is_float(f))
        raise InputError(path, f"expected numbers separated by commas, tabs or spaces, got {bad!r}", line_no) from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a text file; a missing or empty file is an InputError."""
    if not path.is_file():
        raise InputError(path, "file not found")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputError(path, "file is empty")
    return lines


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """All numbers of a file, in order, and how many each line holds.

    Parsing goes through numpy in one call (benchmark files have tens of thousands of lines);
    on a bad value the file is re-read line by line to name the line.
    """
    lines = read_lines(path)
    fields = [_SPLIT.sub(",", line.strip()) for line in lines]
    counts = np.fromiter((f.count(",") + 1 if f else 0 for f in fields), dtype=np.int64, count=len(fields))
    try:
        values = np.array(",".join(f for f in fields if f).split(","), dtype=np.float64)
    except ValueError:
        for i, line in enumerate(lines, start=1):
            parse_numbers(line, path, i)
        raise InputError(path, "expected numbers separated by commas, tabs or spaces") from None
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise InputError(path, "empty line (expected numbers)", int(empty[0]) + 1)
    return values, counts


def read_regions(path: Path, allow_nan: bool = True, sizes: tuple[int, ...] = (4, 8)) -> np.ndarray:
    """Regions, one per line: 4 values (x, y, w, h) or 8 (a quadrilateral), the same on every line.

    Returns an (N, 4) or (N, 8) float array.
    """
    values, counts = read_table(path)
    width = int(counts[0])
    bad = np.flatnonzero(counts != width)
    if width not in sizes:
        expected = " or ".join(str(s) for s in sizes)
        raise InputError(path, f"expected {expected} values per line, got {width}", 1)
    if len(bad):
        raise InputError(path, f"expected {width} values like the first line, got {counts[bad[0]]}", int(bad[0]) + 1)
    table = values.reshape(len(counts), width)
    if not allow_nan:
        nan_rows = np.flatnonzero(np.isnan(table).any(axis=1))
        if len(nan_rows):
            raise InputError(path, "NaN in a region", int(nan_rows[0]) + 1)
    return table


def read_column(path: Path, dtype=np.float64) -> np.ndarray:
    """One number per line (tags, labels, times)."""
    out = []
    for i, line in enumerate(read_lines(path), start=1):
        values = parse_numbers(line, path, i)
        if len(values) != 1:
            raise InputError(path, f"expected one number per line, got {len(values)}", i)
        out.append(values[0])
    return np.asarray(out, dtype=dtype)


def os_reason(exc: OSError) -> str:
    """The short reason of an OSError ("Permission denied"), without errno numbers or paths."""
    return exc.strerror or type(exc).__name__


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename: never a half-written file.

    Any OSError (permission, a folder in the way, no space) is an InputError naming the file.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "cannot write: a folder is in the way (expected a file path)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(path, f"cannot write ({os_reason(exc)})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(path, f"cannot write ({os_reason(exc)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable_file(path: Path) -> None:
    """Fail now, before any long work, when `path` could not be written later.

    The nearest existing folder on the way must be writable, and `path` itself must not be a
    folder. Nothing is created.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "cannot write: a folder is in the way (expected a file path)")
    check_writable_dir(path.parent)


def check_writable_dir(folder: Path) -> None:
    """Fail now when files could not be created in `folder` (or in the folders it would need)."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(probe, "cannot write: a file is in the way (expected a folder)")
    try:  # try it: permission bits alone do not tell (root, read-only mounts, ACLs)
        fd, tmp = tempfile.mkstemp(prefix=".siambench-probe.", dir=probe)
    except OSError as exc:
        raise InputError(probe, f"cannot write in this folder ({os_reason(exc)})") from None
    os.close(fd)
    os.unlink(tmp)


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG or PNG read from its header, without decoding pixels."""
    with open(path, "rb") as fh:
        head = fh.read(26)
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if head[:2] != b"\xff\xd8":
            raise InputError(path, "expected a JPEG or PNG image")
        fh.seek(2)
        while True:
            marker = fh.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                raise InputError(path, "corrupt JPEG: no frame header found")
            kind = marker[1]
            if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
                continue
            size = int.from_bytes(fh.read(2), "big")
            # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size
            if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
                data = fh.read(5)
                return int.from_bytes(data[3:5], "big"), int.from_bytes(data[1:3], "big")
            fh.seek(size - 2, os.SEEK_CUR)


def _read_document(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({exc.strerror or exc})") from None


def read_json(path: Path, what: str = "file"):
    """A JSON document; unreadable or invalid files are InputErrors naming the file and line."""
    import json

    text = _read_document(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from None


def read_yaml(path: Path, what: str = "file"):
    """A YAML document; unreadable or invalid files are InputErrors naming the file and line."""
    import yaml

    text = _read_document(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                         None if mark is None else mark.line + 1) from None
