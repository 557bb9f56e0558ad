"""`init from RUN` on a text source encodes with that run's vocab.json: every token id
keeps the meaning the run's embedding learnt for it; other `tokenize` settings are E603 at
the `init from` line. Corpora are written at test time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.errors import PlanError
from specc.plan import RunOptions
from specc.run import run


def spec(data: str, tokenize: str, init: str = "") -> str:
    return (
        f"model lm {{\n{init}    input 4 int\n    embedding 16 8\n    gru 8 sequences=true\n"
        "    dense 16\n}\n"
        f'data corpus "{data}" {{\n    {tokenize}\n    batch 8\n}}\n'
        "train {\n    loss sparse_categorical_crossentropy\n    epochs 1\n"
        "    metrics perplexity\n}\n"
    )


def tokens(run_dir: Path) -> list[str]:
    return json.loads((run_dir / "vocab.json").read_text())["tokens"]


def test_init_from_reuses_the_runs_token_ids(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("cat dog dog bird bird bird " * 12)
    (tmp_path / "b.txt").write_text("cat cat cat cat dog fish " * 12)  # other counts, a new word
    first = tmp_path / "a.nn"
    first.write_text(spec("a.txt", "tokenize words vocab=16 length=4"))
    a = run(first, RunOptions(out=str(tmp_path / "run_a"), quiet=True))
    assert tokens(a.run_dir) == ["<pad>", "<oov>", "bird", "dog", "cat"]
    second = tmp_path / "b.nn"
    init = '    init from "run_a"\n'
    second.write_text(spec("b.txt", "tokenize words vocab=16 length=4", init))
    b = run(second, RunOptions(out=str(tmp_path / "run_b"), quiet=True))
    # b.txt alone would rank cat first; with `init from` the ids are run_a's (fish: oov)
    assert tokens(b.run_dir) == tokens(a.run_dir)
    alone = tmp_path / "c.nn"
    alone.write_text(spec("b.txt", "tokenize words vocab=16 length=4"))
    c = run(alone, RunOptions(out=str(tmp_path / "run_c"), quiet=True))
    assert tokens(c.run_dir)[:3] == ["<pad>", "<oov>", "cat"]


def test_other_tokenize_settings_are_e412_at_init_from(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("cat dog dog bird bird bird " * 12)
    first = tmp_path / "a.nn"
    first.write_text(spec("a.txt", "tokenize words vocab=16 length=4"))
    run(first, RunOptions(out=str(tmp_path / "run_a"), quiet=True))
    second = tmp_path / "b.nn"
    init = '    init from "run_a"\n'
    second.write_text(spec("a.txt", "tokenize chars vocab=16 length=4", init))
    with pytest.raises(PlanError) as caught:
        run(second, RunOptions(out=str(tmp_path / "run_b"), quiet=True))
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E603"
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 15)  # the quoted run
    assert "was built for other `tokenize` settings than the spec's (chars" in diagnostic.message
    assert not (tmp_path / "run_b").exists()
