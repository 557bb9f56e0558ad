"""The cost of data parallelism on this machine: one process vs `specc run --nproc N`.

    python benchmarks/ddp_overhead.py                    # 2 ranks, 3 runs of each
    python benchmarks/ddp_overhead.py --nproc 2 --runs 5 --samples 8192 --batch 128

The same spec (an MLP on synthetic data, batchnorm per rank) trains at the same global
batch on one process and on N gloo ranks on the CPU (loopback). Printed per setting: the
median wall time of the whole command (start-up, rendezvous and imports included), the
median training time per step (the run's own `train_seconds` over its steps, rank 0's
clock), and the difference per step: DDP's overhead (gradient all-reduce, the reduced
losses and evaluation, the per-epoch barrier and broadcasts). On a CPU machine with few
cores the ranks also compete for the cores, so this is an upper bound of the overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _spec(samples: int, batch: int, epochs: int) -> str:
    return (
        "model bench {\n    input 64\n    dense 256 relu\n    batchnorm\n    dense 256 relu\n"
        "    dense 10\n}\n"
        f"data synthetic classification samples={samples} features=64 classes=10 {{\n"
        f"    batch {batch} shuffle drop_last\n    validation 0.1\n    test 0.1\n}}\n"
        "train {\n    loss sparse_categorical_crossentropy\n    optimizer adam lr=1e-3\n"
        f"    epochs {epochs}\n    metrics accuracy\n}}\n"
    )


def _once(spec: Path, out: Path, nproc: int) -> tuple[float, float]:
    """(wall seconds, training seconds per step) of one run."""
    command = [sys.executable, "-m", "specc", "run", str(spec), "--out", str(out), "--json"]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result = json.loads(done.stdout)
    steps = sum(1 for line in (out / "metrics.jsonl").read_text().splitlines() if '"step"' in line)
    return wall, result["train_seconds"] / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "bench.nn"
        spec.write_text(_spec(args.samples, args.batch, args.epochs))
        per: dict[int, list[tuple[float, float]]] = {1: [], args.nproc: []}
        for run in range(args.runs):
            for nproc in per:  # interleaved, so a busy moment hits both
                per[nproc].append(_once(spec, Path(scratch) / f"r{nproc}-{run}", nproc))
    medians = {
        n: (statistics.median(w for w, _ in r), statistics.median(s for _, s in r))
        for n, r in per.items()
    }
    print(
        f"global batch {args.batch}, {args.samples} examples, {args.epochs} epochs, {args.runs} runs"
    )
    for nproc, (wall, step) in medians.items():
        label = "1 process" if nproc == 1 else f"{nproc} ranks (DDP, gloo)"
        print(f"{label:>22}: wall {wall:6.2f} s   training {step * 1e3:7.3f} ms/step")
    extra = medians[args.nproc][1] - medians[1][1]
    print(f"DDP overhead per step: {extra * 1e3:+.3f} ms ({extra / medians[1][1]:+.0%})")


if __name__ == "__main__":
    main()
