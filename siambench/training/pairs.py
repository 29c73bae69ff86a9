"""Template/search pairs, cropped exactly as the tracker crops at test time.

A pair is two frames of one sequence at most `frame_range` frames apart. The template is cut
around the template frame's box as the tracker's ``init`` cuts it; the search region around the
search frame's box as ``track`` cuts it, with the same context, rounding, padding colour (the
template frame's mean, which the tracker keeps from its first frame) and colour order. Two
augmentations move the search region:

- *shift* (SiamRPN++, against the spatial bias of always-centred targets): the region is
  moved so that the target lands at a uniformly random offset of up to `shift` search-crop
  pixels from the centre, on each axis;
- *scale*: the region's side is multiplied by ``1 + u * scale_jitter``, u uniform in [-1, 1]
  (pysot's SEARCH.SCALE, siamfc-pytorch's stretch), so the target's size varies around the
  size the context normalisation gives it.

A third (optional) changes the light: the search frame's intensities are multiplied by a
gain drawn log-uniformly in ``[1 / (1 + light), 1 + light]`` before the region is cut, while
the padding keeps the template frame's mean colour, as at test time once the light has changed.

With *off-scale twins* (for SiamFC's scale-choice loss) each search region is cut twice more,
``r`` times wider and ``r`` times narrower about the same target position, ``r`` drawn
log-uniformly in a range: the same target, ``r`` times smaller and larger.

The target's box is returned in search-crop pixels relative to the crop centre, where the
trackers decode their outputs.

*Look-alike pairs* (DaSiamRPN's distractor-aware training, optional): a fraction of the pairs
centre their search region on a look-alike of the target in the search frame (where the data
record them: the synthetic sets' ``distractors.txt``), at the scale the target's size gives, so
the object at the centre, where the tracker's window favours it, is not the template's. The
target keeps its positive cells wherever it falls on the map (usually off it); the look-alike's
box is returned too, so that SiamRPN's sample takes the anchors on it as negatives first.

*Negative pairs* (DaSiamRPN's idea, optional): a fraction of the pairs take their search frame
from another sequence, cropped around that sequence's target exactly like a positive search
region. The region then holds an object that is not the template's (in the synthetic sets: a
sprite of another texture and shape, in a scene of its own), so every score-map cell and
anchor is a negative, and the network learns to reject an object that merely sits at the
centre instead of answering "object here" to whatever it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq
from dataclasses import dataclass

import numpy as np
import torch

from siambench import ops
from siambench.datasets import Sequence
from siambench.errors import SiambenchError
from siambench.frames import read_frame
from siambench.regions import axis_aligned
from siambench.trackers.registry import TrackerSpec

MIN_SIDE = 2.0  # boxes thinner than this (in frame pixels) are not used


@dataclass(frozen=True)
class CropStyle:
    """How one tracker family crops, read from a tracker spec.

    family: "siamfc" (siamfc-pytorch crops, ``trackers/siamfc.py``) or "siamrpn" (pysot's
    ``get_subwindow``, ``trackers/siamrpn.py``). `search_size` is the training search crop; the
    scale (crop pixels per frame pixel) is the tracker's whatever its size.
    """

    family: str
    exemplar_size: int
    search_size: int
    context_amount: float
    rounding: str = "half_up"
    rgb: bool = False

    def context_size(self, w: float, h: float) -> float:
        """Side of the square around a w x h target that the exemplar crop covers."""
        pad = self.context_amount * (w + h)
        return math.sqrt((w + pad) * (h + pad))


#: pysot trains SiamRPN on 255-pixel search crops (cfg.TRAIN.SEARCH_SIZE) whatever the
#: tracker's instance size; siamfc-pytorch trains on its instance size.
PYSOT_TRAIN_SEARCH_SIZE = 255


def crop_style(spec: TrackerSpec, search_size: int | None = None) -> CropStyle:
    """The crops of the tracker `spec` describes (adapters ``siamfc`` and ``siamrpn``)."""
    if spec.adapter == "siamfc":
        from siambench.trackers.siamfc import SiamFCConfig, config_from, where

        cfg = config_from(SiamFCConfig, spec.hyper, where(spec))
        return CropStyle(
            family="siamfc",
            exemplar_size=cfg.exemplar_size,
            search_size=int(search_size or cfg.instance_size),
            context_amount=cfg.context_amount,
            rounding="python",
            rgb=spec.model.get("input_color", "rgb") == "rgb",
        )
    if spec.adapter == "siamrpn":
        from siambench.trackers.siamrpn import SiamRPNConfig

        cfg = SiamRPNConfig.from_hyper(spec.hyper, f"tracker {spec.name!r}")
        return CropStyle(
            family="siamrpn",
            exemplar_size=cfg.exemplar_size,
            search_size=int(search_size or PYSOT_TRAIN_SEARCH_SIZE),
            context_amount=cfg.context_amount,
            rounding=cfg.crop_rounding,
        )
    raise SiambenchError(
        f"tracker {spec.name!r} uses adapter {spec.adapter!r}; training supports the "
        "'siamfc' and 'siamrpn' adapters"
    )


def _center(box: np.ndarray) -> np.ndarray:
    # both trackers put the centre of an (x, y, w, h) box at x + (w - 1) / 2
    return np.array([box[0] + (box[2] - 1) / 2, box[1] + (box[3] - 1) / 2])


def _fill(style: CropStyle, image: np.ndarray) -> np.ndarray:
    mean = ops.channel_mean(image)
    # siamfc-pytorch pads with cv2.copyMakeBorder, which rounds the mean; pysot truncates it
    return np.round(mean) if style.family == "siamfc" else mean


def _crop(style: CropStyle, image: np.ndarray, center: np.ndarray, side: float, out: int,
          fill: np.ndarray) -> np.ndarray:
    if style.family == "siamfc":
        from siambench.trackers.siamfc import crop_siamfc

        return crop_siamfc(image, center, side, out, fill)
    return ops.crop_patch(image, center, out, round(side), fill, style.rounding)


def _colour(style: CropStyle, frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame[..., ::-1]) if style.rgb else frame


def crop_template(style: CropStyle, frame: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exemplar patch (E, E, 3) uint8 of `box` in `frame`, and the padding colour used."""
    image = _colour(style, frame)
    fill = _fill(style, image)
    side = style.context_size(box[2], box[3])
    return _crop(style, image, _center(box), side, style.exemplar_size, fill), fill


def crop_search(
    style: CropStyle,
    frame: np.ndarray,
    box: np.ndarray,
    fill: np.ndarray,
    shift: Seq[float] = (0.0, 0.0),
    stretch: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The search patch (S, S, 3) uint8 around `box`, and the box (cx, cy, w, h) in crop
    pixels relative to the crop centre.

    The region has the side the tracker would use for this target size times `stretch`, and
    is placed so that the target's centre lies `shift` crop pixels from the crop's centre.
    """
    image = _colour(style, frame)
    scale = search_scale(style, box, stretch)
    center = _center(box) - np.asarray(shift, dtype=np.float64) / scale
    patch = _crop(style, image, center, style.search_size / scale, style.search_size, fill)
    target = np.array([shift[0], shift[1], box[2] * scale, box[3] * scale], dtype=np.float64)
    return patch, target


def search_scale(style: CropStyle, box: np.ndarray, stretch: float = 1.0) -> float:
    """Search-crop pixels per frame pixel for a target of `box`'s size (region side times
    `stretch`), as :func:`crop_search` cuts it."""
    side = style.context_size(box[2], box[3]) * style.search_size / style.exemplar_size * stretch
    return style.search_size / side


# ----------------------------------------------------------------------------- sampling


def usable_frames(seq: Sequence, min_visible: float = 0.0) -> np.ndarray:
    """Indices of the frames whose box is known, visible and not degenerate.

    Where the sequence records how much of the target occluders leave visible (``visible``),
    frames showing less than `min_visible` of it are left out too: their box frames the
    occluder, which as a template or a positive would teach the network to follow occluders
    (:class:`PairSampler` makes them negatives instead).
    """
    boxes = np.array([axis_aligned(row) if np.all(np.isfinite(row)) else [np.nan] * 4
                      for row in np.asarray(seq.groundtruth, dtype=np.float64)])
    ok = np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] >= MIN_SIDE) & (boxes[:, 3] >= MIN_SIDE)
    if seq.absent is not None:
        ok &= np.asarray(seq.absent[: len(ok)]) == 0
    if seq.visible is not None and min_visible > 0:
        visible = np.asarray(seq.visible, dtype=np.float64)
        if len(visible) != len(ok):
            raise SiambenchError(f"sequence {seq.name!r}: {len(visible)} visible fractions for "
                                 f"{len(ok)} frames of ground truth")
        ok &= visible >= min_visible
    ok[len(seq.frames):] = False
    return np.flatnonzero(ok)


@dataclass(frozen=True)
class Pair:
    sequence: int  # index into the sampler's sequences
    template: int  # frame indices
    search: int
    search_sequence: int | None = None  # a negative pair's other sequence (None: `sequence`)
    lookalike: int | None = None  # a look-alike pair's distractor, centre of the search region
    hidden: bool = False  # occluders hide the target in the search frame (see PairSampler)

    @property
    def negative(self) -> bool:
        """The search region does not show the template's target."""
        return self.search_sequence is not None or self.hidden


class PairSampler:
    """Draws pairs uniformly over sequences, then frames, from a list of sequences.

    Templates come from the frames :func:`usable_frames` keeps with `min_visible`. Search
    frames may also be frames in which occluders hide the target (below `min_visible` of it
    shows): such a pair is a negative one, as the region shows the occluder where the box is,
    and the network must learn not to take it for the target (which, trained on it as a
    positive, it learns to follow). With `min_visible` 0 no frame is hidden.
    """

    def __init__(self, sequences: Seq[Sequence], frame_range: int, min_visible: float = 0.0) -> None:
        if frame_range < 0:
            raise SiambenchError(f"the frame range must be >= 0, got {frame_range}")
        if not 0 <= min_visible <= 1:
            raise SiambenchError(f"the least visible fraction must be in [0, 1], got {min_visible}")
        if min_visible > 0 and all(seq.visible is None for seq in sequences):
            # otherwise every frame would pass and the option would silently do nothing
            raise SiambenchError("--min-visible needs sequences that record how much of the target "
                                 "shows (the synthetic sets' visible.txt); none of these does")
        usable = []
        for seq in sequences:
            every = usable_frames(seq)
            frames = usable_frames(seq, min_visible) if min_visible > 0 else every
            if len(frames):
                usable.append((seq, frames, every))
        if not usable:
            raise SiambenchError("no sequence has a frame with a usable box to train on")
        self.sequences = [seq for seq, _, _ in usable]
        self.frames = [frames for _, frames, _ in usable]  # templates
        self.search_frames = [every for _, _, every in usable]
        self.hidden = [np.isin(every, frames, invert=True)
                       for every, frames in zip(self.search_frames, self.frames, strict=True)]
        self.frame_range = frame_range
        self._lookalike_sequences: list[int] | None = None

    def sample(self, rng: np.random.Generator) -> Pair:
        s = int(rng.integers(len(self.sequences)))
        template, search, hidden = self._frames_near(s, rng)
        return Pair(s, template, search, hidden=hidden)

    def sample_lookalike(self, rng: np.random.Generator) -> Pair:
        """A pair whose search region is to be centred on a look-alike (see the module doc).

        The sequence is drawn among those that record look-alikes, the frames as in
        :meth:`sample`, then one of the look-alikes that stand apart from the target (centres
        at least the target's mean side apart) with their centre inside the frame; where none
        does, the pair stays an ordinary one.
        """
        with_lookalikes = self.require_lookalikes()
        s = with_lookalikes[int(rng.integers(len(with_lookalikes)))]
        template, search, hidden = self._frames_near(s, rng)
        seq = self.sequences[s]
        boxes = np.asarray(seq.distractors[search], dtype=np.float64)
        target = axis_aligned(seq.groundtruth[search])
        centres = boxes[:, :2] + (boxes[:, 2:] - 1) / 2
        apart = np.hypot(*(centres - _center(target)).T) >= (target[2] + target[3]) / 2
        inside = (centres[:, 0] >= 0) & (centres[:, 1] >= 0)
        if seq.width and seq.height:
            inside &= (centres[:, 0] < seq.width) & (centres[:, 1] < seq.height)
        choices = np.flatnonzero(apart & inside)
        if not len(choices):
            return Pair(s, template, search, hidden=hidden)
        return Pair(s, template, search, lookalike=int(choices[rng.integers(len(choices))]),
                    hidden=hidden)

    def require_lookalikes(self) -> list[int]:
        """:meth:`lookalike_sequences`, an error when there is none (--lookalikes needs them)."""
        found = self.lookalike_sequences()
        if not found:
            raise SiambenchError("--lookalikes needs sequences that record their look-alikes (the "
                                 "synthetic sets' distractors.txt); none of these does")
        return found

    def lookalike_sequences(self) -> list[int]:
        """Indices of the sequences that record look-alikes, checked against their ground truth."""
        if self._lookalike_sequences is None:
            self._lookalike_sequences = []
            for i, seq in enumerate(self.sequences):
                if seq.distractors is None:
                    continue
                boxes = np.asarray(seq.distractors, dtype=np.float64)
                if boxes.ndim != 3 or boxes.shape[0] != len(seq.groundtruth) or boxes.shape[2] != 4:
                    raise SiambenchError(
                        f"sequence {seq.name!r}: look-alike boxes of shape {boxes.shape}, expected "
                        f"({len(seq.groundtruth)}, K, 4): K boxes per frame of ground truth")
                if boxes.shape[1] > 0:
                    self._lookalike_sequences.append(i)
        return self._lookalike_sequences

    def _frames_near(self, s: int, rng: np.random.Generator) -> tuple[int, int, bool]:
        """A template frame, a search frame near it, and whether the target is hidden there."""
        frames = self.frames[s]
        template = int(frames[rng.integers(len(frames))])
        candidates = self.search_frames[s]
        near = np.flatnonzero(np.abs(candidates - template) <= self.frame_range)
        pick = int(near[rng.integers(len(near))])
        return template, int(candidates[pick]), bool(self.hidden[s][pick])

    def lookalike_box(self, pair: Pair) -> np.ndarray:
        """The (x, y, w, h) frame box of a look-alike pair's look-alike in its search frame."""
        return np.asarray(self.sequences[pair.sequence].distractors[pair.search][pair.lookalike],
                          dtype=np.float64)

    def sample_negative(self, rng: np.random.Generator) -> Pair:
        """A template from one sequence and a search frame from another (see the module doc)."""
        if len(self.sequences) < 2:
            raise SiambenchError("negative pairs need at least two sequences with usable boxes")
        s = int(rng.integers(len(self.sequences)))
        other = int(rng.integers(len(self.sequences) - 1))
        other += other >= s  # any sequence but s, uniformly
        template = int(self.frames[s][rng.integers(len(self.frames[s]))])
        search = int(self.frames[other][rng.integers(len(self.frames[other]))])
        return Pair(s, template, search, other)

    def _where(self, pair: Pair, which: str) -> tuple[Sequence, int]:
        if which == "template":
            return self.sequences[pair.sequence], pair.template
        seq = pair.sequence if pair.search_sequence is None else pair.search_sequence
        return self.sequences[seq], pair.search

    def box(self, pair: Pair, which: str) -> np.ndarray:
        seq, frame = self._where(pair, which)
        return axis_aligned(seq.groundtruth[frame])

    def frame(self, pair: Pair, which: str) -> np.ndarray:
        seq, frame = self._where(pair, which)
        return read_frame(seq.frames[frame])


@dataclass(frozen=True)
class Augment:
    shift: float = 0.0  # search-crop pixels, per axis
    scale_jitter: float = 0.0
    negatives: float = 0.0  # fraction of negative pairs (search frame from another sequence)
    lookalikes: float = 0.0  # fraction of look-alike pairs (search region on a look-alike)
    light: float = 0.0  # search-frame gain range, 1 / (1 + light) to 1 + light (0: none)
    # off-scale twins of each search crop: side ratios drawn log-uniformly in this range (None: none)
    off_scale: tuple[float, float] | None = None


@dataclass
class Batch:
    z: torch.Tensor  # (B, 3, E, E) float32, 0-255, in the tracker's colour order
    x: torch.Tensor  # (B, 3, S, S)
    boxes: np.ndarray  # (B, 4) cx, cy, w, h relative to the search crop's centre
    negative: np.ndarray  # (B,) bool: the search region does not hold the template's target
    # (B, 4) cx, cy, w, h (relative to the crop centre) of the look-alike a look-alike pair's
    # region is centred on; NaN rows for the other pairs
    lookalikes: np.ndarray
    # (B, 2, 3, S, S): each search region cut r times wider and r times narrower about the same
    # target position (the target then looks r times smaller / larger); None without off_scale
    x_off: torch.Tensor | None = None


def sample_batch(
    sampler: PairSampler, style: CropStyle, augment: Augment, size: int, rng: np.random.Generator
) -> Batch:
    """`size` random pairs, cropped and augmented."""
    zs, xs, boxes, negative, offs = [], [], [], [], []
    hard = np.full((size, 4), np.nan)
    for i in range(size):
        pair = _draw_pair(sampler, augment, rng)
        z, fill = crop_template(style, sampler.frame(pair, "template"), sampler.box(pair, "template"))
        shift = rng.uniform(-augment.shift, augment.shift, 2)
        stretch = 1.0 + rng.uniform(-1.0, 1.0) * augment.scale_jitter
        frame, where = sampler.frame(pair, "search"), sampler.box(pair, "search")
        if augment.light > 0:  # no draw without it, so older commands give the same weights
            frame = relight(frame, math.exp(rng.uniform(-1.0, 1.0) * math.log1p(augment.light)))
        if pair.lookalike is not None:
            # the region moves onto the look-alike: the target sits that far from its centre
            look = sampler.lookalike_box(pair)
            scale = search_scale(style, where, stretch)
            shift = shift + (_center(where) - _center(look)) * scale
            hard[i] = [*(_center(look) - _center(where)) * scale + shift, *look[2:] * scale]
        x, box = crop_search(style, frame, where, fill, shift, stretch)
        if augment.off_scale is not None:
            lo, hi = augment.off_scale
            ratio = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            offs.extend(crop_search(style, frame, where, fill, shift, stretch * r)[0]
                        for r in (ratio, 1.0 / ratio))
        zs.append(z)
        xs.append(x)
        boxes.append(box)
        negative.append(pair.negative)
    x_off = None
    if offs:
        x_off = _to_tensor(offs).reshape(size, 2, 3, style.search_size, style.search_size)
    return Batch(_to_tensor(zs), _to_tensor(xs), np.stack(boxes), np.array(negative, dtype=bool),
                 hard, x_off=x_off)


def _draw_pair(sampler: PairSampler, augment: Augment, rng: np.random.Generator) -> Pair:
    """A negative, look-alike or ordinary pair, in the fractions `augment` asks for.

    One draw decides, so the two fractions are shares of all pairs; none is made without
    negatives or look-alikes, so older commands (with or without --negatives) give the same
    weights as before.
    """
    if augment.negatives > 0 or augment.lookalikes > 0:
        kind = rng.random()
        if kind < augment.negatives:
            return sampler.sample_negative(rng)
        if kind < augment.negatives + augment.lookalikes:
            return sampler.sample_lookalike(rng)
    return sampler.sample(rng)


def relight(frame: np.ndarray, gain: float) -> np.ndarray:
    """`frame` (uint8) with its intensities times `gain`, rounded and clipped to 0-255."""
    return np.clip(frame.astype(np.float32) * np.float32(gain) + np.float32(0.5), 0, 255).astype(np.uint8)


def _to_tensor(patches: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(patches).transpose(0, 3, 1, 2))).float()
