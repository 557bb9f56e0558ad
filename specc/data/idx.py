"""Reading and writing IDX files, the format MNIST and its relatives ship in.

An IDX file is a big-endian header (two zero bytes, a type code, the number of dimensions,
then each dimension as a uint32) followed by the values. Files may be gzipped; we tell by
the gzip magic bytes, not by the name. Anything that does not add up (bad magic, a header
promising more values than the file holds, trailing bytes) is a `DataError` naming the
file, because a silently misread dataset trains a model on garbage.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from specc.data.errors import DataError

# IDX type code -> big-endian numpy dtype.
IDX_TYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
GZIP_MAGIC = b"\x1f\x8b"
MAX_BYTES = 8 << 30  # a header promising more than 8 GiB is corrupt, not a dataset


def read_idx(path: Path) -> np.ndarray:
    """The array stored in one IDX file (plain or gzipped), in native byte order."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if path.suffix == ".gz" and not gzipped:
                raise DataError(f"{path}: not a gzip file (it ends in .gz)", _REPLACE)
            if gzipped:
                with gzip.GzipFile(fileobj=raw) as stream:
                    return _read_stream(stream, path)
            return _read_stream(raw, path)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: corrupt gzip data ({err})", _REPLACE) from err
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err


_REPLACE = "the file is damaged: delete it and download it again, or point `--data` elsewhere"


def _read_stream(stream: BinaryIO | gzip.GzipFile, path: Path) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_TYPES:
        raise DataError(
            f"{path}: bad magic number {head.hex() or '(empty file)'}; not an IDX file "
            "(expected 0000 then a type byte such as 08 and the number of dimensions)",
            _REPLACE,
        )
    dtype = np.dtype(IDX_TYPES[head[2]])
    ndim = head[3]
    if ndim == 0:
        raise DataError(f"{path}: IDX header has 0 dimensions", _REPLACE)
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(f"{path}: file ends inside its header (truncated)", _REPLACE)
    dims = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow on wild headers
    if expected > MAX_BYTES:
        raise DataError(f"{path}: header dimensions {dims} are implausible", _REPLACE)
    body = stream.read(expected + 1)
    shape = _describe(dims, dtype)
    if len(body) < expected:
        held = len(body) // (expected // dims[0])
        raise DataError(
            f"{path}: truncated: header says {shape} but the file holds {held} "
            f"({len(body)} of {expected} data bytes)",
            _REPLACE,
        )
    if len(body) > expected:
        raise DataError(f"{path}: header says {shape} but more data follows", _REPLACE)
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _describe(dims: tuple[int, ...], dtype: np.dtype) -> str:
    """`60000 uint8 values` or `60000 items of 28x28 uint8`, as a person would say it."""
    if len(dims) == 1:
        return f"{dims[0]} {dtype.name} values"
    return f"{dims[0]} items of {'x'.join(str(d) for d in dims[1:])} {dtype.name}"


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzipped when the name ends in .gz (tests, exports)."""
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_TYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    code = codes.get(dtype.str) if dtype.itemsize > 1 else {"u": 0x08, "i": 0x09}[dtype.kind]
    if code is None:
        raise ValueError(f"IDX cannot store {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        with gzip.GzipFile(path, "wb", mtime=0) as zipped:  # mtime=0: same bytes every time
            zipped.write(payload)
    else:
        path.write_bytes(payload)
