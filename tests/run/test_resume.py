"""`specc run --resume`: Ctrl-C says the real path and marks the run `interrupted`; a run
stopped before its first epoch can be resumed (from the beginning); `--epochs` extends a
run to what a longer run gives; the flags that cannot change are refused with the reason;
a damaged run directory is named and explained, never a traceback; leftovers of a killed
atomic write are removed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.run.record import load_arrays, save_arrays

QUICK = str(Path(__file__).resolve().parents[2] / "specs" / "quickstart.nn")
SMALL = ["--limit", "400", "--batch-size", "100"]


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, ["run", *args])


def _interrupted_run(out: Path, at_epoch: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPECC_TEST_INTERRUPT_AT_EPOCH": str(at_epoch), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "specc", "run", QUICK, *SMALL, "--epochs", "2"]
    return subprocess.run(
        [*command, "--out", str(out)], env=env, capture_output=True, text=True, timeout=300
    )


def _same_weights(one: Path, two: Path) -> None:
    a, b = load_arrays(one / "weights.safetensors")[0], load_arrays(two / "weights.safetensors")[0]
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 2-epoch run, the reference every resumed run must end as."""
    out = tmp_path_factory.mktemp("whole") / "r"
    assert _cli(QUICK, *SMALL, "--epochs", "2", "--out", str(out), "-q").exit_code == 0  # type: ignore[attr-defined]
    return out


def test_ctrl_c_names_the_run_and_resume_continues_it(tmp_path: Path, whole: Path) -> None:
    out = tmp_path / "r"
    done = _interrupted_run(out, at_epoch=1)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert "error: interrupted after epoch 1" in done.stderr
    assert f"hint: continue it: specc run --resume {out} (from epoch 1's checkpoint)" in done.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    resumed = _cli("--resume", str(out))
    assert resumed.exit_code == 0, resumed.output  # type: ignore[attr-defined]
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    _same_weights(out, whole)


def test_a_run_interrupted_before_its_first_epoch_resumes_from_the_beginning(
    tmp_path: Path, whole: Path
) -> None:
    out = tmp_path / "r"
    done = _interrupted_run(out, at_epoch=0)
    assert done.returncode == 130, done.stderr
    assert "interrupted before the first epoch ended (no checkpoint yet)" in done.stderr
    assert f"specc run --resume {out} (it trains from the beginning" in done.stderr
    again = _cli(QUICK, "--out", str(out))  # starting it again is refused ...
    assert again.exit_code == 2 and f"continue it with --resume {out}" in again.stderr  # type: ignore[attr-defined]
    resumed = _cli("--resume", str(out))  # ... and resuming it is the way out
    assert resumed.exit_code == 0, resumed.output  # type: ignore[attr-defined]
    assert "no epoch of this run had finished: training it from the beginning" in resumed.stderr  # type: ignore[attr-defined]
    _same_weights(out, whole)


def test_epochs_extends_a_finished_run_to_what_a_longer_run_gives(tmp_path: Path) -> None:
    short, long = tmp_path / "short", tmp_path / "long"
    assert _cli(QUICK, *SMALL, "--epochs", "1", "--out", str(short), "-q").exit_code == 0  # type: ignore[attr-defined]
    extended = _cli("--resume", str(short), "--epochs", "3")
    assert extended.exit_code == 0, extended.output  # type: ignore[attr-defined]
    assert f"resuming {short} after epoch 1 of 3" in extended.stderr  # type: ignore[attr-defined]
    assert _cli(QUICK, *SMALL, "--epochs", "3", "--out", str(long), "-q").exit_code == 0  # type: ignore[attr-defined]
    _same_weights(short, long)
    info = json.loads((short / "run.json").read_text())
    assert info["options"]["epochs"] == 3 and info["resolved"]["epochs"] == 3
    epochs = [json.loads(x) for x in (short / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs if "step" not in r] == [1, 2, 3]
    fewer = _cli("--resume", str(short), "--epochs", "2")
    assert fewer.exit_code == 2  # type: ignore[attr-defined]
    assert "the run has already trained 3 epochs" in fewer.stderr  # type: ignore[attr-defined]


def test_a_relative_data_path_is_recorded_absolute_so_resume_works_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    other.mkdir()
    rng = np.random.default_rng(0)
    x = rng.random((200, 28, 28), dtype=np.float32)
    np.savez(first / "digits.npz", x=x, y=rng.integers(0, 10, 200))
    monkeypatch.chdir(first)
    out = tmp_path / "run"
    done = _cli(QUICK, "--data", "digits.npz", "--epochs", "1", "--out", str(out), "-q")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    info = json.loads((out / "run.json").read_text())
    assert info["options"]["data"] == str(first / "digits.npz")
    monkeypatch.chdir(other)  # `digits.npz` means nothing here
    again = _cli("--resume", str(out), "--epochs", "2", "--data", str(first / "digits.npz"))
    assert again.exit_code == 0, again.output  # type: ignore[attr-defined]
    assert f"resuming {out} after epoch 1 of 2" in again.stderr  # type: ignore[attr-defined]
    other_file = _cli("--resume", str(out), "--data", "digits.npz")
    assert other_file.exit_code == 2  # type: ignore[attr-defined]
    assert "cannot take --data digits.npz" in other_file.stderr  # type: ignore[attr-defined]


def test_extending_a_schedule_that_spans_the_run_says_it_differs(tmp_path: Path) -> None:
    spec = tmp_path / "cosine.nn"
    spec.write_text(Path(QUICK).read_text().replace("epochs 5", "epochs 5\n    schedule cosine"))
    out = tmp_path / "r"
    assert _cli(str(spec), *SMALL, "--epochs", "1", "--out", str(out), "-q").exit_code == 0  # type: ignore[attr-defined]
    extended = _cli("--resume", str(out), "--epochs", "2")
    assert extended.exit_code == 0, extended.output  # type: ignore[attr-defined]
    assert (
        "note: the `cosine` schedule spans the run: its rates from epoch 2 on follow the new "
        "length (2 epochs), so the run differs from one started with 2 epochs"
    ) in extended.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--seed", "3", "the seed chose its initial weights and the order of the examples"),
        ("--backend", "tensorflow", "its epochs so far were trained by the `torch` backend"),
        ("--limit", "50", "its epochs so far were trained on those examples (400)"),
        ("--batch-size", "10", "its steps so far used that batch size (100)"),
        ("--data", "mnist", "its epochs so far were trained on that data"),
        ("--model", "other", "it trains that model"),
        ("--precision", "bf16", "its epochs so far were trained in that precision"),
        ("--out", "elsewhere", "a resumed run stays in its own directory"),
    ],
)
def test_flags_that_cannot_change_are_refused_with_the_reason(
    whole: Path, flag: str, value: str, reason: str
) -> None:
    result = _cli("--resume", str(whole), flag, value)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert f"--resume {whole} cannot take {flag} {value}: {reason}" in result.stderr  # type: ignore[attr-defined]
    assert f"hint: drop {flag}, or start a new run with it" in result.stderr  # type: ignore[attr-defined]


def _damage_checkpoint(run_dir: Path) -> None:
    path = run_dir / "checkpoints" / "last.safetensors"
    arrays, metadata = load_arrays(path)
    state = json.loads(metadata["state"])
    del state["epoch"]
    save_arrays(path, arrays, {"state": json.dumps(state)})


DAMAGES = {
    "run.json": (
        lambda d: (d / "run.json").write_text("garbage"),
        "run.json is damaged (not JSON: Expecting value at line 1)",
        "start a new run instead: specc run {d}/spec.nn",
    ),
    "metrics.jsonl": (
        lambda d: (d / "metrics.jsonl").write_text('{"step": 1, "epoch": 1, "loss": 1}\n{oops\n'),
        "metrics.jsonl is damaged (line 2 is not a JSON record)",
        "or delete {d}/metrics.jsonl to resume without the records",
    ),
    "spec.nn": (
        lambda d: (d / "spec.nn").unlink(),
        "spec.nn, the spec the run started with, is missing",
        f"copy that spec back to {{d}}/spec.nn (run.json says it was {QUICK})",
    ),
    "checkpoint": (
        _damage_checkpoint,
        "checkpoints/last.safetensors is damaged: its loop state lacks `epoch`",
        "delete {d}/checkpoints/last.safetensors to train the run again from the beginning",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_run_directory_is_named_with_what_can_be_done(
    tmp_path: Path, whole: Path, damage: str
) -> None:
    run_dir = tmp_path / "r"
    shutil.copytree(whole, run_dir)
    spoil, what, hint = DAMAGES[damage]
    spoil(run_dir)
    result = _cli("--resume", str(run_dir))
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]  # no traceback
    assert f"error: --resume {run_dir}: {what}" in result.stderr  # type: ignore[attr-defined]
    assert hint.format(d=run_dir) in result.stderr  # type: ignore[attr-defined]


def test_deleting_the_damaged_file_as_told_lets_the_run_continue(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    assert _cli(QUICK, *SMALL, "--epochs", "1", "--out", str(run_dir), "-q").exit_code == 0  # type: ignore[attr-defined]
    (run_dir / "metrics.jsonl").write_text("{oops\n")
    refused = _cli("--resume", str(run_dir), "--epochs", "2")
    assert refused.exit_code == 1 and "metrics.jsonl is damaged" in refused.stderr  # type: ignore[attr-defined]
    (run_dir / "metrics.jsonl").unlink()
    result = _cli("--resume", str(run_dir), "--epochs", "2")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]


def test_resume_removes_what_a_killed_atomic_write_left(tmp_path: Path, whole: Path) -> None:
    run_dir = tmp_path / "r"
    shutil.copytree(whole, run_dir)
    leftovers = [
        run_dir / "checkpoints" / ".last.safetensors.tmp4242",
        run_dir / ".metrics.jsonl.tmp17",
    ]
    for path in leftovers:
        path.write_bytes(b"half a file")
    result = _cli("--resume", str(run_dir))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "removed 2 leftover temporary file(s)" in result.stderr  # type: ignore[attr-defined]
    assert not any(p.exists() for p in leftovers)
    assert (run_dir / "checkpoints" / "last.safetensors").is_file()
