"""Reading and writing the small text files of tracking benchmarks, strictly and atomically."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError

# A number as benchmark files write it. ASCII digits only: float() also takes Arabic-Indic or
# full-width digits and underscores ("1_0" is 10), which no benchmark writes and a stray byte
# sequence can produce. inf and nan stay numbers: the evaluator decides what they mean.
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)",
                     re.ASCII | re.IGNORECASE)
# Fields are separated by one comma (with spaces or tabs around it) or by spaces and tabs, as
# OTB and VOT files are; two commas in a row leave an empty field, which is an error.
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*|[ \t]+")
# Over these characters numpy's float parsing accepts exactly what _NUMBER does, so a file
# holding only them can be parsed by numpy in one call; any other goes the strict way.
_NOT_NUMERIC = re.compile(r"[^0-9A-Za-z+\-.,]")


def read_bytes(path: Path, what: str = "file") -> bytes:
    """The bytes of a regular file; missing, unreadable or special files are InputErrors.

    Special files are refused before opening: reading a FIFO would wait forever.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise InputError(path, f"cannot read {what}: {kind} (expected a file)")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, f"{what} not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read {what} ({os_reason(exc)})") from None


def read_text(path: Path, what: str = "file") -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped).

    Bytes that are not UTF-8 are an InputError naming the line: replacing them would hide a
    corrupt or mis-encoded file.
    """
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"{what} is not UTF-8 text (byte {data[exc.start]:#04x})", line) from None


def read_lines(path: Path, allow_empty: bool = False) -> list[str]:
    """The lines of a UTF-8 text file, trailing blank lines dropped; an empty file is an
    InputError unless `allow_empty`. Line ends may be \\n, \\r\\n or \\r."""
    text = read_text(path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines and not allow_empty:
        raise InputError(path, "file is empty")
    return lines


def parse_numbers(text: str, path: Path, line_no: int) -> list[float]:
    """Numbers on one line, separated by commas, tabs or spaces (as found in OTB and VOT files)."""
    line = text.strip(" \t")
    if not line:
        raise InputError(path, "empty line (expected numbers)", line_no)
    fields = _SEPARATOR.split(line)
    for field in fields:
        if not field:
            raise InputError(path, "empty field (expected numbers separated by one comma, "
                                   "tabs or spaces)", line_no)
        if not _NUMBER.fullmatch(field):
            hint = "" if field.isascii() else " (only ASCII digits are numbers)"
            raise InputError(path, f"expected numbers separated by commas, tabs or spaces, "
                                   f"got {field[:40]!r}{hint}", line_no)
    return [float(f) for f in fields]


def read_table(path: Path, allow_empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """All numbers of a file, in order, and how many each line holds.

    Parsing goes through numpy in one call (benchmark files have tens of thousands of lines)
    when the text holds only characters numpy cannot misread; otherwise, or on a bad value,
    the lines are parsed strictly one by one to name the bad one.
    """
    lines = read_lines(path, allow_empty)
    text = "\n".join(lines)
    # Most files separate by bare commas: then each line is already its fields, joined by commas.
    spaced = " " in text or "\t" in text
    fields = [_SEPARATOR.sub(",", line.strip(" \t")) for line in lines] if spaced else lines
    counts = np.fromiter((f.count(",") + 1 if f else 0 for f in fields), dtype=np.int64, count=len(fields))
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise InputError(path, "empty line (expected numbers)", int(empty[0]) + 1)
    joined = ",".join(fields)
    if joined and _NOT_NUMERIC.search(joined) is None:
        try:
            return np.array(joined.split(","), dtype=np.float64), counts
        except ValueError:
            pass
    values = [v for i, line in enumerate(lines, start=1) for v in parse_numbers(line, path, i)]
    return np.array(values, dtype=np.float64), counts


def read_rows(path: Path, width_ok: Callable[[int], bool], expected: str) -> np.ndarray:
    """A table with as many numbers on every line as on the first, which `width_ok` accepts
    (`expected` says what it wants, for the error); (lines, width) floats."""
    values, counts = read_table(path)
    width = int(counts[0])
    if not width_ok(width):
        raise InputError(path, f"expected {expected} per line, got {width}", 1)
    bad = np.flatnonzero(counts != width)
    if len(bad):
        raise InputError(path, f"expected {width} values like the first line, got {counts[bad[0]]}", int(bad[0]) + 1)
    return values.reshape(len(counts), width)


def read_regions(path: Path, allow_nan: bool = True, sizes: tuple[int, ...] = (4, 8)) -> np.ndarray:
    """Regions, one per line: 4 values (x, y, w, h) or 8 (a quadrilateral), the same on every line.

    Returns an (N, 4) or (N, 8) float array.
    """
    table = read_rows(path, lambda width: width in sizes, " or ".join(str(s) for s in sizes) + " values")
    if not allow_nan:
        nan_rows = np.flatnonzero(np.isnan(table).any(axis=1))
        if len(nan_rows):
            raise InputError(path, "NaN in a region", int(nan_rows[0]) + 1)
    return table


def read_column(path: Path, allow_empty: bool = False) -> np.ndarray:
    """One number per line (tags, labels, times), as floats."""
    values, counts = read_table(path, allow_empty)
    bad = np.flatnonzero(counts != 1)
    if len(bad):
        raise InputError(path, f"expected one number per line, got {counts[bad[0]]}", int(bad[0]) + 1)
    return values


def read_flags(path: Path, one_line: bool = False, allow_empty: bool = False) -> np.ndarray:
    """Per-frame 0/1 flags as int8: one per line (VOT tags, GOT-10k absence.label), or
    comma-separated on one line (LaSOT's full_occlusion.txt) with `one_line`."""
    if one_line:
        values, counts = read_table(path, allow_empty)
        if len(counts) > 1:
            raise InputError(path, "expected one line of comma-separated 0/1 flags", 2)
    else:
        values = read_column(path, allow_empty)
    bad = np.flatnonzero((values != 0) & (values != 1))  # NaN is bad too
    if len(bad):
        line = 1 if one_line else int(bad[0]) + 1
        raise InputError(path, f"expected a 0/1 flag, got {values[bad[0]]:g}", line)
    return values.astype(np.int8)


def read_names(path: Path, what: str = "sequence") -> list[str]:
    """One name per line (a dataset's list.txt), blank lines skipped.

    A name listed twice, or two names that differ only in case, is an InputError naming both
    lines: scored twice, or one folder on a case-insensitive file system.
    """
    entries = [(i, line.strip()) for i, line in enumerate(read_lines(path), start=1) if line.strip()]
    check_distinct(entries, path, what)
    return [name for _, name in entries]


def check_distinct(entries: Iterable[tuple[int | None, str]], path: Path | None, what: str = "sequence") -> None:
    """Fail on a name that appears twice or two names that differ only in case.

    entries: (line number or None, name).
    """
    seen: dict[str, tuple[int | None, str]] = {}
    for line, name in entries:
        key = name.casefold()
        if key not in seen:
            seen[key] = (line, name)
            continue
        first_line, first = seen[key]
        where = "" if line is None else f" (lines {first_line} and {line})"
        if first == name:
            raise InputError(path, f"{what} {name!r} appears twice{where}", line)
        raise InputError(path, f"{what} names {first!r} and {name!r} differ only in case{where}", line)


def os_reason(exc: OSError) -> str:
    """The short reason of an OSError ("Permission denied"), without errno numbers or paths."""
    return exc.strerror or type(exc).__name__


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename: never a half-written file.

    Any OSError (permission, a folder in the way, no space) is an InputError naming the file.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def ordinary_mode(path: str | Path) -> None:
    """Give a temporary file the mode a plain new file gets (0666 less the umask).

    mkstemp creates 0600, so every file written through one would be readable by its owner
    only: results, weights and videos in a shared folder are meant for the others too.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`atomic_write_text` for bytes (images, weights, archives)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "cannot write: a folder is in the way (expected a file path)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(path, f"cannot write ({os_reason(exc)})") from None
    ordinary_mode(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the image size: C0..CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..RST7 and a repeated SOI.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG or PNG read from its header, without decoding pixels.

    A truncated or corrupt header is an InputError: the walk over JPEG segments only moves
    forward, so it ends at the end of the file whatever the bytes are.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(path, "cannot read image: not a regular file (expected a JPEG or PNG)")
        with open(path, "rb") as fh:
            head = fh.read(24)
            if head.startswith(_PNG_SIGNATURE):
                return _png_size(head, path)
            if head[:2] == b"\xff\xd8":
                fh.seek(2)
                return _jpeg_size(fh, path)
    except FileNotFoundError:
        raise InputError(path, "image not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read image ({os_reason(exc)})") from None
    raise InputError(path, "expected a JPEG or PNG image")


def _png_size(head: bytes, path: Path) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise InputError(path, "corrupt or truncated PNG: no IHDR header")
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if not width or not height:
        raise InputError(path, f"corrupt PNG: image size {width}x{height}")
    return width, height


def _jpeg_size(fh, path: Path) -> tuple[int, int]:
    """Size from the start-of-frame segment; `fh` is just after the SOI marker."""
    while True:
        if fh.read(1) != b"\xff":
            raise InputError(path, "corrupt or truncated JPEG: no frame header found")
        kind = fh.read(1)
        while kind == b"\xff":  # fill bytes may precede a marker
            kind = fh.read(1)
        if not kind or kind == b"\x00":
            raise InputError(path, "corrupt or truncated JPEG: no frame header found")
        marker = kind[0]
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the image data, before any frame header
            raise InputError(path, "corrupt JPEG: no frame header before the image data")
        length = fh.read(2)
        if len(length) < 2 or int.from_bytes(length, "big") < 2:
            raise InputError(path, "corrupt or truncated JPEG: bad segment length")
        if marker in _JPEG_SOF:
            data = fh.read(5)
            if len(data) < 5:
                raise InputError(path, "truncated JPEG: frame header cut short")
            height, width = int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:5], "big")
            if not width or not height:
                raise InputError(path, f"corrupt JPEG: image size {width}x{height} in its frame header")
            return width, height
        fh.seek(int.from_bytes(length, "big") - 2, os.SEEK_CUR)


def read_json(path: Path, what: str = "file"):
    """A JSON document; unreadable or invalid files are InputErrors naming the file and line."""
    import json

    text = read_text(path, what)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from None
    except _RepeatedKey as exc:
        raise InputError(path, f"invalid JSON (key {json.dumps(str(exc))} is repeated in one object; "
                               "only one value can count)") from None
    except RecursionError:  # thousands of nested brackets
        raise InputError(path, "invalid JSON (nested too deeply)") from None


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members; a repeated key is refused, where json would silently keep the last."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def read_yaml(path: Path, what: str = "file"):
    """A YAML document; unreadable or invalid files are InputErrors naming the file and line."""
    import yaml

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
            line = text.count("\n", 0, exc.position) + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, f"invalid YAML: {' '.join(problem.split())}", line) from None
    except RecursionError:
        raise InputError(path, "invalid YAML (nested too deeply)") from None
