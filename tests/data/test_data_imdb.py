"""`data imdb`: Keras's imdb.npz, read and encoded exactly as Keras's load_data + pad_sequences.

Every file is built at test time in the upstream format (object arrays of Python int lists,
saved with pickling allowed); the conftest isolates HOME, caches and mirrors.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, imdb, load, search
from specc.ir import data as ir


def reviews(n: int, seed: int, signal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`n` reviews of word ranks 1..299 (lengths 3..40), labels 0/1 balanced.

    With `signal`: rank 1 (label 0) or 2 (label 1) sits among the last 8 words, and no other
    word has rank 1 or 2, so it alone decides the label (kept by `length=16`: pre-truncation
    keeps a review's end)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    x = np.empty(n, dtype=object)
    for i in range(n):
        words = [int(w) for w in rng.integers(3, 300, size=int(rng.integers(3, 41)))]
        if signal:
            words[-int(rng.integers(1, min(8, len(words)) + 1))] = 1 + int(labels[i])
        x[i] = words
    return x, labels.astype(np.int64)


def write_imdb(path: Path, n_train: int = 40, n_test: int = 20, signal: bool = True) -> Path:
    x_train, y_train = reviews(n_train, 0, signal)
    x_test, y_test = reviews(n_test, 1, signal)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def keras_reference(path: Path, vocab: int, length: int) -> list[np.ndarray]:
    """What Keras itself gives for this file: load_data(num_words) then pad_sequences."""
    import keras
    from keras.src.datasets import imdb as keras_imdb

    original = keras_imdb.get_file
    keras_imdb.get_file = lambda **_: str(path)  # no download, this file
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=vocab)
    finally:
        keras_imdb.get_file = original
    pad = keras.utils.pad_sequences
    return [pad(x_train, maxlen=length), y_train, pad(x_test, maxlen=length), y_test]


def test_ids_equal_keras_load_data_then_pad_sequences(tmp_path: Path) -> None:
    path = write_imdb(tmp_path / "imdb.npz")
    data = load(ir.IMDB(path=str(path), vocab=100, length=16), vocab=100)  # a model's ids
    expected = keras_reference(path, vocab=100, length=16)
    np.testing.assert_array_equal(data.x_train, expected[0])
    np.testing.assert_array_equal(data.y_train, expected[1])
    np.testing.assert_array_equal(data.x_test, expected[2])
    np.testing.assert_array_equal(data.y_test, expected[3])
    assert data.x_train.dtype == np.int64 and data.x_train.shape == (40, 16)
    assert data.classes == 2 and data.sample_shape == (16,)
    assert data.x_train.max() == 99 and (data.x_train == imdb.OOV).any()


def test_the_encoding_by_hand() -> None:
    x = np.empty(1, dtype=object)
    x[0] = [5, 1, 200]  # ids 1 (start), 8, 4, 203 -> OOV with vocab 100
    rows = [imdb._keras_ids(Path("f"), "x_train", 0, x[0], vocab=100)]
    assert imdb.pad_pre(rows, 6).tolist() == [[0, 0, 1, 8, 4, 2]]
    assert imdb.pad_pre(rows, 3).tolist() == [[8, 4, 2]]  # truncated at the start


def test_padded_integer_arrays_are_taken_as_encoded_ids(tmp_path: Path) -> None:
    ids = np.array([[0, 0, 1, 7, 150], [1, 9, 9, 9, 3]], dtype=np.int32)
    np.savez(tmp_path / "p.npz", x_train=ids, y_train=[0, 1], x_test=ids[:1], y_test=[1])
    data = load(ir.IMDB(path=str(tmp_path / "p.npz"), vocab=100, length=4), vocab=100)
    assert data.x_train.tolist() == [[0, 1, 7, 2], [9, 9, 9, 3]]
    assert data.x_test.tolist() == [[0, 1, 7, 2]]
    assert data.y_train.tolist() == [0, 1]


def test_binary_task_gives_float_targets(tmp_path: Path) -> None:
    path = write_imdb(tmp_path / "imdb.npz")
    data = load(ir.IMDB(path=str(path), task="binary", vocab=100, length=16))
    assert data.y_train.dtype == np.float32 and data.y_train.shape == (40, 1)


def test_found_in_keras_cache_before_specc_downloads(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(isolated / "kh"))
    path = write_imdb(isolated / "kh" / "datasets" / "imdb.npz")
    data = load(ir.IMDB(vocab=100, length=16), progress=False)
    assert data.source == f"imdb from {path} (vocabulary 100, length 16)"
    home = write_imdb(isolated / "home" / ".keras" / "datasets" / "imdb.npz")
    monkeypatch.delenv("KERAS_HOME")
    assert load(ir.IMDB(vocab=100, length=16)).source.startswith(f"imdb from {home} ")
    mine = write_imdb(isolated / "mine" / "imdb" / "imdb.npz")
    monkeypatch.setenv("SPECC_DATA_DIR", str(isolated / "mine"))
    assert load(ir.IMDB(vocab=100, length=16)).source.startswith(f"imdb from {mine} ")


def test_not_found_without_download_lists_every_place(isolated: Path) -> None:
    with pytest.raises(DataError) as caught:
        load(ir.IMDB(), download=False)
    message = caught.value.message
    assert message.startswith("imdb is not on this machine. Searched:\n")
    assert (
        f"  - {search.cache_dir() / 'imdb' / 'imdb.npz'} (specc's cache): does not exist" in message
    )
    keras_file = isolated / "home" / ".keras" / "datasets" / "imdb.npz"
    assert f"  - {keras_file} (Keras): does not exist" in message


def test_keras_url_and_sha256_as_shipped() -> None:
    import importlib.util

    found = importlib.util.find_spec("specc.data.imdb")
    assert found is not None and found.loader is not None
    fresh = importlib.util.module_from_spec(found)  # as shipped, not the conftest's patch
    found.loader.exec_module(fresh)
    assert fresh.MIRRORS == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]
    assert fresh.CHECKSUM == (
        "sha256:69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
    )


def test_download_verifies_the_checksum(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    served = write_imdb(root / "imdb.npz")
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "MIRRORS", [url])
    monkeypatch.setattr(imdb, "CHECKSUM", "sha256:" + "0" * 64)
    with pytest.raises(DataError) as caught:
        load(ir.IMDB(vocab=100, length=16), progress=False)
    assert f"  - {url}imdb.npz: checksum mismatch: sha256 {digest}" in caught.value.message
    assert list((search.cache_dir() / "imdb").iterdir()) == []
    monkeypatch.setattr(imdb, "CHECKSUM", "sha256:" + digest)
    data = load(ir.IMDB(vocab=100, length=16), progress=False)
    cached = search.cache_dir() / "imdb" / "imdb.npz"
    assert data.source.startswith(f"imdb from {cached} ")
    assert cached.read_bytes() == served.read_bytes()


def test_offline_says_where_to_copy_the_file() -> None:
    with pytest.raises(DataError) as caught:
        load(ir.IMDB(), progress=False)
    assert caught.value.message.startswith(
        "imdb is not on this machine and cannot be downloaded (offline?)"
    )
    assert caught.value.hint == (
        f"copy Keras's imdb.npz (~/.keras/datasets/imdb.npz) into {search.cache_dir() / 'imdb'}"
    )


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_a_pickle_asking_for_code_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    x = np.empty(1, dtype=object)
    x[0] = Evil()
    np.savez(tmp_path / "e.npz", x_train=x, y_train=[0], x_test=x, y_test=[0])
    with pytest.raises(DataError) as caught:
        load(ir.IMDB(path=str(tmp_path / "e.npz")))
    assert caught.value.message == (
        f"{tmp_path / 'e.npz'} `x_train`: unreadable (it asks for `builtins.print`, "
        "which specc does not load)"
    )
    assert "pwned" not in capsys.readouterr().out
    assert pickle.dumps(Evil())  # the fixture really pickles a call


def test_missing_arrays_and_bad_labels_are_named(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x_train=np.zeros((2, 3), int), y_train=[0, 1])
    with pytest.raises(DataError) as missing:
        load(ir.IMDB(path=str(tmp_path / "a.npz")))
    assert missing.value.message == f"{tmp_path / 'a.npz'}: missing arrays x_test, y_test"
    x = np.zeros((2, 3), int)
    np.savez(tmp_path / "b.npz", x_train=x, y_train=[0], x_test=x, y_test=[0, 1])
    with pytest.raises(DataError) as caught:
        load(ir.IMDB(path=str(tmp_path / "b.npz")))
    assert "`y_train` must hold one integer label per review of `x_train` (2)" in str(
        caught.value.message
    )
    with pytest.raises(DataError, match="does not exist"):
        load(ir.IMDB(path=str(tmp_path / "none.npz")))


TRAIN = """model reviews {
    input 16 int
    embedding 300 8 pad=0
    global_avgpool
    dense 2 softmax
}
data imdb vocab=300 length=16 path="imdb.npz" { batch 32 shuffle }
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.02
    epochs 8
    metrics accuracy
    seed 0
}
"""


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_the_planted_signal_is_learned(backend: str, tmp_path: Path) -> None:
    """Rank 1 or 2 (ids 4, 5) decides the label: learned to >= 95% on held-out reviews;
    the same reviews without it stay near chance, so the data, not luck, carries it."""
    from specc.plan import RunOptions
    from specc.run import run

    spec = tmp_path / "reviews.nn"
    spec.write_text(TRAIN)
    accuracy = {}
    for signal in (True, False):
        write_imdb(tmp_path / "imdb.npz", n_train=512, n_test=256, signal=signal)
        out = str(tmp_path / f"run-{signal}")
        result = run(spec, RunOptions(backend=backend, out=out, quiet=True))
        accuracy[signal] = result.metrics["test_accuracy"]
    assert accuracy[True] >= 0.95, accuracy
    assert 0.35 <= accuracy[False] <= 0.65, accuracy


def test_the_cli_says_where_it_looked_and_emit_writes_the_reader(tmp_path: Path) -> None:
    """`specc run` without the file and without downloading: exit 1, the places searched,
    no traceback; `specc emit --target keras` writes the same reader into the script
    (tests/emit/test_imdb_script.py, tests/emit/test_text_data_scripts.py)."""
    from click.testing import CliRunner

    from specc.cli import main

    spec = tmp_path / "reviews.nn"
    spec.write_text(TRAIN.replace(' path="imdb.npz"', ""))
    answer = CliRunner().invoke(main, ["run", str(spec), "--no-download", "--quiet"])
    assert answer.exit_code == 1, answer.output
    assert "imdb is not on this machine. Searched:" in answer.output
    assert "Traceback" not in answer.output
    emitted = CliRunner().invoke(
        main, ["emit", str(spec), "--target", "keras", "-o", str(tmp_path / "s.py")]
    )
    assert emitted.exit_code == 0, emitted.output
    assert "def find_imdb(data_dir):" in (tmp_path / "s.py").read_text()
