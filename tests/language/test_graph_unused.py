"""W507 names only branches nothing reads: a named branch of `parallel` is read by the
block's merge."""

from __future__ import annotations

from specc.analysis import analyze

SPEC = """model m {{
    input 8
    parallel concat {{
        branch left {{ dense 4 }}
        branch {{ dense 4 }}
    }}
    {side}
    dense 2
}}
data synthetic classification samples=64 features=8 classes=2
train {{
    loss sparse_categorical_crossentropy
    epochs 1
}}
"""


def _warnings(text: str) -> list[str]:
    analysis = analyze(text, "g.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    return [d.message for d in analysis.diagnostics if d.code == "W507"]


def test_a_named_parallel_branch_is_used_by_its_merge() -> None:
    assert _warnings(SPEC.format(side="")) == []


def test_a_model_level_branch_nothing_reads_is_still_reported() -> None:
    assert _warnings(SPEC.format(side="branch side { dense 3 }")) == ["branch `side` is never used"]
