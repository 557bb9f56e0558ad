"""`specc run` on hostile but checked specs: no traceback from the frameworks (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.numpy import load_file

from specc.analysis import analyze
from specc.plan import RunOptions
from specc.run import run

MLP = """\
model m {{
    input 6
{layers}
}}
data synthetic features=6 samples=96 {{ batch 32 }}
train {{
    loss sparse_categorical_crossentropy
    optimizer {optimizer}
    epochs 1
}}
"""


def spec(layers: str = "    dense 2", optimizer: str = "adam") -> str:
    return MLP.format(layers=layers, optimizer=optimizer)


# ---- item 4: optimizer settings torch cannot hold -------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "field", "bound"),
    [
        ("adam clip_value=1e308", "clip_value", "1e+30"),
        ("sgd clip_norm=1e31", "clip_norm", "1e+30"),
        ("rmsprop lr=1e308", "lr", "1000000"),
        ("rmsprop weight_decay=1e308", "weight_decay", "1000000"),
        ("adagrad eps=1e7", "eps", "1000000"),
    ],
)
def test_optimizer_values_past_float32_are_E301(optimizer: str, field: str, bound: str) -> None:
    found = [(d.code, d.message) for d in analyze(spec(optimizer=optimizer)).errors]
    assert len(found) == 1 and found[0][0] == "E301", found
    assert found[0][1].startswith(f"`{field}` must be <= {bound}, found `")


@pytest.mark.parametrize(
    "optimizer",
    ["rmsprop centered momentum=0.5", "adamw", "sgd momentum=0.9 nesterov", "adagrad"],
)
def test_optimizer_values_at_the_bounds_train_on_torch(tmp_path: Path, optimizer: str) -> None:
    limits = "lr=1e6 weight_decay=1e6 clip_value=1e30 clip_norm=1e30"
    result = run(
        spec(optimizer=f"{optimizer} {limits}"), RunOptions(out=str(tmp_path / "r"), quiet=True)
    )
    assert result.epochs == 1 and "loss" in result.metrics


# ---- item 5: layer names that are attributes of nn.Module / keras.Layer -------------------

CLASHING = ("eval", "train", "forward", "training", "parameters", "cuda", "to", "state_dict")
CLASHING_2 = ("apply", "float", "_modules", "__class__", "T_destination", "__dict__")


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
@pytest.mark.parametrize("names", [CLASHING, CLASHING_2], ids=["methods", "internals"])
def test_layer_names_that_clash_with_framework_attributes_train(
    tmp_path: Path, backend: str, names: tuple[str, ...]
) -> None:
    layers = "\n".join(f"    dense 4 relu name={name}" for name in names[:-1])
    layers += f"\n    dense 2 name={names[-1]}"
    out = tmp_path / "r"
    result = run(spec(layers=layers), RunOptions(backend=backend, out=str(out), quiet=True))
    assert result.epochs == 1
    # Weights keep the spec's names: the renaming is internal to the executor.
    keys = set(load_file(out / "weights.safetensors"))
    assert keys == {f"{name}.{part}" for name in names for part in ("weight", "bias")}


# ---- item 6: a loss that cannot take the model's output -------------------------------------

BCE_ON_MNIST = """\
model mlp {
    input 28x28
    flatten
    dense 10 softmax
}
data mnist_sample { scale 1/255 }
train {
    loss binary_crossentropy
    epochs 1
}
"""


def test_binary_crossentropy_on_ten_outputs_is_E407_at_check_time() -> None:
    found = analyze(BCE_ON_MNIST).diagnostics
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("E407", 4, 11)]
    assert (
        found[0].message
        == "`binary_crossentropy` needs 1 output per example, but model `mlp` gives 10"
    )
    assert found[0].help == (
        "end with `dense 1 sigmoid` for a yes/no target, "
        "or use `sparse_categorical_crossentropy` for 10 classes"
    )


def test_run_and_emit_refuse_it_without_a_traceback(tmp_path: Path) -> None:
    from specc.emit import EmitError, emit
    from specc.errors import PlanError

    with pytest.raises(PlanError) as err:
        run(BCE_ON_MNIST, RunOptions(out=str(tmp_path / "r"), quiet=True, limit=64))
    assert [d.code for d in err.value.diagnostics] == ["E407"]
    with pytest.raises(EmitError) as emitted:
        emit(analyze(BCE_ON_MNIST), "pytorch")
    assert [d.code for d in emitted.value.diagnostics] == ["E407"]


def test_npz_targets_that_do_not_fit_a_binary_loss_are_refused_at_load_time(tmp_path: Path) -> None:
    import numpy as np

    from specc.errors import RunError

    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz", x=rng.normal(size=(40, 6)).astype("float32"), y=rng.integers(0, 2, 40)
    )
    text = (
        MLP.format(layers="    dense 3", optimizer="adam")
        .replace("data synthetic features=6 samples=96", 'data npz "d.npz" task=binary')
        .replace("sparse_categorical_crossentropy", "binary_crossentropy")
    )
    (tmp_path / "s.nn").write_text(text)
    with pytest.raises(RunError) as err:
        run(str(tmp_path / "s.nn"), RunOptions(out=str(tmp_path / "r"), quiet=True))
    assert err.value.message == (
        "error[E407]: `binary_crossentropy` scores each output against one target, "
        "but the data has 1 per example and model `m` gives 3"
    )
    assert err.value.hint == "end with `dense 1 sigmoid`"


# ---- items 12 and 15: flags and warnings of `specc run` -------------------------------------

SPECS = Path(__file__).resolve().parents[2] / "specs"
LR_10 = (
    (SPECS / "quickstart.nn")
    .read_text()
    .replace("optimizer rmsprop lr=1e-3", "optimizer sgd lr=10")
)
W503 = "warning[W503]: learning rate 10 is outside the usual range 1e-06..1"


def _cli(*args: str) -> object:
    from click.testing import CliRunner

    from specc.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"specc crashed: {result.exception!r}") from result.exception
    return result


def test_an_empty_device_is_a_usage_error(tmp_path: Path) -> None:
    result = _cli("run", str(SPECS / "quickstart.nn"), "--device", "", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        "error: --device is empty\n  hint: use auto, cpu, cuda, cuda:N or mps\n"
    )
    assert not (tmp_path / "r").exists()


def test_run_shows_the_specs_warnings_before_training(tmp_path: Path) -> None:
    spec_file = tmp_path / "lr10.nn"
    spec_file.write_text(LR_10)
    out = tmp_path / "r"
    args = ("run", str(spec_file), "--epochs", "1", "--limit", "100", "--out", str(out), "-q")
    result = _cli(*args)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.startswith(W503 + f"\n   --> {spec_file}:16:19\n"), stderr
    assert stderr.count("warning[") == 1
    assert "run directory" in result.stdout  # type: ignore[attr-defined]


def test_run_strict_refuses_warnings_and_trains_nothing(tmp_path: Path) -> None:
    spec_file = tmp_path / "lr10.nn"
    spec_file.write_text(LR_10)
    out = tmp_path / "r"
    result = _cli("run", str(spec_file), "--strict", "--out", str(out))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.count(W503) == 1
    assert stderr.rstrip().endswith(
        f"error: {spec_file} has 1 warning(s) and --strict refuses them; nothing was trained\n"
        "  hint: fix them, or run without --strict"
    )
    assert not out.exists()


def test_check_with_a_backend_says_what_run_will_say() -> None:
    search = str(SPECS / "search.nn")
    checked = _cli("check", "--backend", "torch", search)
    ran = _cli("run", search)
    assert checked.exit_code == ran.exit_code == 1  # type: ignore[attr-defined]
    errors = [line for line in checked.output.splitlines() if line.startswith("error[")]  # type: ignore[attr-defined]
    assert errors == [
        "error[E601]: `lr` is a search space (`loguniform(...)`); a training needs a number",
        "error[E601]: `momentum` is a search space (`uniform(...)`); a training needs a number",
    ]
    assert [line for line in ran.stderr.splitlines() if line.startswith("error[")] == errors  # type: ignore[attr-defined]


# ---- item 10: a full disk ---------------------------------------------------------------------

ENOSPC = "Error while serializing: I/O error: No space left on device (os error 28)"


def test_a_full_disk_during_a_run_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import safetensors.numpy
    from safetensors import SafetensorError

    def full(*args: object, **kwargs: object) -> None:
        raise SafetensorError(ENOSPC)

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    out = tmp_path / "r"
    result = _cli(
        "run",
        str(SPECS / "quickstart.nn"),
        "--epochs",
        "1",
        "--limit",
        "64",
        "--out",
        str(out),
        "-q",
    )
    assert result.exit_code == 1  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.startswith(
        f"error: cannot write {out / 'checkpoints' / 'last.safetensors'}: {ENOSPC}\n"
    )
    assert "  hint: free some space (or choose another --out) and run again" in stderr
    assert not [p.name for p in out.rglob("*.tmp*")]  # no half-written file is left


def test_a_full_disk_during_fmt_leaves_the_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    messy = "model m {\ninput 4\n   dense 2\n}\n"
    path = tmp_path / "messy.nn"
    path.write_text(messy)
    monkeypatch.setattr(os, "fsync", full)
    result = _cli("fmt", str(path))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        f"error: cannot write {path}: No space left on device; the file is unchanged\n"
        "0 files reformatted, 0 unchanged, 1 file that could not be written\n"
    )
    assert path.read_text() == messy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.nn"]


# Names the executors give layers the spec did not write (an activation, padding, a
# transpose) must not collide with a spec layer's name: they used to replace it silently
# (torch: `a__act` took the place of `a`'s relu) or crash Keras (duplicate layer names).
HELPER_NAMES = {
    "activation": "    dense 4 relu name=a\n    dense 4 name=a__act\n    dense 3 name=a_activation",
    "conv": (
        "    conv2d 4 3 relu padding=1 name=c\n    conv2d 4 3 name=c_pad\n"
        "    flatten name=to_channels_last\n    dense 3 name=c_to_last"
    ),
}


def test_a_layer_named_like_another_layers_activation_keeps_that_activation() -> None:
    from torch import nn

    from specc.executors.torch.model import build_network

    analysis = analyze(MLP.format(layers=HELPER_NAMES["activation"], optimizer="adam"))
    children = list(build_network(analysis.shapes["m"]).named_children())
    assert [(name, type(child)) for name, child in children] == [
        ("a", nn.Linear),
        ("a:act", nn.ReLU),
        ("a__act", nn.Linear),
        ("a_activation", nn.Linear),
    ]


@pytest.mark.parametrize("case", list(HELPER_NAMES))
def test_spec_names_like_the_executors_helper_layers_train_alike_on_both_backends(
    tmp_path: Path, case: str
) -> None:
    text = MLP.format(layers=HELPER_NAMES[case], optimizer="adam")
    if case == "conv":
        text = text.replace("input 6", "input 1x8x8").replace("features=6", "features=64 classes=3")
    else:
        text = text.replace("features=6", "features=6 classes=3")
    losses = [
        run(text, RunOptions(backend=b, out=str(tmp_path / b), quiet=True)).metrics["loss"]
        for b in ("torch", "tensorflow")
    ]
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
