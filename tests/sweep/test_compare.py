"""`specc compare` on specs/mnist_deep.nn (on the bundled sample, limited): both models
trained under the same seed, the overlaid plots and the table printed and saved."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sweep_helpers import tiny_spec

from specc.cli import main

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
# 784->512->512->10 and 784->512->1024->512->128->10, weights and biases.
PARAMS = {
    "baseline": 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10,
    "deeper": 784 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 128 + 128 + 1290,
}


def test_compare_mnist_deep_writes_overlaid_plots_and_the_table(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    flags = ["--data", "mnist_sample", "--limit", "500", "--epochs", "2", "--out", str(out), "-q"]
    result = CliRunner().invoke(main, ["compare", str(ROOT / "specs/mnist_deep.nn"), *flags])
    assert result.exit_code == 0, result.output
    for name in ("baseline", "deeper"):  # the printed table has one row per model
        assert any(line.strip("│ ").startswith(name) for line in result.output.splitlines())

    saved = json.loads((out / "comparison.json").read_text())
    assert saved["settings"] == {
        "backend": "torch",
        "seed": 0,
        "epochs": 2,
        "data": "mnist_sample",
        "limit": 500,
    }
    rows = {row["model"]: row for row in saved["models"]}
    assert set(rows) == {"baseline", "deeper"}
    for name, row in rows.items():
        assert row["params"] == PARAMS[name]
        assert row["flops"] > row["params"]  # multiply-adds count twice
        assert row["epochs"] == 2 and row["best_epoch"] in (1, 2)
        assert 0 <= row["metrics"]["test_accuracy"] <= 1 and row["train_seconds"] > 0
        run_dir = Path(row["run_dir"])
        assert run_dir == out / name
        resolved = json.loads((run_dir / "run.json").read_text())["resolved"]
        assert (resolved["model"], resolved["seed"], resolved["epochs"]) == (name, 0, 2)
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        history = [json.loads(line) for line in lines]
        final = [r for r in history if "step" not in r][-1]
        assert final["loss"] == row["metrics"]["loss"]
    assert rows["deeper"]["flops"] > rows["baseline"]["flops"]

    table = (out / "comparison.md").read_text()
    assert (
        "| model | params | FLOPs | train s | accuracy | loss | test_accuracy | test_loss | best epoch |"
        in table
    )
    assert f"| baseline | {PARAMS['baseline']:,} | 1.34M |" in table
    assert f"| deeper | {PARAMS['deeper']:,} | 3.04M |" in table
    for name in ("loss.png", "metrics.png"):
        assert (out / name).read_bytes().startswith(PNG)


def test_compare_names_clashing_models_by_file_and_reports_mistakes(tmp_path: Path) -> None:
    one = tmp_path / "one.nn"
    one.write_text(tiny_spec(lr="0.1"))
    runner = CliRunner()
    alone = runner.invoke(main, ["compare", str(one), "--out", str(tmp_path / "x")])
    assert alone.exit_code == 2 and "compare needs at least two models; found 1" in alone.output
    unknown = runner.invoke(main, ["compare", str(one), "--models", "nope"])
    assert unknown.exit_code == 2 and "no model named `nope`" in unknown.output

    from specc.sweep.compare import entries

    two = tmp_path / "two.nn"
    two.write_text(tiny_spec(lr="0.1", units="8"))
    labels = [e.label for e in entries([str(one), str(two)], ())]
    assert labels == ["one.tiny", "two.tiny"]


def test_compare_refuses_a_search_space_in_any_file_before_training(tmp_path: Path) -> None:
    one, two = tmp_path / "one.nn", tmp_path / "two.nn"
    one.write_text(tiny_spec(lr="0.1"))
    two.write_text(tiny_spec(lr="uniform(0.05, 0.2)"))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(one), str(two), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{two}:11:22" in result.output and "error[E601]" in result.output
    assert not out.exists()  # the first model was not trained either

    from specc.sweep.compare import _differences, entries

    two.write_text(tiny_spec(lr="0.2"))
    notes = _differences(entries([str(one), str(two)], ()))
    assert notes == [
        f"{two} has a different `train` block than {one}; "
        "only --seed, --epochs, --data and --limit are made equal"
    ]
