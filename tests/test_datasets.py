"""Readers of the official layouts, on real annotations and on small hand-made folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
