"""`specc run --backend torch` on a small ResNet (residual blocks, a strided conv shortcut)
over generated images whose class is a planted pattern: it learns them, its weights file
is keyed by the summary's layer names, a resumed run ends as the whole run does, `init
from` loads it by name into a model with a frozen block, and `specc export`/`predict`
work on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from specc.cli import main
from specc.predict import predict
from specc.run.record import load_arrays

RESNET = """model resnet_small {
    input 1x12x12
    conv2d 8 3 padding=same; batchnorm; relu
    residual RESIDUAL1{
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
    global_avgpool
    dense 3 softmax
}

data npz "images.npz" {
    batch 32 shuffle
    test 0.2
}

train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.01
    epochs 3
    metrics accuracy
}
"""


def planted(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise images with one bright pattern at a random place: a horizontal bar (class 0),
    a vertical bar (1) or a 2x2 square (2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.3, size=(n, 1, 12, 12)).astype(np.float32)
    y = rng.permutation(np.arange(n) % 3).astype(np.int64)
    for i, label in enumerate(y):
        r, c = rng.integers(0, 9, size=2)
        if label == 0:
            x[i, 0, r + 1, c : c + 4] += 1.5
        elif label == 1:
            x[i, 0, r : r + 4, c + 1] += 1.5
        else:
            x[i, 0, r : r + 2, c : c + 2] += 1.5
    return x, y


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("graph")
    x, y = planted(600)
    np.savez(root / "images.npz", x=x, y=y)
    (root / "resnet.nn").write_text(RESNET.replace("RESIDUAL1", ""))
    return root


@pytest.fixture(scope="module")
def whole(folder: Path) -> Path:
    out = folder / "whole"
    done = _cli("run", str(folder / "resnet.nn"), "--out", str(out), "-q")
    assert done.exit_code == 0, done.output
    return out


def _summary_names(path: Path) -> list[tuple[str, int]]:
    done = _cli("summary", "--json", str(path))
    assert done.exit_code == 0, done.output
    return [(r["name"], r["params"]) for r in json.loads(done.stdout)["models"][0]["layers"]]


def test_a_resnet_learns_the_planted_patterns(folder: Path, whole: Path) -> None:
    metrics = json.loads((whole / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.9  # chance is 1/3
    assert metrics["loss"] < 0.5
    weights, metadata = load_arrays(whole / "weights.safetensors")
    rows = _summary_names(folder / "resnet.nn")
    assert json.loads(metadata["layers"]) == [name for name, _ in rows]
    assert {key.split(".")[0] for key in weights} == {name for name, params in rows if params}
    assert "conv2d_6.weight" in weights and "batchnorm_6.running_var" in weights  # the shortcut
    assert sum(v.size for k, v in weights.items() if "running" not in k) == sum(
        params for _, params in rows
    )


def test_resuming_a_graph_run_ends_as_the_whole_run(folder: Path, whole: Path) -> None:
    out = folder / "resumed"
    first = _cli("run", str(folder / "resnet.nn"), "--epochs", "2", "--out", str(out), "-q")
    assert first.exit_code == 0, first.output
    resumed = _cli("run", "--resume", str(out), "--epochs", "3", "-q")
    assert resumed.exit_code == 0, resumed.output
    a, _ = load_arrays(whole / "weights.safetensors")
    b, _ = load_arrays(out / "weights.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_init_from_a_graph_run_into_a_frozen_block(folder: Path, whole: Path) -> None:
    text = RESNET.replace("RESIDUAL1", "frozen ").replace(
        "    input 1x12x12", f'    init from "{whole}"\n    input 1x12x12'
    )
    (folder / "tuned.nn").write_text(text.replace("epochs 3", "epochs 1"))
    out = folder / "tuned"
    done = _cli("run", str(folder / "tuned.nn"), "--out", str(out), "-q")
    assert done.exit_code == 0, done.output
    source, _ = load_arrays(whole / "weights.safetensors")
    tuned, _ = load_arrays(out / "weights.safetensors")
    frozen = [
        k
        for k in tuned
        if k.split(".")[0] in ("conv2d_2", "batchnorm_2", "conv2d_3", "batchnorm_3")
    ]
    assert len(frozen) == 12  # 2 convs x (weight, bias), 2 batchnorms x 4 arrays
    for key in frozen:
        np.testing.assert_array_equal(tuned[key], source[key], err_msg=key)
    assert not np.allclose(tuned["conv2d_1.weight"], source["conv2d_1.weight"])


def test_export_onnx_and_predict(folder: Path, whole: Path) -> None:
    done = _cli("export", str(whole), "--format", "onnx")
    assert done.exit_code == 0, done.output
    manifest = json.loads((whole / "export/onnx/export.json").read_text())
    assert all(check["ok"] for check in manifest["verification"]["checks"])
    assert manifest["input"]["shape"] == [None, 1, 12, 12]
    x, y = planted(30, seed=9)
    np.savez(folder / "new.npz", x=x, y=y)
    exported = predict(whole / "export/onnx", [folder / "new.npz"])
    run = predict(whole, [folder / "new.npz"])
    np.testing.assert_allclose(exported.outputs, run.outputs, atol=1e-5)
    np.testing.assert_allclose(run.outputs.sum(axis=1), 1.0, rtol=1e-5)  # probabilities
    assert (run.outputs.argmax(axis=1) == y).mean() >= 0.8
    shown = _cli("predict", str(whole / "export/onnx"), str(folder / "new.npz"))
    assert shown.exit_code == 0, shown.output
    assert "Traceback" not in shown.output


def test_export_torch_program(whole: Path) -> None:
    done = _cli("export", str(whole), "--format", "torch", "-o", str(whole.parent / "pt2"))
    assert done.exit_code == 0, done.output
    manifest = json.loads((whole.parent / "pt2/export.json").read_text())
    checks = manifest["verification"]["checks"]
    assert [c["batch"] for c in checks] == [1, 64] and all(c["ok"] for c in checks)
    assert all(c["max_abs_diff"] <= 1e-5 for c in checks)
