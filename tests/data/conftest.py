"""Fixtures for the data layer: an isolated home, no network, small MNIST-format files."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from specc.data import cifar, imdb, mnist, search
from specc.data.idx import write_idx

# A port nothing listens on: any download attempted by mistake fails fast, locally.
UNREACHABLE = "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh HOME, cache and cwd; search-path variables unset; mirrors unreachable."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("SPECC_DATA_DIR", "KERAS_HOME", "TORCHVISION_ROOT", "SPECC_MNIST_MIRRORS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SPECC_FASHION_MNIST_MIRRORS", raising=False)
    monkeypatch.delenv("SPECC_CIFAR10_MIRRORS", raising=False)
    monkeypatch.delenv("SPECC_IMDB_MIRRORS", raising=False)
    monkeypatch.setattr(imdb, "MIRRORS", [UNREACHABLE])
    monkeypatch.setattr(cifar, "MIRRORS", [UNREACHABLE])
    monkeypatch.setattr(mnist, "MIRRORS", {"mnist": [UNREACHABLE], "fashion_mnist": [UNREACHABLE]})
    monkeypatch.setattr(search, "cache_dir", lambda: tmp_path / "cache" / "specc" / "datasets")
    monkeypatch.chdir(work)
    return tmp_path


def fake_images(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Distinct small images (first pixel = index) and labels 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    return images, (np.arange(n) % 10).astype(np.uint8)


def write_mnist_folder(
    folder: Path, n_train: int = 30, n_test: int = 10, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    """The four MNIST files of a small fake set; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_images(n_train, seed)
    x_test, y_test = fake_images(n_test, seed + 1)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": x_train,
        "train-labels-idx1-ubyte": y_train,
        "t10k-images-idx3-ubyte": x_test,
        "t10k-labels-idx1-ubyte": y_test,
    }
    for stem, array in arrays.items():
        write_idx(folder / f"{stem}{suffix}", array)
    return arrays


@pytest.fixture
def make_mnist() -> object:
    """`make_mnist(folder, n_train=30, n_test=10, gz=True, seed=0)` -> the arrays written."""
    return write_mnist_folder


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An http.server on 127.0.0.1 serving files from a folder: (base URL, folder)."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.endswith("cut-off.gz"):  # promises 1000 bytes, sends 10, hangs up
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"\x1f\x8b" + bytes(8))
                self.close_connection = True
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()
