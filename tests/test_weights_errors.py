"""Bad checkpoint files are one-line errors naming the file, whatever is wrong with them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from siambench.errors import InputError
from siambench.models.checkpoints import load_checkpoint, read_checkpoint
from siambench.trackers.registry import TrackerSpec, create_tracker
from siambench.weights import resolve_weights


def tiny() -> nn.Module:
    """A convolution and a BatchNorm: float weights and BatchNorm's integer step counter."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def saved(tmp_path: Path, state: dict, name: str = "w.pth") -> Path:
    path = tmp_path / name
    torch.save(state, path)
    return path


def _refused(path: Path, *reasons: str) -> str:
    with pytest.raises(InputError) as info:
        load_checkpoint(tiny(), path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for reason in reasons:
        assert reason in message, message
    return message


# ------------------------------------------------------------------ files that are no checkpoint


def test_files_that_are_not_torch_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    _refused(text, "expected a file written by torch.save", "not a text file")

    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "hello")
    _refused(archive, "a zip archive, but not one written by torch.save")

    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    _refused(empty, "the file is empty")

    folder = tmp_path / "folder.pth"
    folder.mkdir()
    _refused(folder, "is a folder")


def test_truncated_files_of_both_torch_formats(tmp_path):
    for legacy in (False, True):
        whole = tmp_path / f"whole{legacy}.pth"
        torch.save(tiny().state_dict(), whole, _use_new_zipfile_serialization=not legacy)
        data = whole.read_bytes()
        for cut in (len(data) // 3, len(data) // 2, len(data) - 10):
            path = tmp_path / f"cut{legacy}{cut}.pth"
            path.write_bytes(data[:cut])
            _refused(path, "truncated or damaged")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_random_bytes_never_escape_as_another_exception(tmp_path):
    rng = np.random.default_rng(7)
    # plain noise, and noise behind the first bytes of torch's formats and of old pickles, so
    # that the unpickler or the zip reader chokes on it (raising IndexError, KeyError, ...)
    prefixes = [b"", b"\x80\x02", b"\x80\x02\x8a\x0a", b"PK\x03\x04", b"c", b"("]
    path = tmp_path / "noise.pth"
    for i in range(300):
        path.write_bytes(prefixes[i % len(prefixes)] + rng.integers(0, 256, 20 + i, dtype=np.uint8).tobytes())
        _refused(path, "not a readable PyTorch checkpoint")


def test_a_folder_given_as_weights_is_named_as_such(tmp_path):
    spec = TrackerSpec("t", "echo", checkpoint="c.pth")
    with pytest.raises(InputError, match="is a folder; --weights takes a checkpoint file"):
        resolve_weights(spec, tmp_path)


def test_a_text_file_given_to_a_tracker_is_the_one_line_error(tmp_path):
    text = tmp_path / "weights.txt"
    text.write_text("hello\nworld\n")
    with pytest.raises(InputError) as info:
        create_tracker("siamfc-demo", device="cpu", weights=text)
    assert str(info.value).startswith(f"{text}: not a readable PyTorch checkpoint")


# ------------------------------------------------------------------ state dicts with bad values


def test_non_tensor_values_are_named(tmp_path):
    state = {**tiny().state_dict(), "0.weight": [[1.0, 2.0]], "lr": 0.01}
    message = _refused(saved(tmp_path, state), "expected a state dict of tensors", "'0.weight'",
                       "holds a list", "(+1 more)")
    assert "no tensors" not in message


def test_nan_and_infinite_weights_are_refused_naming_the_first_key(tmp_path):
    for bad in (float("nan"), float("inf"), -float("inf")):
        state = tiny().state_dict()
        state["1.running_var"] = state["1.running_var"].clone()
        state["1.running_var"][2] = bad
        _refused(saved(tmp_path, state), "1.running_var holds NaN or infinite values")


def test_tensors_of_another_dtype_kind_are_refused_naming_key_and_dtypes(tmp_path):
    state = tiny().state_dict()
    state["0.weight"] = torch.ones(4, 3, 3, 3, dtype=torch.int32)
    _refused(saved(tmp_path, state), "0.weight is int32 but the model's is float32")
    state = tiny().state_dict()
    state["1.bias"] = torch.zeros(4, dtype=torch.bool)
    _refused(saved(tmp_path, state), "1.bias is bool but the model's is float32")
    state = tiny().state_dict()
    state["1.num_batches_tracked"] = torch.tensor(3.0)
    _refused(saved(tmp_path, state), "1.num_batches_tracked is float32 but the model's is int64")


def test_good_files_still_load(tmp_path):
    source = tiny()
    source[1].num_batches_tracked += 5
    # int64 step counters as the official files have them, float16 kernels as the demo weights
    state = {k: (v.half() if v.dim() == 4 else v) for k, v in source.state_dict().items()}
    model = load_checkpoint(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), saved(tmp_path, state))
    assert int(model[1].num_batches_tracked) == 5
    torch.testing.assert_close(model[0].weight, source[0].weight.half().float())
    # files older than PyTorch 0.4.1 have no step counters at all
    old = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    load_checkpoint(tiny(), saved(tmp_path, old, "old.pth"))
    assert set(read_checkpoint(saved(tmp_path, {"state_dict": old, "epoch": 3}, "wrapped.pth"))) == set(old)


def test_the_distance_from_fitting_is_a_share_so_small_networks_are_not_always_nearest():
    from siambench.models.checkpoints import count_differences

    small = nn.Sequential(nn.Conv2d(3, 4, 3))  # 2 keys, none of them in the file
    big = nn.Sequential(*[nn.Conv2d(4, 4, 3) for _ in range(15)])  # 30 keys, 6 of them in the file
    file = {k: v for k, v in big.state_dict().items() if k.split(".")[0] in ("1", "2", "3")}
    file["extra.weight"] = torch.zeros(1)
    assert count_differences(big, big.state_dict()) == 0.0
    # counted, `small` would be nearer (2 missing + 7 unexpected against 24 + 1); as a share of
    # the keys involved, `big` is (6 of 31 fit, against none)
    assert count_differences(big, file) < count_differences(small, file) == 1.0
