"""CIFAR-10: both official versions, the archive, the search path, downloads, bad files.

Every file is written here in the upstream format (tests/data/cifar_files.py); HOME, the
caches and cwd are temporary and mirrors are local or unreachable (conftest).
"""

from __future__ import annotations

import hashlib
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, cifar, load, search
from specc.ir import data as ir
from tests import cifar_files as files


def assert_set(data, arrays: tuple[np.ndarray, ...]) -> None:  # type: ignore[no-untyped-def]
    x_train, y_train, x_test, y_test = arrays
    np.testing.assert_array_equal(data.x_train, x_train.astype(np.float32))
    np.testing.assert_array_equal(data.y_train, y_train)
    np.testing.assert_array_equal(data.x_test, x_test.astype(np.float32))
    np.testing.assert_array_equal(data.y_test, y_test)


def test_the_fixture_is_a_python2_pickle_read_with_bytes_keys(tmp_path: Path) -> None:
    x, y = files.images(2, 0)
    raw = files.python_batch(x, y, "training batch 1 of 5")
    ops = {op.name for op, _, _ in pickletools.genops(raw)}
    globals_ = [arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"]
    assert raw[:2] == b"\x80\x02" and "BINUNICODE" not in ops and "SHORT_BINSTRING" in ops
    assert globals_ == ["numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"]
    batch = pickle.loads(raw, encoding="bytes")  # how the CIFAR page says to read it
    assert sorted(batch) == [b"batch_label", b"data", b"filenames", b"labels"]
    assert batch[b"data"].shape == (2, 3072) and batch[b"labels"] == [0, 1]


def test_python_version(tmp_path: Path) -> None:
    arrays = files.write_python(tmp_path / "cifar-10-batches-py")
    data = load(ir.CIFAR10(path=str(tmp_path / "cifar-10-batches-py")))
    assert_set(data, arrays)
    assert data.sample_shape == (3, 32, 32) and data.classes == 10
    assert data.sizes() == {"train": 20, "val": 0, "test": 6}
    assert data.class_names == tuple(files.NAMES)
    # channel planes in order: red is the first 1024 values of a row, green the next
    row = files.python_files(files.cifar_arrays())  # same seeds, same pixels
    stored = pickle.loads(row["data_batch_1"], encoding="bytes")[b"data"]
    np.testing.assert_array_equal(data.x_train[0, 1].reshape(-1), stored[0, 1024:2048])


def test_binary_version_gives_the_same_numbers(tmp_path: Path) -> None:
    files.write_python(tmp_path / "py")
    arrays = files.write_binary(tmp_path / "bin")
    python, binary = (
        load(ir.CIFAR10(path="py"), spec_dir=tmp_path),
        load(ir.CIFAR10(path="bin"), spec_dir=tmp_path),
    )
    assert_set(binary, arrays)
    assert binary.fingerprint == python.fingerprint
    assert binary.class_names == tuple(files.NAMES)
    assert binary.source == f"cifar10 from {tmp_path / 'bin'}"


def test_the_archive_is_read_where_it_lies(tmp_path: Path) -> None:
    arrays = files.cifar_arrays()
    archive = files.write_archive(tmp_path / "cifar-10-python.tar.gz", files.python_files(arrays))
    data = load(ir.CIFAR10(path=str(archive)))
    assert_set(data, files.expected(arrays))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-python.tar.gz", "home", "work"]


def test_splits_limit_and_transforms(tmp_path: Path) -> None:
    x_train, y_train, x_test, _ = files.write_python(tmp_path / "c", per_batch=8, n_test=10)
    mean, std = [125.0, 120.0, 110.0], [60.0, 50.0, 40.0]
    node = ir.CIFAR10(
        path=str(tmp_path / "c"),
        transforms=[ir.Normalize(mean=mean, std=std), ir.Scale(factor=0.5)],
        validation=0.25,
    )
    data = load(node, limit=24)
    assert data.sizes() == {"train": 18, "val": 6, "test": 10}
    per_channel = (
        (x_train[:24].astype(np.float32) - np.float32(mean)[:, None, None])
        / np.float32(std)[:, None, None]
        * np.float32(0.5)
    )
    np.testing.assert_allclose(data.x_train, per_channel[:18], rtol=1e-6)
    np.testing.assert_allclose(data.x_val, per_channel[18:24], rtol=1e-6)
    np.testing.assert_array_equal(data.y_val, y_train[18:24])
    assert data.x_test.shape == (10, 3, 32, 32) and data.x_test[3, 0, 0, 0] == (3 - 125) / 60 * 0.5
    assert x_test[3, 0, 0, 0] == 3


# ---- the search path ---------------------------------------------------------------


def test_search_order(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, work = isolated / "home", isolated / "work"
    monkeypatch.setenv("TORCHVISION_ROOT", str(isolated / "tv"))
    cache = search.cache_dir() / "cifar10"
    # Fill every place from last to first; each time the earlier place must win.
    places = [
        (isolated / "tv" / "cifar-10-python.tar.gz", "archive"),
        (isolated / "tv" / "cifar-10-batches-py", "python"),
        (home / "data" / "cifar-10-batches-py", "python"),
        (work / "data" / "cifar-10-batches-py", "python"),
        (
            home / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py",
            "python",
        ),
        (home / ".keras" / "datasets" / "cifar-10-batches-py", "python"),
        (cache / "cifar-10-python.tar.gz", "archive"),
        (cache / "cifar-10-batches-bin", "binary"),
        (cache / "cifar-10-batches-py", "python"),
        (isolated / "mine" / "cifar10", "binary"),
    ]
    for n, (path, version) in enumerate(places, start=1):
        if path == isolated / "mine" / "cifar10":
            monkeypatch.setenv("SPECC_DATA_DIR", str(isolated / "mine"))
        arrays = files.cifar_arrays(per_batch=n)
        if version == "archive":
            files.write_archive(path, files.python_files(arrays))
        else:
            made = files.python_files(arrays) if version == "python" else files.binary_files(arrays)
            files.write_folder(path, made)
        data = load(ir.CIFAR10())
        assert data.source == f"cifar10 from {path}", n
        assert_set(data, files.expected(arrays))


def test_an_incomplete_folder_is_passed_over_and_listed(isolated: Path) -> None:
    folder = isolated / "work" / "data" / "cifar-10-batches-py"
    files.write_python(folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError) as caught:
        load(ir.CIFAR10(), download=False)
    message = caught.value.message
    assert message.startswith("cifar10 is not on this machine. Searched:\n")
    assert f"  - {folder} (torchvision): missing data_batch_3\n" in message
    for place in cifar.places():
        assert f"  - {place.path} ({place.what}): " in message
    assert "cifar-10-python.tar.gz" in (caught.value.hint or "")


def test_a_damaged_batch_in_the_search_path_is_reported_not_skipped(isolated: Path) -> None:
    folder = search.cache_dir() / "cifar10" / "cifar-10-batches-py"
    files.write_python(folder)
    files.write_python(isolated / "work" / "data" / "cifar-10-batches-py")
    (folder / "test_batch").write_bytes(b"\x80\x02}q\x00(U\x04da")  # cut off
    with pytest.raises(
        DataError, match=r"cifar-10-batches-py/test_batch: not a CIFAR-10 python batch"
    ):
        load(ir.CIFAR10())


# ---- downloads ---------------------------------------------------------------------


def serve_archive(
    root: Path, monkeypatch: pytest.MonkeyPatch, url: str, **extra: bytes
) -> tuple[np.ndarray, ...]:
    arrays = files.cifar_arrays()
    archive = files.write_archive(
        root / "cifar-10-python.tar.gz", files.python_files(arrays), extra
    )
    monkeypatch.setattr(cifar, "CHECKSUM", "md5:" + hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setattr(cifar, "MIRRORS", ["http://127.0.0.1:9/", url])  # the first is down
    return files.expected(arrays)


def test_download_checks_the_md5_and_extracts_once(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    arrays = serve_archive(root, monkeypatch, url)
    data = load(ir.CIFAR10(), progress=False)
    folder = search.cache_dir() / "cifar10" / "cifar-10-batches-py"
    assert data.source == f"cifar10 from {folder} (downloaded)"
    assert_set(data, arrays)
    assert [p.name for p in folder.parent.iterdir()] == ["cifar-10-batches-py"]  # archive gone
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*files.TRAIN, "test_batch", "batches.meta"]
    )
    (root / "cifar-10-python.tar.gz").unlink()  # the mirror is gone: found in the cache now
    assert load(ir.CIFAR10()).source == f"cifar10 from {folder}"


def test_the_official_url_and_md5_are_torchvisions() -> None:
    import importlib.util

    found = importlib.util.find_spec("specc.data.cifar")
    assert found is not None and found.loader is not None
    fresh = importlib.util.module_from_spec(found)  # as shipped, not the conftest's patch
    found.loader.exec_module(fresh)
    assert fresh.MIRRORS == ["https://www.cs.toronto.edu/~kriz/"]
    assert fresh.ARCHIVE == "cifar-10-python.tar.gz"
    assert fresh.CHECKSUM == "md5:c58f30108f718f92721af3b95e74349a"


def test_a_bad_checksum_is_refused_and_leaves_nothing(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    serve_archive(root, monkeypatch, url)
    monkeypatch.setattr(cifar, "CHECKSUM", "md5:" + "0" * 32)
    with pytest.raises(DataError) as caught:
        load(ir.CIFAR10(), progress=False)
    message = caught.value.message
    assert message.startswith(
        "cifar10 is not on this machine and downloading cifar-10-python.tar.gz failed."
    )
    assert f"  - {url}cifar-10-python.tar.gz: checksum mismatch: md5 " in message
    assert ", expected " + "0" * 32 in message
    assert "SPECC_CIFAR10_MIRRORS" in (caught.value.hint or "")
    assert list((search.cache_dir() / "cifar10").iterdir()) == []  # no archive, no .part


def test_offline_says_where_to_put_the_archive() -> None:
    with pytest.raises(DataError) as caught:
        load(ir.CIFAR10(), progress=False)
    assert caught.value.message.startswith(
        "cifar10 is not on this machine and cannot be downloaded (offline?)"
    )
    assert "http://127.0.0.1:9/cifar-10-python.tar.gz: unreachable" in caught.value.message
    assert (
        caught.value.hint
        == f"copy cifar-10-python.tar.gz (or the folder it holds) into {search.cache_dir() / 'cifar10'}"
    )


def test_mirrors_from_the_environment(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    serve_archive(root, monkeypatch, url)
    monkeypatch.setattr(cifar, "MIRRORS", ["http://127.0.0.1:9/"])
    monkeypatch.setenv("SPECC_CIFAR10_MIRRORS", f"http://127.0.0.1:9/x, {url}")
    assert load(ir.CIFAR10(), progress=False).source.endswith("(downloaded)")


def test_extraction_writes_only_the_batches(
    tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url, root = server
    evil = {
        "../escaped": b"x",
        "/tmp/specc-absolute-escape": b"x",
        "cifar-10-batches-py/../../escaped2": b"x",
        "cifar-10-batches-py/readme.html": b"<html>",
    }
    arrays = serve_archive(root, monkeypatch, url, **evil)
    assert_set(load(ir.CIFAR10(), progress=False), arrays)
    written = sorted(p.name for p in (search.cache_dir() / "cifar10").rglob("*"))
    assert written == sorted(["cifar-10-batches-py", *files.TRAIN, "test_batch", "batches.meta"])
    assert not list(tmp_path.rglob("escaped*")) and not Path("/tmp/specc-absolute-escape").exists()


def test_a_link_in_place_of_a_batch_is_not_followed(tmp_path: Path) -> None:
    import io
    import tarfile

    batches = files.python_files(files.cifar_arrays())
    del batches["data_batch_2"]
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("cifar-10-batches-py/data_batch_2")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(DataError, match=r"lacks cifar-10-batches-py/data_batch_2"):
        load(ir.CIFAR10(path=str(tmp_path / "b.tar.gz")))
    with pytest.raises(DataError, match=r"b.tar.gz: lacks data_batch_2"):
        cifar.extract(tmp_path / "b.tar.gz", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # the staging folder is gone too


# ---- bad files: one located message each ------------------------------------------------


class Shell:
    """What a tampered pickle would ask for: `os.system`."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, ("touch pwned",)


def batch_with(**changes: object) -> bytes:
    x, y = files.images(3, 0)
    batch = {b"data": x.reshape(3, -1), b"labels": [int(v) for v in y]}
    batch.update({k.encode(): v for k, v in changes.items()})
    return files.python2_pickle({k: v for k, v in batch.items() if v is not None})


BAD_PYTHON_BATCHES = {
    "cut off": (
        b"\x80\x02}q\x00(U\x04data",
        "not a CIFAR-10 python batch (the file ends inside it: truncated)",
    ),
    "not a pickle": (b"<html>404</html>", "not a CIFAR-10 python batch ("),
    "a list": (files.python2_pickle([1, 2]), "holds a list, not a CIFAR-10 batch"),
    "no labels": (batch_with(labels=None), "no labels in this batch (it holds data)"),
    "wrong width": (
        batch_with(data=np.zeros((3, 3000), np.uint8)),
        "images of 3000 values, not 3072 (3x32x32): not CIFAR-10",
    ),
    "floats": (
        batch_with(data=np.zeros((3, 3072), np.float32)),
        "`data` must be uint8 rows of 3072 pixels, not float32 (3, 3072)",
    ),
    "labels short": (batch_with(labels=[1, 2]), "3 images but `labels` is int64 (2,)"),
}


@pytest.mark.parametrize("case", sorted(BAD_PYTHON_BATCHES))
def test_a_bad_python_batch_is_named(tmp_path: Path, case: str) -> None:
    raw, message = BAD_PYTHON_BATCHES[case]
    folder = tmp_path / "c"
    files.write_python(folder)
    (folder / "data_batch_4").write_bytes(raw)
    with pytest.raises(DataError) as caught:
        load(ir.CIFAR10(path=str(folder)))
    assert caught.value.message.startswith(f"{folder / 'data_batch_4'}: {message}"), (
        caught.value.message
    )
    assert "delete it and download CIFAR-10 again" in (caught.value.hint or "")


def test_a_tampered_pickle_runs_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    files.write_python(folder)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Shell()}, protocol=2))
    with pytest.raises(
        DataError,
        match=r"test_batch: not a CIFAR-10 python batch \(it asks for `posix.system`, which specc does not load\)",
    ):
        load(ir.CIFAR10(path=str(folder)))
    assert not (Path.cwd() / "pwned").exists()


def test_bad_binary_batches(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    files.write_binary(folder)
    whole = (folder / "data_batch_2.bin").read_bytes()
    (folder / "data_batch_2.bin").write_bytes(whole[:-100])
    with pytest.raises(DataError) as caught:
        load(ir.CIFAR10(path=str(folder)))
    assert caught.value.message == (
        f"{folder / 'data_batch_2.bin'}: 12192 bytes is 3 records of 3073 bytes and 2973 more: "
        "each image is 1 label byte and 3072 pixel bytes (truncated or not CIFAR-10)"
    )
    (folder / "data_batch_2.bin").write_bytes(b"\x0c" + whole[1:])  # label 12
    with pytest.raises(
        DataError, match=r"b: label #4: label 12 but the set has 10 classes \(0..9\)"
    ):
        load(ir.CIFAR10(path=str(folder)))
    (folder / "data_batch_2.bin").write_bytes(whole)
    (folder / "batches.meta.txt").write_text("cat\ndog\n")
    with pytest.raises(DataError, match=r"batches.meta.txt: 2 class names, not 10"):
        load(ir.CIFAR10(path=str(folder)))


def test_missing_and_damaged_places(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    files.write_binary(folder)
    (folder / "test_batch.bin").unlink()
    (folder / "data_batch_5.bin").unlink()
    with pytest.raises(DataError) as caught:  # missing files named in the folder's version
        load(ir.CIFAR10(path=str(folder)))
    assert caught.value.message == (
        f"{folder}: not a CIFAR-10 folder; missing data_batch_5.bin, test_batch.bin"
    )
    for name in list(folder.iterdir()):
        name.unlink()
    with pytest.raises(DataError) as caught:  # no batch at all: the python version's names
        load(ir.CIFAR10(path=str(folder)))
    assert caught.value.message.startswith(
        f"{folder}: not a CIFAR-10 folder; missing data_batch_1, "
    )
    with pytest.raises(DataError, match=r"`path` of `data cifar10`: .*nowhere does not exist"):
        load(ir.CIFAR10(path="nowhere"), spec_dir=tmp_path)
    archive = files.write_archive(tmp_path / "a.tar.gz", files.python_files(files.cifar_arrays()))
    (tmp_path / "cut.tar.gz").write_bytes(archive.read_bytes()[:3000])
    with pytest.raises(
        DataError, match=r"cut.tar.gz: (not a readable .tar.gz archive|damaged archive)"
    ):
        load(ir.CIFAR10(path=str(tmp_path / "cut.tar.gz")))


# ---- --data overrides ----------------------------------------------------------------


def test_data_override_by_name_folder_and_archive(tmp_path: Path, isolated: Path) -> None:
    arrays = files.write_binary(tmp_path / "bin")
    node = ir.MNIST(validation=0.5)  # the spec's splits are kept
    data = load(node, override=str(tmp_path / "bin"))
    assert data.source == f"CIFAR-10 batches in {tmp_path / 'bin'}"
    assert data.sizes() == {"train": 10, "val": 10, "test": 6} and data.classes == 10
    np.testing.assert_array_equal(data.x_val, arrays[0][10:].astype(np.float32))
    archive = files.write_archive(tmp_path / "x.tar.gz", files.python_files(files.cifar_arrays()))
    assert load(node, override=str(archive)).fingerprint == data.fingerprint
    files.write_python(isolated / "work" / "data" / "cifar-10-batches-py")
    assert load(ir.MNIST(), override="cifar10").source.startswith("cifar10 from ")
    (tmp_path / "bin" / "data_batch_1.bin").unlink()
    with pytest.raises(DataError, match=r"not a CIFAR-10 folder; missing data_batch_1.bin"):
        load(node, override=str(tmp_path / "bin"))
