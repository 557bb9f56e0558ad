"""The typed facts templates read (specc/emit/facts.py), asked of the IR where they live."""

from __future__ import annotations

import pytest

from specc.analysis import analyze
from specc.emit import emit_plan
from specc.emit.facts import ScriptFacts
from specc.emit.targets import get_target
from specc.ir.data import CIFAR10, CSV, MNIST, NPZ, FashionMNIST, MNISTSample, Scale, Synthetic
from tests.emit.conftest import SPECS


def facts(spec: str, target: str, **kwargs: bool) -> ScriptFacts:
    return ScriptFacts(emit_plan(SPECS / f"{spec}.nn", target), get_target(target), **kwargs)


def test_image_sets_say_so_on_their_class():
    assert [c.image_set for c in (MNIST, FashionMNIST, MNISTSample, CSV, NPZ, Synthetic)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert [c.downloadable for c in (MNIST, FashionMNIST, MNISTSample)] == [True, True, False]
    assert [c.own_test_split for c in (MNIST, CSV, NPZ, Synthetic)] == [True, False, None, False]
    assert CIFAR10.image_set and CIFAR10.downloadable and CIFAR10.own_test_split
    sources = (MNIST, FashionMNIST, MNISTSample, CIFAR10, CSV, NPZ, Synthetic)
    assert [c.file_format for c in sources] == ["idx", "idx", "idx", "cifar", None, None, None]


def test_cifar_scripts_download_the_archive_or_ask_keras():
    torch_facts, keras_facts = facts("cifar_cnn", "pytorch"), facts("cifar_cnn", "keras")
    assert torch_facts.download is not None
    assert torch_facts.download.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert torch_facts.download.md5_value == "c58f30108f718f92721af3b95e74349a"
    assert torch_facts.download.folder == "data/cifar10" and torch_facts.extracts
    assert keras_facts.dataset_helper == "keras.datasets.cifar10" and not keras_facts.extracts
    reader = ("argparse", "json", "math", "os", "pickle", "sys")
    assert torch_facts.stdlib == tuple(sorted((*reader, "hashlib", "tarfile", "urllib.request")))
    assert keras_facts.stdlib == tuple(sorted((*reader, "contextlib")))


@pytest.mark.parametrize(
    ("factor", "divisor"), [(1 / 255, 255), (0.5, 2), (0.3, None), (2.0, None), (1.0, None)]
)
def test_scale_divisor_only_for_an_exact_reciprocal(factor, divisor):
    assert Scale(factor=factor).divisor == divisor


def test_pytorch_downloads_mnist_itself_keras_asks_keras_datasets():
    torch_facts, keras_facts = facts("cnn", "pytorch"), facts("cnn", "keras")
    assert torch_facts.download is not None and torch_facts.download.folder == "data/mnist"
    assert torch_facts.dataset_helper is None
    assert keras_facts.download is None
    assert keras_facts.dataset_helper == "keras.datasets.mnist"
    assert torch_facts.stdlib == (
        "argparse",
        "gzip",
        "hashlib",
        "json",
        "math",
        "os",
        "sys",
        "urllib.request",
        "zlib",
    )
    assert keras_facts.stdlib == (
        "argparse",
        "contextlib",
        "gzip",
        "json",
        "math",
        "os",
        "sys",
        "zlib",
    )


def test_splits_and_interop():
    cnn, quickstart, regression = (
        facts("cnn", "pytorch"),
        facts("quickstart", "pytorch"),
        facts("regression", "pytorch"),
    )
    assert (cnn.validation, cnn.test) == (True, "always")
    assert (quickstart.validation, quickstart.test) == (False, "always")
    assert regression.test == "always"  # synthetic data with a `test` fraction
    assert not cnn.neutral_weights and facts("cnn", "pytorch", interop=True).neutral_weights
    assert facts("finetune", "pytorch").neutral_weights  # `init from` reads the file


def test_keras_keeps_a_custom_optimizer_only_where_its_own_would_change_the_update():
    assert facts("cnn", "keras").custom_optimizer == "adam"  # eps after the bias correction
    assert facts("regression", "keras").custom_optimizer == "sgd"  # momentum, rate changes
    constant = (SPECS / "regression.nn").read_text().replace("schedule step", "# schedule step")
    plan = emit_plan(analyze(constant, "constant.nn"), "keras")
    assert ScriptFacts(plan, get_target("keras")).custom_optimizer is None  # keras' own SGD
    assert facts("quickstart", "keras").custom_optimizer == "rmsprop"  # eps inside the root
    assert facts("quickstart", "pytorch").custom_optimizer is None
