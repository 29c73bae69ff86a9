"""Whole-benchmark throughput, sequential against batched (issue 9), for `make bench` and bench/gpu.sh.

    python -m siambench.bench_batched [--device cpu|cuda] [--batches 8,auto] [--trackers a,b]
                                      [--sequences N] [--frames LO,HI] [--precision bf16]

Each measurement is a fresh process running ``siambench run`` on a synthetic VOT benchmark
(supervised protocol, ``--random-init``), so that its peak memory is its own. Throughput is
frames divided by the tracking loop's wall time (the run summary's "whole loop": start-up,
model building and result writing excluded). Ratios are batched over sequential. With
``--precision`` the batched run is repeated in that precision and the difference in EAO and
failures against fp32 is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TRACKERS = ("siamrpnpp-alex", "siamrpnpp-mobilev2", "siamrpnpp", "siamfc", "siamrpnplus")

_CHILD = r"""
import json, resource, sys
import torch
from siambench.evaluate import evaluate
from siambench.runner import run
args = json.loads(sys.argv[1])
device = args["device"]
if device.startswith("cuda"):
    torch.cuda.reset_peak_memory_stats()
summary = run(args["tracker"], "demo-vot", data_root=args["data"], results_dir=args["results"],
              device=device, random_init=True, progress=False, batch=args["batch"],
              precision=args["precision"], threads=args["threads"])
scores = evaluate("demo-vot", results_dir=args["results"], data_root=args["data"],
                  trackers=[summary.tracker])["trackers"][summary.tracker]["overall"]
peak = (torch.cuda.max_memory_allocated() if device.startswith("cuda")
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({"fps": summary.loop_fps, "frames": summary.frames, "device": summary.device,
                  "peak": peak, "eao": scores.get("eao"), "failures": scores.get("failures")}))
"""


def measure(tracker: str, data: Path, batch: str | None, device: str, precision: str = "fp32",
            threads: int | None = None) -> dict:
    """One run in a fresh process; its throughput, peak memory and scores."""
    with tempfile.TemporaryDirectory() as results:
        args = {"tracker": tracker, "data": str(data), "results": results, "batch": batch,
                "device": device, "precision": precision, "threads": threads}
        out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True,
                             text=True, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_benchmark(root: Path, sequences: int, frames: tuple[int, int]) -> Path:
    from siambench.synth import generate

    generate(root / "demo-vot", layout="vot", sequences=sequences, frames=frames, seed=2015)
    return root


def _mib(value: float) -> str:
    return f"{value / 2**20:7.0f} MiB"


def bench_batched(trackers: list[str], batches: list[str], device: str, sequences: int,
                  frames: tuple[int, int], precision: str | None, threads: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = make_benchmark(Path(tmp), sequences, frames)
        print(f"Whole-benchmark throughput on {device}: synthetic demo-vot, {sequences} sequences of "
              f"{frames[0]}-{frames[1]} frames, supervised, --random-init (frames/s of the tracking loop)")
        for tracker in trackers:
            base = measure(tracker, data, None, device, threads=threads)
            if "error" in base:
                print(f"  {tracker:20s} sequential: {base['error']}")
                continue
            cells = [f"sequential {base['fps']:7.1f}/s"]
            for batch in batches:
                got = measure(tracker, data, batch, device, threads=threads)
                if "error" in got:
                    cells.append(f"batch {batch}: {got['error']}")
                    continue
                cells.append(f"batch {batch} {got['fps']:7.1f}/s {got['fps'] / base['fps']:5.2f}x"
                             f" peak {_mib(got['peak'])}")
                if got["failures"] != base["failures"]:
                    cells.append(f"(failures {got['failures']} vs {base['failures']})")
            if precision:
                low = measure(tracker, data, batches[0], device, precision, threads)
                if "error" in low:
                    cells.append(f"{precision}: {low['error']}")
                else:
                    cells.append(f"{precision} {low['fps']:7.1f}/s, EAO {low['eao'] - base['eao']:+.4f}, "
                                 f"failures {low['failures'] - base['failures']:+g}")
            print(f"  {tracker:20s} " + " | ".join(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--trackers", default=",".join(TRACKERS))
    parser.add_argument("--batches", default="8,auto")
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--frames", default="60,120", help="sequence lengths LO,HI")
    parser.add_argument("--precision", default=None, choices=["fp16", "bf16"])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    low, high = (int(v) for v in args.frames.split(","))
    bench_batched(args.trackers.split(","), args.batches.split(","), args.device, args.sequences,
                  (low, high), args.precision, args.threads)


if __name__ == "__main__":
    main()
