"""Finding MNIST-format sets: the search order, `--data` overrides, `path=`, and downloads.

Everything is local: HOME, caches and cwd are temporary (conftest), and downloads come
from an http.server on 127.0.0.1 serving small fake files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, load, mnist, search
from specc.ir import data as ir


def expect_arrays(data, arrays: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_array_equal(data.x_train[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(data.x_test[:, 0], arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])


def keras_npz(path: Path, n_train: int = 12, n_test: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=np.full((n_train, 28, 28), 7, np.uint8),
        y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=np.zeros((n_test, 28, 28), np.uint8),
        y_test=np.arange(n_test, dtype=np.uint8),
    )


# ---- search order ------------------------------------------------------------------


def test_search_order(isolated: Path, make_mnist, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    home, work = isolated / "home", isolated / "work"
    monkeypatch.setenv("TORCHVISION_ROOT", str(isolated / "tv"))
    # Fill every place from last to first; each time the earlier place must win.
    places = [
        ("torchvision $TORCHVISION_ROOT", isolated / "tv" / "MNIST" / "raw", 5),
        ("torchvision ~/data", home / "data" / "MNIST" / "raw", 6),
        ("torchvision ./data", work / "data" / "MNIST" / "raw", 7),
    ]
    for _, folder, n in places:
        arrays = make_mnist(folder, n_train=n, gz=n % 2 == 0)
        assert load(ir.MNIST()).source == f"mnist from {folder}"
        expect_arrays(load(ir.MNIST()), arrays)
    keras_npz(home / ".keras" / "datasets" / "mnist.npz", n_train=8)
    data = load(ir.MNIST())
    assert data.source == f"mnist from {home / '.keras' / 'datasets' / 'mnist.npz'}"
    assert len(data.x_train) == 8 and data.x_train.max() == 7
    monkeypatch.setenv("KERAS_HOME", str(isolated / "kh"))
    keras_npz(isolated / "kh" / "datasets" / "mnist.npz", n_train=9)
    assert len(load(ir.MNIST()).x_train) == 9
    cache = search.cache_dir() / "mnist"
    make_mnist(cache, n_train=10)
    assert load(ir.MNIST()).source == f"mnist from {cache}"
    monkeypatch.setenv("SPECC_DATA_DIR", str(isolated / "mine"))
    arrays = make_mnist(isolated / "mine" / "mnist", n_train=11, gz=False)
    data = load(ir.MNIST())
    assert data.source == f"mnist from {isolated / 'mine' / 'mnist'}"
    expect_arrays(data, arrays)


def test_fashion_mnist_keras_and_torchvision_layouts(isolated: Path, make_mnist) -> None:  # type: ignore[no-untyped-def]
    tv = isolated / "work" / "data" / "FashionMNIST" / "raw"
    make_mnist(tv, n_train=6)
    assert load(ir.FashionMNIST()).source == f"fashion_mnist from {tv}"
    keras = isolated / "home" / ".keras" / "datasets" / "fashion-mnist"
    arrays = make_mnist(keras, n_train=9)
    data = load(ir.FashionMNIST(validation=1 / 3))
    assert data.source == f"fashion_mnist from {keras}"
    assert data.sizes() == {"train": 6, "val": 3, "test": 10}
    np.testing.assert_array_equal(data.y_val, arrays["train-labels-idx1-ubyte"][6:])


def test_a_corrupt_file_in_the_search_path_is_reported_not_skipped(
    isolated: Path, make_mnist
) -> None:  # type: ignore[no-untyped-def]
    cache = search.cache_dir() / "mnist"
    make_mnist(cache)
    make_mnist(isolated / "work" / "data" / "MNIST" / "raw")
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: not a gzip file"):
        load(ir.MNIST())


def test_a_corrupt_keras_npz(isolated: Path) -> None:
    path = isolated / "home" / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"mnist.npz: missing arrays y_train, x_test, y_test"):
        load(ir.MNIST())


def test_not_found_without_download_lists_every_place(
    isolated: Path, make_mnist, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SPECC_DATA_DIR", str(isolated / "mine"))
    (isolated / "mine" / "mnist").mkdir(parents=True)
    with pytest.raises(DataError) as caught:
        load(ir.MNIST(), download=False)
    message = caught.value.message
    assert message.startswith("mnist is not on this machine. Searched:\n")
    for place in mnist.places("mnist"):
        assert str(place.path) in message
    assert (
        f"{isolated / 'mine' / 'mnist'} ($SPECC_DATA_DIR): missing train-images-idx3-ubyte"
        in message
    )
    assert "(torchvision): does not exist" in message
    assert "data mnist_sample" in (caught.value.hint or "")


# ---- overrides and path= -----------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_data_override_folder_keeps_the_specs_preprocessing(
    tmp_path: Path, make_mnist, gz: bool
) -> None:  # type: ignore[no-untyped-def]
    arrays = make_mnist(tmp_path / "kmnist", n_train=20, gz=gz)
    node = ir.MNIST(transforms=[ir.Scale(factor=0.5)], validation=0.25)
    data = load(node, override=str(tmp_path / "kmnist"))
    assert data.source == f"MNIST-format files in {tmp_path / 'kmnist'}"
    assert data.sizes() == {"train": 15, "val": 5, "test": 10}
    np.testing.assert_array_equal(data.x_train[:, 0], arrays["train-images-idx3-ubyte"][:15] * 0.5)
    assert data.classes == 10


def test_data_override_name(make_mnist) -> None:  # type: ignore[no-untyped-def]
    data = load(ir.MNIST(validation=0.5), override="mnist_sample", limit=10)
    assert data.source == "mnist_sample (bundled)"
    assert data.sizes() == {"train": 5, "val": 5, "test": 10}


def test_data_override_csv_and_npz_files(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,0.5\n3,4,1.5\n")
    spec = ir.CSV(path="elsewhere.csv", target="y", task="regression")
    data = load(spec, override=str(tmp_path / "t.csv"))
    np.testing.assert_array_equal(data.y_train, [[0.5], [1.5]])
    np.savez(tmp_path / "a.npz", x=np.ones((4, 3)), y=np.array([0, 1, 1, 0]))
    data = load(ir.MNIST(), override=str(tmp_path / "a.npz"))
    assert data.sample_shape == (3,) and data.classes == 2


def test_data_override_unknown(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load(ir.MNIST(), override="mnits")
    assert (
        caught.value.message
        == f"--data mnits: not a data set name and {Path('mnits')} does not exist"
    )
    assert "fashion_mnist, mnist, mnist_sample" in (caught.value.hint or "")


def test_data_override_folder_without_idx_files(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"not an MNIST-format folder; missing train-images-idx3-ubyte, "
    ):
        load(ir.MNIST(), override=str(tmp_path))


def test_path_in_the_spec_is_relative_to_the_spec_and_authoritative(
    tmp_path: Path, make_mnist
) -> None:  # type: ignore[no-untyped-def]
    arrays = make_mnist(tmp_path / "specs" / "digits")
    data = load(ir.MNIST(path="digits"), spec_dir=tmp_path / "specs")
    expect_arrays(data, arrays)
    with pytest.raises(DataError, match=r"`path` of `data mnist`: .*nowhere does not exist"):
        load(ir.MNIST(path="nowhere"), spec_dir=tmp_path / "specs")


def test_labels_beyond_ten_classes_in_an_mnist_spec(tmp_path: Path) -> None:
    from specc.data.idx import write_idx

    folder = tmp_path / "own"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", np.array([0, 25, 3], np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((1, 4, 4), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.array([1], np.uint8))
    data = load(ir.MNIST(), override=str(folder))  # another MNIST-format set: classes from labels
    assert data.classes == 26 and data.sample_shape == (1, 4, 4)
    with pytest.raises(DataError, match=r"label 25 but the set has 10 classes"):
        load(ir.MNIST(path=str(folder)))


# ---- downloads ---------------------------------------------------------------------


def served_set(root: Path, make_mnist, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    arrays = make_mnist(root, n_train=20)
    files = [root / f"{stem}.gz" for stem in mnist.FILES]  # download order: the table's order
    table = {f.name: "sha256:" + hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", table)
    return arrays


def test_download_once_into_the_cache(server, make_mnist, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    arrays = served_set(root, make_mnist, monkeypatch)
    monkeypatch.setitem(mnist.MIRRORS, "mnist", ["http://127.0.0.1:9/", url])  # first one is down
    data = load(ir.MNIST(), progress=False)
    cache = search.cache_dir() / "mnist"
    assert data.source == f"mnist from {cache} (downloaded)"
    expect_arrays(data, arrays)
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist.CHECKSUMS["mnist"])
    for f in root.glob("*.gz"):
        f.unlink()  # the mirror is gone: the second load must come from the cache
    assert load(ir.MNIST()).source == f"mnist from {cache}"


def test_mirrors_from_the_environment(server, make_mnist, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    served_set(root, make_mnist, monkeypatch)
    monkeypatch.setenv("SPECC_MNIST_MIRRORS", f"http://127.0.0.1:9/mnist, {url}")
    assert load(ir.MNIST()).source.endswith("(downloaded)")
    # Not a terminal: one plain line per attempt instead of a progress bar.
    assert f"specc: downloading {url}t10k-labels-idx1-ubyte.gz\n" in capsys.readouterr().err


def test_progress_bar_on_a_terminal(server, make_mnist, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    served_set(root, make_mnist, monkeypatch)
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [url])
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert load(ir.MNIST()).source.endswith("(downloaded)")
    assert "specc: downloading" not in capsys.readouterr().err


def test_checksum_mismatch_leaves_no_file(
    server, make_mnist, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    served_set(root, make_mnist, monkeypatch)
    table = dict(mnist.CHECKSUMS["mnist"], **{"train-labels-idx1-ubyte.gz": "sha256:" + "0" * 64})
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", table)
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [url])
    with pytest.raises(DataError) as caught:
        load(ir.MNIST(), progress=False)
    assert caught.value.message.startswith(
        "mnist is not on this machine and downloading train-labels-idx1-ubyte.gz failed. "
        "Searched:\n"
    )
    assert "SPECC_MNIST_MIRRORS" in (caught.value.hint or "")
    assert f"{url}train-labels-idx1-ubyte.gz: checksum mismatch: sha256 " in caught.value.message
    cache = search.cache_dir() / "mnist"
    # The verified file before it stays; the bad one and any .part file are gone.
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_http_error_is_reported(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, _ = server  # serves nothing: 404 for every file
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [url])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: HTTP 404"):
        load(ir.MNIST(), progress=False)


def test_offline_lists_every_place_and_suggests_the_sample() -> None:
    with pytest.raises(DataError) as caught:
        load(ir.FashionMNIST(), progress=False)
    message = caught.value.message
    assert message.startswith(
        "fashion_mnist is not on this machine and cannot be downloaded (offline?)"
    )
    for place in mnist.places("fashion_mnist"):
        assert f"  - {place.path} ({place.what}): " in message
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz: unreachable" in message
    assert "`data mnist_sample`" in (caught.value.hint or "")
    assert not any((search.cache_dir() / "fashion_mnist").glob("*"))


def test_interrupted_transfer_leaves_no_partial_file(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from specc.data.download import DownloadFailed, fetch

    url, _ = server
    folder = search.cache_dir() / "x"
    with pytest.raises(DownloadFailed) as caught:
        fetch("cut-off.gz", [url], "sha256:" + "0" * 64, folder, progress=False)
    [(tried, reason)] = caught.value.attempts
    assert tried == f"{url}cut-off.gz" and reason == "interrupted (got 10 of 1000 bytes)"
    assert not caught.value.offline
    assert list(folder.iterdir()) == []


def test_a_malformed_mirror_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECC_MNIST_MIRRORS", "example.org/mnist")
    with pytest.raises(DataError) as caught:
        load(ir.MNIST(), progress=False)
    assert (
        "  - example.org/mnist/train-images-idx3-ubyte.gz: not a usable URL (unknown url type"
        in (caught.value.message)
    )
