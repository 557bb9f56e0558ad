"""Graph models on the TensorFlow backend mean what docs/semantics.md#graphs says.

Each model is built from neutral weights and its Keras forward compared with a reference
written here by hand in plain torch functional ops (float64), one line per layer, reading
the same neutral arrays by the spec's names: a merge reading the wrong value, a concat on
the wrong axis, a shortcut that is not added or a flatten in channels-last order moves the
outputs by O(1), far above the 1e-5 used here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specc.init_weights import initial_weights
from specc.plan import RunPlan
from specc.summary import summarize
from tests.tensorflow.conftest import plan_of, spec


class Ref:
    """Plain torch functional layers on the neutral arrays, in float64. In training mode a
    batchnorm normalises with batch statistics and updates its running ones in place."""

    def __init__(self, weights: dict[str, np.ndarray], training: bool = False) -> None:
        self.w = {k: torch.from_numpy(v.astype(np.float64)) for k, v in weights.items()}
        self.training = training

    def conv(self, name: str, x: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
        return F.conv2d(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], stride, padding)

    def dense(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def bn(self, name: str, x: torch.Tensor, momentum: float = 0.1) -> torch.Tensor:
        w = self.w
        return F.batch_norm(
            x,
            w[f"{name}.running_mean"],
            w[f"{name}.running_var"],
            w[f"{name}.weight"],
            w[f"{name}.bias"],
            training=self.training,
            momentum=momentum,
            eps=1e-5,
        )


Forward = Callable[[Ref, torch.Tensor], torch.Tensor]

RESIDUAL_IDENTITY = """model m {
    input 3x6x6
    conv2d 4 3 padding=same relu
    residual {
        conv2d 4 3 padding=same
        relu
        conv2d 4 3 padding=same
    }
    relu
    flatten
    dense 3
}"""


def residual_identity(r: Ref, x: torch.Tensor) -> torch.Tensor:
    h = F.relu(r.conv("conv2d_1", x, padding=1))
    body = r.conv("conv2d_3", F.relu(r.conv("conv2d_2", h, padding=1)), padding=1)
    return r.dense("dense_1", F.relu(body + h).flatten(1))


RESIDUAL_PROJECTION = """model m {
    input 3x8x8
    residual {
        conv2d 4 3 stride=2 padding=1
        batchnorm momentum=0.2
        relu
        conv2d 4 3 padding=same
        batchnorm
        shortcut { conv2d 4 1 stride=2; batchnorm momentum=0.3 }
    }
    relu
    global_avgpool
    dense 3
}"""


def residual_projection(r: Ref, x: torch.Tensor) -> torch.Tensor:
    h = F.relu(r.bn("batchnorm_1", r.conv("conv2d_1", x, stride=2, padding=1), 0.2))
    body = r.bn("batchnorm_2", r.conv("conv2d_2", h, padding=1))
    shortcut = r.bn("batchnorm_3", r.conv("conv2d_3", x, stride=2), 0.3)
    return r.dense("dense_1", F.relu(body + shortcut).mean(dim=(2, 3)))


PARALLEL_CONCAT = """model m {
    input 3x7x7
    parallel concat {
        branch { conv2d 2 1 relu }
        branch { conv2d 3 3 padding=same }
        branch { maxpool2d 3 stride=1; conv2d 2 1 padding=1 }
    }
    flatten
    dense 3
}"""


def parallel_concat(r: Ref, x: torch.Tensor) -> torch.Tensor:
    a = F.relu(r.conv("conv2d_1", x))
    b = r.conv("conv2d_2", x, padding=1)
    c = r.conv("conv2d_3", F.max_pool2d(x, 3, stride=1), padding=1)
    return r.dense("dense_1", torch.cat([a, b, c], dim=1).flatten(1))


BRANCH_ADD = """model m {
    input 2x6x6
    conv2d 3 3 padding=same name=stem
    branch skip { conv2d 3 1 }
    relu
    conv2d 3 3 padding=same
    add skip
    flatten
    dense 4 relu name=h
    branch gate from=h { dense 4 sigmoid }
    dense 4
    multiply gate
    dense 3 softmax
}"""


def branch_add(r: Ref, x: torch.Tensor) -> torch.Tensor:
    stem = r.conv("stem", x, padding=1)
    skip = r.conv("conv2d_1", stem)
    added = r.conv("conv2d_2", F.relu(stem), padding=1) + skip
    h = F.relu(r.dense("h", added.flatten(1)))
    gate = torch.sigmoid(r.dense("dense_1", h))
    return r.dense("dense_3", r.dense("dense_2", h) * gate)  # logits: softmax is the head


AVERAGE_MULTIPLY = """model m {
    input 2x6x6
    parallel average {
        branch { conv2d 3 3 padding=same tanh }
        branch { conv2d 3 1 }
    }
    parallel multiply {
        branch { conv2d 3 1 sigmoid }
        branch { }
    }
    global_avgpool
    dense 4 name=a
    branch b { dense 5 }
    concat a b
    dense 3
}"""


def average_multiply(r: Ref, x: torch.Tensor) -> torch.Tensor:
    avg = (torch.tanh(r.conv("conv2d_1", x, padding=1)) + r.conv("conv2d_2", x)) / 2
    gated = torch.sigmoid(r.conv("conv2d_3", avg)) * avg
    a = r.dense("a", gated.mean(dim=(2, 3)))
    return r.dense("dense_2", torch.cat([a, r.dense("dense_1", a)], dim=1))


CASES: dict[str, tuple[str, Forward]] = {
    "residual_identity": (RESIDUAL_IDENTITY, residual_identity),
    "residual_conv_batchnorm_shortcut_stride_2": (RESIDUAL_PROJECTION, residual_projection),
    "parallel_concat_conv_and_maxpool": (PARALLEL_CONCAT, parallel_concat),
    "branch_add_and_multiply_gate": (BRANCH_ADD, branch_add),
    "average_multiply_vector_concat": (AVERAGE_MULTIPLY, average_multiply),
}


def _plan(model: str) -> RunPlan:
    features = math.prod(int(d) for d in model.split("input ")[1].split("\n")[0].split("x"))
    return plan_of(spec(model, features))


def _weights(plan: RunPlan, seed: int) -> dict[str, np.ndarray]:
    """Initial weights with non-trivial running statistics (so evaluation mode is tested)."""
    weights = initial_weights(plan.shapes, seed=seed)
    rng = np.random.default_rng(seed)
    for key in weights:
        if key.endswith(("running_mean", "running_var")):
            weights[key] = rng.uniform(0.5, 1.5, weights[key].shape).astype(np.float32)
    return weights


def _inputs(plan: RunPlan, n: int = 5) -> np.ndarray:
    return np.random.default_rng(7).normal(size=(n, *plan.shapes.input)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_equals_the_hand_written_reference(name: str, tfb: ModuleType) -> None:
    import tensorflow as tf

    text, reference = CASES[name]
    plan = _plan(text)
    assert not plan.lowered.is_chain
    assert (plan.lowered.head == "softmax") == (name == "branch_add_and_multiply_gate")
    weights = _weights(plan, seed=3)
    state = tfb.build(plan, weights, "cpu")
    x = _inputs(plan)
    expected = reference(Ref(weights), torch.from_numpy(x).double()).numpy()
    got = state.keras.forward(tf.constant(x), training=False, logits=True).numpy()
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # The functional Keras model (the one saved) computes the same, head included.
    head = torch.softmax if plan.lowered.head == "softmax" else (lambda t, dim: t)
    probs = head(torch.from_numpy(expected), dim=1).numpy()
    saved = np.asarray(state.keras.model(x, training=False))
    np.testing.assert_allclose(saved, probs, rtol=1e-5, atol=1e-5)
    headed = state.keras.forward(tf.constant(x), training=False, logits=False).numpy()
    np.testing.assert_allclose(headed, probs, rtol=1e-5, atol=1e-5)
    predicted = tfb.predict(state, tfb.load_data(state, x.reshape(5, -1), np.zeros(5)))
    np.testing.assert_allclose(predicted, torch.softmax(torch.from_numpy(expected), 1), atol=1e-5)


def test_training_forward_uses_batch_statistics_and_updates_running_ones(
    tfb: ModuleType,
) -> None:
    import tensorflow as tf

    plan = _plan(RESIDUAL_PROJECTION)
    weights = _weights(plan, seed=4)
    state = tfb.build(plan, weights, "cpu")
    x = _inputs(plan, n=6)
    ref = Ref(weights, training=True)
    expected = residual_projection(ref, torch.from_numpy(x).double()).numpy()
    got = state.keras.forward(tf.constant(x), training=True, logits=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    after = tfb.get_weights(state)
    for name in ("batchnorm_1", "batchnorm_2", "batchnorm_3"):  # momenta 0.2, 0.1, 0.3
        for stat in ("running_mean", "running_var"):
            key = f"{name}.{stat}"
            assert not np.allclose(after[key], weights[key]), key
            np.testing.assert_allclose(after[key], ref.w[key].numpy(), rtol=1e-5, atol=1e-6)


COUNTED = """model m {
    input 3x8x8
    conv2d 4 3 padding=same; batchnorm; relu
    residual frozen {
        conv2d 4 3 padding=same; batchnorm
    }
    parallel concat {
        branch { conv2d 2 1 }
        branch { maxpool2d 3 stride=1; conv2d 2 1 padding=1 }
    }
    flatten
    dense 3
}"""


def _size(variables: list) -> int:  # type: ignore[type-arg]
    return sum(math.prod(v.shape) for v in variables)


def test_keras_counts_the_summarys_params(tfb: ModuleType) -> None:
    plan = _plan(BRANCH_ADD)  # no running statistics: the counts agree exactly
    model = tfb.build(plan, _weights(plan, 0), "cpu").keras.model
    assert model.count_params() == summarize(plan.shapes).totals.params == 644
    # Running statistics are arrays Keras counts but the summary does not (they are
    # buffers, not parameters); frozen parameters are Keras's other non-trainable ones.
    plan = _plan(COUNTED)
    model = tfb.build(plan, _weights(plan, 0), "cpu").keras.model
    totals = summarize(plan.shapes).totals
    running = sum(
        math.prod(w.shape)
        for info in plan.shapes.layers
        for w in info.layer.weights(info.input)
        if not w.trainable
    )
    assert running == 4 * 4  # two batchnorms of 4 channels, mean and variance each
    assert totals.frozen_params == (4 * 4 * 9 + 4) + 2 * 4  # conv2d_2, batchnorm_2
    assert model.count_params() == totals.params + running
    assert _size(model.trainable_weights) == totals.trainable_params
    assert _size(model.non_trainable_weights) == totals.frozen_params + running


def test_a_frozen_block_keeps_its_weights_while_the_rest_trains(tfb: ModuleType) -> None:
    plan = _plan(COUNTED)
    weights = _weights(plan, 1)
    state = tfb.build(plan, weights, "cpu")
    x = np.random.default_rng(0).normal(size=(32, 192)).astype(np.float32)
    data = tfb.load_data(state, x, np.arange(32) % 3)
    tfb.train_epoch(state, data, np.arange(32), 8, np.full(4, 0.05), None, 0)
    after = tfb.get_weights(state)
    frozen = ("conv2d_2.", "batchnorm_2.")  # inside `residual frozen`
    for key in weights:
        same = np.array_equal(after[key], weights[key])
        assert same == key.startswith(frozen), key


DROPPED = """model m {
    input 6
    dense 8 relu
    parallel add {
        branch { dropout 0.5; dense 8 }
        branch { dense 8 }
    }
    branch unused { dense 2 }
    dense 3
}"""


def test_dropout_in_a_branch_follows_the_seed_and_an_unread_branch_never_learns(
    tfb: ModuleType,
) -> None:
    plan = _plan(DROPPED)
    weights = _weights(plan, 2)
    x = np.random.default_rng(1).normal(size=(32, 6)).astype(np.float32)

    def losses(seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        state = tfb.build(plan, weights, "cpu")
        data = tfb.load_data(state, x, np.arange(32) % 3)
        out = tfb.train_epoch(state, data, np.arange(32), 8, np.full(4, 0.05), None, seed)
        return out, tfb.get_weights(state)

    first, trained = losses(5)
    np.testing.assert_array_equal(first, losses(5)[0])
    assert not np.allclose(first, losses(6)[0])
    # `branch unused` (dense_4, W507) is built and saved but nothing computes it.
    assert {k for k in weights if np.array_equal(trained[k], weights[k])} == {
        "dense_4.weight",
        "dense_4.bias",
    }


def test_bf16_computes_merges_in_bfloat16_and_norms_in_float32(tfb: ModuleType) -> None:
    import tensorflow as tf

    text, reference = CASES["residual_conv_batchnorm_shortcut_stride_2"]
    plan = plan_of(spec(text, 192), precision="bf16")
    weights = _weights(plan, seed=3)
    state = tfb.build(plan, weights, "cpu")
    policies = {layer.name: layer.dtype_policy.name for layer in state.keras.layers}
    assert policies["residual_1"] == policies["conv2d_3"] == "mixed_bfloat16"
    assert policies["batchnorm_3"] == "float32"
    x = _inputs(plan)
    out = state.keras.forward(tf.constant(x), training=False, logits=True)
    assert out.dtype == tf.bfloat16
    expected = reference(Ref(weights), torch.from_numpy(x).double()).numpy()
    # bfloat16 keeps 8 bits of mantissa: about 2 significant digits.
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), expected, rtol=0.05, atol=0.05)
    assert not np.allclose(tf.cast(out, tf.float32).numpy(), expected, rtol=1e-6, atol=1e-6)
