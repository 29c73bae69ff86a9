"""siambench analyze: the centre-bias index, receptive-field rules and the shift ablation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from cli_run import run_cli  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from siambench.analysis import arch, bias  # noqa: E402
from siambench.training.pairs import CropStyle  # noqa: E402

# ----------------------------------------------------------------------------- bias

# small crops so that an exact template matcher (stride 1) runs in a moment
STYLE = CropStyle("siamrpn", exemplar_size=31, search_size=63, context_amount=0.5)


def _samples(n: int = 2) -> list[bias.Sample]:
    rng = np.random.default_rng(0)
    return [bias.Sample(rng.integers(0, 256, (160, 200, 3), dtype=np.uint8),
                        np.array([80.0 + 7 * i, 60.0, 24.0, 20.0])) for i in range(n)]


class TemplateMatcher(nn.Module):
    """Normalised cross-correlation of each search crop with its own exemplar, stride 1."""

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        return z - z.mean(dim=(1, 2, 3), keepdim=True)

    def track_with(self, zf: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n, c, k = x.shape[0], x.shape[1], zf.shape[-1]
        corr = F.conv2d(x.reshape(1, n * c, *x.shape[2:]), zf, groups=n).reshape(n, 1, -1, x.shape[-1] - k + 1)
        ones = torch.ones(1, c, k, k)
        local_sum = F.conv2d(x, ones)
        energy = F.conv2d(x * x, ones) - local_sum**2 / (c * k * k)
        return corr / energy.clamp_min(1e-6).sqrt()


class Blind(nn.Module):
    """A response that ignores its input: one fixed map for every crop."""

    def __init__(self) -> None:
        super().__init__()
        self.map = torch.rand(1, 1, 33, 33, generator=torch.Generator().manual_seed(1))

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def track_with(self, zf: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.map.expand(len(x), -1, -1, -1)


def _probe(model: nn.Module) -> bias.Probe:
    return bias.Probe("test", model, STYLE, 1, bias._fc_maps)


def test_exact_template_matching_scores_one() -> None:
    result = bias.measure_bias(_probe(TemplateMatcher()), _samples(), bias.parse_offsets("-12:12:4"),
                               progress=False)
    assert result.index == pytest.approx(1.0, abs=0.05)
    assert result.to_json()["mean_error"] < 1.5
    assert result.heatmap.sum() == 2 * 49


def test_network_ignoring_the_input_scores_zero() -> None:
    result = bias.measure_bias(_probe(Blind()), _samples(), bias.parse_offsets("-12:12:4"),
                               progress=False)
    assert abs(result.index) < 0.05
    assert np.count_nonzero(result.heatmap) == 1  # every peak in one cell
    rings, error = result.error_curve()
    assert list(rings) == [0, 4, 8, 12] and error[-1] > error[0]


def test_centre_prior_lies_between() -> None:
    offsets = bias.parse_offsets("-8:8:8")
    halfway = offsets[None] * 0.5
    assert bias.centre_bias_index(offsets, halfway) == pytest.approx(0.5)


@pytest.mark.parametrize("text", ["-64:64", "a:b:c", "8:-8:4", "0:0:1"])
def test_bad_offsets_are_errors(text: str) -> None:
    with pytest.raises(bias.SiambenchError):
        bias.parse_offsets(text)


def test_bias_cli_random_init(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bias"
    code, stdout, err = run_cli(["analyze", "bias", "--tracker", "siamfc", "--random-init",
                                 "--frames", "1", "--offsets", "-32:32:32", "--device", "cpu",
                                 "--out", str(out)], capsys)
    assert code == 0, err
    data = json.loads((out / "bias.json").read_text())
    (entry,) = data["trackers"]
    assert entry["tracker"] == "siamfc" and len(entry["offsets"]) == 9
    assert np.array(entry["heatmap"]).shape == (17, 17)
    assert (out / "bias.png").read_bytes()[:4] == b"\x89PNG"
    assert "centre-bias index" in stdout


def test_bias_cli_refuses_unwritable_out_before_work(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(["analyze", "bias", "--tracker", "siamfc", "--random-init",
                            "--out", str(blocker / "sub")], capsys)
    assert code == 2 and err.startswith("siambench: error:") and "a file is in the way" in err


def test_bias_refuses_a_tracker_without_network(capsys) -> None:
    code, _, err = run_cli(["analyze", "bias", "--tracker", "opencv-mil", "--frames", "1"], capsys)
    assert code == 2 and "no Siamese network" in err


# ----------------------------------------------------------------------------- arch


def _hand_rf(layers: list[tuple[int, int]]) -> tuple[int, int]:
    """Receptive field and stride of a chain of (kernel, stride) layers, by the textbook rule."""
    rf, jump = 1, 1
    for kernel, stride in layers:
        rf += (kernel - 1) * jump
        jump *= stride
    return rf, jump


ALEXNET = [(11, 2), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1)]  # conv1, pool, conv2, pool, conv3-5


@pytest.mark.parametrize("name", ["siamfc_alexnet", "siamrpn_alex_dwxcorr"])
def test_alexnet_geometry(name: str) -> None:
    from siambench.models import create_model

    numbers = arch.geometry(create_model(name))
    rf, stride = _hand_rf(ALEXNET)
    assert (rf, stride) == (87, 8)
    assert numbers["receptive_field"] == rf and numbers["stride"] == stride
    assert (numbers["exemplar_out"], numbers["search_out"]) == (6, 22)  # SiamFC / pysot configs
    assert numbers["border_exemplar"] == numbers["border_search"] == 0  # no padding anywhere
    assert 0 < numbers["effective_rf"] <= rf
    assert numbers["rf_share"] == pytest.approx(87 / 127)


class ResidualUnit(nn.Module):
    """conv3x3 (padding 1) -> ReLU -> conv3x3 (padding 1), plus the identity."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x)))


def test_one_residual_unit_by_hand() -> None:
    plain = (lambda net, x: net(x),) * 2
    numbers = arch.geometry(ResidualUnit(), 31, 63, forward=plain)
    assert numbers["receptive_field"] == _hand_rf([(3, 1), (3, 1)])[0] == 5
    assert numbers["stride"] == 1
    assert (numbers["exemplar_out"], numbers["search_out"]) == (31, 63)
    # each padded 3x3 conv contaminates one more ring of outputs: two convs, two rings
    assert numbers["border_exemplar"] == numbers["border_search"] == 2


def test_siamdw_ciresnet22_and_padded_small_resnet() -> None:
    reports = arch.analyze_arch(["siamfcres22", "siamrpn_small_resnet"], progress=False)
    dw, small = reports
    # reference: CIResNet-22 127 -> 5, 255 -> 21, stride 8, RF 93, crops leave no padded unit
    assert (dw.exemplar_out, dw.search_out, dw.stride, dw.receptive_field) == (5, 21, 8, 93)
    assert dw.border_search == 0 and dw.within_rule
    assert (small.exemplar_out, small.search_out, small.stride) == (7, 31, 8)
    assert small.border_search > 0  # the padded network the shift analysis needs
    assert dw.flops_search > dw.flops_template > 0
    assert dw.params["backbone"] == dw.total_params == 1_444_928


def test_arch_cli_and_models_arch(tmp_path: Path, capsys) -> None:
    code, stdout, err = run_cli(["analyze", "arch", "--model", "siamfc_alexnet",
                                 "--out", str(tmp_path)], capsys)
    assert code == 0, err
    (row,) = json.loads((tmp_path / "arch.json").read_text())
    assert row["receptive_field"] == 87 and row["within_siamdw_rule"]
    assert stdout.splitlines()[0].split()[:3] == ["model", "stride", "RF"]
    code, stdout, err = run_cli(["models", "siamfc_alexnet", "--arch"], capsys)
    assert code == 0 and "siamfc_alexnet" in stdout and " 87 " in stdout


# ----------------------------------------------------------------------------- shift


def test_training_prior_spreads_with_shift() -> None:
    from siambench.analysis.shift import training_prior
    from siambench.trackers.registry import load_spec
    from siambench.training.data import SyntheticSet, load_sequences

    sequences, _ = load_sequences(synthetic=SyntheticSet(sequences=2))
    prior = training_prior(load_spec("siamrpnpp-alex-demo"), sequences, [0, 64], pairs=32)
    centre = {s: m[m.shape[0] // 2 - 1 : m.shape[0] // 2 + 2, m.shape[1] // 2 - 1 : m.shape[1] // 2 + 2].sum()
              for s, m in prior.items()}
    assert all(m.sum() == pytest.approx(1.0) for m in prior.values())
    assert centre[0.0] > 2 * centre[64.0]


def test_tiny_shift_ablation_scores_each_shift(tmp_path: Path) -> None:
    from siambench.analysis.shift import ShiftConfig, analyze_shift
    from siambench.training.data import SyntheticSet

    config = ShiftConfig(shifts=(0, 32), epochs=1, pairs_per_epoch=8, synthetic=SyntheticSet(sequences=2),
                         eval_sequences=["Scale1"], bias_frames=1, bias_offsets="-32:32:32",
                         prior_pairs=8)
    # device "auto", as the CLI passes it: resolved before training
    summary = analyze_shift(["siamrpnpp-alex-demo"], config, tmp_path, device="auto", progress=False)
    points = summary["points"]
    assert [p["shift"] for p in points] == [0.0, 32.0]
    for p in points:
        assert p["eao"] is not None and p["auc"] is not None and p["centre_bias_index"] is not None
        assert Path(p["weights"]).is_file()
    assert set(summary["training_prior"]["siamrpnpp-alex-demo"]) == {"0", "32"}
