"""What a newcomer reads first: the top-level help, the run flags, folders given to
commands that read one spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args), terminal_width=100)


def test_top_level_help_shows_whole_first_sentences() -> None:
    text = _invoke("--help").output  # type: ignore[attr-defined]
    assert "Explain a diagnostic code (e.g. E402); without CODE, list them all." in text
    assert "Check specs for errors and classic mistakes, without running anything." in text
    assert (
        "Per-layer output shapes, parameters, FLOPs and activation memory of every model." in text
    )
    commands = text.split("Commands:")[1]
    assert "..." not in commands.replace("`lr=loguniform(1e-4, 1e-2)`, ...", "")


def test_run_help_names_every_device_data_kind_and_precision() -> None:
    text = " ".join(_invoke("run", "--help").output.split())  # type: ignore[attr-defined]
    assert "auto, cpu, gpu, cuda, cuda:N, gpu:N or mps" in text
    assert "a name (mnist, fashion_mnist, mnist_sample, cifar10)" in text
    assert "a folder of MNIST-format files or CIFAR-10 batches" in text
    assert "a .csv, .npz or CIFAR-10 .tar.gz file" in text
    assert "--precision [fp32|bf16|fp16] Number format of training" in text
    assert "fp16 (mixed, CUDA only)" in text


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("summary", "specs"), "summary"),
        (("ir", "specs"), "ir"),
        (("emit", "specs", "--target", "keras"), "emit"),
    ],
)
def test_a_folder_is_a_usage_error_for_one_spec_commands(
    args: tuple[str, ...], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = _invoke(*args)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert (
        f"specs is a folder; `specc {command}` reads one spec file: one of binary.nn, char_lm.nn, cifar_cnn.nn"
        in result.output  # type: ignore[attr-defined]
    )
    assert result.stdout.count("{") == 0  # type: ignore[attr-defined]  # no JSON, no script
