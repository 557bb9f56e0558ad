"""`specc.run` end to end: real training, every example spec, transfer, records, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from specc.errors import DivergenceError, PlanError
from specc.plan import RunOptions
from specc.run import run
from specc.run.record import load_arrays
from tests.cifar_files import write_python

SPECS = Path(__file__).resolve().parents[2] / "specs"
MNIST_LIKE = ("data mnist", "data fashion_mnist")


def _quiet(tmp: Path, name: str = "run", **kw: object) -> RunOptions:
    return RunOptions(out=str(tmp / name), quiet=True, **kw)  # type: ignore[arg-type]


def test_quickstart_reaches_90_percent(tmp_path: Path) -> None:
    result = run(SPECS / "quickstart.nn", _quiet(tmp_path))
    assert result.epochs == 5 and result.device == "cpu"
    assert result.metrics["test_accuracy"] >= 0.90, result.metrics
    assert 0 < result.metrics["test_loss"] < 0.5
    files = {p.name for p in result.run_dir.iterdir()}
    assert {
        "spec.nn", "ir.json", "run.json", "env.json", "metrics.jsonl", "metrics.json",
        "weights.safetensors", "model.pt", "loss.png", "metrics.png", "checkpoints",
    } <= files  # fmt: skip
    assert (result.run_dir / "spec.nn").read_text() == (SPECS / "quickstart.nn").read_text()
    records = [
        json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    steps = [r for r in records if "step" in r]
    epochs = [r for r in records if "step" not in r]
    assert len(steps) == 5 * 63 and [r["epoch"] for r in epochs] == [1, 2, 3, 4, 5]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert all({"loss", "lr", "seconds"} <= set(r) for r in epochs)
    final = json.loads((result.run_dir / "metrics.json").read_text())
    assert final["test_accuracy"] == result.metrics["test_accuracy"]
    env = json.loads((result.run_dir / "env.json").read_text())
    assert env["backend"] == "torch" and env["device"] == "cpu" and env["torch"]


def _short_options(path: Path, tmp: Path, **kw: object) -> RunOptions:
    text = path.read_text()
    data = "mnist_sample" if any(m in text for m in MNIST_LIKE) else None
    if "data cifar10" in text:  # a small CIFAR-10 in its upstream format, not the download
        write_python(tmp / "cifar-10-batches-py", per_batch=20, learnable=True)
        data = str(tmp / "cifar-10-batches-py")
    return _quiet(tmp, path.stem, epochs=1, limit=400, data=data, **kw)


RUNNABLE = sorted(p for p in SPECS.glob("*.nn") if p.name not in ("search.nn", "finetune.nn"))


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_every_spec_runs_one_short_epoch(path: Path, tmp_path: Path) -> None:
    result = run(path, _short_options(path, tmp_path))
    assert result.epochs == 1
    assert np.isfinite(result.history[0]["loss"])
    assert any(k.startswith("test_") for k in result.metrics)
    _, meta = load_arrays(result.run_dir / "weights.safetensors")
    assert json.loads(meta["layers"]) == [i.name for i in result.plan.shapes.layers]  # type: ignore[union-attr]


def test_second_model_by_name(tmp_path: Path) -> None:
    path = SPECS / "mnist_deep.nn"
    result = run(path, _short_options(path, tmp_path, model="deeper"))
    assert "dense_5.weight" in load_arrays(result.run_dir / "weights.safetensors")[0]


def test_search_spaces_are_refused_with_e601() -> None:
    with pytest.raises(PlanError) as info:
        run(SPECS / "search.nn", RunOptions(quiet=True))
    assert {d.code for d in info.value.diagnostics} == {"E601"}
    assert "specc sweep" in (info.value.hint or "")


def test_finetune_from_a_previous_run(tmp_path: Path) -> None:
    source = run(SPECS / "quickstart.nn", _quiet(tmp_path, "source", epochs=1, limit=300))
    text = (SPECS / "finetune.nn").read_text().replace('"runs/quickstart"', f'"{source.run_dir}"')
    spec = tmp_path / "finetune.nn"
    spec.write_text(text)
    result = run(spec, _quiet(tmp_path, "tuned", epochs=1, limit=300))
    before = load_arrays(source.run_dir / "weights.safetensors")[0]
    after = load_arrays(result.run_dir / "weights.safetensors")[0]
    # dense_1 matched by name and is frozen: unchanged. `head` has no namesake in the source
    # and `strict=false`: it keeps its fresh xavier-normal init (std sqrt(2/(512+10)) = 0.062).
    np.testing.assert_array_equal(after["dense_1.weight"], before["dense_1.weight"])
    assert after["head.weight"].shape == before["dense_2.weight"].shape
    assert np.abs(after["head.weight"] - before["dense_2.weight"]).mean() > 0.02
    assert 0.05 < float(after["head.weight"].std()) < 0.075


def test_init_from_matches_by_position_only_when_no_name_is_shared(tmp_path: Path) -> None:
    source = run(SPECS / "quickstart.nn", _quiet(tmp_path, "source", epochs=1, limit=300))
    text = (SPECS / "quickstart.nn").read_text()
    text = text.replace("dense 512 relu", "dense 512 relu name=hidden frozen")
    text = text.replace(
        "dense 10 softmax", f'dense 10 softmax name=out\n    init from "{source.run_dir}"'
    )
    text = text.replace("flatten", "flatten name=flat")
    spec = tmp_path / "renamed.nn"
    spec.write_text(text)
    result = run(spec, _quiet(tmp_path, "renamed", epochs=1, limit=300))
    before = load_arrays(source.run_dir / "weights.safetensors")[0]
    after = load_arrays(result.run_dir / "weights.safetensors")[0]
    np.testing.assert_array_equal(after["hidden.weight"], before["dense_1.weight"])
    # `out` started from dense_2 (by position) and moved a little in 3 steps.
    assert np.abs(after["out.weight"] - before["dense_2.weight"]).max() < 0.05
    assert not np.array_equal(after["out.weight"], before["dense_2.weight"])


def test_init_from_shape_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    from specc.errors import WeightsError

    source = run(SPECS / "quickstart.nn", _quiet(tmp_path, "source", epochs=1, limit=200))
    text = (SPECS / "finetune.nn").read_text().replace('"runs/quickstart"', f'"{source.run_dir}"')
    spec = tmp_path / "finetune.nn"
    spec.write_text(text.replace("dense 512 relu frozen", "dense 256 relu frozen"))
    with pytest.raises(WeightsError, match=r"dense_1.*\(256, 784\).*\(512, 784\)"):
        run(spec, _quiet(tmp_path, "tuned", epochs=1, limit=200))


SMALL = """model small {
    input 28x28
    flatten
    dense 32 relu
    dropout 0.2
    dense 10 softmax
}
data mnist_sample { scale 1/255; batch 64 shuffle; validation 0.2 }
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=3e-3
    epochs 3
    metrics accuracy
    schedule cosine
    checkpoint best monitor=val_accuracy
    early_stopping monitor=val_loss patience=10
}
"""


def test_same_seed_same_losses_and_other_seed_differs(tmp_path: Path) -> None:
    a = run(SMALL, _quiet(tmp_path, "a", epochs=2, limit=500))
    b = run(SMALL, _quiet(tmp_path, "b", epochs=2, limit=500))
    c = run(SMALL, _quiet(tmp_path, "c", epochs=2, limit=500, seed=1))
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert a.metrics == b.metrics
    assert [r["loss"] for r in a.history] != [r["loss"] for r in c.history]
    assert (a.run_dir / "best.safetensors").exists()
    assert {"val_loss", "val_accuracy"} <= set(a.history[0])


def test_bf16_autocast_on_cpu_trains(tmp_path: Path) -> None:
    fp32 = run(SMALL, _quiet(tmp_path, "fp32", epochs=1, limit=400))
    bf16 = run(SMALL, _quiet(tmp_path, "bf16", epochs=1, limit=400, precision="bf16"))
    assert bf16.history[0]["loss"] != fp32.history[0]["loss"]  # it really ran in bf16
    assert bf16.history[0]["loss"] == pytest.approx(fp32.history[0]["loss"], rel=0.05)


def test_early_stopping_restores_best(tmp_path: Path) -> None:
    text = SMALL.replace("patience=10", "patience=1 min_delta=10")  # nothing is good enough
    result = run(text, _quiet(tmp_path, epochs=5, limit=300))
    assert result.stopped_early and result.epochs == 2
    best = load_arrays(result.run_dir / "checkpoints/restore_best.safetensors")[0]
    final = load_arrays(result.run_dir / "weights.safetensors")[0]
    np.testing.assert_array_equal(best["dense_1.weight"], final["dense_1.weight"])


def test_augmented_training_runs_and_flip_is_exact() -> None:
    import torch

    from specc.executors.torch.augment import augment_batch
    from specc.ir.data import Augment

    x = torch.arange(2 * 1 * 4 * 6, dtype=torch.float32).reshape(2, 1, 4, 6)
    out = augment_batch(x, Augment(flip=True), torch.Generator().manual_seed(3))
    for i in range(2):
        kept, flipped = out[i], x[i].flip(-1)  # grid_sample is exact up to float rounding
        assert torch.allclose(kept, x[i], atol=1e-5) or torch.allclose(kept, flipped, atol=1e-5)
    shifted = augment_batch(x, Augment(shift=0.2, rotation=10), torch.Generator().manual_seed(3))
    again = augment_batch(x, Augment(shift=0.2, rotation=10), torch.Generator().manual_seed(3))
    assert torch.equal(shifted, again) and not torch.equal(shifted, x)


def test_divergence_stops_naming_the_step(tmp_path: Path) -> None:
    text = (SPECS / "regression.nn").read_text().replace("lr=1e-2 momentum=0.9", "lr=1e6")
    with pytest.raises(DivergenceError) as info:
        run(text, _quiet(tmp_path, epochs=2))
    assert "step" in info.value.message and "NaN or infinite" in info.value.message
    assert "lower the learning rate" in (info.value.hint or "")
    status = json.loads((tmp_path / "run" / "run.json").read_text())["status"]
    assert status == "failed"


def test_terminal_progress_bar_gets_step_updates(tmp_path: Path, monkeypatch) -> None:
    import io

    from specc.run import api, progress

    stream = io.StringIO()
    seen: list[tuple[int, float]] = []
    real = progress.Progress.step_callback

    def spy(self: progress.Progress) -> object:
        update = real(self)

        def record(done: int, loss: float, rate: float) -> None:
            seen.append((done, loss))
            update(done, loss, rate)

        return record

    monkeypatch.setattr(api, "choose_mode", lambda quiet, json_output: "bar")
    monkeypatch.setattr(progress.Progress, "step_callback", spy)
    monkeypatch.setattr(
        api, "Progress", lambda mode, epochs: progress.Progress(mode, epochs, stream)
    )
    result = run(SPECS / "quickstart.nn", RunOptions(out=str(tmp_path / "r"), epochs=1, limit=1280))
    assert [d for d, _ in seen] == [10]  # 1280 examples / 128 = 10 steps, an update every 10
    steps = [json.loads(x) for x in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert seen[0][1] == pytest.approx(steps[9]["loss"])  # the bar shows the real step loss
    assert "epoch 1/1" in stream.getvalue() and "device cpu" in stream.getvalue()


def test_targets_that_do_not_fit_the_outputs_are_a_clear_error(tmp_path: Path) -> None:
    from specc.errors import RunError

    text = (SPECS / "regression.nn").read_text().replace("dense 1\n", "dense 3\n")
    with pytest.raises(RunError, match=r"targets have 1 value\(s\) per example but model"):
        run(text, _quiet(tmp_path, epochs=1))
    assert not (tmp_path / "run").exists()
