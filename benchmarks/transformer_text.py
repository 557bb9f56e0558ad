"""Benchmark: keras-io's transformer text classifier trained by specc and by two hand-written programs.

    python benchmarks/transformer_text.py                        # 2 epochs, 4,000 sequences, 3 repeats
    python benchmarks/transformer_text.py --samples 2000 --repeats 5 --threads 1
    python benchmarks/transformer_text.py --backends specc-torch,torch-loop   # a subset

Model (specs/imdb_transformer.nn, keras-io's "Text classification with Transformer"): 200
token ids, embedding 20000x32 plus a learned position table, one post-norm encoder block
(2 heads of 16, feed-forward 32, dropout 0.1, eps 1e-6), the mean over unpadded positions,
dropout, dense 20 relu, dropout, dense 2 softmax; Adam lr 1e-3, batch 32. Data: specc's
`synthetic_text` (IMDB's shape; one planted token decides the label), the same arrays for all.
Contenders, run in the same process and alternated each repeat so machine noise hits all:
  specc-<backend>  `specc.run` (what `specc run` does: record, checkpoints, test evaluation)
  torch-loop       nn.TransformerEncoderLayer with src_key_padding_mask, DataLoader, eager loop;
                   embedding initialised uniform(-0.05, 0.05) as the spec's (PyTorch's own
                   N(0, 1) learns the planted token much sooner), the rest PyTorch's defaults
  keras            `model.fit`: Embedding(mask_zero) + MultiHeadAttention(2, key_dim=16), Keras
                   propagating the padding mask itself (layers.Add keeps it to the pool), Keras's
                   own initialisers and keras.optimizers.Adam(1e-3)
Printed per contender: median ms per training step (min..max) and test accuracy.

Why `keras` reaches a higher test accuracy after the same epochs (docs/performance.md#keras-adam):
Keras 3's Adam on the TensorFlow backend takes an embedding's gradient as tf.IndexedSlices with
one entry per occurrence of a token in the batch and squares the entries one by one, so a token
seen k times in a batch moves up to sqrt(k)·lr per step where Adam on the gradient (PyTorch,
specc, docs/semantics.md#optimizers) moves at most lr. Here the planted label tokens occur about
16 times per batch of 32: their rows learn up to 4x faster. That is Keras's behaviour, not the
model's; the two options below equalise what differs and leave the two programs on par:
  --summed-grads   keras sums the gradient per embedding row before Adam (tf.convert_to_tensor)
  --same-init      keras starts from specc's initial weights for the seed (Keras's
                   MultiHeadAttention draws its q/k/v kernels U(±0.10), specc U(±0.22) as
                   PyTorch's in_proj: glorot over (3D, D); an effect smaller than the seeds')
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SPEC = """model imdb_transformer {{
    input 200 int
    embedding 20000 32 pad=0
    position_embedding
    transformer_encoder heads=2 ff=32 dropout=0.1 eps=1e-6
    global_avgpool
    dropout 0.1
    dense 20 relu
    dropout 0.1
    dense 2 softmax
}}
data synthetic_text samples={samples} length=200 vocab=20000 {{
    batch 32 shuffle
    test 0.2
}}
train {{
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-3
    epochs {epochs}
    metrics accuracy
    seed {seed}
}}
"""

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Result = tuple[float, float]  # (train seconds, test accuracy)


def specc_runner(backend: str, args: argparse.Namespace) -> Callable[[int], Result]:
    from specc.plan import RunOptions
    from specc.run import run

    def go(seed: int) -> Result:
        text = SPEC.format(samples=args.samples, epochs=args.epochs, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            options = RunOptions(backend=backend, quiet=True, out=str(Path(tmp) / "run"))
            result = run(text, options)
        return result.train_seconds, result.metrics["test_accuracy"]

    return go


def torch_loop(data: Arrays, args: argparse.Namespace) -> Callable[[int], Result]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    x_train, y_train, x_test, y_test = data

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Embedding(20000, 32)
            nn.init.uniform_(self.tokens.weight, -0.05, 0.05)  # the spec's (and Keras's) init
            self.positions = nn.Parameter(torch.empty(200, 32).uniform_(-0.05, 0.05))
            self.block = nn.TransformerEncoderLayer(
                32, 2, 32, dropout=0.1, batch_first=True, layer_norm_eps=1e-6
            )
            self.head = nn.Sequential(
                nn.Dropout(0.1), nn.Linear(32, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 2)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            padding = x == 0  # (B, L)
            h = self.tokens(x) + self.positions  # (B, L, D)
            h = self.block(h, src_key_padding_mask=padding)
            keep = (~padding).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)  # mean of real tokens
            return self.head(pooled)

    def go(seed: int) -> Result:
        torch.manual_seed(seed)
        began = time.perf_counter()
        model = Classifier()
        loader = DataLoader(
            TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
            batch_size=32,
            shuffle=True,
        )
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(args.epochs):
            model.train()
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - began
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(x_test)).argmax(1).numpy()
        return seconds, float((predicted == y_test).mean())

    return go


def keras_model():  # type: ignore[no-untyped-def]
    """The spec's model in Keras, initialised with Keras's own defaults."""
    import keras
    from keras import layers

    class AddPositions(layers.Layer):
        """x + a learned (L, D) table; passes the padding mask on."""

        def __init__(self) -> None:
            super().__init__()
            self.supports_masking = True

        def build(self, shape: tuple[int, ...]) -> None:
            init = keras.initializers.RandomUniform(-0.05, 0.05)
            self.table = self.add_weight(shape=tuple(shape[1:]), initializer=init)

        def call(self, x):  # type: ignore[no-untyped-def]
            return x + self.table

    def build() -> keras.Model:
        # layers.Add, not `+`: a bare `+` drops Keras's mask, and the pool would then average
        # the padded positions too (a different model from the spec's masked mean).
        inputs = keras.Input((200,), dtype="int64")
        x = AddPositions()(layers.Embedding(20000, 32, mask_zero=True)(inputs))
        attended = layers.MultiHeadAttention(2, key_dim=16, dropout=0.1)(x, x)
        x = layers.LayerNormalization(epsilon=1e-6)(
            layers.Add()([x, layers.Dropout(0.1)(attended)])
        )
        ff = layers.Dense(32)(layers.Dropout(0.1)(layers.Dense(32, activation="relu")(x)))
        x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, layers.Dropout(0.1)(ff)]))
        assert x._keras_mask is not None, "the padding mask must reach the pool"
        x = layers.Dropout(0.1)(layers.GlobalAveragePooling1D()(x))
        x = layers.Dropout(0.1)(layers.Dense(20, activation="relu")(x))
        return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))

    return build()


def keras_adam(summed: bool):  # type: ignore[no-untyped-def]
    """Keras's Adam(1e-3); with `summed`, one that sums an embedding's gradient per row first.

    On the TensorFlow backend an embedding's gradient is a tf.IndexedSlices with one entry
    per occurrence of a token in the batch, and Keras 3's Adam squares the entries one by
    one: v gathers sum(g_i^2) where Adam (and specc, docs/semantics.md#optimizers) has
    (sum g_i)^2. A token seen k times in a batch then steps up to sqrt(k) times lr.
    `tf.convert_to_tensor` sums the duplicates into the dense gradient, Adam's own input.
    """
    import keras

    if not summed:
        return keras.optimizers.Adam(1e-3)
    import tensorflow as tf

    class SummedAdam(keras.optimizers.Adam):
        def apply(self, grads, trainable_variables=None):  # type: ignore[no-untyped-def]
            dense = [
                tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads
            ]
            return super().apply(dense, trainable_variables)

    return SummedAdam(1e-3)


def keras_fit(data: Arrays, args: argparse.Namespace) -> Callable[[int], Result]:
    import keras

    x_train, y_train, x_test, y_test = data

    def go(seed: int) -> Result:
        keras.utils.set_random_seed(seed)
        model = keras_model()
        if args.same_init:
            load_specc_init(model, seed)
        model.compile(
            optimizer=keras_adam(args.summed_grads),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        began = time.perf_counter()
        model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0)
        seconds = time.perf_counter() - began
        predicted = np.asarray(model(x_test, training=False)).argmax(1)
        return seconds, float((predicted == y_test).mean())

    return go


def specc_initial_weights(seed: int) -> dict[str, np.ndarray]:
    """The arrays `specc run` starts from with this seed (neutral, PyTorch layout)."""
    from specc.analysis import analyze
    from specc.init_weights import initial_weights
    from specc.plan import RunOptions, make_plan

    plan = make_plan(analyze(SPEC.format(samples=100, epochs=1, seed=seed)), RunOptions())
    return initial_weights(plan.shapes, plan.seed)


def load_specc_init(model, seed: int) -> None:  # type: ignore[no-untyped-def]
    """Start the Keras model from specc's initial weights for `seed` (`--same-init`):
    PyTorch layout to Keras's (dense kernels transposed, attention split per head)."""
    w = specc_initial_weights(seed)
    by_class: dict[str, list] = {}  # type: ignore[type-arg]
    for layer in model.layers:
        by_class.setdefault(type(layer).__name__, []).append(layer)
    (embedding,) = by_class["Embedding"]
    (positions,) = by_class["AddPositions"]
    (attention,) = by_class["MultiHeadAttention"]
    norms = by_class["LayerNormalization"]
    denses = by_class["Dense"]  # in model order: linear1, linear2, dense 20, dense 2
    block = "transformer_encoder_1."
    embedding.embeddings.assign(w["embedding_1.weight"])
    positions.table.assign(w["position_embedding_1.weight"])
    in_w, in_b = w[block + "self_attn.in_proj_weight"], w[block + "self_attn.in_proj_bias"]
    projections = (attention._query_dense, attention._key_dense, attention._value_dense)
    for i, dense in enumerate(projections):
        dense.kernel.assign(in_w[32 * i : 32 * (i + 1)].T.reshape(32, 2, 16))
        dense.bias.assign(in_b[32 * i : 32 * (i + 1)].reshape(2, 16))
    attention._output_dense.kernel.assign(
        w[block + "self_attn.out_proj.weight"].T.reshape(2, 16, 32)
    )
    attention._output_dense.bias.assign(w[block + "self_attn.out_proj.bias"])
    names = (block + "linear1", block + "linear2", "dense_1", "dense_2")
    for dense, name in zip(denses, names, strict=True):
        dense.kernel.assign(w[name + ".weight"].T)
        dense.bias.assign(w[name + ".bias"])
    for norm, name in zip(norms, ("norm1", "norm2"), strict=True):
        norm.gamma.assign(w[f"{block}{name}.weight"])
        norm.beta.assign(w[f"{block}{name}.bias"])


def load_arrays(samples: int) -> Arrays:
    from specc.analysis import analyze
    from specc.data import load

    analysis = analyze(SPEC.format(samples=samples, epochs=1, seed=0))
    assert analysis.spec.data is not None
    ds = load(analysis.spec.data, vocab=20000)  # int64 ids, as the model reads them
    return ds.x_train, ds.y_train, ds.x_test, ds.y_test


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=4000, help="sequences (80%% train)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--same-init",
        action="store_true",
        help="keras starts from specc's initial weights for the same seed (not Keras's defaults)",
    )
    parser.add_argument(
        "--summed-grads",
        action="store_true",
        help="keras: sum each embedding row's gradient before Adam (as Adam's math and specc do)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch/TF threads (0: default)")
    parser.add_argument(
        "--backends",
        default="specc-torch,torch-loop,specc-tensorflow,keras",
        help="comma-separated: specc-torch, specc-tensorflow, torch-loop, keras",
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = load_arrays(args.samples)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if args.threads and {"keras", "specc-tensorflow"} & set(names):
        import tensorflow as tf  # before TF starts its thread pools

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    makers: dict[str, Callable[[], Callable[[int], Result]]] = {
        "torch-loop": lambda: torch_loop(data, args),
        "keras": lambda: keras_fit(data, args),
    }
    runners: dict[str, Callable[[int], Result]] = {}
    for name in names:
        if name.startswith("specc-"):
            runners[name] = specc_runner(name.removeprefix("specc-"), args)
        elif name in makers:
            runners[name] = makers[name]()
        else:
            parser.error(f"unknown contender {name}")
    for go in runners.values():  # warm-up: imports, first-call allocations
        go(0)
    steps = args.epochs * math.ceil(len(data[0]) / 32)
    step_ms: dict[str, list[float]] = {n: [] for n in runners}
    accuracy: dict[str, list[float]] = {n: [] for n in runners}
    for repeat in range(args.repeats):
        for name, go in runners.items():
            seconds, acc = go(repeat + 1)
            step_ms[name].append(1000 * seconds / steps)
            accuracy[name].append(acc)
            print(
                f"  repeat {repeat + 1} {name:18s} {step_ms[name][-1]:7.2f} ms/step  acc {acc:.4f}",
                flush=True,
            )
    print(
        f"\n{args.epochs} epochs of {len(data[0])} sequences ({steps} steps of 32), "
        f"threads {args.threads or 'default'}, {args.repeats} repeats (median, min..max)"
    )
    medians = {n: statistics.median(v) for n, v in step_ms.items()}
    for name in runners:
        line = (
            f"{name:18s} {medians[name]:7.2f} ms/step "
            f"({min(step_ms[name]):.2f}..{max(step_ms[name]):.2f})"
            f"  test acc {statistics.median(accuracy[name]):.4f}"
        )
        for ref in ("torch-loop", "keras"):
            if ref in medians and name.startswith("specc-"):
                line += f"  {medians[name] / medians[ref]:.2f}x {ref}"
        print(line)


if __name__ == "__main__":
    main()
