#!/usr/bin/env bash
# Issue 9's GPU check, in one go on a machine with one NVIDIA GPU and only this repository:
#   1. a venv (make setup) with a CUDA build of torch (installed from the PyTorch index if the
#      venv's torch cannot see the GPU);
#   2. the engine's equivalence tests with the device crops and batches on CUDA;
#   3. single-stream and batched throughput (batch 8/32/64) with GPU memory for r50, mobilev2,
#      alex, siamfc and siamrpnplus on a synthetic VOT benchmark big enough to fill the batch.
# Budget: under 5 minutes. Usage: bash bench/gpu.sh [CUDA_WHEEL_INDEX]
set -euo pipefail
cd "$(dirname "$0")/.."
INDEX="${1:-https://download.pytorch.org/whl/cu124}"
PY=.venv/bin/python

[ -x "$PY" ] || make setup
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu.sh: the venv's torch has no CUDA; installing a CUDA build from $INDEX"
    # uninstall first: a CUDA wheel's libraries come as dependencies (nvidia-*), which
    # --no-deps would leave out, and --force-reinstall would reinstall everything else too
    "$PY" -m pip uninstall --quiet --yes torch
    "$PY" -m pip install --quiet torch --index-url "$INDEX"
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'

echo "== equivalence on CUDA (teacher-forced batches, device crops, whole runs)"
SIAMBENCH_TEST_DEVICE=cuda timeout 150 "$PY" -m pytest -q -x tests/test_engine.py \
    -k "teacher or device_crops or free_running" || echo "gpu.sh: equivalence tests FAILED"

echo "== throughput (single stream = sequential; batched; peak GPU memory)"
timeout 240 "$PY" -m siambench.bench_batched --device cuda --batches 8,32,64 \
    --trackers siamrpnpp,siamrpnpp-mobilev2,siamrpnpp-alex,siamfc,siamrpnplus \
    --sequences 64 --frames 40,60 --precision fp16

echo "== single-stream speed, warmed up and synchronised (siambench speed)"
for t in siamrpnpp siamrpnpp-alex siamfc; do
    timeout 60 .venv/bin/siambench speed -t "$t" --random-init --device cuda --frames 200 --warmup 20 \
        || echo "gpu.sh: speed of $t FAILED"
done
