"""`siambench eval`: score raw results and print a table (optionally write JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from siambench.metrics import VARIANTS
from siambench.scores import base_metric

# Column order and format per protocol; arrows say which direction is better.
COLUMNS = {
    "supervised": [("eao", "EAO ↑"), ("accuracy", "Accuracy ↑"), ("robustness", "Robustness ↓"),
                   ("failures", "Failures ↓"), ("ao", "AO ↑"), ("realtime_eao", "Realtime EAO ↑"),
                   ("realtime_accuracy", "RT accuracy ↑"), ("realtime_robustness", "RT robustness ↓"),
                   ("realtime_failures", "RT failures ↓"), ("fps", "FPS")],
    "ope": [("auc", "Success AUC ↑"), ("precision", "Precision@20 ↑"), ("norm_precision", "Norm. prec. ↑"),
            ("ao", "AO ↑"), ("sr50", "SR0.5 ↑"), ("sr75", "SR0.75 ↑"), ("fps", "FPS")],
}


def format_table(scores: dict, protocol: str, per_sequence: bool = False) -> str:
    """A plain-text table of overall scores, trackers ranked by the first metric present."""
    cols = [(k, label) for k, label in COLUMNS[protocol]
            if any(k in t["overall"] for t in scores["trackers"].values())]
    first = cols[0][0] if cols else None

    def rank(item):
        value = item[1]["overall"].get(first)
        return -(value if isinstance(value, (int, float)) and value == value else float("-inf"))

    rows = sorted(scores["trackers"].items(), key=rank)
    header = ["Tracker"] + [label for _, label in cols]
    body = [[name] + [_fmt(t["overall"].get(k), k) for k, _ in cols] for name, t in rows]
    lines = _render([header] + body)
    title = f"{scores['dataset']} ({scores['variant']} definitions, siambench {scores['siambench_version']})"
    out = [title, *lines]
    if per_sequence:
        for name, t in rows:
            seq_cols = [k for k, _ in cols if any(k in v for v in t["sequences"].values())]
            table = [["Sequence"] + seq_cols]
            table += [[s] + [_fmt(v.get(k), k) for k in seq_cols] for s, v in sorted(t["sequences"].items())]
            out += ["", f"{name}: per sequence", *_render(table)]
    return "\n".join(out)


def _fmt(value, key: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if base_metric(key) == "failures":
        return f"{value:g}"
    if key == "fps":
        return f"{value:.1f}"
    return f"{value:.3f}"


def _render(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    sep = "-+-".join("-" * w for w in widths)
    fmt = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
           for r in rows]
    return [fmt[0], sep, *fmt[1:]]


@click.command("eval")
@click.option("--dataset", "-d", required=True,
              help="Dataset name (vot2018, otb2015, ...) or a folder in the VOT or OTB layout.")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Folder holding one folder per dataset (default: $SIAMBENCH_DATA or ./data).")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Raw results tree (pysot layout).")
@click.option("--tracker", "-t", "trackers", multiple=True, help="Score only these trackers (repeatable).")
@click.option("--variant", type=click.Choice(VARIANTS), default="pysot", show_default=True,
              help="Metric definitions: pysot (published tables), vot-toolkit (0.9.0), otb-toolkit "
                   "(the MATLAB OTB toolkit) or got10k (its GOT-10k AO / SR evaluation).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Also write scores as JSON.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Also write the overall scores as CSV (pandas, the report extra); with --per-sequence "
                   "also <stem>-sequences.csv, and <stem>-attributes.csv where there are attributes or tags.")
@click.option("--per-sequence", is_flag=True, help="Print (and with --csv write) per-sequence scores too.")
@click.option("--strict", is_flag=True,
              help="Fail, instead of warning, on results whose length differs from the ground truth, "
                   "on NaN boxes, on sequences without results and on tag files of the wrong length.")
@click.option("--attributes", type=click.Choice(["otb2013", "otb2015"]), default=None,
              help="OTB attribute table for the per-attribute scores (default: the benchmark's own; "
                   "otb2013 is the OTB-2013 toolkit's).")
@click.option("--eao-interval", default=None, metavar="LOW,HIGH",
              help="EAO interval of sequence lengths (default: the benchmark's published one; for a "
                   "folder, estimated from its sequence lengths as VOT did).")
def eval_command(dataset, data_root, results_dir, trackers, variant, json_path, csv_path, per_sequence, strict,
                 attributes, eao_interval) -> None:
    """Score raw tracking results exactly as the published tables did."""
    from siambench.datasets import load_dataset
    from siambench.datasets.folder import is_folder_name, registered_twin
    from siambench.evaluate import clean_json, evaluate
    from siambench.textio import atomic_write_text, check_writable_file

    for target in (json_path, csv_path):  # before scoring, which can take a while
        if target is not None:
            check_writable_file(target)
    if csv_path is not None:
        import pandas  # noqa: F401 - a missing report extra is one line now, not after scoring
    # Read here: the attribute table and --strict (tag files) are reading options.
    ds = load_dataset(dataset, data_root, attributes=attributes, strict=strict)
    default_interval = ds.eao_interval
    if eao_interval is not None:
        ds = with_eao_interval(ds, eao_interval)
    elif ds.protocol == "supervised" and is_folder_name(dataset):
        low, high = ds.eao_interval
        twin = registered_twin(ds.root)
        hint = (f"; `--dataset {twin} --data-root {Path(ds.root).resolve().parent}` uses {twin}'s published "
                "interval" if twin else "")
        click.echo(f"EAO interval [{low}, {high}]: estimated from the sequence lengths of {ds.root} "
                   f"(--eao-interval LOW,HIGH sets it{hint})", err=True)
    scores = evaluate(ds, results_dir, data_root, list(trackers) or None, variant, strict)
    if ds.eao_interval != default_interval:
        # Another interval is another EAO: named in the variant, a gate compares it only with
        # scores of the same interval (against the default's it is missing, and fails).
        low, high = ds.eao_interval
        scores["variant"] = f"{variant}, EAO interval {low}-{high}"
    click.echo(format_table(scores, ds.protocol, per_sequence))
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(clean_json(scores), indent=1) + "\n")
        click.echo(f"scores written to {json_path}")
    if csv_path is not None:
        for path in write_csv(scores, csv_path, per_sequence):
            click.echo(f"scores written to {path}")


def with_eao_interval(ds, text: str):
    """The dataset with the EAO interval `text` ("LOW,HIGH", 1 <= LOW <= HIGH)."""
    import dataclasses

    from siambench.errors import SiambenchError

    try:
        low, high = (int(v) for v in text.split(","))
    except ValueError:
        raise SiambenchError(f"--eao-interval {text!r}: expected LOW,HIGH (two whole numbers of frames)") from None
    if not 1 <= low <= high:
        raise SiambenchError(f"--eao-interval {text!r}: expected 1 <= LOW <= HIGH")
    if ds.protocol != "supervised":
        raise SiambenchError(f"--eao-interval applies to VOT (supervised) datasets; {ds.name} is one-pass")
    return dataclasses.replace(ds, eao_interval=(low, high))


def write_csv(scores: dict, path: Path, per_sequence: bool) -> list[Path]:
    """The overall scores (and per sequence, per attribute) as CSV files beside `path`."""
    from siambench.dataframes import to_frames
    from siambench.textio import atomic_write_text

    frames = to_frames(scores)
    parts = [("overall", path)]
    if per_sequence:
        parts.append(("sequences", path.with_name(f"{path.stem}-sequences{path.suffix or '.csv'}")))
    if len(frames["attributes"]):
        parts.append(("attributes", path.with_name(f"{path.stem}-attributes{path.suffix or '.csv'}")))
    version = scores.get("siambench_version", "unknown")
    for name, target in parts:
        # every output names the definitions it used: the variant is in the index, the version here
        atomic_write_text(target, frames[name].assign(siambench_version=version).to_csv())
    return [target for _, target in parts]
