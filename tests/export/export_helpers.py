"""Helpers for the export tests: the example specs, trained once per session (tiny: 128
examples, 1 epoch).

Specs on full MNIST train on the bundled `mnist_sample` instead (`--data mnist_sample`), specs
on CIFAR-10 on a small set written in its format (tests/cifar_files.py), so every example
spec that has no search space runs offline here. `finetune.nn` starts from
`runs/quickstart`, so the runs live in one folder that is the working directory meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path

from specc.plan import RunOptions
from tests.cifar_files import write_python

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
LIMIT = 128

# A small CIFAR-10 in its upstream format, written into the runs folder by `train`.
CIFAR = "cifar-10-batches-py"
# (spec file, --model, --data) for every spec that trains; search.nn only sweeps.
EXAMPLES: list[tuple[str, str | None, str | None]] = [
    ("quickstart.nn", None, None),
    ("binary.nn", None, None),
    ("multiclass.nn", None, None),
    ("regression.nn", None, None),
    ("finetune.nn", None, None),
    ("cnn.nn", None, "mnist_sample"),
    ("mnist.nn", None, "mnist_sample"),
    ("dropout.nn", None, "mnist_sample"),
    ("mnist_deep.nn", "baseline", "mnist_sample"),
    ("mnist_deep.nn", "deeper", "mnist_sample"),
    ("cifar_cnn.nn", None, CIFAR),
    ("resnet_mnist.nn", None, None),
    ("inception_mnist.nn", None, None),
    ("resnet_cifar.nn", None, CIFAR),
    ("two_tower.nn", None, None),  # two named inputs: one named graph input each
]
NOT_RUN = {
    "search.nn": "a search space: `specc sweep` trains it, `specc run` refuses it",
    # token-id models (large vocabularies): tests/export/test_export_tokens.py exports
    # imdb_bilstm.nn and imdb_transformer.nn (torch runs) and smaller models of every
    # sequence kind in every format, tests/export/test_keras_text.py the TensorFlow ones
    "imdb_bilstm.nn": "reads token ids: tests/export/test_export_tokens.py",
    "imdb_transformer.nn": "reads token ids: tests/export/test_export_tokens.py",
    "seq_conv1d.nn": "reads token ids: tests/export/test_export_tokens.py",
    "char_lm.nn": "predicts every step: not exported yet",
    # one graph output per spec output: tests/export/test_export_several_outputs.py
    # exports it in every format and checks each output's predictions
    "two_outputs.nn": "several named outputs: tests/export/test_export_several_outputs.py",
}
BACKENDS = ("torch", "tensorflow")


def example_id(spec: str, model: str | None, backend: str) -> str:
    return f"{spec.removesuffix('.nn')}{'-' + model if model else ''}-{backend}"


def train(root: Path, spec: str, backend: str, model: str | None, data: str | None) -> Path:
    """Train one example (once per session) and return its run directory."""
    from specc.run import run

    name = example_id(spec, model, backend)
    out = root / "runs" / name
    if (out / "weights.safetensors").is_file():
        return out
    before = Path.cwd()
    os.chdir(root)
    try:
        if spec == "finetune.nn" and not (root / "runs" / "quickstart").is_dir():
            run(
                SPECS / "quickstart.nn", _options(root / "runs" / "quickstart", backend, None, None)
            )
        if data == CIFAR:  # named absolutely: `split("test")` reads it from elsewhere
            if not (root / CIFAR).is_dir():
                write_python(root / CIFAR, per_batch=LIMIT // 5, learnable=True)
            data = str(root / CIFAR)
        run(SPECS / spec, _options(out, backend, model, data))
    finally:
        os.chdir(before)
    return out


def _options(out: Path, backend: str, model: str | None, data: str | None) -> RunOptions:
    return RunOptions(
        backend=backend,
        epochs=1,
        limit=LIMIT,
        model=model,
        data=data,
        out=str(out),
        quiet=True,
    )
