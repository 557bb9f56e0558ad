"""Report: the sequence example specs trained by `specc run` (both backends) and by each
emit target's script, on the specs' own generated data.

    python benchmarks/sequence_examples.py                       # every spec, backend, target
    python benchmarks/sequence_examples.py --specs char_lm --contenders torch,keras
    python benchmarks/sequence_examples.py --limit 1600 --mindspore-limit 800

For each of specs/imdb_transformer.nn, imdb_bilstm.nn, seq_conv1d.nn and char_lm.nn:
`specc run --backend torch|tensorflow` and `specc emit --target pytorch|keras|tensorflow|
mindspore` then the script, all with the spec's epochs and seed and `--limit` examples (the
MindSpore scripts run slowly on a CPU: `--mindspore-limit`). MindSpore needs its own NumPy < 2
Python: SPECC_MINDSPORE_PYTHON (tests/emit/mindspore_env.py builds one under .venvs/).
Printed: a Markdown table of the test metric (accuracy, or perplexity for char_lm) and the
wall seconds of each contender. The scripts draw their own initial weights and batch order
(docs/emit.md), so their numbers differ from `specc run`'s by more than rounding; the
equality checks are the tests' (tests/emit/test_sequence_scripts.py, first-epoch losses).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("imdb_transformer", "imdb_bilstm", "seq_conv1d", "char_lm")
CONTENDERS = ("torch", "tensorflow", "pytorch-script", "keras-script", "tensorflow-script",
              "mindspore-script")  # fmt: skip
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_v": "3", "PYTHONWARNINGS": "ignore"}


def metric_of(spec: str) -> str:
    return "test_perplexity" if spec == "char_lm" else "test_accuracy"


def limited(limit: int | None) -> list[str]:
    return [] if limit is None else ["--limit", str(limit)]


def specc_run(spec: Path, backend: str, limit: int | None, out: Path) -> float:
    argv = [sys.executable, "-m", "specc", "run", str(spec), "--backend", backend, "--json"]
    argv += ["--quiet", "--out", str(out), *limited(limit)]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **QUIET})
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    return float(json.loads(done.stdout)["metrics"][metric_of(spec.stem)])


def script_run(spec: Path, target: str, limit: int | None, out: Path) -> float:
    script = out.parent / f"{spec.stem}_{target}.py"
    subprocess.run(
        [sys.executable, "-m", "specc", "emit", str(spec), "--target", target, "-o", str(script)],
        check=True,
        capture_output=True,
    )
    python = os.environ.get("SPECC_MINDSPORE_PYTHON") if target == "mindspore" else None
    argv = [python or sys.executable, str(script), "--out", str(out), *limited(limit)]
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **QUIET}, cwd=out.parent
    )
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    history = json.loads((out / "history.json").read_text())
    return float(history[metric_of(spec.stem)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", default=",".join(SPECS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--limit", type=int, default=None, help="examples per split (all)")
    parser.add_argument("--mindspore-limit", type=int, default=800)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.specs.split(","):
            spec = ROOT / "specs" / f"{name}.nn"
            for who in args.contenders.split(","):
                out = Path(tmp) / name / who
                out.parent.mkdir(parents=True, exist_ok=True)
                limit = args.mindspore_limit if who == "mindspore-script" else args.limit
                began = time.perf_counter()
                try:
                    if who.endswith("-script"):
                        value = f"{script_run(spec, who.removesuffix('-script'), limit, out):.4f}"
                    else:
                        value = f"{specc_run(spec, who, limit, out):.4f}"
                except (RuntimeError, subprocess.CalledProcessError, KeyError) as err:
                    value = f"failed: {str(err).strip().splitlines()[-1][:80]}"
                seconds = time.perf_counter() - began
                rows.append((name, who, metric_of(name), value, seconds, limit))
                print(f"{name:17} {who:18} {metric_of(name):16} {value:>8} {seconds:7.1f} s",
                      flush=True)  # fmt: skip
    print("\n| spec | contender | metric | value | wall s | --limit |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, who, metric, value, seconds, limit in rows:
        shown = "all" if limit is None else str(limit)
        print(f"| {name} | {who} | {metric} | {value} | {seconds:.0f} | {shown} |")


if __name__ == "__main__":
    main()
