"""The emitted Keras scripts run and train: every spec on Keras 3's TensorFlow backend, and
two of them (a CNN with its channels-last permutes, and init-from) with KERAS_BACKEND=torch.

All scripts of one backend run in one subprocess (see conftest.run_scripts).
"""

from __future__ import annotations

import pytest

from tests.emit.conftest import (
    GOLDEN,
    SINK_SPECS,
    TABULAR_SPECS,
    assert_cnn_neutral_weights,
    assert_finetuned,
    assert_saved,
    assert_sink,
    assert_trained,
    history,
    quick_args,
    run_scripts,
    script_for,
    sink_runs,
    tabular_runs,
)

SPECS = sorted(p.stem for p in (GOLDEN / "keras").glob("*.py"))


def _argv(out, specs):
    argv = []
    for spec in sorted(specs, key=lambda s: s == "finetune"):  # after quickstart
        extra = ["--init-from", str(out / "quickstart")] if spec == "finetune" else []
        script = script_for(spec, "keras", out)
        argv.append([script, *quick_args(spec, out), "--out", str(out / spec), *extra])
    return argv


@pytest.fixture(scope="module")
def tf_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras_tf")
    argv = _argv(out, SPECS)
    names = [a[a.index("--out") + 1].rsplit("/", 1)[1] for a in argv]  # the spec's name
    argv += tabular_runs(out, "keras")  # a CSV and an .npz source
    names += list(TABULAR_SPECS)
    argv += sink_runs(out, "keras")  # the rest of the vocabulary
    names += SINK_SPECS
    # and a run that must fail: a learning rate that makes the loss overflow
    diverge = ["--epochs", "2", "--lr", "1e12", "--out", str(out / "diverge")]
    argv.append([str(GOLDEN / "keras" / "regression.py"), *diverge])
    codes, output = run_scripts(argv, env={"KERAS_BACKEND": "tensorflow"})
    return out, dict(zip([*names, "diverge"], codes, strict=True)), output


@pytest.mark.parametrize("spec", [*SPECS, *TABULAR_SPECS])
def test_script_trains_on_tensorflow(tf_runs, spec):
    out, codes, output = tf_runs
    assert codes[spec] == 0, output[-3000:]
    assert_saved(out / spec, spec, "model.weights.h5")
    assert_trained(spec, history(out / spec))


@pytest.mark.parametrize("spec", SINK_SPECS)
def test_sink_script_runs(tf_runs, spec):
    out, codes, output = tf_runs
    assert codes[spec] == 0, output[-3000:]
    assert_sink(spec, out / spec)


def test_checkpoints_are_written(tf_runs):
    out, _, _ = tf_runs
    assert (out / "dropout" / "best.weights.h5").is_file()  # checkpoint best
    assert (out / "sink_images" / "last.weights.h5").is_file()  # checkpoint last
    assert (out / "sink_onehot" / "best.weights.h5").is_file()


def test_neutral_weights_are_pytorch_layout(tf_runs):
    assert_cnn_neutral_weights(tf_runs[0] / "cnn")


def test_finetune_keeps_the_frozen_layer(tf_runs):
    out, _, output = tf_runs
    assert_finetuned(out, output)


def test_a_nan_loss_exits_non_zero(tf_runs):
    out, codes, output = tf_runs
    assert codes["diverge"] == 1
    assert "error: the loss is not finite; try a lower --lr" in output
    assert not (out / "diverge" / "model.weights.h5").exists()


def test_scripts_run_with_the_torch_backend(tmp_path):
    argv = [
        [str(GOLDEN / "keras" / "cnn.py"), *quick_args("cnn"), "--out", str(tmp_path / "cnn")],
        [str(GOLDEN / "keras" / "binary.py"), "--epochs", "4", "--out", str(tmp_path / "bin")],
    ]
    codes, output = run_scripts(argv, env={"KERAS_BACKEND": "torch"})
    assert codes == [0, 0], output[-3000:]
    assert_trained("cnn", history(tmp_path / "cnn"))
    assert_trained("binary", history(tmp_path / "bin"))
