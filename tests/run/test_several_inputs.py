"""`specc run` of a model with two named inputs, on torch and TensorFlow.

The data plants a label neither input can predict alone: label = (which corner of the
image is bright) XOR (the sign of the first feature). A model reading both inputs learns
it; one reading a single input stays at a coin toss (the two bits are independent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.data.dataset import Inputs
from specc.executors import get
from specc.init_weights import initial_weights
from specc.plan import RunOptions, make_plan
from specc.run import run
from specc.run.record import load_arrays

TWO_TOWER = """model two_tower {
    input image 1x8x8
    input meta 4
    branch img from=image { conv2d 4 3 padding=same relu; flatten; dense 8 relu }
    branch tab from=meta { dense 8 relu }
    concat img tab
    dense 16 relu
    dense 2
}
data npz "DATA" {
    normalize 0 2 input=meta
    batch 32 shuffle
    validation 0.1
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.01
    epochs EPOCHS
    metrics accuracy
}
"""

ONE_INPUT = """model alone {
    input SHAPE
    flatten
    dense 16 relu
    dense 16 relu
    dense 2
}
data npz "DATA" x=NAME { batch 32 shuffle; validation 0.1 }
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.01
    epochs 8
    metrics accuracy
}
"""


def _part(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    corner, sign = rng.integers(0, 2, n), rng.integers(0, 2, n)
    image = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    image[corner == 0, 0, :4, :4] += 1.0
    image[corner == 1, 0, 4:, 4:] += 1.0
    meta = rng.normal(0, 1, (n, 4)).astype(np.float32)
    meta[:, 0] = (np.abs(meta[:, 0]) + 0.3) * np.where(sign == 1, 1, -1)
    return {"image": image, "meta": meta, "y": (corner ^ sign).astype(np.int64)}


@pytest.fixture(scope="module")
def xor_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    train, test = _part(rng, 800), _part(rng, 400)
    path = tmp_path_factory.mktemp("xor") / "xor.npz"
    np.savez(path, **train, **{f"{k}_test": v for k, v in test.items()})
    return path


def _spec(npz: Path, epochs: int = 8, template: str = TWO_TOWER, **words: str) -> str:
    text = template.replace("DATA", str(npz)).replace("EPOCHS", str(epochs))
    for key, value in words.items():
        text = text.replace(key, value)
    return text


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_two_inputs_learn_what_neither_input_knows_alone(
    backend: str, xor_npz: Path, tmp_path: Path
) -> None:
    done = run(_spec(xor_npz), RunOptions(backend=backend, out=str(tmp_path / "r"), quiet=True))
    assert done.metrics["test_accuracy"] >= 0.95, done.metrics
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["data"]["sizes"] == {"train": 720, "val": 80, "test": 400}
    if backend == "tensorflow":  # model.keras: a functional model with both named inputs
        import keras

        saved = keras.models.load_model(tmp_path / "r" / "model.keras", compile=False)
        assert [i.name for i in saved.inputs] == ["image", "meta"]
        test = np.load(xor_npz)
        x = {"image": test["image_test"], "meta": test["meta_test"] / 2}  # `normalize 0 2`
        accuracy = (np.argmax(np.asarray(saved(x)), 1) == test["y_test"]).mean()
        assert accuracy == pytest.approx(done.metrics["test_accuracy"], abs=1e-9)


@pytest.mark.parametrize(("name", "shape"), [("image", "1x8x8"), ("meta", "4")])
def test_either_input_alone_stays_near_a_coin_toss(
    name: str, shape: str, xor_npz: Path, tmp_path: Path
) -> None:
    text = _spec(xor_npz, template=ONE_INPUT, NAME=name, SHAPE=shape)
    done = run(text, RunOptions(backend="torch", out=str(tmp_path / "r"), quiet=True))
    assert 0.35 <= done.metrics["test_accuracy"] <= 0.65, done.metrics


def test_torch_and_tensorflow_compute_the_same_forward(xor_npz: Path) -> None:
    plan = make_plan(analyze(_spec(xor_npz), "two.nn"), RunOptions())
    weights = initial_weights(plan.shapes, plan.seed)
    arrays = np.load(xor_npz)
    x = Inputs({"image": arrays["image"][:64], "meta": arrays["meta"][:64]})
    y = arrays["y"][:64]
    outs = []
    for name in ("torch", "tensorflow"):
        backend = get(name)
        mine = make_plan(analyze(_spec(xor_npz), "two.nn"), RunOptions(backend=name))
        state = backend.build(mine, weights, "cpu")
        outs.append(backend.predict(state, backend.load_data(state, x, y)))
    assert outs[0].shape == (64, 2)
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-5, rtol=0)


def test_resume_of_a_two_input_run_ends_as_the_longer_run(xor_npz: Path, tmp_path: Path) -> None:
    spec = tmp_path / "two.nn"
    spec.write_text(_spec(xor_npz, epochs=1))
    short, long = tmp_path / "short", tmp_path / "long"
    cli = CliRunner()
    assert cli.invoke(main, ["run", str(spec), "--out", str(short), "-q"]).exit_code == 0
    extended = cli.invoke(main, ["run", "--resume", str(short), "--epochs", "3"])
    assert extended.exit_code == 0, extended.output
    assert f"resuming {short} after epoch 1 of 3" in extended.stderr
    done = cli.invoke(main, ["run", str(spec), "--epochs", "3", "--out", str(long), "-q"])
    assert done.exit_code == 0, done.output
    a = load_arrays(short / "weights.safetensors")[0]
    b = load_arrays(long / "weights.safetensors")[0]
    assert a.keys() == b.keys() and len(a) == 10  # both towers and the head
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _cli_run(spec: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["run", str(spec), "-q", *args])


def test_a_missing_array_is_one_message_naming_the_input(xor_npz: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(xor_npz))
    del arrays["meta"], arrays["meta_test"]
    np.savez(tmp_path / "no_meta.npz", **arrays)
    spec = tmp_path / "two.nn"
    spec.write_text(_spec(tmp_path / "no_meta.npz", epochs=1))
    done = _cli_run(spec)
    assert done.exit_code == 1  # type: ignore[attr-defined]
    assert "Traceback" not in done.output  # type: ignore[attr-defined]
    assert f"{tmp_path / 'no_meta.npz'}: no array `meta` for the model input `meta`" in done.stderr  # type: ignore[attr-defined]
    assert "image, y, image_test, y_test" in done.stderr  # type: ignore[attr-defined]


def test_a_wrong_shape_names_the_input_and_both_shapes(xor_npz: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(xor_npz))
    arrays["meta"], arrays["meta_test"] = arrays["meta"][:, :3], arrays["meta_test"][:, :3]
    np.savez(tmp_path / "narrow.npz", **arrays)
    spec = tmp_path / "two.nn"
    spec.write_text(_spec(tmp_path / "narrow.npz", epochs=1))
    done = _cli_run(spec, "--backend", "tensorflow")
    assert done.exit_code == 1 and "Traceback" not in done.output  # type: ignore[attr-defined]
    assert (
        "the data's `meta` examples are 3 (3 values) but model `two_tower`'s input `meta` is 4 (4 values)"
        in done.stderr  # type: ignore[attr-defined]
    )
    assert "change `input meta` to 3, or the data's `meta`" in done.stderr  # type: ignore[attr-defined]


def test_a_csv_with_column_groups_trains_on_both_backends(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 300
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 3))
    label = ((a[:, 0] > 0) ^ (b[:, 2] > 0)).astype(int)
    rows = ["outcome,a0,b0,a1,b1,b2"] + [
        f"{label[i]},{a[i, 0]:.4f},{b[i, 0]:.4f},{a[i, 1]:.4f},{b[i, 1]:.4f},{b[i, 2]:.4f}"
        for i in range(n)
    ]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    text = """model two {
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
    (tmp_path / "two.nn").write_text(text)
    results = [
        run(tmp_path / "two.nn", RunOptions(backend=b, out=str(tmp_path / b), quiet=True))
        for b in ("torch", "tensorflow")
    ]
    for done in results:
        assert done.metrics["test_accuracy"] >= 0.85, done.metrics
    assert abs(results[0].metrics["test_loss"] - results[1].metrics["test_loss"]) < 1e-3


def test_export_and_predict_take_the_named_inputs(xor_npz: Path, tmp_path: Path) -> None:
    spec = tmp_path / "two.nn"
    spec.write_text(_spec(xor_npz, epochs=1))
    out = tmp_path / "r"
    assert _cli_run(spec, "--out", str(out)).exit_code == 0  # type: ignore[attr-defined]
    exported = CliRunner().invoke(main, ["export", str(out), "--format", "onnx"])
    assert exported.exit_code == 0, exported.output
    arrays = np.load(xor_npz)
    np.savez(tmp_path / "new.npz", image=arrays["image_test"][:5], meta=arrays["meta_test"][:5])
    for source in (out, out / "export" / "onnx"):
        done = CliRunner().invoke(main, ["predict", str(source), str(tmp_path / "new.npz")])
        assert done.exit_code == 0, done.output
        assert f"{tmp_path / 'new.npz'}#4" in done.output


def test_parity_feeds_both_backends_the_named_inputs(xor_npz: Path) -> None:
    from specc.parity import parity

    result = parity(analyze(_spec(xor_npz), "two.nn"), steps=10)
    assert result.steps == 10 and result.passed, result.to_json()
    assert result.runs[0].losses[-1] < result.runs[0].losses[0]  # it trained


def test_data_override_with_one_array_is_refused_by_name(xor_npz: Path, tmp_path: Path) -> None:
    spec = tmp_path / "two.nn"
    spec.write_text(_spec(xor_npz, epochs=1))
    done = _cli_run(spec, "--data", "mnist_sample")
    assert done.exit_code == 1 and "Traceback" not in done.output  # type: ignore[attr-defined]
    assert (
        "--data mnist_sample: gives one input array, but the model has several inputs "
        "(image, meta)" in done.stderr  # type: ignore[attr-defined]
    )


def test_the_two_tower_example_learns_on_both_backends(tmp_path: Path) -> None:
    """specs/two_tower.nn on `data synthetic`: each input alone can be right for at most
    4 (image) or 3 (meta) in 10 examples (tests/data/test_data_synthetic_inputs.py); the two
    towers together get far past that, with a visible learning curve, alike on both."""
    spec = Path(__file__).resolve().parents[2] / "specs" / "two_tower.nn"
    results = [
        run(spec, RunOptions(backend=b, out=str(tmp_path / b), quiet=True))
        for b in ("torch", "tensorflow")
    ]
    for done in results:
        assert 0.85 <= done.metrics["test_accuracy"] <= 0.97, done.metrics
        curve = [r["accuracy"] for r in done.history]
        assert curve[0] < 0.35 and curve[-1] > 0.85, curve
    assert abs(results[0].metrics["test_loss"] - results[1].metrics["test_loss"]) < 1e-3


def test_images_named_by_a_csv_train_on_both_backends(tmp_path: Path) -> None:
    """Images + a CSV (docs/data.md#images-and-a-csv): label = 2 * (which half of the PNG
    is bright) + (the sign of `age`); the file column and the numeric group feed one model."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    rows = ["file,age,dose,label"]
    for i in range(120):
        half, sign = rng.integers(0, 2), rng.integers(0, 2)
        pixels = rng.integers(0, 60, (8, 8)).astype(np.uint8)
        pixels[:4] += 150 if half == 0 else 0
        pixels[4:] += 150 if half == 1 else 0
        Image.fromarray(pixels).save(tmp_path / "img" / f"{i}.png")
        age = (abs(rng.normal()) + 0.3) * (1 if sign else -1)
        rows.append(f"img/{i}.png,{age:.3f},{rng.normal():.3f},{2 * half + sign}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    text = """model photos {
    input image 1x8x8
    input meta 2
    branch img from=image { flatten; dense 16 relu }
    concat img meta
    dense 4
}
data csv "t.csv" target=label {
    columns image [file]
    columns meta [age, dose]
    scale 1/255 input=image
    batch 16 shuffle
    test 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 15
    metrics accuracy
}
"""
    (tmp_path / "photos.nn").write_text(text)
    results = [
        run(tmp_path / "photos.nn", RunOptions(backend=b, out=str(tmp_path / b), quiet=True))
        for b in ("torch", "tensorflow")
    ]
    for done in results:
        assert done.metrics["test_accuracy"] >= 0.9, done.metrics
    assert abs(results[0].metrics["test_loss"] - results[1].metrics["test_loss"]) < 1e-3
