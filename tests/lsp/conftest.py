"""Language-server sessions shared by the tests in this folder: one server that pushes
diagnostics and one that serves pulls, each a real `specc lsp` subprocess."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsp_client import Session

_names = itertools.count()


@pytest.fixture(scope="session")
def push(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session = Session(pull=False, cwd=tmp_path_factory.mktemp("push"))
    yield session
    session.close()


@pytest.fixture(scope="session")
def pull(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session = Session(pull=True, cwd=tmp_path_factory.mktemp("pull"))
    yield session
    session.close()


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """A fresh document name per test, so sessions shared between tests never mix them."""
    return (tmp_path / f"doc{next(_names)}.nn").as_uri()
