"""`siambench track`: one tracker on a video file or a camera, boxes and an annotated video out."""

from __future__ import annotations

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
    with click.progressbar(length=max_frames or 0, label="tracking", file=sys.stderr,
                           show_pos=True, show_percent=max_frames is not None) as bar:
        result = track_video(tracker, source, start, out_dir, device, weights, max_frames, video,
                             progress=lambda done: bar.update(done - bar.pos))
    click.echo(result.format())
