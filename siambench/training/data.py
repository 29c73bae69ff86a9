"""Where training sequences come from: a synthetic training set, a folder, or a named dataset.

The default training set is rendered by :mod:`siambench.synth` with a seed other than the demo
benchmark's, so the demo trackers are never trained on the videos they are scored on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siambench.datasets import Sequence
from siambench.errors import InputError, SiambenchError
from siambench.synth.annotation import DISTRACTORS_FILE, VISIBLE_FILE

#: The synthetic training set: seed, number of sequences, frames per sequence.
TRAIN_SYNTH_SEED = 1
TRAIN_SYNTH_SEQUENCES = 24
TRAIN_SYNTH_FRAMES = (60, 90)


@dataclass(frozen=True)
class SyntheticSet:
    """A synthetic training set's recipe (see :func:`siambench.synth.generate`)."""

    seed: int = TRAIN_SYNTH_SEED
    sequences: int = TRAIN_SYNTH_SEQUENCES
    frames: tuple[int, int] = TRAIN_SYNTH_FRAMES

    @property
    def folder_name(self) -> str:
        lo, hi = self.frames
        return f"train-s{self.seed}-n{self.sequences}-f{lo}-{hi}"


def synthetic_training_set(recipe: SyntheticSet = SyntheticSet()) -> Path:
    """The folder of the synthetic training set, rendered into the cache on first use."""
    from siambench import synth

    if recipe.seed == synth.DEMO_SEED:
        raise SiambenchError(
            f"seed {recipe.seed} renders the demo benchmark itself; train on another seed"
        )
    config = synth.SynthConfig(layout="otb", sequences=recipe.sequences, seed=recipe.seed,
                               frames=recipe.frames)
    config.validate()
    root = synth.cache_dir() / "data" / recipe.folder_name
    if not synth.is_current(root, config):
        synth.generate(root, "otb", recipe.sequences, recipe.seed, recipe.frames, overwrite=True)
    return root


def read_folder(folder: str | Path) -> list[Sequence]:
    """Sequences of a folder in the OTB layout (``<Seq>/groundtruth_rect.txt``) or the VOT one
    (``list.txt`` or ``<seq>/groundtruth.txt``), with what the synthetic sets record besides
    (:mod:`siambench.synth`) where a sequence has it: ``visible.txt``, the visible fraction of
    the target per frame, and ``distractors.txt``, the boxes of its look-alikes."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(folder, "training data folder not found")
    if any(folder.glob("*/groundtruth_rect.txt")):
        from siambench.datasets.otb import read_otb_folder

        sequences = read_otb_folder(folder)
    elif (folder / "list.txt").is_file() or any(folder.glob("*/groundtruth.txt")):
        from siambench.datasets.vot import read_vot

        sequences = read_vot(folder)
    else:
        raise InputError(folder, "expected an OTB-layout (<Seq>/groundtruth_rect.txt) or VOT-layout "
                                 "(list.txt, <seq>/groundtruth.txt) folder of sequences")
    for seq in sequences:
        path = folder / seq.name / VISIBLE_FILE
        if path.is_file():
            seq.visible = read_visibility(path, len(seq.groundtruth))
        path = folder / seq.name / DISTRACTORS_FILE
        if path.is_file():
            seq.distractors = read_distractors(path, len(seq.groundtruth))
    return sequences


def read_visibility(path: Path, frames: int) -> np.ndarray:
    """A ``visible.txt``: one fraction in [0, 1] per frame, `frames` of them."""
    from siambench.textio import read_column

    values = read_column(path)
    bad = np.flatnonzero(~((values >= 0) & (values <= 1)))  # NaN is bad too
    if len(bad):
        raise InputError(path, f"expected the visible fraction of the target, in [0, 1], "
                               f"got {values[bad[0]]:g}", int(bad[0]) + 1)
    if len(values) != frames:
        raise InputError(path, f"expected {frames} values (one per frame of the ground truth), "
                               f"got {len(values)}")
    return values


def read_distractors(path: Path, frames: int) -> np.ndarray:
    """A ``distractors.txt``: per frame, x,y,w,h of each of K look-alikes; (frames, K, 4)."""
    from siambench.textio import read_rows

    table = read_rows(path, lambda width: width % 4 == 0, "x,y,w,h for each look-alike (a multiple of 4 values)")
    if len(table) != frames:
        raise InputError(path, f"expected {frames} lines (one per frame of the ground truth), "
                               f"got {len(table)}")
    boxes = table.reshape(frames, -1, 4)
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=(1, 2)) | (boxes[..., 2:] <= 0).any(axis=(1, 2)))
    if len(bad):
        row = boxes[bad[0]]
        worst = row[~np.isfinite(row).all(axis=1) | (row[:, 2:] <= 0).any(axis=1)][0]
        raise InputError(path, "expected finite boxes with positive width and height, got "
                               + ",".join(f"{v:g}" for v in worst), int(bad[0]) + 1)
    return boxes


def load_sequences(
    data: str | Path | None = None,
    dataset: str | None = None,
    data_root: str | Path | None = None,
    synthetic: SyntheticSet = SyntheticSet(),
) -> tuple[list[Sequence], str]:
    """Training sequences and a one-line description of their source.

    `data` (a folder) or `dataset` (a name siambench knows) when given, else the synthetic set.
    The demo benchmarks are refused: they are the test data of the demo trackers.
    """
    if data is not None and dataset is not None:
        raise SiambenchError("give --data or --dataset, not both")
    if dataset is not None:
        from siambench.datasets import dataset_info, load_dataset
        from siambench.datasets.folder import is_folder_name

        if not is_folder_name(dataset) and dataset_info(dataset).family == "demo":
            raise SiambenchError(f"{dataset!r} is the demo test set; train on the synthetic "
                                 "training set (the default) or other data")
        ds = load_dataset(dataset, root=data_root)
        return list(ds), f"dataset {ds.name} ({len(ds)} sequences)"
    if data is not None:
        sequences = read_folder(data)
        return sequences, f"folder {data} ({len(sequences)} sequences)"
    root = synthetic_training_set(synthetic)
    sequences = read_folder(root)
    lo, hi = synthetic.frames
    return sequences, (f"synthetic training set: seed {synthetic.seed}, {synthetic.sequences} "
                       f"sequences of {lo}-{hi} frames ({root})")
