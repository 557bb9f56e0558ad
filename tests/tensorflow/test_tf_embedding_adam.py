"""Adam on an embedding's gradient on the TensorFlow backend (docs/semantics.md#optimizers).

TensorFlow hands an embedding's gradient over as tf.IndexedSlices, one entry per occurrence
of a token in the batch. Adam's update is not linear in the gradient, so the entries must be
summed per row first: Keras 3's own Adam squares them one by one, and a token seen k times
then steps sqrt(k)·lr where Adam steps lr (benchmarks/transformer_text.py, issue 12).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from specc.executors.tensorflow.optimizers import make_optimizer
from specc.ir import optimizers as O


def _one_step(ids: list[int]) -> np.ndarray:
    table = tf.Variable(np.zeros((5, 2), np.float32))
    optimizer = make_optimizer(O.Adam(lr=1e-3), [table])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, ids) * np.array([1.0, -2.0], np.float32))
    (gradient,) = tape.gradient(loss, [table])
    assert isinstance(gradient, tf.IndexedSlices)  # the case under test
    optimizer.apply([gradient], tf.constant(1e-3))
    return table.numpy()


def test_a_token_seen_many_times_steps_lr_as_adam_on_the_summed_gradient() -> None:
    after = _one_step([3] * 16 + [1])
    # first Adam step: m̂/sqrt(v̂) = g/|g| for the summed g (16 and -32 on row 3, 1 and -2 on
    # row 1), so every touched entry moves lr (up to eps), not sqrt(16)·lr
    np.testing.assert_allclose(after[3], [-1e-3, 1e-3], rtol=1e-5)
    np.testing.assert_allclose(after[1], [-1e-3, 1e-3], rtol=1e-4)
    np.testing.assert_array_equal(after[[0, 2, 4]], np.zeros((3, 2)))


def test_repeated_ids_match_the_dense_gradient_over_steps() -> None:
    ids = [4, 4, 4, 2]
    table = tf.Variable(np.full((5, 2), 0.5, np.float32))
    dense = tf.Variable(table.numpy())
    sparse_adam = make_optimizer(O.Adam(lr=1e-2), [table])
    dense_adam = make_optimizer(O.Adam(lr=1e-2), [dense])
    for _ in range(3):
        grads = []
        for variable in (table, dense):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.gather(variable, ids) ** 2)
            grads.append(tape.gradient(loss, [variable])[0])
        sparse_adam.apply([grads[0]], tf.constant(1e-2))
        dense_adam.apply([tf.convert_to_tensor(grads[1])], tf.constant(1e-2))
    np.testing.assert_allclose(table.numpy(), dense.numpy(), rtol=0, atol=1e-7)
    assert float(table.numpy()[4, 0]) < 0.5 - 2.9e-2  # three steps of about lr each
