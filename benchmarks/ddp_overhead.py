"""The cost of data parallelism on this machine: one process vs `specc run --nproc N`.

    python benchmarks/ddp_overhead.py                    # 2 ranks, 3 runs of each
    python benchmarks/ddp_overhead.py --nproc 2 --runs 5 --samples 8192 --batch 128
    python benchmarks/ddp_overhead.py --backend tensorflow   # also N MirroredStrategy replicas

With `--backend tensorflow` the N ranks are TF_CONFIG workers (MultiWorkerMirroredStrategy,
loopback) and a third setting trains N MirroredStrategy replicas in one process on the CPU
split by SPECC_TF_CPU_REPLICAS=N (docs/distributed.md#tensorflow).

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


def _once(spec: Path, out: Path, setting: str, n: int, backend: str) -> tuple[float, float]:
    """(wall seconds, training seconds per step) of one run of `setting` (see SETTINGS)."""
    command = [sys.executable, "-m", "specc", "run", str(spec), "--out", str(out), "--json"]
    command += ["--backend", backend]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    if setting == "ranks":
        command += ["--nproc", str(n)]
    if setting == "replicas":
        env["SPECC_TF_CPU_REPLICAS"] = str(n)
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
    parser.add_argument("--backend", choices=["torch", "tensorflow"], default="torch")
    args = parser.parse_args()
    n, tf = args.nproc, args.backend == "tensorflow"
    labels = {
        "single": "1 process",
        "ranks": f"{n} workers (TF_CONFIG)" if tf else f"{n} ranks (DDP, gloo)",
    }
    if tf:
        labels["replicas"] = f"{n} replicas (Mirrored)"
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "bench.nn"
        spec.write_text(_spec(args.samples, args.batch, args.epochs))
        per: dict[str, list[tuple[float, float]]] = {setting: [] for setting in labels}
        for run in range(args.runs):
            for setting in per:  # interleaved, so a busy moment hits every setting
                out = Path(scratch) / f"{setting}-{run}"
                per[setting].append(_once(spec, out, setting, n, args.backend))
    medians = {
        k: (statistics.median(w for w, _ in r), statistics.median(s for _, s in r))
        for k, r in per.items()
    }
    print(
        ("tensorflow: " if tf else "")
        + f"global batch {args.batch}, {args.samples} examples, {args.epochs} epochs, "
        f"{args.runs} runs"
    )
    width = 24 if tf else 22
    for setting, (wall, step) in medians.items():
        label = labels[setting]
        print(f"{label:>{width}}: wall {wall:6.2f} s   training {step * 1e3:7.3f} ms/step")
    names = {"ranks": "TF_CONFIG workers'" if tf else "DDP", "replicas": "MirroredStrategy"}
    for setting in list(labels)[1:]:
        extra = medians[setting][1] - medians["single"][1]
        ratio = extra / medians["single"][1]
        print(f"{names[setting]} overhead per step: {extra * 1e3:+.3f} ms ({ratio:+.0%})")


if __name__ == "__main__":
    main()
