"""`specc export` of models that read token ids (`input N int`), and `specc predict` on them.

- A torch run exports to ONNX (torch's exporter) and torch.export: the graph takes int64 ids
  and computes the padding mask itself; `export.json` says `int64` and the vocabulary.
  onnxruntime's outputs equal the run's torch model within 1e-5 on padded batches of mixed
  lengths: pre-, post- and in-between padding, an example of padding only, causal attention
  whose first queries see only padding, and `lstm`/`gru` (uni- and bidirectional, stacked)
  skipping padded steps (exported as a step loop, specc/executors/torch/steps.py).
- `specc predict` reads ids from an .npz and gives the same probabilities from the run
  directory and from each export; ids outside the vocabulary are refused with the input and
  the position (exit 1), for an export too.
- A TensorFlow run exports to SavedModel and .keras (stock Keras layers, the padding mask
  computed from the ids in the graph, masked recurrent layers included): the artifacts
  give the run's outputs within 1e-5 on the same padded batches. The TorchScript-based
  ONNX exporter refuses masked recurrent layers: E600 at the spec with the reason
  (specc/export/capabilities.py), exit 1, nothing written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.plan import RunOptions
from specc.run import run

ROOT = Path(__file__).resolve().parents[2]
DATA = "data synthetic_text samples=64 length=8 vocab=20 { batch 16 }\n"
TRAIN = "train { loss sparse_categorical_crossentropy; epochs 1 }\n"
SPEC = "model text {\n input 8 int\n embedding 20 4 pad=0\n global_avgpool\n dense 2\n}\n"
MODELS = {
    "attention": "embedding 20 8 pad=0\n position_embedding\n transformer_encoder heads=2 ff=16\n"
    " attention heads=2 causal\n global_maxpool",
    "recurrent": "embedding 20 8\n lstm 6 sequences=true bidirectional\n gru 4",
    # skipping padded steps: a bidirectional LSTM into a GRU, a bidirectional GRU into two
    # stacked LSTMs (the final state of the top one)
    "masked_lstm_gru": "embedding 20 8 pad=0\n lstm 6 sequences=true bidirectional\n gru 4",
    "masked_gru_lstm": "embedding 20 8 pad=0\n gru 5 sequences=true bidirectional\n"
    " lstm 4 layers=2",
}
# Pre-padded ids, an example of padding only, one without padding, post-padded ids and
# padding in between (mixed lengths: 6, 0, 8, 3, 4 tokens).
IDS = np.array(
    [
        [0, 0, 3, 4, 5, 6, 1, 7],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [9, 8, 2, 10, 11, 12, 13, 19],
        [3, 4, 5, 0, 0, 0, 0, 0],
        [0, 6, 0, 0, 7, 8, 9, 0],
    ],
    dtype=np.int64,
)


def _train(tmp_path: Path, body: str, backend: str = "torch") -> Path:
    spec = tmp_path / "text.nn"
    spec.write_text(f"model text {{\n input 8 int\n {body}\n dense 2\n}}\n{DATA}{TRAIN}")
    return run(spec, RunOptions(backend=backend, out=str(tmp_path / "run"), quiet=True)).run_dir


def _export(run_dir: Path, fmt: str, out: Path) -> None:
    answer = CliRunner().invoke(main, ["export", str(run_dir), "--format", fmt, "--out", str(out)])
    assert answer.exit_code == 0, answer.output


@pytest.mark.parametrize("name", sorted(MODELS))
def test_token_models_export_to_onnx_and_torch(name: str, tmp_path: Path) -> None:
    from specc.predict import predict
    from specc.predict.artifacts import load_runner
    from specc.predict.trained import open_run

    run_dir = _train(tmp_path, MODELS[name])
    trained = open_run(run_dir)
    backend, state = trained.build("cpu", fp32=True)
    expected = trained.reference_outputs(backend, state, IDS)
    assert np.isfinite(expected).all() and expected.shape == (len(IDS), 2)
    np.savez(tmp_path / "ids.npz", x=IDS)
    from_run = predict(run_dir, [tmp_path / "ids.npz"]).outputs
    assert np.abs(from_run - expected).max() < 1e-6
    for fmt, artifact in (("onnx", "model.onnx"), ("torch", "model.pt2")):
        out = tmp_path / f"export-{fmt}"
        _export(run_dir, fmt, out)
        manifest = json.loads((out / "export.json").read_text())
        assert manifest["input"] == {
            "name": "input",
            "shape": [None, 8],
            "dtype": "int64",
            "vocab": 20,
            "layout": "the spec's",
        }
        got = load_runner(fmt, out / artifact)(IDS)
        assert np.abs(got - expected).max() < 1e-5, (fmt, got, expected)
        exported = predict(out, [tmp_path / "ids.npz"]).outputs
        assert np.abs(exported - from_run).max() < 1e-5, fmt


def test_the_onnx_graph_takes_int64_ids(tmp_path: Path) -> None:
    """onnxruntime itself (no specc): the input is int64 (N, 8), the batch axis dynamic."""
    import onnxruntime as ort

    run_dir = _train(tmp_path, MODELS["attention"])
    _export(run_dir, "onnx", tmp_path / "onnx")
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    [given] = session.get_inputs()
    assert given.type == "tensor(int64)" and given.shape[1] == 8
    probabilities = session.run(None, {given.name: IDS})[0]
    assert probabilities.shape == (len(IDS), 2) and np.allclose(
        probabilities.sum(axis=1), 1, atol=1e-6
    )


@pytest.mark.parametrize("name", ["imdb_transformer", "imdb_bilstm"])
def test_the_imdb_examples_export(name: str, tmp_path: Path) -> None:
    """specs/imdb_*.nn (200 ids, a 20,000-word vocabulary), a few examples; imdb_bilstm's two
    bidirectional LSTMs skip the padding (a `scan` step loop in the ONNX graph)."""
    spec = tmp_path / f"{name}.nn"
    shutil.copy(ROOT / "specs" / f"{name}.nn", spec)
    options = RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True, epochs=1, limit=64)
    run_dir = run(spec, options).run_dir
    _export(run_dir, "onnx", tmp_path / "onnx")
    manifest = json.loads((tmp_path / "onnx" / "export.json").read_text())
    assert manifest["input"]["dtype"] == "int64" and manifest["input"]["vocab"] == 20000
    checks = manifest["verification"]["checks"]
    assert [c["batch"] for c in checks] == [1, 64] and all(c["ok"] for c in checks), checks
    if name == "imdb_bilstm":  # one Scan per layer and direction, not 200 unrolled steps
        import onnx

        model = onnx.load(str(tmp_path / "onnx" / "model.onnx"))
        nodes = [*model.graph.node, *(n for f in model.functions for n in f.node)]
        assert [n.op_type for n in nodes].count("Scan") == 4


TF_MODEL = (
    "embedding 20 8 pad=0\n position_embedding\n transformer_encoder heads=2 ff=16 causal\n"
    " lstm 6 sequences=true bidirectional\n gru 4"
)


@pytest.mark.parametrize("fmt", ["savedmodel", "keras"])
def test_the_tensorflow_formats_export_token_models(fmt: str, tmp_path: Path) -> None:
    """Masked attention and recurrent layers on a TensorFlow run: exported, verified, and
    equal to the run's own outputs on pre-padded and all-padding examples."""
    from specc.predict import predict
    from specc.predict.artifacts import load_runner
    from specc.predict.trained import open_run

    run_dir = _train(tmp_path, TF_MODEL, backend="tensorflow")
    trained = open_run(run_dir)
    backend, state = trained.build("cpu", fp32=True)
    expected = trained.reference_outputs(backend, state, IDS)
    assert np.isfinite(expected).all() and expected.shape == (len(IDS), 2)
    out = tmp_path / f"export-{fmt}"
    _export(run_dir, fmt, out)
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["input"]["dtype"] == "int64" and manifest["input"]["vocab"] == 20
    checks = manifest["verification"]["checks"]
    assert [c["batch"] for c in checks] == [1, 64] and all(c["ok"] for c in checks), checks
    artifact = out / ("model.keras" if fmt == "keras" else "savedmodel")
    got = load_runner(fmt, artifact)(IDS)
    assert np.abs(got - expected).max() < 1e-5, (got, expected)
    np.savez(tmp_path / "ids.npz", x=IDS)
    exported = predict(out, [tmp_path / "ids.npz"]).outputs
    assert np.abs(exported - predict(run_dir, [tmp_path / "ids.npz"]).outputs).max() < 1e-5


def test_predict_checks_token_ids(tmp_path: Path) -> None:
    """`specc predict` on a token model (its run and its ONNX export): ids of the vocabulary
    predict, others are refused with the input and position (exit 1), not an index error
    from the framework."""
    spec = tmp_path / "text.nn"
    spec.write_text(SPEC + DATA + TRAIN)
    result = run(spec, RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True))
    _export(result.run_dir, "onnx", tmp_path / "onnx")
    good = np.array([[0, 0, 3, 4, 5, 6, 1, 7], [0, 8, 9, 2, 10, 11, 12, 13]])
    np.savez(tmp_path / "good.npz", x=good)
    for source in (result.run_dir, tmp_path / "onnx"):
        answer = CliRunner().invoke(main, ["predict", str(source), str(tmp_path / "good.npz")])
        assert answer.exit_code == 0, answer.output
        assert "good.npz#1" in answer.output
        for name, x, shown in (
            ("big.npz", np.where(good == 7, 20, good), "input #0 holds 20 at position 7"),
            ("half.npz", good + 0.5, "input #0 holds 0.5 at position 0"),
        ):
            np.savez(tmp_path / name, x=x)
            answer = CliRunner().invoke(main, ["predict", str(source), str(tmp_path / name)])
            assert answer.exit_code == 1, answer.output
            assert f"{shown}, but the model reads token ids 0 to 19" in answer.output


def test_the_legacy_onnx_exporter_refuses_masked_recurrent_layers(tmp_path: Path) -> None:
    """The TorchScript-based exporter cannot trace the step loop: E600 at the `gru`, before
    any work; the default exporter writes the same run."""
    run_dir = _train(tmp_path, "embedding 20 8 pad=0\n gru 4")
    answer = CliRunner().invoke(main, ["export", str(run_dir), "--format", "onnx", "--legacy-onnx"])
    assert answer.exit_code == 1, answer.output
    assert "`--format onnx --legacy-onnx` cannot export this run's model as written" in (
        answer.stderr
    )
    assert (
        "error[E600]: `--format onnx --legacy-onnx` cannot express `lstm`/`gru` skipping "
        "padded steps (after `embedding ... pad=P`)" in answer.stderr
    )
    assert "text.nn:4:2\n" in answer.stderr
    assert "export without --legacy-onnx" in answer.stderr and "Traceback" not in answer.output
    assert not list(run_dir.glob("export*"))


def test_every_format_declares_what_it_cannot_export() -> None:
    """One capability table per exporter; every key is a feature of the shared gate."""
    from specc.export import FORMATS
    from specc.export.capabilities import LEGACY_ONNX, UNSUPPORTED
    from specc.lowering.capabilities import all_features

    assert set(UNSUPPORTED) == {*FORMATS, LEGACY_ONNX}
    known = set(all_features())
    for table in UNSUPPORTED.values():
        assert set(table) <= known, table
        assert all(reason.strip() for reason in table.values())
