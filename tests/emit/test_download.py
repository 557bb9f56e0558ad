"""Every target's MNIST script fails cleanly without a network, and checks what it fetched.

No test downloads: the proxies point at a closed local port, so every fetch fails at once.
PyTorch and MindSpore scripts fetch the files themselves (specc.data's mirror, into a
`.part` file, md5-checked); Keras and TensorFlow scripts call keras.datasets' loader.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from specc.data.mnist import CHECKSUMS, MIRRORS
from specc.emit.targets import NAMES
from tests.emit.conftest import SAMPLE, emit_text
from tests.emit.mindspore_env import mindspore_python

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
FAILURE = {
    "pytorch": "error: cannot download train-images-idx3-ubyte.gz",
    "mindspore": "error: cannot download train-images-idx3-ubyte.gz",
    "keras": "error: keras.datasets.mnist.load_data() failed",
    "tensorflow": "error: keras.datasets.mnist.load_data() failed",
}


def run(script: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HTTP_PROXY": CLOSED,
        "HTTPS_PROXY": CLOSED,
        "http_proxy": CLOSED,
        "https_proxy": CLOSED,
        "KERAS_HOME": str(folder / "keras"),  # no cached copy of keras.datasets' file
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "GLOG_v": "3",
    }
    # MindSpore's scripts run in its own venv (NumPy < 2, tests/emit/mindspore_env.py)
    python = mindspore_python() if "import mindspore" in script.read_text() else sys.executable
    argv = [str(python), str(script), "--epochs", "1", "--out", str(folder / "out")]
    return subprocess.run(
        argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )


CIFAR_FAILURE = {
    "pytorch": "error: cannot download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "mindspore": "error: cannot download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "keras": "error: keras.datasets.cifar10.load_data() failed",
    "tensorflow": "error: keras.datasets.cifar10.load_data() failed",
}


@pytest.mark.parametrize("target", NAMES)
@pytest.mark.parametrize("spec", ["cnn", "cifar_cnn"])
def test_no_network_is_a_located_error_not_a_traceback(
    tmp_path: Path, target: str, spec: str
) -> None:
    script = tmp_path / f"{spec}.py"
    script.write_text(emit_text(spec, target), encoding="utf-8")
    done = run(script, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (FAILURE if spec == "cnn" else CIFAR_FAILURE)[target] in done.stderr
    assert "pass --data-dir" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not (tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz").exists()


@pytest.mark.parametrize("target", ["pytorch", "mindspore"])
def test_downloads_use_specc_datas_mirror_and_checksums(target: str) -> None:
    script = emit_text("cnn", target)
    assert f'DOWNLOAD_URL = "{MIRRORS["mnist"][0]}"' in script
    for checksum in CHECKSUMS["mnist"].values():
        assert f'"{checksum.removeprefix("md5:")}",' in script
    assert 'urllib.request.urlretrieve(f"{DOWNLOAD_URL}{name}.gz", path + ".part")' in script


def test_a_damaged_file_is_refused_by_its_md5(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in CHECKSUMS["mnist"]:
        (folder / name).write_bytes(gzip.compress(b"not MNIST"))
    script = tmp_path / "cnn.py"
    script.write_text(emit_text("cnn", "pytorch"), encoding="utf-8")
    done = run(script, tmp_path)
    assert done.returncode == 1
    damaged = f"error: {os.path.join('data/mnist', 'train-images-idx3-ubyte.gz')} is damaged"
    assert f"{damaged} (md5 mismatch); delete it and retry" in done.stderr


def test_init_from_a_folder_without_weights_says_what_writes_them(tmp_path: Path) -> None:
    (tmp_path / "empty_run").mkdir()
    script = tmp_path / "finetune.py"
    script.write_text(emit_text("finetune", "pytorch"), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--init-from",
            "empty_run",
            "--out",
            "out",
            "--data-dir",
            str(SAMPLE),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        "error: no weights.safetensors or weights.npz in empty_run (`specc run` writes it, "
        "and scripts from `specc emit --interop`)"
    ) in done.stderr
