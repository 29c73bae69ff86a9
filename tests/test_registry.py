"""Tracker registry, spec files, weights resolution, device selection, the OpenCV MIL adapter."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.trackers import registry
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.listing import tracker_rows
from siambench.trackers.registry import (
    BUILTIN_ADAPTER_MODULES,
    TrackerSpec,
    create_tracker,
    list_trackers,
    load_spec,
    register_adapter,
)
from siambench.weights import resolve_weights, select_device

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (REPO / "trackers").glob("*.yaml"))


class EchoTracker(Tracker):
    """Returns its init box forever."""

    def __init__(self, spec: TrackerSpec, weights: Path | None) -> None:
        self.spec = spec
        self.weights = weights
        self.box = np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.box = np.asarray(box, dtype=float)

    def track(self, frame: np.ndarray) -> TrackResult:
        return TrackResult(self.box.copy(), 1.0)


def build_echo(spec, device, weights, random_init):
    return EchoTracker(spec, weights)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """Private adapter/spec tables, no plugins, no spec folder but a temporary one."""
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_entry_points", lambda: [])
    specs = tmp_path / "specs"
    specs.mkdir()
    monkeypatch.setenv("SIAMBENCH_TRACKERS", str(specs))
    monkeypatch.setenv("SIAMBENCH_WEIGHTS", str(tmp_path / "weights"))
    return specs


def write_spec(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ shipped spec files


def test_all_shipped_specs_are_listed_and_parse():
    assert {"siamfc", "siamrpn", "siamrpnpp", "siamrpnpp-otb", "siamrpnpp-alex", "siamrpnpp-mobilev2",
            "siamfcplus", "siamrpnplus", "opencv-mil"} <= set(SHIPPED)
    names = list_trackers()
    for name in SHIPPED:
        assert name in names
        spec = load_spec(name)
        assert spec.name == name
        assert spec.adapter in BUILTIN_ADAPTER_MODULES
        assert spec.source is not None and spec.source.name == f"{name}.yaml"
        assert spec.description
        if spec.checkpoint is not None:
            # say which file the weights are: an official release, or our own demo weights
            assert "official file" in spec.description or "not the official" in spec.description


def test_pysot_specs_give_the_released_score_map_sizes():
    # (instance - exemplar) // stride + 1 + base_size, reference doc section 2.2 / DaSiamRPN
    expected = {"siamrpnpp": 25, "siamrpnpp-otb": 25, "siamrpnpp-mobilev2": 25, "siamrpnpp-alex": 21,
                "siamrpn": 19}
    for name, size in expected.items():
        h = load_spec(name).hyper
        assert (h["instance_size"] - h["exemplar_size"]) // h["anchor_stride"] + 1 + h["base_size"] == size


def test_released_hyper_parameters():
    assert [load_spec("siamrpnpp").hyper[k] for k in ("penalty_k", "window_influence", "lr")] == [0.05, 0.42, 0.38]
    assert [load_spec("siamrpnpp-otb").hyper[k] for k in ("penalty_k", "window_influence", "lr")] == [0.24, 0.5, 0.25]
    assert load_spec("siamrpnpp").model["rpn"]["kwargs"]["weighted"] is True
    assert load_spec("siamrpnpp-otb").model["rpn"]["kwargs"]["weighted"] is False
    assert [load_spec("siamrpn").hyper[k] for k in ("penalty_k", "window_influence", "lr")] == [0.055, 0.42, 0.295]
    fc = load_spec("siamfc").hyper
    assert (fc["scale_step"], fc["scale_lr"], fc["scale_penalty"], fc["window_influence"]) == (1.0375, 0.59, 0.9745, 0.176)
    assert load_spec("siamrpnplus").model["cls_type"] == "thinner"


def test_checkpoint_names_match_the_reference_key_listings(shared_dir):
    listings = {p.stem for p in (shared_dir / "reference" / "checkpoint-keys").glob("*.txt")}
    for name in SHIPPED:
        checkpoint = load_spec(name).checkpoint
        if checkpoint and checkpoint.startswith(("pysot_", "siamdw_")):
            assert Path(checkpoint).stem in listings, checkpoint


# ------------------------------------------------------------------ spec lookup and parsing


def test_spec_folder_order_and_path_loading(isolated, tmp_path, monkeypatch):
    second = tmp_path / "second"
    second.mkdir()
    write_spec(isolated, "mine", "adapter: echo\nhyper: {a: 1}\n")
    write_spec(second, "mine", "adapter: echo\nhyper: {a: 2}\n")
    write_spec(second, "other", "adapter: echo\n")
    monkeypatch.setenv("SIAMBENCH_TRACKERS", f"{isolated}{__import__('os').pathsep}{second}")
    assert load_spec("mine").hyper == {"a": 1}  # the first folder wins
    assert {"mine", "other"} <= set(list_trackers())
    by_path = load_spec(str(second / "mine.yaml"))
    assert by_path.hyper == {"a": 2} and by_path.name == "mine"
    assert load_spec(second / "other.yaml").model == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ("adapter: [unclosed\n", "invalid YAML"),
        ("- a\n- b\n", "mapping"),
        ("adapter: echo\nhyperr: {}\n", "unknown key"),
        ("name: x\n", "'adapter' is required"),
        ("adapter: echo\nmodel: 3\n", "'model' must be a mapping"),
        ("adapter: echo\ncheckpoint: ../x.pth\n", "file name, not a path"),
    ],
)
def test_bad_spec_files_are_input_errors_naming_the_file(isolated, text, message):
    path = write_spec(isolated, "bad", text)
    with pytest.raises(InputError) as info:
        load_spec("bad")
    assert message in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "a tracker spec is a YAML mapping"),
        ("just a string\n", "a tracker spec is a YAML mapping"),
        ("adapter: siamrpn\nhyper: []\n", "'hyper' must be a mapping, got list"),
        ("adapter: siamrpn\nmodel: 0\n", "'model' must be a mapping, got int"),
        ("adapter: siamrpn\nhyper: {penalty_k: '0.05'}\n",
         "hyper.penalty_k: expected a finite number, got the string '0.05'"),
        ("adapter: siamrpn\nhyper: {lr: [0.3]}\n", "hyper.lr: expected a finite number, got a list"),
        ("adapter: siamrpn\nhyper: {window_influence: .nan}\n", "hyper.window_influence: expected a finite"),
        ("adapter: siamrpn\nhyper: {exemplar_size: 127.5}\n", "hyper.exemplar_size: expected an integer"),
        ("adapter: siamrpn\nhyper: {exemplar_size: true}\n",
         "hyper.exemplar_size: expected an integer, got the boolean true"),
        ("adapter: siamrpn\nhyper: {anchor_ratios: 0.5}\n", "hyper.anchor_ratios: expected a non-empty list"),
        ("adapter: siamrpn\nhyper: {anchor_scales: [8, x]}\n", "hyper.anchor_scales: expected a non-empty list"),
        ("adapter: siamrpn\nmodel: {backbone: alexnet}\n", "model.backbone: expected a mapping with a string 'type'"),
        ("adapter: siamrpn\nmodel: {fuse_bn: 'no'}\n", "model.fuse_bn: expected true or false"),
        ("adapter: siamfc\nhyper: {scale_num: '3'}\n", "hyper.scale_num: expected an integer"),
        ("adapter: siamfcplus\nhyper: {benchmark: 2015}\n", "hyper.benchmark: expected a string"),
        ("adapter: siamrpnplus\nmodel: {anchor_num: [5]}\n", "model.anchor_num: expected an integer"),
        ("adapter: opencv-mil\nhyper: {seed: null}\n", "hyper.seed: expected an integer, got null"),
        ("adapter: echo\nhyper: {1: 2}\n", "hyper: keys must be names"),
    ],
)
def test_values_of_the_wrong_type_are_one_line_errors_naming_file_and_key(isolated, text, message):
    path = write_spec(isolated, "typed", text)
    with pytest.raises(InputError) as info:
        load_spec("typed")
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_values_of_the_right_type_and_other_adapters_values_pass(isolated):
    write_spec(isolated, "fine", "adapter: siamrpn\nhyper: {penalty_k: 1, small_target_instance_size: null}\n"
               "model: {neck: null, channels_last: auto}\n")
    write_spec(isolated, "plugin", "adapter: echo\nhyper: {anything: [1, {a: b}]}\n")
    assert load_spec("fine").hyper["penalty_k"] == 1
    assert load_spec("plugin").hyper["anything"] == [1, {"a": "b"}]


def test_specs_made_in_code_are_checked_before_building(isolated):
    # The real siamrpn adapter may already be registered (another test imported it): this test
    # stands a stub in for it in its private table.
    registry._ADAPTERS.pop("siamrpn", None)
    register_adapter("siamrpn")(build_echo)
    spec = TrackerSpec("coded", "siamrpn", hyper={"penalty_k": "high"})
    with pytest.raises(SiambenchError, match="tracker 'coded': hyper.penalty_k: expected a finite number"):
        create_tracker(spec, device="cpu", random_init=True)


_KIND_OF_ANNOTATION = {"int": "int", "float": "number", "str": "str", "int | None": "int?",
                       "tuple[float, ...]": "numbers"}


def test_the_type_tables_match_the_adapters():
    import dataclasses

    from siambench.trackers import opencv_mil, siamdw, siamfc, siamrpn
    from siambench.trackers.spec_checks import HYPER_KINDS, MODEL_KINDS

    configs = {"siamrpn": siamrpn.SiamRPNConfig, "siamfc": siamfc.SiamFCConfig,
               "siamfcplus": siamdw.FCPlusConfig, "siamrpnplus": siamdw.RPNPlusConfig}
    extra = {"siamfcplus": {"benchmark": "str"}, "siamrpnplus": {"benchmark": "str"}}
    for adapter, config in configs.items():
        expected = {f.name: _KIND_OF_ANNOTATION[str(f.type)] for f in dataclasses.fields(config)}
        assert HYPER_KINDS[adapter] == {**expected, **extra.get(adapter, {})}, adapter
    assert set(HYPER_KINDS["opencv-mil"]) == {*opencv_mil._PARAM_NAMES, "seed"}
    model_keys = {"siamrpn": siamrpn._MODEL_KEYS, "siamfc": siamfc._SIAMFC_MODEL_KEYS,
                  "siamfcplus": siamdw._FC_MODEL_KEYS, "siamrpnplus": siamdw._RPN_MODEL_KEYS,
                  "opencv-mil": set()}
    assert {a: set(k) for a, k in MODEL_KINDS.items()} == model_keys
    assert set(HYPER_KINDS) == set(MODEL_KINDS) == set(BUILTIN_ADAPTER_MODULES)


def test_yaml_error_carries_the_line(isolated):
    write_spec(isolated, "bad", "adapter: echo\nhyper:\n  a: [1, 2\n")
    with pytest.raises(InputError) as info:
        load_spec("bad")
    assert info.value.line is not None and info.value.line >= 3


def test_name_must_match_file(isolated):
    write_spec(isolated, "alpha", "name: beta\nadapter: echo\n")
    with pytest.raises(InputError, match="must match its file name"):
        load_spec("alpha")


def test_unknown_tracker_lists_known_ones(isolated):
    write_spec(isolated, "known-one", "adapter: echo\n")
    with pytest.raises(UnknownNameError) as info:
        load_spec("nope")
    assert "known-one" in str(info.value)
    with pytest.raises(InputError, match="not found"):
        load_spec("missing/spec.yaml")


def test_spec_hash_follows_what_changes_output():
    base = TrackerSpec("a", "echo", model={"m": 1}, hyper={"lr": 0.3}, checkpoint="w.pth")
    same = TrackerSpec("a", "echo", model={"m": 1}, hyper={"lr": 0.3}, checkpoint="w.pth",
                       description="other words", source=Path("/elsewhere.yaml"))
    assert base.spec_hash() == same.spec_hash()
    for changed in (
        TrackerSpec("a", "echo", model={"m": 1}, hyper={"lr": 0.31}, checkpoint="w.pth"),
        TrackerSpec("a", "echo", model={"m": 2}, hyper={"lr": 0.3}, checkpoint="w.pth"),
        TrackerSpec("a", "echo", model={"m": 1}, hyper={"lr": 0.3}, checkpoint="v.pth"),
        TrackerSpec("a", "other", model={"m": 1}, hyper={"lr": 0.3}, checkpoint="w.pth"),
    ):
        assert changed.spec_hash() != base.spec_hash()


# ------------------------------------------------------------------ adapters and construction


def test_create_tracker_from_a_spec_file_and_an_adapter(isolated, tmp_path):
    register_adapter("echo")(build_echo)
    write_spec(isolated, "echoer", "adapter: echo\ncheckpoint: echo.pth\ndescription: \"official file: echo.pth\"\n")
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    (weights_dir / "echo.pth").write_bytes(b"x")
    tracker = create_tracker("echoer", device="cpu")
    assert isinstance(tracker, EchoTracker)
    assert tracker.name == "echoer"
    assert tracker.weights == weights_dir / "echo.pth"
    assert create_tracker("echoer", device="cpu", random_init=True).weights is None
    explicit = tmp_path / "explicit.bin"
    explicit.write_bytes(b"y")
    assert create_tracker("echoer", device="cpu", weights=explicit).weights == explicit
    with pytest.raises(SiambenchError, match="exclude"):
        create_tracker("echoer", device="cpu", weights=explicit, random_init=True)


def test_registering_two_builders_under_one_name_is_an_error(isolated):
    register_adapter("echo")(build_echo)
    register_adapter("echo")(build_echo)  # the same builder again is harmless

    def other(spec, device, weights, random_init):
        return EchoTracker(spec, weights)

    with pytest.raises(SiambenchError, match="registered twice"):
        register_adapter("echo")(other)


def test_unknown_adapter(isolated):
    write_spec(isolated, "ghost", "adapter: no-such-adapter\n")
    with pytest.raises(UnknownNameError, match="no-such-adapter"):
        create_tracker("ghost", device="cpu")


def test_entry_point_plugins(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setenv("SIAMBENCH_TRACKERS", str(tmp_path))
    plugin = types.ModuleType("siambench_test_plugin")
    plugin.build = build_echo
    monkeypatch.setitem(sys.modules, "siambench_test_plugin", plugin)
    group = registry.ENTRY_POINT_GROUP
    eps = [
        metadata.EntryPoint("plugged", "siambench_test_plugin:build", group),
        metadata.EntryPoint("broken", "siambench_no_such_module_xyz:build", group),
    ]
    monkeypatch.setattr(registry, "_entry_points", lambda: eps)
    assert {"plugged", "broken"} <= set(list_trackers())
    tracker = create_tracker("plugged", device="cpu")
    assert isinstance(tracker, EchoTracker) and tracker.name == "plugged"
    assert tracker.spec.adapter == "plugged"
    with pytest.raises(SiambenchError, match="broken.*failed to load"):
        create_tracker("broken", device="cpu")


# ------------------------------------------------------------------ weights and devices


def test_missing_weights_name_the_path_and_the_official_file(isolated, tmp_path):
    spec = load_spec(REPO / "trackers" / "siamrpnpp.yaml")
    with pytest.raises(SiambenchError) as info:
        resolve_weights(spec)
    text = str(info.value)
    assert str(tmp_path / "weights" / "pysot_siamrpn_r50_l234_dwxcorr.pth") in text
    assert "siamrpn_r50_l234_dwxcorr/model.pth" in text
    assert "--random-init" in text
    with pytest.raises(SiambenchError, match="not found"):
        resolve_weights(spec, tmp_path / "nothing.pth")


def test_default_weights_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SIAMBENCH_WEIGHTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = TrackerSpec("x", "echo", checkpoint="c.pth")
    target = tmp_path / ".cache" / "siambench" / "weights" / "c.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"w")
    assert resolve_weights(spec) == target
    assert resolve_weights(TrackerSpec("y", "echo")) is None


def test_select_device():
    import torch

    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:x", "tpu:0"):
        with pytest.raises(SiambenchError, match="unknown device"):
            select_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(SiambenchError, match="CUDA is not available"):
            select_device("cuda:0")


# ------------------------------------------------------------------ OpenCV MIL adapter


def moving_square(n: int = 12) -> tuple[list[np.ndarray], np.ndarray]:
    """Textured square moving right on a noisy background."""
    rng = np.random.default_rng(3)
    background = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
    patch = rng.integers(150, 255, (30, 30, 3), dtype=np.uint8)
    frames, boxes = [], []
    for i in range(n):
        frame = background.copy()
        x, y = 20 + 3 * i, 40
        frame[y:y + 30, x:x + 30] = patch
        frames.append(frame)
        boxes.append([x, y, 30, 30])
    return frames, np.asarray(boxes, dtype=float)


def run_mil(frames, box):
    tracker = create_tracker("opencv-mil", device="cpu")
    tracker.init(frames[0], box)
    return [tracker.track(f) for f in frames[1:]]


def test_mil_tracks_and_repeats_exactly():
    frames, boxes = moving_square()
    first = run_mil(frames, boxes[0])
    second = run_mil(frames, boxes[0])
    assert all(np.isnan(r.score) for r in first)
    np.testing.assert_array_equal([r.box for r in first], [r.box for r in second])
    # it follows the square: the final centre is within a few pixels of the truth
    final = first[-1].box
    assert abs((final[0] + final[2] / 2) - (boxes[-1][0] + 15)) < 6


def test_mil_rejects_weights_and_unknown_parameters(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x")
    with pytest.raises(SiambenchError, match="no weights"):
        create_tracker("opencv-mil", device="cpu", weights=weights)
    spec = TrackerSpec("mil-bad", "opencv-mil", hyper={"samplerRadius": 3})
    with pytest.raises(SiambenchError, match="unknown opencv-mil parameter"):
        create_tracker(spec, device="cpu")


def test_listing_rows(isolated, tmp_path):
    write_spec(isolated, "needs-weights", "adapter: echo\ncheckpoint: a.pth\n")
    write_spec(isolated, "no-weights", "adapter: echo\n")
    write_spec(isolated, "broken", "adapter: [\n")
    rows = {row["name"]: row for row in tracker_rows()}
    assert rows["needs-weights"]["weights_found"] is False
    assert rows["needs-weights"]["weights_path"] == str(tmp_path / "weights" / "a.pth")
    assert rows["no-weights"]["weights_found"] is None
    assert rows["broken"]["description"].startswith("error:")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "a.pth").write_bytes(b"w")
    assert {r["name"]: r for r in tracker_rows()}["needs-weights"]["weights_found"] is True


@pytest.mark.parametrize("key, value, expected", [
    ("scale_num", 0, "at least 1"), ("instance_size", 0, "at least 1"), ("response_up", -2, "at least 1"),
    ("total_stride", 0, "at least 1"), ("scale_step", 0, "above 0"), ("window_influence", 1.5, "between 0 and 1"),
    ("instance_size", 100, r"at least exemplar_size \(127\)"),
])
def test_hyper_values_out_of_range_are_refused_before_running(key, value, expected):
    from siambench.trackers.spec_checks import check_hyper_kinds, check_spec

    spec = registry.load_spec("siamfc-demo")
    bad = registry.TrackerSpec(**{**spec.__dict__, "hyper": {**spec.hyper, key: value}})
    with pytest.raises(SiambenchError, match=f"hyper.{key}: expected {expected}"):
        check_spec(bad)
    if key != "instance_size" or value < 1:  # tune checks each value alone
        with pytest.raises(SiambenchError, match=f"hyper.{key}: expected {expected}"):
            check_hyper_kinds(spec, {key: value}, "--param")  # tune's settings, before any trial


def test_anchor_ratios_must_all_be_positive():
    from siambench.trackers.spec_checks import check_spec

    spec = registry.load_spec("siamrpnpp-alex")
    bad = registry.TrackerSpec(**{**spec.__dict__, "hyper": {**spec.hyper, "anchor_ratios": [0, 0.5, 1]}})
    with pytest.raises(SiambenchError, match="hyper.anchor_ratios: expected above 0, got 0"):
        check_spec(bad)


def test_every_registered_spec_keeps_to_the_ranges():
    from siambench.trackers.spec_checks import check_spec

    for name in registry.list_trackers():
        check_spec(registry.load_spec(name))


def test_an_unknown_name_in_another_case_or_spelling_gets_a_suggestion():
    err = UnknownNameError("sequence of demo-vot", "Rotation1", ["clutter1", "rotation1"])
    assert "unknown sequence of demo-vot 'Rotation1' (did you mean 'rotation1'?); known:" in str(err)
    assert "did you mean" not in str(UnknownNameError("dataset", "vot2081", ["vot2018", "vot2019"]))


def test_the_default_sizes_are_the_adapters_config_defaults():
    import dataclasses

    from siambench.trackers import siamdw, siamfc, siamrpn
    from siambench.trackers.spec_checks import DEFAULT_SIZES

    configs = {"siamrpn": siamrpn.SiamRPNConfig, "siamfc": siamfc.SiamFCConfig,
               "siamrpnplus": siamdw.RPNPlusConfig, "siamfcplus": siamdw.FCPlusConfig}
    for adapter, cls in configs.items():
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        assert DEFAULT_SIZES[adapter] == (defaults["exemplar_size"], defaults["instance_size"]), adapter


def test_a_search_region_smaller_than_the_default_exemplar_is_refused():
    from siambench.trackers.spec_checks import check_spec

    spec = registry.load_spec("siamrpnpp-alex-demo")
    hyper = {k: v for k, v in spec.hyper.items() if k != "exemplar_size"}
    bad = registry.TrackerSpec(**{**spec.__dict__, "hyper": {**hyper, "instance_size": 100}})
    with pytest.raises(SiambenchError, match=r"at least exemplar_size \(127\), got 100"):
        check_spec(bad)
