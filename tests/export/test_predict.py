"""`specc predict`: the run's metrics again on its test split, every input kind, the spec's
preprocessing applied, ONNX without torch or TensorFlow, and messages for mistakes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import ROOT, train

from specc.cli import main
from specc.data.idx import write_idx
from specc.data.mnist import load_bundled
from specc.export import export
from specc.predict import open_model, predict


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    images = load_bundled()
    return images.x_test[:6], images.y_test[:6]


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_test_split_reproduces_the_runs_test_accuracy(runs_root: Path, backend: str) -> None:
    run_dir = train(runs_root, "cnn.nn", backend, None, "mnist_sample")
    recorded = json.loads((run_dir / "metrics.json").read_text())
    found = predict(run_dir, split="test")
    assert found.metrics == {"test_accuracy": recorded["test_accuracy"]}
    assert len(found.outputs) == 128  # --limit 128 took the first 128 test digits
    result = CliRunner().invoke(main, ["predict", str(run_dir), "--split", "test"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"test_accuracy {recorded['test_accuracy']:.4f}"


def test_raw_inputs_get_the_specs_preprocessing(
    runs_root: Path, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    """Raw 0..255 pixels in a .npz give exactly what the run's model gives on its own
    scaled and normalised test split (mnist_deep: scale, then normalize)."""
    run_dir = train(runs_root, "mnist_deep.nn", "torch", "baseline", "mnist_sample")
    x, _ = digits
    np.savez(tmp_path / "raw.npz", x=x)
    found = predict(run_dir, [tmp_path / "raw.npz"])
    model = open_model(run_dir)
    scaled = ((x.astype(np.float32) * np.float32(1 / 255)) - np.float32(0.1307)) / np.float32(
        0.3081
    )
    np.testing.assert_array_equal(found.outputs, model.run(scaled.reshape(6, 28, 28)))
    reference, _ = model.trained.split("test")
    np.testing.assert_array_equal(found.outputs, model.run(reference[:6].reshape(6, 28, 28)))


def test_every_input_kind_gives_the_same_predictions(
    runs_root: Path, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    from PIL import Image

    run_dir = train(runs_root, "cnn.nn", "torch", None, "mnist_sample")
    x, y = digits
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(x):
        Image.fromarray(image).save(folder / f"digit{i}.png")
    write_idx(tmp_path / "digits-idx3-ubyte", x)
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    from_npz = predict(run_dir, [tmp_path / "digits.npz"])
    assert from_npz.labels is not None and list(from_npz.labels) == list(y)
    classes = from_npz.outputs.argmax(1)
    for inputs in (
        [folder],
        [tmp_path / "digits-idx3-ubyte"],
        [folder / f"digit{i}.png" for i in range(6)],
    ):
        found = predict(run_dir, inputs)
        np.testing.assert_array_equal(found.outputs, from_npz.outputs)
    # A bigger RGB picture is converted to grey and resized to 28x28 first.
    big = Image.fromarray(x[0]).resize((56, 56), Image.Resampling.NEAREST).convert("RGB")
    big.save(tmp_path / "big.jpg", quality=100)
    assert predict(run_dir, [tmp_path / "big.jpg"]).outputs.argmax(1)[0] == classes[0]
    # The CLI: a table, then the same rows in a file.
    out = tmp_path / "preds.csv"
    cli = CliRunner().invoke(
        main, ["predict", str(run_dir), str(folder), "--top", "2", "--out", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    assert cli.output == f"6 predictions written to {out}\n"
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "input",
        "class",
        "probability",
        "top1",
        "top1_probability",
        "top2",
        "top2_probability",
    ]
    assert [r["class"] for r in rows] == [str(c) for c in classes]
    assert [r["top1"] for r in rows] == [str(c) for c in classes]
    shown = CliRunner().invoke(main, ["predict", str(run_dir), str(tmp_path / "digits.npz")])
    assert shown.output.splitlines()[0].split() == ["input", "class", "probability", "label"]
    assert len(shown.output.splitlines()) == 7


def test_csv_columns_by_name_and_label_names(tmp_path: Path) -> None:
    """A CSV run with text labels: predictions name the classes; columns are found by name."""
    from specc.plan import RunOptions
    from specc.run import run

    rng = np.random.default_rng(0)
    lines = ["b,a,kind"]
    for _ in range(80):
        a, b = rng.normal(size=2)
        lines.append(f"{b:.4f},{a:.4f},{'big' if a + b > 0 else 'small'}")
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "t.nn").write_text(
        "model m {\n input 2\n dense 2 softmax\n}\n"
        'data csv "train.csv" target=kind features=[a, b] {\n batch 16\n test 0.25\n}\n'
        "train {\n loss sparse_categorical_crossentropy\n optimizer adam lr=0.05\n"
        " epochs 20\n metrics accuracy\n}\n"
    )
    done = run(tmp_path / "t.nn", RunOptions(out=str(tmp_path / "run"), quiet=True))
    (tmp_path / "new.csv").write_text("a,b,other\n3.0,2.0,x\n-3.0,-2.0,y\n")
    found = predict(done.run_dir, [tmp_path / "new.csv"])
    assert found.class_names == ["big", "small"]
    result = CliRunner().invoke(main, ["predict", str(done.run_dir), str(tmp_path / "new.csv")])
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines()[1:]] == ["big", "small"]
    # Without `features=`, the training file's column order is kept: found by name again.
    (tmp_path / "t2.nn").write_text((tmp_path / "t.nn").read_text().replace(" features=[a, b]", ""))
    other = run(tmp_path / "t2.nn", RunOptions(out=str(tmp_path / "run2"), quiet=True))
    (tmp_path / "same.csv").write_text("b,a\n2.0,3.0\n-2.0,-3.0\n")
    np.testing.assert_array_equal(
        predict(other.run_dir, [tmp_path / "new.csv"]).outputs,
        predict(other.run_dir, [tmp_path / "same.csv"]).outputs,
    )
    assert open_model(other.run_dir).wanted.features == ["b", "a"]
    missing = tmp_path / "missing.csv"
    missing.write_text("a,c\n1,2\n")
    bad = CliRunner().invoke(main, ["predict", str(done.run_dir), str(missing)])
    assert bad.exit_code == 1
    assert f"error: {missing}: no column `b`; the columns are: a, c" in bad.output


def test_onnx_prediction_imports_neither_torch_nor_tensorflow(
    runs_root: Path, tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    run_dir = train(runs_root, "cnn.nn", "torch", None, "mnist_sample")
    done = export(run_dir, "onnx", tmp_path / "onnx")
    x, _ = digits
    np.savez(tmp_path / "d.npz", x=x)
    expected = predict(run_dir, [tmp_path / "d.npz"]).outputs
    script = (
        "import json, sys\n"
        "from specc.cli import main\n"
        "try:\n"
        f"    main(['predict', {str(done.folder)!r}, {str(tmp_path / 'd.npz')!r}, '--proba',"
        f" '--out', {str(tmp_path / 'p.json')!r}])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code in (0, None), stop.code\n"
        "loaded = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]\n"
        "print(json.dumps({'loaded': loaded, 'onnxruntime': 'onnxruntime' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"loaded": [], "onnxruntime": True}
    rows = json.loads((tmp_path / "p.json").read_text())
    got = np.array([[row[f"p_{c}"] for c in range(10)] for row in rows])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_mistakes_are_messages(runs_root: Path, tmp_path: Path) -> None:
    run_dir = train(runs_root, "binary.nn", "torch", None, None)
    cli = CliRunner()
    (tmp_path / "p.png").write_bytes(b"not an image")
    cases = [
        (["predict", str(tmp_path / "nope")], 2, "no such run directory or exported model"),
        (["predict", str(tmp_path)], 2, "not a specc run directory (no run.json)"),
        (["predict", str(run_dir)], 2, "nothing to predict"),
        (["predict", str(run_dir), str(tmp_path / "x.npz")], 1, "x.npz: no such file or folder"),
        (
            ["predict", str(run_dir), str(tmp_path / "p.png")],
            1,
            "the model's input is 8, not an image",
        ),
        (["predict", str(run_dir), "--split", "test", "--top", "5"], 2, "--top 5: the model has 2"),
        (["predict", str(run_dir), "--split", "test", "--out", "p.txt"], 2, ".csv or .json"),
    ]
    for args, code, message in cases:
        result = cli.invoke(main, args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    done = export(run_dir, "onnx", tmp_path / "exported")
    split = cli.invoke(main, ["predict", str(done.folder), "--split", "test"])
    assert split.exit_code == 2
    assert "--split test needs the run directory" in split.output
    alone = tmp_path / "alone.onnx"
    alone.write_bytes(done.artifact.read_bytes())
    bare = cli.invoke(main, ["predict", str(alone), str(tmp_path / "p.png")])
    assert bare.exit_code == 2
    assert "no export.json beside it" in bare.output
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "export.json").write_bytes((done.folder / "export.json").read_bytes())
    (damaged / "model.onnx").write_bytes(done.artifact.read_bytes()[:200])
    broken = cli.invoke(main, ["predict", str(damaged), str(tmp_path / "p.png")])
    assert broken.exit_code == 1
    assert "model.onnx: cannot load the onnx model" in broken.output
    assert "Traceback" not in broken.output
    np.savez(tmp_path / "wide.npz", x=np.zeros((2, 9), np.float32))
    wide = cli.invoke(main, ["predict", str(done.folder), str(tmp_path / "wide.npz")])
    assert wide.exit_code == 1
    assert "the examples are 9 (9 values) but the model takes 8 (8 values)" in wide.output


def test_binary_and_regression_rows(runs_root: Path) -> None:
    from specc.predict.report import rows

    binary = predict(train(runs_root, "binary.nn", "torch", None, None), split="test")
    first = rows(binary, proba=True)[0]
    assert list(first) == ["input", "class", "probability", "p_0", "p_1", "label"]
    p1 = float(binary.outputs[0, 0])
    assert first["class"] == ("1" if p1 > 0.5 else "0")
    assert first["p_1"] == pytest.approx(p1) and first["p_0"] == pytest.approx(1 - p1)
    regression = predict(train(runs_root, "regression.nn", "torch", None, None), split="test")
    row = rows(regression)[0]
    assert list(row) == ["input", "value", "label"]
    assert row["value"] == pytest.approx(float(regression.outputs[0, 0]))
    assert set(regression.metrics) == {"test_mae"}
