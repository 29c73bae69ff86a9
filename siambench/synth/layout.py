"""Writing the OTB and VOT folder layouts (`generate` does it atomically)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from siambench.errors import SiambenchError
from siambench.synth.annotation import DISTRACTORS_FILE, VISIBLE_FILE, Annotation, annotate
from siambench.synth.config import (
    DEMO_FRAMES,
    DEMO_SEED,
    DEMO_SEQUENCES,
    DEMO_SIZE,
    SynthConfig,
    frame_range,
)
from siambench.synth.manifest import write_manifest
from siambench.synth.plan import plan_sequence
from siambench.synth.render import render_frames
from siambench.synth.staging import publish, staging_folder


def generate(
    out: str | Path,
    layout: str = "otb",
    sequences: int = DEMO_SEQUENCES,
    seed: int = DEMO_SEED,
    frames: int | tuple[int, int] = DEMO_FRAMES,
    size: tuple[int, int] = DEMO_SIZE,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Render a benchmark into `out` atomically and return its sequence names.

    The data are rendered into a temporary sibling folder that replaces `out` only when complete.
    An existing non-empty `out` is an error unless `overwrite`. `progress(done, total)` is called
    after each frame.
    """
    config = SynthConfig(layout, sequences, seed, frame_range(frames), (int(size[0]), int(size[1])))
    config.validate()
    out = Path(out).expanduser()
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise SiambenchError(f"{out} already exists and is not empty (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(out)
    try:
        names = write_benchmark(staging, config, progress)
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names


def write_benchmark(
    root: Path, config: SynthConfig, progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Render every sequence of `config` into the existing folder `root` (not atomic)."""
    import cv2

    config.validate()
    plans = [plan_sequence(config, i) for i in range(config.sequences)]
    total, done = sum(plan.n for plan, _ in plans), 0
    names, info = [], []
    params = [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality]
    for plan, noise in plans:
        name = plan.name.lower() if config.layout == "vot" else plan.name
        folder = root / name
        images = folder / ("color" if config.layout == "vot" else "img")
        images.mkdir(parents=True)
        pattern = "{:08d}.jpg" if config.layout == "vot" else "{:04d}.jpg"
        hidden = np.zeros(plan.n)
        for t, (image, covered) in enumerate(render_frames(plan, noise)):
            path = images / pattern.format(t + 1)
            if not cv2.imwrite(str(path), image, params):
                raise SiambenchError(f"{path}: OpenCV could not write the JPEG")
            hidden[t] = covered
            done += 1
            if progress is not None:
                progress(done, total)
        note = annotate(plan, hidden)
        if config.layout == "vot":
            _write_vot_sequence(folder, name, note)
        else:
            _write_lines(
                folder / "groundtruth_rect.txt", (",".join(map(str, b)) for b in note.boxes)
            )
        _write_lines(folder / VISIBLE_FILE, (f"{v:.3f}" for v in note.visible))
        if note.distractors.shape[1]:
            _write_lines(folder / DISTRACTORS_FILE,
                         (",".join(map(str, row.ravel())) for row in note.distractors))
        names.append(name)
        info.append(
            {
                "name": name,
                "scenario": plan.scenario,
                "frames": plan.n,
                "attributes": note.attributes,
                "size": list(plan.size),
            }
        )
    if config.layout == "vot":
        _write_lines(root / "list.txt", names)
    else:
        _write_lines(
            root / "attributes.txt", (f"{i['name']}\t{', '.join(i['attributes'])}" for i in info)
        )
    write_manifest(root, config, info)
    return names


def _write_vot_sequence(folder: Path, name: str, note: Annotation) -> None:
    _write_lines(
        folder / "groundtruth.txt", (",".join(f"{v:.2f}" for v in p) for p in note.polygons)
    )
    for tag, values in note.tags.items():
        _write_lines(folder / f"{tag}.tag", (str(int(v)) for v in values))
    _write_lines(
        folder / "sequence",
        ["channels.color=color/%08d.jpg", "format=default", "fps=30", f"name={name}"],
    )


def _write_lines(path: Path, lines) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))
