"""Text data in every target's script: `data imdb`, `data text_folder` and a CSV's text
column, read and tokenized as `specc run` does, and the run's vocab.json written and read.

Fixtures are written at test time in the upstream formats (Keras's imdb.npz of word-rank
lists, aclImdb's train/<class>/*.txt folders, a CSV with a quoted text column):

- from one initial weights file (`init from`) and one batch (the first epoch's loss is the
  loss of the initial weights on every training example), each target's script gives
  `specc run`'s first-epoch loss within 1e-5, and a tokenizing script writes under --out
  the vocab.json the run wrote, byte for byte;
- an --interop script started with `--init-from RUN` on other texts encodes them with RUN's
  vocab.json (as `init from RUN` does for `specc run`): the same first-batch loss as
  `specc run` from that run, and RUN's vocab.json saved; without RUN's vocab.json it builds
  its own and the loss differs; `--vocab FILE` reads it from anywhere;
- a missing, damaged or mismatched vocab file is one line and exit 1.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from specc.analysis import analyze_file
from specc.emit import emit
from specc.plan import RunOptions
from specc.run import run
from tests.data.test_data_csv_text import write_reviews
from tests.data.test_data_imdb import TRAIN as IMDB_SPEC
from tests.data.test_data_imdb import write_imdb
from tests.data.test_data_text_folder import SPEC as FOLDER_SPEC
from tests.data.test_data_text_folder import planted, write_folder
from tests.emit.conftest import history, lint, run_scripts
from tests.emit.mindspore_env import mindspore_python
from tests.emit.test_sequence_scripts import _initial_weights

CSV_SPEC = """model reviews {
    input 12 int
    embedding 40 8 pad=0
    global_avgpool
    dense 2 softmax
}
data csv "reviews.csv" text=review target=label {
    tokenize words vocab=40 length=12 lowercase
    batch 16 shuffle
    test 0.25
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.03
    epochs 6
    metrics accuracy
    seed 0
}
"""


def _imdb(folder: Path) -> str:
    write_imdb(folder / "imdb.npz", n_train=48, n_test=24)
    return IMDB_SPEC


def _text_folder(folder: Path) -> str:
    planted(folder / "reviews", 20)  # 40 training texts, a test/ folder of 20
    return FOLDER_SPEC


def _csv(folder: Path) -> str:
    write_reviews(folder / "reviews.csv", 60)  # 45 training rows, the last 15 for test
    return CSV_SPEC


SOURCES = {"imdb": _imdb, "text_folder": _text_folder, "csv_text": _csv}
TARGETS = ("pytorch", "keras", "tensorflow", "mindspore")


def _python(target: str) -> Path | str:
    return mindspore_python() if target == "mindspore" else sys.executable


def _one_batch(text: str, init: str | None = None) -> str:
    """Every training example in one batch (its loss is the initial weights' loss)."""
    text = text.replace("batch 16 shuffle", "batch 64").replace("batch 32 shuffle", "batch 64")
    if init is not None:
        text = text.replace("model reviews {", f'model reviews {{\n    init from "{init}"')
    return text


def _script(spec: Path, target: str, interop: bool = False) -> Path:
    text = emit(analyze_file(spec), target, interop=interop)
    assert lint(text) == [], target
    script = spec.with_name(f"{spec.stem}_{target}.py")
    script.write_text(text, encoding="utf-8")
    return script


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_first_epoch_loss_and_vocabulary_are_specc_runs(
    source: str, target: str, tmp_path: Path
) -> None:
    text = _one_batch(SOURCES[source](tmp_path), init="init.safetensors")
    spec = tmp_path / "reviews.nn"
    spec.write_text(text, encoding="utf-8")
    _initial_weights(text, tmp_path / "init.safetensors")
    result = run(spec, RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True, epochs=1))
    expected = result.history[0]["loss"]
    script = _script(spec, target)
    argv = [str(script), "--epochs", "1", "--out", str(tmp_path / "s")]
    codes, output = run_scripts([argv], cwd=tmp_path, python=_python(target))
    assert codes == [0], output[-3000:]
    got = history(tmp_path / "s")["loss"][0]
    assert abs(got - expected) / expected < 1e-5, (expected, got)
    saved = result.run_dir / "vocab.json"
    if source == "imdb":  # ids already: no vocabulary, in the run folder or under --out
        assert not saved.exists() and not (tmp_path / "s" / "vocab.json").exists()
        assert "--vocab" not in script.read_text()
    else:
        assert (tmp_path / "s" / "vocab.json").read_bytes() == saved.read_bytes()


def _other_texts(folder: Path, source: str) -> None:
    """Texts whose own vocabulary differs from the planted fixtures' (other word counts)."""
    pos = [f"Great w{i % 7} w{i % 3} w{i % 3} w29 w28." for i in range(20)]
    neg = [f"awful w{i % 5} w{i % 2} w27 w27 w27." for i in range(20)]
    if source == "text_folder":
        write_folder(folder / "reviews", {"train/pos": pos, "train/neg": neg})
        return
    rows = [f'"{p}",pos\n"{n}",neg\n' for p, n in zip(pos, neg, strict=True)]
    (folder / "reviews.csv").write_text("review,label\n" + "".join(rows), encoding="utf-8")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", ["text_folder", "csv_text"])
def test_init_from_a_run_encodes_with_its_vocabulary(
    source: str, target: str, tmp_path: Path
) -> None:
    trained, other = tmp_path / "trained", tmp_path / "other"
    trained.mkdir()
    other.mkdir()
    text = SOURCES[source](trained)
    (trained / "reviews.nn").write_text(text, encoding="utf-8")
    options = RunOptions(backend="torch", out=str(tmp_path / "A"), quiet=True, epochs=2)
    first = run(trained / "reviews.nn", options)
    vocab = first.run_dir / "vocab.json"
    no_vocab = tmp_path / "weights-only"
    no_vocab.mkdir()
    shutil.copy(first.run_dir / "weights.safetensors", no_vocab)
    # `specc run` from that run, on other texts: their ids come from its vocab.json
    _other_texts(other, source)
    spec = other / "reviews.nn"
    spec.write_text(_one_batch(text, init=str(first.run_dir)), encoding="utf-8")
    options = RunOptions(backend="torch", out=str(tmp_path / "B"), quiet=True, epochs=1)
    expected = run(spec, options).history[0]["loss"]
    spec.write_text(_one_batch(text), encoding="utf-8")
    script = _script(spec, target, interop=True)
    data_dir = other / "reviews" if source == "text_folder" else other
    common = [str(script), "--data-dir", str(data_dir), "--epochs", "1", "--init-from"]
    codes, output = run_scripts(
        [
            [*common, str(first.run_dir), "--out", str(tmp_path / "s1")],
            [*common, str(no_vocab), "--out", str(tmp_path / "s2")],  # builds its own
            [*common, str(no_vocab), "--vocab", str(vocab), "--out", str(tmp_path / "s3")],
        ],
        cwd=other,
        python=_python(target),
    )
    assert codes == [0, 0, 0], output[-3000:]
    assert f"token ids from {vocab}" in output
    losses = [history(tmp_path / f"s{i}")["loss"][0] for i in (1, 2, 3)]
    assert abs(losses[0] - expected) / expected < 1e-5, (expected, losses)
    assert abs(losses[2] - expected) / expected < 1e-5, (expected, losses)
    assert abs(losses[1] - expected) / expected > 1e-3, (expected, losses)  # its own ids
    assert (tmp_path / "s1" / "vocab.json").read_bytes() == vocab.read_bytes()
    assert (tmp_path / "s3" / "vocab.json").read_bytes() == vocab.read_bytes()
    assert (tmp_path / "s2" / "vocab.json").read_bytes() != vocab.read_bytes()


@pytest.mark.parametrize("target", ["pytorch", "keras"])
def test_a_bad_vocab_file_is_one_line(target: str, tmp_path: Path) -> None:
    text = _csv(tmp_path)
    spec = tmp_path / "reviews.nn"
    spec.write_text(text, encoding="utf-8")
    script = _script(spec, target)
    (tmp_path / "damaged.json").write_text("{", encoding="utf-8")
    (tmp_path / "list.json").write_text('{"tokens": ["a"]}', encoding="utf-8")
    chars = '{"mode": "chars", "lowercase": true, "tokens": ["<pad>", "<oov>", "a"]}'
    (tmp_path / "chars.json").write_text(chars, encoding="utf-8")
    names = ["missing.json", "damaged.json", "list.json", "chars.json"]
    argv = [[str(script), "--vocab", n, "--out", str(tmp_path / "o")] for n in names]
    codes, output = run_scripts(argv, cwd=tmp_path)
    assert codes == [1, 1, 1, 1], output[-3000:]
    assert "Traceback" not in output
    for line in (
        "error: missing.json: no such file (`specc run` writes vocab.json into its run folder)",
        "error: damaged.json: not a readable vocab.json (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1))",
        "error: list.json: not a specc vocabulary (a `tokens` list starting with <pad>, <oov>)",
        "error: chars.json: built for other `tokenize` settings (chars, lowercase True, 3 ids); "
        "this script: words, lowercase True, at most 40 ids",
    ):
        assert line in output.splitlines(), (line, output[-2000:])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_text_scripts_names_are_reserved(source: str, target: str, tmp_path: Path) -> None:
    """Every module-level name of a text source's script is in its target's reserved set
    (the goldens' check, tests/emit/test_infra.py, for sources no golden reads)."""
    import ast

    from specc.emit.targets import get_target

    spec = tmp_path / "reviews.nn"
    spec.write_text(SOURCES[source](tmp_path), encoding="utf-8")
    tree = ast.parse(emit(analyze_file(spec), target, interop=True))
    defined = {"Reviews"}  # the model class
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    unreserved = defined - {"Reviews"} - get_target(target).reserved
    assert "read_vocabulary" in defined or source == "imdb"
    assert unreserved == set(), unreserved
