"""`siambench weights add`: a checkpoint is matched to the specs it fits and installed under
the name they expect."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run_cli

torch = pytest.importorskip("torch")

from siambench.checkpoint_fit import Fit, choose, install  # noqa: E402
from siambench.errors import InputError, SiambenchError  # noqa: E402
from siambench.trackers.registry import TrackerSpec, load_spec  # noqa: E402


@pytest.fixture
def weights(monkeypatch, tmp_path) -> Path:
    folder = tmp_path / "weights"
    monkeypatch.setenv("SIAMBENCH_WEIGHTS", str(folder))
    return folder


def _alex_state() -> dict:
    from siambench.trackers.siamrpn import build_model

    return build_model(load_spec("siamrpnpp-alex")).state_dict()


def test_add_installs_an_official_layout_under_its_expected_name(weights, tmp_path, capsys):
    source = tmp_path / "Downloads" / "model.pth"
    source.parent.mkdir()
    torch.save(_alex_state(), source)
    code, out, err = run_cli(["weights", "add", str(source)], capsys)
    assert code == 0, err
    target = weights / "pysot_siamrpn_alex_dwxcorr.pth"
    assert target.read_bytes() == source.read_bytes()
    assert out.strip().endswith("ready: siamrpnpp-alex")
    code, out, _ = run_cli(["list", "trackers"], capsys)
    row = next(line for line in out.splitlines() if line.startswith("siamrpnpp-alex "))
    assert "found" in row or str(target) in row or "yes" in row
    # Adding the same file again changes nothing; a different file needs --force.
    assert run_cli(["weights", "add", str(source)], capsys)[0] == 0
    state = _alex_state()
    state["backbone.features.0.bias"] = state["backbone.features.0.bias"] + 1
    other = tmp_path / "other.pth"
    torch.save(state, other)
    code, _, err = run_cli(["weights", "add", str(other)], capsys)
    assert code == 2 and "already installed here; use --force" in err
    assert run_cli(["weights", "add", "--force", "--link", str(other)], capsys)[0] == 0
    assert target.is_symlink() and target.resolve() == other.resolve()


def test_a_file_that_fits_nothing_names_the_nearest_spec(weights, tmp_path, capsys):
    state = _alex_state()
    del state["rpn_head.cls.head.3.bias"]
    source = tmp_path / "broken.pth"
    torch.save(state, source)
    code, _, err = run_cli(["weights", "add", str(source)], capsys)
    assert code == 2
    assert "fits no tracker spec; nearest: siamrpnpp-alex" in err and "rpn_head.cls.head.3.bias" in err
    assert not weights.exists() or not any(weights.iterdir())


def test_a_retrained_demo_network_is_pointed_at_run_weights_not_installed(weights, tmp_path, capsys):
    from siambench.trackers.siamrpn import build_model

    source = tmp_path / "my_demo_rpn.pth"
    torch.save(build_model(load_spec("siamrpnpp-alex-demo")).state_dict(), source)
    code, _, err = run_cli(["weights", "add", str(source)], capsys)
    assert code == 2
    assert "fits only siamrpnpp-alex-demo, whose weights ship with siambench" in err
    assert f"--tracker siamrpnpp-alex-demo --weights {source}" in err
    assert not weights.exists() or not any(weights.iterdir())


def test_a_text_file_is_one_line(weights, tmp_path, capsys):
    source = tmp_path / "notes.pth"
    source.write_text("not a checkpoint\n")
    code, _, err = run_cli(["weights", "add", str(source)], capsys)
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1 and str(source) in errors[0] and "Traceback" not in err


def _spec(name: str, checkpoint: str) -> TrackerSpec:
    return TrackerSpec(name, "siamrpn", checkpoint=checkpoint)


def test_identical_layouts_are_told_apart_by_the_files_path_or_the_tracker_option(tmp_path):
    vot, otb = _spec("siamrpnpp", "pysot_siamrpn_r50_l234_dwxcorr.pth"), \
        _spec("siamrpnpp-otb", "pysot_siamrpn_r50_l234_dwxcorr_otb.pth")
    fits = [Fit(vot, True), Fit(otb, True), Fit(_spec("x", "x.pth"), False, "no", 3)]
    assert choose(tmp_path / "siamrpn_r50_l234_dwxcorr_otb" / "model.pth", fits) == [otb]
    assert choose(tmp_path / "siamrpn_r50_l234_dwxcorr" / "model.pth", fits) == [vot]
    with pytest.raises(SiambenchError, match="fits several checkpoints.*--tracker"):
        choose(tmp_path / "model.pth", fits)
    # only the file's own name and folder count: an ancestor's words say nothing of the file
    assert choose(tmp_path / "otb_downloads" / "siamrpn_r50_l234_dwxcorr" / "model.pth", fits) == [vot]
    assert choose(tmp_path / "model.pth", fits, tracker="siamrpnpp-otb") == [otb]
    with pytest.raises(SiambenchError, match="does not fit tracker 'siamrpnpp-alex'"):
        choose(tmp_path / "model.pth", fits, tracker="siamrpnpp-alex")


def test_install_is_atomic_and_refuses_to_overwrite_silently(weights, tmp_path):
    spec = _spec("t", "t.pth")
    first, second = tmp_path / "a.pth", tmp_path / "b.pth"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    target, action = install(first, [spec])
    assert target.read_bytes() == b"one" and action == "copied"
    with pytest.raises(InputError, match="already installed"):
        install(second, [spec])
    assert install(second, [spec], force=True)[0].read_bytes() == b"two"
    assert sorted(p.name for p in weights.iterdir()) == ["t.pth"]  # no temporary left behind


def test_install_says_what_it_did_and_leaves_ordinary_files(weights, tmp_path, monkeypatch):
    import os
    import stat

    spec = _spec("t", "t.pth")
    source = tmp_path / "a.pth"
    source.write_bytes(b"one")
    previous = os.umask(0o022)
    try:
        target, action = install(source, [spec], link=True)
        assert action == "linked" and target.is_symlink()
        # the same bytes asked to be a copy: the link becomes a copy (deleting the download is safe)
        target, action = install(tmp_path / "a.pth", [spec])
        assert action == "copied" and not target.is_symlink()
        assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable by the others sharing the folder
        assert install(source, [spec]) == (target, "already installed")
    finally:
        os.umask(previous)
    target.unlink()
    dangling = tmp_path / "gone.pth"
    dangling.write_bytes(b"x")
    install(dangling, [spec], link=True)
    dangling.unlink()  # the link now points nowhere: replaced without --force
    assert install(source, [spec]) == (target, "copied") and target.read_bytes() == b"one"


def test_one_unreadable_file_does_not_stop_the_others(weights, tmp_path, capsys):
    broken, good = tmp_path / "broken.pth", tmp_path / "model.pth"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    torch.save(_alex_state(), good)
    code, out, err = run_cli(["weights", "add", str(broken), str(good)], capsys)
    assert code == 2 and str(broken) in err
    assert "ready: siamrpnpp-alex" in out and (weights / "pysot_siamrpn_alex_dwxcorr.pth").is_file()


def test_a_network_trained_by_siambench_is_never_installed_as_a_released_one(weights, capsys):
    from siambench.weights import resolve_weights

    demo = resolve_weights(load_spec("siamfc-demo"), None)  # the official SiamFC layout, trained here
    code, _, err = run_cli(["weights", "add", str(demo)], capsys)
    assert code == 2 and "written by `siambench train`, not a released checkpoint" in err
    assert f"--tracker siamfc-demo --weights {demo}" in err
    assert not weights.exists() or not any(weights.iterdir())


def test_an_unknown_tracker_option_is_named_as_such(weights, tmp_path, capsys):
    source = tmp_path / "model.pth"
    torch.save(_alex_state(), source)
    code, _, err = run_cli(["weights", "add", "--tracker", "nosuch", str(source)], capsys)
    assert code == 2 and "unknown tracker 'nosuch'" in err
