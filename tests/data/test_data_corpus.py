"""`data corpus` and `data synthetic_corpus`: windows of `length + 1` tokens every `length`,
next-token targets, contiguous splits, the vocabulary from the training windows only.
Corpora are written at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, load
from specc.ir import data as ir


def corpus(path: Path, text: str, **kw: object) -> ir.Corpus:
    path.write_text(text, encoding="utf-8")
    tokenize = {k: kw.pop(k) for k in ("mode", "vocab", "length", "lowercase") if k in kw}
    return ir.Corpus(path=str(path), tokenize=ir.Tokenize(**tokenize), **kw)


def test_char_windows_are_shifted_by_one_token(tmp_path: Path) -> None:
    data = load(corpus(tmp_path / "t.txt", "abcdefgh", mode="chars", length=3), vocab=10)
    # 8 chars: windows of 4 start every 3 ("abcd", "defg"); the tail "h" is dropped.
    # counts in them: d 2, the rest 1 -> d is id 2, then a b c e f g (code-point order)
    assert data.vocabulary["tokens"] == ["<pad>", "<oov>", "d", "a", "b", "c", "e", "f", "g"]
    assert data.x_train.tolist() == [[3, 4, 5], [2, 6, 7]]  # abc, def
    assert data.y_train.tolist() == [[4, 5, 2], [6, 7, 8]]  # bcd, efg: the next char
    assert data.x_train.dtype == np.int64 and data.y_train.dtype == np.int64
    assert data.classes == 9 and data.sample_shape == (3,)


def test_splits_are_the_text_s_last_parts_and_the_vocabulary_is_train_only(
    tmp_path: Path,
) -> None:
    # 21 words: 10 windows of 3 words every 2; the last 2 (test 0.2) hold the only "zebra"s
    words = ["one", "two"] * 8 + ["one", "zebra", "zebra", "zebra", "zebra"]
    source = corpus(tmp_path / "w.txt", " ".join(words), mode="words", length=2, test=0.2)
    data = load(source, vocab=10)
    assert data.sizes() == {"train": 8, "val": 0, "test": 2}
    assert data.vocabulary["tokens"] == ["<pad>", "<oov>", "one", "two"]
    # the test windows are the text's end: zebra is out-of-vocabulary there (id 1)
    assert data.x_test.tolist() == [[2, 1], [1, 1]]
    assert data.x_train[0].tolist() == [2, 3] and data.y_train[0].tolist() == [3, 2]
    # validation is the contiguous part before the test tail
    both = load(source.model_copy(update={"validation": 0.25}), vocab=10)
    assert both.sizes() == {"train": 6, "val": 2, "test": 2}
    assert both.x_val.tolist() == [[2, 3], [2, 3]]


def test_lowercase_and_a_text_too_short_for_one_window(tmp_path: Path) -> None:
    data = load(corpus(tmp_path / "c.txt", "AaAa", mode="chars", length=3, lowercase=True))
    assert data.vocabulary["tokens"] == ["<pad>", "<oov>", "a"]
    with pytest.raises(DataError, match="3 chars tokens, too few for one window of length 3"):
        load(corpus(tmp_path / "s.txt", "abc", mode="chars", length=3))


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a file"):
        load(ir.Corpus(path=str(tmp_path / "nope.txt")))


def test_synthetic_corpus_is_deterministic_and_small() -> None:
    a = load(ir.SyntheticCorpus(sentences=200), vocab=100)
    b = load(ir.SyntheticCorpus(sentences=200), vocab=100)
    other = load(ir.SyntheticCorpus(sentences=200, data_seed=1), vocab=100)
    assert a.fingerprint == b.fingerprint != other.fingerprint
    assert a.sample_shape == (64,) and a.x_train.shape[1:] == (64,)
    assert 20 <= len(a.vocabulary["tokens"]) <= 30  # letters, space and '.'
    assert (a.x_train[:, 1:] == a.y_train[:, :-1]).all()
