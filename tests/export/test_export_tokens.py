"""`specc export` refuses a model that reads token ids (not supported yet), exit 1 with
a message and nothing written, for every format of both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.plan import RunOptions
from specc.run import run

SPEC = """model text {
    input 8 int
    embedding 20 4 pad=0
    global_avgpool
    dense 2
}
data synthetic_text samples=64 length=8 vocab=20 { batch 16 }
train { loss sparse_categorical_crossentropy; epochs 1 }
"""


@pytest.mark.parametrize(
    ("backend", "formats"), [("torch", ("onnx", "torch")), ("tensorflow", ("savedmodel", "keras"))]
)
def test_token_models_are_not_exported(
    backend: str, formats: tuple[str, ...], tmp_path: Path
) -> None:
    spec = tmp_path / "text.nn"
    spec.write_text(SPEC)
    result = run(spec, RunOptions(backend=backend, out=str(tmp_path / "run"), quiet=True))
    for fmt in formats:
        out = tmp_path / f"export-{fmt}"
        answer = CliRunner().invoke(
            main, ["export", str(result.run_dir), "--format", fmt, "--out", str(out)]
        )
        assert answer.exit_code == 1, answer.output
        assert "exporting a model that reads token ids (`input N int`) is not supported yet" in (
            answer.output
        )
        assert "Traceback" not in answer.output
        assert not out.exists()


def test_predict_checks_token_ids(tmp_path: Path) -> None:
    """`specc predict` on a token model: ids of the vocabulary predict, others are refused
    with the input and position (exit 1), not an index error from the framework."""
    import numpy as np

    spec = tmp_path / "text.nn"
    spec.write_text(SPEC)
    result = run(spec, RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True))
    good = np.array([[0, 0, 3, 4, 5, 6, 1, 7], [0, 8, 9, 2, 10, 11, 12, 13]])
    np.savez(tmp_path / "good.npz", x=good)
    answer = CliRunner().invoke(main, ["predict", str(result.run_dir), str(tmp_path / "good.npz")])
    assert answer.exit_code == 0, answer.output
    assert "good.npz#1" in answer.output
    for name, x, shown in (
        ("big.npz", np.where(good == 7, 20, good), "input #0 holds 20 at position 7"),
        ("half.npz", good + 0.5, "input #0 holds 0.5 at position 0"),
    ):
        np.savez(tmp_path / name, x=x)
        answer = CliRunner().invoke(main, ["predict", str(result.run_dir), str(tmp_path / name)])
        assert answer.exit_code == 1, answer.output
        assert f"{shown}, but the model reads token ids 0 to 19" in answer.output
