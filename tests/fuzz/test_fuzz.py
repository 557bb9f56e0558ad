"""Grammar-aware spec mutations never make check, fmt, summary, ir or emit raise.

A fixed set of seeds replays the same mutants in CI (a few seconds); run many more, with
timings, with `python benchmarks/fuzz_check.py` (the 5 s bound is measured there, not here).
"""

from __future__ import annotations

import pytest

from specc.analysis import analyze
from tests.fuzz.mutate import EXTREME_VALUES, exercise, mutants, valid_seeds

SEEDS = (0, 1, 2, 3)
PER_SEED = 100


@pytest.mark.parametrize("seed", SEEDS)
def test_no_exception_escapes_any_reader(seed: int) -> None:
    for n, text in enumerate(mutants(seed, PER_SEED, big_every=50)):
        try:
            exercise(text)
        except Exception as err:  # report which mutant, then fail
            raise AssertionError(
                f"mutant {n} of seed {seed} escaped: {err!r}\n{text[:2000]}"
            ) from err


def test_the_mutants_reach_every_stage() -> None:
    """A fuzzer whose mutants all fail to parse would test nothing past the parser.

    Counted over every replayed seed (the rates of one seed swing with the seed files)."""
    texts = [t for seed in SEEDS for t in mutants(seed, PER_SEED, big_every=50)]
    results = [analyze(t) for t in texts]
    assert len(valid_seeds()) >= 10
    assert sum(a.ok for a in results) >= 5 * len(SEEDS)  # reach summary, ir and emit
    past_parser = sum(not a.document.diagnostics and not a.ok for a in results)
    assert past_parser >= 20 * len(SEEDS)
    assert max(len(t) for t in texts) > 300_000  # some grow toward the size limit
    assert any(v in t for t in texts for v in EXTREME_VALUES if len(v) > 100)
