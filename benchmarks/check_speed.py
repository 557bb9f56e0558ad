"""How long `specc check` takes as a whole process: what a user or a pre-commit hook waits.

    python benchmarks/check_speed.py                 # 15 runs of each command
    python benchmarks/check_speed.py --runs 30 --spec specs/cnn.nn

Each command runs N times as a fresh process (startup and imports included, as a user
sees it) and min/median/max wall time are printed, plus the median CPU time (user + sys)
of the child: on a shared machine the wall clock also counts time spent waiting for a
core, CPU time only the work. Commands timed:

- `python -c pass`: the interpreter's own start, the floor for everything else;
- `python -c "import specc.analysis"`: importing the checker (lark, pydantic, the IR);
- `specc check SPEC`: the whole command, through the `specc` entry point of this venv.

Each command runs once untimed first: that run writes the bytecode and the parser's tables
(specc/parser_cache.py), as a user's first `specc check` after installing does.

Profile the imports with `python -X importtime -m specc check specs/mnist.nn 2> imports.txt`
(the heaviest are the IR's pydantic classes, specc.ir.*), and the whole command with
`python -m cProfile -s cumulative -m specc check specs/mnist.nn`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _specc() -> list[str]:
    """The venv's `specc` script next to this python, else `python -m specc`."""
    script = Path(sys.executable).parent / "specc"
    if script.exists():
        return [str(script)]
    found = shutil.which("specc")
    return [found] if found else [sys.executable, "-m", "specc"]


def time_command(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `runs` fresh processes (one untimed warm-up run first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # An installed specc has its bytecode cached: let the warm-up run write it.
    subprocess.run(command, cwd=ROOT, capture_output=True, check=False, env=env)
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, check=False, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if proc.returncode not in (0, 1):  # 1 is a spec with problems: still a timing
            raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr.decode()}")
    return walls, cpus


def _load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine, what the wall times
    above competed with."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="processes per command")
    parser.add_argument("--spec", default="specs/mnist.nn", help="spec to check")
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import specc.analysis": [sys.executable, "-c", "import specc.analysis"],
        f"specc check {args.spec}": [*_specc(), "check", args.spec],
    }
    print(f"{args.runs} runs each; seconds; load average {_load()}")
    print(f"{'command':<34} {'min':>7} {'median':>7} {'max':>7} {'cpu med':>8}")
    for label, command in commands.items():
        walls, cpus = time_command(command, args.runs)
        print(
            f"{label:<34} {min(walls):7.3f} {statistics.median(walls):7.3f} "
            f"{max(walls):7.3f} {statistics.median(cpus):8.3f}"
        )
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
