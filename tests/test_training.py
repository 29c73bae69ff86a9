"""Small-scale training: targets, losses, crops that match the trackers', the loop, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from siambench import ops
from siambench.errors import SiambenchError
from siambench.regions import axis_aligned
from siambench.trackers.registry import load_spec
from siambench.training import losses, targets
from siambench.training.data import load_sequences, read_folder
from siambench.training.loop import TrainConfig, save_weights, train
from siambench.training.pairs import (
    Augment,
    PairSampler,
    crop_search,
    crop_style,
    crop_template,
    sample_batch,
    usable_frames,
)

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """Two short synthetic sequences (seeded apart from the demo benchmark)."""
    from siambench.synth import generate

    root = tmp_path_factory.mktemp("train") / "tiny"
    generate(root, "otb", sequences=2, seed=11, frames=6, size=(160, 120))
    return root


def _square_frame(center: tuple[float, float], side: int = 21) -> np.ndarray:
    """A grey frame with one bright square centred on `center` (pixel-centre coordinates)."""
    frame = np.full((240, 320, 3), 60, dtype=np.uint8)
    x0, y0 = round(center[0] - (side - 1) / 2), round(center[1] - (side - 1) / 2)
    frame[y0 : y0 + side, x0 : x0 + side] = 250
    return frame


def _centroid(patch: np.ndarray) -> np.ndarray:
    mask = patch[..., 0].astype(float) > 155
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


# ----------------------------------------------------------------------------- targets


def test_siamfc_labels_follow_the_target_and_are_balanced():
    labels, weights = targets.siamfc_labels(np.array([[0.0, 0.0], [24.0, -16.0]]), 17, 8, 16.0)
    assert labels.shape == (2, 1, 17, 17)
    centred = labels[0, 0]
    # radius 16 px at stride 8: the centre cell and the 12 cells within two cells
    assert centred[8, 8] == 1 and centred.sum() == 13 and centred[8, 11] == 0
    moved = labels[1, 0]
    assert moved[8 - 2, 8 + 3] == 1 and moved[8, 8] == 0  # row = y, column = x
    for b in range(2):
        pos = labels[b, 0] > 0
        assert weights[b, 0][pos].sum() == pytest.approx(0.5)
        assert weights[b, 0][~pos].sum() == pytest.approx(0.5)


def test_encoded_deltas_decode_back_to_the_box():
    anchors = ops.generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17)
    box = np.array([13.0, -21.0, 50.0, 70.0])
    deltas = targets.encode_deltas(anchors, box)
    decoded = ops.decode_deltas(deltas, anchors)
    np.testing.assert_allclose(decoded, np.tile(box[:, None], (1, len(anchors))), rtol=1e-5, atol=1e-4)


def test_anchor_targets_follow_pysot_thresholds_and_sample_sizes():
    anchors = ops.generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17)
    box = np.array([10.0, 4.0, 64.0, 64.0])
    labels, deltas, weights = targets.anchor_targets(anchors, box, np.random.default_rng(0))
    iou = targets.iou_with(anchors, box)
    pos, neg = labels == 1, labels == 0
    assert 0 < pos.sum() <= 16 and pos.sum() + neg.sum() == 64
    assert np.all(iou[pos] > 0.6) and np.all(iou[neg] < 0.3)
    assert weights[pos] == pytest.approx(1.0 / pos.sum()) and np.all(weights[~pos] == 0)
    assert deltas.shape == (4, len(anchors))


def test_negative_pairs_have_no_positive_cell_or_anchor():
    centers = np.zeros((2, 2))
    labels, weights = targets.siamfc_labels(centers, 17, 8, 16.0, np.array([False, True]))
    assert labels[0].sum() > 0 and labels[1].sum() == 0
    assert weights[1].sum() == pytest.approx(1.0)

    anchors = ops.generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17)
    box = np.array([10.0, 4.0, 64.0, 64.0])
    labels, _, weights = targets.anchor_targets(anchors, box, np.random.default_rng(0), negative=True)
    on_object = targets.iou_with(anchors, box) > 0.6
    assert not np.any(labels == 1) and np.sum(labels == 0) == 64
    assert np.all(labels[on_object] == 0)  # the would-be positives are the hard negatives
    assert np.all(weights == 0)


def test_lookalike_anchors_are_the_first_negatives_and_the_target_keeps_its_positives():
    anchors = ops.generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17)
    box = np.array([-40.0, 8.0, 56.0, 60.0])
    look = np.array([2.0, -3.0, 60.0, 58.0])
    plain, _, _ = targets.anchor_targets(anchors, box, np.random.default_rng(0))
    labels, _, weights = targets.anchor_targets(anchors, box, np.random.default_rng(0), lookalike=look)
    on_look = np.argsort(-targets.iou_with(anchors, look), kind="stable")[:16]
    assert np.all(labels[on_look] == 0)  # the 16 anchors that match it best, all sampled
    assert not np.all(plain[on_look] == 0)  # which random sampling does not do
    np.testing.assert_array_equal(labels == 1, plain == 1)
    assert np.sum(labels == 0) + np.sum(labels == 1) == 64
    assert weights[labels == 1] == pytest.approx(1.0 / np.sum(labels == 1))
    # a look-alike on the target: no anchor of the target becomes a negative
    labels, _, _ = targets.anchor_targets(anchors, box, np.random.default_rng(0), lookalike=box)
    assert np.all(labels[targets.iou_with(anchors, box) >= 0.3] != 0)
    nan, _, _ = targets.anchor_targets(anchors, box, np.random.default_rng(0), lookalike=np.full(4, np.nan))
    np.testing.assert_array_equal(nan, plain)


# ----------------------------------------------------------------------------- losses


def test_logistic_loss_prefers_the_right_score_map():
    labels, weights = targets.siamfc_labels(np.zeros((1, 2)), 9, 8, 16.0)
    labels_t, weights_t = torch.from_numpy(labels), torch.from_numpy(weights)
    right = (labels_t * 2 - 1) * 5
    assert losses.logistic_loss(right, labels_t, weights_t) < 0.01
    assert losses.logistic_loss(-right, labels_t, weights_t) > 4


def test_scale_rank_loss_rewards_the_right_scales_peak_on_the_target():
    labels, _ = targets.siamfc_labels(np.zeros((2, 2)), 9, 8, 16.0)
    positive = torch.from_numpy(labels) > 0
    right = torch.where(positive, 3.0, 0.0)  # (2, 1, 9, 9): peaks on the target
    weak = torch.where(positive, 1.0, 0.0).expand(2, 2, 9, 9)
    assert losses.scale_rank_loss(right, weak, positive) < 0.3
    assert losses.scale_rank_loss(weak[:, :1], right.expand(2, 2, 9, 9), positive) > 2.0
    # a high value off the target does not count: only the target's cells are compared
    far = weak.clone()
    far[:, :, 0, 0] = 10.0
    assert torch.isclose(losses.scale_rank_loss(right, far, positive),
                         losses.scale_rank_loss(right, weak, positive))
    # samples without a cell on the target (negative pairs) are left out, and so is a batch of them
    none = positive.clone()
    none[1] = False
    assert torch.isclose(losses.scale_rank_loss(right, weak, none),
                         losses.scale_rank_loss(right[:1], weak[:1], positive[:1]))
    assert losses.scale_rank_loss(right, weak, torch.zeros_like(positive)) == 0


def test_rpn_loss_is_small_for_the_right_outputs_only():
    anchor_num, size = 5, 5
    anchors = ops.generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], size)
    box = np.array([4.0, -3.0, 60.0, 66.0])
    labels, deltas, weights = targets.anchor_targets(anchors, box, np.random.default_rng(1))
    # outputs in the tracker's layout: (1, 2A, S, S) bg then fg, (1, 4A, S, S) dx, dy, dw, dh
    fg = np.where(labels == 1, 8.0, -8.0).astype(np.float32)
    cls = torch.from_numpy(np.concatenate([-fg, fg])).reshape(1, 2 * anchor_num, size, size)
    loc = torch.from_numpy(deltas).reshape(1, 4 * anchor_num, size, size)
    # the decoding the tracker does recovers the scores and the box from these tensors
    assert np.array_equal(ops.rpn_scores(cls) > 0.5, labels == 1)
    best = int(np.argmax(ops.rpn_scores(cls)))
    np.testing.assert_allclose(ops.decode_deltas(ops.rpn_deltas(loc), anchors)[:, best], box, rtol=1e-4)
    lab, dt, wt = (torch.from_numpy(a)[None] for a in (labels, deltas, weights))
    good, parts = losses.rpn_loss(cls, loc, lab, dt, wt, 1.2)
    bad, _ = losses.rpn_loss(-cls, -loc, lab, dt, wt, 1.2)
    assert float(good) < 0.01 and parts["reg"] == pytest.approx(0.0, abs=1e-6)
    assert float(bad) > 5


# ----------------------------------------------------------------------------- crops


@pytest.mark.parametrize("shift", [(0.0, 0.0), (40.0, -24.0)])
@pytest.mark.parametrize("tracker", ["siamfc-demo", "siamrpnpp-alex-demo"])
def test_search_crop_puts_the_target_where_the_box_says(tracker, shift):
    style = crop_style(load_spec(tracker))
    frame = _square_frame((150.0, 110.0))
    box = np.array([150.0 - 10, 110.0 - 10, 21.0, 21.0])
    _, fill = crop_template(style, frame, box)
    patch, target = crop_search(style, frame, box, fill, np.array(shift), stretch=1.1)
    crop_centre = (style.search_size - 1) / 2
    side = style.context_size(21, 21) * style.search_size / style.exemplar_size * 1.1
    scale = style.search_size / side
    assert target[2] == pytest.approx(21 * scale)
    # The box is relative to the centre the tracker passes to its crop function, which is how
    # the tracker decodes. The patch itself may sit off that centre by the crop's conventions:
    # its corner is rounded to a frame pixel, and pysot's window starts one pixel early.
    np.testing.assert_allclose(_centroid(patch) - crop_centre, target[:2], atol=1.5 * scale)


class _Recorder(torch.nn.Module):
    """Stands in for a network: keeps the crops a tracker feeds it."""

    def __init__(self, rpn: bool) -> None:
        super().__init__()
        self.rpn, self.seen = rpn, []

    # the trackers call make_template / track_with (siambench.trackers.network)
    def make_template(self, z):
        self.seen.append(z.clone())
        return z

    def track_with(self, template, x):
        self.seen.append(x.clone())
        if self.rpn:
            return torch.zeros(1, 10, 21, 21), torch.zeros(1, 20, 21, 21)
        return torch.zeros(x.size(0), 1, 17, 17)


def _assert_tracker_crops_like_training(tracker, recorder, style, frame, box) -> None:
    """The tracker's template and search inputs equal the training crops of the same box."""
    tracker.init(frame, box)
    tracker.track(frame)
    z, fill = crop_template(style, frame, box)
    x, _ = crop_search(style, frame, box, fill)
    assert torch.equal(recorder.seen[0], ops.patch_to_tensor(z))
    assert torch.equal(recorder.seen[1], ops.patch_to_tensor(x))


@pytest.mark.parametrize("rgb", [False, True])
def test_training_crops_equal_the_siamfc_trackers_crops(rgb):
    from siambench.trackers.siamfc import SiamFCConfig, SiamFCTracker

    spec = load_spec("siamfc-demo")
    spec.model["input_color"] = "rgb" if rgb else "bgr"
    style = crop_style(spec)
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([101.3, 60.8, 31.0, 45.5])
    recorder = _Recorder(rpn=False)
    tracker = SiamFCTracker(recorder, SiamFCConfig(scale_num=1), rgb=rgb)
    _assert_tracker_crops_like_training(tracker, recorder, style, frame, box)


def test_training_crops_equal_the_siamrpn_trackers_crops():
    from siambench.trackers.siamrpn import SiamRPNConfig, SiamRPNTracker

    spec = load_spec("siamrpnpp-alex-demo")
    cfg = SiamRPNConfig.from_hyper(spec.hyper)
    style = crop_style(spec, search_size=cfg.instance_size)  # compare at the tracker's size
    rng = np.random.default_rng(4)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([181.2, 40.4, 28.0, 36.0])
    recorder = _Recorder(rpn=True)
    tracker = SiamRPNTracker(recorder, cfg)
    _assert_tracker_crops_like_training(tracker, recorder, style, frame, box)
    assert crop_style(spec).search_size == 255  # pysot trains on 255 whatever it tracks with


def test_pair_sampler_stays_in_range_and_skips_unusable_frames(tiny_data):
    sequences = read_folder(tiny_data)
    seq = sequences[0]
    seq.groundtruth[2] = np.nan
    seq.groundtruth[3, 2] = 0.5
    assert list(usable_frames(seq)) == [0, 1, 4, 5]
    sampler = PairSampler(sequences, frame_range=1)
    rng = np.random.default_rng(0)
    for _ in range(50):
        pair = sampler.sample(rng)
        assert abs(pair.template - pair.search) <= 1
        if sampler.sequences[pair.sequence] is seq:
            assert {pair.template, pair.search} <= {0, 1, 4, 5}


def test_frames_where_occluders_hide_the_target_are_negatives_never_templates(tiny_data):
    sequences = read_folder(tiny_data)
    seq = next(s for s in sequences if s.name == "Occlusion1")
    written = [float(v) for v in (tiny_data / "Occlusion1" / "visible.txt").read_text().split()]
    np.testing.assert_array_equal(seq.visible, written)
    hidden = set(np.flatnonzero(seq.visible < 0.5).tolist())
    partly = set(np.flatnonzero((seq.visible >= 0.5) & (seq.visible < 1)).tolist())
    assert hidden and partly  # this tiny set has a hidden frame and a partly hidden one
    assert hidden <= set(usable_frames(seq).tolist())  # 0 (the function's default) keeps all
    assert hidden.isdisjoint(usable_frames(seq, 0.5).tolist())
    assert partly <= set(usable_frames(seq, 0.5).tolist())
    sampler = PairSampler(sequences, frame_range=5, min_visible=0.5)
    rng = np.random.default_rng(0)
    templates, searches = set(), set()
    for _ in range(200):
        pair = sampler.sample(rng)
        if sampler.sequences[pair.sequence] is seq:
            templates.add(pair.template)
            searches.add(pair.search)
            # a hidden target: the region shows the occluder, a negative pair
            assert pair.negative == (pair.search in hidden) == pair.hidden
    assert templates and templates.isdisjoint(hidden)
    assert hidden <= searches
    batch = sample_batch(sampler, crop_style(load_spec("siamfc-demo")), Augment(), 24,
                         np.random.default_rng(0))
    assert batch.negative.any()
    # at 0 (the default) the recorded visibility changes nothing, draws included (and
    # test_default_batches_are_those_of_the_released_recipe pins them to older versions)
    blind = read_folder(tiny_data)
    for other in blind:
        other.visible = None
    first, second = np.random.default_rng(9), np.random.default_rng(9)
    assert [PairSampler(sequences, frame_range=5).sample(first) for _ in range(50)] == \
        [PairSampler(blind, frame_range=5).sample(second) for _ in range(50)]
    with pytest.raises(SiambenchError, match="least visible"):
        PairSampler(sequences, frame_range=5, min_visible=1.5)
    # asked for on data that do not record it, it would silently change nothing
    with pytest.raises(SiambenchError, match="--min-visible needs .*visible.txt"):
        PairSampler(blind, frame_range=5, min_visible=0.5)
    with pytest.raises(SiambenchError, match="--min-visible"):
        TrainConfig(min_visible=-0.1).validate()


@pytest.mark.parametrize(("negatives", "expected"), [
    # (next draw after the batch, negative flags, first box, sum of the boxes), as the released
    # demo weights' code (8aaaab6, before visibility and look-alikes) samples them on this set
    (0.0, (316717816, [0] * 8, [0.123, -1.714, 83.337, 50.597], 1028.04)),
    (0.25, (156771708, [0, 0, 1, 0, 0, 0, 0, 0], [-1.714, -3.569, 82.23, 47.441], 1027.53)),
])
def test_default_batches_are_those_of_the_released_recipe(tiny_data, negatives, expected):
    """Options left off draw no random numbers: the documented commands still give the
    committed weights. Pinned to values from the code that trained them."""
    sampler = PairSampler(read_folder(tiny_data), frame_range=5)
    rng = np.random.default_rng(5)
    batch = sample_batch(sampler, crop_style(load_spec("siamfc-demo")),
                         Augment(shift=4.0, scale_jitter=0.05, negatives=negatives), 8, rng)
    following, flags, first, total = expected
    assert int(rng.integers(1 << 30)) == following
    assert batch.negative.astype(int).tolist() == flags
    np.testing.assert_allclose(batch.boxes[0], first, atol=2e-3)
    assert float(batch.boxes.sum()) == pytest.approx(total, abs=0.02)


def test_one_draw_shares_pairs_between_negatives_and_lookalikes():
    from siambench.training.pairs import _draw_pair

    class Kinds:  # a sampler that says which kind of pair was asked for
        def sample(self, rng):
            return "plain"

        def sample_negative(self, rng):
            return "negative"

        def sample_lookalike(self, rng):
            return "lookalike"

    rng = np.random.default_rng(0)
    drawn = [_draw_pair(Kinds(), Augment(negatives=0.4, lookalikes=0.5), rng) for _ in range(4000)]
    shares = {kind: drawn.count(kind) / len(drawn) for kind in ("negative", "lookalike", "plain")}
    assert shares == pytest.approx({"negative": 0.4, "lookalike": 0.5, "plain": 0.1}, abs=0.03)
    untouched = np.random.default_rng(0)
    assert _draw_pair(Kinds(), Augment(), untouched) == "plain"
    assert untouched.random() == np.random.default_rng(0).random()  # no draw without either


@pytest.mark.parametrize(("text", "message"), [
    ("1.0\n0.5\n1.2\n", r"visible\.txt:3: expected the visible fraction .* got 1\.2"),
    ("1.0\nnan\n", r"visible\.txt:2: expected the visible fraction"),
    ("1.0\n0.5\n", r"visible\.txt: expected 6 values \(one per frame of the ground truth\), got 2"),
    ("1.0\nhalf\n", r"visible\.txt:2: expected numbers"),
])
def test_a_bad_visible_file_is_named_with_what_was_expected(tiny_data, tmp_path, text, message):
    import shutil

    from siambench.errors import InputError

    copy = tmp_path / "data"
    shutil.copytree(tiny_data, copy)
    (copy / "Clutter1" / "visible.txt").write_text(text)
    with pytest.raises(InputError, match=message):
        read_folder(copy)


def test_visible_fractions_must_match_a_hand_made_sequence(tiny_data):
    seq = read_folder(tiny_data)[0]
    seq.visible = seq.visible[:-1]
    with pytest.raises(SiambenchError, match="5 visible fractions for 6 frames"):
        usable_frames(seq, 0.5)


def test_lookalike_pairs_centre_the_search_region_on_a_lookalike(tiny_data):
    sequences = read_folder(tiny_data)
    for seq in sequences:
        written = np.array([[float(v) for v in line.split(",")] for line in
                            (tiny_data / seq.name / "distractors.txt").read_text().splitlines()])
        np.testing.assert_array_equal(seq.distractors, written.reshape(len(seq.groundtruth), -1, 4))
    sampler = PairSampler(sequences, frame_range=5)
    rng = np.random.default_rng(3)
    pairs = [sampler.sample_lookalike(rng) for _ in range(40)]
    chosen = [p for p in pairs if p.lookalike is not None]
    assert len(chosen) > 20 and not any(p.negative for p in pairs)
    for pair in chosen:
        seq = sampler.sequences[pair.sequence]
        target = axis_aligned(seq.groundtruth[pair.search])
        look = sampler.lookalike_box(pair)
        gap = np.hypot(*(look[:2] + look[2:] / 2 - target[:2] - target[2:] / 2))
        assert gap >= (target[2] + target[3]) / 2 - 1  # apart from the target

    style = crop_style(load_spec("siamfc-demo"))
    batch = sample_batch(sampler, style, Augment(shift=4.0, lookalikes=0.9), 12, np.random.default_rng(4))
    rows = np.flatnonzero(np.isfinite(batch.lookalikes[:, 0]))
    assert 0 < len(rows) < 12
    # the look-alike sits within the shift of the centre, the target where the two lie apart
    assert np.all(np.abs(batch.lookalikes[rows, :2]) <= 4.0)
    assert np.all(np.hypot(*(batch.boxes[rows, :2] - batch.lookalikes[rows, :2]).T) >=
                  (batch.boxes[rows, 2] + batch.boxes[rows, 3]) / 2 - 2)
    plain = sample_batch(sampler, style, Augment(shift=4.0), 3, np.random.default_rng(4))
    assert np.isnan(plain.lookalikes).all()

    bare = read_folder(tiny_data)
    for seq in bare:
        seq.distractors = None
    with pytest.raises(SiambenchError, match="distractors.txt"):
        PairSampler(bare, frame_range=5).sample_lookalike(rng)
    with pytest.raises(SiambenchError, match="--lookalikes"):
        TrainConfig(lookalikes=0.6, negatives=0.4).validate()
    # refused before the first step, not at the first look-alike draw (late, or never)
    with pytest.raises(SiambenchError, match="--lookalikes needs .*distractors.txt"):
        train(load_spec("siamfc-demo"), bare, TrainConfig(epochs=1, pairs_per_epoch=1, lookalikes=0.5))
    short = read_folder(tiny_data)
    short[0].distractors = short[0].distractors[:-1]
    with pytest.raises(SiambenchError, match=r"look-alike boxes of shape \(5, .*expected \(6, K, 4\)"):
        PairSampler(short, frame_range=5).lookalike_sequences()


@pytest.mark.parametrize(("text", "message"), [
    ("1,2,3\n1,2,3\n", r"distractors\.txt:1: expected x,y,w,h for each look-alike"),
    ("1,2,3,4\n1,2,3,4,5,6,7,8\n", r"distractors\.txt:2: expected 4 values like the first line, got 8"),
    ("1,2,3,4\n" * 5, r"distractors\.txt: expected 6 lines \(one per frame of the ground truth\), got 5"),
    ("1,2,3,4\n" * 5 + "1,2,0,4\n", r"distractors\.txt:6: expected finite boxes with positive width and height, got 1,2,0,4"),
])
def test_a_bad_distractors_file_is_named_with_what_was_expected(tiny_data, tmp_path, text, message):
    import shutil

    from siambench.errors import InputError

    copy = tmp_path / "data"
    shutil.copytree(tiny_data, copy)
    (copy / "Occlusion1" / "distractors.txt").write_text(text)
    with pytest.raises(InputError, match=message):
        read_folder(copy)


def test_light_jitter_relights_the_search_frame_but_not_the_template_or_the_padding(tiny_data):
    from siambench.training.pairs import relight

    frame = np.array([[[0, 100, 200]]], dtype=np.uint8)
    np.testing.assert_array_equal(relight(frame, 1.5), [[[0, 150, 255]]])
    np.testing.assert_array_equal(relight(frame, 0.5), [[[0, 50, 100]]])
    sampler = PairSampler(read_folder(tiny_data), frame_range=5)
    style = crop_style(load_spec("siamfc-demo"))
    plain = sample_batch(sampler, style, Augment(), 1, np.random.default_rng(7))
    lit = sample_batch(sampler, style, Augment(light=1.0), 1, np.random.default_rng(7))
    assert torch.equal(lit.z, plain.z) and not torch.equal(lit.x, plain.x)
    # the tiny frames are smaller than the search region: whole rows or columns of it are
    # padding, left as they were
    rim = (plain.x[0] == lit.x[0]).all(dim=0)
    assert (rim.all(dim=0).any() or rim.all(dim=1).any()) and not rim.all()
    gain = float(lit.x[0][:, ~rim].mean() / plain.x[0][:, ~rim].mean())
    assert 0.5 - 0.02 <= gain <= 2.0 + 0.02 and abs(gain - 1) > 0.01


def test_negative_pairs_take_their_search_frame_from_another_sequence(tiny_data):
    sequences = read_folder(tiny_data)
    sampler = PairSampler(sequences, frame_range=5)
    style = crop_style(load_spec("siamfc-demo"))
    rng = np.random.default_rng(0)
    pairs = [sampler.sample_negative(rng) for _ in range(20)]
    assert all(p.negative and p.search_sequence != p.sequence for p in pairs)
    other = sampler.sequences[pairs[0].search_sequence]
    assert np.array_equal(sampler.box(pairs[0], "search"),
                          axis_aligned(other.groundtruth[pairs[0].search]))
    batch = sample_batch(sampler, style, Augment(negatives=0.5), 16, np.random.default_rng(1))
    assert 0 < batch.negative.sum() < 16
    assert not sample_batch(sampler, style, Augment(), 4, rng).negative.any()
    with pytest.raises(SiambenchError, match="two sequences"):
        PairSampler(sequences[:1], frame_range=5).sample_negative(rng)


def test_off_scale_crops_show_the_same_target_smaller_and_larger():
    style = crop_style(load_spec("siamfc-demo"))
    frame = _square_frame((160.0, 120.0), side=31)
    box = np.array([145.0, 105.0, 31.0, 31.0])
    _, fill = crop_template(style, frame, box)
    right, _ = crop_search(style, frame, box, fill)
    wider, _ = crop_search(style, frame, box, fill, stretch=1.2)
    narrower, _ = crop_search(style, frame, box, fill, stretch=1 / 1.2)
    sides = [np.sqrt((p[..., 0] > 155).sum()) for p in (wider, right, narrower)]
    assert sides[0] < sides[1] < sides[2]
    assert np.allclose(sides[1] / sides[0], 1.2, atol=0.05)
    assert np.allclose(sides[2] / sides[1], 1.2, atol=0.05)


def test_sample_batch_adds_off_scale_twins_only_when_asked(tiny_data):
    sampler = PairSampler(read_folder(tiny_data), frame_range=5)
    style = crop_style(load_spec("siamfc-demo"))
    plain = sample_batch(sampler, style, Augment(shift=4.0), 3, np.random.default_rng(2))
    again = sample_batch(sampler, style, Augment(shift=4.0), 3, np.random.default_rng(2))
    assert plain.x_off is None and torch.equal(plain.x, again.x)  # no extra draws without it
    twins = sample_batch(sampler, style, Augment(shift=4.0, off_scale=(1.1, 1.2)), 3,
                         np.random.default_rng(2))
    size = style.search_size
    assert twins.x_off.shape == (3, 2, 3, size, size)
    assert torch.equal(twins.x[0], plain.x[0])  # the first pair is drawn before any ratio
    assert not torch.equal(twins.x_off[:, 0], twins.x) and not torch.equal(twins.x_off[:, 1], twins.x)


# ----------------------------------------------------------------------------- loop and files


def _tiny_config(seed: int = 0) -> TrainConfig:
    return TrainConfig(epochs=1, pairs_per_epoch=4, batch_size=2, warmup_steps=1, seed=seed)


def test_training_is_deterministic_per_seed_and_loads_into_the_tracker(tiny_data, tmp_path):
    from siambench.models.checkpoints import read_checkpoint
    from siambench.trackers.registry import create_tracker

    spec = load_spec("siamrpnpp-alex-demo")
    sequences = read_folder(tiny_data)
    first = train(spec, sequences, _tiny_config(seed=5))
    again = train(spec, sequences, _tiny_config(seed=5))
    other = train(spec, sequences, _tiny_config(seed=6))
    a, b, c = (r.model.state_dict() for r in (first, again, other))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)

    path = save_weights(first.model, tmp_path / "w.pth", first.info)
    state = read_checkpoint(path)
    assert state["backbone.features.0.weight"].dtype == torch.float16
    assert state["backbone.features.1.running_var"].dtype == torch.float32
    tracker = create_tracker(spec, "cpu", weights=path)
    frame = np.full((120, 160, 3), 90, dtype=np.uint8)
    tracker.init(frame, np.array([60.0, 40.0, 20.0, 24.0]))
    assert np.all(np.isfinite(tracker.track(frame).box))


@pytest.mark.parametrize("tracker", ["siamfc-demo", "siamrpnpp-alex-demo"])
def test_a_few_steps_on_one_batch_lower_the_loss(tracker, tiny_data, monkeypatch):
    """The gradients reach the network: repeating one batch must fit it."""
    import siambench.training.loop as loop

    sequences = read_folder(tiny_data)
    fixed = {}
    real = loop.sample_batch

    def same_batch(*args, **kwargs):
        if "batch" not in fixed:
            fixed["batch"] = real(*args, **kwargs)
        return fixed["batch"]

    monkeypatch.setattr(loop, "sample_batch", same_batch)
    config = TrainConfig(epochs=8, pairs_per_epoch=2, batch_size=2, warmup_steps=1, lr=5e-4,
                         final_lr=1.0, scale_jitter=0.0)
    result = train(load_spec(tracker), sequences, config)
    assert result.history[-1].loss < 0.5 * result.history[0].loss


def test_siamfc_training_with_scale_rank_adds_the_scale_loss(tiny_data):
    config = TrainConfig(epochs=1, pairs_per_epoch=4, batch_size=2, warmup_steps=1, scale_rank=2.0)
    result = train(load_spec("siamfc-demo"), read_folder(tiny_data), config)
    parts = result.history[0].parts
    assert set(parts) == {"logistic", "scale"} and parts["scale"] > 0
    assert np.isclose(result.history[0].loss, parts["logistic"] + 2.0 * parts["scale"], rtol=1e-5)
    assert result.info["config"]["scale_rank"] == 2.0


def test_siamfc_training_starts_from_the_random_init_trackers_network():
    """Fine-tuning starts where ``--random-init`` stands, so it is compared with its own start."""
    from siambench.trackers.registry import create_tracker
    from siambench.training.loop import SiamFCTask, initial_model
    from siambench.training.pairs import crop_style

    spec = load_spec("siamfc-demo")
    config = TrainConfig()
    start = initial_model(SiamFCTask(spec, config, crop_style(spec)), "tracker-random", seed=7)
    tracker = create_tracker(spec, "cpu", random_init=True)
    z = torch.rand(1, 3, 127, 127) * 255
    x = torch.rand(1, 3, 255, 255) * 255
    with torch.no_grad():
        ours = start.eval()(z, x)
        theirs = tracker.model(z, x)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-3)


def test_frozen_batchnorm_keeps_its_statistics_while_the_weights_learn(tiny_data):
    from siambench.training.loop import SiamFCTask, initial_model
    from siambench.training.pairs import crop_style

    spec = load_spec("siamfc-demo")
    config = TrainConfig(epochs=1, pairs_per_epoch=4, batch_size=2, warmup_steps=1,
                         batchnorm="frozen")
    before = initial_model(SiamFCTask(spec, config, crop_style(spec)), "tracker-random", 0)
    after = train(spec, read_folder(tiny_data), config).model
    old, new = before.state_dict(), after.state_dict()
    stats = [k for k in old if k.endswith(("running_mean", "running_var"))]
    assert stats and all(torch.equal(old[k], new[k]) for k in stats)
    assert not torch.equal(old["backbone.conv1.0.weight"], new["backbone.conv1.0.weight"])


def test_train_refuses_other_adapters_and_the_demo_test_set():
    with pytest.raises(SiambenchError, match="supports"):
        crop_style(load_spec("opencv-mil"))
    with pytest.raises(SiambenchError, match="demo test set"):
        load_sequences(dataset="demo")
    with pytest.raises(SiambenchError, match="not both"):
        load_sequences(data="x", dataset="otb2015")
    with pytest.raises(SiambenchError, match="unknown init"):
        TrainConfig(init="imagenet").validate()
    with pytest.raises(SiambenchError, match="scale-rank"):
        TrainConfig(scale_rank=1.0, off_scale=(0.9, 1.2)).validate()
    with pytest.raises(SiambenchError, match="'siamfc' adapter"):
        train(load_spec("siamrpnpp-alex-demo"), [], TrainConfig(scale_rank=1.0))


@pytest.mark.parametrize(("tracker", "key", "lr", "extra"), [
    ("siamrpnpp-alex-demo", "rpn_head.cls.head.3.weight", 1e-3, []),
    # fine-tuning its random twin: small steps; and its scale choice
    ("siamfc-demo", "backbone.conv5.0.weight", 1e-4, ["--scale-rank", "3"]),
])
def test_train_command_writes_loadable_weights(tiny_data, tmp_path, tracker, key, lr, extra):
    from click.testing import CliRunner

    from siambench.cli import cli
    from siambench.models.checkpoints import read_checkpoint

    out = tmp_path / "demo.pth"
    result = CliRunner().invoke(cli, [
        "train", "--tracker", tracker, "--data", str(tiny_data), "--epochs", "1",
        "--pairs", "2", "--batch-size", "2", "--device", "cpu", "--out", str(out),
        "--negatives", "0.25", "--lookalikes", "0.25", "--min-visible", "0.7", "--light-jitter", "0.5",
        *extra,
    ])
    assert result.exit_code == 0, result.output
    assert "epoch 1/1: loss" in result.output and out.is_file()
    assert key in read_checkpoint(out)
    config = torch.load(out, weights_only=True)["siambench_training"]["config"]
    assert config["lr"] == lr and config["negatives"] == 0.25 and config["lookalikes"] == 0.25
    assert config["min_visible"] == 0.7 and config["light_jitter"] == 0.5
    assert config["scale_rank"] == (3.0 if extra else 0.0)


def test_packaged_demo_weights_resolve_and_are_small():
    from siambench.weights import resolve_weights

    for name in ("siamfc-demo", "siamrpnpp-alex-demo"):
        spec = load_spec(name)
        assert spec.checkpoint.startswith("package:")
        path = resolve_weights(spec)
        assert path.parent == REPO / "siambench" / "data" / "weights"
        assert path.stat().st_size < 10_000_000
