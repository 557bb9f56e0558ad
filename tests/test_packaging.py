"""The wheel works outside the checkout: build it, install it into a fresh venv, run it.

The fresh venv has no network and no copy of the dependencies, so a `.pth` file lends it
the current environment's site-packages (a plain path entry: the `.pth` files in there,
such as an editable install pointing at this checkout, are NOT processed). specc itself
comes only from the wheel, and everything runs from a temporary folder, so a file the
wheel forgot (the grammar, the templates, the bundled data) fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(
    args: list[str | Path], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_NO_INDEX"] = "1"  # nothing may come from the network
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the python of a fresh venv with only that wheel of specc installed)."""
    tmp = tmp_path_factory.mktemp("packaging")
    dist = tmp / "dist"
    # --no-isolation: the build backend (hatchling) is a test dependency, so no download.
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist], ROOT)
    (wheel,) = dist.glob("specc_nn-*.whl")  # the distribution is specc-nn
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp
        ).stdout.strip()
    )
    lent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_lent_dependencies.pth").write_text("\n".join(sorted(lent)) + "\n")
    # pip comes from the lent site-packages but installs into the venv it runs in.
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], tmp)
    return wheel, python


def test_wheel_contents(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "specc/grammar/specc.lark",
        "specc/cli/__init__.py",
        "specc/ir/layers.py",
        "specc/datasets/mnist_sample/train-images-idx3-ubyte.gz",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    assert any(n.startswith("specc/templates/") and n.endswith(".j2") for n in names)
    assert not any(n.startswith(("tests/", "specs/", "grammar/", "templates/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "specc = specc.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    headers = zipfile.ZipFile(wheel).read(metadata).decode().split("\n\n")[0].splitlines()
    assert "Name: specc-nn" in headers  # not `specc`: that name on PyPI is another project


def test_every_install_hint_names_our_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pip install "specc[...]"` would install the unrelated PyPI project `specc`."""
    from specc import DISTRIBUTION
    from specc.errors import BackendError
    from specc.executors import get

    assert DISTRIBUTION == "specc-nn"
    texts = {
        p: p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    }
    texts |= {p: p.read_text(encoding="utf-8") for p in (ROOT / "specc").rglob("*.py")}
    for path, text in texts.items():
        for wrong in ('install "specc[', "install 'specc[", "install specc[", "install specc\n"):
            assert wrong not in text, f"{path}: {wrong}"
    assert 'pip install "specc-nn[torch]"' in texts[ROOT / "README.md"]
    import specc.executors as executors

    def no_framework(name: str) -> object:
        return type("NoFramework", (), {"available": staticmethod(lambda: False)})

    monkeypatch.setattr(executors.importlib, "import_module", no_framework)
    with pytest.raises(BackendError) as err:
        get("torch")
    monkeypatch.undo()
    assert err.value.hint == 'install it: pip install "specc-nn[torch]"'


def test_installed_specc_checks_a_spec(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, python = installed
    shutil.copy(ROOT / "specs" / "mnist.nn", tmp_path / "mnist.nn")
    specc = python.parent / "specc"
    proc = _run([specc, "check", "mnist.nn"], tmp_path)
    assert proc.stderr == "1 file checked: 0 errors, 0 warnings\n"
    summary = _run([specc, "summary", "--json", "mnist.nn"], tmp_path)
    assert '"params": 407050' in summary.stdout
    (tmp_path / "bad.nn").write_text("model m {\n    input 28x28\n    dense 10\n}\n")
    bad = subprocess.run([specc, "check", "bad.nn"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "error[E402]" in bad.stdout


def test_resources_come_from_the_installed_package(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, python = installed
    where = _run(
        [
            python,
            "-c",
            "import specc, specc.resources as r; "
            "print(specc.__file__); print(r.grammar_path()); print(r.templates_dir()); "
            "print(r.bundled_dataset('mnist_sample'))",
        ],
        tmp_path,
    ).stdout.split()
    package = Path(where[0]).parent
    venv = python.parent.parent
    assert package.is_relative_to(venv), f"specc was imported from {package}, not the venv"
    assert Path(where[1]) == package / "grammar" / "specc.lark" and Path(where[1]).is_file()
    assert Path(where[2]) == package / "templates" and Path(where[2]).is_dir()
    assert Path(where[3]) == package / "datasets" / "mnist_sample"
    assert not Path(where[1]).is_relative_to(ROOT)
