"""Every reader of user files, fed arbitrary bytes and structured garbage: each input either
parses or raises siambench's own error, quickly. Then one plain test per problem found this way.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.datasets.otb import read_attributes, read_otb_folder, read_otb_json
from siambench.datasets.pysot import read_pysot_json
from siambench.datasets.vot import TAGS, read_vot_json, read_vot_sequence
from siambench.errors import InputError, SiambenchError
from siambench.results import read_boxes, read_vot_trajectory
from siambench.textio import (
    image_size,
    parse_numbers,
    read_column,
    read_flags,
    read_json,
    read_names,
    read_regions,
    read_table,
    read_yaml,
)

# A generous bound per input: the machine running the suite may be busy; a hang is infinite.
FUZZ = settings(max_examples=80, deadline=timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow])

# Pieces of annotation files, good and bad, so that the fuzzer builds near-misses of real lines.
TOKENS = ["1", "23.5", "-4", "+.5", "7.", "1e3", "2E-2", "nan", "NaN", "inf", "-Infinity", ",", ", ",
          "\t", " ", "  ", ",,", "\n", "\r\n", "\r", "", "\u0661", "\uff11", "1_0", "0x1", "e", ".", "-",
          "\u00a0", "\x0b", "\x00", "\ufeff", "\u00e9", "\ufffd", "1,2,3,4", "0", "2"]
lines_text = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
file_bytes = st.one_of(
    st.binary(max_size=300),
    lines_text.map(lambda t: t.encode("utf-8")),
    st.text(max_size=120).map(lambda t: t.encode("utf-8")),
)

# The grammar of a line, written out independently of textio: the fast numpy path must agree.
_FIELD = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))")
_SEP = re.compile(r"[ \t]*,[ \t]*|[ \t]+")


def _spec_numbers(text: str) -> list[float] | None:
    """The numbers of a file by the documented grammar, or None where it is not such a file."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    values: list[float] = []
    for line in lines:
        fields = _SEP.split(line.strip(" \t"))
        if not all(_FIELD.fullmatch(f) for f in fields):
            return None
        values += [float(f) for f in fields]
    return values if lines else None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _file(folder: Path, data: bytes, name: str = "input.txt") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _parses_or_own_error(fn, *args):
    """fn(*args), or None where it raised siambench's own error; anything else fails the test."""
    try:
        return fn(*args)
    except SiambenchError as exc:
        assert "\n" not in str(exc)  # the CLI prints it as one line
        return None


# ------------------------------------------------------------------ property-based


@FUZZ
@given(data=file_bytes)
def test_read_table_agrees_with_the_grammar(scratch, data):
    path = _file(scratch, data)
    parsed = _parses_or_own_error(read_table, path)
    try:
        expected = _spec_numbers(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        expected = None
    if expected is None:
        assert parsed is None
    else:
        values, counts = parsed
        np.testing.assert_array_equal(values, expected)
        assert counts.sum() == len(values)


@FUZZ
@given(line=lines_text)
def test_parse_numbers(line):
    line = line.replace("\n", " ").replace("\r", " ")  # one line, as the readers pass it
    values = _parses_or_own_error(parse_numbers, line, Path("x.txt"), 1)
    assert values is None or all(isinstance(v, float) for v in values)


@FUZZ
@given(data=file_bytes)
def test_region_column_and_flag_readers(scratch, data):
    path = _file(scratch, data)
    regions = _parses_or_own_error(read_regions, path)
    assert regions is None or (regions.ndim == 2 and regions.shape[1] in (4, 8))
    column = _parses_or_own_error(read_column, path)
    assert column is None or column.ndim == 1
    for kwargs in ({}, {"one_line": True}, {"allow_empty": True}):
        flags = _parses_or_own_error(lambda p, kw=kwargs: read_flags(p, **kw), path)
        assert flags is None or set(flags.tolist()) <= {0, 1}
    names = _parses_or_own_error(read_names, path)
    assert names is None or len({n.casefold() for n in names}) == len(names)


@FUZZ
@given(data=file_bytes)
def test_result_readers(scratch, data):
    path = _file(scratch, data)
    boxes = _parses_or_own_error(read_boxes, path)
    assert boxes is None or boxes.shape[1] == 4
    entries = _parses_or_own_error(read_vot_trajectory, path)
    assert entries is None or all(len(e) in (1, 4) or len(e) % 2 == 0 for e in entries)


JPEG_START = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffc00011080030004003012200021101031101")
PNG_START = b"\x89PNG\r\n\x1a\n" + bytes.fromhex("0000000d49484452000000400000003008020000")


@FUZZ
@given(prefix=st.sampled_from([b"", b"\xff\xd8", b"\xff\xd8\xff", JPEG_START[:20], PNG_START[:12]]),
       cut=st.integers(0, len(JPEG_START)), rest=st.binary(max_size=200))
def test_image_size(scratch, prefix, cut, rest):
    for data in (prefix + rest, JPEG_START[:cut] + rest, PNG_START[:cut] + rest):
        size = _parses_or_own_error(image_size, _file(scratch, data, "frame.jpg"))
        assert size is None or (size[0] > 0 and size[1] > 0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
_GOOD = {"img_names": ["a/1.jpg", "a/2.jpg"], "gt_rect": [[1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 7, 8]],
         "width": 8, "height": 6, "occlusion": [0, 1], "attr": ["OCC"], "video_dir": "a"}
# A good entry with one field replaced by garbage: what a hand-edited or foreign file holds.
mutated = st.builds(lambda key, value: {**_GOOD, key: value},
                    st.sampled_from(sorted(_GOOD)), json_values)
pysot_documents = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(["a", "A", "b", "../c", ""]), mutated | json_values, max_size=3),
)


@FUZZ
@given(doc=pysot_documents)
def test_pysot_json_readers(scratch, doc):
    path = _file(scratch, json.dumps(doc).encode(), "dataset.json")
    meta = _parses_or_own_error(read_pysot_json, path)
    assert meta is None or (isinstance(meta, dict) and meta)
    vot = _parses_or_own_error(read_vot_json, path, scratch)
    assert vot is None or all(s.groundtruth.shape[1] in (4, 8) and s.width > 0 for s in vot)
    names = sorted(doc) if isinstance(doc, dict) else ["a"]
    otb = _parses_or_own_error(read_otb_json, path, scratch, names)
    assert otb is None or all(s.groundtruth.shape[1] == 4 for s in otb)


@FUZZ
@given(data=file_bytes)
def test_json_and_yaml_readers(scratch, data):
    path = _file(scratch, data, "doc.txt")
    _parses_or_own_error(read_json, path)
    _parses_or_own_error(read_yaml, path)


@FUZZ
@given(groundtruth=file_bytes, attributes=file_bytes)
def test_otb_groundtruth_and_attribute_files(tmp_path_factory, groundtruth, attributes):
    folder = tmp_path_factory.mktemp("otb")
    _file(folder, groundtruth, "Seq/groundtruth_rect.txt")
    _file(folder, attributes, "attributes.txt")
    sequences = _parses_or_own_error(read_otb_folder, folder)
    assert sequences is None or sequences[0].groundtruth.shape[1] == 4
    _parses_or_own_error(read_attributes, folder / "attributes.txt")


@FUZZ
@given(tag=file_bytes, sequence=file_bytes)
def test_vot_tag_and_sequence_files(tmp_path_factory, tag, sequence):
    folder = tmp_path_factory.mktemp("vot") / "s"
    _file(folder, b"1,2,3,4\n1,2,3,4\n", "groundtruth.txt")
    _file(folder, tag, f"{TAGS[0]}.tag")
    _file(folder, sequence, "sequence")
    seq = _parses_or_own_error(read_vot_sequence, folder)
    assert seq is None or set(seq.tags[TAGS[0]].tolist()) <= {0, 1}


# ------------------------------------------------------------------ the problems found


def test_truncated_image_headers_end_with_an_error():
    """Every prefix of a JPEG header, and segments of length 0 or 1, in a child process: the old
    reader looped forever on some, so a hang must fail the test rather than stop the suite.
    Prefixes of 29 bytes and more hold the whole frame header."""
    code = f"""
import sys
from pathlib import Path
from siambench.errors import InputError
from siambench.textio import image_size
start = bytes.fromhex("{JPEG_START.hex()}")
path = Path(sys.argv[1])
cases = [start[:n] for n in range(29)] + [b"\\xff\\xd8\\xff\\xe0\\x00\\x00", b"\\xff\\xd8\\xff\\xe0\\x00\\x01"]
for data in cases:
    path.write_bytes(data)
    try:
        image_size(path)
    except InputError:
        continue
    raise SystemExit(f"no error for {{data!r}}")
path.write_bytes(start[:29])
print(image_size(path))
"""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-c", code, str(Path(folder) / "f.jpg")],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "(64, 48)", done.stderr


def test_image_size_of_real_headers(tmp_path):
    cv2 = pytest.importorskip("cv2")
    for suffix in (".jpg", ".png"):
        path = tmp_path / f"f{suffix}"
        cv2.imwrite(str(path), np.zeros((48, 64, 3), np.uint8))
        assert image_size(path) == (64, 48)
    progressive = tmp_path / "p.jpg"
    cv2.imwrite(str(progressive), np.zeros((20, 30, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert image_size(progressive) == (30, 20)
    with pytest.raises(InputError, match="not a regular file"):
        image_size(tmp_path)


def test_non_utf8_documents_name_the_line(tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    for reader in (read_json, read_yaml):
        with pytest.raises(InputError, match=r"doc.yaml:2: file is not UTF-8 text \(byte 0xe9\)"):
            reader(path)


def test_numbers_strictly_but_inf_and_nan_kept(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("1 , 2\t3 4\nnan,inf,-inf,1e2\n")
    values, counts = read_table(path)
    assert counts.tolist() == [4, 4] and values[5] == np.inf and np.isnan(values[4])
    for text, message in (("1,,2\n", "1: empty field"), ("1,2,\n", "1: empty field"),
                          ("\u0661\n", "only ASCII digits"), ("\uff11\n", "only ASCII digits"),
                          ("1_000\n", "got '1_000'")):
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            read_column(path)


class _Warnings(logging.Handler):
    """Warnings of the siambench logger (the CLI stops it propagating to pytest's caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_frames_of_another_size_warn_once_per_sequence(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from siambench.frames import FrameReader

    paths = []
    for i, (h, w) in enumerate([(48, 64), (48, 64), (60, 80), (60, 80), (30, 40)]):
        paths.append(tmp_path / f"{i:04d}.jpg")
        cv2.imwrite(str(paths[-1]), np.zeros((h, w, 3), np.uint8))
    logger, seen = logging.getLogger("siambench"), _Warnings()
    logger.addHandler(seen)
    try:
        assert len(list(FrameReader(paths, prefetch=2))) == 5
        assert len(seen.messages) == 1
        assert "0002.jpg: frame is 80x60" in seen.messages[0] and "64x48" in seen.messages[0]
        list(FrameReader(paths[:2]))  # one size throughout: nothing to say
        assert len(seen.messages) == 1
    finally:
        logger.removeHandler(seen)
