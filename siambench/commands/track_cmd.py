"""`siambench track`: one tracker on a video file or a camera, boxes and an annotated video out."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click


@click.command("track")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml", help="Tracker spec name or spec file.")
@click.option("--video", "source", required=True, metavar="FILE|CAMERA",
              help="A video file (.mp4, .avi, ...) or a camera index (0 for the first camera).")
@click.option("--box", required=True, metavar="X,Y,W,H", help="The target on the first frame (pixels).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results") / "videos", show_default=True, help="Where the boxes and the video go.")
@click.option("--frames", "max_frames", type=click.IntRange(min=1), default=None,
              help="Stop after this many frames (default: the whole video; Ctrl-C stops a camera).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's).")
@click.option("--video-out/--no-video-out", "video", default=True, show_default=True,
              help="Write the annotated video (the boxes are always written).")
def track_command(tracker: str, source: str, box: str, out_dir: Path, max_frames: int | None, device: str,
                  weights: Path | None, video: bool) -> None:
    """Track the target at --box through a video or a camera: writes its boxes and an annotated MP4."""
    from siambench.video import parse_box, track_video

    start = parse_box(box)
    with contextlib.ExitStack() as stack:
        bar = None

        def progress(done: int, total: int | None) -> None:
            # The bar opens at the first tracked frame, after every check, so an error stays one line.
            nonlocal bar
            if total is None:  # a camera: no end to show, a count now and then instead
                if done % 100 == 0:
                    click.echo(f"tracked {done} frames", err=True)
                return
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=total, label="tracking", file=sys.stderr,
                                                            show_pos=True))
            bar.update(done - bar.pos)

        result = track_video(tracker, source, start, out_dir, device, weights, max_frames, video, progress=progress)
    click.echo(result.format())
