"""Export + verify time per format, and predict throughput: ONNX artifact vs the run's weights.

    python benchmarks/export_predict.py [--spec specs/cnn.nn] [--examples 10000] [--repeats 5]

Trains the spec for one epoch on the bundled `mnist_sample` (offline; the weights do not
change the timings) on PyTorch and on TensorFlow, exports every format of each backend
(`specc.export`, which includes the numerical verification) and reports its export and
verify seconds. Then predicts `--examples` raw digits (the 2,000 test digits repeated)
through `specc.predict` from the ONNX export and from the run directory (PyTorch, rebuilt
from weights.safetensors): the median examples/s of whole `predict` calls (reading the
.npz, the spec's preprocessing, the model) after one warm-up call. Both run on the CPU
with their runtime's default thread count. Last, the wall time of one `specc predict` of a
single example as a fresh process (median of 3), where the imports dominate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _train(spec: Path, backend: str, out: Path) -> Path:
    from specc.plan import RunOptions
    from specc.run import run

    options = RunOptions(
        backend=backend, epochs=1, data="mnist_sample", out=str(out), quiet=True, limit=512
    )
    return run(spec, options).run_dir


def _throughput(source: Path, inputs: Path, n: int, repeats: int) -> float:
    from specc.predict import open_model, predict

    model = open_model(source)
    predict(model, [inputs])  # warm-up: loads the framework / session
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        found = predict(model, [inputs])
        times.append(time.perf_counter() - began)
        assert len(found.outputs) == n
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "specs" / "cnn.nn"))
    parser.add_argument("--examples", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from specc.data.mnist import load_bundled
    from specc.export import export, formats_for

    work = Path(tempfile.mkdtemp(prefix="specc-bench-"))
    spec = Path(args.spec)
    print(f"spec {spec}, cpu cores {os.cpu_count()}, work folder {work}")
    print(f"{'format':<11} {'backend':<11} {'export s':>9} {'verify s':>9}")
    runs = {}
    for backend in ("torch", "tensorflow"):
        runs[backend] = _train(spec, backend, work / backend)
        for fmt in formats_for(backend):
            done = export(runs[backend], fmt)
            print(
                f"{fmt:<11} {backend:<11} {done.export_seconds:>9.2f} {done.verify_seconds:>9.2f}"
            )
    digits = load_bundled().x_test
    reps = -(-args.examples // len(digits))
    x = np.concatenate([digits] * reps)[: args.examples]
    np.savez(work / "digits.npz", x=x)
    onnx = _throughput(runs["torch"] / "export" / "onnx", work / "digits.npz", len(x), args.repeats)
    weights = _throughput(runs["torch"], work / "digits.npz", len(x), args.repeats)
    print(f"predict {len(x)} examples, median of {args.repeats}:")
    print(f"  from the ONNX export (onnxruntime)   {onnx:>10.0f} examples/s")
    print(f"  from the run's weights (PyTorch)     {weights:>10.0f} examples/s")
    print("`specc predict SOURCE one.npz --out p.json` as a fresh process (imports included):")
    np.savez(work / "one.npz", x=x[:1])
    for label, source in (
        ("ONNX export", runs["torch"] / "export" / "onnx"),
        ("run", runs["torch"]),
    ):
        print(f"  from the {label:<12} {_cold_seconds(source, work):>6.2f} s")


def _cold_seconds(source: Path, work: Path) -> float:
    command = [sys.executable, "-m", "specc", "predict", str(source), str(work / "one.npz")]
    command += ["--out", str(work / "p.json")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run(command, check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


if __name__ == "__main__":
    main()
