"""Whatever bytes a file holds, reading it gives arrays or a DataError, never a traceback."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.data import DataError, load
from specc.data.idx import read_idx
from specc.ir import data as ir

# Headers that look almost right make the fuzzing reach the length and type checks.
HEADERS = st.sampled_from([b"", b"\x00\x00\x08\x01", b"\x00\x00\x08\x03", b"\x00\x00\x0d\x02"])


@settings(max_examples=150, deadline=None)
@given(head=HEADERS, body=st.binary(max_size=64), gz=st.booleans())
def test_idx_reader_never_crashes(head: bytes, body: bytes, gz: bool) -> None:
    content = head + body
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("f.gz" if gz else "f")
        path.write_bytes(gzip.compress(content) if gz else content)
        try:
            array = read_idx(path)
        except DataError as err:
            assert err.message.startswith(f"{path}: ")
        else:
            assert isinstance(array, np.ndarray) and array.dtype.isnative


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from('ab,target\n"1.5-x\r '), max_size=60),
    task=st.sampled_from(["classification", "binary", "regression"]),
)
def test_csv_reader_never_crashes(text: str, task: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "t.csv").write_text(text, encoding="utf-8")
        try:
            data = load(ir.CSV(path="t.csv", task=task), spec_dir=Path(folder))
        except DataError as err:
            assert str(Path(folder) / "t.csv") in err.message
        else:
            assert data.x_train.dtype == np.float32 and len(data.x_train) == len(data.y_train)
