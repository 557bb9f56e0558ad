"""`data csv "reviews.csv" text=review target=label { tokenize ... }`: a CSV text column,
tokenized as text_folder does (vocabulary from the training split only). The CSV, with a
planted signal word deciding each label, is written at test time."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.data import DataError, load
from specc.ir import data as ir
from specc.plan import RunOptions
from specc.run import run

FILLER = ["the", "film", "was", "a", "plot", "actor", "scene", "and", "long", "story"]


def write_reviews(path: Path, n: int, seed: int = 0) -> Path:
    """Random filler words; "great" (label pos) or "awful" (label neg) at a random place."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review", "label"])
        for i in range(n):
            words = list(rng.choice(FILLER, size=int(rng.integers(4, 12))))
            positive = i % 2 == 0
            words.insert(int(rng.integers(0, len(words) + 1)), "great" if positive else "awful")
            writer.writerow([i, ", ".join(words), "pos" if positive else "neg"])
    return path


def test_the_text_column_is_tokenized_with_a_training_only_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('review,label\n"Good, good film",pos\nbad film,neg\n"unseen words",pos\n')
    source = ir.CSV(
        path=str(path),
        text="review",
        target="label",
        test=0.3,
        tokenize=ir.Tokenize(vocab=10, length=3, lowercase=True),
    )
    data = load(source, vocab=10)
    assert data.vocabulary["tokens"] == ["<pad>", "<oov>", "film", "good", "bad"]
    assert data.x_train.tolist() == [[3, 3, 2], [0, 4, 2]]
    assert data.x_test.tolist() == [[0, 1, 1]]  # not in the training rows: out-of-vocabulary
    assert data.class_names == ("neg", "pos") and data.y_train.tolist() == [1, 0]


def test_a_missing_text_column_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("body,label\nhello,pos\n")
    with pytest.raises(DataError, match="no feature column `review`; the columns are: body"):
        load(ir.CSV(path=str(path), text="review", target="label"), vocab=10)


def test_tokenize_without_a_text_column_is_located() -> None:
    text = (
        "model m {\n    input 20 int\n    embedding 50 8\n    global_avgpool\n    dense 2\n}\n"
        'data csv "r.csv" target=label {\n    tokenize words length=20\n}\n'
        "train {\n    loss sparse_categorical_crossentropy\n    epochs 1\n}\n"
    )
    analysis = analyze(text, "<csv>")
    assert [(d.code, d.span.line) for d in analysis.errors] == [("E302", 8)]
    assert "`tokenize` needs a text column" in analysis.errors[0].message


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_a_planted_signal_word_is_learned(tmp_path: Path, backend: str) -> None:
    write_reviews(tmp_path / "reviews.csv", 400)
    spec = tmp_path / "reviews.nn"
    spec.write_text(
        "model m {\n    input 16 int\n    embedding 64 16 pad=0\n    global_avgpool\n"
        "    dense 2\n}\n"
        'data csv "reviews.csv" text=review target=label {\n'
        "    tokenize words vocab=64 length=16\n    batch 16 shuffle\n    test 0.25\n}\n"
        "train {\n    loss sparse_categorical_crossentropy\n    optimizer adam lr=0.03\n"
        "    epochs 8\n    metrics accuracy\n}\n"
    )
    result = run(spec, RunOptions(backend=backend, out=str(tmp_path / "run"), quiet=True))
    assert result.metrics["test_accuracy"] >= 0.95, result.metrics
    assert (result.run_dir / "vocab.json").is_file()
