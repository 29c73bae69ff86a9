"""Synthetic tracking benchmarks rendered from seeded noise, and the ``demo`` datasets.

`generate` renders deterministic sequences: a textured rectangle (the target) moves, scales and
rotates over a textured background, among look-alike distractors, behind moving occluders, with
fast-motion bursts (motion-blurred), camera pans and illumination changes. Everything comes from
numpy noise seeded by ``(seed, sequence index)``, so sequence *i* is the same whatever the number
of sequences or the layout, and ``demo`` and ``demo-vot`` hold the same videos. Tags and
attributes are derived from what the generator did, with the thresholds named in
`siambench.synth.annotation`.

Sequence *i* stresses the scenario ``SCENARIOS[i % 6]`` and is named after it: ``Occlusion1``,
``Clutter1``, ``FastMotion1``, ``Rotation1``, ``Scale1``, ``Lighting1``, then ``Occlusion2`` ...
(lower-case in the VOT layout).

Coordinates are continuous pixel coordinates in which pixel (i, j) covers [i, i+1) x [j, j+1),
0-based, the convention of the trackers' outputs.

OTB layout (``layout="otb"``; the ``demo`` dataset)::

    <root>/attributes.txt               Name<TAB>IV, OCC, ...  (format of attributes_otb100.txt)
    <root>/synth.json                   how it was made: generator version, seed, size, names
    <root>/<Seq>/img/0001.jpg ...       frames, numbered from 1
    <root>/<Seq>/groundtruth_rect.txt   x,y,w,h per frame: integers, 0-based, to be used as-is
                                        (like pysot's OTB loader; no -1 shift)
    <root>/<Seq>/visible.txt            per frame, the fraction of the target's area that no
                                        occluder hides (0.000-1.000); read by `siambench train`
    <root>/<Seq>/distractors.txt        per frame, x,y,w,h of each moving look-alike (as the
                                        ground truth's boxes: the box enclosing its pixels);
                                        only where the sequence has look-alikes; read by
                                        `siambench train`

VOT layout (``layout="vot"``; the ``demo-vot`` dataset), VOT 2015-2019 style::

    <root>/list.txt                     one sequence name per line
    <root>/synth.json
    <root>/<seq>/color/00000001.jpg ...
    <root>/<seq>/groundtruth.txt        x1,y1,x2,y2,x3,y3,x4,y4 per frame (the rotated rectangle)
    <root>/<seq>/<tag>.tag              one 0/1 per frame: camera_motion, illum_change,
                                        motion_change, size_change, occlusion
    <root>/<seq>/visible.txt            as in the OTB layout
    <root>/<seq>/distractors.txt        as in the OTB layout: enclosing x,y,w,h boxes, which
                                        for a rotated look-alike are larger than the
                                        area-preserving box training takes from a polygon
    <root>/<seq>/sequence               channels.color=color/%08d.jpg, format=default, fps=30,
                                        name=<seq>

The demo data live in ``$SIAMBENCH_CACHE/data/{demo,demo-vot}`` (default cache
``~/.cache/siambench``); `ensure_demo` renders them on first use.

Modules, in the order the data flow through them:

    config       SynthConfig (what decides the data), layouts, demo defaults
    scenarios    the six scenarios, sequence names, each scenario's challenge doses
    geometry     rotated-box extents, random directions, reflection
    textures     seeded colour noise, palettes, masks, anti-aliasing pyramids
    motion       event times, smooth ramps, the bouncing walk
    scene        Sprite and SequencePlan, the plan's data
    plan         plan_sequence: every trajectory and texture, before rendering
    render       compositing with motion blur; render_frames
    annotation   ground truth, VOT tags, OTB attributes
    manifest     synth.json and is_current
    staging      atomic folder replacement
    layout       generate / write_benchmark: the OTB and VOT folders
    demo         ensure_demo and the cache
"""

from siambench.synth.annotation import (
    BC_FRACTION,
    BC_REACH,
    CAMERA_MOTION_MIN,
    DISTRACTORS_FILE,
    FM_PIXELS,
    ILLUM_CHANGE_MIN,
    ILLUM_WINDOW,
    IPR_DEGREES,
    IV_RATIO,
    LR_PIXELS,
    MB_PIXELS,
    MOTION_CHANGE_MIN,
    OCCLUSION_MIN,
    OTB_ATTRIBUTES,
    SIZE_CHANGE_MIN,
    SIZE_CHANGE_WINDOW,
    SV_RATIO,
    VISIBLE_FILE,
    VOT_TAGS,
    Annotation,
    annotate,
    enclosing_boxes,
    light_on_target,
    look_alike_near,
    target_polygons,
)
from siambench.synth.config import (
    DEMO_FRAMES,
    DEMO_SEED,
    DEMO_SEQUENCES,
    DEMO_SIZE,
    LAYOUTS,
    SynthConfig,
    frame_range,
)
from siambench.synth.demo import (
    CACHE_ENV,
    DEMO_FOLDERS,
    cache_dir,
    demo_config,
    demo_path,
    ensure_demo,
)
from siambench.synth.layout import generate, write_benchmark
from siambench.synth.manifest import GENERATOR_VERSION, MANIFEST, is_current
from siambench.synth.plan import CLEAR_FRAMES, plan_sequence
from siambench.synth.render import render_frames
from siambench.synth.scenarios import SCENARIOS, sequence_name
from siambench.synth.scene import SequencePlan, Sprite

__all__ = [
    "BC_FRACTION",
    "BC_REACH",
    "CACHE_ENV",
    "CAMERA_MOTION_MIN",
    "CLEAR_FRAMES",
    "DEMO_FOLDERS",
    "DEMO_FRAMES",
    "DEMO_SEED",
    "DEMO_SEQUENCES",
    "DEMO_SIZE",
    "DISTRACTORS_FILE",
    "FM_PIXELS",
    "GENERATOR_VERSION",
    "ILLUM_CHANGE_MIN",
    "ILLUM_WINDOW",
    "IPR_DEGREES",
    "IV_RATIO",
    "LAYOUTS",
    "LR_PIXELS",
    "MANIFEST",
    "MB_PIXELS",
    "MOTION_CHANGE_MIN",
    "OCCLUSION_MIN",
    "OTB_ATTRIBUTES",
    "SCENARIOS",
    "SIZE_CHANGE_MIN",
    "SIZE_CHANGE_WINDOW",
    "SV_RATIO",
    "VISIBLE_FILE",
    "VOT_TAGS",
    "Annotation",
    "SequencePlan",
    "Sprite",
    "SynthConfig",
    "annotate",
    "cache_dir",
    "demo_config",
    "demo_path",
    "enclosing_boxes",
    "ensure_demo",
    "frame_range",
    "generate",
    "is_current",
    "light_on_target",
    "look_alike_near",
    "plan_sequence",
    "render_frames",
    "sequence_name",
    "target_polygons",
    "write_benchmark",
]
