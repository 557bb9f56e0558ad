"""Training on the TensorFlow backend: dropout seeding, augmentation, resume, devices, E600."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import tensorflow as tf

from specc.data.augment import augment_batch
from specc.errors import DeviceError
from specc.executors.tensorflow.augment import augment_images, draw_params
from specc.init_weights import initial_weights
from specc.ir.data import Augment
from tests.tensorflow.conftest import plan_of, spec

MLP = "model m {\n input 6\n dense 12 relu\n dropout 0.5\n dense 3 softmax\n}"


def _setup(tfb: ModuleType, optimizer: str = "adam lr=1e-2") -> tuple[object, object, object]:
    plan = plan_of(spec(MLP, 6, f"loss sparse_categorical_crossentropy\n optimizer {optimizer}"))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    state = tfb.build(plan, initial_weights(plan.shapes, 0), "cpu")
    return plan, state, tfb.load_data(state, x, y)


def test_dropout_masks_follow_the_epoch_seed(tfb: ModuleType) -> None:
    order, lrs = np.arange(40), np.zeros(3)  # lr 0: weights fixed, only the masks vary
    losses = {}
    for seed in (1, 1, 2):
        _, state, data = _setup(tfb)
        losses.setdefault(seed, []).append(tfb.train_epoch(state, data, order, 16, lrs, None, seed))
    np.testing.assert_array_equal(losses[1][0], losses[1][1])
    assert not np.allclose(losses[1][0], losses[2][0])
    # Dropout is on in training only: evaluation is deterministic and differs from training.
    _, state, data = _setup(tfb)
    assert tfb.evaluate_loss(state, data) == tfb.evaluate_loss(state, data)


def test_last_batch_is_smaller_and_losses_are_per_step(tfb: ModuleType) -> None:
    _, state, data = _setup(tfb)
    losses = tfb.train_epoch(state, data, np.arange(40), 16, np.full(3, 1e-2), None, 0)
    assert losses.shape == (3,) and losses.dtype == np.float64  # 16 + 16 + 8 examples
    assert np.all(np.isfinite(losses))


def test_resume_from_weights_and_optimizer_state_continues_exactly(
    tfb: ModuleType, tob: ModuleType
) -> None:
    order, lrs = np.arange(40), np.full(3, 1e-2)
    for optimizer in (
        "adam lr=1e-2 amsgrad=true",
        "sgd lr=0.1 momentum=0.9",
        "rmsprop centered=true momentum=0.5",
    ):
        _, state, data = _setup(tfb, optimizer)
        tfb.train_epoch(state, data, order, 16, lrs, None, 0)
        weights, slots = tfb.get_weights(state), tfb.optimizer_state(state)
        expected = tfb.train_epoch(state, data, order, 16, lrs, None, 1)
        _, again, data2 = _setup(tfb, optimizer)
        tfb.set_weights(again, weights)
        tfb.load_optimizer_state(again, slots)
        np.testing.assert_array_equal(
            tfb.train_epoch(again, data2, order, 16, lrs, None, 1), expected
        )
        # Same keys (and neutral shapes) as the torch backend's optimizer state.
        plan = plan_of(
            spec(MLP, 6, f"loss sparse_categorical_crossentropy\n optimizer {optimizer}")
        )
        t_state = tob.build(plan, initial_weights(plan.shapes, 0), "cpu")
        t_data = tob.load_data(t_state, np.zeros((16, 6), np.float32), np.zeros(16, np.int64))
        tob.train_epoch(t_state, t_data, np.arange(16), 16, np.full(1, 1e-2), None, 0)
        theirs = tob.optimizer_state(t_state)
        assert sorted(theirs) == sorted(slots), optimizer
        assert all(theirs[k].shape == slots[k].shape for k in slots)


def test_load_optimizer_state_refuses_a_foreign_blob(tfb: ModuleType) -> None:
    from specc.errors import WeightsError

    _, state, _ = _setup(tfb)
    with pytest.raises(WeightsError, match="does not fit"):
        tfb.load_optimizer_state(state, {"dense_1.weight/step": np.asarray(1.0)})


def test_augmentation_is_the_reference_augmentation() -> None:
    node = Augment(flip=True, shift=0.2, rotation=30)
    x = np.random.default_rng(0).uniform(size=(2, 5, 1, 8, 6)).astype(np.float32)
    flips, angles, shifts = draw_params(node, [5, 3], (1, 8, 6), seed=11)
    rng = np.random.default_rng(11)
    for i, n in enumerate((5, 3)):
        expected = augment_batch(x[i, :n], node, rng)
        got = augment_images(tf.constant(x[i, :n]), node, flips[i], angles[i], shifts[i]).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(got, x[1, :3])


def test_devices(tfb: ModuleType) -> None:
    assert tfb.resolve_device("cpu") == "cpu"
    gpus = tf.config.list_physical_devices("GPU")
    every = "gpu:" + ",".join(str(i) for i in range(len(gpus)))  # several: MirroredStrategy
    assert tfb.resolve_device("auto") == (every if gpus else "cpu")
    for name in ("gpu", "cuda", "gpu:0", "cuda:0"):
        if gpus:
            assert tfb.resolve_device(name) == (every if name in ("gpu", "cuda") else "gpu:0")
        else:
            with pytest.raises(DeviceError, match="TensorFlow sees no GPU") as err:
                tfb.resolve_device(name)
            assert err.value.exit_code == 2
    with pytest.raises(DeviceError, match="unknown device `tpu`"):
        tfb.resolve_device("tpu")
    with pytest.raises(DeviceError):
        tfb.resolve_device(f"gpu:{len(gpus) + 3}")


def test_unsupported_is_located_and_needs_no_tensorflow() -> None:
    from specc.executors import tensorflow as tensorflow

    text = spec(MLP, 6, "loss sparse_categorical_crossentropy\n precision fp16")
    diags = tensorflow.unsupported(plan_of(text))
    assert [d.code for d in diags] == ["E600"]
    assert "precision fp16" in diags[0].message
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "precision" in row)
    assert diags[0].span.line == line
    assert tensorflow.unsupported(plan_of(spec(MLP, 6))) == []


def test_xla_only_where_it_was_measured_to_pay(tfb: ModuleType) -> None:
    from specc.executors.tensorflow.train import use_xla

    mlp = plan_of(spec(MLP, 6))  # conftest plans say `compile off`
    assert not use_xla(mlp, 10_000, "/CPU:0")
    auto = plan_of(spec(MLP, 6), compile="auto")
    assert auto.epochs == 10
    assert not use_xla(auto, 99, "/CPU:0")  # 990 steps: the compile would not be repaid
    assert use_xla(auto, 100, "/CPU:0")
    conv = "model c {\n input 1x6x6\n conv2d 2 3\n flatten\n dense 3\n}"
    conv_auto = plan_of(spec(conv, 36), compile="auto")
    assert not use_xla(conv_auto, 10_000, "/CPU:0")  # XLA's CPU conv gradients are slow
    assert use_xla(conv_auto, 10_000, "/GPU:0")
    assert use_xla(plan_of(spec(conv, 36), compile="on"), 1, "/CPU:0")  # asked for: obeyed


def test_check_backend_tensorflow_refuses_fp16_without_importing_tensorflow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    path = tmp_path / "fp16.nn"
    path.write_text(spec(MLP, 6, "loss sparse_categorical_crossentropy\n precision fp16"))
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom specc.cli import main\n"
        f"r = CliRunner().invoke(main, ['check', {str(path)!r}, '--backend', 'tensorflow'])\n"
        "print(r.exit_code, 'E600' in r.output, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True", "False", "False"]


def test_several_gpus_mean_a_mirrored_device(
    tfb: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specc.executors.tensorflow.devices import tf_devices

    two = [object(), object()]  # what list_physical_devices("GPU") gives on a 2-GPU machine
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: two if kind == "GPU" else []
    )
    assert tfb.resolve_device("auto") == tfb.resolve_device("gpu") == "gpu:0,1"
    assert tfb.resolve_device("cuda:1") == "gpu:1"  # one GPU asked for: no strategy
    assert tfb.replicas("gpu:0,1") == 2 and tfb.replicas("gpu:1") == tfb.replicas("cpu") == 1
    assert tf_devices("gpu:0,1") == ["/GPU:0", "/GPU:1"]
    assert tf_devices("cpu:0,1") == ["/CPU:0", "/CPU:1"] and tf_devices("cpu") == ["/CPU:0"]
