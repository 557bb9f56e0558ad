"""`specc export` and `specc predict` of a model with several named inputs
(specs/two_tower.nn): one named graph input per model input in every format, and
`specc predict` reading each input's array by name from a .npz, with a located message for
a missing array or a wrong shape. (tests/export/test_export_formats.py verifies every
format of it numerically, as for every example spec.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import train

from specc.cli import main
from specc.data.synthetic_inputs import generate_inputs
from specc.export import export
from specc.ir.data import Synthetic
from specc.predict import predict

SHAPES = {"image": (1, 28, 28), "meta": (12,)}


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven new examples of both inputs, with their labels, as `specc predict` takes them."""
    x, y = generate_inputs(Synthetic(classes=10, samples=700, noise=1.5, data_seed=3), SHAPES)
    path = tmp_path_factory.mktemp("several") / "new.npz"
    np.savez(path, image=x.arrays["image"][:7], meta=x.arrays["meta"][:7], y=y[:7])
    return path


def test_onnx_has_a_named_input_per_model_input(runs_root: Path) -> None:
    import onnx

    run_dir = train(runs_root, "two_tower.nn", "torch", None, None)
    dynamo = export(run_dir, "onnx", run_dir / "several-dynamo")
    legacy = export(run_dir, "onnx", run_dir / "several-legacy", legacy_onnx=True)
    for done in (dynamo, legacy):
        graph = onnx.load(str(done.artifact)).graph
        assert [i.name for i in graph.input] == ["image", "meta"]
        dims = [i.type.tensor_type.shape.dim for i in graph.input]
        assert [[d.dim_value for d in dim[1:]] for dim in dims] == [[1, 28, 28], [12]]
        assert all(dim[0].dim_param and not dim[0].dim_value for dim in dims)  # dynamic batch
        assert all(c["ok"] for c in done.manifest["verification"]["checks"])


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_predict_reads_each_input_by_name_from_the_run_and_its_exports(
    runs_root: Path, examples: Path, backend: str
) -> None:
    run_dir = train(runs_root, "two_tower.nn", backend, None, None)
    found = predict(run_dir, [examples])
    assert found.outputs.shape == (7, 10) and found.names[0] == f"{examples}#0"
    np.testing.assert_array_equal(found.labels, np.load(examples)["y"])  # type: ignore[arg-type]
    for fmt in {"torch": ("onnx", "torch"), "tensorflow": ("savedmodel", "keras")}[backend]:
        folder = export(run_dir, fmt).folder
        np.testing.assert_allclose(predict(folder, [examples]).outputs, found.outputs, atol=1e-5)
    recorded = json.loads((run_dir / "metrics.json").read_text())
    again = predict(run_dir, split="test")  # the run's own test split, both inputs
    assert again.metrics == {"test_accuracy": recorded["test_accuracy"]}


@pytest.mark.parametrize(
    ("arrays", "message", "hint"),
    [
        (
            {"image": np.zeros((2, 1, 28, 28))},
            "no array `meta` for the model input `meta`; the archive holds: image",
            "store one array per model input (image, meta)",
        ),
        (
            {"image": np.zeros((2, 784)), "meta": np.zeros((2, 3))},
            "`meta` examples are 3 (3 values) but the model's input `meta` is 12 (12 values)",
            "give `meta` examples of the shape the model was trained on",
        ),
        (
            {"image": np.zeros((2, 784)), "meta": np.zeros((3, 12))},
            "the inputs' arrays differ in rows: `image` 2, `meta` 3",
            "",
        ),
    ],
)
def test_a_bad_input_is_a_located_message(
    runs_root: Path, tmp_path: Path, arrays: dict[str, np.ndarray], message: str, hint: str
) -> None:
    run_dir = train(runs_root, "two_tower.nn", "torch", None, None)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    done = CliRunner().invoke(main, ["predict", str(run_dir), str(path)])
    assert done.exit_code == 1 and "Traceback" not in done.output, done.output
    assert f"error: {path}: {message}" in done.stderr
    assert f"hint: {hint}" in done.stderr if hint else "hint:" not in done.stderr


def test_an_image_file_is_refused_with_what_to_give(runs_root: Path, tmp_path: Path) -> None:
    run_dir = train(runs_root, "two_tower.nn", "torch", None, None)
    picture = tmp_path / "digit.png"
    picture.write_bytes(b"\x89PNG\r\n")
    done = CliRunner().invoke(main, ["predict", str(run_dir), str(picture)])
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert (
        f"error: {picture}: not a .npz (`.png`); a model with several inputs reads a .npz with "
        "an array per input (image, meta)"
    ) in done.stderr
    assert "hint: save the examples with np.savez(path, image=..., meta=...)" in done.stderr
