"""The distributed pieces that need no second process: rank slices of a global batch,
evaluation shards, the E602 refusal at the spec's `batch`, and the refused backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dist_helpers import spec

from specc.analysis import analyze
from specc.errors import PlanError, UsageError
from specc.plan import RunOptions, make_plan
from specc.run import run as run_spec
from specc.run.distributed import World, check_batch


def test_rank_slices_rebuild_every_global_batch() -> None:
    order = np.random.default_rng(0).permutation(24)
    parts = [World(r, 3, r).rank_order(order, 6, 4) for r in range(3)]
    assert all(len(p) == 8 for p in parts)  # 4 steps x 2 examples
    for step in range(4):
        step_batch = np.concatenate([p[step * 2 : step * 2 + 2] for p in parts])
        np.testing.assert_array_equal(step_batch, order[step * 6 : step * 6 + 6])
    np.testing.assert_array_equal(World().rank_order(order, 6, 4), order)


def test_evaluation_shards_cover_the_split_once_without_padding() -> None:
    shards = [World(r, 3, r).shard(10) for r in range(3)]
    assert [(s.start, s.stop) for s in shards] == [(0, 3), (3, 6), (6, 10)]
    assert World(1, 2, 1).seed(5) != World(0, 2, 0).seed(5) == 5


def test_world_from_torchrun_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert World.from_env() == World(3, 4, 1)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not World.from_env().active


@pytest.mark.parametrize(
    ("batch", "message", "hint"),
    [
        ("batch 31 shuffle drop_last", "batch 31 cannot be split over 2 ranks", "e.g. 30"),
        ("batch 32 shuffle", "the last batch of each epoch has 6 examples", "drop_last"),
    ],
)
def test_a_batch_the_ranks_cannot_share_is_e602_at_the_batch(
    batch: str, message: str, hint: str
) -> None:
    text = spec(batch=batch)
    plan = make_plan(analyze(text, "tiny.nn"), RunOptions())
    with pytest.raises(PlanError) as caught:
        check_batch(plan, World(0, 2, 0), 102)
    assert caught.value.message.startswith(message)
    assert hint in (caught.value.hint or "")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E602" and diagnostic.span.line == 10  # the `batch` line
    check_batch(plan, World(), 102)  # one process: any batch


def test_ranks_started_for_another_engine_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(tmp_path / "r")
    workers = '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"index": 1}}'
    monkeypatch.setenv("TF_CONFIG", workers)
    assert World.from_env() == World(1, 2, 0, "tensorflow")
    with pytest.raises(
        UsageError,
        match=r"TF_CONFIG \(2 workers\) starts ranks for the `tensorflow` backend, not `torch`",
    ):
        run_spec(spec(), RunOptions(out=out, quiet=True))
    monkeypatch.delenv("TF_CONFIG")
    monkeypatch.setenv("WORLD_SIZE", "2")
    tf = RunOptions(backend="tensorflow", out=out, quiet=True)
    with pytest.raises(UsageError, match=r"torchrun \(WORLD_SIZE=2\) starts ranks for the `torch`"):
        run_spec(spec(), tf)
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:1"]}}')  # one worker
    assert not World.from_env().active
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_a_sweep_refuses_to_run_under_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    from specc.sweep import sweep

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UsageError, match="specc sweep does not run under torchrun"):
        sweep("no-such.nn")
