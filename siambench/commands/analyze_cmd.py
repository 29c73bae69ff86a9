"""`siambench analyze bias|shift|arch`: the papers' analyses (thin layer over siambench.analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import click

DEVICE = click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
THREADS = click.option("--threads", type=click.IntRange(min=1), default=None,
                       help="CPU threads for torch (default: torch's choice).")


def _prepare(out: Path, threads: int | None) -> None:
    """Fail on an unwritable output folder before any work; set torch's threads."""
    from siambench.textio import check_writable_dir

    check_writable_dir(out)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _write_json(path: Path, data: object) -> None:
    from siambench.evaluate import clean_json
    from siambench.textio import atomic_write_text

    atomic_write_text(path, json.dumps(clean_json(data), indent=1) + "\n")


def _write_table(path: Path, text: str) -> None:
    from siambench.textio import atomic_write_text

    atomic_write_text(path, text + "\n")
    click.echo(text)


def _columns(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    return "\n".join("  ".join([r[0].ljust(widths[0]),
                                *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
                     for r in [header, *rows])


@click.group("analyze")
def analyze_group() -> None:
    """The papers' analyses: spatial bias, the shift ablation, receptive-field rules."""


@analyze_group.command("bias")
@click.option("--tracker", "-t", "trackers", multiple=True, required=True, metavar="NAME|SPEC.yaml",
              help="Siamese tracker to analyse (repeat for several).")
@click.option("--dataset", default="demo", show_default=True, help="Frames to probe with.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--offsets", default="-64:64:8", show_default=True, metavar="LO:HI:STEP",
              help="Target offsets from the search-crop centre, crop pixels, on both axes.")
@click.option("--frames", type=click.IntRange(min=1), default=8, show_default=True,
              help="Probe frames, spread over the dataset's sequences.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (one tracker only); default: the spec's weights.")
@click.option("--random-init", is_flag=True, help="Random weights (no checkpoint needed).")
@DEVICE
@THREADS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/analysis/bias"), show_default=True)
def bias_command(trackers: tuple[str, ...], dataset: str, data_root: Path | None, offsets: str,
                 frames: int, weights: Path | None, random_init: bool, device: str,
                 threads: int | None, out: Path) -> None:
    """Where a network's response peaks as the target moves off the crop centre.

    Writes bias.json (per tracker: centre-bias index, error curve, peak heatmap), bias.txt and
    bias.png (the positional prior, SiamRPN++ Figure 1, and the error against offset).
    """
    from siambench.analysis.bias import analyze_bias, parse_offsets
    from siambench.analysis.plots import bias_figure, save_png
    from siambench.errors import SiambenchError

    if weights is not None and len(trackers) > 1:
        raise SiambenchError("--weights applies to one --tracker only")
    parse_offsets(offsets)  # a bad grid fails before the networks are built
    _prepare(out, threads)
    results = [analyze_bias(t, dataset, data_root, offsets, frames, weights, random_init, device)
               for t in trackers]
    _write_json(out / "bias.json", {"dataset": dataset, "offsets": offsets,
                                    "trackers": [r.to_json() for r in results]})
    rows = [[r.tracker, f"{r.index:.3f}", f"{r.to_json()['mean_error']:.1f}",
             str(r.predicted.shape[0]), str(len(r.offsets))] for r in results]
    _write_table(out / "bias.txt", _columns(
        ["tracker", "centre-bias index", "mean error (px)", "frames", "offsets"], rows))
    save_png(bias_figure(results), out / "bias.png")
    click.echo(f"wrote {out / 'bias.json'}, {out / 'bias.png'}")


@analyze_group.command("shift")
@click.option("--tracker", "-t", "trackers", multiple=True, metavar="NAME|SPEC.yaml",
              help="Tracker whose network is trained (adapter siamfc or siamrpn; repeat for "
                   "several). Default: siamrpnpp-alex-demo (unpadded AlexNet) and "
                   "siamrpn-small-resnet (padded small ResNet).")
@click.option("--shifts", default="0,16,32,64", show_default=True,
              help="Training shift ranges, search-crop pixels.")
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--pairs", "pairs_per_epoch", type=click.IntRange(min=1), default=200,
              show_default=True, help="Training pairs per epoch.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--synth-sequences", type=click.IntRange(min=1), default=None,
              help="Sequences of the synthetic training set (default 24).")
@click.option("--sequences", default=None, metavar="A,B",
              help="Score on these demo sequences only (default: all).")
@click.option("--bias-frames", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--offsets", default="-64:64:16", show_default=True, metavar="LO:HI:STEP")
@click.option("--prior-pairs", type=click.IntRange(min=1), default=256, show_default=True,
              help="Training pairs drawn for the training-side prior.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None)
@DEVICE
@THREADS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/analysis/shift"), show_default=True)
def shift_command(trackers: tuple[str, ...], shifts: str, epochs: int, pairs_per_epoch: int,
                  batch_size: int, seed: int, synth_sequences: int | None, sequences: str | None,
                  bias_frames: int, offsets: str, prior_pairs: int, data_root: Path | None,
                  device: str, threads: int | None, out: Path) -> None:
    """SiamRPN++'s shift ablation at demo scale: train one network per shift range, score it
    on demo-vot (EAO, A, R) and demo (AUC), and measure its centre bias.

    Writes shift.json, shift.txt, shift.png (scores and bias index against shift) and
    prior.png (where positive labels fall in the training score maps, per shift).
    """
    from siambench.analysis.bias import parse_offsets
    from siambench.analysis.plots import prior_figure, save_png, shift_figure
    from siambench.analysis.shift import DEFAULT_TRACKERS, ShiftConfig, analyze_shift, parse_shifts
    from siambench.training.data import SyntheticSet

    parse_offsets(offsets)
    synthetic = SyntheticSet() if synth_sequences is None else SyntheticSet(sequences=synth_sequences)
    config = ShiftConfig(shifts=parse_shifts(shifts), epochs=epochs,
                         pairs_per_epoch=pairs_per_epoch, batch_size=batch_size, seed=seed,
                         synthetic=synthetic, bias_frames=bias_frames, bias_offsets=offsets,
                         prior_pairs=prior_pairs, data_root=data_root,
                         eval_sequences=sequences.split(",") if sequences else None)
    _prepare(out, threads)

    def report(p) -> None:
        click.echo(f"{p.tracker} shift {p.shift:g}: EAO {_fmt(p.eao)}, AUC {_fmt(p.auc)}, "
                   f"centre-bias index {_fmt(p.centre_bias_index)}")

    summary = analyze_shift(trackers or DEFAULT_TRACKERS, config, out, device, on_point=report)
    _write_json(out / "shift.json", summary)
    keys = ("eao", "accuracy", "robustness", "auc", "centre_bias_index")
    rows = [[p["tracker"], f"{p['shift']:g}", *(_fmt(p[k]) for k in keys)]
            for p in summary["points"]]
    _write_table(out / "shift.txt", _columns(["tracker", "shift", "EAO", "A", "R", "AUC", "bias"],
                                             rows))
    save_png(shift_figure(summary), out / "shift.png")
    save_png(prior_figure(summary["training_prior"]), out / "prior.png")
    click.echo(f"wrote {out / 'shift.json'}, {out / 'shift.png'}, {out / 'prior.png'}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@analyze_group.command("arch")
@click.option("--model", "-m", "models", multiple=True, metavar="NAME",
              help="Registered network (repeat for several; default: all, see `siambench models`).")
@click.option("--exemplar-size", type=click.IntRange(min=32), default=127, show_default=True)
@click.option("--search-size", type=click.IntRange(min=32), default=255, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/analysis/arch"), show_default=True)
def arch_command(models: tuple[str, ...], exemplar_size: int, search_size: int, as_json: bool,
                 out: Path) -> None:
    """Stride, receptive fields (theoretical and effective), share of the exemplar (SiamDW's
    60-80% rule), output sizes, padding-affected border, FLOPs and parameters per network.

    Writes arch.json and arch.txt. Random weights: no checkpoint is needed.
    """
    from siambench.analysis.arch import analyze_arch, arch_table
    from siambench.errors import SiambenchError

    if search_size < exemplar_size:  # the template is correlated over the search region
        raise SiambenchError(f"--search-size ({search_size}) must be at least --exemplar-size ({exemplar_size})")
    _prepare(out, None)
    try:
        reports = analyze_arch(list(models) or None, exemplar_size, search_size)
    except RuntimeError as exc:  # torch: an input smaller than a kernel somewhere in the network
        reason = str(exc).splitlines()[0]
        raise SiambenchError(f"a network cannot take exemplar {exemplar_size} / search {search_size} px "
                             f"({reason}); use larger sizes") from None
    data = [r.to_json() for r in reports]
    _write_json(out / "arch.json", data)
    table = arch_table(reports)
    if as_json:
        from siambench.textio import atomic_write_text

        atomic_write_text(out / "arch.txt", table + "\n")
        click.echo(json.dumps(data, indent=1))
    else:
        _write_table(out / "arch.txt", table)
