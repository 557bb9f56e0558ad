"""Emitted scripts of a model with several named inputs (docs/data.md#several-inputs):
the model takes each input by its name (`forward(self, image, meta)`, one `keras.Input`
per input, `construct(self, image, meta)`), the data travel as one NumPy record per example,
and the scripts read an .npz's named arrays, a CSV's column groups, or generate specc's
own synthetic arrays. The goldens (specs/two_tower.nn) and tests/emit/conftest.py's
`inputs_npz` are executed with the other scripts of each target."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.data.synthetic_inputs import generate_inputs
from specc.emit import emit
from specc.ir.data import Synthetic
from tests.emit.conftest import GOLDEN, history, lint, run_scripts


def golden(target: str) -> str:
    return (GOLDEN / target / "two_tower.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("target", "lines"),
    [
        (
            "pytorch",
            [
                'INPUTS = {"image": (1, 28, 28), "meta": (12,)}',
                "    def forward(self, image, meta):",
                "        img = torch.relu(self.conv2d_1(image))  # (B, 32, 26, 26)",
                "        tab = torch.relu(self.dense_1(meta))  # (B, 32)",
                "        x = torch.cat([img, tab], dim=1)  # (B, 64)",
                "        inputs = [torch.from_numpy(a).to(device) for a in inputs_of(xb).values()]",
                "        logits = model(*inputs)",
            ],
        ),
        (
            "keras",
            [
                '    image = keras.Input(shape=INPUTS["image"], name="image")  # (B, 1, 28, 28)',
                '    meta = keras.Input(shape=INPUTS["meta"], name="meta")  # (B, 12)',
                '    img = layers.Permute((2, 3, 1), name="to_channels_last")(image)',
                '    tab = layers.Dense(32, activation="relu", name="dense_1")(meta)',
                '    inputs = {"image": image, "meta": meta}',
                '    return keras.Model(inputs, x, name="two_tower")',
                "            inputs_of(x_train),",
                "            validation_data=(inputs_of(x_val), y_val),",
            ],
        ),
        (
            "tensorflow",
            [
                '    image = keras.Input(shape=INPUTS["image"], name="image")  # (B, 1, 28, 28)',
                "        logits = model(inputs_of(xb), training=False)",
                "        loss, predicted = compiled_step(inputs_of(xb), yb)",
            ],
        ),
        (
            "mindspore",
            [
                "    def construct(self, image, meta):",
                "        img = ops.relu(self.conv2d_1(image))  # (B, 32, 26, 26)",
                "        x = ops.cat([img, tab], axis=1)  # (B, 64)",
                "        (loss, logits), grads = grad_fn(inputs, ms.Tensor(yb))",
            ],
        ),
    ],
)
def test_the_model_takes_each_input_by_name(target: str, lines: list[str]) -> None:
    script = golden(target).splitlines()
    for line in lines:
        assert line in script, line
    assert not any(line.startswith("INPUT_SHAPE") for line in script)


def test_the_scripts_generate_the_arrays_specc_trains_on() -> None:
    """The golden's own generator, run here: bit for bit specc's (specc/data/synthetic_inputs.py)."""
    script = runpy.run_path(str(GOLDEN / "pytorch" / "two_tower.py"))
    x, y, x_test, y_test = script["read_source"](None)
    expected, labels = generate_inputs(
        Synthetic(classes=10, samples=2000, noise=1.5), {"image": (1, 28, 28), "meta": (12,)}
    )
    assert x.dtype.names == ("image", "meta") and (x_test, y_test) == (None, None)
    for name, array in expected.arrays.items():
        assert x[name].dtype == np.float32
        np.testing.assert_array_equal(x[name], array, err_msg=name)
    np.testing.assert_array_equal(y, labels)


CSV_SPEC = """model two {
    input left 2
    input right 3
    branch l from=left { dense 8 relu }
    branch r from=right { dense 8 relu }
    concat l r
    dense 16 relu
    dense 2
}
data csv "t.csv" target=outcome {
    columns right [b0, b1, b2]
    columns left [a0, a1]
    normalize 0 2 input=right
    batch 32 shuffle
    test 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.02
    epochs 15
    metrics accuracy
}
"""


def _csv(folder: Path) -> None:
    rng = np.random.default_rng(1)
    n = 300
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 3))
    label = ((a[:, 0] > 0) ^ (b[:, 2] > 0)).astype(int)
    rows = ["outcome,a0,b0,a1,b1,b2"] + [
        f"{label[i]},{a[i, 0]:.4f},{b[i, 0]:.4f},{a[i, 1]:.4f},{b[i, 1]:.4f},{b[i, 2]:.4f}"
        for i in range(n)
    ]
    (folder / "t.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_csv_column_groups_and_names_that_shadow_script_names(target: str) -> None:
    script = emit(analyze(CSV_SPEC, "two.nn"), target)
    assert lint(script) == []
    assert "COLUMNS = {  # each input's columns, in order (`columns NAME [...]`)" in script
    assert '    "left": ["a0", "a1"],\n    "right": ["b0", "b1", "b2"],\n}' in script
    assert '    x["right"] = (x["right"] - np.float32(0.0)) / np.float32(2.0)' in script
    shadowing = CSV_SPEC.replace("left", "x").replace("right", "np")
    renamed = emit(analyze(shadowing, "two.nn"), target)
    assert lint(renamed) == []
    head = {
        "pytorch": "def forward(self, x_, np_):",
        "keras": 'x_ = keras.Input(shape=INPUTS["x"], name="x")',
        "tensorflow": 'np_ = keras.Input(shape=INPUTS["np"], name="np")',
        "mindspore": "def construct(self, x_, np_):",
    }[target]
    assert head in renamed


def test_the_csv_and_npz_scripts_train_and_name_a_missing_array(tmp_path: Path) -> None:
    _csv(tmp_path)
    script = tmp_path / "csv_two.py"
    script.write_text(emit(analyze(CSV_SPEC, "two.nn"), "pytorch"))
    shadowing = tmp_path / "shadow.py"
    text = CSV_SPEC.replace("left", "x").replace("right", "np")
    shadowing.write_text(emit(analyze(text, "two.nn"), "pytorch"))
    bad = tmp_path / "bad"
    bad.mkdir()
    np.savez(bad / "two.npz", image=np.zeros((4, 16)), y=np.zeros(4))
    npz = tmp_path / "npz_two.py"
    from tests.emit.conftest import TABULAR_SPECS

    npz.write_text(emit(analyze(TABULAR_SPECS["inputs_npz"], "two.nn"), "pytorch"))
    codes, output = run_scripts(
        [
            [str(script), "--data-dir", str(tmp_path), "--out", str(tmp_path / "csv")],
            [str(shadowing), "--data-dir", str(tmp_path), "--out", str(tmp_path / "shadow")],
            [str(npz), "--data-dir", str(bad), "--out", str(tmp_path / "bad_out")],
        ]
    )
    assert codes == [0, 0, 1], output[-3000:]
    for run in ("csv", "shadow"):
        assert history(tmp_path / run)["test_accuracy"] >= 0.85  # type: ignore[operator]
    assert f"error: {bad / 'two.npz'} has no array 'meta' (it has ['image', 'y'])" in output


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_image_files_named_by_a_csv_are_refused_at_their_columns(target: str) -> None:
    from specc.emit import EmitError

    text = (
        CSV_SPEC.replace("input left 2", "input left 1x4x4")
        .replace("branch l from=left {", "branch l from=left { flatten;")
        .replace("columns left [a0, a1]", "columns left [photo]")
    )
    with pytest.raises(EmitError) as err:
        emit(analyze(text, "two.nn"), target)
    [diagnostic] = err.value.diagnostics
    assert diagnostic.code == "E600" and "image files named by a CSV column" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (12, 5)
