"""`compile on`: the run says it is compiling, and the compile time is reported apart from
the training time (epoch line, final line, metrics.json, --json).

torch.compile takes ~40 s on this CPU, so it is replaced here by a stand-in that behaves
like it where it matters: the first call with each new batch shape is slow (it "compiles"),
later calls run the module unchanged. The real compiler runs in benchmarks, not here."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from specc.cli import main

QUICK = str(Path(__file__).resolve().parents[2] / "specs" / "quickstart.nn")
PAUSE = 0.3  # the stand-in's "compile" per new batch shape


class _SlowFirstCall(torch.nn.Module):
    def __init__(self, body: torch.nn.Module, shapes: list[tuple[int, ...]]) -> None:
        super().__init__()
        self.body, self.shapes = body, shapes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape) not in self.shapes:
            self.shapes.append(tuple(x.shape))
            time.sleep(PAUSE)
        return self.body(x)


def test_compile_is_announced_and_timed_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[list[tuple[int, ...]]] = []  # the shapes each compiled module saw

    def fake_compile(body: torch.nn.Module, **_: Any) -> torch.nn.Module:
        compiled.append([])
        return _SlowFirstCall(body, compiled[-1])

    monkeypatch.setattr(torch, "compile", fake_compile)
    out = tmp_path / "r"
    args = ["run", QUICK, "--compile", "on", "--limit", "200", "--epochs", "2", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert compiled == [[(128, 28, 28), (72, 28, 28)]]  # batches of 128, then the last of 72
    lines = result.stderr.splitlines()
    announce = lines.index(
        "compiling the train step with torch.compile during epoch 1; this can take a minute, "
        "on a CPU most of all (`compile off` skips it)"
    )
    assert lines[announce + 1].startswith("epoch 1/2")  # said before the epoch that compiles
    assert any(
        line.startswith("compiled in ") and line.endswith("s (kept apart from the training time)")
        for line in lines
    )
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["compile_seconds"] >= 2 * PAUSE
    assert saved["train_seconds"] < saved["compile_seconds"]  # the pauses are not training
    assert f"s training, {saved['compile_seconds']:.1f}s compiling)" in result.stdout

    again = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "j"), "--json"])
    assert json.loads(again.stdout)["compile_seconds"] >= 2 * PAUSE


def test_without_compiling_nothing_is_announced(tmp_path: Path) -> None:
    args = ["run", QUICK, "--limit", "200", "--epochs", "1", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "compiling the train step" not in result.output and "compiled in" not in result.output
    assert "s compiling)" not in result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["compile_seconds"] == 0.0
