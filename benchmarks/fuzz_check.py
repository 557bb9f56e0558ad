"""Fuzz `specc check`, `fmt`, `summary`, `ir` and `emit` with grammar-aware spec mutations.

    python benchmarks/fuzz_check.py                       # 10,000 mutants, seed 0
    python benchmarks/fuzz_check.py --count 500 --seed 7 --big-every 50 --no-emit

Mutants come from tests/fuzz/mutate.py (the CI test replays a fixed few of them). Each
is run in-process through `exercise`: the check with its rendered diagnostics, the
formatter, the summary, the IR as strict JSON and every emit target. Prints how many
inputs were tried, how many let an exception escape, how many took the check over
`--limit` seconds, and the slowest; reproducers of failures are written to `--out`.
Exit status 1 when anything escaped or was too slow.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz.mutate import exercise, mutants  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--big-every", type=int, default=100, help="every Nth mutant may grow to ~1 MB"
    )
    parser.add_argument("--limit", type=float, default=5.0, help="seconds a check may take")
    parser.add_argument("--no-emit", action="store_true", help="skip emit (faster)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args()

    escaped: list[tuple[int, str]] = []
    slow: list[tuple[int, float]] = []
    slowest = (0.0, -1, 0)
    start = time.perf_counter()
    texts = mutants(args.seed, args.count, args.big_every)
    for n, text in enumerate(texts):
        try:
            seconds = exercise(text, emit_targets=not args.no_emit)
        except Exception:  # any escape is what we count
            escaped.append((n, traceback.format_exc()))
            _save(args.out, f"escaped-{n}", text, traceback.format_exc())
            continue
        slowest = max(slowest, (seconds, n, len(text)))
        if seconds > args.limit:
            slow.append((n, seconds))
            _save(args.out, f"slow-{n}", text, f"{seconds:.2f} s")
    total = time.perf_counter() - start
    print(
        f"{len(texts):,} mutants (seed {args.seed}) in {total:.0f} s: "
        f"{len(escaped)} escaped exceptions, {len(slow)} over {args.limit:g} s; "
        f"slowest check {slowest[0]:.2f} s (mutant {slowest[1]}, {slowest[2]:,} characters)"
    )
    for n, trace in escaped[:5]:
        print(f"--- mutant {n}:\n{trace.rstrip().splitlines()[-1]}")
    return 1 if escaped or slow else 0


def _save(folder: Path, name: str, text: str, note: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.nn").write_text(text, encoding="utf-8")
    (folder / f"{name}.txt").write_text(note, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
