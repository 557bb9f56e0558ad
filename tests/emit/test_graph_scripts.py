"""Graph models in emitted scripts: the variables read the way people write these models,
and the PyTorch, Keras and TensorFlow scripts compute the same model.

The wiring (which variable each layer reads and writes) is decided once by
specc/emit/graph.py; here it is checked on the rendered scripts, then executed: from one
initial weights file (`init from`, the spec's names in PyTorch's layout) the three
scripts train on one 32-digit batch of tests/emit/graphs/resnet.nn (residual blocks with
identity and projection shortcuts, a parallel concat block: channels-last inside the Keras
model). Their first-batch losses agree within 1e-5, and without batchnorm every epoch's
loss agrees to float32 round-off. The PyTorch model's parameter count is `specc
summary`'s. (`specc run` cannot train graphs on this branch yet; when the torch runner
can, its first-batch loss belongs beside these.)
"""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import Analysis, analyze, analyze_file
from specc.emit import emit, emit_plan
from specc.emit.targets import NAMES
from tests.emit.conftest import GOLDEN, ROOT, SAMPLE, history, lint, run_scripts

RESNET = ROOT / "tests" / "emit" / "graphs" / "resnet.nn"
TOLERANCE = 1e-6  # relative, per epoch of the graph without batchnorm (measured 1.1e-7)


def golden(target: str) -> str:
    return (GOLDEN / target / "graph_resnet.py").read_text(encoding="utf-8")


def body(script: str, start: str, end: str) -> list[str]:
    """The stripped lines of `script` from the line starting with `start` to `end`."""
    lines = [line.strip() for line in script.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(end))
    return [line.split("  #")[0] for line in lines[first + 1 : last + 1] if line]


# ---- how the scripts read ----------------------------------------------------------------


def test_pytorch_forward_reads_like_a_resnet() -> None:
    forward = body(golden("pytorch"), "def forward(self, x):", "return")
    assert forward == [
        "x = self.conv2d_1(x)",
        "x = self.batchnorm_1(x)",
        "x = torch.relu(x)",
        "skip = x",
        "x = self.conv2d_2(x)",
        "x = self.batchnorm_2(x)",
        "x = torch.relu(x)",
        "x = self.conv2d_3(x)",
        "x = self.batchnorm_3(x)",
        "x = x + skip",
        "x = torch.relu(x)",
        "skip = x",
        "x = self.conv2d_4(x)",
        "x = self.batchnorm_4(x)",
        "x = torch.relu(x)",
        "x = self.conv2d_5(x)",
        "x = self.batchnorm_5(x)",
        "skip = self.conv2d_6(skip)",
        "skip = self.batchnorm_6(skip)",
        "x = x + skip",
        "x = torch.relu(x)",
        "b1 = torch.relu(self.conv2d_7(x))",
        "b2 = torch.relu(self.conv2d_8(x))",
        "pool = self.maxpool2d_1(x)",
        "pool = torch.relu(self.conv2d_9(pool))",
        "x = torch.cat([b1, b2, pool], dim=1)",
        "x = self.maxpool2d_2(x)",
        "x = self.flatten_1(x)",
        "x = self.dense_1(x)",
        "return x",
    ]


def test_keras_builds_the_graph_with_the_functional_api() -> None:
    for target in ("keras", "tensorflow"):
        model = body(golden(target), "def build_model():", "return keras.Model")
        assert model[1] == "inputs = keras.Input(shape=INPUT_SHAPE)"
        assert (
            model[2]
            == 'x = layers.Conv2D(8, kernel_size=3, padding="same", name="conv2d_1")(inputs)'
        )
        for line in (
            "skip = x",
            'x = layers.Add(name="residual_1")([x, skip])',
            'skip = layers.Conv2D(16, kernel_size=1, strides=2, name="conv2d_6")(skip)',
            'x = layers.Add(name="residual_2")([x, skip])',
            'pool = layers.MaxPooling2D(3, strides=1, name="maxpool2d_1")(x)',
            'pool = layers.ZeroPadding2D(1, name="conv2d_9_padding")(pool)',
            'x = layers.Concatenate(axis=-1, name="parallel_1")([b1, b2, pool])',
            'return keras.Model(inputs, x, name="mnist_resnet")',
        ):
            assert line in model, (target, line)
        assert "keras.Sequential" not in golden(target)


def test_mindspore_construct_uses_the_same_variables() -> None:
    construct = body(golden("mindspore"), "def construct(self, x):", "return")
    assert "skip = x" in construct and construct.count("x = x + skip") == 2
    assert "skip = self.conv2d_6(skip)" in construct
    assert "x = ops.cat([b1, b2, pool], axis=1)" in construct


MERGES = """model m {{
    input 16
    dense 16 relu
    branch left {{ dense 8 relu }}
    branch right {{ dense 8 tanh }}
    {merge} left right
    dense 8 relu name=h
    dense 8
    add h
    parallel {block} {{
        branch {{ dense 8 }}
        branch {{ }}
    }}
    dense 3
}}
data synthetic classification samples=64 features=16 classes=3
train {{
    loss sparse_categorical_crossentropy
    epochs 1
}}
"""
# merge -> (PyTorch's line for `merge left right`, the parallel block's, Keras's layer)
MERGE_LINES = {
    "add": ("x = left + right", "x = b1 + x", "Add"),
    "multiply": ("x = left * right", "x = b1 * x", "Multiply"),
    "average": ("x = (left + right) / 2", "x = (b1 + x) / 2", "Average"),
    "concat": ("x = torch.cat([left, right], dim=1)", None, "Concatenate"),
}


@pytest.mark.parametrize("merge", sorted(MERGE_LINES))
def test_every_merge_and_named_branches(merge: str) -> None:
    block = "add" if merge == "concat" else merge  # a parallel block keeps the 8 features
    text = MERGES.format(merge=merge, block=block)
    analysis = analyze(text, "m.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    torch_line, block_line, keras_layer = MERGE_LINES[merge]
    forward = body(emit(analysis, "pytorch"), "def forward(self, x):", "return")
    assert forward[:4] == [
        "x = torch.relu(self.dense_1(x))",
        "left = torch.relu(self.dense_2(x))",
        "right = torch.tanh(self.dense_3(x))",
        torch_line,
    ]
    assert forward[4:8] == [
        "x = torch.relu(self.h(x))",
        "h = x",
        "x = self.dense_4(x)",
        "x = x + h",
    ]
    if block_line is not None:
        assert forward[8:10] == ["b1 = self.dense_5(x)", block_line]
    keras = emit(analysis, "keras")
    assert f"x = layers.{keras_layer}(" in keras and "([left, right])" in keras
    for target in NAMES:
        assert lint(emit(analysis, target)) == [], target


def test_a_branch_named_like_a_module_is_renamed() -> None:
    text = MERGES.format(merge="add", block="add").replace("left", "torch")
    forward = body(emit(analyze(text, "m.nn"), "pytorch"), "def forward(self, x):", "return")
    assert "torch_ = torch.relu(self.dense_2(x))" in forward
    assert "x = torch_ + right" in forward


def test_chains_keep_x_and_the_sequential_model() -> None:
    """A chain renders as before graphs existed (its goldens are unchanged)."""
    assert "keras.Sequential(" in (GOLDEN / "keras" / "cnn.py").read_text()
    forward = body((GOLDEN / "pytorch" / "cnn.py").read_text(), "def forward(self, x):", "return")
    assert all(line.startswith("x = ") or line == "return x" for line in forward), forward


# ---- the scripts compute the same model ---------------------------------------------------


def test_pytorch_parameter_count_is_the_summarys(tmp_path: Path) -> None:
    summary = analyze_file(RESNET).shapes["mnist_resnet"].params
    module = runpy.run_path(str(GOLDEN / "pytorch" / "graph_resnet.py"), run_name="graph_resnet")
    model = module["MnistResnet"]()
    assert sum(p.numel() for p in model.parameters()) == summary == 18_226


def _initial_weights(analysis: Analysis, path: Path) -> None:
    """Random kernels and biases by the spec's names in PyTorch's layout; batchnorm's
    scale 1, shift 0 and running statistics."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(5)
    arrays = {}
    for layer in emit_plan(analysis, "pytorch").weighted:
        for w in layer.weights:
            key = f"{layer.weights_name}.{w.name}"
            if w.init is None:
                arrays[key] = np.full(w.shape, w.constant, np.float32)
            else:
                arrays[key] = rng.normal(0, 0.1, w.shape).astype(np.float32)
    save_file(arrays, str(path))


# The golden's spec from one weights file, on one 32-digit batch per epoch with plain SGD
# (so epoch 1's loss is the first batch's, before any update); and the same graph without
# its batchnorm layers, whose training must agree step after step. (With batchnorm the
# per-batch standard deviation amplifies float32 round-off after each update, 4e-3 after
# one step here, as docs/parity.md#tolerances measures for the runners.)
CASES = {"resnet": "", "resnet_no_bn": r"^ *batchnorm\n"}  # case -> the lines it removes


@pytest.fixture(scope="module")
def losses(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[float]]:
    """Per-epoch training losses of each (case, target) script, from init.safetensors."""
    root = tmp_path_factory.mktemp("graph_parity")
    found: dict[tuple[str, str], list[float]] = {}
    runs: dict[str, list[tuple[tuple[str, str], list[str]]]] = {"torch": [], "tensorflow": []}
    for case, removed in CASES.items():
        (root / case).mkdir()
        text = RESNET.read_text(encoding="utf-8")
        text = re.sub(removed, "", text, flags=re.MULTILINE) if removed else text
        text = text.replace("mnist_resnet {", 'mnist_resnet {\n    init from "init.safetensors"')
        text = text.replace("adam lr=3e-3", "sgd lr=0.05").replace("batch 64 shuffle", "batch 32")
        # Max-pooling a ReLU's zeros ties; PyTorch and TensorFlow route a tie's gradient
        # to different elements (both valid), so the weights would part after one step.
        text = text.replace("maxpool2d", "avgpool2d")
        analysis = analyze(text, str(root / case / "resnet.nn"))
        assert analysis.ok, [d.message for d in analysis.errors]
        _initial_weights(analysis, root / case / "init.safetensors")
        for target in ("pytorch", "keras", "tensorflow"):
            script = root / case / f"resnet_{target}.py"
            script.write_text(emit(analysis, target), encoding="utf-8")
            argv = [str(script), "--data-dir", str(SAMPLE), "--limit", "32", "--epochs", "3"]
            framework = "torch" if target == "pytorch" else "tensorflow"
            runs[framework].append(((case, target), [*argv, "--out", str(root / case / target)]))
    for group in runs.values():
        codes, output = run_scripts([argv for _, argv in group], cwd=root / "resnet")
        assert codes == [0] * len(group), output[-3000:]
        for (case, target), _ in group:
            hist = history(root / case / target)["loss"]
            assert isinstance(hist, list) and len(hist) == 3
            found[(case, target)] = hist
    return found


@pytest.mark.parametrize("target", ["keras", "tensorflow"])
def test_the_first_batch_loss_is_pytorchs(
    losses: dict[tuple[str, str], list[float]], target: str
) -> None:
    """The golden's model (batchnorm, residual blocks, concat) from the same weights:
    measured 4.7e-6 relative."""
    expected, got = losses[("resnet", "pytorch")][0], losses[("resnet", target)][0]
    assert abs(got - expected) / expected < 1e-5, (target, expected, got)


@pytest.mark.parametrize("target", ["keras", "tensorflow"])
def test_the_graph_trains_as_in_pytorch(
    losses: dict[tuple[str, str], list[float]], target: str
) -> None:
    """Without batchnorm, every epoch's loss: measured within 1.1e-7 relative."""
    expected = np.array(losses[("resnet_no_bn", "pytorch")])
    got = np.array(losses[("resnet_no_bn", target)])
    assert expected[-1] < expected[0]  # it trained
    relative = np.abs(got - expected) / np.abs(expected)
    assert relative.max() < TOLERANCE, (target, expected, got, relative)


def _module_dict(script: str, name: str) -> dict[str, str]:
    """The literal dict `name = {...}` a script defines at module level."""
    tree = ast.parse(script)
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:  # type: ignore[attr-defined]
            return ast.literal_eval(node.value)  # type: ignore[no-any-return]
    raise AssertionError(f"no {name} in the script")


def test_neutral_weight_names_are_the_specs() -> None:
    """`--init-from RUN` matches arrays by the spec's names: every target saves under them."""
    analysis = analyze_file(RESNET)
    shapes = analysis.shapes["mnist_resnet"]
    spec_keys = {f"{i.name}.{w.name}" for i in shapes.layers for w in i.layer.weights(i.input)}
    assert "conv2d_6.weight" in spec_keys and "batchnorm_6.running_var" in spec_keys
    torch_names = _module_dict(emit(analysis, "pytorch", interop=True), "LAYER_NAMES")
    assert {f"{torch_names[k.split('.')[0]]}.{k.split('.')[1]}" for k in spec_keys} == spec_keys
    assert set(torch_names) == set(torch_names.values())  # no layer renamed
    ms_names = _module_dict(emit(analysis, "mindspore", interop=True), "WEIGHT_NAMES")
    assert set(ms_names.values()) == spec_keys
    keras = golden("keras")
    for layer in {k.split(".")[0] for k in spec_keys}:
        assert f'name="{layer}"' in keras, layer
