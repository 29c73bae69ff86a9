"""pysot-family models: checkpoint compatibility, loading, fusion and output shapes."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from siambench.errors import InputError, UnknownNameError
from siambench.models import create_model, list_models
from siambench.models.checkpoints import (
    DASIAMRPN_PREFIXES,
    load_checkpoint,
    read_checkpoint,
)
from siambench.models.fuse import calibrate_batchnorm, count_batchnorm, fuse_bn
from siambench.models.necks import AdjustLayer

torch.set_num_threads(1)

# reference/trackers-and-toolkits.md section 1.6 (and 1.8 for DaSiamRPN's networks)
PARAM_COUNTS = {
    "siamrpn_alex_dwxcorr": 6_251_102,
    "siamrpn_alex_dwxcorr_16gpu": 6_251_102,
    "siamrpn_r50_l234_dwxcorr": 53_950_624,
    "siamrpn_r50_l234_dwxcorr_otb": 53_950_618,
    "siamrpn_mobilev2_l234_dwxcorr": 11_150_446,
    "siamrpn_r50_l234_dwxcorr_lt": 60_018_336,
    "siamrpn_alex_upxcorr": 22_632_932,
    "siamrpn_alex_upxcorr_big": 90_436_132,
}
PART_COUNTS = {
    "siamrpn_alex_dwxcorr": {"backbone": 3_749_952, "head": 2_501_150},
    "siamrpn_r50_l234_dwxcorr": {"backbone": 45_528_128, "neck": 919_040, "head": 7_503_456},
    "siamrpn_mobilev2_l234_dwxcorr": {"backbone": 3_485_204, "neck": 161_792, "head": 7_503_450},
}
LISTED = [name for name in PARAM_COUNTS if "upxcorr" not in name]
_LINE = re.compile(r"^(\S+) \(([\d, ]*)\)$")


def _meta_model(name: str) -> torch.nn.Module:
    """Shapes only: building on the meta device costs no memory and no initialisation time."""
    with torch.device("meta"):
        return create_model(name)


def _listing(shared_dir: Path, name: str) -> list[tuple[str, tuple[int, ...]]]:
    path = shared_dir / "reference" / "checkpoint-keys" / f"pysot_{name}.txt"
    if not path.is_file():
        pytest.skip(f"key listing {path} not found")
    entries = []
    for line in path.read_text().splitlines():
        if line.strip():
            match = _LINE.match(line.strip())
            assert match, line
            dims = tuple(int(d) for d in match.group(2).replace(" ", "").split(",") if d)
            entries.append((match.group(1), dims))
    return entries


@pytest.mark.parametrize("name", LISTED)
def test_state_dict_equals_released_listing(shared_dir: Path, name: str) -> None:
    model = _meta_model(name)
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert ours == _listing(shared_dir, name)


@pytest.mark.parametrize("name", list(PARAM_COUNTS))
def test_parameter_counts(name: str) -> None:
    model = _meta_model(name)
    assert sum(p.numel() for p in model.parameters()) == PARAM_COUNTS[name]
    for part, count in PART_COUNTS.get(name, {}).items():
        assert sum(p.numel() for p in model.parts()[part].parameters()) == count


def test_registry_lists_and_rejects() -> None:
    names = list_models()
    assert set(PARAM_COUNTS) <= set(names)
    with pytest.raises(UnknownNameError, match="siamrpn_r50_l234_dwxcorr"):
        create_model("siamrpn_r51")


def test_neck_crops_template_centre() -> None:
    layer = AdjustLayer(2, 2).eval()
    x = torch.randn(1, 2, 15, 15)
    full = layer(x, crop=False)
    assert full.shape[-1] == 15
    assert torch.equal(layer(x, crop=True), full[:, :, 4:11, 4:11])
    assert layer(x).shape[-1] == 7  # pysot's own rule: width < 20 is a template


# --------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def alex() -> torch.nn.Module:
    torch.manual_seed(1)
    return create_model("siamrpn_alex_dwxcorr")


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=gen)
            m.bias.data = torch.rand(n, generator=gen) - 0.5
            m.running_mean.mul_(0.5 + torch.rand(n, generator=gen))
            m.running_var.mul_(0.5 + torch.rand(n, generator=gen))


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sb = b.state_dict()
    return all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())


def test_saved_random_state_dict_loads_back_strictly(alex, tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(alex.state_dict(), path)
    fresh = create_model("siamrpn_alex_dwxcorr")
    assert not _same_state(alex, fresh)
    load_checkpoint(fresh, path)
    assert _same_state(alex, fresh)


def test_training_wrappers_are_removed(alex, tmp_path: Path) -> None:
    path = tmp_path / "checkpoint_e20.pth"
    wrapped = {"epoch": 20, "state_dict": {"module." + k: v for k, v in alex.state_dict().items()}}
    torch.save(wrapped, path)
    assert set(read_checkpoint(path)) == set(alex.state_dict())
    fresh = load_checkpoint(create_model("siamrpn_alex_dwxcorr"), path)
    assert _same_state(alex, fresh)


def test_mismatching_checkpoint_is_one_line_error(alex, tmp_path: Path) -> None:
    state = dict(alex.state_dict())
    del state["rpn_head.cls.head.3.bias"]
    state["rpn_head.loc.head.3.weight"] = torch.zeros(7, 256, 1, 1)
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(InputError) as info:
        load_checkpoint(create_model("siamrpn_alex_dwxcorr"), path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "missing keys: rpn_head.cls.head.3.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "rpn_head.loc.head.3.weight (7, 256, 1, 1) vs model (20, 256, 1, 1)" in message


class _Pickled:
    """Stands for a training script's class that a checkpoint pickled beside its tensors."""


def test_unreadable_checkpoint_names_file_and_reason_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    torch.save(create_model("siamrpn_alex_dwxcorr").state_dict(), good)
    unsafe = tmp_path / "objects.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "config": _Pickled()}, unsafe)
    cases = {
        b"not a checkpoint": "expected a file written by torch.save",
        good.read_bytes()[:50_000]: "truncated or damaged",
        unsafe.read_bytes(): "stores a Python object (test_models_pysot._Pickled) besides tensors",
    }
    for i, (content, reason) in enumerate(cases.items()):
        path = tmp_path / f"broken{i}.pth"
        path.write_bytes(content)
        with pytest.raises(InputError) as info:
            read_checkpoint(path)
        message = str(info.value)
        assert str(path) in message and reason in message and "\n" not in message
    with pytest.raises(InputError, match="not found"):
        read_checkpoint(tmp_path / "absent.pth")


def test_dasiamrpn_layout_maps_and_computes_like_dasiamrpn(tmp_path: Path) -> None:
    torch.manual_seed(2)
    source = create_model("siamrpn_alex_upxcorr")
    _randomise_bn(source)
    # rename to DaSiamRPN's attribute names and drop the BN counters its 2018 files lack
    inverse = {new: old for old, new in DASIAMRPN_PREFIXES.items()}
    state = {}
    for key, value in source.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        prefix = next(p for p in inverse if key.startswith(p))
        state[inverse[prefix] + key[len(prefix) :]] = value
    path = tmp_path / "SiamRPNvot.model"
    torch.save(state, path)
    model = load_checkpoint(create_model("siamrpn_alex_upxcorr"), path)
    assert _same_state(source, model)

    # DaSiamRPN's forward (code/net.py): kernels viewed as (4A, C, k, k) and (2A, C, k, k)
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 271, 271) * 255
    with torch.inference_mode():
        zf, xf = model.backbone(z), model.backbone(x)
        head = model.rpn_head
        r1 = head.template_loc_conv(zf).view(20, 256, 4, 4)
        c1 = head.template_cls_conv(zf).view(10, 256, 4, 4)
        loc_ref = head.loc_adjust(F.conv2d(head.search_loc_conv(xf), r1))
        cls_ref = F.conv2d(head.search_cls_conv(xf), c1)
        model.template(z)
        cls, loc = model.track(x)
    assert cls.shape == (1, 10, 19, 19) and loc.shape == (1, 20, 19, 19)
    assert torch.allclose(cls, cls_ref, rtol=1e-4, atol=1e-3)
    assert torch.allclose(loc, loc_ref, rtol=1e-4, atol=1e-3)


# --------------------------------------------------------------------------- outputs and fusion


@pytest.fixture(scope="module")
def r50() -> torch.nn.Module:
    torch.manual_seed(3)
    return create_model("siamrpn_r50_l234_dwxcorr")


def _check_fused(model: torch.nn.Module, search: int, score: int) -> None:
    gen = torch.Generator().manual_seed(4)
    z = torch.rand(1, 3, 127, 127, generator=gen) * 255
    x = torch.rand(1, 3, search, search, generator=gen) * 255
    model = copy.deepcopy(model)
    calibrate_batchnorm(model, z, x)  # activations of sane size, as with trained weights
    _randomise_bn(model)
    with torch.inference_mode():
        model.template(z)
        cls, loc = model.track(x)
        assert cls.shape == (1, 10, score, score) and loc.shape == (1, 20, score, score)
        # template()+track() caches the head's template kernels; forward() recomputes them
        cls_once, _ = model(z, x)
        assert torch.allclose(cls, cls_once, rtol=1e-5, atol=1e-5)
        fused = fuse_bn(copy.deepcopy(model))
        assert count_batchnorm(fused) == 0
        fused.template(z)
        cls_f, loc_f = fused.track(x)
    for ref, out in ((cls, cls_f), (loc, loc_f)):
        scale = max(1.0, ref.abs().max().item())
        assert (ref - out).abs().max().item() <= 1e-4 * scale


def test_alexnet_outputs_and_fusion(alex) -> None:
    _check_fused(alex, 287, 21)  # pysot's siamrpn_alex_dwxcorr: instance 287, 21x21


def test_mobilenet_outputs_and_fusion() -> None:
    torch.manual_seed(5)
    _check_fused(create_model("siamrpn_mobilev2_l234_dwxcorr"), 255, 25)


def test_resnet50_outputs_and_fusion(r50) -> None:
    _check_fused(r50, 255, 25)


def test_resnet50_feature_sizes(r50) -> None:
    with torch.inference_mode():
        feats = r50.backbone(torch.zeros(1, 3, 127, 127))
    assert [tuple(f.shape[1:]) for f in feats] == [(512, 15, 15), (1024, 15, 15), (2048, 15, 15)]


# --------------------------------------------------------------------------- models command


def test_models_command_prints_parts() -> None:
    from siambench.commands.models_cmd import models_command

    result = CliRunner().invoke(models_command, [])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "18,882,980" in lines["siamrpn_alex_upxcorr"]  # up-channel head
    assert "2,501,150" in lines["siamrpn_alex_dwxcorr"]  # depthwise head, same backbone
    assert "919,040" in lines["siamrpn_r50_l234_dwxcorr"]
    one = CliRunner().invoke(models_command, ["siamrpn_r50_l234_dwxcorr", "--json"])
    assert '"total": 53950624' in one.output
