"""CST to IR: aliases, positional routing, flags, dispatch, and located errors."""

from __future__ import annotations

from specc.analysis import analyze
from specc.ir import strip_spans
from specc.ir.layers import Conv2D, Dense, Dropout, LeakyReLU
from specc.ir.losses import SparseCategoricalCrossentropy
from specc.ir.optimizers import SGD
from specc.ir.spaces import LogUniform

BASE = """
model m {{
    input 1x28x28
{layers}
}}
data mnist_sample {{ scale 1/255; batch 64 shuffle }}
train {{
{train}
}}
"""


def _analyze(
    layers: str = "    flatten\n    dense 10 softmax", train: str = "    loss cross_entropy"
):
    return analyze(BASE.format(layers=layers, train=train), "t.nn")


def test_keras_and_pytorch_spellings_share_one_canonical_form() -> None:
    keras = _analyze("    flatten\n    dense 10", "    loss sparse_categorical_crossentropy")
    torch = _analyze("    flatten\n    linear 10", "    loss cross_entropy")
    assert keras.ok and torch.ok
    assert strip_spans(keras.spec) == strip_spans(torch.spec)
    assert isinstance(torch.spec.train.loss, SparseCategoricalCrossentropy)  # type: ignore[union-attr]


def test_positional_values_flags_and_activation_routing() -> None:
    a = _analyze("    conv2d 32 3 relu stride=2 frozen\n    flatten\n    dense 10")
    assert a.ok, a.diagnostics
    conv = a.spec.models[0].layers[0]
    assert isinstance(conv, Conv2D)
    assert (conv.filters, conv.kernel, conv.stride, conv.frozen) == (32, 3, 2, True)
    assert conv.activation is not None and conv.activation.kind_name() == "relu"
    # An activation word goes to `activation` even when `kernel` is left out.
    b = _analyze("    conv2d 8 relu\n    flatten\n    dense 10")
    assert b.ok and b.spec.models[0].layers[0].kernel == 3  # type: ignore[union-attr]


def test_parametrised_kinds_and_search_spaces() -> None:
    a = _analyze(
        "    flatten\n    dense 10 leaky_relu(0.2) init=normal(0.02) bias_init=ones",
        "    loss cross_entropy\n    optimizer sgd lr=loguniform(1e-4, 1e-2) momentum=0.9 nesterov",
    )
    assert a.ok, a.diagnostics
    dense = a.spec.models[0].layers[1]
    assert isinstance(dense, Dense) and isinstance(dense.activation, LeakyReLU)
    assert dense.activation.slope == 0.2
    assert dense.init.kind_name() == "normal" and dense.init.std == 0.02  # type: ignore[union-attr]
    opt = a.spec.train.optimizer  # type: ignore[union-attr]
    assert isinstance(opt, SGD) and isinstance(opt.lr, LogUniform) and opt.nesterov


def test_argument_aliases_map_to_canonical_fields() -> None:
    a = _analyze("    flatten\n    dropout p=0.3\n    dense out_features=10")
    assert a.ok, a.diagnostics
    drop, dense = a.spec.models[0].layers[1:]
    assert isinstance(drop, Dropout) and drop.rate == 0.3
    assert isinstance(dense, Dense) and dense.units == 10


def test_errors_are_located_on_the_argument() -> None:
    a = _analyze("    flatten\n    dense 10 activaton=relu\n    dropout 1.5")
    by_code = {d.code: d for d in a.diagnostics}
    assert by_code["E202"].message == "`dense` has no argument `activaton`"
    assert by_code["E202"].help == "did you mean `activation`?"
    assert by_code["E202"].span.line == 5 and by_code["E202"].span.column == 14
    assert by_code["E301"].message == "`rate` must be < 1, found `1.5`"
    assert by_code["E301"].span.line == 6


def test_one_bad_layer_keeps_the_rest_of_the_spec() -> None:
    a = _analyze("    flatten\n    dense -1\n    dense 10", "    loss cross_entropy\n    epochs 3")
    assert [d.code for d in a.diagnostics] == ["E301"]
    assert a.spec.train is not None and a.spec.train.epochs == 3
    assert [layer.kind_name() for layer in a.spec.models[0].layers] == ["flatten", "dense"]
    assert a.shapes == {}  # shapes past a dropped layer would be wrong: not inferred


def test_search_space_bounds_are_checked() -> None:
    a = _analyze(train="    loss cross_entropy\n    optimizer adam lr=loguniform(0, 1e-2)")
    assert [(d.code, d.message) for d in a.diagnostics] == [
        ("E304", "a log scale needs low > 0, found low=0")
    ]


def test_shape_mismatch_points_at_both_layers() -> None:
    a = _analyze("    conv2d 8 3\n    maxpool2d 2\n    dense 10")
    (diag,) = a.diagnostics
    assert diag.code == "E402" and diag.span.line == 6
    assert diag.related[0].span.line == 5 and "13x13" in diag.related[0].message
    assert diag.help == "add `flatten` before it"


def test_lints_fire_with_numbers() -> None:
    a = _analyze(
        "    flatten\n    dense 7 softmax\n    softmax",
        "    loss cross_entropy\n    optimizer sgd lr=5",
    )
    codes = sorted(d.code for d in a.diagnostics)
    assert codes == ["W500", "W502", "W503"]
    w502 = next(d for d in a.diagnostics if d.code == "W502")
    assert w502.message == "the last layer gives 7 outputs, but `mnist_sample` has 10 classes"
    assert w502.fix == "10"


def test_a_frozen_repeat_freezes_every_layer_inside() -> None:
    a = _analyze("    flatten\n    repeat 2 frozen { dense 8 relu }\n    dense 10")
    assert a.ok, a.diagnostics
    infos = a.shapes["m"].layers
    assert [(i.name, i.trainable) for i in infos] == [
        ("flatten_1", True),
        ("dense_1", False),
        ("dense_2", False),
        ("dense_3", True),
    ]
    assert a.shapes["m"].trainable_params == 10 * 8 + 10


def test_a_bare_value_in_a_list_of_kinds_is_located() -> None:
    a = _analyze(train="    loss cross_entropy\n    metrics accuracy top_k_accuracy 2 f1")
    (diag,) = a.diagnostics
    assert diag.code == "E303" and diag.message == "`metrics` takes kinds, and `2` is not one"
    assert (diag.span.line, diag.span.column) == (10, 37)


def test_regression_output_width_is_linted() -> None:
    text = (
        "model r { input 4; dense 2 }\n"
        "data synthetic regression features=4 { batch 8 }\n"
        "train { loss mse }\n"
    )
    a = analyze(text, "r.nn")
    assert [(d.code, d.message) for d in a.diagnostics] == [
        ("W502", "the data has 1 target value per example, but the model gives 2")
    ]


def test_one_hot_on_real_valued_targets_is_refused() -> None:
    text = (
        "model r { input 4; dense 3 }\n"
        "data synthetic regression features=4 { one_hot }\n"
        "train { loss categorical_crossentropy }\n"
    )
    diags = analyze(text, "r.nn").diagnostics
    assert [(d.code, d.span.line) for d in diags] == [("E406", 2)]
    assert diags[0].message == "`one_hot` needs class labels, but the data's target is real-valued"
