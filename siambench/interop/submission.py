"""What the benchmark servers' submissions share: which result files to send, and the zip.

The files are those ``siambench eval`` would score (:class:`siambench.results.ResultIndex`): the
ledger's in a folder siambench wrote, so a stray copy or a leftover never reaches a server.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from siambench.errors import InputError
from siambench.textio import check_writable_dir, os_reason

BOX_FORMAT = "%.3f"  # got10k's own precision for boxes; the TrackingNet server parses any decimal


def one_pass_results(results_dir: str | Path, tracker: str, dataset: str, out: str | Path) -> list[tuple[str, Path]]:
    """(sequence, result file) of `tracker` on a one-pass `dataset`, sorted; `out` checked first."""
    from siambench.datasets import dataset_info
    from siambench.results import ResultIndex, ResultStore

    check_writable_dir(Path(out))  # before reading every result file
    info = dataset_info(dataset)
    store = ResultStore(Path(results_dir), info.results_name, tracker)
    if not store.root.is_dir():
        raise InputError(store.root, f"no results of tracker {tracker!r} (run `siambench run` first)")
    index = ResultIndex(store)
    if index.ledger is not None:
        index.check_unlisted()
        names = sorted(index.ledger.sequences("ope"))
        index.check_one_run(names)
    else:
        names = sorted(p.stem for p in store.root.glob("*.txt") if not p.stem.endswith("_time"))
    found = [(name, index.ope(name)) for name in names]
    found = [(name, path) for name, path in found if path is not None]
    if not found:
        raise InputError(store.root, "no one-pass result files (<seq>.txt) found")
    return found


def server_boxes(path: Path) -> np.ndarray:
    """The (N, 4) boxes of one result file, all finite: a server cannot score NaN or infinity,
    and a box the tracker did not give is the tracker's to report, not the export's to invent."""
    from siambench.results import read_boxes

    boxes = read_boxes(path)
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if len(bad):
        raise InputError(path, "expected finite box values for the server, got NaN or infinity", int(bad[0]) + 1)
    return boxes


def box_lines(boxes: np.ndarray) -> Iterator[str]:
    """One ``x,y,w,h`` line per box, as the servers take them."""
    return (",".join(BOX_FORMAT % v for v in row) for row in boxes)


def zip_folder(folder: Path, archive: Path, flat: bool = False) -> Path:
    """The folder's .txt files in `archive` (at its root with `flat`); a failed write leaves none."""
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
            for path in sorted(folder.rglob("*.txt")):
                handle.write(path, path.name if flat else path.relative_to(folder).as_posix())
    except OSError as exc:
        archive.unlink(missing_ok=True)
        raise InputError(archive, f"cannot write ({os_reason(exc)})") from None
    return archive
