"""The emitted PyTorch scripts run and train: every spec, a short run on its data.

All scripts run in one subprocess (see conftest.run_scripts); each must exit 0, write
model.pt and history.json (weights.safetensors only for --interop scripts and `init from`),
lower its loss, and beat chance on test.
finetune.nn starts from the quickstart run's weights, as its `init from` says.
"""

from __future__ import annotations

import pytest

from tests.emit.conftest import (
    GOLDEN,
    SINK,
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

SPECS = sorted(p.stem for p in (GOLDEN / "pytorch").glob("*.py"))


def _bf16_run(out):
    """The binary sink spec in bf16 mixed precision (a PyTorch-only feature so far)."""
    from specc.analysis import analyze
    from specc.emit import emit

    text = (SINK / "bce.nn").read_text().replace("    seed 7", "    seed 7\n    precision bf16")
    script = out / "bf16.py"
    script.write_text(emit(analyze(text, "bf16.nn"), "pytorch"))
    return [str(script), "--epochs", "5", "--out", str(out / "bf16")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pytorch_runs")
    order = sorted(SPECS, key=lambda s: s == "finetune")  # after quickstart
    argv = []
    for spec in order:
        extra = ["--init-from", str(out / "quickstart")] if spec == "finetune" else []
        script = script_for(spec, "pytorch", out)
        argv.append([script, *quick_args(spec, out), "--out", str(out / spec), *extra])
    argv += tabular_runs(out, "pytorch")  # a CSV and an .npz source
    argv += sink_runs(out, "pytorch")  # the rest of the vocabulary
    argv.append(_bf16_run(out))
    # and a run that must fail: a learning rate that makes the loss overflow
    diverge = ["--epochs", "2", "--lr", "1e12", "--out", str(out / "diverge")]
    argv.append([str(GOLDEN / "pytorch" / "regression.py"), *diverge])
    codes, output = run_scripts(argv)
    names = [*order, *TABULAR_SPECS, *SINK_SPECS, "bf16", "diverge"]
    return out, dict(zip(names, codes, strict=True)), output


@pytest.mark.parametrize("spec", [*SPECS, *TABULAR_SPECS])
def test_script_trains(runs, spec):
    out, codes, output = runs
    assert codes[spec] == 0, output[-3000:]
    folder = out / spec
    assert_saved(folder, spec, "model.pt")
    assert_trained(spec, history(folder))


@pytest.mark.parametrize("spec", SINK_SPECS)
def test_sink_script_runs(runs, spec):
    out, codes, output = runs
    assert codes[spec] == 0, output[-3000:]
    assert_sink(spec, out / spec)


def test_bf16_mixed_precision_trains(runs):
    out, codes, output = runs
    assert codes["bf16"] == 0, output[-3000:]
    assert "torch.autocast" in (out / "bf16.py").read_text()
    assert_sink("sink_bce", out / "bf16")


def test_checkpoints_are_written(runs):
    out, _, _ = runs
    assert (out / "dropout" / "best.pt").is_file()  # checkpoint best
    assert (out / "sink_images" / "last.pt").is_file()  # checkpoint last
    assert (out / "sink_onehot" / "best.pt").is_file()


def test_weights_use_the_spec_layer_names(runs):
    assert_cnn_neutral_weights(runs[0] / "cnn")


def test_finetune_starts_from_quickstart_and_keeps_frozen_layer(runs):
    out, _, output = runs
    assert_finetuned(out, output)


def test_a_nan_loss_exits_non_zero(runs):
    out, codes, output = runs
    assert codes["diverge"] == 1
    assert "error: the loss is nan in epoch 1" in output or "error: the loss is inf" in output
    assert not (out / "diverge" / "model.pt").exists()
