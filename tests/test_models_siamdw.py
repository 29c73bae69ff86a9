"""SiamDW (SiamFC+, SiamRPN+) and siamfc-pytorch models: keys, shapes, sizes, loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from siambench.errors import InputError
from siambench.models import create_model
from siambench.models.backbones.ciresnet import CIRBottleneck, center_crop, ciresnet22
from siambench.models.fuse import calibrate_batchnorm, count_batchnorm, fuse_bn
from siambench.models.siamdw import load_siamdw_checkpoint

torch.set_num_threads(1)

# model name, builder kwargs, key listing, parameter count (reference section 1.7)
SIAMDW_MODELS = [
    ("siamfcres22", {}, "siamdw_SiamFCRes22", 1_444_928),
    ("siamfcres22w", {}, "siamdw_SiamFCRes22W", 2_458_048),
    ("siamfcincep22", {}, "siamdw_SiamFCIncep22", 1_694_656),
    ("siamfcnext22", {}, "siamdw_SiamFCNext22", 1_416_576),
    ("siamrpnres22", {"cls_type": "thinner"}, "siamdw_SiamRPNRes22_thinner", 33_302_756),
    ("siamrpnres22", {"cls_type": "thicker"}, "siamdw_SiamRPNRes22_thicker", 76_959_204),
]


def read_listing(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    """`key (d0, d1, ...)` lines -> [(key, shape)]."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        key, shape = line.split(" ", 1)
        dims = shape.strip("()").replace(" ", "")
        entries.append((key, tuple(int(d) for d in dims.split(",") if d)))
    return entries


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "kwargs", "listing", "params"), SIAMDW_MODELS)
def test_keys_shapes_and_parameters_equal_siamdw(shared_dir, name, kwargs, listing, params):
    expected = read_listing(shared_dir / "reference" / "checkpoint-keys" / f"{listing}.txt")
    model = create_model(name, **kwargs)
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == expected  # same keys, same shapes, same order
    assert param_count(model) == params
    # the listing itself agrees: parameters are everything but BN statistics
    listed = sum(
        torch.Size(shape).numel()
        for key, shape in expected
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert listed == params


def test_siamfc_alexnet_matches_siamfc_pytorch_layout():
    model = create_model("siamfc_alexnet")
    keys = list(model.state_dict())
    assert keys[:3] == ["backbone.conv1.0.weight", "backbone.conv1.0.bias", "backbone.conv1.1.weight"]
    assert keys[-2:] == ["backbone.conv5.0.weight", "backbone.conv5.0.bias"]
    assert param_count(model) == 2_336_320  # reference section 1.8
    assert model.state_dict()["backbone.conv2.0.weight"].shape == (256, 48, 5, 5)  # groups=2
    assert model.backbone.conv1[1].eps == 1e-6
    with torch.no_grad():
        assert model.template(torch.rand(1, 3, 127, 127)).shape == (1, 256, 6, 6)
        assert model.backbone(torch.rand(1, 3, 255, 255)).shape == (1, 256, 22, 22)
        assert model.track(torch.rand(3, 3, 255, 255)).shape == (3, 1, 17, 17)


def test_cir_unit_crops_one_pixel_per_side_after_the_addition():
    torch.manual_seed(0)
    unit = CIRBottleneck(256, 64, last_relu=False).eval()
    x = torch.randn(1, 256, 12, 12)
    with torch.no_grad():
        out = unit(x)
        branch = unit.bn3(unit.conv3(unit.relu(unit.bn2(unit.conv2(unit.relu(unit.bn1(unit.conv1(x))))))))
    assert out.shape == (1, 256, 10, 10)
    torch.testing.assert_close(out, center_crop(branch + x))
    assert (out < 0).any()  # no ReLU on a last unit
    relu_unit = CIRBottleneck(256, 64, last_relu=True).eval()
    with torch.no_grad():
        assert (relu_unit(x) >= 0).all()


def test_ciresnet22_stage_sizes_shrink_by_two_per_unit():
    backbone = ciresnet22().eval()
    sizes: list[int] = []
    units = [m for m in backbone.modules() if isinstance(m, CIRBottleneck)]
    for unit in units:
        unit.register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[-1]))
    with torch.no_grad():
        out = backbone(torch.zeros(1, 3, 255, 255))
    # stem 124 -> pool 62; layer1: 60, 58, 56; layer2: 54, pool 27, then 25, 23, 21
    # (reference section 1.7)
    assert sizes == [60, 58, 56, 54, 25, 23, 21]
    assert isinstance(backbone.features.layer2[1], torch.nn.MaxPool2d)  # CIR-D: pool after unit 0
    assert out.shape == (1, 512, 21, 21)


@pytest.mark.parametrize("name", ["siamfcres22", "siamfcres22w", "siamfcincep22", "siamfcnext22"])
def test_siamfcplus_feature_and_response_sizes(name):
    model = create_model(name)
    with torch.no_grad():
        for z_size, x_size, z_feat, x_feat in ((127, 255, 5, 21), (135, 263, 6, 22)):
            assert model.template(torch.rand(1, 3, z_size, z_size) * 255).shape[-1] == z_feat
            assert model.features(torch.rand(1, 3, x_size, x_size)).shape[-1] == x_feat
            # SiamDW keeps exemplar = instance - 128, so the response stays 17x17
            assert model.track(torch.rand(3, 3, x_size, x_size)).shape == (3, 1, 17, 17)


def test_siamfcplus_response_is_scaled_correlation():
    model = create_model("siamfcres22")
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        model.template(z)
        out = model.track(x)
        expected = 0.1 * torch.nn.functional.conv2d(model.features(x), model.features(z))
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("instance", "side"), [(255, 17), (271, 19), (287, 21)])
def test_siamrpnplus_output_sizes(instance, side):
    model = create_model("siamrpnres22")  # thinner: 5 sigmoid channels
    with torch.no_grad():
        model.template(torch.rand(1, 3, 127, 127) * 255)
        cls, loc = model.track(torch.rand(1, 3, instance, instance) * 255)
    assert cls.shape == (1, 5, side, side)
    assert loc.shape == (1, 20, side, side)


def test_siamrpnplus_template_kernels_equal_the_stateless_forward():
    model = create_model("siamrpnres22")
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255
    with torch.no_grad():
        model.template(z)
        cls, loc = model.track(x)
        cls_ref, loc_ref = model(z, x)
    torch.testing.assert_close(cls, cls_ref)
    torch.testing.assert_close(loc, loc_ref)


def test_random_state_dict_reloads_strictly(tmp_path):
    torch.manual_seed(1)
    source = create_model("siamfcres22")
    path = tmp_path / "plain.pth"
    torch.save(source.state_dict(), path)
    target = create_model("siamfcres22")
    load_siamdw_checkpoint(target, path)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_siamdw_wrapped_checkpoint_loads(tmp_path):
    """A training-script file: state_dict wrapper, module. prefixes, no BN counters, extras."""
    torch.manual_seed(2)
    source = create_model("siamfcres22")
    state = {
        f"module.{k}": v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    state["module.connect_model.loc_adjust.weight"] = torch.zeros(1)
    state["module.connect_model.loc_adjust.bias"] = torch.zeros(1)
    path = tmp_path / "wrapped.pth"
    torch.save({"epoch": 50, "arch": "SiamFCRes22", "state_dict": state}, path)
    target = create_model("siamfcres22")
    load_siamdw_checkpoint(target, path)
    key = "features.features.layer2.4.conv3.weight"
    assert torch.equal(target.state_dict()[key], source.state_dict()[key])


def test_mismatched_checkpoint_is_an_input_error(tmp_path):
    path = tmp_path / "fc.pth"
    torch.save(create_model("siamfcres22").state_dict(), path)
    with pytest.raises(InputError, match="missing keys: connect_model.template_cls"):
        load_siamdw_checkpoint(create_model("siamrpnres22"), path)


@pytest.mark.parametrize("name", ["siamfcres22", "siamfcincep22", "siamfcnext22"])
def test_bn_folding_keeps_outputs(name):
    torch.manual_seed(3)
    model = create_model(name)
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255
    calibrate_batchnorm(model, z, x)  # non-trivial statistics to fold
    with torch.no_grad():
        before = model(z, x)
        fuse_bn(model)
        after = model(z, x)
    # CIR-NeXt's BatchNorm after the residual addition has no convolution to fold into
    assert count_batchnorm(model) == (7 if name == "siamfcnext22" else 0)
    torch.testing.assert_close(after, before, rtol=1e-3, atol=1e-3 * before.abs().max().item())
