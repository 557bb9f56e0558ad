"""The tensorflow backend's device strings, and the local replicas one run trains on.

A run on one device says `cpu` or `gpu:N`. A run on several local devices says which:
`gpu:0,1` (every GPU TensorFlow sees, chosen by `--device auto` or `gpu` when there are
several) trains on them with `tf.distribute.MirroredStrategy`, one replica per device
(docs/distributed.md#tensorflow). `SPECC_TF_CPU_REPLICAS=N` splits the CPU into N logical
devices (`tf.config.set_logical_device_configuration`) and makes `cpu` mean `cpu:0,...,N-1`:
the same code path, testable on a machine without GPUs.

Pure Python: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import os
from typing import Any

from specc.errors import UsageError

CPU_REPLICAS_ENV = "SPECC_TF_CPU_REPLICAS"


def cpu_replicas() -> int:
    """The logical CPU devices `SPECC_TF_CPU_REPLICAS` asks for (1: the CPU as it is)."""
    raw = os.environ.get(CPU_REPLICAS_ENV, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(
            f"{CPU_REPLICAS_ENV}={raw}: expected a whole number of CPU replicas (1 or more)",
            f"unset {CPU_REPLICAS_ENV}, or set it to 2 to train on 2 CPU replicas",
        )
    return int(raw)


_SPLIT: list[int] = []  # the count this process split its CPU into (once)


def split_cpu(tf: Any) -> None:
    """Split the CPU into `cpu_replicas()` logical devices (before TensorFlow starts: asking
    for the logical devices would start it, so this runs once, first)."""
    count = cpu_replicas()
    if count == 1 or [count] == _SPLIT:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
        _SPLIT[:] = [count]
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) == count:
            _SPLIT[:] = [count]  # split already, by the same process
            return
        raise UsageError(
            f"{CPU_REPLICAS_ENV}={count}: TensorFlow had already started in this process, "
            "so its CPU can no longer be split",
            f"set {CPU_REPLICAS_ENV} before the process first uses TensorFlow",
        ) from None


def several(kind: str, count: int) -> str:
    """The device string of `count` local devices of `kind` (`cpu` or `gpu`)."""
    if count == 1:
        return kind if kind == "cpu" else f"{kind}:0"
    return f"{kind}:" + ",".join(str(i) for i in range(count))


def tf_devices(device: str) -> list[str]:
    """TensorFlow's names for a device string: `gpu:0,1` -> [/GPU:0, /GPU:1], `cpu` -> [/CPU:0]."""
    kind, _, indices = device.partition(":")
    name = "/GPU:" if kind == "gpu" else "/CPU:"
    return [name + index for index in (indices or "0").split(",")]
