"""export-onnx: the exported graphs equal the torch network, and a spec runs them in the tracker's loop."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")
if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("onnx and onnxruntime are not installed (pip install 'siambench[onnx]')", allow_module_level=True)

from siambench.cli import main  # noqa: E402
from siambench.errors import InputError, SiambenchError  # noqa: E402
from siambench.evaluate import evaluate  # noqa: E402
from siambench.onnx_export import export_onnx  # noqa: E402
from siambench.results import ResultStore, read_boxes  # noqa: E402
from siambench.runner import run  # noqa: E402
from siambench.synth import generate  # noqa: E402
from siambench.trackers.registry import create_tracker, load_spec, parse_spec  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    for tracker in ("siamfc-demo", "siamrpnpp-alex-demo"):
        export_onnx(tracker, out)
    return out


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo", layout="otb", sequences=2, frames=30, size=(160, 120))
    return root


@pytest.mark.parametrize("tracker", ["siamfc-demo", "siamrpnpp-alex-demo"])
def test_the_export_writes_graphs_a_manifest_and_a_spec(exported, tracker):
    manifest = json.loads((exported / f"{tracker}.onnx.json").read_text())
    assert manifest["tracker"] == tracker and manifest["weights"].startswith("sha256:")
    assert manifest["check"]["max_abs_diff"] <= 1e-3 * max(1.0, manifest["check"]["max_abs_output"])
    for graph in [manifest["template"], *manifest["search"].values()]:
        assert (exported / graph["file"]).is_file()
    spec = load_spec(exported / f"{tracker}-onnx.yaml")
    original = load_spec(tracker)
    assert spec.name == f"{tracker}-onnx" and spec.runtime == "onnxruntime"
    assert (spec.adapter, spec.model, spec.hyper) == (original.adapter, original.model, original.hyper)
    assert spec.box_policy == original.box_policy
    # The runtime is part of what produced a result, so results of the two never share a run key.
    assert spec.spec_hash() != dataclasses.replace(spec, runtime="torch").spec_hash()


def test_a_multi_layer_template_exports_too(tmp_path):
    # SiamRPN++ ResNet-50: three layers' kernels, flattened into the template graph's outputs.
    result = export_onnx("siamrpnpp", tmp_path, random_init=True)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["template"]["outputs"] == 6 and manifest["weights"] == "random-init"


@pytest.mark.parametrize("tracker", ["siamfc-demo", "siamrpnpp-alex-demo"])
def test_the_exported_network_tracks_as_the_original(exported, data_root, tmp_path, tracker):
    results = tmp_path / "results"
    for spec in (tracker, exported / f"{tracker}-onnx.yaml"):
        run(spec, "demo", data_root=data_root, results_dir=results, device="cpu", progress=False)
    scores = evaluate("demo", results, data_root=data_root)["trackers"]
    torch_auc, onnx_auc = scores[tracker]["overall"]["auc"], scores[f"{tracker}-onnx"]["overall"]["auc"]
    assert onnx_auc == pytest.approx(torch_auc, abs=0.02)
    for seq in scores[tracker]["sequences"]:
        ours = read_boxes(ResultStore(results, "demo", tracker).ope_path(seq))
        theirs = read_boxes(ResultStore(results, "demo", f"{tracker}-onnx").ope_path(seq))
        # The first frames, before float32 differences in summation order can move a peak.
        np.testing.assert_allclose(theirs[:5], ours[:5], atol=0.05)


def test_a_changed_graph_or_a_missing_manifest_is_an_error(exported, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    graph = copy / "siamfc-demo.search255.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(InputError, match="changed since siamfc-demo.onnx.json was written"):
        create_tracker(copy / "siamfc-demo-onnx.yaml", "cpu")
    (copy / "siamfc-demo.onnx.json").unlink()
    with pytest.raises(SiambenchError, match="siamfc-demo.onnx.json"):
        create_tracker(copy / "siamfc-demo-onnx.yaml", "cpu")


def test_options_that_do_not_apply_are_refused(exported, data_root, tmp_path):
    spec = exported / "siamfc-demo-onnx.yaml"
    with pytest.raises(SiambenchError, match="--random-init"):
        create_tracker(spec, "cpu", random_init=True)
    for options in ({"random_init": True}, {"precision": "bf16"}):
        with pytest.raises(SiambenchError, match="do not apply"):
            run(spec, "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False, **options)
    with pytest.raises(SiambenchError, match="already runs with onnxruntime"):
        export_onnx(spec, tmp_path / "again")


def test_a_batched_run_of_fixed_shape_graphs_tracks_one_sequence_at_a_time(exported, data_root, tmp_path, caplog):
    with caplog.at_level("WARNING", "siambench"):
        summary = run(exported / "siamfc-demo-onnx.yaml", "demo", data_root=data_root, results_dir=tmp_path,
                      device="cpu", progress=False, batch=2)
    assert len(summary.sequences_run) == 2
    assert "cannot run batched" in caplog.text


def test_spec_runtime_is_checked(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "adapter": "siamfc", "runtime": "tensorrt", "checkpoint": "m.json"}))
    with pytest.raises(InputError, match="'runtime' must be one of torch, onnxruntime"):
        parse_spec(path)
    path.write_text(yaml.safe_dump({"name": "t", "adapter": "siamfc", "runtime": "onnxruntime"}))
    with pytest.raises(InputError, match="needs 'checkpoint'"):
        parse_spec(path)


def test_the_cli_says_what_it_wrote_and_how_to_run_it(tmp_path, capsys):
    main(["export-onnx", "--tracker", "siamfc-demo", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "siamfc-demo.template.onnx" in out and "onnxruntime agrees with torch" in out
    assert f"siambench run --tracker {tmp_path / 'siamfc-demo-onnx.yaml'}" in out


def test_a_missing_exporter_is_one_line_naming_the_extra(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    with pytest.raises(SiambenchError, match=r"pip install 'siambench\[onnx\]'"):
        export_onnx("siamfc-demo", tmp_path)


def test_every_search_size_is_exported_and_checked(tmp_path):
    # DaSiamRPN searches a larger crop for small targets: one graph per size, each checked.
    result = export_onnx("siamrpn", tmp_path, random_init=True)
    manifest = json.loads(result.manifest_path.read_text())
    assert sorted(manifest["search"]) == ["271", "287"]
    tracker = create_tracker(result.spec_path, "cpu")
    frame = np.random.default_rng(1).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    for box in ([235.0, 176.0, 10.0, 8.0], [200.0, 150.0, 80.0, 60.0]):  # small, then ordinary
        tracker.init(frame, np.array(box))
        assert np.isfinite(tracker.track(frame).box).all()


def test_a_failed_export_leaves_an_earlier_one_as_it_was(exported, tmp_path, monkeypatch):
    import shutil

    import siambench.onnx_export as onnx_export

    folder = tmp_path / "exports"
    shutil.copytree(exported, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(onnx_export, "RELATIVE_TOLERANCE", -1.0)  # every check fails
    with pytest.raises(SiambenchError, match="none was kept"):
        export_onnx("siamfc-demo", folder, random_init=True)
    # The earlier export is as it was, and still runs; the failed one left nothing behind.
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    create_tracker(folder / "siamfc-demo-onnx.yaml", "cpu")


def test_a_malformed_or_foreign_manifest_is_a_one_line_error(exported, tmp_path):
    import shutil

    folder = tmp_path / "exports"
    shutil.copytree(exported, folder)
    manifest = json.loads((folder / "siamfc-demo.onnx.json").read_text())
    (folder / "siamfc-demo.onnx.json").write_text(json.dumps({**manifest, "search": [1, 2]}))
    with pytest.raises(InputError, match="entries with 'file', 'sha256'"):
        create_tracker(folder / "siamfc-demo-onnx.yaml", "cpu")
    with pytest.raises(InputError, match="exported from another network"):
        create_tracker(folder / "siamfc-demo-onnx.yaml", "cpu", weights=folder / "siamrpnpp-alex-demo.onnx.json")
    (folder / "siamfc-demo.onnx.json").unlink()
    with pytest.raises(InputError, match="not beside its spec"):
        create_tracker(folder / "siamfc-demo-onnx.yaml", "cpu")


def test_what_cannot_run_exported_graphs_says_so(exported, monkeypatch):
    import sys

    from siambench.tune import tune

    spec = exported / "siamfc-demo-onnx.yaml"
    with pytest.raises(SiambenchError, match="use --device cpu"):
        create_tracker(spec, "cuda")
    with pytest.raises(SiambenchError, match="tune needs the torch network of tracker 'siamfc-demo-onnx'"):
        tune(spec, "demo", ["window_influence=0.1,0.2"])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(SiambenchError, match=r"pip install 'siambench\[onnx\]'"):
        create_tracker(spec, "cpu")
