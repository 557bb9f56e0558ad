"""`data text_folder` + `tokenize`: aclImdb's layout, a vocabulary from the training split only,
saved as vocab.json in the run folder and reused by `--resume`. Folders are generated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, load, text_folder
from specc.data.dataset import split_at
from specc.ir import data as ir


def write_folder(root: Path, texts: dict[str, list[str]]) -> Path:
    """`texts`: "train/pos" -> the texts of its files (0.txt, 1.txt, ...)."""
    for folder, items in texts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(items):
            (root / folder / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


def source(root: Path, **tokenize: object) -> ir.TextFolder:
    return ir.TextFolder(path=str(root), tokenize=ir.Tokenize(**tokenize))


def test_ids_padding_truncation_and_reserved_ids(tmp_path: Path) -> None:
    root = write_folder(
        tmp_path / "r",
        {
            "train/pos": ["Good good film", "good"],
            "train/neg": ["Bad film film"],
            "train/unsup": ["unlabelled words here"],
            "test/pos": ["good unseen words"],
            "test/neg": ["bad"],
        },
    )
    data = load(source(root, vocab=5, length=3, lowercase=True), vocab=5)
    # counts in train: good 3, film 3, bad 1 -> ties by text: film before good; vocab=5 keeps 3
    tokens = ["<pad>", "<oov>", "film", "good", "bad"]
    assert data.vocabulary == {
        "mode": "words",
        "lowercase": True,
        "length": 3,
        "pad": 0,
        "oov": 1,
        "tokens": tokens,
    }
    assert data.class_names == ("neg", "pos") and data.classes == 2  # unsup left out
    rows = {
        tuple(int(i) for i in x): int(y) for x, y in zip(data.x_train, data.y_train, strict=True)
    }
    assert rows == {(3, 3, 2): 1, (0, 0, 3): 1, (4, 2, 2): 0}
    test_rows = sorted(tuple(int(i) for i in x) for x in data.x_test)
    assert test_rows == [(0, 0, 4), (3, 1, 1)]  # unseen in train: out-of-vocabulary
    truncated = load(source(root, vocab=5, length=2, lowercase=True), vocab=5)
    assert (3, 2) in {tuple(int(i) for i in x) for x in truncated.x_train}  # keeps the end


def test_chars_and_case(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "r", {"train/a": ["aAb"], "train/b": ["bb"]})
    data = load(source(root, mode="chars", vocab=10, length=4))
    assert data.vocabulary is not None
    assert data.vocabulary["tokens"] == ["<pad>", "<oov>", "b", "A", "a"]


def test_vocabulary_comes_from_the_training_rows_only(tmp_path: Path) -> None:
    """Each file has a word of its own: the vocabulary holds exactly the words of the rows
    left in training after the `test` and `validation` tails."""
    root = write_folder(
        tmp_path / "r",
        {f"train/{c}": [f"{c} only{c}{i}" for i in range(10)] for c in ("neg", "pos")},
    )
    node = ir.TextFolder(
        path=str(root), tokenize=ir.Tokenize(vocab=1000, length=4), test=0.2, validation=0.25
    )
    data = load(node)
    texts = text_folder.read_folder(root).x_train
    kept = texts[: split_at(split_at(len(texts), 0.2), 0.25)]
    assert data.sizes() == {"train": 12, "val": 4, "test": 4}
    assert data.vocabulary is not None
    assert set(data.vocabulary["tokens"][2:]) == {w for t in kept for w in t.split()}


def test_a_saved_vocabulary_is_used_as_given(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "r", {"train/a": ["x y"], "train/b": ["y z"]})
    data = load(source(root, vocab=10, length=2), vocabulary=["<pad>", "<oov>", "z"])
    assert sorted(tuple(int(i) for i in x) for x in data.x_train) == [(1, 1), (1, 2)]
    record = {**text_folder.vocabulary_record(["<pad>", "<oov>"], ir.Tokenize()), "mode": "chars"}
    with pytest.raises(DataError, match="was built for other `tokenize` settings"):
        text_folder.read_vocabulary(record, ir.Tokenize(), "vocab.json")


def test_folder_mistakes_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a folder"):
        load(source(tmp_path / "none"))
    write_folder(tmp_path / "one", {"train/pos": ["a"]})
    with pytest.raises(DataError) as caught:
        load(source(tmp_path / "one"))
    assert caught.value.message == (
        f"{tmp_path / 'one'}: found 1 class folder(s) (pos) under train/"
    )
    (tmp_path / "bad" / "train" / "a").mkdir(parents=True)
    (tmp_path / "bad" / "train" / "b").mkdir(parents=True)
    (tmp_path / "bad" / "train" / "a" / "x.txt").write_bytes(b"\xff\xfe")
    (tmp_path / "bad" / "train" / "b" / "y.txt").write_text("ok")
    with pytest.raises(DataError, match=r"x\.txt: not UTF-8 text"):
        load(source(tmp_path / "bad"))


SPEC = """model reviews {
    input 12 int
    embedding 40 8 pad=0
    global_avgpool
    dense 2 softmax
}
data text_folder "reviews" {
    tokenize words vocab=40 length=12 lowercase
    batch 16 shuffle
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.03
    epochs 6
    metrics accuracy
    seed 0
}
"""


def planted(root: Path, n: int) -> Path:
    """Reviews of filler words where "Great" (pos) or "awful" (neg) decides the label."""
    rng = np.random.default_rng(0)
    filler = [f"w{i}" for i in range(30)]
    texts: dict[str, list[str]] = {}
    for split, count in (("train", n), ("test", n // 2)):
        for label, word in (("pos", "Great"), ("neg", "awful")):
            items = []
            for _ in range(count):
                words = list(rng.choice(filler, size=int(rng.integers(3, 10))))
                words.insert(int(rng.integers(0, len(words) + 1)), word)
                items.append(" ".join(words) + ".")
            texts[f"{split}/{label}"] = items
    return write_folder(root, texts)


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_learns_saves_and_resumes_with_its_vocabulary(backend: str, tmp_path: Path) -> None:
    from specc.plan import RunOptions
    from specc.run import run

    planted(tmp_path / "reviews", 200)
    spec = tmp_path / "reviews.nn"
    spec.write_text(SPEC)
    result = run(spec, RunOptions(backend=backend, out=str(tmp_path / "run"), quiet=True))
    assert result.metrics["test_accuracy"] >= 0.95, result.metrics
    saved = json.loads((result.run_dir / "vocab.json").read_text())
    assert saved["tokens"][:2] == ["<pad>", "<oov>"] and len(saved["tokens"]) == 34
    assert {"great", "awful"} <= set(saved["tokens"])  # lower-cased

    # `specc predict RUN review.txt` tokenizes with the run's vocab.json.
    from click.testing import CliRunner

    from specc.cli import main

    (tmp_path / "good.txt").write_text("w3 w4 GREAT w5", encoding="utf-8")
    (tmp_path / "bad.txt").write_text("w7 awful w1 w2", encoding="utf-8")
    out = tmp_path / "preds.json"
    args = ["predict", str(result.run_dir), str(tmp_path / "good.txt"), str(tmp_path / "bad.txt")]
    answer = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    predicted = json.loads(out.read_text())
    assert [row["class"] for row in predicted] == ["pos", "neg"], predicted
    from specc.predict import predict

    again = predict(result.run_dir, split="test")  # re-encoded with the saved vocabulary
    assert again.metrics["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])

    # The resumed run reads vocab.json: a changed file changes the ids it trains on.
    saved["tokens"] = saved["tokens"][:2] + saved["tokens"][2:][::-1]
    (result.run_dir / "vocab.json").write_text(json.dumps(saved))
    resumed = run(None, RunOptions(resume=str(result.run_dir), epochs=7, quiet=True))
    record = json.loads((result.run_dir / "run.json").read_text())
    expected = load(
        ir.TextFolder(
            path=str(tmp_path / "reviews"),
            tokenize=ir.Tokenize(vocab=40, length=12, lowercase=True),
            batch=ir.Batch(size=16, shuffle=True),
        ),
        vocab=40,
        vocabulary=saved["tokens"],
    )
    assert resumed.epochs == 7
    assert record["data"]["fingerprint"] == expected.fingerprint
    assert json.loads((result.run_dir / "vocab.json").read_text()) == saved


def test_predict_refuses_text_for_a_model_without_a_vocabulary(tmp_path: Path) -> None:
    from specc.predict.inputs import Wanted, read

    (tmp_path / "r.txt").write_text("some words")
    with pytest.raises(DataError) as caught:
        read(tmp_path / "r.txt", Wanted(input_shape=(4,)))
    assert caught.value.message == (
        f"{tmp_path / 'r.txt'}: the model was not trained on tokenized text "
        "(its run has no vocab.json)"
    )
    assert text_folder.run_encoder(tmp_path) is None
