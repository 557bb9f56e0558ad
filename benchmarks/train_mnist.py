"""Benchmark: the seeds' MNIST MLP trained by specc and by two hand-written programs.

    python benchmarks/train_mnist.py                      # 5 epochs on mnist_sample, 3 repeats
    python benchmarks/train_mnist.py --data mnist --repeats 5 --threads 1
    python benchmarks/train_mnist.py --backends specc-torch,torch-loop   # a subset
    python benchmarks/train_mnist.py --backends specc-tensorflow,keras   # once that backend exists

Model and recipe (the issue's): 784-512-10, ReLU, RMSprop lr 1e-3, batch 128, 5 epochs.
Contenders, run in the same process and alternated each repeat so machine noise hits all:
  specc-<backend>  `specc.run` (what `specc run` does: record, checkpoints, test evaluation)
  torch-loop       the PyTorch tutorial: TensorDataset + DataLoader(shuffle=True), eager loop
  keras            `model.fit` (Keras 3 on TensorFlow)
Printed: median train seconds (min..max), test accuracy, and ratios to the hand-written ones.
Targets: specc-torch <= 1.0x torch-loop, <= 0.5x keras, accuracy within 0.5 points.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SPEC = """model mnist_mlp {{
    input 28x28
    flatten
    dense 512 relu
    dense 10 softmax
}}
data {data} {{ scale 1/255; batch 128 shuffle }}
train {{
    loss sparse_categorical_crossentropy
    optimizer rmsprop lr=1e-3
    epochs {epochs}
    metrics accuracy
    seed {seed}
    compile {compile}
}}
"""

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Result = tuple[float, float, float]  # (train seconds, train CPU seconds, test accuracy)


def specc_runner(backend: str, args: argparse.Namespace) -> Callable[[int], Result]:
    from specc.plan import RunOptions
    from specc.run import run

    def go(seed: int) -> Result:
        text = SPEC.format(data=args.data, epochs=args.epochs, seed=seed, compile=args.compile)
        with tempfile.TemporaryDirectory() as tmp:
            options = RunOptions(
                backend=backend, quiet=True, out=str(Path(tmp) / "run"), device=args.device
            )
            result = run(text, options)
        return result.train_seconds, result.train_cpu_seconds, result.metrics["test_accuracy"]

    return go


def torch_loop(data: Arrays, args: argparse.Namespace) -> Callable[[int], Result]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    x_train, y_train, x_test, y_test = data

    def go(seed: int) -> Result:
        torch.manual_seed(seed)
        began, began_cpu = time.perf_counter(), time.process_time()
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
        loader = DataLoader(
            TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
            batch_size=128,
            shuffle=True,
        )
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
        for _ in range(args.epochs):
            model.train()
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(x_test)).argmax(1).numpy()
        return seconds, cpu, float((predicted == y_test).mean())

    return go


def keras_fit(data: Arrays, args: argparse.Namespace) -> Callable[[int], Result]:
    import keras

    x_train, y_train, x_test, y_test = data

    def go(seed: int) -> Result:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [
                keras.Input((1, 28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(512, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.RMSprop(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        began, began_cpu = time.perf_counter(), time.process_time()
        model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=0)
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        predicted = np.asarray(model(x_test, training=False)).argmax(1)
        return seconds, cpu, float((predicted == y_test).mean())

    return go


def load_arrays(name: str) -> Arrays:
    from specc.analysis import analyze
    from specc.data import load

    analysis = analyze(SPEC.format(data=name, epochs=1, seed=0, compile="off"))
    assert analysis.spec.data is not None
    ds = load(analysis.spec.data)
    return ds.x_train, ds.y_train, ds.x_test, ds.y_test


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="mnist_sample", help="mnist_sample (default) or mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch/TF threads (0: their default)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", default="auto", choices=["auto", "on", "off"])
    parser.add_argument(
        "--backends",
        default="specc-torch,torch-loop,keras",
        help="comma-separated: specc-<backend> (specc-torch, specc-tensorflow), torch-loop, keras",
    )
    args = parser.parse_args()
    if args.threads:
        import os

        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)
    data = load_arrays(args.data)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    runners: dict[str, Callable[[int], Result]] = {}
    if args.threads and {"keras", "specc-tensorflow", "specc-tf"} & set(names):
        import tensorflow as tf  # before TF starts its thread pools

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    for name in names:
        if name.startswith("specc-"):
            runners[name] = specc_runner(name.removeprefix("specc-"), args)
        elif name == "torch-loop":
            runners[name] = torch_loop(data, args)
        elif name == "keras":
            runners[name] = keras_fit(data, args)
        else:
            parser.error(f"unknown contender {name}")
    for go in runners.values():  # warm-up: imports, first-call allocations
        go(0)
    seconds: dict[str, list[float]] = {n: [] for n in runners}
    cpu: dict[str, list[float]] = {n: [] for n in runners}
    accuracy: dict[str, list[float]] = {n: [] for n in runners}
    for repeat in range(args.repeats):
        for name, go in runners.items():
            s, c, a = go(repeat + 1)
            seconds[name].append(s)
            cpu[name].append(c)
            accuracy[name].append(a)
            print(
                f"  repeat {repeat + 1} {name:18s} {s:7.2f}s  cpu {c:6.2f}s  acc {a:.4f}",
                flush=True,
            )
    print(
        f"\n{args.epochs} epochs on {args.data} ({len(data[0])} train), batch 128, "
        f"threads {args.threads or 'default'}, {args.repeats} repeats (median, min..max)"
    )
    # Wall seconds are what a user waits; CPU seconds (all threads of this process) move
    # less when other processes share the machine, so both are shown with their ratios.
    for label, table in (("wall", seconds), ("cpu", cpu)):
        medians = {n: statistics.median(v) for n, v in table.items()}
        for name in runners:
            line = (
                f"{label:4s} {name:18s} {medians[name]:7.2f}s "
                f"({min(table[name]):.2f}..{max(table[name]):.2f})"
                f"  test acc {statistics.median(accuracy[name]):.4f}"
            )
            for ref in ("torch-loop", "keras"):
                if ref in medians and name.startswith("specc-"):
                    line += f"  {medians[name] / medians[ref]:.2f}x {ref}"
            print(line)


if __name__ == "__main__":
    main()
