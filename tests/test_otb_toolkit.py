"""`--variant otb-toolkit`: the MATLAB OTB toolkit's definitions, pinned on constructed sequences
where each of its conventions changes the result against pysot's."""

from __future__ import annotations

import numpy as np
import pytest

from siambench.errors import SiambenchError
from siambench.evaluate import evaluate
from siambench.metrics import ope


def _both(gt, pred):
    gt, pred = np.asarray(gt, dtype=float), np.asarray(pred, dtype=float)
    n = min(len(gt), len(pred))
    return ope.sequence_curves(gt[:n], pred[:n]), ope.otbkit_sequence_curves(gt, pred)


def test_matlab_colon_values():
    values = ope.matlab_colon(0, 0.05, 1)
    assert len(values) == 21 and values[13] == 1 - 7 * 0.05 == 0.6499999999999999
    assert values[3] == 3 * 0.05 and values[10] == 0.5 and values[20] == 1.0
    assert np.arange(0, 1.05, 0.05)[13] == 0.65  # pysot's value: the two differ in the last bit
    np.testing.assert_array_equal(ope.matlab_colon(0, 1, 50), np.arange(51))


def test_an_overlap_of_exactly_0_65_is_a_success_only_for_the_toolkit():
    gt = [[1, 1, 100, 100]] * 2
    pred = [[1, 1, 100, 100], [1, 1, 65, 100]]  # IoU exactly 6500 / 10000
    pysot, kit = _both(gt, pred)
    assert pysot["success"][13] == 0.5 and kit["success"][13] == 1.0
    assert pysot["success"][12] == kit["success"][12] == 1.0


def test_a_ground_truth_row_with_a_zero_value_never_succeeds_and_always_hits():
    gt = [[5, 5, 20, 20], [0, 8, 20, 20], [5, 5, 20, 20]]  # x = 0 is a valid box for pysot
    pred = [[5, 5, 20, 20], [60, 60, 20, 20], [5, 5, 20, 20]]
    pysot, kit = _both(gt, pred)
    # pysot scores frame 2 as a plain miss; the toolkit gives it overlap -1 and error -1.
    assert pysot["success"][0] == pytest.approx(2 / 3) and kit["success"][0] == pytest.approx(2 / 3)
    assert pysot["precision"][20] == pytest.approx(2 / 3) and kit["precision"][0] == 1.0


def test_the_first_frame_is_the_ground_truth():
    gt = [[5, 5, 20, 20], [5, 5, 20, 20]]
    pred = [[50, 50, 20, 20], [5, 5, 20, 20]]
    pysot, kit = _both(gt, pred)
    assert pysot["success"][0] == 0.5 and kit["success"][0] == 1.0


def test_a_short_result_is_divided_by_the_ground_truths_length():
    gt = [[5, 5, 20, 20]] * 4
    pred = [[5, 5, 20, 20]] * 3
    pysot, kit = _both(gt, pred)
    assert pysot["success"][0] == 1.0 and kit["success"][0] == 0.75
    assert kit["precision"][50] == 0.75


def test_centre_errors_use_the_toolkit_centre():
    # Different sizes: x + (w - 1) / 2 against x + w / 2 cancel in the difference.
    gt = [[10, 10, 20, 20]] * 2
    pred = [[10, 10, 20, 20], [30, 10, 20, 21]]
    _, kit = _both(gt, pred)
    error = np.hypot(20, 0.5)
    thresholds = ope.OTBKIT_PRECISION_THRESHOLDS
    assert kit["precision"][thresholds >= error].min() == 1.0 and kit["precision"][int(error) - 1] == 0.5


def _otb_tree(tmp_path, gt_lines, result_lines):
    from siambench.datasets.otb import subset_names

    data = tmp_path / "data" / "OTB100"
    results = tmp_path / "results" / "OTB100" / "mine"
    results.mkdir(parents=True)
    for name in subset_names("otb2015"):
        folder = data / name.split("-")[0]
        folder.mkdir(parents=True, exist_ok=True)
        gt = folder / ("groundtruth_rect.txt" if "-" not in name else f"groundtruth_rect.{name[-1]}.txt")
        gt.write_text(gt_lines)
        (results / f"{name}.txt").write_text(result_lines)
    return tmp_path / "data", tmp_path / "results"


def test_eval_with_the_variant(tmp_path):
    data, results = _otb_tree(tmp_path, "1,1,100,100\n1,1,100,100\n", "1,1,100,100\n1,1,65,100\n")
    kit = evaluate("otb2015", results, data, variant="otb-toolkit")
    pysot = evaluate("otb2015", results, data)
    assert kit["variant"] == "otb-toolkit"
    k, p = kit["trackers"]["mine"]["overall"], pysot["trackers"]["mine"]["overall"]
    assert k["auc"] - p["auc"] == pytest.approx(0.5 / 21)
    assert "norm_precision" not in k and k["sequences_scored"] == 100
    assert set(k["attributes"]) == set(p["attributes"])


def test_the_variant_is_for_one_pass_datasets_only(tmp_path):
    with pytest.raises(SiambenchError, match="one-pass"):
        evaluate("demo-vot", tmp_path, variant="otb-toolkit")
