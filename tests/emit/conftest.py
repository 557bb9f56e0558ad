"""Helpers shared by every emit test (all targets): rendering, linting and running scripts.

Executed-script tests run several emitted scripts in ONE subprocess (`run_scripts`), each
with its own `sys.argv`, via `runpy`: the framework is imported once per target instead of
once per script, which keeps the suite inside its time budget on two shared cores. Each
script still runs as `__main__`, seeds itself, and reports its own exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from specc.analysis import analyze_file

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "specc" / "datasets" / "mnist_sample"
# Specs whose data is MNIST-shaped: run on the bundled sample with --data-dir.
IMAGE_SPECS = (
    "cnn",
    "dropout",
    "finetune",
    "mnist",
    "mnist_deep",
    "quickstart",
    "graph_resnet",
    "resnet_mnist",
    "inception_mnist",
)
# Specs on CIFAR-10: run on a small set in its upstream format (`cifar_data`).
CIFAR_SPECS = ("cifar_cnn", "resnet_cifar")
# The graph examples on the digits: a ResNet and an Inception-style net train longer.
GRAPH_EXAMPLES = ("resnet_mnist", "inception_mnist")
# Specs reading token ids (`synthetic_text`, 200 ids from a 20,000-word vocabulary): a few
# batches only, to run every layer and the generator; that such scripts learn is checked on
# a small planted-signal task (tests/emit/test_sequence_scripts.py).
TOKEN_SPECS = ("imdb_bilstm", "imdb_transformer", "seq_conv1d")
# Language models on the generated corpus (about 27 distinct characters): the spec's own
# 3 epochs, judged by the test perplexity against the uniform guess over those characters.
CORPUS_SPECS = {"char_lm": 27}
# The same lint settings as the repository, without reading its pyproject (the goldens
# folder is excluded there so that `ruff format .` never rewrites them).
RUFF = [
    "--isolated",
    "--line-length",
    "100",
    "--target-version",
    "py310",
]
RUFF_SELECT = ["--select", "E,F,W,I,UP,B,SIM,RUF", "--ignore", "RUF001,RUF002,RUF003"]


def _regen_module():  # scripts/ is not a package: load it by path
    import importlib.util

    found = importlib.util.spec_from_file_location(
        "regen_goldens", ROOT / "scripts" / "regen_goldens.py"
    )
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


regen = _regen_module()
"""scripts/regen_goldens.py, which decides which spec each golden renders."""
GOLDEN_SPECS: dict[str, Path] = regen.golden_specs()
"""Golden name -> its spec (relative to ROOT): specs/<name>.nn, tests/emit/graphs/<g>.nn."""

_DRIVER = r"""
import json, runpy, sys, traceback
codes = []
for argv in json.loads(sys.argv[1]):
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name="__main__")
        codes.append(0)
    except SystemExit as stop:
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
        codes.append(stop.code if isinstance(stop.code, int) else 1)
    except BaseException:
        traceback.print_exc()
        codes.append(99)
print("EXIT CODES " + json.dumps(codes))
"""


def emit_text(spec: str, target: str, **kwargs: object) -> str:
    """The script `specc emit specs/<spec>.nn --target <target>` writes, from the repo root."""
    from specc.emit import emit

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return emit(analyze_file(f"specs/{spec}.nn"), target, **kwargs)  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)


# Specs whose executed runs check the neutral weights file (weights.safetensors): their
# scripts are emitted with `interop=True` (`specc emit --interop`); finetune's `init from`
# makes its golden read and write that file anyway. Every other golden runs as committed
# and must not write it.
INTEROP_SPECS = ("cnn", "quickstart")


def script_for(spec: str, target: str, folder: Path) -> str:
    """The script a test runs for `spec`: its golden, or the --interop one (INTEROP_SPECS)."""
    if spec not in INTEROP_SPECS:
        return str(GOLDEN / target / f"{spec}.py")
    path = folder / f"{spec}_{target}_interop.py"
    path.write_text(emit_text(spec, target, interop=True), encoding="utf-8")
    return str(path)


def assert_saved(folder: Path, spec: str, framework_file: str) -> None:
    """The framework's weights and history.json, plus the neutral file exactly when asked."""
    for name in (framework_file, "history.json"):
        assert (folder / name).is_file(), name
    neutral = spec in (*INTEROP_SPECS, "finetune")
    assert (folder / "weights.safetensors").is_file() == neutral, (spec, neutral)


# specs/cnn.nn's weights in the neutral file: the spec's names, PyTorch's layout.
CNN_NEUTRAL_SHAPES = {
    "conv2d_1.weight": (32, 1, 3, 3),
    "conv2d_1.bias": (32,),
    "conv2d_2.weight": (64, 32, 3, 3),
    "conv2d_2.bias": (64,),
    "dense_1.weight": (10, 1600),
    "dense_1.bias": (10,),
}


def assert_cnn_neutral_weights(folder: Path) -> None:
    """The cnn run's weights.safetensors: the spec's layer names in PyTorch's layout."""
    from safetensors.numpy import load_file

    weights = load_file(folder / "weights.safetensors")
    assert {k: v.shape for k, v in weights.items()} == CNN_NEUTRAL_SHAPES


def assert_finetuned(out: Path, output: str) -> None:
    """finetune.nn started from the quickstart run: its frozen layer kept, a fresh head."""
    import numpy as np
    from safetensors.numpy import load_file

    assert f"initial weights from {out / 'quickstart' / 'weights.safetensors'}" in output
    before = load_file(out / "quickstart" / "weights.safetensors")
    after = load_file(out / "finetune" / "weights.safetensors")
    assert set(after) == {"dense_1.weight", "dense_1.bias", "head.weight", "head.bias"}
    assert np.array_equal(before["dense_1.weight"], after["dense_1.weight"])  # loaded, frozen


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def lint(text: str) -> list[str]:
    """Problems `ruff check` and `ruff format --check` find in an emitted script."""
    problems = []
    checked = ruff("check", *RUFF, *RUFF_SELECT, "--stdin-filename", "script.py", "-", stdin=text)
    if checked.returncode != 0:
        problems.append(checked.stdout + checked.stderr)
    formatted = ruff("format", *RUFF, "--stdin-filename", "script.py", "-", stdin=text)
    if formatted.stdout != text:
        problems.append("not ruff-format clean")
    return problems


def run_scripts(
    runs: list[list[str]],
    env: dict[str, str] | None = None,
    timeout: float = 600,
    python: str | Path = sys.executable,
    cwd: Path | None = None,
) -> tuple[list[int], str]:
    """Run each `[script, *args]` as __main__ in one subprocess of `python`: (exit codes,
    output). MindSpore's scripts run in their own venv (tests/emit/mindspore_env.py)."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    done = subprocess.run(
        [str(python), "-c", _DRIVER, json.dumps(runs)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
        cwd=cwd,
    )
    output = done.stdout + done.stderr
    marker = [line for line in done.stdout.splitlines() if line.startswith("EXIT CODES ")]
    assert marker, f"the driver crashed:\n{output[-4000:]}"
    return json.loads(marker[-1][len("EXIT CODES ") :]), output


def history(out: Path) -> dict[str, object]:
    return json.loads((out / "history.json").read_text())


def cifar_data(folder: Path) -> Path:
    """A small CIFAR-10 in the upstream python format (tests/cifar_files.py), 200 training
    and 50 test images a network learns from in a few steps, written once into `folder`."""
    from tests.cifar_files import write_python

    batches = folder / "cifar-10-batches-py"
    if not (batches / "test_batch").is_file():
        write_python(batches, per_batch=40, n_test=50, learnable=True)
    return batches


def quick_args(spec: str, out: Path | None = None) -> list[str]:
    """A short run: 2 epochs on 640 digits for image specs, on 200 small CIFAR-10 images
    (written into `out`) for CIFAR_SPECS; 5 epochs of synthetic data."""
    if spec in TOKEN_SPECS:
        return ["--epochs", "2", "--limit", "160", "--lr", "5e-3"]
    if spec in CORPUS_SPECS:
        return ["--epochs", "3"]
    if spec in CIFAR_SPECS:
        assert out is not None, "CIFAR-10 specs run on data written into `out`"
        return ["--epochs", "2", "--batch-size", "32", "--data-dir", str(cifar_data(out))]
    if spec in GRAPH_EXAMPLES:  # deeper nets: 40 steps of 640 digits leave them at chance;
        # at lr 5e-3 the Inception net's batchnorm evaluation depends on the thread count
        quick = ["--epochs", "3", "--limit", "1280", "--batch-size", "32"]  # the spec's lr
        return [*quick, "--data-dir", str(SAMPLE)]
    if spec in IMAGE_SPECS:
        args = ["--epochs", "2", "--limit", "640", "--batch-size", "32", "--data-dir", str(SAMPLE)]
        # finetune's fresh head at its spec's lr=1e-4 needs more than 2 short epochs
        return [*args, "--lr", "1e-3"] if spec == "finetune" else args
    return ["--epochs", "5"]


def assert_trained(spec: str, hist: dict[str, object]) -> None:
    """Loss went down over the run and the test metric beats chance (TOKEN_SPECS: 96
    examples of a 20,000-word vocabulary, too few to generalise: the training loss only)."""
    losses = hist["loss"]
    assert isinstance(losses, list) and len(losses) >= 2, hist
    assert losses[-1] < losses[0], f"{spec}: loss did not go down: {losses}"
    if spec in TOKEN_SPECS:
        assert isinstance(hist["test_loss"], float), hist
        return
    if spec in CORPUS_SPECS:  # far below the uniform guess (measured: 5.9 after 3 epochs)
        assert hist["test_perplexity"] < CORPUS_SPECS[spec] / 3, hist
        return
    if "test_accuracy" in hist:
        chances = {"binary": 0.5, "multiclass": 0.25, "table_csv": 1 / 3, "inputs_npz": 0.25}
        chance = chances.get(spec, 0.1)
        acc = hist["test_accuracy"]
        assert isinstance(acc, float) and acc > chance + 0.1, f"{spec}: test accuracy {acc}"
    if spec == "two_outputs":  # each output beats its chance: 1 of 6 classes, 1 of 2
        assert hist["test_kind_accuracy"] > 1 / 6 + 0.1, hist  # type: ignore[operator]
        assert hist["test_big_accuracy"] > 0.5 + 0.1, hist  # type: ignore[operator]
    if spec in ("regression", "arrays_npz"):
        assert isinstance(hist["test_loss"], float)
        assert hist["test_loss"] < losses[0], hist


# Specs the hand-written-loop targets (tensorflow, mindspore) emit and run besides specs/.
SPEC_TEXT = (ROOT / "specs" / "mnist.nn").read_text(encoding="utf-8")
# Every layer kind, activation and initialiser, on a small synthetic problem.
ZOO = """
model zoo {
    input 64
    reshape 1x8x8
    conv2d 4 2 padding=same init=he_normal
    batchnorm momentum=0.2
    leaky_relu 0.1
    conv2d 4 3 padding=1 init=uniform(-0.1, 0.2) bias_init=normal(0.01)
    avgpool2d 2
    elu 0.5
    conv2d 8 1 init=glorot_normal bias_init=ones
    maxpool2d 2 stride=1
    global_avgpool
    layernorm
    dense 16 gelu init=he_uniform
    batchnorm
    dense 16 selu init=normal(0.1)
    dropout 0.1
    repeat 2 {
        dense 16 silu
    }
    dense 8 tanh
    dense 8 activation=elu(0.7)
    dense 8 sigmoid
    dense 3 relu
    dense 3
    log_softmax
}
data synthetic classification samples=600 features=64 classes=3 noise=0.5 {
    batch 32 shuffle
    test 0.2
}
train {
    loss nll
    optimizer adamw lr=3e-3 clip_norm=1.0
    schedule one_cycle
    epochs 3
    metrics accuracy precision recall f1
}
"""
# mnist.nn whose rate drops to ~0 after the first epoch: the next two epochs must train
# nothing (same weights, same examples, no dropout: the same mean loss), which they only
# do if the script really sets the rate before every step.
FROZEN_LR = (
    (ROOT / "specs" / "mnist.nn")
    .read_text(encoding="utf-8")
    .replace("epochs 5", "epochs 5\n    schedule multistep milestones=[1] gamma=1e-9")
)
# dropout.nn with random augmentation and a plateau schedule (no spec in specs/ has them)
AUGMENTED = (
    (ROOT / "specs" / "dropout.nn")
    .read_text(encoding="utf-8")
    .replace("scale 1/255", "scale 1/255\n    augment rotation=10 shift=0.1")
    .replace("lr=1e-3", "lr=1e-3\n    schedule reduce_on_plateau monitor=val_loss patience=1")
)


# Tabular sources no spec in specs/ uses: a CSV with label names, an .npz with its own
# test split. `tabular_runs` writes the data and the scripts and returns their argv.
TABULAR_SPECS = {
    "table_csv": """model tab {
    input 4
    dense 16 relu
    dense 3 softmax
}
data csv "table.csv" target=label {
    scale 0.5
    batch 16 shuffle
    validation 0.2
    test 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 5
    metrics accuracy precision recall
}
""",
    "arrays_npz": """model reg {
    input 3
    dense 16 relu
    dense 1
}
data npz "reg.npz" task=regression {
    batch 16 shuffle
    validation 0.1
}
train {
    loss huber
    optimizer rmsprop lr=1e-2
    epochs 5
    metrics mae mse
}
""",
    # Two named inputs from an .npz with its own test split (docs/data.md#several-inputs):
    # label = 2 * (which half of the image is bright) + (the sign of meta's first value).
    "inputs_npz": """model two {
    input image 1x4x4
    input meta 3
    branch img from=image { flatten; dense 8 relu }
    concat img meta
    dense 4
}
data npz "two.npz" {
    scale 0.5 input=meta
    batch 16 shuffle
    validation 0.1
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 5
    metrics accuracy
}
""",
}


def two_inputs_npz(folder: Path) -> None:
    """two.npz for `inputs_npz`: `image` as flat rows of 16 (the script reshapes them to
    1x4x4, as `specc run` does), `meta`, `y`, and a test split of each."""
    import numpy as np

    rng = np.random.default_rng(1)
    half, sign = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    image = rng.normal(0, 0.3, (500, 1, 4, 4)).astype(np.float32)
    image[half == 0, 0, :2] += 1.0
    image[half == 1, 0, 2:] += 1.0
    meta = rng.normal(0, 1, (500, 3)).astype(np.float32)
    meta[:, 0] = (np.abs(meta[:, 0]) + 0.3) * np.where(sign == 1, 2, -2)
    y = 2 * half + sign
    split = {"": slice(0, 400), "_test": slice(400, 500)}
    arrays = {f"{name}{s}": a[rows] for s, rows in split.items() for name, a in
              (("image", image.reshape(500, 16)), ("meta", meta), ("y", y))}  # fmt: skip
    np.savez(folder / "two.npz", **arrays)


def tabular_runs(folder: Path, target: str) -> list[list[str]]:
    """Write table.csv, reg.npz, two.npz and the specs' scripts into `folder`; their argv."""
    import numpy as np

    from specc.analysis import analyze
    from specc.emit import emit

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 4)) * 2
    labels = rng.integers(0, 3, 300)
    x = centres[labels] + rng.normal(scale=0.5, size=(300, 4))
    names = np.array(["cat", "dog", "eel"])[labels]
    rows = [",".join(f"{v:.4f}" for v in row) + f",{n}" for row, n in zip(x, names, strict=True)]
    (folder / "table.csv").write_text("f1,f2,f3,f4,label\n" + "\n".join(rows) + "\n")
    xr = rng.normal(size=(400, 3)).astype(np.float32)
    yr = xr @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.3
    np.savez(folder / "reg.npz", x=xr[:300], y=yr[:300], x_test=xr[300:], y_test=yr[300:])
    two_inputs_npz(folder)
    argv = []
    for name, text in TABULAR_SPECS.items():
        script = folder / f"{name}_{target}.py"
        script.write_text(emit(analyze(text, f"{name}.nn"), target))
        argv.append([str(script), "--data-dir", str(folder), "--out", str(folder / name)])
    return argv


# Specs covering the vocabulary specs/ leaves out (tests/emit/sink/*.nn): emitted and run
# briefly by each target's executed tests.
SINK = Path(__file__).resolve().parent / "sink"
SINK_SPECS = sorted(f"sink_{p.stem}" for p in SINK.glob("*.nn"))


def sink_runs(folder: Path, target: str) -> list[list[str]]:
    """Emit every sink spec for `target` into `folder`; their argv for a short run."""
    from specc.analysis import analyze_file
    from specc.emit import emit

    argv = []
    for name in SINK_SPECS:
        spec = SINK / f"{name[len('sink_') :]}.nn"
        script = folder / f"{name}_{target}.py"
        script.write_text(emit(analyze_file(spec), target))
        quick = ["--limit", "300", "--epochs", "2", "--data-dir", str(SAMPLE)]
        extra = quick if name == "sink_images" else ["--epochs", "5"]
        argv.append([str(script), *extra, "--out", str(folder / name)])
    return argv


def assert_sink(spec: str, out: Path) -> None:
    """Sink runs exit 0 and report every metric; the tabular ones also learn."""
    hist = history(out)
    if spec == "sink_images":  # a hard recipe in 2 short epochs: only check it ran fully
        for key in ("top_5_accuracy", "val_f1", "test_precision", "test_recall"):
            assert key in hist, (key, sorted(hist))
        return
    losses = hist["loss"]
    assert isinstance(losses, list) and losses[-1] < losses[0], (spec, losses)


@pytest.fixture
def scripts_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    return folder
