"""`specc run` of models with several named outputs (docs/semantics.md#outputs), on torch
and TensorFlow: the example on synthetic data, targets from an .npz, Keras's metric
names and the weighted total (export and predict: tests/export/test_export_several_outputs.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.data.dataset import Outputs
from specc.data.outputs import OutputTarget, synthetic_targets
from specc.ir.data import Synthetic
from specc.plan import RunOptions
from specc.run import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "two_outputs.nn"
KEYS = ("loss", "kind_loss", "big_loss", "kind_accuracy", "big_accuracy")


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_the_example_learns_both_outputs(backend: str, tmp_path: Path) -> None:
    result = run(EXAMPLE, RunOptions(backend=backend, out=str(tmp_path / "r"), quiet=True))
    metrics = result.metrics
    # chance: 1/6 for the 6 clusters, 1/2 for big; measured 0.837 and 0.887 on both
    assert metrics["test_kind_accuracy"] > 0.78, metrics
    assert metrics["test_big_accuracy"] > 0.83, metrics
    for split in ("", "val_", "test_"):
        assert all(f"{split}{key}" in metrics for key in KEYS), sorted(metrics)
        # the total is Keras's: each output's loss times its weight (big: 0.5)
        total = metrics[f"{split}kind_loss"] + 0.5 * metrics[f"{split}big_loss"]
        assert math.isclose(metrics[f"{split}loss"], total, rel_tol=1e-5), split
    run_dir = tmp_path / "r"
    epochs = [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if "step" not in json.loads(line)
    ]
    assert len(epochs) == 15
    assert all(key in epochs[0] for key in (*KEYS, "val_kind_loss", "val_big_accuracy"))
    assert epochs[-1]["val_kind_loss"] < epochs[0]["val_kind_loss"]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["test_big_loss"] == metrics["test_big_loss"]
    # `checkpoint best monitor=val_kind_accuracy` watched the output's own metric
    assert (run_dir / "best.safetensors").is_file()
    best = max(epochs, key=lambda r: r["val_kind_accuracy"])["epoch"]
    assert saved["best_epoch"] == best


def test_synthetic_targets_come_from_one_latent_class() -> None:
    node = Synthetic(samples=600, features=4, classes=6, noise=0.1)
    wanted = [
        OutputTarget("kind", "class", 6),
        OutputTarget("big", "binary", 1),
        OutputTarget("level", "real", 1),
        OutputTarget("hot", "onehot", 6),
    ]
    x, targets = synthetic_targets(node, wanted)
    label = targets["kind"]
    assert x.shape == (600, 4) and label.dtype == np.int64 and set(label) == set(range(6))
    np.testing.assert_array_equal(targets["big"], (label >= 3).astype(np.int64))
    np.testing.assert_allclose(targets["level"][:, 0], label / 5)
    np.testing.assert_array_equal(targets["hot"].argmax(axis=1), label)


NPZ_SPEC = """model heads {
    input 4
    dense 32 relu
    output cls { dense 3 softmax }
    output reg { dense 8 relu; dense 1 }
}
data npz "DATA" { batch 32 shuffle; validation 0.1 }
train {
    output cls { loss sparse_categorical_crossentropy; metrics accuracy }
    output reg { loss mse; weight 2.0; metrics mae }
    optimizer adam lr=0.01
    epochs 12
}
"""


def _planted(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return {"x": x, "y_cls": x[:, :3].argmax(axis=1), "y_reg": 2 * x[:, 3:4]}


@pytest.fixture(scope="module")
def heads_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    train, test = _planted(rng, 1000), _planted(rng, 300)
    path = tmp_path_factory.mktemp("heads") / "heads.npz"
    np.savez(path, **train, **{f"{k}_test": v for k, v in test.items()})
    return path


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_npz_targets_per_output(heads_npz: Path, tmp_path: Path, backend: str) -> None:
    spec = tmp_path / "heads.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(heads_npz)))
    result = run(spec, RunOptions(backend=backend, out=str(tmp_path / "r"), quiet=True))
    metrics = result.metrics
    assert metrics["test_cls_accuracy"] > 0.85, metrics  # chance 1/3
    assert metrics["test_reg_mae"] < 0.3, metrics  # |2 x| averages 1.6
    total = metrics["test_cls_loss"] + 2.0 * metrics["test_reg_loss"]
    assert math.isclose(metrics["test_loss"], total, rel_tol=1e-5)


def test_the_npz_loader_gives_outputs_and_its_test_split(heads_npz: Path) -> None:
    from specc.data import load
    from specc.ir.data import NPZ

    wanted = [OutputTarget("cls", "class", 3), OutputTarget("reg", "real", 1)]
    data = load(NPZ(path=str(heads_npz)), output_targets=wanted)
    assert isinstance(data.y_train, Outputs) and isinstance(data.y_test, Outputs)
    assert len(data.y_train) == 1000 and len(data.y_test) == 300
    assert data.y_test.arrays["cls"].dtype == np.int64
    assert data.y_test.arrays["reg"].dtype == np.float32
    assert data.y_test.arrays["reg"].shape == (300, 1)
    assert data.classes == 3


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_a_missing_target_array_names_the_output(heads_npz: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(heads_npz))
    del arrays["y_reg"], arrays["y_reg_test"]
    np.savez(tmp_path / "no_reg.npz", **arrays)
    spec = tmp_path / "heads.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(tmp_path / "no_reg.npz")))
    done = _cli("run", str(spec), "-q", "--out", str(tmp_path / "r"))
    assert done.exit_code == 1, done.output  # type: ignore[attr-defined]
    assert "Traceback" not in done.output  # type: ignore[attr-defined]
    assert "no array `y_reg` for the targets of output `reg`" in done.stderr  # type: ignore[attr-defined]


def test_a_label_past_its_output_is_located(heads_npz: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(heads_npz))
    arrays["y_cls"] = arrays["y_cls"].copy()
    arrays["y_cls"][7] = 5
    np.savez(tmp_path / "big_label.npz", **arrays)
    spec = tmp_path / "heads.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(tmp_path / "big_label.npz")))
    done = _cli("run", str(spec), "-q", "--out", str(tmp_path / "r"))
    assert done.exit_code == 1
    assert "`y_cls` row 7: class 5, but the model has 3 outputs" in done.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_every_emit_target_writes_several_outputs(target: str) -> None:
    """No target refuses them any more (tests/emit/test_several_outputs_scripts.py runs them)."""
    done = _cli("emit", str(EXAMPLE), "--target", target)
    assert done.exit_code == 0, done.stderr  # type: ignore[attr-defined]
    assert "E600" not in done.stderr  # type: ignore[attr-defined]


def test_the_loss_plot_draws_each_outputs_loss() -> None:
    from specc.run.plots import loss_figure

    records = [
        {
            "epoch": e,
            "loss": 2.0 / e,
            "kind_loss": 1.5 / e,
            "big_loss": 1.0 / e,
            "val_loss": 2.1 / e,
        }
        | {"val_kind_loss": 1.6 / e, "val_big_loss": 1.1 / e}
        for e in (1, 2, 3)
    ]
    fig = loss_figure(records, "two")
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == [
        "train loss (epoch mean)",
        "validation loss",
        "train big_loss",
        "validation big_loss",
        "train kind_loss",
        "validation kind_loss",
    ]
    assert list(fig.axes[0].lines[4].get_ydata()) == [1.5, 0.75, 0.5]


def test_resume_extends_a_run_with_several_outputs_to_what_a_longer_run_gives(
    tmp_path: Path,
) -> None:
    short, long = tmp_path / "short", tmp_path / "long"
    small = ["--limit", "600", "--epochs"]
    assert _cli("run", str(EXAMPLE), "-q", *small, "1", "--out", str(short)).exit_code == 0  # type: ignore[attr-defined]
    extended = _cli("run", "--resume", str(short), "--epochs", "3")
    assert extended.exit_code == 0, extended.output  # type: ignore[attr-defined]
    assert _cli("run", str(EXAMPLE), "-q", *small, "3", "--out", str(long)).exit_code == 0  # type: ignore[attr-defined]
    one = json.loads((short / "metrics.json").read_text())
    two = json.loads((long / "metrics.json").read_text())
    for key in ("test_loss", "test_kind_loss", "test_big_accuracy", "val_kind_accuracy"):
        assert one[key] == two[key], key


TWO_BY_THREE = """model tt {
    input image 1x8x8
    input meta 3
    branch img from=image { conv2d 4 3 padding=same relu }
    output map from=img { conv2d 1 1 }
    output cls from=img { flatten; dense 2 softmax }
    output reg from=meta { dense 8 relu; dense 1 }
}
data npz "DATA" { batch 32 shuffle; validation 0.2 }
train {
    output map { loss mse; metrics mae }
    output cls { loss sparse_categorical_crossentropy; metrics accuracy }
    output reg { loss mse; weight 0.5; metrics mae }
    optimizer adam lr=0.01
    epochs 3
}
"""


def test_parity_with_named_inputs_and_an_image_output(tmp_path: Path) -> None:
    """Two named inputs, three outputs, one of them an image (TensorFlow computes it
    channels-last and gives it back channels-first): both backends take the same steps."""
    from specc.analysis import analyze
    from specc.parity import parity

    rng = np.random.default_rng(0)
    image = rng.normal(size=(300, 1, 8, 8)).astype(np.float32)
    meta = rng.normal(size=(300, 3)).astype(np.float32)
    arrays = {
        "image": image,
        "meta": meta,
        "y_cls": (image[:, 0, :4, :4].mean(axis=(1, 2)) > 0).astype(np.int64),
        "y_map": image * 0.5,
        "y_reg": 2 * meta[:, :1],
    }
    np.savez(tmp_path / "tt.npz", **arrays)
    text = TWO_BY_THREE.replace("DATA", str(tmp_path / "tt.npz"))
    result = parity(analyze(text, str(tmp_path / "tt.nn")), steps=10)
    assert result.steps == 10 and result.passed, result.to_json()
    assert result.runs[0].losses[-1] < result.runs[0].losses[0]
