"""The emit machinery: names, literals, lowering, the capability table, the CLI."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.emit import NAMES, EmitError, UnknownTarget, emit, emit_plan
from specc.emit.env import py
from specc.emit.names import Namer, class_name
from specc.emit.targets import get_target
from specc.lowering.capabilities import all_features, unsupported
from tests.emit.conftest import GOLDEN, GOLDEN_SPECS, ROOT, SPECS

UNSUPPORTED = """model m {
    input 1x28x28
    flatten
    dense 10 softmax
}
data mnist_sample {
    batch 32 drop_last
    scale 1/255
    validation 0.1
}
train {
    loss sparse_categorical_crossentropy
    precision bf16
    epochs 1
}
"""


# ---- names and literals ---------------------------------------------------------------


def test_namer_renames_keywords_builtins_reserved_and_duplicates():
    namer = Namer({"model", "forward"})
    taken = [namer.take(n) for n in ("dense_1", "class", "print", "model", "forward", "dense_1")]
    assert taken == ["dense_1", "class_", "print_", "model_", "forward_", "dense_1_"]
    assert Namer().take("__import__") == "layer_import__"  # no private/mangled names


def test_class_name():
    assert class_name("mnist_mlp") == "MnistMlp"
    assert class_name("main", {"Main"}) == "MainModel"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-3, "0.001"),
        (1e-07, "1e-07"),
        (0.1 + 0.2, "0.30000000000000004"),  # shortest round-trip, never rounded
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ("a\nb", '"a\\nb"'),
        ((28, 28), "(28, 28)"),
        ((784,), "(784,)"),
        ([1, 2], "[1, 2]"),
        (True, "True"),
        (None, "None"),
    ],
)
def test_py_literals_read_back_exactly(value, text):
    assert py(value) == text
    assert ast.literal_eval(text) == value


# ---- lowering -------------------------------------------------------------------------


def test_trailing_softmax_is_fused_into_cross_entropy():
    plan = emit_plan(SPECS / "mnist.nn", "pytorch")
    assert plan.prediction == "softmax"
    assert [layer.kind for layer in plan.layers] == ["flatten", "dense", "dense"]
    assert plan.layers[-1].activation is None  # removed from dense_2
    assert plan.layers[-2].activation.kind == "relu"


def test_no_fusion_without_cross_entropy():
    plan = emit_plan(SPECS / "regression.nn", "pytorch")
    assert plan.prediction is None and plan.layers[-1].output == (1,)


def test_keras_gets_channels_last_data_and_a_permute_before_flatten():
    """Images come channels-last from the loader (no leading transpose); the features go
    back to channels-first before `flatten`, so a dense layer sees PyTorch's order."""
    plan = emit_plan(SPECS / "cnn.nn", "keras")
    kinds = [(layer.kind, layer.output) for layer in plan.layers]
    assert plan.channels_last_data and plan.input == (28, 28, 1)
    assert kinds[0] == ("conv2d", (26, 26, 32))
    assert kinds[kinds.index(("permute", (64, 5, 5))) + 1] == ("flatten", (1600,))
    assert [layer.args.get("dims") for layer in plan.layers if layer.kind == "permute"] == [
        (3, 1, 2)
    ]
    script = emit(analyze((SPECS / "cnn.nn").read_text(), "specs/cnn.nn"), "keras")
    assert "INPUT_SHAPE = (28, 28, 1)  # one example, channels last" in script
    assert "x_train[..., None], y_train, x_test[..., None], y_test" in script
    assert "to_channels_last" not in script
    torch_plan = emit_plan(SPECS / "cnn.nn", "pytorch")
    assert not torch_plan.channels_last_data
    assert all(layer.kind != "permute" for layer in torch_plan.layers)


def test_augment_keeps_channels_first_data_and_the_permute(tmp_path):
    """`augment` transforms channels-first images, so the model transposes them itself."""
    text = (SPECS / "cnn.nn").read_text().replace("scale 1/255", "scale 1/255\n    augment flip")
    spec = tmp_path / "cnn.nn"
    spec.write_text(text)
    plan = emit_plan(spec, "keras")
    assert not plan.channels_last_data and plan.input == (1, 28, 28)
    assert (plan.layers[0].kind, plan.layers[0].args.get("dims")) == ("permute", (2, 3, 1))


@pytest.mark.parametrize("target", NAMES)
def test_template_names_are_reserved(target):
    """Every module-level name a golden defines is in its target's reserved set, so a spec
    name can never shadow it."""
    reserved = get_target(target).reserved
    for path in (GOLDEN / target).glob("*.py"):
        tree = ast.parse(path.read_text())
        defined = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        spec = ROOT / GOLDEN_SPECS[path.stem]
        plan = emit_plan(spec, target)
        own = {class_name(plan.model_name), *(o.metrics_function for o in plan.outputs)}
        assert defined - own <= reserved, (path, defined - reserved)


def test_pytorch_reserves_every_nn_module_attribute():
    from torch import nn

    public = {name for name in dir(nn.Module()) if not name.startswith("_")}
    assert public <= get_target("pytorch").reserved


# ---- capabilities ---------------------------------------------------------------------


def test_unsupported_features_are_e600_at_their_span():
    analysis = analyze(UNSUPPORTED, "u.nn")
    found = unsupported(analysis, "keras")
    assert [(d.code, d.span.line, d.span.column) for d in found] == [
        ("E600", 7, 14),  # the `drop_last` word
        ("E600", 13, 15),  # the `bf16` word
    ]
    assert "last, smaller batch" in found[0].message and "bf16" in found[1].message
    with pytest.raises(EmitError) as err:
        emit(analysis, "keras")
    assert [d.code for d in err.value.diagnostics] == ["E600", "E600"]


def test_search_spaces_are_e601():
    with pytest.raises(EmitError) as err:
        emit(SPECS / "search.nn", "pytorch")
    assert [(d.code, d.span.line, d.span.column) for d in err.value.diagnostics] == [
        ("E601", 17, 22),
        ("E601", 17, 54),
    ]


def test_every_unsupported_key_is_a_known_feature():
    from specc.executors import BACKENDS

    known = set(all_features())
    for target in NAMES:
        assert set(get_target(target).unsupported) <= known, target
    for backend in BACKENDS:  # backends declare in the same feature vocabulary
        table = importlib.import_module(BACKENDS[backend]).UNSUPPORTED
        assert set(table) <= known, backend


def test_unknown_target_and_model():
    with pytest.raises(UnknownTarget):
        emit(SPECS / "mnist.nn", "jax")
    with pytest.raises(UnknownTarget, match="no model named 'nope'"):
        emit(SPECS / "mnist.nn", "pytorch", model="nope")


def test_model_option_picks_the_second_model():
    text = emit(SPECS / "mnist_deep.nn", "pytorch", model="deeper")
    assert "class Deeper(nn.Module):" in text and "--model deeper" in text


def test_emit_imports_no_framework():
    code = (
        "import sys; from specc.emit import emit\n"
        "from specc.emit import NAMES\n"
        "for t in NAMES: emit('specs/cnn.nn', t)\n"
        "bad = [m for m in ('torch', 'tensorflow', 'keras', 'mindspore') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---- command line ---------------------------------------------------------------------


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def test_cli_emit_to_stdout_and_file(tmp_path):
    out = invoke("emit", str(SPECS / "mnist.nn"), "--target", "pytorch")
    assert out.exit_code == 0 and out.output.startswith('"""Train `mnist_mlp`')
    target = tmp_path / "train.py"
    written = invoke("emit", str(SPECS / "mnist.nn"), "-t", "keras", "-o", str(target))
    assert written.exit_code == 0
    assert "python train.py --epochs 5" in target.read_text()


def test_cli_emit_without_ruff_says_how_to_get_it(monkeypatch, tmp_path):
    tidy = importlib.import_module("specc.emit.tidy")
    monkeypatch.setattr(tidy.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(tidy.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "ruff.__main__", None)  # the wheel's lookup: absent
    tidy.ruff_executable.cache_clear()
    try:
        out = invoke("emit", str(SPECS / "mnist.nn"), "--target", "pytorch")
    finally:
        tidy.ruff_executable.cache_clear()
    assert out.exit_code == 1
    assert "error: `specc emit` lays scripts out with ruff, which is not installed" in out.output
    assert "pip install ruff" in out.output and "Traceback" not in out.output


def test_interop_code_only_when_asked_or_used(tmp_path):
    """Neutral weights (specc's interop) are written only with --interop or `init from`."""
    plain = invoke("emit", str(SPECS / "quickstart.nn"), "-t", "pytorch").output
    asked = invoke("emit", str(SPECS / "quickstart.nn"), "-t", "pytorch", "--interop").output
    for name in ("def neutral_weights(", "def save_weights(", "LAYER_NAMES = {"):
        assert name not in plain and name in asked, name
    assert "save_weights(neutral_weights(model), args.out)" in asked
    assert "def transfer(" not in plain and "def transfer(" in asked  # --init-from RUN
    finetune = invoke("emit", str(SPECS / "finetune.nn"), "-t", "keras").output
    assert "def load_initial_weights(" in finetune and "def save_weights(" in finetune


def test_cli_emit_reads_stdin():
    out = invoke("emit", "-", "-t", "pytorch", stdin=(SPECS / "mnist.nn").read_text())
    assert out.exit_code == 0 and "class MnistMlp(nn.Module):" in out.output


def test_cli_emit_all_writes_every_available_target(tmp_path):
    out = invoke("emit", str(SPECS / "mnist.nn"), "--all", "-o", str(tmp_path))
    assert out.exit_code == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "mnist_mlp_pytorch.py" in written and "mnist_mlp_keras.py" in written


def test_cli_emit_errors(tmp_path):
    bad = tmp_path / "u.nn"
    bad.write_text(UNSUPPORTED)
    refused = invoke("emit", str(bad), "-t", "keras")
    assert (
        refused.exit_code == 1 and "error[E600]" in refused.output and "u.nn:7:14" in refused.output
    )
    broken = tmp_path / "b.nn"
    broken.write_text("model m {\n    input 8\n    dense\n}\n")
    assert invoke("emit", str(broken), "-t", "pytorch").exit_code == 1
    assert invoke("emit", str(bad)).exit_code == 2  # neither --target nor --all
    assert invoke("emit", str(bad), "--all").exit_code == 2  # --all without -o


def test_cli_targets_prints_the_table():
    out = invoke("targets")
    assert out.exit_code == 0
    lines = out.output.splitlines()
    assert lines[0].split()[:3] == ["feature", "pytorch", "keras"]
    row = next(line.split() for line in lines if line.startswith("precision.fp16"))
    assert row[1:3] == ["no", "no"]
    row = next(line.split() for line in lines if line.startswith("schedule.reduce_on_plateau"))
    assert row[1:3] == ["yes", "yes"]
    row = next(line.split() for line in lines if line.startswith("layer.conv2d "))
    assert row[1:3] == ["yes", "yes"]


def test_cli_check_with_target(tmp_path):
    bad = tmp_path / "u.nn"
    bad.write_text(UNSUPPORTED)
    assert invoke("check", str(bad)).exit_code == 0
    refused = invoke("check", str(bad), "--target", "keras")
    assert refused.exit_code == 1 and refused.output.count("error[E600]") == 2
    assert invoke("check", str(SPECS / "cnn.nn"), "--target", "keras").exit_code == 0
    searched = invoke("check", str(SPECS / "search.nn"), "--target", "pytorch")
    assert searched.exit_code == 1 and "error[E601]" in searched.output


# ---- the emitted learning-rate schedule equals specc's own ------------------------------

SCHEDULES = [
    "schedule cosine min_lr=1e-4\n    warmup 1",
    "schedule one_cycle max_lr=0.05 pct_start=0.25",
    "schedule step every=2 gamma=0.5\n    warmup steps=7",
    "schedule multistep milestones=[1, 3] gamma=0.1",
    "schedule exponential gamma=0.9",
    "schedule reduce_on_plateau monitor=val_loss patience=1 factor=0.5 min_lr=0.002\n    warmup 0.5",
]
PLATEAU_LOSSES = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_emitted_learning_rate_matches_specc_schedule(schedule):
    from specc.schedule import Schedule

    text = (
        "model m {\n    input 4\n    dense 2\n}\ndata synthetic features=4 { validation 0.2 }\n"
        f"train {{\n    loss mse\n    optimizer sgd lr=0.01\n    epochs 6\n    {schedule}\n}}\n"
    )
    analysis = analyze(text, "s.nn")
    assert analysis.ok, analysis.errors
    source = emit(analysis, "pytorch")
    tree = ast.parse(source)
    namespace: dict[str, object] = {"math": __import__("math")}
    for node in tree.body:  # only the schedule's own code: no torch needed
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in (
            "learning_rate",
            "Plateau",
        ):
            exec(ast.get_source_segment(source, node), namespace)
    steps, epochs = 13, 6
    reference = Schedule(analysis.spec.train, 0.01, steps, epochs)
    plateau = namespace["Plateau"](0.01) if "Plateau" in namespace else None
    learning_rate = namespace["learning_rate"]
    for epoch in range(epochs):
        expected = reference.epoch_lrs(epoch)
        for step in range(steps):
            extra = (plateau.scale,) if plateau else ()
            got = learning_rate(epoch * steps + step, 0.01, steps, steps * epochs, *extra)
            assert got == pytest.approx(expected[step], rel=1e-12, abs=1e-15), (epoch, step)
        logs = {"val_loss": PLATEAU_LOSSES[epoch]}
        reference.after_epoch(logs)
        if plateau:
            plateau.update(logs)


def test_emitted_augment_matches_specc_reference():
    import numpy as np

    from specc.data.augment import augment_batch

    text = (
        (SPECS / "cnn.nn").read_text().replace("scale 1/255", "augment flip shift=0.1 rotation=15")
    )
    analysis = analyze(text, "cnn.nn")
    source = emit(analysis, "keras")
    tree = ast.parse(source)
    namespace: dict[str, object] = {"np": np, "IMAGE_SHAPE": (1, 28, 28)}
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "augment")
    exec(ast.get_source_segment(source, node), namespace)
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)  # as the model sees it
    got = namespace["augment"](x, np.random.default_rng(7))
    want = augment_batch(
        x.reshape(5, 1, 28, 28), analysis.spec.data.transforms[0], np.random.default_rng(7)
    )
    assert got.shape == (5, 28, 28)
    np.testing.assert_allclose(got.reshape(5, 1, 28, 28), want, rtol=1e-6, atol=1e-6)
    assert not np.allclose(got, x)


def test_sink_specs_emit_clean_python(tmp_path):
    """The specs covering the rest of the vocabulary render to ruff-clean scripts."""
    from tests.emit.conftest import RUFF, RUFF_SELECT, SINK, ruff

    files = []
    for spec in sorted(SINK.glob("*.nn")):
        for target in NAMES:
            path = tmp_path / f"{spec.stem}_{target}.py"
            path.write_text(emit(analyze(spec.read_text(), f"sink/{spec.name}"), target))
            files.append(str(path))
    checked = ruff("check", *RUFF, *RUFF_SELECT, *files)
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--check", *RUFF, *files)
    assert formatted.returncode == 0, formatted.stdout


@pytest.mark.parametrize("shape", [(3, 4), (5, 3, 2, 2), (5, 3, 4)])
def test_keras_scripts_kernel_rule_is_the_weight_role_table(shape):
    """The Keras/TF scripts move kernels with one generic rule (templates/keras/model.j2);
    it must be exactly the `kernel` role of specc/lowering/weights.py for every rank."""
    import numpy as np

    from specc.ir.layer import Weight
    from specc.lowering.weights import native

    neutral = np.random.default_rng(0).normal(size=shape)
    held = native("keras", Weight("weight", shape, "kernel"))
    keras_array = np.transpose(neutral, held.perm)
    assert held.name == "kernel"
    np.testing.assert_array_equal(np.moveaxis(keras_array, (-1, -2), (0, 1)), neutral)
    np.testing.assert_array_equal(np.moveaxis(neutral, (0, 1), (-1, -2)), keras_array)


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("keras", "keras.py"),
        ("tensorflow", "tensorflow.py"),
        ("mindspore", "mindspore.py"),
        ("pytorch", "torch.py"),
        ("keras", "torch.py"),
        ("pytorch", "numpy.py"),
        ("pytorch", "argparse.py"),
    ],
)
def test_cli_emit_refuses_a_name_that_shadows_an_import(tmp_path, target, name):
    out = invoke("emit", str(SPECS / "mnist.nn"), "-t", target, "-o", str(tmp_path / name))
    assert out.exit_code == 2 and not (tmp_path / name).exists()
    module = name.removesuffix(".py")
    assert f"a script named {name} would shadow the `{module}` module" in out.output
    suggestion = tmp_path / f"mnist_mlp_{target}.py"
    assert f"use e.g. -o {suggestion}" in out.output
    assert (
        invoke("emit", str(SPECS / "mnist.nn"), "-t", target, "-o", str(suggestion)).exit_code == 0
    )


def test_suggested_names_never_shadow():
    from specc.emit.script_name import shadowed, suggested

    script = "import keras\nimport keras_keras\n"
    assert suggested("keras", "keras", script) == "keras_keras_train.py"
    assert shadowed(Path("csv.py"), "import csv.sub\n") == "csv"
    assert shadowed(Path("model.py"), script) is None
