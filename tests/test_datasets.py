"""Readers of the official layouts, on real annotations and on small hand-made folders."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from siambench.datasets import load_dataset
from siambench.errors import InputError, UnknownNameError


def test_otb100_real_annotations_and_quirks(shared_data):
    ds = load_dataset("otb2015", shared_data)
    assert len(ds) == 100 and ds.protocol == "ope" and ds.results_name == "OTB100"
    for name in ("Jogging-1", "Jogging-2", "Skating2-1", "Skating2-2", "Human4-2"):
        assert len(ds[name]) > 0
    assert ds["David"].frames[0].name == "0300.jpg"  # annotations start at frame 300
    assert ds["BlurCar1"].frames[0].name == "0247.jpg"
    assert ds["Couple"].frames[0].is_file() and (ds["Couple"].width, ds["Couple"].height) == (320, 240)
    assert "OCC" in ds["Basketball"].attributes
    np.testing.assert_allclose(ds["Couple"].init_box(), [51.5, 47.5, 25, 62])


def test_otb_subsets(shared_data):
    assert len(load_dataset("otb2013", shared_data)) == 51
    assert len(load_dataset("otb50", shared_data)) == 50
    assert load_dataset("OTB100", shared_data).name == "otb2015"  # alias, any case


def test_vot2018_json(shared_data):
    ds = load_dataset("vot2018", shared_data)
    assert len(ds) == 60 and sum(len(s) for s in ds) == 21356
    ants = ds["ants1"]
    assert ants.groundtruth.shape[1] == 8 and (ants.width, ants.height) == (1024, 1024)
    assert set(ants.tags) == {"camera_motion", "illum_change", "motion_change", "size_change", "occlusion"}
    assert ds.eao_interval == (100, 356)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _jpeg(path: Path, w: int, h: int) -> None:
    cv2 = pytest.importorskip("cv2")
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))


def test_vot_official_layout(tmp_path: Path):
    root = tmp_path / "VOT2016"
    _write(root / "list.txt", "bag\n")
    _write(root / "bag" / "groundtruth.txt", "1,2,11,2,11,12,1,12\n2,3,12,3,12,13,2,13\n3,4,13,4,13,14,3,14\n")
    _write(root / "bag" / "occlusion.tag", "0\n1\n")  # shorter than the sequence: rest untagged
    for i in range(3):
        _jpeg(root / "bag" / "color" / f"{i + 1:08d}.jpg", 64, 48)
    ds = load_dataset("vot2016", tmp_path)
    seq = ds["bag"]
    assert (seq.width, seq.height) == (64, 48) and len(seq.frames) == 3
    np.testing.assert_array_equal(seq.tags["occlusion"], [0, 1, 0])
    assert ds.eao_interval == (108, 371)


def test_otb_tab_and_space_separators(tmp_path: Path):
    root = tmp_path / "OTB100"
    from siambench.datasets.otb import subset_names

    for name in subset_names("otb2015"):
        gt = root / name.split("-")[0] / ("groundtruth_rect.txt" if "-" not in name else f"groundtruth_rect.{name[-1]}.txt")
        _write(gt, "1\t2\t3\t4\n5 6 7 8\n9,10,11,12\n")
    ds = load_dataset("otb2015", tmp_path)
    np.testing.assert_array_equal(ds["Basketball"].groundtruth, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])


def test_got10k_and_lasot_layouts(tmp_path: Path):
    got = tmp_path / "GOT-10k" / "val"
    _write(got / "list.txt", "GOT-10k_Val_000001\n")
    _write(got / "GOT-10k_Val_000001" / "groundtruth.txt", "1,2,3,4\n2,3,4,5\n")
    _write(got / "GOT-10k_Val_000001" / "absence.label", "0\n1\n")
    seq = load_dataset("got10k-val", tmp_path).sequences[0]
    np.testing.assert_array_equal(seq.absent, [0, 1])
    las = tmp_path / "LaSOT" / "cat" / "cat-1"
    _write(las / "groundtruth.txt", "1,2,3,4\n2,3,4,5\n3,4,5,6\n")
    _write(las / "full_occlusion.txt", "0,0,1\n")
    _write(las / "out_of_view.txt", "0,1,0\n")
    seq = load_dataset("lasot", tmp_path)["cat-1"]
    np.testing.assert_array_equal(seq.absent, [0, 1, 1])


@pytest.mark.parametrize(
    "content, message",
    [("1,2,3\n", "expected 4 or 8 values per line, got 3"),
     ("1,2,3,4\n1,2,x,4\n", "got 'x'"),
     ("1,2,3,4\n1,2,3,4,5,6,7,8\n", ":2: expected 4 values like the first line, got 8"),
     ("", "file is empty")],
)
def test_malformed_ground_truth_names_file_and_line(tmp_path: Path, content: str, message: str):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "s\n")
    _write(root / "s" / "groundtruth.txt", content)
    with pytest.raises(InputError) as err:
        load_dataset("vot2018", tmp_path)
    assert "groundtruth.txt" in str(err.value) and message in str(err.value)


def test_missing_dataset_and_unknown_name(tmp_path: Path):
    with pytest.raises(InputError, match="VOT2018"):
        load_dataset("vot2018", tmp_path)
    with pytest.raises(UnknownNameError, match="known:"):
        load_dataset("vot2099", tmp_path)


# ------------------------------------------------------------------ strict reading (issue 12)


def _vot_json(root: Path, meta) -> None:
    _write(root / f"{root.name}.json", json.dumps(meta))


def _entry(**fields) -> dict:
    entry = {"img_names": ["a/color/00000001.jpg", "a/color/00000002.jpg"],
             "gt_rect": [[1, 2, 3, 4], [1, 2, 11, 2, 11, 12, 1, 12]], "width": 64, "height": 48,
             "occlusion": [0, 1]}
    entry.update(fields)
    return entry


def test_truncated_first_frame_is_an_error_not_a_hang(tmp_path: Path):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "a\n")
    _write(root / "a" / "groundtruth.txt", "1,2,3,4\n")
    (root / "a" / "color").mkdir()
    (root / "a" / "color" / "00000001.jpg").write_bytes(b"\xff\xd8\xff\xe0")  # header cut short
    done: dict = {}

    def load() -> None:
        try:
            load_dataset("vot2018", tmp_path)
        except InputError as exc:
            done["error"] = exc

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "reading the frame header does not end"
    assert "00000001.jpg" in str(done["error"]) and "JPEG" in str(done["error"])


@pytest.mark.parametrize(
    "entry, message",
    [({"occlusion": [0, 300]}, "occlusion, a list of 0/1 flags"),
     ({"occlusion": ["x"]}, "occlusion, a list of 0/1 flags"),
     ({"img_names": [1, 2]}, "img_names, a list of image paths"),
     ({"width": -5}, "width, a positive integer"),
     ({"height": 1.5}, "height, a positive integer"),
     ({"gt_rect": [[1, 2, 3, 4], [1, 2, 3]]}, "gt_rect row 2 has 3 values, expected 4 or 8"),
     ({"gt_rect": [[1, 2, 3, 4], [1, 2, "3", 4]]}, "gt_rect row 2: expected numbers, got '3'"),
     ({"gt_rect": None}, "expected gt_rect")],
)
def test_vot_json_with_wrong_types_names_file_and_sequence(tmp_path: Path, entry: dict, message: str):
    root = tmp_path / "VOT2018"
    _vot_json(root, {"a": _entry(**entry)})
    with pytest.raises(InputError) as err:
        load_dataset("vot2018", tmp_path)
    assert "VOT2018.json" in str(err.value) and "sequence 'a'" in str(err.value) and message in str(err.value)


def test_vot_json_top_level_missing_fields_and_no_sequences(tmp_path: Path):
    root = tmp_path / "VOT2018"
    for meta, message in (([1, 2], "got a JSON list"),
                          ({"a": {"img_names": ["x.jpg"]}}, "sequence 'a': missing gt_rect")):
        _vot_json(root, meta)
        with pytest.raises(InputError, match=message):
            load_dataset("vot2018", tmp_path)
    otb = tmp_path / "OTB100"
    from siambench.datasets.otb import read_otb_json

    _write(otb / "OTB100.json", json.dumps({"Basketball": {"img_names": ["Basketball/img/0001.jpg"]}}))
    with pytest.raises(InputError, match="sequence 'Basketball': missing gt_rect"):
        read_otb_json(otb / "OTB100.json", otb, ["Basketball"])


def test_vot_json_rectangles_become_polygons(tmp_path: Path):
    root = tmp_path / "VOT2018"
    _vot_json(root, {"a": _entry()})
    seq = load_dataset("vot2018", tmp_path)["a"]
    np.testing.assert_array_equal(seq.groundtruth, [[1, 2, 1, 5, 3, 5, 3, 2], [1, 2, 11, 2, 11, 12, 1, 12]])
    assert (seq.width, seq.height) == (64, 48) and seq.tag("occlusion").tolist() == [False, True]


@pytest.mark.parametrize(
    "content, message",
    [("1,,2,3\n", ":1: empty field"),
     ("1,2,3,4\n\u0661,2,3,4\n", ":2: expected numbers separated by commas, tabs or spaces, got '\u0661'"),
     ("1,2,3,4\n1_0,2,3,4\n", ":2: expected numbers"),
     (b"1,2,3,4\n1,2,3,\xe94\n", ":2: file is not UTF-8 text")],
)
def test_lenient_numbers_are_errors(tmp_path: Path, content, message: str):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "s\n")
    path = root / "s" / "groundtruth.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError) as err:
        load_dataset("vot2018", tmp_path)
    assert "groundtruth.txt" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "listing, message",
    [("a\nb\n\na\n", "sequence 'a' appears twice (lines 1 and 4)"),
     ("a\nb\nA\n", "sequence names 'a' and 'A' differ only in case (lines 1 and 3)"),
     (b"caf\xe9\n", "list.txt:1: file is not UTF-8 text")],
)
def test_vot_list_with_a_sequence_twice(tmp_path: Path, listing, message: str):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "")
    (root / "list.txt").write_bytes(listing if isinstance(listing, bytes) else listing.encode())
    for name in ("a", "b"):
        _write(root / name / "groundtruth.txt", "1,2,3,4\n")
    with pytest.raises(InputError, match=re.escape(message)):
        load_dataset("vot2018", tmp_path)


def test_got10k_list_twice_and_otb_folders_differing_only_in_case(tmp_path: Path):
    got = tmp_path / "GOT-10k" / "val"
    _write(got / "list.txt", "s1\ns2\ns1\n")
    with pytest.raises(InputError, match=r"list.txt:3: sequence 's1' appears twice \(lines 1 and 3\)"):
        load_dataset("got10k-val", tmp_path)
    from siambench.datasets.otb import read_otb_folder

    otb = tmp_path / "OTB"
    _write(otb / "Bag" / "groundtruth_rect.txt", "1,2,3,4\n")
    _write(otb / "bag" / "groundtruth_rect.txt", "1,2,3,4\n")
    if len(list(otb.iterdir())) < 2:
        pytest.skip("case-insensitive file system")
    with pytest.raises(InputError, match="'Bag' and 'bag' differ only in case"):
        read_otb_folder(otb)


def test_tag_and_attribute_files_are_strict(tmp_path: Path):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "s\n")
    _write(root / "s" / "groundtruth.txt", "1,2,3,4\n1,2,3,4\n")
    _write(root / "s" / "occlusion.tag", "0\n2\n")  # a count, not a flag
    with pytest.raises(InputError, match=r"occlusion.tag:2: expected a 0/1 flag, got 2"):
        load_dataset("vot2018", tmp_path)
    from siambench.datasets.otb import read_otb_folder

    otb = tmp_path / "OTB"
    _write(otb / "Bag" / "groundtruth_rect.txt", "1,2,3,4\n")
    (otb / "attributes.txt").write_bytes(b"Bag\tOCC, \xff\n")
    with pytest.raises(InputError, match="attributes.txt:1: file is not UTF-8 text"):
        read_otb_folder(otb)
    (otb / "attributes.txt").write_text("Bag\tOCC\nBag\tIV\n")
    with pytest.raises(InputError, match=r"'Bag' appears twice \(lines 1 and 2\)"):
        read_otb_folder(otb)


def test_unreadable_files_are_one_line_errors(tmp_path: Path, monkeypatch):
    root = tmp_path / "VOT2018"
    _write(root / "list.txt", "s\n")
    (root / "s" / "groundtruth.txt").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(InputError, match="groundtruth.txt: cannot read file: a folder"):
        load_dataset("vot2018", tmp_path)
    (root / "s" / "groundtruth.txt").rmdir()
    _write(root / "s" / "groundtruth.txt", "1,2,3,4\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    # chmod 000 does not stop root (CI): make the read itself fail
    monkeypatch.setattr(Path, "read_bytes", denied)
    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(InputError, match=r"list.txt: cannot read file \(Permission denied\)"):
        load_dataset("vot2018", tmp_path)
    monkeypatch.undo()
    real_is_dir = Path.is_dir

    def is_dir(self):  # a stat the readers make themselves (an unreadable parent folder)
        if self.name == "s":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with pytest.raises(InputError, match=r"VOT2018/s: cannot read dataset vot2018 \(Permission denied\)"):
        load_dataset("vot2018", tmp_path)


def test_empty_dataset_is_an_error_not_an_empty_score(tmp_path: Path, capsys):
    _vot_json(tmp_path / "VOT2018", {})
    code, _, err = run_cli(["eval", "-d", "vot2018", "--data-root", str(tmp_path),
                            "--results-dir", str(tmp_path / "results")], capsys)
    assert code == 2 and "VOT2018.json: no sequences" in err and err.count("\n") == 1
    lasot = tmp_path / "LaSOT"
    _write(lasot / "testing_set.txt", "\n \n")
    with pytest.raises(InputError, match="testing_set.txt: file is empty"):
        load_dataset("lasot", tmp_path)
