"""Benchmark: a training step of a graph model built by specc against a hand-written module.

    python benchmarks/graph_step.py                      # 200 steps, 5 repeats, 1 thread
    python benchmarks/graph_step.py --steps 500 --batch 128 --threads 2

The model is a small ResNet (stem, an identity residual block, a strided block with a
conv shortcut, a 3-way concat block, global average pool, dense). specc builds it as a
`GraphNetwork` (the spec's steps computed from a dict of named values); the hand-written
module is the usual `forward` with local variables, loaded with the same weights, and must
give the same outputs. Both train with Adam on the same random batch; the steps are timed
alternately, repeat after repeat, so machine noise hits both. Printed: median ms per step
(min..max) and the ratio, the dict walk's overhead.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SPEC = """model resnet {
    input 3x16x16
    conv2d 16 3 padding=same; batchnorm; relu
    residual {
        conv2d 16 3 padding=same; batchnorm; relu
        conv2d 16 3 padding=same; batchnorm
    }
    relu
    residual {
        conv2d 32 3 stride=2 padding=1; batchnorm; relu
        conv2d 32 3 padding=same; batchnorm
        shortcut { conv2d 32 1 stride=2; batchnorm }
    }
    relu
    parallel concat {
        branch { conv2d 8 1 relu }
        branch { conv2d 8 3 padding=same relu }
        branch { }
    }
    global_avgpool
    dense 10 softmax
}
data synthetic classification features=768 classes=10 samples=64 { batch 64 }
train { loss sparse_categorical_crossentropy; optimizer adam; epochs 1 }
"""


class HandWritten(nn.Module):
    """The same ResNet as one would write it; parameter names follow the spec's."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2d_1, self.batchnorm_1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2d_2, self.batchnorm_2 = nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2d_3, self.batchnorm_3 = nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2d_4 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.batchnorm_4 = nn.BatchNorm2d(32)
        self.conv2d_5, self.batchnorm_5 = nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.conv2d_6, self.batchnorm_6 = nn.Conv2d(16, 32, 1, stride=2), nn.BatchNorm2d(32)
        self.conv2d_7, self.conv2d_8 = nn.Conv2d(32, 8, 1), nn.Conv2d(32, 8, 3, padding=1)
        self.dense_1 = nn.Linear(48, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.batchnorm_1(self.conv2d_1(x)))
        y = F.relu(self.batchnorm_2(self.conv2d_2(x)))
        x = F.relu(self.batchnorm_3(self.conv2d_3(y)) + x)
        y = F.relu(self.batchnorm_4(self.conv2d_4(x)))
        y = self.batchnorm_5(self.conv2d_5(y))
        x = F.relu(y + self.batchnorm_6(self.conv2d_6(x)))
        x = torch.cat([F.relu(self.conv2d_7(x)), F.relu(self.conv2d_8(x)), x], dim=1)
        return self.dense_1(x.mean(dim=(2, 3)))


def _specc_body() -> nn.Module:
    from specc.analysis import analyze
    from specc.executors import torch as backend
    from specc.init_weights import initial_weights
    from specc.plan import RunOptions, make_plan

    plan = make_plan(analyze(SPEC, "<bench>"), RunOptions())
    return backend.build(plan, initial_weights(plan.shapes, 0), "cpu").body


def _stepper(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[int], float]:
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    module.train()

    def run(steps: int) -> float:
        began = time.perf_counter()
        for _ in range(steps):
            loss = F.cross_entropy(module(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - began) / steps * 1000

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    body, hand = _specc_body(), HandWritten()
    hand.load_state_dict(body.state_dict())
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(args.batch, 3, 16, 16)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 10, size=args.batch))
    with torch.no_grad():
        torch.testing.assert_close(body.eval()(x), hand.eval()(x))  # the same model
    runners = {"specc GraphNetwork": _stepper(body, x, y), "hand-written": _stepper(hand, x, y)}
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(10)  # warm-up
    for _ in range(args.repeats):
        for name, run in runners.items():
            times[name].append(run(args.steps))
    for name, values in times.items():
        print(
            f"{name:<20} {statistics.median(values):7.3f} ms/step "
            f"({min(values):.3f}..{max(values):.3f})"
        )
    ratio = statistics.median(times["specc GraphNetwork"]) / statistics.median(
        times["hand-written"]
    )
    print(f"specc / hand-written: {ratio:.3f}x")


if __name__ == "__main__":
    main()
