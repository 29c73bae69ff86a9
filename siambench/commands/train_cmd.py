"""`siambench train`: train a Siamese tracker's network on pairs, small scale (CPU is enough)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

SHORT_NAMES = {"siamfc": "siamfc", "siamrpnpp-alex": "siamrpnpp-alex"}


@click.command("train")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml",
              help="Tracker whose network is trained (adapter siamfc or siamrpn), e.g. siamfc, "
                   "siamrpnpp-alex, siamfc-demo, siamrpnpp-alex-demo; its spec decides the "
                   "architecture and the crops.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Train on this folder of sequences (OTB or VOT layout).")
@click.option("--dataset", default=None, help="Train on a dataset siambench knows (e.g. got10k-val).")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets, for --dataset (default $SIAMBENCH_DATA or ./data).")
@click.option("--synth-seed", type=click.IntRange(min=0), default=None,
              help="Seed of the default synthetic training set (default 1; never the demo's).")
@click.option("--synth-sequences", type=click.IntRange(min=1), default=None,
              help="Sequences in the synthetic training set (default 24).")
@click.option("--epochs", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--pairs", "pairs_per_epoch", type=click.IntRange(min=1), default=400, show_default=True,
              help="Template/search pairs per epoch.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--lr", type=float, default=None,
              help="Peak learning rate, Adam (default: siamfc 1e-4, fine-tuning its random twin; "
                   "siamrpn 1e-3).")
@click.option("--shift", type=float, default=None,
              help="Random search-region shift, search-crop pixels per axis (default: siamfc 8, "
                   "siamrpn 64 as SiamRPN++).")
@click.option("--scale-jitter", type=float, default=None,
              help="Random search-region scale change, fraction (default: siamfc 0.05, siamrpn 0.18).")
@click.option("--light-jitter", type=click.FloatRange(0.0, 10.0), default=0.0, show_default=True,
              help="Random light change of the search frame: its intensities times a gain between "
                   "1/(1+X) and 1+X (the padding keeps the template frame's mean, as when tracking).")
@click.option("--search-size", type=click.IntRange(min=64), default=None,
              help="Side of the training search crops, at the tracker's scale (default: siamfc the "
                   "spec's instance size, siamrpn 255 as pysot).")
@click.option("--frame-range", type=click.IntRange(min=0), default=50, show_default=True,
              help="Most frames between a pair's template and search frames.")
@click.option("--min-visible", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Frames where occluders leave less than this fraction of the target visible "
                   "(where the data record it: the synthetic sets' visible.txt) are never templates, "
                   "and as search frames they are negatives; 0 trains on every frame as annotated.")
@click.option("--negatives", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
              show_default=True,
              help="Fraction of negative pairs: the search region comes from another sequence and "
                   "holds an object that is not the template's (DaSiamRPN's hard negatives).")
@click.option("--lookalikes", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
              show_default=True,
              help="Fraction of all pairs whose search region is centred on a look-alike of the target "
                   "in the same frame, which must not be taken for it (DaSiamRPN's distractor-aware "
                   "negatives; needs recorded look-alikes: the synthetic sets' distractors.txt).")
@click.option("--scale-rank", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="SiamFC: weight of a loss that ranks the right scale's peak above the same "
                   "region cut 8-30% wider or narrower (the tracker's scale choice); 0: off.")
@click.option("--init", type=click.Choice(["tracker-random", "seeded"]), default=None,
              help="Start from the random-init tracker's network or fresh seeded weights "
                   "(default: siamfc tracker-random, siamrpn seeded).")
@click.option("--batchnorm", type=click.Choice(["frozen", "train"]), default=None,
              help="BatchNorm statistics kept or learnt from the batches (default: siamfc frozen, "
                   "siamrpn train).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds initial weights, pairs and augmentation: same seed, same weights.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Weights file to write (default: <tracker>-trained.pth).")
@click.option("--full-precision", is_flag=True,
              help="Store convolution kernels in float32 (default float16: half the size).")
def train_command(tracker: str, data: Path | None, dataset: str | None, data_root: Path | None,
                  synth_seed: int | None, synth_sequences: int | None, epochs: int,
                  pairs_per_epoch: int, batch_size: int, lr: float | None, shift: float | None,
                  scale_jitter: float | None, light_jitter: float, search_size: int | None,
                  frame_range: int, min_visible: float, negatives: float, lookalikes: float,
                  scale_rank: float, init: str | None, batchnorm: str | None, seed: int, device: str,
                  threads: int | None, out: Path | None, full_precision: bool) -> None:
    """Train a tracker's network on template/search pairs and write its weights.

    Without --data or --dataset, a synthetic training set is rendered into the cache (seeded
    apart from the `demo` benchmark, which is never trained on). Load the result with
    `siambench run --tracker NAME --weights FILE`.
    """
    import torch

    from siambench.errors import SiambenchError
    from siambench.textio import check_writable_file
    from siambench.trackers.registry import load_spec, require_torch
    from siambench.training.data import SyntheticSet, load_sequences
    from siambench.training.loop import TrainConfig, save_weights, train
    from siambench.weights import select_device

    if (synth_seed is not None or synth_sequences is not None) and (data or dataset):
        raise SiambenchError("--synth-seed and --synth-sequences apply to the synthetic set only")
    if threads is not None:
        torch.set_num_threads(threads)
    spec = require_torch(load_spec(SHORT_NAMES.get(tracker, tracker)), "train")
    out = out or Path(f"{spec.name}-trained.pth")
    check_writable_file(out)  # before rendering data and training, not after
    config = TrainConfig(epochs=epochs, pairs_per_epoch=pairs_per_epoch, batch_size=batch_size,
                         lr=lr, shift=shift, scale_jitter=scale_jitter, light_jitter=light_jitter,
                         frame_range=frame_range, search_size=search_size, min_visible=min_visible,
                         negatives=negatives, lookalikes=lookalikes, scale_rank=scale_rank,
                         init=init, batchnorm=batchnorm, seed=seed)
    config.validate()
    from siambench.training.pairs import crop_style

    crop_style(spec, search_size)  # a tracker training cannot handle fails before data are rendered
    recipe = SyntheticSet()
    if synth_seed is not None or synth_sequences is not None:
        recipe = SyntheticSet(seed=recipe.seed if synth_seed is None else synth_seed,
                              sequences=recipe.sequences if synth_sequences is None else synth_sequences)
    torch_device = select_device(device)
    sequences, source = load_sequences(data, dataset, data_root, recipe)
    click.echo(f"training {spec.name} ({spec.adapter}) on {source}, device {torch_device}")

    def report(p) -> None:
        parts = "".join(f", {k} {v:.4f}" for k, v in p.parts.items())
        click.echo(f"epoch {p.epoch}/{p.epochs}: loss {p.loss:.4f}{parts} "
                   f"({p.pairs} pairs, {p.seconds:.0f} s)")

    result = train(spec, sequences, config, torch_device, report)
    info = {**result.info, "data": source if data or dataset else _synthetic_note(recipe),
            "command": _command_line(), "torch": str(torch.__version__)}
    save_weights(result.model, out, info, half=not full_precision)
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); "
               f"run it with: siambench run --tracker {spec.name} --weights {out} --dataset demo")


def _command_line() -> str:
    """The `siambench train ...` command that is running, for the weights file's record."""
    args = sys.argv[1:]
    if "train" not in args:  # called through the Python API: no command line to record
        return ""
    return "siambench " + " ".join(shlex.quote(a) for a in args[args.index("train"):])


def _synthetic_note(recipe) -> str:
    # no cache path: the file must not depend on where it was made
    lo, hi = recipe.frames
    return f"siambench.synth seed {recipe.seed}, {recipe.sequences} sequences of {lo}-{hi} frames"
