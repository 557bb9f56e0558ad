"""Benchmark: epoch time (and accuracy) of the graph example specs on both backends.

    python benchmarks/graph_epochs.py                       # the MNIST-sample models
    python benchmarks/graph_epochs.py --cifar-shaped 5000   # + resnet_cifar.nn on CIFAR-shaped data

Each spec is trained with `specc run` on torch and on TensorFlow, one after the other, and
the figures come from the run's own record (metrics.jsonl): the seconds of every epoch
(the first includes graph tracing/warm-up, so the table shows the later epochs' median
apart) and the final test accuracy.

The MNIST-sample models (specs/resnet_mnist.nn, specs/inception_mnist.nn) train on the
10,000 real digits shipped with specc. CIFAR-10 itself needs a download; with
`--cifar-shaped N`, specs/resnet_cifar.nn trains on N random 3x32x32 images written in the
official python-batch layout (so the `cifar10` reader is timed too): its accuracy is
meaningless, only its time per epoch counts.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST_SPECS = ("specs/resnet_mnist.nn", "specs/inception_mnist.nn")


def write_cifar_shaped(folder: Path, n: int, seed: int = 0) -> Path:
    """N random images as five training batches and a test batch (python version)."""
    rng = np.random.default_rng(seed)
    out = folder / "cifar-10-batches-py"
    out.mkdir(parents=True)
    per = max(1, n // 5)
    for name, count in [*((f"data_batch_{i}", per) for i in range(1, 6)), ("test_batch", per)]:
        batch = {
            b"data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, size=count)],
        }
        (out / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    (out / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return out


def run(spec: str, backend: str, out: Path, extra: list[str]) -> dict[str, object]:
    cmd = [sys.executable, "-m", "specc", "run", spec, "--backend", backend, "--out", str(out)]
    done = subprocess.run(
        [*cmd, "--json", "--quiet", *extra], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout)
    epochs = [
        row["seconds"]
        for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
        if "seconds" in row
    ]
    return {
        "first": epochs[0],
        "later": statistics.median(epochs[1:]) if len(epochs) > 1 else float("nan"),
        "accuracy": result["metrics"].get("test_accuracy"),
        "compile": result["compile_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cifar-shaped", type=int, default=0, metavar="N")
    parser.add_argument("--skip-mnist", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [] if args.skip_mnist else [(s, ["--epochs", str(args.epochs)]) for s in MNIST_SPECS]
        if args.cifar_shaped:
            data = write_cifar_shaped(Path(tmp) / "data", args.cifar_shaped)
            jobs.append(("specs/resnet_cifar.nn", ["--epochs", "2", "--data", str(data)]))
        for spec, extra in jobs:
            for backend in ("torch", "tensorflow"):
                out = Path(tmp) / f"{Path(spec).stem}-{backend}"
                rows.append((spec, backend, run(spec, backend, out, extra)))
    print(f"{'spec':28} {'backend':11} {'epoch 1 s':>9} {'later s':>8} {'test acc':>8}")
    for spec, backend, r in rows:
        acc = r["accuracy"]
        shown = f"{acc:.4f}" if isinstance(acc, float) else "-"
        print(f"{spec:28} {backend:11} {r['first']:9.1f} {r['later']:8.1f} {shown:>8}")


if __name__ == "__main__":
    main()
