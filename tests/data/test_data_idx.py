"""IDX files: round trips, and every kind of damage is a DataError that names the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError
from specc.data.idx import read_idx, write_idx
from specc.data.mnist import read_folder


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_round_trip(tmp_path: Path, dtype: str, name: str) -> None:
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    write_idx(tmp_path / "x.gz", np.arange(5, dtype=np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x.gz").read_bytes())  # gzipped, no .gz
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), np.arange(5))


def header(dims: tuple[int, ...], code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes()


CORRUPT = {
    "bad magic": (b"\x08\x03\x00\x00" + bytes(100), r"bad magic number 08030000; not an IDX file"),
    "empty": (b"", r"bad magic number \(empty file\)"),
    "unknown type": (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), r"bad magic number 00000701"),
    "short header": (header((60000, 28, 28))[:9], r"file ends inside its header \(truncated\)"),
    "truncated labels": (
        header((60000,)) + bytes(123),
        r"truncated: header says 60000 uint8 values but the file holds 123 "
        r"\(123 of 60000 data bytes\)",
    ),
    "truncated images": (
        header((100, 28, 28)) + bytes(28 * 28 * 3 + 5),
        r"truncated: header says 100 items of 28x28 uint8 but the file holds 3 "
        r"\(2357 of 78400 data bytes\)",
    ),
    "trailing bytes": (
        header((4,)) + bytes(5),
        r"header says 4 uint8 values but more data follows",
    ),
    "implausible": (header((1 << 20, 1 << 20, 1 << 20)), r"header dimensions .* are implausible"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_files_are_data_errors(tmp_path: Path, case: str, gz: bool) -> None:
    content, message = CORRUPT[case]
    path = tmp_path / ("f-idx-ubyte.gz" if gz else "f-idx-ubyte")
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(DataError, match=message) as caught:
        read_idx(path)
    assert caught.value.message.startswith(f"{path}: ")
    assert "delete it" in (caught.value.hint or "")


def test_not_gzip_although_named_gz(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(tmp_path / "plain", np.zeros((2, 2, 2), np.uint8))
    path.write_bytes((tmp_path / "plain").read_bytes())
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: not a gzip file"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "t.gz"
    write_idx(path, np.arange(5000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"t.gz: corrupt gzip data"):
        read_idx(path)


def test_garbled_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "g.gz"
    data = bytearray(gzip.compress(bytes(range(256)) * 50))
    data[20:40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"g.gz: corrupt gzip data"):
        read_idx(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope: cannot read"):
        read_idx(tmp_path / "nope")


def test_folder_needs_all_four_files(tmp_path: Path, make_mnist) -> None:  # type: ignore[no-untyped-def]
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as caught:
        read_folder(tmp_path, "x")
    assert (
        caught.value.message
        == f"{tmp_path}: not an MNIST-format folder; missing t10k-labels-idx1-ubyte"
    )


def test_image_and_label_counts_must_agree(tmp_path: Path, make_mnist) -> None:  # type: ignore[no-untyped-def]
    make_mnist(tmp_path, n_train=30)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(29, np.uint8))
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte.gz holds 30 images but .*train-labels-idx1-ubyte.gz holds 29 labels",
    ):
        read_folder(tmp_path, "x")


def test_images_must_be_three_dimensional(tmp_path: Path, make_mnist) -> None:  # type: ignore[no-untyped-def]
    make_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 784), np.uint8))
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte.gz: expected images .* got shape \(10, 784\)"
    ):
        read_folder(tmp_path, "x")


def test_train_and_test_images_must_have_one_size(tmp_path: Path, make_mnist) -> None:  # type: ignore[no-untyped-def]
    make_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 32, 32), np.uint8))
    with pytest.raises(
        DataError, match=r"training images are \(28, 28\) but test images are \(32, 32\)"
    ):
        read_folder(tmp_path, "x")
