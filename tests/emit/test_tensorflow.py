"""The `tensorflow` emit target: goldens byte for byte, ruff-clean, and every script trains.

The executed test runs each emitted script as `__main__` (runpy) in ONE subprocess, so
TensorFlow is imported once for all of them instead of once per script (most of a short
run's time); each script still parses its own flags, loads its own data and saves its own
files, which the tests then read. Regenerate the goldens with
`python tests/emit/test_tensorflow.py --regen`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from specc.analysis import analyze
from specc.emit import EmitError, emit
from specc.resources import bundled_dataset

TARGET = "tensorflow"
ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / TARGET
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.nn"))
REFUSED = {"search": "E601"}  # search spaces: a script needs numbers
EMITTED = [name for name in SPECS if name not in REFUSED]
SAMPLE = str(bundled_dataset("mnist_sample"))

# Per spec: flags for a short run (2 epochs, so the loss can go down) and the accuracy a
# trained model must beat (chance plus a margin); None: a regression, judged by its MAE.
RUNS: dict[str, tuple[list[str], float | None]] = {
    "quickstart": (["--limit", "512", "--data-dir", SAMPLE], 0.3),
    "mnist": (["--limit", "512", "--data-dir", SAMPLE], 0.3),
    "dropout": (["--limit", "512", "--data-dir", SAMPLE], 0.3),
    "mnist_deep": (["--limit", "512", "--data-dir", SAMPLE], 0.3),
    "cnn": (["--limit", "512", "--batch-size", "64", "--data-dir", SAMPLE], 0.2),
    "search": ([], None),  # refused (E601), never run
    "finetune": (["--limit", "512", "--data-dir", SAMPLE, "--init-from", "{out}/quickstart"], 0.3),
    "binary": (["--limit", "800"], 0.6),
    "multiclass": (["--limit", "800"], 0.35),
    "regression": (["--limit", "800"], None),
}

RUNNER = """
import json, runpy, sys, traceback
codes = {}
for name, script, args in json.loads(sys.argv[1]):
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
        codes[name] = 0
    except SystemExit as stop:
        codes[name] = stop.code
    except Exception:
        traceback.print_exc()
        codes[name] = "exception"
print("CODES " + json.dumps(codes))
"""


def emitted(name: str) -> str:
    """The script for specs/<name>.nn, named as in the repository (goldens are portable)."""
    text = (ROOT / "specs" / f"{name}.nn").read_text(encoding="utf-8")
    return emit(analyze(text, f"specs/{name}.nn"), TARGET)


@pytest.mark.parametrize("name", EMITTED)
def test_golden(name: str) -> None:
    golden = GOLDEN / f"{name}.py"
    assert golden.exists(), f"no golden for {name}: run python tests/emit/test_{TARGET}.py --regen"
    assert emitted(name) == golden.read_text(encoding="utf-8"), (
        f"{golden} is stale: run python tests/emit/test_{TARGET}.py --regen and review the diff"
    )


def test_every_spec_has_a_golden_or_a_reason() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.py")) == EMITTED


@pytest.mark.parametrize(("name", "code"), sorted(REFUSED.items()))
def test_refused_with_a_located_diagnostic(name: str, code: str) -> None:
    with pytest.raises(EmitError) as err:
        emitted(name)
    assert {d.code for d in err.value.diagnostics} == {code}
    assert all(d.span.line > 1 for d in err.value.diagnostics)  # points into the spec


def test_goldens_are_ruff_clean() -> None:
    files = [str(GOLDEN / f"{name}.py") for name in EMITTED]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--line-length",
         "100", "--select", "E,F,W,I,UP,B,SIM,RUF", "--ignore", "E501", *files],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--line-length",
         "100", *files],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert fmt.returncode == 0, fmt.stdout


def test_capability_table_refuses_what_the_loop_cannot_do() -> None:
    spec = (ROOT / "specs" / "mnist.nn").read_text(encoding="utf-8")
    text = spec.replace("optimizer rmsprop lr=1e-3", "optimizer rmsprop lr=1e-3 centered=true")
    with pytest.raises(EmitError) as err:
        emit(analyze(text, "specs/mnist.nn"), TARGET)
    [diagnostic] = err.value.diagnostics
    assert diagnostic.code == "E600"
    assert text[diagnostic.span.start : diagnostic.span.end].startswith("centered")
    # what a hand-written loop does itself is not refused, unlike for compile/fit
    loop = spec.replace("batch 128 shuffle", "batch 128 shuffle drop_last=true")
    assert "DROP_LAST = True" in emit(analyze(loop, "specs/mnist.nn"), TARGET)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Every emitted script, run for 2 epochs in one subprocess; name -> exit code."""
    out = tmp_path_factory.mktemp(TARGET)
    jobs = []
    for name in sorted(EMITTED, key=lambda n: n == "finetune"):  # finetune starts from quickstart
        script = out / f"{name}.py"
        script.write_text(emitted(name), encoding="utf-8")
        args = [a.replace("{out}", str(out)) for a in RUNS[name][0]]
        jobs.append([name, str(script), ["--epochs", "2", "--out", str(out / name), *args]])
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(jobs)],
        capture_output=True, text=True, cwd=out, env={**_base_env(), **env}, timeout=600,
    )  # fmt: skip
    last = [line for line in done.stdout.splitlines() if line.startswith("CODES ")]
    assert last, f"the runner died:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return {"out": out, "codes": json.loads(last[-1][6:]), "log": done.stdout + done.stderr}


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.mark.parametrize("name", EMITTED)
def test_script_trains(runs: dict[str, object], name: str) -> None:
    out = runs["out"] / name  # type: ignore[operator]
    code = runs["codes"][name]  # type: ignore[index]
    assert code == 0, f"{name} exited with {code}:\n{str(runs['log'])[-4000:]}"
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 2
    assert history["loss"][1] < history["loss"][0], history["loss"]
    threshold = RUNS[name][1]
    if threshold is None:
        assert history["mae"][1] < history["mae"][0], history["mae"]
    else:
        final = history.get("test_accuracy", history["accuracy"][-1])
        assert final > threshold, f"{name}: accuracy {final} is not above chance"
    assert (out / "model.weights.h5").stat().st_size > 0
    assert (out / "weights.safetensors").stat().st_size > 0


def test_saved_weights_use_the_spec_names_in_pytorch_layout(runs: dict[str, object]) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(runs["out"] / "cnn" / "weights.safetensors"))  # type: ignore[operator]
    shapes = {k: v.shape for k, v in weights.items()}
    assert shapes == {
        "conv2d_1.weight": (32, 1, 3, 3),
        "conv2d_1.bias": (32,),
        "conv2d_2.weight": (64, 32, 3, 3),
        "conv2d_2.bias": (64,),
        "dense_1.weight": (10, 1600),
        "dense_1.bias": (10,),
    }


def test_finetune_started_from_quickstart_and_kept_frozen_layer(runs: dict[str, object]) -> None:
    from safetensors.numpy import load_file

    base = load_file(str(runs["out"] / "quickstart" / "weights.safetensors"))  # type: ignore[operator]
    tuned = load_file(str(runs["out"] / "finetune" / "weights.safetensors"))  # type: ignore[operator]
    assert "initial weights from" in str(runs["log"])
    assert (base["dense_1.weight"] == tuned["dense_1.weight"]).all()  # frozen
    assert set(tuned) == {"dense_1.weight", "dense_1.bias", "head.weight", "head.bias"}


def regen() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN.glob("*.py"):
        stale.unlink()
    for name in EMITTED:
        (GOLDEN / f"{name}.py").write_text(emitted(name), encoding="utf-8")
        print(f"wrote {GOLDEN / name}.py")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        sys.exit(f"usage: python {sys.argv[0]} --regen")
    regen()
