"""Emitted scripts read CIFAR-10 as specc.data does: both versions, the archive, bad files.

specs/cifar_cnn.nn's scripts train in every target's executed tests (on the python
version); here the PyTorch script also reads the binary version, extracts an archive it
"downloaded" (a local copy whose md5 the script is given), and names a damaged or
tampered batch in one `error:` line; a Keras script without `augment` gets channels-last
images straight from its reader. The data is written in the upstream formats
(tests/cifar_files.py).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

from specc.analysis import analyze
from specc.data.cifar_batches import PICKLE_GLOBALS, PYTHON
from specc.emit import emit
from tests import cifar_files as files
from tests.emit.conftest import ROOT, emit_text, history, lint, run_scripts

SPEC = (ROOT / "specs" / "cifar_cnn.nn").read_text(encoding="utf-8")
QUICK = ["--epochs", "2", "--batch-size", "32"]


def constants(script: str) -> dict[str, object]:
    """The script's module-level constants, evaluated."""
    found: dict[str, object] = {}
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                found[name] = eval(compile(ast.Expression(node.value), name, "eval"))
    return found


@pytest.mark.parametrize("target", ["pytorch", "mindspore", "keras", "tensorflow"])
def test_the_scripts_tables_are_specc_datas(target: str) -> None:
    script = emit_text("cifar_cnn", target)
    found = constants(script)
    assert found["CIFAR_BATCHES"] == list(PYTHON.batches())
    assert set(found["PICKLE_GLOBALS"]) == PICKLE_GLOBALS  # type: ignore[arg-type]
    if target in ("pytorch", "mindspore"):
        assert found["DOWNLOAD_URL"] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
        assert found["DOWNLOAD_MD5"] == "c58f30108f718f92721af3b95e74349a"
    else:
        assert "keras.datasets.cifar10.load_data()" in script and "DOWNLOAD_URL" not in found


def test_a_channels_last_keras_script_reads_images_channels_last() -> None:
    text = SPEC.replace("    augment flip shift=0.125\n", "")
    script = emit(analyze(text, "specs/cifar_cnn.nn"), "keras")
    assert "batches.append((x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), " in script
    assert "return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)" in script
    assert "layers.Permute" not in script  # no transpose inside the model
    assert "per_channel = (-1,)  # one value per channel (the last axis" in script
    assert lint(script) == []


def test_an_archive_as_the_specs_path_is_extracted_next_to_it() -> None:
    text = SPEC.replace("data cifar10 {", 'data cifar10 path="cifar-10-python.tar.gz" {')
    script = emit(analyze(text, "specs/cifar_cnn.nn"), "pytorch")
    assert 'DATA_PATH = "cifar-10-python.tar.gz"' in script
    assert "data_dir = extract(data_dir, os.path.dirname(data_dir))" in script
    assert "def download(" not in script and lint(script) == []


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], str]:
    out = tmp_path_factory.mktemp("cifar_scripts")
    arrays = files.cifar_arrays(per_batch=40, n_test=50, learnable=True)
    files.write_folder(out / "bin", files.binary_files(arrays))
    damaged = files.write_folder(out / "damaged", files.python_files(arrays))
    (damaged / "data_batch_3").write_bytes((damaged / "data_batch_3").read_bytes()[:700])
    tampered = files.write_folder(out / "tampered", files.python_files(arrays))
    (tampered / "test_batch").write_bytes(b"cos\nsystem\n(S'touch pwned'\ntR.")  # os.system
    # A "download" already in place: the archive (with members that try to escape)
    # where the script keeps it, and the script told that archive's md5.
    evil = {"../escaped": b"x", "cifar-10-batches-py/../../escaped2": b"x"}
    archive = files.write_archive(
        out / "work" / "data" / "cifar10" / "cifar-10-python.tar.gz",
        files.python_files(arrays),
        evil,
    )
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    script = emit_text("cifar_cnn", "pytorch")
    official = 'DOWNLOAD_MD5 = "c58f30108f718f92721af3b95e74349a"'
    assert official in script
    (out / "cifar_cnn.py").write_text(script.replace(official, f'DOWNLOAD_MD5 = "{md5}"'))
    keras_text = SPEC.replace("    augment flip shift=0.125\n", "")
    keras_script = out / "channels_last.py"
    keras_script.write_text(emit(analyze(keras_text, "specs/cifar_cnn.nn"), "keras"))
    python_folder = files.write_folder(out / "py", files.python_files(arrays))
    torch_runs = {
        "binary": ["--data-dir", str(out / "bin"), *QUICK],
        "downloaded": QUICK,  # no --data-dir: the archive in data/cifar10
        "damaged": ["--data-dir", str(damaged), *QUICK],
        "tampered": ["--data-dir", str(tampered), *QUICK],
    }
    argv = [[str(out / "cifar_cnn.py"), *a, "--out", str(out / n)] for n, a in torch_runs.items()]
    codes, output = run_scripts(argv, cwd=out / "work")
    keras_argv = [
        [str(keras_script), "--data-dir", str(python_folder), *QUICK, "--out", str(out / "keras")]
    ]
    keras_codes, keras_output = run_scripts(keras_argv, cwd=out / "work")
    names = [*torch_runs, "keras"]
    return out, dict(zip(names, codes + keras_codes, strict=True)), output + keras_output


def trained(out: Path) -> None:
    hist = history(out)
    losses = hist["loss"]
    assert isinstance(losses, list) and losses[-1] < losses[0], losses
    assert hist["test_accuracy"] > 0.3, hist  # type: ignore[operator]


@pytest.mark.parametrize("name", ["binary", "downloaded", "keras"])
def test_scripts_train_on_each_form_of_the_data(runs, name: str) -> None:  # type: ignore[no-untyped-def]
    out, codes, output = runs
    assert codes[name] == 0, output[-3000:]
    trained(out / name)


def test_the_archive_is_extracted_by_name_only(runs) -> None:  # type: ignore[no-untyped-def]
    out, codes, output = runs
    assert codes["downloaded"] == 0, output[-3000:]
    batches = out / "work" / "data" / "cifar10" / "cifar-10-batches-py"
    assert sorted(p.name for p in batches.iterdir()) == sorted(PYTHON.batches())
    assert not list(out.rglob("escaped*"))


def test_bad_batches_are_one_error_line(runs) -> None:  # type: ignore[no-untyped-def]
    out, codes, output = runs
    assert codes["damaged"] == 1 and codes["tampered"] == 1
    damaged = f"error: {out / 'damaged' / 'data_batch_3'} is not a CIFAR-10 python batch ("
    tampered = (
        f"error: {out / 'tampered' / 'test_batch'} is not a CIFAR-10 python batch "
        "(UnpicklingError('it asks for os.system'))"
    )
    assert damaged in output and tampered in output
    assert "Traceback" not in output and not list(out.rglob("pwned"))


@pytest.mark.parametrize("target", ["pytorch", "mindspore", "keras", "tensorflow"])
@pytest.mark.parametrize("source", ["mnist", "cifar10"])
def test_one_hot_on_an_image_set_checks_its_labels_first(target: str, source: str) -> None:
    shape = "1x28x28" if source == "mnist" else "3x32x32"
    text = (
        f"model m {{\n    input {shape}\n    flatten\n    dense 10 softmax\n}}\n"
        f"data {source} {{\n    one_hot\n}}\ntrain {{\n    loss categorical_crossentropy\n}}\n"
    )
    script = emit(analyze(text, "m.nn"), target)
    assert "y, y_test = check_labels(y), check_labels(y_test)  # class indices" in script
    assert "def check_labels(y):" in script and lint(script) == []
