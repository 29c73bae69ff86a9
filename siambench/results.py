"""Raw tracking results on disk, in pysot's layout (so results of other toolkits import as-is).

    <results>/<DATASET>/<tracker>/<seq>.txt                                one-pass (OPE): x,y,w,h per line
    <results>/<DATASET>/<tracker>/baseline/<seq>/<seq>_00N.txt             VOT supervised, repetition N
    <results>/<DATASET>/<tracker>/unsupervised/<seq>/<seq>_001.txt         VOT unsupervised (no reset)
    <results>/<DATASET>/<tracker>/realtime/<seq>/<seq>_00N.txt             VOT realtime (resets, paced frames)
    ... beside each: <seq>_time.txt (seconds per frame)

In VOT files a line `1` marks an initialisation, `2` a failure and `0` a skipped frame; any other
line is a region (4 or 8 comma-separated values). Files found in the wild differ in separators
and in the case and punctuation of sequence names (``jogging_1.txt`` for ``Jogging-1``); reading
tolerates both. Writing is atomic.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siambench.errors import InputError
from siambench.textio import atomic_write_lines, read_lines, read_regions, read_table
from siambench.trajectory import Trajectory

INIT, FAILURE, SKIPPED = 1, 2, 0
SUPERVISED_DIR = "baseline"
UNSUPERVISED_DIR = "unsupervised"
REALTIME_DIR = "realtime"
# The VOT experiments' folders and the protocol that writes each (vot-toolkit's names).
EXPERIMENT_PROTOCOLS = {SUPERVISED_DIR: "supervised", UNSUPERVISED_DIR: "unsupervised", REALTIME_DIR: "realtime"}
PROTOCOL_EXPERIMENTS = {protocol: folder for folder, protocol in EXPERIMENT_PROTOCOLS.items()}
RESET_EXPERIMENTS = (SUPERVISED_DIR, REALTIME_DIR)  # lines hold the codes 1, 2 and 0

log = logging.getLogger("siambench")

Entry = np.ndarray  # one frame of a VOT trajectory: a code (1 value) or a region (4 or 8 values)


def _norm(name: str) -> str:
    """Key that matches sequence names across the spellings found in published results."""
    return re.sub(r"[-_ .]", "", name.lower())


def _find_file(folder: Path, stem: str, suffix: str, taken: Iterable[str] = ()) -> Path | None:
    """`<stem><suffix>` in `folder`, or the one file whose name spells it (see :func:`_spelling`)."""
    exact = folder / f"{stem}{suffix}"
    if exact.is_file():
        return exact
    if not folder.is_dir():
        return None
    if exact.is_dir():
        raise InputError(exact, "is a folder; expected the sequence's result file")
    named = {p.name[: -len(suffix)]: p for p in folder.iterdir() if p.name.endswith(suffix)}
    return _spelling(named, stem, taken, Path.is_file, "files")


def _find_dir(folder: Path, name: str, taken: Iterable[str] = ()) -> Path | None:
    """`folder/name`, or the one folder whose name spells it (see :func:`_spelling`)."""
    exact = folder / name
    if exact.is_dir():
        return exact
    if not folder.is_dir():
        return None
    return _spelling({p.name: p for p in folder.iterdir()}, name, taken, Path.is_dir, "folders")


def _spelling(named: dict[str, Path], name: str, taken: Iterable[str], kind: Callable[[Path], bool],
              what: str) -> Path | None:
    """The entry of `named` (name -> path) that is `name` in another case, else in another
    spelling (``jogging_1`` for ``Jogging-1``).

    An entry that is another sequence of `taken` in any case is that sequence's, never a
    spelling of this one: UAV123's ``car1_1`` and ``car11`` spell alike, and without a
    car1_1.txt, car11.txt (or Car11.txt) is not car1_1's result. Two candidates at the same
    tier are an error naming both: picking one by directory order would score whichever came
    first. (An exact name is taken before this; a spelling beside it is reported by
    :meth:`ResultIndex.check_spellings`.)
    """
    folded, key = name.lower(), _norm(name)
    others = {t.lower() for t in taken} - {folded}
    same_case = [p for n, p in named.items() if n.lower() == folded and kind(p)]
    spelt = [p for n, p in named.items() if _norm(n) == key and n.lower() not in others
             and n.lower() != folded and kind(p)]
    for found in (sorted(same_case), sorted(spelt)):
        if len(found) > 1:
            raise InputError(found[0], f"ambiguous result {what} for sequence {name!r}: {found[0].name} and "
                                       f"{found[1].name}; keep one")
        if found:
            return found[0]
    return None


_REPETITION = re.compile(r"(.+)_(\d{3})\.txt")


def repetition_files(folder: Path, sequence: str) -> tuple[list[Path], list[Path]]:
    """A foreign VOT sequence folder's repetition files, and the files it holds for other names.

    The repetition rule: a file counts when it is named ``<name>_NNN.txt`` with ``<name>`` a
    spelling of the sequence's name (pysot's and vot-toolkit's layout), sorted by N. A
    ``*_NNN.txt`` file named for anything else (``backup_001.txt``, another sequence's copy) is
    not a repetition of this sequence.
    """
    reps, others = [], []
    key = _norm(sequence)
    for path in sorted(folder.iterdir()):
        match = _REPETITION.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        (reps if _norm(match.group(1)) == key else others).append(path)
    numbers = [int(_REPETITION.fullmatch(p.name).group(2)) for p in reps]
    if len(set(numbers)) != len(numbers):
        dupes = [p.name for p, n in zip(reps, numbers, strict=True) if numbers.count(n) > 1]
        raise InputError(folder, f"two files for one repetition: {dupes[0]} and {dupes[1]}; keep one")
    return [p for _, p in sorted(zip(numbers, reps, strict=True))], others


def read_boxes(path: Path) -> np.ndarray:
    """An OPE result file: (N, 4) boxes. NaN values are kept (scored as misses)."""
    return read_regions(path, sizes=(4,))


def read_vot_trajectory(path: Path) -> Trajectory:
    """A VOT result file: per frame a one-element code array or a region array, packed."""
    values, counts = read_table(path)
    bad = np.flatnonzero((counts != 1) & ((counts < 4) | ((counts != 4) & (counts % 2 == 1))))
    if len(bad):
        raise InputError(path, f"expected a code or 4 / 2k values, got {counts[bad[0]]} values", int(bad[0]) + 1)
    codes = values[(np.cumsum(counts) - counts)[counts == 1]]
    bad = np.flatnonzero((codes != INIT) & (codes != FAILURE) & (codes != SKIPPED))
    if len(bad):
        line = int(np.flatnonzero(counts == 1)[bad[0]]) + 1
        raise InputError(path, f"expected a code 0, 1 or 2 or a region, got {codes[bad[0]]:g}", line)
    return Trajectory(values, counts)


def format_box(values: np.ndarray, vot: bool) -> str:
    # pysot writes VOT regions with C's %.4f and OPE boxes with Python's repr.
    if vot:
        return ",".join(f"{v:.4f}" for v in values)
    return ",".join(repr(float(v)) for v in values)


def _check_finite(values: np.ndarray, where: str) -> None:
    if not all(math.isfinite(float(v)) for v in np.ravel(values)):
        raise InputError(None, f"{where}: a tracker returned a non-finite box {list(np.ravel(values))}")


@dataclass
class ResultStore:
    """Raw results of one tracker on one dataset."""

    results_dir: Path
    dataset: str  # folder name, e.g. "VOT2018"
    tracker: str

    def __post_init__(self) -> None:
        self.results_dir = Path(self.results_dir)

    @property
    def root(self) -> Path:
        return self.results_dir / self.dataset / self.tracker

    # ---- paths -------------------------------------------------------------------------------
    def ope_path(self, seq: str) -> Path:
        return self.root / f"{seq}.txt"

    def vot_path(self, seq: str, repetition: int = 1, experiment: str = SUPERVISED_DIR) -> Path:
        return self.root / experiment / seq / f"{seq}_{repetition:03d}.txt"

    def time_path(self, seq: str, experiment: str | None = None) -> Path:
        if experiment is None:
            return self.root / f"{seq}_time.txt"
        return self.root / experiment / seq / f"{seq}_time.txt"

    # ---- writing -----------------------------------------------------------------------------
    def write_ope(self, seq: str, boxes: np.ndarray, times: np.ndarray | None = None) -> Path:
        boxes = np.asarray(boxes, dtype=np.float64)
        _check_finite(boxes, f"{self.tracker} on {seq}")
        if times is not None:
            atomic_write_lines(self.time_path(seq), (f"{t:.6f}" for t in times))
        path = self.ope_path(seq)
        atomic_write_lines(path, (format_box(b, vot=False) for b in boxes))
        return path

    def write_vot(self, seq: str, entries: list, times: np.ndarray | None = None, repetition: int = 1,
                  experiment: str = SUPERVISED_DIR) -> Path:
        lines = []
        for e in entries:
            values = np.atleast_1d(np.asarray(e, dtype=np.float64))
            if values.size == 1:
                lines.append(f"{int(values[0]):d}")
            else:
                _check_finite(values, f"{self.tracker} on {seq}")
                lines.append(format_box(values, vot=True))
        if times is not None:
            atomic_write_lines(self.time_path(seq, experiment), (f"{t:.6f}" for t in times))
        path = self.vot_path(seq, repetition, experiment)
        atomic_write_lines(path, lines)
        return path

    def write_supervised(self, seq: str, repetition: int, lines: list, times: np.ndarray | None = None) -> Path:
        return self.write_vot(seq, lines, times, repetition, SUPERVISED_DIR)

    def write_unsupervised(self, seq: str, boxes: list, times: np.ndarray | None = None) -> Path:
        return self.write_vot(seq, boxes, times, 1, UNSUPERVISED_DIR)

    # ---- reading -----------------------------------------------------------------------------
    def find_ope(self, seq: str, taken: Iterable[str] = ()) -> Path | None:
        """The result file of `seq`, by name or spelling; `taken`: the dataset's other sequence
        names, whose exact files are never taken for a spelling of this one."""
        path = _find_file(self.root, seq, ".txt", taken)
        if path is None:
            # GOT-10k style: <tracker>/<seq>/<seq>_001.txt
            folder = _find_dir(self.root, seq, taken)
            if folder is not None:
                path = _find_file(folder, f"{folder.name}_001", ".txt")
        return path

    def find_vot(self, seq: str, experiment: str = SUPERVISED_DIR, taken: Iterable[str] = ()) -> list[Path]:
        """Repetition files of a sequence by the repetition rule; empty when it has none."""
        exp_dir = _find_dir(self.root, experiment)
        folder = _find_dir(exp_dir, seq, taken) if exp_dir is not None else None
        if folder is None:
            return []
        reps, others = repetition_files(folder, seq)
        if others:
            log.warning("%s: %d file(s) named for another sequence ignored (%s)", folder, len(others),
                        ", ".join(p.name for p in others[:3]))
        return reps

    def read_ope(self, seq: str) -> np.ndarray:
        path = self.find_ope(seq)
        if path is None:
            raise InputError(self.root / f"{seq}.txt", "result file not found")
        return read_boxes(path)

    def read_vot(self, seq: str, experiment: str = SUPERVISED_DIR) -> list[Trajectory]:
        paths = self.find_vot(seq, experiment)
        if not paths:
            raise InputError(self.vot_path(seq, 1, experiment), "result file not found")
        return [read_vot_trajectory(p) for p in paths]

    def read_times(self, seq: str, experiment: str | None = None) -> np.ndarray | None:
        path = self.time_path(seq, experiment)
        if not path.is_file():
            return None
        from siambench.textio import read_column

        return read_column(path)

    def has_complete(self, seq: str, protocol: str, n_frames: int, repetition: int = 1) -> bool:
        """Whether a result file for the sequence exists with one line per frame."""
        if protocol == "ope":
            path = self.ope_path(seq)
        else:
            path = self.vot_path(seq, repetition, PROTOCOL_EXPERIMENTS[protocol])
        if not path.is_file():
            return False
        try:
            return len(read_lines(path)) == n_frames
        except InputError:
            return False


class ResultIndex:
    """Which files of one tracker folder are its results.

    A folder siambench wrote has a ledger (:mod:`siambench.ledger`): its results are exactly the
    files the ledger lists, each checked against its recorded SHA-256, and any other result file
    in the folder (a leftover, a backup, a copy) is reported and never scored. A foreign folder
    (imported, or another toolkit's) has no ledger: its files are found by name, with the
    repetition rule of :func:`repetition_files`. Problems warn, or with `strict` are errors.
    """

    def __init__(self, store: ResultStore, strict: bool = False, names: Iterable[str] = ()) -> None:
        from siambench.ledger import Ledger

        self.store = store
        self.strict = strict
        self.names = frozenset(names)  # the dataset's sequences: each exact file is its own
        self.ledger = Ledger.existing(store.root)
        if self.ledger is not None and self.ledger.damaged:
            raise InputError(self.ledger.path, f"results ledger {self.ledger.damaged}: which files are "
                                               f"{store.tracker}'s results cannot be told. `siambench run` keeps it "
                                               "as .siambench.json.damaged and runs every sequence again; or delete "
                                               "it to score the folder as foreign results")

    def problem(self, path: Path | None, message: str) -> None:
        if self.strict:
            raise InputError(path, message)
        log.warning("%s", message if path is None else f"{path}: {message}")

    def experiments(self) -> list[str]:
        """The VOT experiments (baseline, unsupervised, realtime) this folder holds results of."""
        if self.ledger is not None:
            listed = set(self.ledger.protocols())
            return [e for e, protocol in EXPERIMENT_PROTOCOLS.items() if protocol in listed]
        return [e for e in EXPERIMENT_PROTOCOLS if (self.store.root / e).is_dir()]

    def ope(self, seq: str) -> Path | None:
        if self.ledger is None:
            return self.store.find_ope(seq, self.names)
        listed = self._listed("ope", seq)
        return listed[0] if listed else None

    def vot(self, seq: str, experiment: str = SUPERVISED_DIR) -> list[Path]:
        if self.ledger is None:
            return self.store.find_vot(seq, experiment, self.names)
        return self._listed(EXPERIMENT_PROTOCOLS[experiment], seq)

    def _listed(self, protocol: str, seq: str) -> list[Path]:
        from siambench.ledger import file_sha256

        paths = []
        for path, digest in self.ledger.files(protocol, seq).values():
            if not path.is_file():
                self.problem(path, "listed in the results ledger but missing; the sequence has no result")
                return []
            if file_sha256(path) != digest:
                # Always an error: scoring it would credit the run with results it did not write.
                raise InputError(path, "changed since siambench wrote it (its hash differs from the "
                                       "ledger's); rerun `siambench run` to redo it, or delete "
                                       f"{self.ledger.path.name} to score the folder as foreign results")
            paths.append(path)
        return paths

    def check_one_run(self, sequences: Iterable[str]) -> None:
        """The results of `sequences` come from one run key (one spec and one weights file).

        A folder where some sequences were run with other weights or settings (a rerun that
        stopped part way, a `--sequences` run with a changed spec) would otherwise be scored as
        one tracker; that is an error naming the runs and how to make the folder whole.
        """
        if self.ledger is None:
            return
        by_key: dict[str, list[str]] = {}
        for protocol in self.ledger.protocols():
            for seq in sequences:
                entry = self.ledger.entry(protocol, seq)
                if entry is not None and entry.get("files"):
                    by_key.setdefault(str(entry.get("key")), []).append(seq)
        if len(by_key) <= 1:
            return
        runs = "; ".join(f"{self.ledger.describe_key(key)}: {len(seqs)} sequence(s), e.g. {seqs[0]}"
                         for key, seqs in sorted(by_key.items(), key=lambda kv: -len(kv[1])))
        raise InputError(self.store.root, f"results of {len(by_key)} different runs (other spec, weights or "
                                          f"precision) under one tracker name ({runs}); rerun `siambench "
                                          "run` with one setting to redo the others, or give each run its "
                                          "own --results-dir")

    def check_spellings(self, names: Iterable[str]) -> list[Path]:
        """Report the files of a foreign folder that spell a sequence's name (``jogging_1.txt``)
        but are not the file scored for it (``Jogging-1.txt``, the exact name, is): the other
        may be the one that was meant. Which file is scored is :func:`_find_file`'s answer,
        asked here again, so the report never names a file that is scored."""
        if self.ledger is not None:
            return []
        names = list(names)
        keys = {_norm(n): n for n in names}
        stray: list[tuple[Path, str]] = []
        # one-pass results are <seq>.txt files; VOT ones, <experiment>/<seq>/ folders
        folders = [(self.store.root, True)] + [(self.store.root / e, False) for e in EXPERIMENT_PROTOCOLS]
        for folder, files in folders:
            if not folder.is_dir():
                continue
            chosen = set()
            for name in names:
                try:
                    found = (_find_file(folder, name, ".txt", names) if files else _find_dir(folder, name, names))
                except InputError:  # ambiguous: an error when that sequence is scored
                    continue
                if found is not None:
                    chosen.add(found)
            for p in sorted(folder.iterdir()):
                if files and (not p.name.endswith(".txt") or p.name.endswith("_time.txt")):
                    continue
                stem = p.name[:-4] if files else p.name
                if p not in chosen and _norm(stem) in keys and (p.is_file() if files else p.is_dir()):
                    stray.append((p, keys[_norm(stem)]))
        if stray:
            shown = ", ".join(f"{p.name} (spells {n})" for p, n in stray[:3])
            more = f" and {len(stray) - 3} more" if len(stray) > 3 else ""
            self.problem(self.store.root, f"{len(stray)} result file(s) spell a sequence whose result is "
                                          f"another file, and are not scored: {shown}{more}")
        return [p for p, _ in stray]

    def check_unlisted(self) -> list[Path]:
        """Report the result files of a ledger folder that the ledger does not list."""
        if self.ledger is None:
            return []
        listed = self.ledger.listed_paths()
        stray = sorted(p for p in self.store.root.rglob("*.txt")
                       if p not in listed and not p.name.startswith(".") and not p.name.endswith("_time.txt")
                       and p.is_file())
        if stray:
            names = ", ".join(str(p.relative_to(self.store.root)) for p in stray[:3])
            more = f" and {len(stray) - 3} more" if len(stray) > 3 else ""
            self.problem(self.store.root, f"{len(stray)} result file(s) not written by the run the ledger "
                                          f"records are not scored: {names}{more}")
        return stray


def list_trackers(results_dir: Path, dataset_folders: tuple[str, ...]) -> dict[str, Path]:
    """Tracker folders of a dataset, name -> the results folder holding it.

    `dataset_folders` are the dataset's own folder, then its aliases (``OTB100``, ``OTB2015``).
    Each tracker is looked for in all of them: one found in its dataset's own folder is taken
    from there (an alias folder's copy is named in a warning, as it is not scored); one found
    only in two alias folders is an error, as either could be the one meant.
    """
    where: dict[str, list[Path]] = {}
    for folder in dataset_folders:
        base = Path(results_dir) / folder
        if base.is_dir():
            for p in sorted(base.iterdir()):
                if p.is_dir() and not p.name.startswith(".") and any(p.iterdir()):
                    where.setdefault(p.name, []).append(base)
    own = Path(results_dir) / dataset_folders[0]
    found = {}
    for name, bases in sorted(where.items()):
        if len(bases) > 1:
            others = ", ".join(str(b / name) for b in bases if b != own)
            if bases[0] != own:
                raise InputError(bases[0] / name, f"results of tracker {name!r} are also in {others}; either "
                                                  "could be meant, keep one")
            log.warning("%s: not scored, the results in %s are (the dataset's own folder)", others, own / name)
        found[name] = bases[0]
    return found
