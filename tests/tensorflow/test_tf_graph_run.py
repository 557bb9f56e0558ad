"""`specc run --backend tensorflow` trains a small ResNet-like graph model on generated
images, saves its weights under the summary's names, and writes model.keras and exports
that load with stock Keras layers and predict what `specc predict` does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.run.record import load_arrays
from specc.summary import summarize

SPEC = """model resnet_small {
    input 3x8x8
    conv2d 8 3 padding=same; batchnorm; relu
    residual {
        conv2d 8 3 padding=same; batchnorm; relu
        conv2d 8 3 padding=same; batchnorm
    }
    relu
    residual {
        conv2d 16 3 stride=2 padding=1; batchnorm; relu
        conv2d 16 3 padding=same; batchnorm
        shortcut { conv2d 16 1 stride=2; batchnorm }
    }
    relu
    parallel concat {
        branch { conv2d 4 1 relu }
        branch { maxpool2d 3 stride=1; conv2d 4 1 padding=1 relu }
    }
    global_avgpool
    dense 4 softmax
}

data npz "images.npz" {
    batch 32 shuffle
    validation 0.2
}

train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 4
    metrics accuracy
    seed 0
}
"""


def _images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four classes of 3x8x8 images: horizontal stripes, vertical stripes, a checkerboard,
    a centred square; each shifted by a random pixel (so stripes flip phase: no single
    template separates them), scaled per channel and buried in noise."""
    r = np.arange(8)
    patterns = np.stack(
        [
            np.tile((r % 2)[:, None], (1, 8)),
            np.tile((r % 2)[None, :], (8, 1)),
            (r[:, None] + r[None, :]) % 2,
            (abs(r - 3.5)[:, None] < 2) & (abs(r - 3.5)[None, :] < 2),
        ]
    ).astype(np.float32)
    y = rng.integers(0, 4, n)
    shifts = rng.integers(0, 2, (n, 2))
    x = np.stack(
        [np.roll(patterns[c], tuple(s), axis=(0, 1)) for c, s in zip(y, shifts, strict=True)]
    )
    x = x[:, None] * rng.uniform(0.5, 1.5, (n, 3, 1, 1)) + rng.normal(0, 0.6, (n, 3, 8, 8))
    return x.astype(np.float32), y.astype(np.int64)


def test_a_resnet_like_spec_trains_and_saves_under_the_summarys_names(tmp_path: Path) -> None:
    import keras

    from specc.export import export
    from specc.predict import open_model

    rng = np.random.default_rng(0)
    x, y = _images(480, rng)
    x_test, y_test = _images(200, rng)
    np.savez(tmp_path / "images.npz", x=x, y=y, x_test=x_test, y_test=y_test)
    spec = tmp_path / "resnet.nn"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", str(spec), "--backend", "tensorflow", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    # Chance is 0.25 on four balanced classes.
    assert metrics["test_accuracy"] >= 0.8, metrics
    assert metrics["val_accuracy"] >= 0.8, metrics

    # The weights file: `<layer>.<array>` for exactly the summary's layers with arrays.
    shapes = analyze(SPEC, str(spec)).shapes["resnet_small"]
    rows = summarize(shapes).layers
    arrays, _ = load_arrays(out / "weights.safetensors")
    assert {key.split(".")[0] for key in arrays} == {row.name for row in rows if row.params}
    wanted = {
        f"{info.name}.{w.name}": w.shape
        for info in shapes.layers
        for w in info.layer.weights(info.input)
    }
    assert {key: value.shape for key, value in arrays.items()} == wanted
    assert len(wanted) == 8 * 2 + 6 * 4 + 2  # 8 convs, 6 batchnorms, 1 dense

    # model.keras: stock layers only, wired as the graph, predicting what `specc predict` does.
    model = keras.saving.load_model(out / "model.keras", compile=False)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "SpecBatchNorm" not in kinds and kinds.count("BatchNormalization") == 6
    assert kinds.count("Add") == 2 and kinds.count("Concatenate") == 1
    expected = open_model(out).run(x_test[:16])
    np.testing.assert_allclose(np.asarray(model(x_test[:16])), expected, atol=1e-5)
    for fmt in ("keras", "savedmodel"):
        done = export(out, fmt)
        assert done.artifact.exists() and done.checks  # export raises on a mismatch
        manifest = json.loads((done.folder / "export.json").read_text())
        assert manifest["format"] == fmt


def test_a_resumed_graph_run_ends_as_the_uninterrupted_one(tmp_path: Path) -> None:
    """Weights, optimizer state (the Adam step comes back from the checkpoint file with
    shape (1,)), batchnorm statistics and the epoch seeds all carry over: bit for bit."""
    rng = np.random.default_rng(1)
    x, y = _images(96, rng)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    spec = tmp_path / "resnet.nn"
    spec.write_text(SPEC.replace("epochs 4", "epochs 2"))

    def cli(*args: str) -> None:
        result = CliRunner().invoke(main, ["run", *args, "--quiet"])
        assert result.exit_code == 0, result.output

    cli(str(spec), "--backend", "tensorflow", "--out", str(tmp_path / "whole"))
    cli(str(spec), "--backend", "tensorflow", "--out", str(tmp_path / "part"), "--epochs", "1")
    cli("--resume", str(tmp_path / "part"), "--epochs", "2")
    whole, _ = load_arrays(tmp_path / "whole" / "weights.safetensors")
    resumed, _ = load_arrays(tmp_path / "part" / "weights.safetensors")
    assert sorted(resumed) == sorted(whole)
    for key, value in whole.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)
