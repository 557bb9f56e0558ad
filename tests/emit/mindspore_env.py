"""A Python with MindSpore and NumPy < 2, for running emitted MindSpore scripts.

MindSpore 2.10 fails under NumPy 2 (batchnorm, tensor x float, asymmetric uniform init),
while the rest of the suite wants NumPy 2. So the MindSpore scripts run in a venv of their
own, made from the package index by the first test that needs it and kept between runs
under `.venvs/mindspore-<hash of mindspore-requirements.txt>/` (ignored by git): a
changed requirements file makes a fresh one. Creating it downloads MindSpore once
(about 1 GB unpacked to 2.8 GB; a few minutes); later runs only check that it imports.
`SPECC_MINDSPORE_PYTHON=/path/to/python` uses an existing interpreter instead.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("mindspore-requirements.txt")
PROBE = "import mindspore, numpy, safetensors; assert numpy.__version__ < '2'"
COMPLETE = ".complete"  # written last: a venv without it was interrupted while building


def venv_dir() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:10]
    return ROOT / ".venvs" / f"mindspore-{digest}"


def _works(folder: Path) -> bool:
    python = folder / "bin" / "python"
    if not (folder / COMPLETE).is_file() or not python.is_file():
        return False
    probe = subprocess.run([str(python), "-c", PROBE], capture_output=True, timeout=300)
    return probe.returncode == 0


@functools.cache
def mindspore_python() -> Path:
    """The interpreter to run MindSpore scripts with; builds the venv when it is missing."""
    given = os.environ.get("SPECC_MINDSPORE_PYTHON")
    if given:
        return Path(given)
    folder = venv_dir()
    folder.parent.mkdir(exist_ok=True)
    with open(folder.parent / ".mindspore.lock", "w") as lock:  # one builder at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _works(folder):
            shutil.rmtree(folder, ignore_errors=True)  # half-built by a killed run
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
            pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
            done = subprocess.run(
                [*pip, "-r", str(REQUIREMENTS)], capture_output=True, text=True, timeout=1800
            )
            if done.returncode != 0:
                raise RuntimeError(f"could not build {folder}:\n{done.stderr[-3000:]}")
            (folder / COMPLETE).write_text(REQUIREMENTS.read_text(encoding="utf-8"))
            if not _works(folder):
                raise RuntimeError(f"{folder}: MindSpore does not import after installing")
    return folder / "bin" / "python"
