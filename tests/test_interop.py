"""Interoperability: the real vot-toolkit running a siambench tracker, got10k, pysot's dataset JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from siambench.cli import main
from siambench.datasets import load_dataset
from siambench.datasets.otb import read_otb_folder
from siambench.datasets.vot import read_vot_json, read_vot_layout
from siambench.errors import InputError, SiambenchError
from siambench.evaluate import evaluate
from siambench.interop.pysot_json import detect_kind, export_json, import_json
from siambench.results import ResultStore, read_vot_trajectory
from siambench.runner import run
from siambench.synth import generate

TRACKER = "opencv-mil"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo-vot", layout="vot", sequences=2, frames=15, size=(96, 72), seed=4)
    generate(root / "demo", layout="otb", sequences=2, frames=15, size=(96, 72), seed=4)
    return root


# ------------------------------------------------------------------ vot-toolkit (TraX)


@pytest.mark.slow
def test_vot_toolkit_runs_the_tracker_and_siambench_scores_it(data_root, tmp_path, capsys):
    pytest.importorskip("trax", reason="vot-trax is not installed (pip install vot-trax==4.0.2)")
    pytest.importorskip("vot.tracker.trax", reason="vot-toolkit is not installed (pip install vot-toolkit==0.9.0)")
    workspace, results = tmp_path / "workspace", tmp_path / "results"
    main(["vot-integration", "--tracker", TRACKER, "--out", str(workspace), "--device", "cpu",
          "--threads", "1", "--sequences", str(data_root / "demo-vot")])
    assert "vot evaluate --workspace" in capsys.readouterr().out
    ini = (workspace / "trackers.ini").read_text()
    assert "protocol = traxpython" in ini and "command = siambench_vot_opencv_mil" in ini
    assert (workspace / "siambench_vot_opencv_mil.py").is_file()

    done = subprocess.run([sys.executable, "-m", "vot", "evaluate", "--workspace", str(workspace), TRACKER],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "Evaluation concluded" in log, log
    produced = sorted((workspace / "results" / TRACKER / "unsupervised").glob("*/*_001.*"))
    assert [p.parent.name for p in produced if p.suffix in (".bin", ".txt")] == ["clutter1", "occlusion1"]

    main(["import-vot", "--workspace", str(workspace), "--tracker", TRACKER, "--dataset", "demo-vot",
          "--data-root", str(data_root), "--results-dir", str(results)])
    assert "unsupervised: 2 sequence(s) imported" in capsys.readouterr().out
    main(["eval", "--dataset", "demo-vot", "--data-root", str(data_root), "--results-dir", str(results)])
    assert "opencv-mil" in capsys.readouterr().out

    # The same tracker run by siambench itself: the same trajectories after the init frame
    # (the toolkit writes code 1 there, siambench the init box), so the same AO.
    own = tmp_path / "own"
    run(TRACKER, "demo-vot", data_root=data_root, results_dir=own, protocol="unsupervised", device="cpu",
        progress=False)
    for seq in ("occlusion1", "clutter1"):
        via_vot = read_vot_trajectory(ResultStore(results, "demo-vot", TRACKER).vot_path(seq, 1, "unsupervised"))
        direct = read_vot_trajectory(ResultStore(own, "demo-vot", TRACKER).vot_path(seq, 1, "unsupervised"))
        assert via_vot[0].tolist() == [1] and len(via_vot) == len(direct) == 15
        np.testing.assert_allclose(np.array(via_vot[1:]), np.array(direct[1:]), atol=1e-4)
        times = ResultStore(results, "demo-vot", TRACKER).read_times(seq, "unsupervised")
        assert times is not None and len(times) == 15
    ao_vot = evaluate("demo-vot", results, data_root)["trackers"][TRACKER]["overall"]["ao"]
    ao_own = evaluate("demo-vot", own, data_root)["trackers"][TRACKER]["overall"]["ao"]
    assert ao_vot == pytest.approx(ao_own, abs=1e-6) and 0 < ao_vot < 1


def test_vot_binary_trajectories_and_import_errors(data_root, tmp_path):
    import struct

    from siambench.interop.vot_integration import import_vot, read_vot_binary, vot_identifier

    assert vot_identifier("siamrpn++ v2") == "siamrpn___v2"
    path = tmp_path / "a_001.bin"
    path.write_bytes(struct.pack("<hI", 1, 3) + struct.pack("<BI", 0, 1) + struct.pack("<Bffff", 1, 1, 2, 3.5, 4)
                     + struct.pack("<BH4f", 2, 2, 0, 1, 2, 3))
    entries = read_vot_binary(path)
    assert [e.tolist() for e in entries] == [[1.0], [1.0, 2.0, 3.5, 4.0], [0.0, 1.0, 2.0, 3.0]]
    path.write_bytes(struct.pack("<hI", 1, 2) + struct.pack("<BI", 0, 1))
    with pytest.raises(InputError, match="truncated"):
        read_vot_binary(path)
    path.write_bytes(struct.pack("<hI", 1, 1) + struct.pack("<Bff", 4, 1, 2))
    with pytest.raises(InputError, match="point region"):
        read_vot_binary(path)
    with pytest.raises(InputError, match="run `vot evaluate` first"):
        import_vot(tmp_path, TRACKER, "demo-vot", results_dir=tmp_path / "r", data_root=data_root)


# ------------------------------------------------------------------ got10k


def _got10k_layout(data_root: Path, out: Path) -> Path:
    """The synthetic OTB sequences in GOT-10k's validation layout (val/list.txt, 00000001.jpg)."""
    val = out / "GOT-10k" / "val"
    names = []
    for seq in sorted((data_root / "demo").glob("*/groundtruth_rect.txt")):
        name = seq.parent.name
        (val / name).mkdir(parents=True)
        for i, frame in enumerate(sorted((seq.parent / "img").glob("*.jpg")), start=1):
            shutil.copy(frame, val / name / f"{i:08d}.jpg")
        shutil.copy(seq, val / name / "groundtruth.txt")
        names.append(name)
    (val / "list.txt").write_text("\n".join(names) + "\n")
    return out


def test_got10k_experiment_runs_a_siambench_tracker_and_export_matches(data_root, tmp_path, capsys):
    pytest.importorskip("got10k", reason="got10k is not installed (pip install got10k==0.1.3)")
    from got10k.experiments import ExperimentGOT10k

    from siambench.interop.got10k import Got10kTracker, export_got10k

    data = _got10k_layout(data_root, tmp_path / "data")
    tracker = Got10kTracker(TRACKER, device="cpu")
    experiment = ExperimentGOT10k(str(data / "GOT-10k"), subset="val", result_dir=str(tmp_path / "g10k"),
                                  report_dir=str(tmp_path / "reports"))
    experiment.run(tracker)
    capsys.readouterr()

    run(TRACKER, "got10k-val", data_root=data, results_dir=tmp_path / "results", device="cpu", progress=False)
    archive = export_got10k(tmp_path / "results", TRACKER, tmp_path / "submission", zip_results=True)
    names = load_dataset("got10k-val", data).names
    with zipfile.ZipFile(archive) as handle:
        assert sorted(handle.namelist()) == sorted(
            f"{n}/{n}{suffix}" for n in names for suffix in ("_001.txt", "_time.txt"))
    for name in names:
        theirs = np.loadtxt(tmp_path / "g10k" / "GOT-10k" / TRACKER / name / f"{name}_001.txt", delimiter=",")
        ours = np.loadtxt(tmp_path / "submission" / TRACKER / name / f"{name}_001.txt", delimiter=",")
        # got10k starts from the annotated box; siambench from pysot's init box (+0.5 px)
        np.testing.assert_allclose(theirs[1:], ours[1:], atol=1e-3)
        assert len(np.loadtxt(tmp_path / "submission" / TRACKER / name / f"{name}_time.txt")) == len(ours)
    assert not (tmp_path / "g10k" / "GOT-10k" / TRACKER / names[0] / f"{names[0]}_002.txt").exists()

    with pytest.raises(InputError, match="run `siambench run` first"):
        export_got10k(tmp_path / "results", "nobody", tmp_path / "x")


def test_pil_images_become_bgr_arrays():
    from PIL import Image

    from siambench.interop.got10k import pil_to_bgr

    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red
    bgr = pil_to_bgr(Image.fromarray(rgb))
    assert bgr.shape == (4, 5, 3) and bgr[0, 0].tolist() == [0, 0, 200] and bgr.flags.c_contiguous
    grey = pil_to_bgr(Image.fromarray(np.full((2, 3), 7, dtype=np.uint8), mode="L"))
    assert grey.shape == (2, 3, 3) and (grey == 7).all()


# ------------------------------------------------------------------ pysot JSON


def _same_sequences(a, b, frames: bool = True) -> None:
    assert [s.name for s in a] == [s.name for s in b]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.groundtruth, y.groundtruth, atol=1e-9)
        # an empty tag list and a missing tag file both mean: never tagged
        assert {k: v.tolist() for k, v in x.tags.items() if len(v)} == \
            {k: v.tolist() for k, v in y.tags.items() if len(v)}
        assert x.attributes == y.attributes
        if frames:
            assert (x.width, x.height) == (y.width, y.height)
            assert [Path(f).read_bytes() for f in x.frames] == [Path(f).read_bytes() for f in y.frames]


def test_vot_layout_to_json_and_back(data_root, tmp_path):
    original = read_vot_layout(data_root / "demo-vot")
    path = export_json("demo-vot", out=tmp_path / "demo-vot.json", data_root=data_root)
    meta = json.loads(path.read_text())
    entry = meta["clutter1"]
    assert list(entry)[:4] == ["video_dir", "init_rect", "img_names", "gt_rect"]
    assert entry["video_dir"] == "clutter1" and entry["img_names"][0] == "clutter1/color/00000001.jpg"
    assert len(entry["gt_rect"][0]) == 8 and entry["init_rect"] == entry["gt_rect"][0]
    assert (entry["width"], entry["height"]) == (96, 72) and detect_kind(meta) == "vot"
    # siambench's own JSON reader sees the same dataset
    by_name = sorted(original, key=lambda s: s.name)  # pysot's reader sorts the names
    _same_sequences(by_name, read_vot_json(path, data_root / "demo-vot"))

    # back to the official layout, elsewhere, frames linked
    out = tmp_path / "layout"
    assert import_json(path, out=out, root=data_root / "demo-vot") == ["occlusion1", "clutter1"]
    assert (out / "clutter1" / "color" / "00000001.jpg").is_symlink()
    assert "channels.color=color/%08d.jpg" in (out / "clutter1" / "sequence").read_text()
    _same_sequences(original, read_vot_layout(out))


def test_otb_layout_to_json_and_back_with_the_cli(data_root, tmp_path, capsys):
    original = read_otb_folder(data_root / "demo")
    target = tmp_path / "demo.json"
    main(["data", "export-json", "--dataset", "demo", "--data-root", str(data_root), "--out", str(target)])
    meta = json.loads(target.read_text())
    assert detect_kind(meta) == "otb" and sorted(meta) == ["Clutter1", "Occlusion1"]
    entry = meta["Occlusion1"]
    assert entry["img_names"][0] == "Occlusion1/img/0001.jpg" and "attr" in entry
    assert all(isinstance(v, int) for v in entry["gt_rect"][0])  # integers stay integers

    out = tmp_path / "otb"
    main(["data", "import-json", str(target), "--out", str(out), "--root", str(data_root / "demo"),
          "--images", "copy"])
    assert "wrote 2 sequences" in capsys.readouterr().out
    assert not (out / "Occlusion1" / "img" / "0001.jpg").is_symlink()
    _same_sequences(original, read_otb_folder(out))


def test_pysot_two_target_sequences_and_bad_files(tmp_path):
    meta = {
        "Jogging-1": {"video_dir": "Jogging", "init_rect": [1, 2, 3, 4], "img_names": ["Jogging/img/0001.jpg"],
                      "gt_rect": [[1, 2, 3, 4]], "attr": ["OCC"]},
        "Jogging-2": {"video_dir": "Jogging", "init_rect": [5, 6, 7, 8], "img_names": ["Jogging/img/0001.jpg"],
                      "gt_rect": [[5, 6, 7, 8.5]], "attr": []},
    }
    path = tmp_path / "OTB100.json"
    path.write_text(json.dumps(meta))
    import_json(path, images="none")
    assert (tmp_path / "Jogging" / "groundtruth_rect.1.txt").read_text() == "1,2,3,4\n"
    assert (tmp_path / "Jogging" / "groundtruth_rect.2.txt").read_text() == "5,6,7,8.5\n"
    assert "Jogging-1\tOCC" in (tmp_path / "attributes.txt").read_text()
    with pytest.raises(InputError, match="frame not found"):
        import_json(path, out=tmp_path / "o", images="link")

    bad = tmp_path / "bad.json"
    bad.write_text('{"a": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3, 4], [1, 2, 3, 4]]}}')
    with pytest.raises(InputError, match="1 images but 2 gt_rect rows"):
        import_json(bad)
    bad.write_text("[1, 2")
    with pytest.raises(InputError, match="invalid JSON"):
        import_json(bad)
    with pytest.raises(SiambenchError, match="unknown image mode"):
        import_json(path, images="hardlink")


def test_shared_vot2018_json_imports_to_the_official_layout(shared_data, tmp_path):
    source = shared_data / "VOT2018" / "VOT2018.json"
    if not source.is_file():
        pytest.skip("VOT2018.json is not in the shared data")
    names = import_json(source, out=tmp_path / "VOT2018", images="none")
    assert len(names) == 60
    from_json = read_vot_json(source, shared_data / "VOT2018")
    from_layout = read_vot_layout(tmp_path / "VOT2018")
    assert [s.name for s in from_layout] == names  # list.txt keeps the file's order
    _same_sequences(from_json, sorted(from_layout, key=lambda s: s.name), frames=False)
    assert (tmp_path / "VOT2018" / "ants1" / "camera_motion.tag").is_file()
    ants = next(s for s in from_layout if s.name == "ants1")
    assert [Path(f).relative_to(tmp_path / "VOT2018").as_posix() for f in ants.frames[:2]] == \
        ["ants1/color/00000001.jpg", "ants1/color/00000002.jpg"]
    # written without images, the layout keeps the JSON's sizes (in `sequence`), so it can be scored
    assert all((s.width, s.height) == (j.width, j.height) and s.width > 0
               for s, j in zip(sorted(from_layout, key=lambda s: s.name), from_json, strict=True))


@pytest.mark.parametrize("name", ["../escaped", "ABSOLUTE", "a/../../escaped", "..", "."])
def test_import_json_refuses_sequence_names_that_leave_out(tmp_path, name):
    if name == "ABSOLUTE":
        name = str(tmp_path / "escaped")
    entry = {"img_names": ["x/color/00000001.jpg"], "gt_rect": [[1, 2, 3, 4, 5, 6, 7, 8]], "width": 9, "height": 9}
    path = tmp_path / "VOT.json"
    path.write_text(json.dumps({"fine": entry, name: entry}))
    out = tmp_path / "deep" / "out"
    with pytest.raises(InputError) as err:
        import_json(path, out=out, images="none")
    assert f"sequence {name!r}" in str(err.value) and "outside the output folder" in str(err.value)
    assert not (tmp_path / "deep" / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert not out.exists()  # refused before anything is written


def test_import_json_refuses_otb_video_dir_and_links_that_leave_out(tmp_path):
    entry = {"video_dir": "../elsewhere", "img_names": ["a/img/0001.jpg"], "gt_rect": [[1, 2, 3, 4]], "attr": []}
    path = tmp_path / "OTB.json"
    path.write_text(json.dumps({"A": entry}))
    with pytest.raises(InputError, match=r"sequence 'A': folder '\.\./elsewhere' would be written outside"):
        import_json(path, out=tmp_path / "out", images="none")
    # a folder inside --out that is a link to somewhere else
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "A").symlink_to(tmp_path / "elsewhere")
    entry["video_dir"] = "A"
    path.write_text(json.dumps({"A": entry}))
    with pytest.raises(InputError, match="sequence 'A'"):
        import_json(path, out=tmp_path / "out", images="none")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    entry.update(video_dir="B", img_names=["a/img/.."])
    path.write_text(json.dumps({"A": entry}))
    with pytest.raises(InputError, match=r"sequence 'A': image path 'a/img/\.\.' has no file name"):
        import_json(path, out=tmp_path / "out", images="copy")


@pytest.mark.parametrize(
    "meta, message",
    [([{"a": 1}], "got a JSON list"),
     ({}, "no sequences"),
     ({"a": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3]]}}, "sequence 'a': gt_rect row 1 has 3 values"),
     ({"a": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3, 4]], "occlusion": [7]}}, "occlusion, a list of 0/1"),
     ({"a": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3, 4]], "attr": "OCC"}}, "attr, a list"),
     ({"a": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3, 4]]},
       "A": {"img_names": ["x.jpg"], "gt_rect": [[1, 2, 3, 4]]}}, "'a' and 'A' differ only in case")],
)
def test_import_json_checks_types_first(tmp_path, meta, message):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match=message):
        import_json(path, out=tmp_path / "out", images="none")
    assert not (tmp_path / "out").exists()


def test_import_json_cli_error_is_one_line(tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_bytes(b'{"caf\xe9": 1}')
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "import-json", str(path), "--out", str(tmp_path / "out"), "--images", "none"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "not UTF-8" in err and err.count("\n") == 1
