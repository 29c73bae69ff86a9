"""Ground truth, VOT tags and OTB attributes, derived from what the generator did."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siambench.synth.scene import SequencePlan, Sprite

VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
#: OTB-100's attributes, in the order of its attribute list. DEF, OPR and OV never occur here:
#: the target is rigid, planar and always fully inside the frame.
OTB_ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")

# Tag and attribute thresholds. "u" is the frame's shorter side / 240, so that motion thresholds
# follow the frame size; FM and LR keep OTB's absolute definitions (tm=20 px, tr=400 px).
OCCLUSION_MIN = 0.10  # fraction of the target's area hidden by occluders (tag and OCC)
CAMERA_MOTION_MIN = 0.5  # camera pan, u-pixels per frame
MOTION_CHANGE_MIN = 3.0  # change of the target's velocity between frames, u-pixels per frame
SIZE_CHANGE_WINDOW, SIZE_CHANGE_MIN = 10, 0.10  # relative change of linear size over the window
ILLUM_WINDOW, ILLUM_CHANGE_MIN = 5, 0.05  # relative change of light on the target over the window
IV_RATIO = 1.4  # brightest / darkest light on the target over the sequence
SV_RATIO = 2.0  # OTB's ts: area ratio to the first frame
FM_PIXELS = 20.0  # OTB's tm: centre displacement between frames
MB_PIXELS = 5.0  # length of the motion-blur streak
IPR_DEGREES = 20.0  # rotation away from the first frame's angle
BC_REACH, BC_FRACTION = 0.75, 0.2  # a look-alike near the target in this share of frames
LR_PIXELS = 400.0  # OTB's tr: ground-truth box area
#: Per sequence: the fraction of the target left visible by occluders, one line per frame. The
#: ground truth keeps the box of a hidden target (OTB's convention), so a trainer needs this to
#: tell a target from the occluder in front of it.
VISIBLE_FILE = "visible.txt"
#: Per sequence: the boxes of the moving look-alikes, one line per frame, x,y,w,h for each (in
#: a fixed order, as groundtruth_rect.txt writes the target's), for training on hard negatives.
DISTRACTORS_FILE = "distractors.txt"


@dataclass
class Annotation:
    polygons: np.ndarray  # (N, 8) corners of the rotated target rectangle
    boxes: np.ndarray  # (N, 4) integer x, y, w, h of the axis-aligned box around it
    tags: dict[str, np.ndarray]  # VOT_TAGS -> (N,) 0/1
    attributes: list[str]  # OTB attributes, in OTB_ATTRIBUTES order
    hidden: np.ndarray  # (N,) fraction of the target hidden by occluders
    distractors: np.ndarray  # (N, K, 4) integer x, y, w, h of the K moving look-alikes

    @property
    def visible(self) -> np.ndarray:
        """(N,) fraction of the target that no occluder hides."""
        return np.clip(1.0 - self.hidden, 0.0, 1.0)


def target_polygons(target: Sprite) -> np.ndarray:
    """The rotated rectangle's corners, in order around it: (N, 8) x1, y1, ..., x4, y4 (of the
    target or of any other sprite)."""
    half_w = target.size[0] * target.scale / 2
    half_h = target.size[1] * target.scale / 2
    theta = np.radians(target.angle)
    cos, sin = np.cos(theta), np.sin(theta)
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        dx, dy = sx * half_w, sy * half_h
        corners += [target.cx + cos * dx - sin * dy, target.cy + sin * dx + cos * dy]
    return np.stack(corners, axis=1)


def enclosing_boxes(polygons: np.ndarray) -> np.ndarray:
    """(N, 4) integer x, y, w, h of the axis-aligned box around each (N, 8) polygon, corners
    rounded to whole pixels."""
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    left, top = np.rint(xs.min(axis=1)), np.rint(ys.min(axis=1))
    boxes = np.stack(
        [left, top, np.rint(xs.max(axis=1)) - left, np.rint(ys.max(axis=1)) - top], axis=1
    )
    return boxes.astype(np.int64)


def annotate(plan: SequencePlan, hidden: np.ndarray) -> Annotation:
    """Ground truth, per-frame VOT tags and OTB attributes from the plan and the render."""
    polygons = target_polygons(plan.target)
    boxes = enclosing_boxes(polygons)
    distractors = np.stack([enclosing_boxes(target_polygons(d)) for d in plan.distractors], axis=1) \
        if plan.distractors else np.zeros((plan.n, 0, 4), np.int64)
    target, u = plan.target, plan.unit

    def change(values: np.ndarray, window: int) -> np.ndarray:
        earlier = values[np.maximum(np.arange(plan.n) - window, 0)]
        return np.abs(values / earlier - 1.0)

    velocity = np.diff(
        np.stack([target.cx, target.cy], axis=1), axis=0, prepend=[[target.cx[0], target.cy[0]]]
    )
    jerk = np.hypot(*np.diff(velocity, axis=0, prepend=velocity[:1]).T)
    pan = np.hypot(*np.diff(plan.camera, axis=0, prepend=plan.camera[:1]).T)
    light = light_on_target(plan)
    tags = {
        "camera_motion": pan >= CAMERA_MOTION_MIN * u,
        "illum_change": change(light, ILLUM_WINDOW) >= ILLUM_CHANGE_MIN,
        "motion_change": jerk >= MOTION_CHANGE_MIN * u,
        "size_change": change(target.scale, SIZE_CHANGE_WINDOW) >= SIZE_CHANGE_MIN,
        "occlusion": hidden >= OCCLUSION_MIN,
    }
    tags = {name: tags[name].astype(np.int8) for name in VOT_TAGS}

    area_ratio = (target.scale / target.scale[0]) ** 2
    blur = np.hypot(*target.blur.T) if target.blur is not None else np.zeros(plan.n)
    rotation = np.abs(target.angle - target.angle[0])
    found = {
        "IV": light.max() / max(light.min(), 1e-6) >= IV_RATIO,
        "SV": bool(np.any((area_ratio > SV_RATIO) | (area_ratio < 1 / SV_RATIO))),
        "OCC": bool(np.any(hidden >= OCCLUSION_MIN)),
        "MB": bool(np.any(blur >= MB_PIXELS)),
        "FM": bool(np.any(np.hypot(*velocity.T) > FM_PIXELS)),
        "IPR": bool(np.any(rotation >= IPR_DEGREES)),
        "BC": float(np.mean(look_alike_near(plan))) >= BC_FRACTION,
        "LR": bool(np.any(boxes[:, 2] * boxes[:, 3] < LR_PIXELS)),
    }
    attributes = [name for name in OTB_ATTRIBUTES if found.get(name, False)]
    return Annotation(polygons, boxes, tags, attributes, hidden, distractors)


def light_on_target(plan: SequencePlan) -> np.ndarray:
    """The illumination gain at the target's centre, per frame (as `render_frames` applies it)."""
    width, height = plan.size
    gx = (plan.target.cx - width / 2) / (width / 2)
    gy = (plan.target.cy - height / 2) / (height / 2)
    along = gx * np.cos(plan.light_dir) + gy * np.sin(plan.light_dir)
    return np.maximum(plan.light_level * (1.0 + plan.light_slope * along), 1e-6)


def look_alike_near(plan: SequencePlan) -> np.ndarray:
    """Per frame: is a look-alike (moving or painted) close to the target?

    Close means centres nearer than BC_REACH times the sum of the two diagonals.
    """
    target = plan.target
    near = np.zeros(plan.n, bool)
    reach = target.diagonal()
    for sprite in plan.distractors:
        gap = np.hypot(sprite.cx - target.cx, sprite.cy - target.cy)
        near |= gap < BC_REACH * (reach + sprite.diagonal())
    for x, y, diagonal in plan.clutter:
        gap = np.hypot(x - plan.camera[:, 0] - target.cx, y - plan.camera[:, 1] - target.cy)
        near |= gap < BC_REACH * (reach + diagonal)
    return near
