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
