"""Emitted scripts check what they are given: the spec's data `path`, flags, data files.

Every bad input ends the script with one `error: ...` line and exit 1 (argparse's usage
error and exit 2 for flags), never a traceback. The PyTorch scripts stand for all targets:
these checks live in templates/common/ (config.j2, data.j2), shared by every target.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.emit import NAMES, emit
from tests.emit.conftest import history, run_scripts

IMAGES = """
model digits {{
    input 28x28
    flatten
    dense 16 relu
    dense 10 softmax
}}
data mnist {path}{{
    scale 1/255
    batch 16 shuffle
}}
train {{
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-3
    epochs 1
    metrics accuracy
}}
"""

TABLE = """
model table {
    input 2
    dense 8 relu
    dense 3 softmax
}
data csv "t.csv" target="label" {
    batch 8
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 1
}
"""


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True, dims=None) -> None:
    """An IDX file of bytes; `dims` overrides the header's sizes (a lying header)."""
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, 8, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def image_set(folder: Path, n_train: int = 64, n_labels: int | None = None) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    labels = rng.integers(0, 10, n_train if n_labels is None else n_labels)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (16, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 16))
    return folder


def script(folder: Path, name: str, text: str, target: str = "pytorch") -> str:
    path = folder / name
    path.write_text(emit(analyze(text, f"{name}.nn"), target), encoding="utf-8")
    return str(path)


# (case, the data folder it gets, the message it must print)
BAD_IMAGES = {
    "truncated_gz": "is damaged (Compressed file ended before the end-of-stream marker",
    "wrong_idx_size": "its header says [64, 28, 28], 50176 bytes; it holds 49392",
    "not_idx": "t10k-labels-idx1-ubyte.gz is not an IDX file of bytes",
    "more_images": "holds (64, 28, 28) images, ",
    "label_range": "error: labels run from 0 to 12; the model has 10 classes, 0 to 9",
}
BINARY = (
    TABLE.replace("dense 3 softmax", "dense 1 sigmoid")
    .replace('target="label"', 'target="label" task=binary')
    .replace("sparse_categorical_crossentropy", "binary_crossentropy")
)
BAD_TABLES = {
    "header_only": ("a,b,label\n", "has no data rows under its header"),
    "ragged": ("a,b,label\n1,2,x\n3,y\n", "t.csv:3: 2 values, the header names 3"),
    "not_a_number": ("a,b,label\n1,2,x\n3,oops,y\n", "a feature value is not a number"),
    "no_target": ("a,b,kind\n1,2,x\n", "has no column 'label'"),
}
ARRAYS = TABLE.replace('data csv "t.csv" target="label"', 'data npz "a.npz"')
# (arrays in a.npz, the message)
BAD_ARRAYS = {
    "npz_rows": ({"x": np.zeros((10, 2)), "y": np.zeros(9)}, "a.npz: x has 10 rows, its targets 9"),
    "npz_test_rows": (
        {"x": np.zeros((10, 2)), "y": np.zeros(10), "x_test": np.zeros((4, 2)), "y_test": [0]},
        "a.npz: x_test has 4 rows, its targets 1",
    ),
    "npz_names": ({"inputs": np.zeros((10, 2))}, "has no arrays 'x' and 'y' (it has ['inputs'])"),
}
BAD_FLAGS = {
    "epochs": (["--epochs", "-1"], "argument --epochs: must be at least 1, not -1"),
    "batch": (["--batch-size", "0"], "argument --batch-size: must be at least 1, not 0"),
    "limit": (["--limit", "0"], "argument --limit: must be at least 1, not 0"),
    "lr": (["--lr", "-0.1"], "argument --lr: must be a finite number above 0, not -0.1"),
    "lr_nan": (["--lr", "nan"], "argument --lr: must be a finite number above 0, not nan"),
    "device": (["--device", "cuda:99"], "error: --device cuda:99 is not usable here: "),
    "device_name": (["--device", "nonsense"], "error: --device nonsense is not usable here: "),
}


def _bad_image_folders(root: Path) -> dict[str, Path]:
    folders = {case: image_set(root / case) for case in BAD_IMAGES if case != "more_images"}
    folders["more_images"] = image_set(root / "more_images", n_labels=56)
    gz = folders["truncated_gz"] / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    rng = np.random.default_rng(1)
    write_idx(
        folders["wrong_idx_size"] / "train-images-idx3-ubyte.gz",
        rng.integers(0, 256, (63, 28, 28)),
        dims=(64, 28, 28),
    )
    (folders["not_idx"] / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"hello"))
    write_idx(folders["label_range"] / "t10k-labels-idx1-ubyte.gz", np.r_[np.arange(15) % 10, 12])
    return folders


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("script_inputs")
    image_set(root / "digits")
    sample = image_set(root / "for_npz")
    arrays = {}
    for key, name in zip(
        ("x_train", "y_train", "x_test", "y_test"),
        (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ),
        strict=True,
    ):
        raw = gzip.decompress((sample / f"{name}.gz").read_bytes())
        arrays[key] = np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(
            [int(d) for d in np.frombuffer(raw, ">u4", count=raw[3], offset=4)]
        )
    np.savez(root / "digits.npz", **arrays)
    shutil.rmtree(sample)
    by_path = script(root, "by_path.py", IMAGES.format(path='path="digits" '))
    by_npz = script(root, "by_npz.py", IMAGES.format(path='path="digits.npz" '))
    plain = script(root, "plain.py", IMAGES.format(path=""))
    table = script(root, "table.py", TABLE)
    out = ["--out", str(root / "out")]
    argv = {
        "path": [by_path, "--epochs", "1", "--out", str(root / "path")],
        "npz": [by_npz, "--epochs", "1", "--out", str(root / "npz")],
    }
    for case, folder in _bad_image_folders(root / "bad").items():
        argv[case] = [plain, "--data-dir", str(folder), *out]
    for case, (text, _) in BAD_TABLES.items():
        (root / case).mkdir()
        (root / case / "t.csv").write_text(text, encoding="utf-8")
        argv[case] = [table, "--data-dir", str(root / case), *out]
    binary = script(root, "binary.py", BINARY)
    (root / "three_names").mkdir()
    (root / "three_names" / "t.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,z\n")
    argv["three_names"] = [binary, "--data-dir", str(root / "three_names"), *out]
    odd = script(root, "odd.py", TABLE.replace('target="label"', 'target="la\u2028bel"'))
    (root / "odd_names").mkdir()
    rows = "".join(f"{i % 3}.5,{i},{'xyz'[i % 3]}\n" for i in range(30))
    (root / "odd_names" / "t.csv").write_text("a\u2028b,c,la\u2028bel\n" + rows)
    argv["odd_names"] = [odd, "--data-dir", str(root / "odd_names"), "--out", "odd"]
    held_out = script(root, "held_out.py", TABLE.replace("batch 8", "batch 8\n    validation 0.5"))
    (root / "valid").mkdir()
    (root / "valid" / "t.csv").write_text("a,b,label\n" + rows.replace("\u2028", ""))
    argv["empty_train"] = [held_out, "--data-dir", str(root / "valid"), "--limit", "1", *out]
    arrays = script(root, "arrays.py", ARRAYS)
    for case, (content, _) in BAD_ARRAYS.items():
        (root / case).mkdir()
        np.savez(root / case / "a.npz", **content)
        argv[case] = [arrays, "--data-dir", str(root / case), *out]
    for case, (flags, _) in BAD_FLAGS.items():
        argv[case] = [by_path, *flags, *out]
    codes, output = run_scripts(list(argv.values()), cwd=root)  # relative paths: from root
    return root, dict(zip(argv, codes, strict=True)), output


@pytest.mark.parametrize("case", ["path", "npz"])
def test_the_spec_path_is_read_from_the_folder_the_script_runs_in(runs, case):
    root, codes, output = runs
    assert codes[case] == 0, output[-3000:]
    assert "64 training, 16 test examples" in output
    assert (root / case / "history.json").is_file()


@pytest.mark.parametrize("target", NAMES)
def test_a_spec_path_replaces_every_download(target):
    text = emit(analyze(IMAGES.format(path='path="digits" '), "p.nn"), target)
    assert 'DATA_PATH = "digits"' in text
    assert 'parser.add_argument("--data-dir", default=DATA_PATH' in text
    for download in ("load_data()", "DOWNLOAD_URL", "urllib"):
        assert download not in text, download


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_damaged_image_files_are_one_line_errors(runs, case):
    _, codes, output = runs
    assert codes[case] == 1, output[-3000:]
    assert BAD_IMAGES[case] in output
    assert "Traceback" not in output


@pytest.mark.parametrize("case", BAD_TABLES)
def test_damaged_csv_files_are_one_line_errors(runs, case):
    _, codes, output = runs
    assert codes[case] == 1, output[-3000:]
    assert BAD_TABLES[case][1] in output
    assert "Traceback" not in output


def test_csv_column_names_may_hold_a_line_separator(runs):
    """U+2028 in a column name: the script's constants, docstring and reader keep it whole."""
    root, codes, output = runs
    assert codes["odd_names"] == 0, output[-3000:]
    assert "30 training examples" in output
    assert len(history(root / "odd")["loss"]) == 1


def test_a_limit_that_leaves_no_training_example_is_one_line(runs):
    _, codes, output = runs
    assert codes["empty_train"] == 1, output[-3000:]
    assert "error: no train examples are left after --limit and the held-out splits" in output


def test_binary_targets_beyond_0_and_1_are_one_line(runs):
    _, codes, output = runs
    assert codes["three_names"] == 1, output[-3000:]
    assert "error: binary targets must be 0 and 1 (or two label names), not [0 1 2]" in output


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_damaged_npz_files_are_one_line_errors(runs, case):
    _, codes, output = runs
    assert codes[case] == 1, output[-3000:]
    assert BAD_ARRAYS[case][1] in output
    assert "Traceback" not in output


@pytest.mark.parametrize("case", BAD_FLAGS)
def test_bad_flags_are_one_line_errors(runs, case):
    root, codes, output = runs
    expected = 1 if case.startswith("device") else 2  # argparse: a usage error
    assert codes[case] == expected, output[-3000:]
    assert BAD_FLAGS[case][1] in output
    assert "Traceback" not in output
    assert not (root / "out" / "model.pt").exists()  # nothing trained, nothing saved


# --device on the other targets: a device this machine lacks (CUDA hidden from the
# frameworks) is one line and exit 1 before any training.
DEVICES = {
    "keras": ("gpu", "error: --device gpu is not on this machine (Keras placed a tensor on "),
    "tensorflow": ("gpu", "error: --device gpu: TensorFlow sees no GPU on this machine"),
    "mindspore": ("gpu", "error: --device gpu is not usable here: "),
}


@pytest.mark.parametrize("framework", ["tensorflow", "mindspore"])
def test_a_missing_device_is_one_line_on_every_target(tmp_path, framework):
    from tests.emit.mindspore_env import mindspore_python

    image_set(tmp_path / "digits")
    targets = ["keras", "tensorflow"] if framework == "tensorflow" else ["mindspore"]
    text = IMAGES.format(path='path="digits" ')
    argv = [
        [script(tmp_path, f"{t}_train.py", text, t), "--device", DEVICES[t][0], "--out", "o"]
        for t in targets
    ]
    env = {"CUDA_VISIBLE_DEVICES": "", "KERAS_BACKEND": "tensorflow", "GLOG_v": "3"}
    python = mindspore_python() if framework == "mindspore" else sys.executable
    codes, output = run_scripts(argv, env=env, python=python, cwd=tmp_path)
    assert codes == [1] * len(targets), output[-3000:]
    for t in targets:
        assert DEVICES[t][1] in output
    assert "Traceback" not in output
    assert not list(tmp_path.glob("o/*model*")) and not list(tmp_path.glob("o/*.json"))


SEEDED = """
model mlp {
    input 10
    dense 16 relu
    dense 3 softmax
}
data synthetic classification samples=128 features=10 classes=3 {
    batch 16 shuffle
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 1
    seed 7
}
"""


def test_interop_scripts_start_from_a_runs_weights(tmp_path):
    """`specc emit --interop` scripts take --init-from RUN: the run's weights, exactly (a
    negligible --lr keeps them); without it the script draws its own."""
    from click.testing import CliRunner
    from safetensors.numpy import load_file

    from specc.cli import main

    spec = tmp_path / "seeded.nn"
    spec.write_text(SEEDED, encoding="utf-8")
    run = CliRunner().invoke(main, ["run", str(spec), "--out", str(tmp_path / "run"), "-q"])
    assert run.exit_code == 0, run.output
    path = tmp_path / "seeded_pytorch.py"
    path.write_text(emit(analyze(SEEDED, str(spec)), "pytorch", interop=True), encoding="utf-8")
    argv = [
        [str(path), "--init-from", str(tmp_path / "run"), "--lr", "1e-30", "--out", "from_run"],
        [str(path), "--lr", "1e-30", "--out", "own"],
    ]
    codes, output = run_scripts(argv, cwd=tmp_path)
    assert codes == [0, 0], output[-3000:]
    assert f"initial weights from {tmp_path / 'run' / 'weights.safetensors'}" in output
    ran = load_file(tmp_path / "run" / "weights.safetensors")
    started = load_file(tmp_path / "from_run" / "weights.safetensors")
    own = load_file(tmp_path / "own" / "weights.safetensors")
    assert (
        set(ran)
        == set(started)
        == set(own)
        == {"dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"}
    )
    for key in ran:
        np.testing.assert_allclose(started[key], ran[key], rtol=0, atol=1e-6)
    assert not np.allclose(own["dense_1.weight"], ran["dense_1.weight"])


@pytest.mark.parametrize("target", NAMES)
def test_scripts_say_what_the_seed_does_and_does_not_share(target):
    plain = emit(analyze(SEEDED, "seeded.nn"), target)
    interop = emit(analyze(SEEDED, "seeded.nn"), target, interop=True)
    for text in (plain, interop):
        said = " ".join(text.split('"""')[1].split())  # the docstring, on one line
        assert "--seed (default 7, the spec's `seed`) seeds this script's own random draws" in said
        assert "`specc run --seed S` and this script with --seed S train differently" in said
    assert 'add_argument("--init-from"' not in plain and "def transfer(" not in plain
    said = " ".join(plain.split('"""')[1].split())
    assert "emit with `specc emit --interop` and pass --init-from RUN_DIR" in said
    assert 'parser.add_argument("--init-from", default=INIT_FROM' in interop
    assert "INIT_FROM = None" in interop and "if args.init_from:" in interop
