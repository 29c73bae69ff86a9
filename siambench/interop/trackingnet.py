"""TrackingNet's submission layout: one-pass results as its evaluation server takes them.

:func:`export_trackingnet` turns siambench's results (``<results>/TrackingNet/<tracker>/<seq>.txt``)
into ``<out>/<tracker>/<seq>.txt``, one ``x,y,w,h`` line per frame, optionally zipped as
``<out>/<tracker>.zip`` with the files at its root: the archive the server's upload form takes
(the layout of pytracking's ``pack_trackingnet_results.py``). Unlike GOT-10k's, the server
needs no per-frame times.
"""

from __future__ import annotations

from pathlib import Path

from siambench.interop.submission import box_lines, one_pass_results, server_boxes, zip_folder


def export_trackingnet(results_dir: str | Path, tracker: str, out: str | Path, dataset: str = "trackingnet",
                       zip_results: bool = False) -> Path:
    """Write `tracker`'s one-pass results in the TrackingNet submission layout; returns the folder
    (or the zip file with `zip_results`)."""
    from siambench.textio import atomic_write_lines

    target = Path(out) / tracker
    # every file is read and checked before any is written: a bad one leaves no partial submission
    boxes = {seq: server_boxes(path) for seq, path in one_pass_results(results_dir, tracker, dataset, out)}
    for seq, rows in boxes.items():
        atomic_write_lines(target / f"{seq}.txt", box_lines(rows))
    if not zip_results:
        return target
    return zip_folder(target, Path(out) / f"{tracker}.zip", flat=True)
