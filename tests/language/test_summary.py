"""`specc summary`: parameter counts, shapes, FLOPs and activation memory per layer.

Numbers are checked two ways: hand-computed for small models, and against PyTorch, by
building the equivalent `torch.nn` modules for every spec in specs/ and counting
`p.numel()` (and running a forward pass to compare every layer's output shape).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.ir import layers as L
from specc.ir.sequence import is_sequence
from specc.summary import ModelSummary, summarize_all

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
TAIL = 'data npz "x.npz"\ntrain { loss sparse_categorical_crossentropy }\n'  # no static shape


def summary_of(model_body: str, name: str = "m") -> ModelSummary:
    analysis = analyze(f"model {name} {{\n{model_body}\n}}\n{TAIL}")
    assert analysis.ok, [d.message for d in analysis.errors]
    (summary,) = summarize_all(analysis.shapes)
    return summary


def rows(summary: ModelSummary) -> list[tuple[str, tuple[int, ...], int, int]]:
    return [(r.name, r.output, r.params, r.flops) for r in summary.layers]


# ---- hand-computed ------------------------------------------------------------------------


def test_dense_counts() -> None:
    s = summary_of("input 28x28\nflatten\ndense 512 relu\ndense 10 bias=false")
    assert rows(s) == [
        ("flatten_1", (784,), 0, 0),
        # 784*512 weights + 512 biases; 2 FLOPs per multiply-add, + 512 for the relu
        ("dense_1", (512,), 784 * 512 + 512, 2 * 784 * 512 + 512),
        ("dense_2", (10,), 512 * 10, 2 * 512 * 10),
    ]
    assert s.totals.params == 401_920 + 5_120
    assert s.totals.trainable_params == s.totals.params and s.totals.frozen_params == 0
    assert s.totals.flops == 2 * 784 * 512 + 512 + 2 * 512 * 10
    assert s.totals.activation_bytes == 4 * (784 + 512 + 10)  # fp32 outputs, per example
    assert s.totals.param_bytes == 4 * s.totals.params
    assert (s.input, s.output) == ((28, 28), (10,))


def test_conv_pool_counts() -> None:
    s = summary_of(
        "input 3x32x32\nconv2d 16 3 padding=same relu\nmaxpool2d 2\n"
        "conv2d 8 5 stride=2 bias=false\nglobal_avgpool"
    )
    assert rows(s) == [
        ("conv2d_1", (16, 32, 32), 3 * 16 * 9 + 16, 2 * 3 * 9 * 16 * 32 * 32 + 16 * 32 * 32),
        ("maxpool2d_1", (16, 16, 16), 0, 16 * 16 * 16 * 4),
        # (16 - 5) // 2 + 1 = 6
        ("conv2d_2", (8, 6, 6), 16 * 8 * 25, 2 * 16 * 25 * 8 * 6 * 6),
        ("global_avgpool_1", (8,), 0, 8 * 6 * 6),
    ]


def test_norm_counts() -> None:
    s = summary_of("input 4x8x8\nbatchnorm\nflatten\nlayernorm\ndense 10\nbatchnorm")
    assert [(r.name, r.params) for r in s.layers] == [
        ("batchnorm_1", 2 * 4),  # gamma and beta per channel; running stats are buffers
        ("flatten_1", 0),
        ("layernorm_1", 2 * 256),  # a scale and shift per normalised value
        ("dense_1", 256 * 10 + 10),
        ("batchnorm_2", 2 * 10),
    ]


def test_repeat_unrolls_with_names() -> None:
    s = summary_of("input 8\nrepeat 3 {\n dense 8 relu\n dropout 0.1\n}\ndense 2")
    assert [r.name for r in s.layers] == [
        "dense_1", "dropout_1", "dense_2", "dropout_2", "dense_3", "dropout_3", "dense_4",
    ]  # fmt: skip
    assert s.totals.params == 3 * (8 * 8 + 8) + (8 * 2 + 2)


def test_frozen_layers_are_counted_apart() -> None:
    s = summary_of("input 28x28\nflatten\ndense 512 relu frozen\ndense 10")
    dense_1 = s.layers[1]
    assert (dense_1.trainable_params, dense_1.frozen_params) == (0, 401_920)
    assert (s.totals.trainable_params, s.totals.frozen_params) == (5_130, 401_920)
    assert s.totals.params == 407_050


def test_only_the_named_model() -> None:
    analysis = analyze((ROOT / "specs" / "mnist_deep.nn").read_text())
    assert [s.name for s in summarize_all(analysis.shapes)] == ["baseline", "deeper"]
    assert [s.name for s in summarize_all(analysis.shapes, "deeper")] == ["deeper"]
    assert summarize_all(analysis.shapes, "nope") == []


# ---- against PyTorch ----------------------------------------------------------------------


def torch_module(layer: L.Layer, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """The torch.nn module with the same weights as `layer` for input `shape`."""
    import torch.nn as nn

    if isinstance(layer, L.Dense):
        return nn.Linear(shape[-1], int(layer.units), bias=layer.bias)  # per step on LxD
    if isinstance(layer, L.Conv2D):
        return nn.Conv2d(
            shape[0],
            int(layer.filters),
            L.pair(layer.kernel),
            stride=L.pair(layer.stride),
            padding=layer.padding_amount(),
            bias=layer.bias,
        )
    if isinstance(layer, L.BatchNorm):
        return (nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d)(shape[0])
    if isinstance(layer, L.LayerNorm):
        return nn.LayerNorm(list(shape))
    if isinstance(layer, L.MaxPool2D | L.AvgPool2D):
        pool = nn.MaxPool2d if isinstance(layer, L.MaxPool2D) else nn.AvgPool2d
        stride = L.pair(layer.stride) if layer.stride is not None else None
        return pool(L.pair(layer.pool), stride=stride)
    if isinstance(layer, L.Flatten):
        return nn.Flatten()
    if isinstance(layer, L.Reshape):
        return nn.Unflatten(1, tuple(layer.shape)) if len(shape) == 1 else nn.Identity()
    sequence = _sequence_module(layer, shape)
    if sequence is not None:
        return sequence
    if isinstance(layer, L.GlobalAvgPool):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return nn.Identity()  # activations and dropout: no weights, same shape


def _sequence_module(layer: L.Layer, shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """PyTorch's own layers for the sequence kinds (nn.LSTM, nn.TransformerEncoderLayer...)."""
    import torch
    import torch.nn as nn

    class Over(nn.Module):
        """`fn` as a module, holding `holds` (the PyTorch layer `fn` calls) for its parameters."""

        def __init__(self, fn, holds=None) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.fn, self.holds = fn, holds

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.fn(x)

    if isinstance(layer, L.GlobalAvgPool | L.GlobalMaxPool) and is_sequence(shape):
        return Over(lambda x: x.mean(1) if isinstance(layer, L.GlobalAvgPool) else x.amax(1))
    if isinstance(layer, L.Embedding):
        return nn.Embedding(int(layer.vocab), int(layer.dim))
    if isinstance(layer, L.PositionEmbedding):
        table = nn.Parameter(torch.zeros(shape))
        module = Over(lambda x: x + table)
        module.table = table
        return module
    if isinstance(layer, L.Conv1D) and is_sequence(shape):  # along L: D channels
        conv = nn.Conv1d(
            shape[-1],
            int(layer.filters),
            int(layer.kernel),
            stride=int(layer.stride),
            padding=layer.padding_amount(),
            bias=layer.bias,
        )
        return Over(lambda x: conv(x.transpose(1, 2)).transpose(1, 2), conv)
    if isinstance(layer, L.LSTM | L.GRU):
        kind = nn.LSTM if isinstance(layer, L.LSTM) else nn.GRU
        rnn = kind(
            shape[-1],
            int(layer.units),
            num_layers=int(layer.layers),
            batch_first=True,
            bidirectional=layer.bidirectional,
        )
        return Over(lambda x: rnn(x)[0] if layer.sequences else rnn(x)[0][:, -1], rnn)
    if isinstance(layer, L.Attention):
        mha = nn.MultiheadAttention(shape[-1], int(layer.heads), batch_first=True)
        return Over(lambda x: mha(x, x, x)[0], mha)
    if isinstance(layer, L.TransformerEncoder):
        return nn.TransformerEncoderLayer(
            shape[-1],
            int(layer.heads),
            int(layer.ff),
            batch_first=True,
            norm_first=layer.norm == "pre",
        )
    return None


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_counts_match_pytorch(spec: Path) -> None:
    import torch

    analysis = analyze(spec.read_text(), str(spec))
    assert analysis.ok
    for summary in summarize_all(analysis.shapes):
        infos = analysis.shapes[summary.name].layers
        tokens = analysis.shapes[summary.name].model.input.dtype == "int"  # type: ignore[union-attr]
        dtype = torch.long if tokens else torch.float32
        values = {  # every input in its own shape (specs/two_tower.nn has two)
            name: torch.zeros((1, *shape), dtype=dtype)
            for name, shape in analysis.shapes[summary.name].inputs
        }
        merges = {  # a graph's merges, by the documented meaning (docs/semantics.md#graphs)
            "add": lambda xs: sum(xs[1:], xs[0]),
            "multiply": lambda xs: math.prod(xs[1:], start=xs[0]),
            "average": lambda xs: sum(xs[1:], xs[0]) / len(xs),
            "concat": lambda xs: torch.cat(xs, dim=1),
        }
        total = trainable = 0
        with torch.no_grad():
            for row, info in zip(summary.layers, infos, strict=True):
                read = [values[source] for source in info.sources]
                if info.layer.kind_name() in merges:
                    values[info.name] = x = merges[info.layer.kind_name()](read)
                    assert row.params == 0
                    assert tuple(x.shape[1:]) == row.output, f"{summary.name}.{row.name} shape"
                    continue
                module = torch_module(info.layer, info.input)
                module.eval()
                for p in module.parameters():
                    p.requires_grad_(not info.layer.frozen)
                counted = sum(p.numel() for p in module.parameters())
                assert counted == row.params, f"{summary.name}.{row.name}"
                total += counted
                trainable += sum(p.numel() for p in module.parameters() if p.requires_grad)
                values[info.name] = x = module(read[0])
                assert tuple(x.shape[1:]) == row.output, f"{summary.name}.{row.name} shape"
                assert 4 * math.prod(x.shape[1:]) == row.activation_bytes
        assert (total, trainable) == (summary.totals.params, summary.totals.trainable_params)


def test_hand_built_models_match_pytorch() -> None:
    """The norm/conv/repeat cases above, counted by PyTorch too."""
    import torch.nn as nn

    s = summary_of("input 3x16x16\nconv2d 8 3 relu\nbatchnorm\nflatten\nlayernorm\ndense 10")
    reference = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LayerNorm(8 * 14 * 14),
        nn.Linear(8 * 14 * 14, 10),
    )  # fmt: skip
    assert s.totals.params == sum(p.numel() for p in reference.parameters())


# ---- the command ----------------------------------------------------------------------------


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["summary", *args])


def test_json_output() -> None:
    result = invoke(str(ROOT / "specs" / "finetune.nn"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    (model,) = payload["models"]
    assert model["name"] == "finetuned" and model["input"] == [28, 28] and model["output"] == [10]
    assert [layer["name"] for layer in model["layers"]] == ["flatten_1", "dense_1", "head"]
    dense = model["layers"][1]
    assert dense == {
        "name": "dense_1",
        "kind": "dense",
        "input": [784],
        "output": [512],
        "trainable_params": 0,
        "frozen_params": 401_920,
        "params": 401_920,
        "flops": 2 * 784 * 512 + 512,
        "activation_bytes": 2048,
        "reads": ["flatten_1"],
    }
    assert model["inputs"] == {"input": [28, 28]}
    assert model["totals"] == {
        "params": 407_050,
        "trainable_params": 5_130,
        "frozen_params": 401_920,
        "flops": 2 * 784 * 512 + 512 + 2 * 512 * 10 + 10,
        "activation_bytes": 4 * (784 + 512 + 10),
        "param_bytes": 4 * 407_050,
    }


def test_table_output() -> None:
    result = invoke(str(ROOT / "specs" / "mnist_deep.nn"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "model baseline: 28x28 -> 10" in out and "model deeper: 28x28 -> 10" in out
    assert "│ dense_4   │ dense   │    128 │    65,664 │" in out  # 512*128 + 128
    assert "params: 669,706 (669,706 trainable, 0 frozen), 2.6 MiB as fp32" in out
    assert "per example: 1,338,368 FLOPs" in out


def test_model_option() -> None:
    result = invoke(str(ROOT / "specs" / "mnist_deep.nn"), "--model", "baseline", "--json")
    assert [m["name"] for m in json.loads(result.output)["models"]] == ["baseline"]
    result = invoke(str(ROOT / "specs" / "mnist_deep.nn"), "--model", "nope")
    assert result.exit_code == 2
    assert "no model named 'nope'" in result.output and "models: baseline, deeper" in result.output


def test_spec_with_errors_shows_diagnostics(tmp_path: Path) -> None:
    spec = tmp_path / "bad.nn"
    spec.write_text("model m {\n    input 28x28\n    dense 10\n}\n" + TAIL)
    result = invoke(str(spec))
    assert result.exit_code == 1
    assert "error[E402]: `dense` needs a flat input" in result.output
    assert invoke(str(tmp_path / "missing.nn")).exit_code == 2


GRAPH = """model resnet {
    input 3x8x8
    conv2d 4 3 padding=same
    residual {
        conv2d 8 3 stride=2 padding=1; batchnorm; relu
        conv2d 8 3 padding=same
        shortcut { conv2d 8 1 stride=2 }
    }
    relu
    parallel concat {
        branch { conv2d 2 1 }
        branch { maxpool2d 3 stride=1; conv2d 3 3 padding=2 }
    }
    global_avgpool
    dense 2
}
""" + TAIL.replace("mnist_sample", 'npz "x.npz"')


def test_graph_summary_counts_blocks_and_shows_what_each_layer_reads(tmp_path: Path) -> None:
    spec = tmp_path / "graph.nn"
    spec.write_text(GRAPH)
    result = invoke(str(spec), "--json")
    assert result.exit_code == 0, result.output
    (model,) = json.loads(result.output)["models"]
    rows = {row["name"]: row for row in model["layers"]}
    # conv 3->4 (3x3), body conv 4->8 (3x3), batchnorm 8, conv 8->8 (3x3), shortcut 4->8 (1x1),
    # branch convs 8->2 (1x1) and 8->3 (3x3), dense 5->2
    expected = (4 * 3 * 9 + 4) + (8 * 4 * 9 + 8) + 16 + (8 * 8 * 9 + 8) + (8 * 4 + 8)
    expected += (2 * 8 + 2) + (3 * 8 * 9 + 3) + (2 * 5 + 2)
    assert model["totals"]["params"] == expected
    assert rows["residual_1"]["kind"] == "add (residual)"
    assert rows["residual_1"]["reads"] == ["conv2d_3", "conv2d_4"]
    assert rows["conv2d_4"]["reads"] == ["conv2d_1"]  # the shortcut reads the block's input
    assert rows["parallel_1"]["kind"] == "concat (parallel)"
    assert rows["parallel_1"]["reads"] == ["conv2d_5", "conv2d_6"]
    assert rows["parallel_1"]["output"] == [5, 4, 4]
    assert rows["maxpool2d_1"]["reads"] == ["relu_2"]
    table = invoke(str(spec)).output
    assert "reads" in table and "add (residual)" in table
