"""The synthetic benchmark: determinism, both layouts, honest tags, trackability, CLI, demo cache."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from click.testing import CliRunner  # noqa: E402

from siambench import synth  # noqa: E402
from siambench.errors import SiambenchError  # noqa: E402
from siambench.synth import demo, manifest  # noqa: E402

SMALL = {"sequences": 6, "seed": 11, "frames": (8, 12), "size": (128, 96)}


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _rows(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in path.read_text().splitlines()])


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.fixture(scope="module")
def vot_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "vot"
    synth.generate(root, "vot", **SMALL)
    return root


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "otb"
    synth.generate(root, "otb", **SMALL)
    return root


def test_same_seed_same_bytes_other_seed_other_truth(tmp_path):
    tiny = {"sequences": 2, "frames": (5, 7), "size": (96, 72)}
    synth.generate(tmp_path / "a", "otb", seed=3, **tiny)
    synth.generate(tmp_path / "b", "otb", seed=3, **tiny)
    synth.generate(tmp_path / "c", "otb", seed=4, **tiny)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    gt = "Occlusion1/groundtruth_rect.txt"
    assert (tmp_path / "a" / gt).read_text() != (tmp_path / "c" / gt).read_text()


def test_a_sequence_depends_on_neither_the_count_nor_the_layout(tmp_path, otb_root, vot_root):
    synth.generate(tmp_path / "one", "otb", **{**SMALL, "sequences": 1})
    single, full = tmp_path / "one" / "Occlusion1", otb_root / "Occlusion1"
    assert _digest(single) == _digest(full)
    # The VOT copy has the same pixels, and its polygons enclose the OTB boxes.
    otb_frames = sorted((full / "img").glob("*.jpg"))
    vot_frames = sorted((vot_root / "occlusion1" / "color").glob("*.jpg"))
    assert [p.read_bytes() for p in otb_frames] == [p.read_bytes() for p in vot_frames]
    poly = _rows(vot_root / "occlusion1" / "groundtruth.txt")
    xs, ys = poly[:, 0::2], poly[:, 1::2]
    derived = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)], axis=1)
    np.testing.assert_allclose(_rows(full / "groundtruth_rect.txt"), derived, atol=1.01)


def test_vot_layout(vot_root):
    names = _lines(vot_root / "list.txt")
    assert sorted(names) == sorted(p.name for p in vot_root.iterdir() if p.is_dir())
    assert names == [synth.sequence_name(i, "vot") for i in range(SMALL["sequences"])]
    width, height = SMALL["size"]
    for name in names:
        folder = vot_root / name
        meta = dict(line.split("=", 1) for line in _lines(folder / "sequence"))
        assert meta == {
            "channels.color": "color/%08d.jpg",
            "format": "default",
            "fps": "30",
            "name": name,
        }
        frames = sorted((folder / "color").glob("*.jpg"))
        assert [p.name for p in frames] == [f"{i:08d}.jpg" for i in range(1, len(frames) + 1)]
        assert SMALL["frames"][0] <= len(frames) <= SMALL["frames"][1]
        poly = _rows(folder / "groundtruth.txt")
        assert poly.shape == (len(frames), 8)
        assert np.all(poly[:, 0::2] >= 0) and np.all(poly[:, 0::2] <= width - 1)
        assert np.all(poly[:, 1::2] >= 0) and np.all(poly[:, 1::2] <= height - 1)
        for tag in synth.VOT_TAGS:
            assert set(_lines(folder / f"{tag}.tag")) <= {"0", "1"}
            assert len(_lines(folder / f"{tag}.tag")) == len(frames)
        for path in frames:
            image = cv2.imread(str(path))
            assert image is not None and image.shape == (height, width, 3)


def test_vot_layout_reads_back_with_the_dataset_reader(vot_root):
    from siambench.datasets.vot import read_vot

    sequences = read_vot(vot_root)
    assert [s.name for s in sequences] == _lines(vot_root / "list.txt")
    for seq in sequences:
        assert (seq.width, seq.height) == SMALL["size"]
        assert len(seq.frames) == len(seq.groundtruth) and seq.groundtruth.shape[1] == 8
        assert set(seq.tags) == set(synth.VOT_TAGS)


@pytest.mark.parametrize("layout", ["otb", "vot"])
def test_visible_fractions_are_written_and_agree_with_the_occlusion_tag(layout, otb_root, vot_root):
    root = vot_root if layout == "vot" else otb_root
    least = 1.0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        frames = list((folder / ("color" if layout == "vot" else "img")).glob("*.jpg"))
        lines = _lines(folder / synth.VISIBLE_FILE)
        assert len(lines) == len(frames)
        assert all(re.fullmatch(r"[01]\.\d{3}", line) for line in lines)
        visible = np.array([float(v) for v in lines])
        assert np.all((visible >= 0) & (visible <= 1))
        least = min(least, visible.min())
        if layout == "vot":
            hidden = 1.0 - visible
            tag = np.array([int(v) for v in _lines(folder / "occlusion.tag")], dtype=bool)
            clear = np.abs(hidden - synth.OCCLUSION_MIN) > 1e-3  # away from the rounding
            np.testing.assert_array_equal(tag[clear], (hidden >= synth.OCCLUSION_MIN)[clear])
    assert least < 0.1  # the occlusion scenario hides the target at some frame


def test_otb_layout(otb_root):
    width, height = SMALL["size"]
    folders = sorted(p.name for p in otb_root.iterdir() if p.is_dir())
    listing = dict(line.split("\t") for line in _lines(otb_root / "attributes.txt"))
    assert sorted(listing) == folders
    for name in folders:
        attributes = [a for a in listing[name].split(", ") if a]
        assert set(attributes) <= set(synth.OTB_ATTRIBUTES)
        assert attributes == sorted(attributes, key=synth.OTB_ATTRIBUTES.index)
        lines = _lines(otb_root / name / "groundtruth_rect.txt")
        assert all(re.fullmatch(r"\d+,\d+,\d+,\d+", line) for line in lines)
        boxes = _rows(otb_root / name / "groundtruth_rect.txt")
        frames = sorted((otb_root / name / "img").glob("*.jpg"))
        assert [p.name for p in frames] == [f"{i:04d}.jpg" for i in range(1, len(boxes) + 1)]
        assert np.all(boxes[:, 2:] > 0)
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 0] + boxes[:, 2] <= width)
        assert np.all(boxes[:, 1] + boxes[:, 3] <= height)
        assert cv2.imread(str(frames[-1])).shape == (height, width, 3)


def test_otb_layout_reads_back_with_the_dataset_reader(otb_root):
    from siambench.datasets.otb import read_otb_folder

    listing = dict(line.split("\t") for line in _lines(otb_root / "attributes.txt"))
    for seq in read_otb_folder(otb_root):
        np.testing.assert_array_equal(
            seq.groundtruth, _rows(otb_root / seq.name / "groundtruth_rect.txt")
        )
        assert seq.attributes == [a for a in listing[seq.name].split(", ") if a]
        assert (seq.width, seq.height) == SMALL["size"] and seq.frames[-1].is_file()


def test_attributes_file_speaks_otbs_vocabulary(shared_data, otb_root):
    names = [
        line.split("\t")[0]
        for line in _lines(shared_data / "otb_attributes" / "attribute_names.txt")
    ]
    assert list(synth.OTB_ATTRIBUTES) == names
    line_format = re.compile(r"[A-Za-z0-9_-]+\t(?:[A-Z]{2,3}(?:, [A-Z]{2,3})*)?")
    assert all(line_format.fullmatch(line) for line in _lines(otb_root / "attributes.txt"))
    # Ours is the official file's format without its stray spaces ("IV ,SV").
    official = _lines(shared_data / "otb_attributes" / "attributes_otb100.txt")
    assert all(line_format.fullmatch(re.sub(r" *, *", ", ", line)) for line in official)


def test_occlusion_tag_matches_the_pixels_an_occluder_changes():
    """Render the occlusion scenario with and without its occluders: the target pixels that change
    are the hidden fraction the tags are derived from."""
    config = synth.SynthConfig("vot", 1, seed=0, frames=(40, 40), size=(160, 120))
    plan, noise = synth.plan_sequence(config, 0)
    assert plan.scenario == "occlusion" and plan.occluders
    rendered = list(synth.render_frames(plan, noise))
    bare, bare_noise = synth.plan_sequence(config, 0)
    bare.occluders = []
    without = [image for image, _ in synth.render_frames(bare, bare_noise)]
    hidden = np.array([h for _, h in rendered])
    changed = np.zeros(plan.n)
    polygons = synth.target_polygons(plan.target)
    for t, ((image, _), clear) in enumerate(zip(rendered, without, strict=True)):
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(polygons[t].reshape(4, 2) * 16).astype(np.int32)], 1, shift=4)
        moved = np.abs(image.astype(int) - clear.astype(int)).max(axis=2) > 12
        changed[t] = moved[mask.astype(bool)].mean()
    np.testing.assert_allclose(hidden, changed, atol=0.15)
    note = synth.annotate(plan, hidden)
    np.testing.assert_array_equal(note.tags["occlusion"], hidden >= synth.OCCLUSION_MIN)
    assert note.tags["occlusion"].sum() >= 3 and hidden.max() > 0.9  # a full occlusion happens
    assert not note.tags["occlusion"][: synth.CLEAR_FRAMES].any()  # trackers start on a clear view
    assert "OCC" in note.attributes


def test_distractor_boxes_frame_the_lookalikes_pixels():
    """Render the clutter scenario with and without its moving look-alikes: every pixel they
    change lies in the boxes that distractors.txt records."""
    config = synth.SynthConfig("otb", 2, seed=0, frames=(12, 12), size=(160, 120))
    plan, noise = synth.plan_sequence(config, 1)
    assert plan.scenario == "clutter" and len(plan.distractors) >= 3
    rendered = [image for image, _ in synth.render_frames(plan, noise)]
    bare, bare_noise = synth.plan_sequence(config, 1)
    bare.distractors = []
    without = [image for image, _ in synth.render_frames(bare, bare_noise)]
    note = synth.annotate(plan, np.zeros(plan.n))
    assert note.distractors.shape == (plan.n, len(plan.distractors), 4)
    for t, (image, clear) in enumerate(zip(rendered, without, strict=True)):
        moved = np.abs(image.astype(int) - clear.astype(int)).max(axis=2) > 12
        inside = np.zeros_like(moved)
        for x, y, w, h in note.distractors[t]:
            inside[max(y - 2, 0) : y + h + 2, max(x - 2, 0) : x + w + 2] = True
        assert moved[inside].mean() > 0.3 and moved[~inside].mean() < 0.005


def test_distractors_file_lists_every_lookalike_per_frame(otb_root, vot_root):
    for root, image_folder in ((otb_root, "img"), (vot_root, "color")):
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            frames = list((folder / image_folder).glob("*.jpg"))
            rows = [[int(v) for v in line.split(",")] for line in _lines(folder / synth.DISTRACTORS_FILE)]
            assert len(rows) == len(frames) and len({len(r) for r in rows}) == 1
            assert len(rows[0]) % 4 == 0 and len(rows[0]) >= 4  # every scenario has a look-alike
            assert all(w > 0 and h > 0 for r in rows for w, h in zip(r[2::4], r[3::4], strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_scenario_shows_its_challenge(seed):
    config = synth.SynthConfig("vot", len(synth.SCENARIOS), seed=seed, frames=(80, 80))
    expected = {
        "clutter": ({"BC"}, None),
        "fast_motion": ({"FM", "MB"}, "motion_change"),
        "rotation": ({"IPR"}, None),
        "scale": ({"SV"}, "size_change"),
        "illumination": ({"IV"}, "illum_change"),
    }
    for index, scenario in enumerate(synth.SCENARIOS):
        plan, _ = synth.plan_sequence(config, index)
        assert plan.scenario == scenario
        note = synth.annotate(plan, np.zeros(plan.n))  # no render: occlusion is checked above
        attributes, tag = expected.get(scenario, (set(), None))
        assert attributes <= set(note.attributes), (scenario, note.attributes)
        assert not {"DEF", "OPR", "OV"} & set(note.attributes)  # rigid, planar, always in view
        if tag:
            assert note.tags[tag].any(), (scenario, tag)
        # Tags follow what the generator did: no camera tag while the camera holds still.
        still = np.hypot(*np.diff(plan.camera, axis=0, prepend=plan.camera[:1]).T) == 0
        assert not note.tags["camera_motion"][still].any()


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.maximum(a[:, :2], b[:, :2])
    hi = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return inter / (np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter)


def _template_tracker(frames: list[Path], box: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation with the first frame's patch in a window around the last box."""
    x, y, w, h = (int(v) for v in box)
    first = cv2.imread(str(frames[0]), cv2.IMREAD_GRAYSCALE)
    template = first[y : y + h, x : x + w]
    out = [box.astype(float)]
    for path in frames[1:]:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        x0, y0 = max(0, x - 2 * w), max(0, y - 2 * h)
        window = image[y0 : y + 3 * h, x0 : x + 3 * w]
        score = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
        _, _, _, (dx, dy) = cv2.minMaxLoc(score)
        x, y = x0 + dx, y0 + dy
        out.append(np.array([x, y, w, h], float))
    return np.array(out)


def test_a_tracker_that_tracks_beats_chance_but_not_everywhere(tmp_path):
    synth.generate(
        tmp_path, "otb", sequences=6, seed=5, frames=(40, 40), size=(320, 240), overwrite=True
    )
    tracked, still = [], []
    for folder in sorted(p for p in tmp_path.iterdir() if p.is_dir()):
        gt = _rows(folder / "groundtruth_rect.txt")
        boxes = _template_tracker(sorted((folder / "img").glob("*.jpg")), gt[0])
        tracked.append(_iou(boxes, gt))
        still.append(_iou(np.repeat(gt[:1], len(gt), axis=0), gt))
    assert np.mean(tracked) > np.mean(still) + 0.25
    assert min(t.min() for t in tracked) < 0.3  # somewhere the simple tracker loses the target


def test_generate_refuses_to_clobber_and_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    tiny = {"sequences": 1, "frames": 4, "size": (96, 72)}
    with pytest.raises(SiambenchError, match="not empty"):
        synth.generate(out, "otb", **tiny)

    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synth.generate(out, "otb", overwrite=True, progress=interrupt, **tiny)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    assert synth.generate(out, "otb", overwrite=True, **tiny) == ["Occlusion1"]
    assert not (out / "keep.txt").exists() and (out / "Occlusion1" / "img" / "0004.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]


@pytest.mark.parametrize(
    "change",
    [
        {"layout": "coco"},
        {"frames": (5, 3)},
        {"frames": 1},
        {"size": (40, 30)},
        {"seed": -1},
        {"sequences": 0},
    ],
)
def test_bad_settings_are_errors(tmp_path, change):
    settings = {"layout": "otb", "sequences": 1, "seed": 0, "frames": 4, "size": (96, 72), **change}
    with pytest.raises(SiambenchError):
        synth.generate(tmp_path / "x", **settings)
    assert not (tmp_path / "x").exists()


def test_cli_writes_the_vot_layout(tmp_path):
    from siambench.cli import cli

    out = tmp_path / "bench"
    args = ["data", "synth", "--out", str(out), "--layout", "vot", "--sequences", "2"]
    result = CliRunner().invoke(
        cli, [*args, "--frames", "5", "--size", "96x72", "--seed", "9", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "2 sequences (10 frames" in result.output
    assert _lines(out / "list.txt") == ["occlusion1", "clutter1"]
    for name in ("occlusion1", "clutter1"):
        assert len(list((out / name / "color").glob("*.jpg"))) == 5
        assert len(_lines(out / name / "groundtruth.txt")) == 5
    bad = CliRunner().invoke(
        cli, ["data", "synth", "--out", str(tmp_path / "y"), "--frames", "a-b"]
    )
    assert bad.exit_code != 0 and "--frames" in bad.output


def test_ensure_demo_renders_once_into_the_cache(tmp_path, monkeypatch):
    assert synth.demo_config("otb") == synth.SynthConfig(
        "otb", synth.DEMO_SEQUENCES, synth.DEMO_SEED, synth.DEMO_FRAMES, synth.DEMO_SIZE
    )
    real_config = demo.demo_config
    monkeypatch.setenv(synth.CACHE_ENV, str(tmp_path / "cache"))
    # Patched where ensure_demo looks them up: the modules of siambench.synth, not its re-exports.
    monkeypatch.setattr(
        demo,
        "demo_config",
        lambda kind="otb": dataclasses.replace(
            real_config(kind), sequences=2, frames=(4, 4), size=(96, 72)
        ),
    )
    root = synth.ensure_demo("otb")
    assert root == tmp_path / "cache" / "data" / "demo"
    assert (root / "attributes.txt").is_file() and (
        root / "Clutter1" / "img" / "0004.jpg"
    ).is_file()
    vot = synth.ensure_demo("vot")
    assert vot == tmp_path / "cache" / "data" / "demo-vot" and _lines(vot / "list.txt") == [
        "occlusion1",
        "clutter1",
    ]
    assert sorted(p.name for p in root.parent.iterdir()) == ["demo", "demo-vot"]  # no staging left

    def must_not_render(*args, **kwargs):
        raise AssertionError("a current demo was rendered again")

    real_write = demo.write_benchmark
    monkeypatch.setattr(demo, "write_benchmark", must_not_render)
    assert synth.ensure_demo("otb") == root
    # Data made by another generator version are stale and replaced.
    monkeypatch.setattr(demo, "write_benchmark", real_write)
    monkeypatch.setattr(manifest, "GENERATOR_VERSION", synth.GENERATOR_VERSION + 1)
    assert not synth.is_current(root, demo.demo_config("otb"))
    assert synth.ensure_demo("otb") == root and synth.is_current(root, demo.demo_config("otb"))
    with pytest.raises(SiambenchError):
        synth.ensure_demo("lasot")
