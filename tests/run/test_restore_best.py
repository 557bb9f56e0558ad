"""Early stopping with `restore_best=true`: metrics.json describes the weights kept (the
restored epoch's), says which epoch that is, and the run says the weights were restored."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from specc.cli import main
from specc.run.record import load_arrays

# val_loss is best at epoch 2 and worse at 3 and 4: stopped after 4, epoch 2 restored.
SPEC = """
model m {
    input 8
    dense 32 relu
    dense 3 softmax
}
data synthetic classification samples=300 features=8 classes=3 noise=1.0 {
    batch 16 shuffle
    validation 0.3
    test 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.05
    epochs 12
    metrics accuracy
    early_stopping monitor=val_loss patience=2 restore_best=true
}
"""


def test_metrics_json_reports_the_restored_epoch(tmp_path: Path) -> None:
    spec = tmp_path / "es.nn"
    spec.write_text(SPEC)
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    history = [
        json.loads(line)
        for line in (out / "metrics.jsonl").read_text().splitlines()
        if '"step"' not in line
    ]
    final = json.loads((out / "metrics.json").read_text())
    best = min(history, key=lambda r: r["val_loss"])
    assert final["stopped_early"] is True and final["epochs"] == len(history) > best["epoch"]
    assert final["best_epoch"] == final["restored_epoch"] == best["epoch"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert final[key] == best[key], key  # not the last epoch's
    assert final["val_loss"] != history[-1]["val_loss"]
    restored = f"restore_best: the final weights are epoch {best['epoch']}'s"
    assert restored in result.stderr and f"not epoch {len(history)}'s" in result.stderr
    weights, _ = load_arrays(out / "weights.safetensors")
    kept, _ = load_arrays(out / "checkpoints" / "restore_best.safetensors")
    assert all((weights[k] == kept[k]).all() for k in kept)
