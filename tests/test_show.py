"""`siambench show`: raw results drawn on the frames, from disk, as a video and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from siambench.errors import InputError
from siambench.runner import run
from siambench.synth import generate
from siambench.trackers.base import Tracker, TrackResult

cv2 = pytest.importorskip("cv2")
N_FRAMES = 30


class Runaway(Tracker):
    """Leaves the target at 12 px per frame: fails often under the supervised protocol."""

    def init(self, frame, box):
        self.box = np.asarray(box, dtype=float)

    def track(self, frame):
        self.box = self.box + [12, 0, 0, 0]
        return TrackResult(self.box.copy(), 1.0)


@pytest.fixture
def runaway(isolated_registry):
    isolated_registry("runaway", lambda spec: Runaway())
    return isolated_registry


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo-vot", layout="vot", sequences=1, frames=N_FRAMES, size=(96, 72))
    generate(root / "demo", layout="otb", sequences=1, frames=N_FRAMES, size=(96, 72))
    return root


def _first_sequence(data_root: Path, dataset: str) -> str:
    from siambench.datasets import load_dataset

    return load_dataset(dataset, root=data_root).names[0]


def test_show_draws_failures_from_the_results_on_disk(runaway, data_root, tmp_path, capsys):
    summary = run("runaway", "demo-vot", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    assert summary.failures >= 2
    seq = _first_sequence(data_root, "demo-vot")
    code, out, err = run_cli(["show", "-t", "runaway", "-d", "demo-vot", "-s", seq, "--data-root", str(data_root),
                              "--results-dir", str(tmp_path), "--out", str(tmp_path / "show"), "--tiles", "4"],
                             capsys)
    assert code == 0, err
    sheet = cv2.imread(str(tmp_path / "show" / f"{seq}.png"))
    assert sheet is not None and sheet.shape[1] == 4 * 324 + 4
    # 4 evenly spaced tiles plus each failure frame: at least one more row than 4 tiles need.
    assert sheet.shape[0] > 28 + 2 * 244
    # Failure tiles carry the red border.
    assert (np.all(sheet == [0, 0, 255], axis=2)).sum() > 500
    video = cv2.VideoCapture(str(tmp_path / "show" / f"{seq}.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES
    assert "wrote sheet" in out and "wrote video" in out
    assert not [p for p in (tmp_path / "show").iterdir() if p.name.startswith(".")]  # no temporary left


def test_show_two_trackers_on_ope_results(runaway, data_root, tmp_path):
    from siambench.show import show

    runaway("runaway2", lambda spec: Runaway())
    for name in ("runaway", "runaway2"):
        run(name, "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    seq = _first_sequence(data_root, "demo")
    written = show(["runaway", "runaway2"], "demo", seq, results_dir=tmp_path, data_root=data_root, video=False)
    assert set(written) == {"sheet"} and written["sheet"] == tmp_path / "show" / "demo" / f"{seq}.png"
    assert cv2.imread(str(written["sheet"])) is not None


def test_show_names_what_is_missing(runaway, data_root, tmp_path):
    from siambench.show import show

    seq = _first_sequence(data_root, "demo")
    with pytest.raises(InputError, match="no results of tracker 'nobody'"):
        show(["nobody"], "demo", seq, results_dir=tmp_path, data_root=data_root)


def test_a_tracker_without_a_result_is_left_out_with_a_warning(runaway, data_root, tmp_path, caplog):
    from siambench.show import show

    run("runaway", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    seq = _first_sequence(data_root, "demo")
    short = tmp_path / "demo" / "short"
    short.mkdir()
    (short / f"{seq}.txt").write_text("10,10,20,20\n" * 5)  # a foreign result of 5 lines
    with caplog.at_level("WARNING", "siambench"):
        written = show(["runaway", "nobody", "short"], "demo", seq, results_dir=tmp_path, data_root=data_root,
                       video=False)
    assert cv2.imread(str(written["sheet"])) is not None
    assert "no results of tracker 'nobody'" in caplog.text and "shown without it" in caplog.text
    assert f"5 lines for the {N_FRAMES} frames" in caplog.text
    with pytest.raises(InputError, match="none of the trackers has a result"):
        show(["nobody", "noone"], "demo", seq, results_dir=tmp_path, data_root=data_root)


def test_tracker_colours_stay_distinct_past_the_palette():
    from siambench.show import TRACKER_COLOURS, tracker_colour

    colours = [tracker_colour(k) for k in range(2 * len(TRACKER_COLOURS))]
    assert len(set(colours)) == len(colours)
    assert all(max(c) >= 140 for c in colours)  # none too dark to see on a frame


def test_a_box_far_off_the_frame_is_drawn_without_numpy_warnings():
    import warnings

    from siambench.show import TrackLine, draw_frame

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value encountered in cast" would raise
        out = draw_frame(np.zeros((48, 64, 3), np.uint8), 0, np.array([1, 2, 3, 4.0]),
                         [TrackLine("t", [np.array([1e30, -1e30, 5, 5])])])
    assert out.shape == (48, 64, 3)
