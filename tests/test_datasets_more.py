"""Issue 11: sizes from the frames, OTB attribute tables, tag-length warnings, UAV123 / NfS /
TrackingNet in their official layouts and the TrackingNet export, on small generated fixtures."""

from __future__ import annotations

import json
import logging
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from click.testing import CliRunner

from siambench.datasets import load_dataset
from siambench.errors import InputError, SiambenchError
from siambench.evaluate import evaluate


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _png(path: Path, w: int, h: int) -> None:
    """A real (grey, all-black) PNG of w x h without an image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(w) for _ in range(h))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _boxes(n: int, x0: float = 10) -> str:
    return "".join(f"{x0 + i},{20 + i},30,40\n" for i in range(n))


# ------------------------------------------------------------------ 1. sizes from the frames

def _vot_json(root: Path, with_size: bool) -> Path:
    entry = {"img_names": ["bag/color/00000001.jpg", "bag/color/00000002.jpg"],
             "gt_rect": [[1, 2, 11, 2, 11, 12, 1, 12], [2, 3, 12, 3, 12, 13, 2, 13]],
             "occlusion": [0, 1]}
    if with_size:
        entry.update(width=640, height=480)
    _write(root / "VOT2018" / "VOT2018.json", json.dumps({"bag": entry}))
    return root / "VOT2018" / "VOT2018.json"


def test_vot_json_without_size_reads_it_from_the_first_frame(tmp_path: Path):
    _vot_json(tmp_path, with_size=False)
    _png(tmp_path / "VOT2018" / "bag" / "color" / "00000001.jpg", 96, 64)  # the header decides, not the name
    seq = load_dataset("vot2018", tmp_path)["bag"]
    assert (seq.width, seq.height) == (96, 64)
    _vot_json(tmp_path, with_size=True)  # the JSON's own size wins where it has one
    assert (load_dataset("vot2018", tmp_path)["bag"].width) == 640


def test_vot_json_without_size_or_frames_is_a_one_line_error(tmp_path: Path, capsys):
    path = _vot_json(tmp_path, with_size=False)
    with pytest.raises(InputError) as err:
        load_dataset("vot2018", tmp_path)
    message = str(err.value)
    assert str(path) in message and "'bag'" in message and '"width" and "height"' in message
    code, _, stderr = run_cli(["eval", "--dataset", "vot2018", "--data-root", str(tmp_path),
                               "--results-dir", str(tmp_path)], capsys)
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "width" in stderr


# ------------------------------------------------------------------ 3. attribute tables

# Sequences per attribute in the OTB-2013 paper's plots (Wu, Lim, Yang, CVPR 2013).
OTB2013_COUNTS = {"IV": 25, "SV": 28, "OCC": 29, "DEF": 19, "MB": 12, "FM": 17, "IPR": 31, "OPR": 39,
                  "OV": 6, "BC": 21, "LR": 4}


def test_otb2013_uses_the_otb2013_toolkit_table_by_default(shared_data):
    ds = load_dataset("otb2013", shared_data)
    assert ds.attribute_set == "otb2013"
    counts = {a: sum(a in s.attributes for s in ds) for a in OTB2013_COUNTS}
    assert counts == OTB2013_COUNTS
    assert "BC" not in ds["Coke"].attributes and not {"FM", "OPR"} & set(ds["Crossing"].attributes)
    other = load_dataset("otb2013", shared_data, attributes="otb2015")
    assert "BC" in other["Coke"].attributes and {"FM", "OPR"} <= set(other["Crossing"].attributes)
    changed = {s.name for s in ds if s.attributes != other[s.name].attributes}
    assert changed == {"Coke", "Crossing"}


def test_otb2015_table_is_the_benchmarks_own(shared_data):
    from siambench.datasets.otb import read_attributes

    official = read_attributes(shared_data / "otb_attributes" / "attributes_otb100.txt")
    ds = load_dataset("otb2015", shared_data)
    assert ds.attribute_set == "otb2015"
    assert {s.name: sorted(s.attributes) for s in ds} == {k: sorted(v) for k, v in official.items()}


def test_a_table_not_covering_the_dataset_warns(shared_data, caplog):
    with caplog.at_level(logging.WARNING, logger="siambench"):
        ds = load_dataset("otb2015", shared_data, attributes="otb2013")
    assert "lists 51 of the 100 sequences" in caplog.text
    assert ds["Biker"].attributes == [] and ds["Coke"].attributes == ["IV", "OCC", "FM", "IPR", "OPR"]
    with pytest.raises(SiambenchError, match="OTB attribute table"):
        load_dataset("lasot", shared_data, attributes="otb2013")


def test_siamfc_otb2013_attribute_aucs_move_only_where_the_tables_differ(shared_data, tmp_path, capsys):
    """The issue's point on the real SiamFC results: BC, FM and OPR move, nothing else."""
    scores = {}
    for table in ("otb2013", "otb2015"):
        out = tmp_path / f"{table}.json"
        code, _, err = run_cli(["eval", "--dataset", "otb2013", "--data-root", str(shared_data), "--results-dir",
                                str(shared_data / "results"), "-t", "SiamFC", "--attributes", table,
                                "--json", str(out)], capsys)
        assert code == 0, err
        scores[table] = json.loads(out.read_text())["trackers"]["SiamFC"]["overall"]["attributes"]
    own, pysot = scores["otb2013"], scores["otb2015"]
    moved = {a for a in own if own[a]["auc"] != pysot[a]["auc"]}
    assert moved == {"BC", "FM", "OPR"}
    assert {a: own[a]["sequences"] for a in own} == OTB2013_COUNTS
    assert all(0 < abs(own[a]["auc"] - pysot[a]["auc"]) <= 0.02 for a in moved)
    code, _, err = run_cli(["eval", "--dataset", "vot2018", "--data-root", str(shared_data), "--results-dir",
                            str(shared_data / "results"), "--attributes", "otb2013"], capsys)
    assert code == 2 and "has none" in err


# ------------------------------------------------------------------ 4. warnings, never silence

def _vot_layout(root: Path, tags: dict[str, str]) -> Path:
    folder = root / "VOT2016"
    _write(folder / "list.txt", "bag\n")
    _write(folder / "bag" / "groundtruth.txt", "1,2,10,10\n2,3,10,10\n3,4,10,10\n4,5,10,10\n")
    for name, text in tags.items():
        _write(folder / "bag" / f"{name}.tag", text)
    return folder / "bag"


def test_short_and_long_tag_files_warn_with_file_and_counts(tmp_path: Path, caplog):
    seq_dir = _vot_layout(tmp_path, {"occlusion": "0\n1\n", "camera_motion": "1\n1\n1\n1\n1\n1\n",
                                     "size_change": ""})
    with caplog.at_level(logging.WARNING, logger="siambench"):
        seq = load_dataset("vot2016", tmp_path)["bag"]
    np.testing.assert_array_equal(seq.tags["occlusion"], [0, 1, 0, 0])
    np.testing.assert_array_equal(seq.tags["camera_motion"], [1, 1, 1, 1])
    np.testing.assert_array_equal(seq.tags["size_change"], [0, 0, 0, 0])  # empty: a tag that never occurs
    assert f"{seq_dir / 'occlusion.tag'}: 2 values for 4 frames" in caplog.text
    assert f"{seq_dir / 'camera_motion.tag'}: 6 values for 4 frames" in caplog.text
    assert "size_change" not in caplog.text
    with pytest.raises(InputError, match=r"camera_motion.tag: expected 4 values \(one per frame\), got 6"):
        load_dataset("vot2016", tmp_path, strict=True)


def test_strict_tag_length_through_the_cli(tmp_path: Path, capsys):
    _vot_layout(tmp_path, {"occlusion": "0\n1\n"})
    code, _, err = run_cli(["eval", "--dataset", "vot2016", "--data-root", str(tmp_path),
                            "--results-dir", str(tmp_path / "results"), "--strict"], capsys)
    assert code == 2 and "occlusion.tag: expected 4 values" in err


def test_json_tag_lists_and_visibility_labels_are_checked_too(tmp_path: Path, caplog):
    _vot_json(tmp_path, with_size=True)
    data = json.loads((tmp_path / "VOT2018" / "VOT2018.json").read_text())
    data["bag"]["occlusion"] = [1]
    _write(tmp_path / "VOT2018" / "VOT2018.json", json.dumps(data))
    with caplog.at_level(logging.WARNING, logger="siambench"):
        load_dataset("vot2018", tmp_path)
    assert "sequence 'bag', occlusion: 1 values for 2 frames" in caplog.text
    seq = tmp_path / "LaSOT" / "cat" / "cat-1"
    _write(seq / "groundtruth.txt", _boxes(3))
    _write(seq / "full_occlusion.txt", "0,1\n")
    with pytest.raises(InputError, match="full_occlusion.txt: expected 3 values"):
        load_dataset("lasot", tmp_path, strict=True)
    got = tmp_path / "GOT-10k" / "val"
    _write(got / "list.txt", "GOT-10k_Val_000001\n")
    _write(got / "GOT-10k_Val_000001" / "groundtruth.txt", _boxes(3))
    _write(got / "GOT-10k_Val_000001" / "absence.label", "0\n0\n1\n1\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siambench"):
        ds = load_dataset("got10k-val", tmp_path)
    assert "absence.label: 4 values for 3 frames" in caplog.text
    assert len(ds["GOT-10k_Val_000001"].absent) == 3


def test_lasot_all_zero_box_scores_without_a_python_warning(tmp_path: Path):
    """A LaSOT frame annotated 0,0,0,0 (the target gone) is a miss, never a bare RuntimeWarning."""
    seq = tmp_path / "LaSOT" / "cat" / "cat-1"
    _write(seq / "groundtruth.txt", "10,10,20,20\n0,0,0,0\n12,12,20,20\n")
    _write(seq / "full_occlusion.txt", "0,1,0\n")
    _write(seq / "out_of_view.txt", "0,0,0\n")
    _write(tmp_path / "results" / "LaSOT" / "T" / "cat-1.txt", "10,10,20,20\n0,0,0,0\n12,12,20,20\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overall = evaluate("lasot", tmp_path / "results", tmp_path)["trackers"]["T"]["overall"]
    # The zero frame stays in the denominator and never succeeds: 2 of 3 frames at every threshold.
    assert overall["success_rate"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ 5. UAV123 / UAV20L

def test_uav123_frame_ranges_come_from_the_configuration(tmp_path: Path, caplog):
    root = tmp_path / "UAV123"
    _write(root / "anno" / "UAV123" / "bird1_2.txt", _boxes(1477 - 775 + 1))  # frames 775-1477 of bird1
    _write(root / "anno" / "UAV123" / "bike3.txt", "NaN,NaN,NaN,NaN\n" * 433)
    _png(root / "data_seq" / "UAV123" / "bird1" / "000775.jpg", 128, 72)
    with caplog.at_level(logging.WARNING, logger="siambench"):
        ds = load_dataset("uav123", tmp_path)
    assert "2 of 123 UAV123 annotation files found" in caplog.text
    assert ds.names == ["bike3", "bird1_2"] and ds.results_name == "UAV123"
    bird = ds["bird1_2"]
    assert bird.frames[0] == root / "data_seq" / "UAV123" / "bird1" / "000775.jpg"
    assert bird.frames[-1].name == "001477.jpg" and (bird.width, bird.height) == (128, 72)
    assert np.isnan(ds["bike3"].groundtruth).all()


def test_uav123_attributes_come_from_the_att_files_and_score_per_attribute(tmp_path: Path, caplog):
    root = tmp_path / "UAV123"
    _write(root / "anno" / "UAV123" / "bird1_2.txt", _boxes(703))
    _write(root / "anno" / "UAV123" / "bike3.txt", _boxes(433))
    # columns SV ARC LR FM FOC POC OV BC IV VC CM SOB
    _write(root / "anno" / "UAV123" / "att" / "bird1_2.txt", "1,0,0,1,0,1,0,0,0,0,1,0\n")
    with caplog.at_level(logging.WARNING, logger="siambench"):
        ds = load_dataset("uav123", tmp_path)
    assert "1 of 2 sequences have an attribute file" in caplog.text
    assert ds["bird1_2"].attributes == ["SV", "FM", "POC", "CM"]
    assert ds["bike3"].attributes == []  # no attribute file: no tags
    for name, n in (("bird1_2", 703), ("bike3", 433)):
        _write(tmp_path / "results" / "UAV123" / "T" / f"{name}.txt", _boxes(n))
    attributes = evaluate("uav123", tmp_path / "results", tmp_path)["trackers"]["T"]["overall"]["attributes"]
    assert sorted(attributes) == ["CM", "FM", "POC", "SV"]
    assert attributes["SV"]["sequences"] == 1 and attributes["SV"]["auc"] > 0.9

    _write(root / "anno" / "UAV123" / "att" / "bird1_2.txt", "1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0,\r\n")
    assert load_dataset("uav123", tmp_path)["bird1_2"].attributes == ["SV", "FM", "POC", "CM"]
    for text, where in (("1,0,1\n", 1), ("1,0,2,0,0,0,0,0,0,0,0,0\n", 1), ("1,0,0,0,0,0,0,0,0,0,0,0\n1\n", 2)):
        _write(root / "anno" / "UAV123" / "att" / "bird1_2.txt", text)
        with pytest.raises(InputError, match=rf"att[/\\]bird1_2\.txt:{where}: expected (one line of )?12 "
                                             r"comma-separated 0/1 flags \(SV, ARC"):
            load_dataset("uav123", tmp_path)


def test_uav20l_and_uav_layout_errors(tmp_path: Path):
    root = tmp_path / "UAV123"
    _write(root / "anno" / "UAV20L" / "person20.txt", _boxes(1783))
    seq = load_dataset("uav20l", tmp_path)["person20"]
    assert seq.frames[0].name == "000001.jpg" and len(seq) == 1783
    _write(root / "anno" / "UAV20L" / "person20.txt", _boxes(10))
    with pytest.raises(InputError, match=r"expected 1783 lines \(frames 1-1783 of person20\), got 10"):
        load_dataset("uav20l", tmp_path)
    _write(root / "anno" / "UAV20L" / "nothere.txt", _boxes(3))
    with pytest.raises(InputError, match="'nothere' is not one of UAV20L's 20"):
        load_dataset("uav20l", tmp_path)
    with pytest.raises(InputError, match="no UAV123 annotation files"):
        load_dataset("uav123", tmp_path)


# ------------------------------------------------------------------ 5. NfS

def _nfs_lines(n: int) -> str:
    # track_id xmin ymin xmax ymax frame lost occluded generated "label"
    return "".join(f'1 {10 + i} {20 + i} {40 + i} {70 + i} {i} 0 0 0 "ball"\n' for i in range(n))


def test_nfs_columns_and_both_frame_rates(tmp_path: Path):
    seq = tmp_path / "NfS" / "bee"
    _write(seq / "240" / "bee.txt", _nfs_lines(16))
    for i in range(16):
        _png(seq / "240" / "bee" / f"{i + 1:05d}.jpg", 32, 24)
    _write(seq / "30" / "bee.txt", _nfs_lines(16))  # the 240 fps annotation, as several official files are
    for i in range(2):
        _png(seq / "30" / "bee" / f"{i + 1:05d}.jpg", 32, 24)
    high = load_dataset("nfs240", tmp_path)["bee"]
    assert len(high) == 16 and (high.width, high.height) == (32, 24)
    np.testing.assert_array_equal(high.groundtruth[0], [10, 20, 30, 50])  # xmax - xmin, ymax - ymin
    low = load_dataset("nfs30", tmp_path)
    assert low.results_name == "NFS30"
    np.testing.assert_array_equal(low["bee"].groundtruth, [[10, 20, 30, 50], [18, 28, 30, 50]])  # lines 1 and 9


def test_nfs_length_mismatches(tmp_path: Path, caplog):
    seq = tmp_path / "NfS" / "bee" / "240"
    _write(seq / "bee.txt", _nfs_lines(3))
    for i in range(2):
        _png(seq / "bee" / f"{i + 1:05d}.jpg", 32, 24)
    with caplog.at_level(logging.WARNING, logger="siambench"):
        assert len(load_dataset("nfs240", tmp_path)["bee"]) == 2
    assert "3 annotation lines for 2 frames; using the first 2" in caplog.text
    _write(seq / "bee.txt", _nfs_lines(6))
    with pytest.raises(InputError, match="6 annotation lines for 2 frames"):
        load_dataset("nfs240", tmp_path)
    _write(seq / "bee.txt", "1 2 3\n")
    with pytest.raises(InputError, match=r"bee.txt:1: expected 'track_id xmin ymin xmax ymax"):
        load_dataset("nfs240", tmp_path)


# ------------------------------------------------------------------ 5. TrackingNet

def _trackingnet(root: Path, name: str, frames: int, anno: str) -> None:
    _write(root / "TrackingNet" / "TEST" / "anno" / f"{name}.txt", anno)
    for i in range(frames):
        _png(root / "TrackingNet" / "TEST" / "frames" / name / f"{i}.jpg", 40, 30)


def test_trackingnet_test_split_has_its_first_frame_only(tmp_path: Path):
    from siambench.datasets.trackingnet import is_withheld

    _trackingnet(tmp_path, "seqA", 12, "1,2,3,4\n")
    seq = load_dataset("trackingnet", tmp_path)["seqA"]
    assert len(seq) == 12 and seq.frames[10].name == "10.jpg"  # numeric order, not 0, 1, 10, 11, 2
    np.testing.assert_array_equal(seq.groundtruth[0], [1, 2, 3, 4])
    assert is_withheld(seq) and (seq.width, seq.height) == (40, 30)
    _write(tmp_path / "results" / "TrackingNet" / "T" / "seqA.txt", _boxes(12))
    with pytest.raises(SiambenchError, match=r"ground truth of 1 sequence\(s\) is withheld .*export-trackingnet"):
        evaluate("trackingnet", tmp_path / "results", tmp_path)  # never scores the unknown frames as misses
    (tmp_path / "TrackingNet" / "TEST" / "frames" / "seqA" / "5.jpg").unlink()
    with pytest.raises(InputError, match=r"5.jpg: frame missing"):
        load_dataset("trackingnet", tmp_path)


def test_trackingnet_full_annotations_score_success_precision_and_normalised_precision(tmp_path: Path):
    from siambench.datasets.trackingnet import is_withheld

    _trackingnet(tmp_path, "seqA", 4, _boxes(4))
    assert not is_withheld(load_dataset("trackingnet", tmp_path)["seqA"])
    _write(tmp_path / "results" / "TrackingNet" / "T" / "seqA.txt", _boxes(2) + _boxes(2, x0=500))
    overall = evaluate("trackingnet", tmp_path / "results", tmp_path)["trackers"]["T"]["overall"]
    assert overall["precision"] == overall["norm_precision"] == overall["success_rate"] == 0.5
    _write(tmp_path / "TrackingNet" / "TEST" / "anno" / "seqA.txt", _boxes(3))
    with pytest.raises(InputError, match=r"expected 1 line \(the first frame\) or 4"):
        load_dataset("trackingnet", tmp_path)


def test_export_trackingnet_writes_the_server_zip(tmp_path: Path):
    from siambench.commands.export_cmd import export_trackingnet_command

    results = tmp_path / "results" / "TrackingNet" / "T"
    _write(results / "seqA.txt", "1,2,3,4\n5.5,6,7,8\n")
    _write(results / "seqA_time.txt", "0.1\n0.1\n")
    _write(results / "seqB.txt", "1\t2\t3\t4\n")
    out = tmp_path / "submission"
    res = CliRunner().invoke(export_trackingnet_command, ["-t", "T", "--results-dir", str(tmp_path / "results"),
                                                          "--out", str(out), "--zip"])
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out / "T.zip") as archive:
        assert archive.namelist() == ["seqA.txt", "seqB.txt"]  # at the root, no times
        assert archive.read("seqA.txt").decode() == "1.000,2.000,3.000,4.000\n5.500,6.000,7.000,8.000\n"
    _write(results / "seqB.txt", "1,2,3,4\nnan,nan,nan,nan\n")
    fresh = tmp_path / "fresh"
    res = CliRunner().invoke(export_trackingnet_command, ["-t", "T", "--results-dir", str(tmp_path / "results"),
                                                          "--out", str(fresh)])
    assert res.exit_code != 0 and "seqB.txt:2" in str(res.exception)
    assert not (fresh / "T").exists()  # seqA, which was fine, is not written either


def test_export_got10k_refuses_nan_boxes_and_writes_nothing(tmp_path: Path):
    from siambench.interop.got10k import export_got10k

    results = tmp_path / "results" / "GOT-10k" / "T"
    _write(results / "seqA.txt", "1,2,3,4\n5,6,7,8\n")
    _write(results / "seqA_time.txt", "0.1\n0.1\n")
    _write(results / "seqB.txt", "1,2,3,4\n1,2,inf,4\n")
    _write(results / "seqB_time.txt", "0.1\n0.1\n")
    with pytest.raises(InputError, match=r"seqB.txt:2: expected finite box values"):
        export_got10k(tmp_path / "results", "T", tmp_path / "out")
    assert not (tmp_path / "out" / "T").exists()
    _write(results / "seqB.txt", "1,2,3,4\n1,2,3,4\n")
    folder = export_got10k(tmp_path / "results", "T", tmp_path / "out")
    assert (folder / "seqA" / "seqA_001.txt").read_text() == "1.000,2.000,3.000,4.000\n5.000,6.000,7.000,8.000\n"
    assert (folder / "seqB" / "seqB_time.txt").read_text() == "0.10000000\n0.10000000\n"


def test_export_trackingnet_checks_the_target_before_reading(tmp_path: Path):
    from siambench.interop.trackingnet import export_trackingnet

    _write(tmp_path / "results" / "TrackingNet" / "T" / "seqA.txt", "1,2,3,4\n")
    _write(tmp_path / "blocker", "a file where the output folder should be")
    with pytest.raises(InputError):
        export_trackingnet(tmp_path / "results", "T", tmp_path / "blocker")
    with pytest.raises(InputError, match="no results of tracker 'U'"):
        export_trackingnet(tmp_path / "results", "U", tmp_path / "out")


def test_new_datasets_are_listed(tmp_path: Path, capsys):
    code, out, _ = run_cli(["list", "datasets", "--data-root", str(tmp_path)], capsys)
    assert code == 0
    for name in ("uav123", "uav20l", "nfs30", "nfs240", "trackingnet"):
        assert any(line.split()[:1] == [name] for line in out.splitlines()), name


def _otb_seq(folder, name, lines, images, ext="jpg", first=1):
    import cv2

    seq = folder / name
    (seq / "img").mkdir(parents=True)
    (seq / "groundtruth_rect.txt").write_text("10,10,20,20\n" * lines)
    for i in range(first, first + images):
        cv2.imwrite(str(seq / "img" / f"{i:04d}.{ext}"), np.zeros((24, 32, 3), np.uint8))


def test_otb_quirks_tiger1_init_omit_png_frames_and_missing_images(tmp_path):
    pytest.importorskip("cv2")
    from siambench.datasets.otb import _read_sequence
    from siambench.errors import InputError

    # Tiger1's full 354-line file: the toolkit scores 349 frames from image 6
    _otb_seq(tmp_path, "Tiger1", 354, 354)
    tiger = _read_sequence(tmp_path, "Tiger1", [])
    assert len(tiger.groundtruth) == 349 and tiger.frames[0].name == "0006.jpg"
    assert tiger.frames[348].name == "0354.jpg" and (tiger.width, tiger.height) == (32, 24)
    # KiteSurf as some copies hold it: .png images
    _otb_seq(tmp_path, "KiteSurf", 5, 5, ext="png")
    kite = _read_sequence(tmp_path, "KiteSurf", [])
    assert kite.frames[4].name == "0005.png" and kite.width == 32
    # more annotated lines than images: named, not silently read past the end
    _otb_seq(tmp_path, "Basketball", 6, 5)
    with pytest.raises(InputError, match=r"6 annotated frames from 0001.jpg on, but the last one, .*0006.jpg"):
        _read_sequence(tmp_path, "Basketball", [])


def test_nan_in_a_vot_or_otb_ground_truth_is_an_error_naming_the_line(tmp_path):
    from siambench.synth import generate

    generate(tmp_path / "V", layout="vot", sequences=1, frames=8, size=(64, 48))
    generate(tmp_path / "O", layout="otb", sequences=1, frames=8, size=(64, 48))
    for gt in [*(tmp_path / "V").glob("*/groundtruth.txt"), *(tmp_path / "O").glob("*/groundtruth_rect.txt")]:
        lines = gt.read_text().splitlines()
        lines[3] = ",".join(["nan"] * len(lines[3].split(",")))
        gt.write_text("\n".join(lines) + "\n")
    for folder in ("V", "O"):
        with pytest.raises(InputError, match=r"groundtruth(_rect)?\.txt:4: expected finite coordinates"):
            load_dataset(str(tmp_path / folder))


def test_a_start_box_that_is_no_box_stops_the_run_before_tracking(tmp_path):
    from siambench.runner import run
    from siambench.synth import generate

    generate(tmp_path / "O", layout="otb", sequences=1, frames=8, size=(64, 48))
    gt = next((tmp_path / "O").glob("*/groundtruth_rect.txt"))
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join(["20,20,0,0", *lines[1:]]) + "\n")
    with pytest.raises(SiambenchError, match="first frame's ground truth gives no box"):
        run("opencv-mil", str(tmp_path / "O"), results_dir=tmp_path / "r", device="cpu", progress=False)
    assert not (tmp_path / "r" / "O" / "opencv-mil").exists() or not any((tmp_path / "r" / "O" / "opencv-mil").glob("*.txt"))


def test_got10k_cover_labels_are_read_and_a_short_file_is_an_error(tmp_path):
    from siambench.datasets.got10k import read_got10k

    seq = tmp_path / "val" / "GOT-10k_Val_000001"
    seq.mkdir(parents=True)
    (tmp_path / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    (seq / "groundtruth.txt").write_text("1,2,3,4\n" * 4)
    (seq / "cover.label").write_text("8\n0\n4\n8\n")
    assert read_got10k(tmp_path)[0].cover.tolist() == [8, 0, 4, 8]
    (seq / "cover.label").write_text("8\n0\n")  # padded, the missing frames would read as hidden
    assert read_got10k(tmp_path)[0].cover is None  # set aside, with a warning
    with pytest.raises(InputError, match=r"cover.label: expected 4 values \(one per frame\), got 2"):
        read_got10k(tmp_path, strict=True)
    (seq / "cover.label").write_text("8\n9\n4\n8\n")
    with pytest.raises(InputError, match=r"cover.label:2: expected a whole number 0..8"):
        read_got10k(tmp_path)
