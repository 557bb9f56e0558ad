"""Token-sequence models in emitted scripts (every target): the framework's own classes,
the padding mask as docs/semantics.md#masking states it, and the same numbers as `specc run`.

- The imdb goldens generate `specc run`'s token ids and build `nn.Embedding`, `nn.LSTM`,
  `nn.TransformerEncoderLayer`, with `specc summary`'s parameter counts (their executed
  runs are in test_pytorch.py).
- From one initial weights file (`init from`), the transformer spec's script and `specc run`
  (torch) give the same first-batch loss within 1e-5, on padded batches of its generator,
  with and without `causal`.
- Emitted scripts learn the planted-signal task of tests/run/test_sequence_train.py from an
  .npz of int64 token ids (test accuracy >= 0.95), and refuse float data and ids beyond the
  vocabulary in one line.
- Keras and TensorFlow scripts write every sequence kind: `embedding`, `gru` (gate blocks
  mapped to the neutral file's), `lstm` (Keras's cell with PyTorch's second bias),
  `attention` (MultiHeadAttention, D/heads per head, causal), `transformer_encoder` (a block
  of Keras layers, pre/post norm) and the masked global pools: their first-batch loss is
  `specc run`'s within 1e-5 from one weights file, padded batches included, their parameter
  counts are `specc summary`'s, and they learn the planted signal. A `lstm`/`gru` given the
  padding mask is Keras's masked RNN (`zero_output_for_mask` where it returns every step):
  the same first-batch loss with padding before, after and between the tokens.
- MindSpore scripts write them with MindSpore's own classes (`nn.Embedding`, `nn.LSTM`,
  `nn.GRU`, `nn.MultiheadAttention`, `nn.TransformerEncoderLayer`, PyTorch's semantics):
  the same first-batch loss (their goldens: tests/emit/test_mindspore.py); a recurrent
  layer given the padding mask runs with MindSpore's `seq_length` over the compacted
  unpadded steps (`unpadded`).
- Every target writes the sequence options (MASKED_CASES: the padding mask wherever it
  sits, `last`, sinusoidal positions, conv1d and the 1-D pools along time, stacked
  recurrent layers): the same first-batch loss as `specc run` within 1e-5 from one weights
  file, the stacked layers' arrays mapped to the neutral file's `weight_ih_l<k>`. Keras's
  stacked layers drop between layers only while training.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze, analyze_file
from specc.emit import emit, emit_plan
from specc.plan import RunOptions
from specc.run import run
from tests.emit.conftest import GOLDEN, ROOT, history, lint, run_scripts
from tests.emit.mindspore_env import mindspore_python
from tests.run.test_sequence_train import MODELS, write_task

COUNTS = {
    "imdb_transformer": ("ImdbTransformer", 653_566),
    "imdb_bilstm": ("ImdbBilstm", 2_758_785),
}
# Specs whose recurrent layers get the padding mask (every target writes them).
MASKED_RECURRENT = ("imdb_bilstm",)


@pytest.mark.parametrize("spec", sorted(COUNTS))
def test_the_golden_builds_the_summarys_parameters(spec: str) -> None:
    name, expected = COUNTS[spec]
    summary = analyze_file(ROOT / "specs" / f"{spec}.nn").shapes[spec].params
    module = runpy.run_path(str(GOLDEN / "pytorch" / f"{spec}.py"), run_name=spec)
    model = module[name]()
    assert sum(p.numel() for p in model.parameters()) == summary == expected


def test_the_goldens_use_pytorchs_classes() -> None:
    transformer = (GOLDEN / "pytorch" / "imdb_transformer.py").read_text()
    assert "nn.TransformerEncoderLayer(" in transformer
    assert "src_key_padding_mask=torch.where(mask, 0.0, -1e9)" in transformer
    assert "mask = x != 0" in transformer
    bilstm = (GOLDEN / "pytorch" / "imdb_bilstm.py").read_text()
    assert "nn.LSTM(128, 64, batch_first=True, bidirectional=True)" in bilstm
    # both LSTMs skip the padded steps (docs/semantics.md#masking), packed by `unpadded`
    assert "x = unpadded(self.lstm_1, x, mask)[0]" in bilstm
    assert "x = unpadded(self.lstm_2, x, mask)[1][0].transpose(0, 1).flatten(1)" in bilstm
    assert "nn.utils.rnn.pack_padded_sequence(" in bilstm


def _initial_weights(text: str, path: Path) -> None:
    """Random arrays by the spec's names in PyTorch's layout (norm scales one)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    arrays = {}
    for layer in emit_plan(analyze(text, "t.nn"), "pytorch").weighted:
        for w in layer.weights:
            key = f"{layer.weights_name}.{w.name}"
            if w.init is None:
                arrays[key] = np.full(w.shape, w.constant, np.float32)
            else:
                arrays[key] = rng.normal(0, 0.2, w.shape).astype(np.float32)
    save_file(arrays, str(path))


@pytest.mark.parametrize("causal", [False, True])
def test_the_first_batch_loss_is_specc_runs(tmp_path: Path, causal: bool) -> None:
    """specs/imdb_transformer.nn without dropout (and `causal`), on one 32-example batch of
    its generator (pre-padded: the mask matters; with `causal` a query before the first
    token sees only padding), from one weights file: measured equal (0.7040449 without `causal`)."""
    text = (ROOT / "specs" / "imdb_transformer.nn").read_text(encoding="utf-8")
    text = text.replace("eps=1e-6", "eps=1e-6 causal") if causal else text
    text = text.replace("dropout=0.1", "dropout=0").replace("    dropout 0.1\n", "")
    text = text.replace(
        "model imdb_transformer {", 'model imdb_transformer {\n    init from "init.safetensors"'
    )
    text = text.replace("samples=6000", "samples=40").replace("batch 32 shuffle", "batch 32")
    text = text.replace("validation 0.2", "validation 0")
    assert "dropout 0.1\n" not in text and "dropout=0 " in text and "init from" in text
    spec = tmp_path / "t.nn"
    spec.write_text(text, encoding="utf-8")
    _initial_weights(text, tmp_path / "init.safetensors")
    result = run(spec, RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True, epochs=1))
    expected = result.history[0]["loss"]
    script = tmp_path / "t.py"
    script.write_text(emit(analyze_file(spec), "pytorch"), encoding="utf-8")
    codes, output = run_scripts(
        [[str(script), "--epochs", "1", "--out", str(tmp_path / "s")]], cwd=tmp_path
    )
    assert codes == [0], output[-3000:]
    assert "32 training" in output, output[-2000:]  # one batch: epoch 1's loss is the first batch's
    got = history(tmp_path / "s")["loss"][0]
    assert abs(got - expected) / expected < 1e-5, (expected, got)


def test_masked_stacked_recurrent_script_computes_the_spec(tmp_path: Path) -> None:
    """Sinusoidal positions, stacked bidirectional recurrent layers skipping the padding
    (`unpadded` in the script, `pack_padded_sequence`) and `last` (the last unpadded step):
    the script's first-batch loss is `specc run`'s within 1e-5 from one weights file."""
    body = (
        "embedding 30 8 pad=0\n position_embedding sinusoidal\n"
        " lstm 6 sequences=true bidirectional layers=2\n"
        " gru 4 bidirectional layers=2 sequences=true\n last"
    )
    spec = write_task(tmp_path, body)
    text = spec.read_text().replace("model text {", 'model text {\n init from "init.safetensors"')
    spec.write_text(text.replace("batch 16 shuffle", "batch 480").replace("adam lr=0.01", "sgd"))
    _initial_weights(spec.read_text(), tmp_path / "init.safetensors")
    options = RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True, epochs=1)
    expected = run(spec, options).history[0]["loss"]
    script = tmp_path / "script.py"
    text = emit(analyze_file(spec), "pytorch")
    assert "nn.LSTM(8, 6, num_layers=2, batch_first=True, bidirectional=True)" in text
    assert "x = unpadded(self.gru_1, x, mask)[0]" in text
    assert "x = x + sinusoidal_positions(12, 8, x.device)" in text
    assert "x = last_unpadded(x, mask)" in text
    assert lint(text) == []
    script.write_text(text, encoding="utf-8")
    argv = [str(script), "--data-dir", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "s")]
    codes, output = run_scripts([argv], cwd=tmp_path)
    assert codes == [0], output[-3000:]
    got = history(tmp_path / "s")["loss"][0]
    assert abs(got - expected) / expected < 1e-5, (expected, got)


# The runner's planted-signal models, plus plain attention (also causal) and masked max pooling.
TASKS = {
    **MODELS,
    "attention_maxpool": "embedding 30 8 pad=0\n attention heads=2\n global_maxpool",
    "causal_attention": "embedding 30 8 pad=0\n attention heads=2 causal\n global_avgpool",
}


def test_emitted_scripts_learn_the_planted_signal(tmp_path: Path) -> None:
    argv, names = [], sorted(TASKS)
    for name in names:
        folder = tmp_path / name
        folder.mkdir()
        spec = write_task(folder, TASKS[name])
        script = folder / "train.py"
        text = emit(analyze_file(spec), "pytorch")
        assert lint(text) == [], name
        script.write_text(text, encoding="utf-8")
        argv.append([str(script), "--data-dir", str(folder), "--out", str(folder / "out")])
    codes, output = run_scripts(argv)
    assert codes == [0] * len(names), output[-3000:]
    for name in names:
        hist = history(tmp_path / name / "out")
        assert hist["test_accuracy"] >= 0.95, (name, hist["test_accuracy"])
        assert hist["loss"][-1] < 0.5 * hist["loss"][0], (name, hist["loss"])


def test_scripts_refuse_float_data_and_ids_beyond_the_vocabulary(tmp_path: Path) -> None:
    spec = write_task(tmp_path, MODELS["transformer"])
    script = tmp_path / "train.py"
    script.write_text(emit(analyze_file(spec), "pytorch"), encoding="utf-8")
    x = np.full((2, 12), 5, dtype=np.int64)
    x[1, 3] = 39  # beyond `embedding 30 8`
    argv = []
    for case, arrays in {
        "big": (x, x.astype(np.float32)),
        "float": (x.astype(np.float32),) * 2,
    }.items():
        (tmp_path / case).mkdir()
        np.savez(
            tmp_path / case / "tokens.npz",
            x=arrays[0],
            y=np.zeros(2, np.int64),
            x_test=arrays[1],
            y_test=np.zeros(2, np.int64),
        )
        argv.append([str(script), "--data-dir", str(tmp_path / case), "--out", str(tmp_path / "o")])
    codes, output = run_scripts(argv)
    assert codes == [1, 1], output[-2000:]
    assert "error: token ids run from 5 to 39; the vocabulary is 0 to 29" in output
    assert "error: the model reads token ids (integers), but the data holds float32" in output


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_every_target_writes_the_token_specs(target: str) -> None:
    for spec in COUNTS:
        assert (GOLDEN / target / f"{spec}.py").is_file(), (target, spec)
        assert not (GOLDEN / target / f"{spec}.err").exists(), (target, spec)


# A recurrent layer given the padding mask, stacked layers with dropout between them.
STACKED_MASKED = (
    "model m {\n input 12 int\n embedding 30 8 pad=0\n"
    " gru 4 layers=2 dropout=0.1 sequences=true\n gru 3\n dense 2\n}\n"
    "data synthetic_text samples=40 length=12 vocab=30 { batch 8 }\n"
    "train { loss sparse_categorical_crossentropy; optimizer adam; epochs 1 }\n"
)


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_every_target_writes_stacked_and_masked_recurrent_layers(target: str) -> None:
    """No target refuses stacked layers (`recurrent.stacked`), a recurrent layer given the
    padding mask, `last`, sinusoidal positions or conv1d along time any more; the scripts
    write `layers=2 dropout=0.1` as the framework does (PyTorch's and MindSpore's
    num_layers/dropout, Keras's layers with a Dropout between them: active only while
    training, as Keras's Dropout is) and are ruff clean."""
    from specc.emit.targets import get_target
    from specc.lowering.capabilities import unsupported

    analysis = analyze(STACKED_MASKED, "t.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    assert unsupported(analysis, target) == []
    table = get_target(target).unsupported
    for key in ("recurrent.stacked", "recurrent.mask", "layer.last", "time_major"):
        assert key not in table, (target, key)
    assert "position_embedding.sinusoidal" not in table
    text = emit(analysis, target)
    assert lint(text) == [], target
    if target in ("keras", "tensorflow"):
        assert 'name="gru_1_l1",' in text and 'name="gru_1",' in text
        assert 'x = layers.Dropout(0.1, name="gru_1_dropout1")(x)' in text
        assert text.count(')(x, mask=ops.cast(mask, "bool"))') == 3  # both layers, then gru_2
    else:
        nn_gru = "nn.GRU(8, 4, num_layers=2, dropout=0.1, batch_first=True)"
        assert f"self.gru_1 = {nn_gru}" in text
        assert "x = unpadded(self.gru_1, x, mask)[0]" in text
        assert "unpadded(self.gru_2, x, mask)[1]" in text


@pytest.mark.parametrize("spec", sorted(COUNTS))
def test_the_script_generates_specc_runs_token_ids(spec: str) -> None:
    from specc.data.synthetic import generate_text

    data = analyze_file(ROOT / "specs" / f"{spec}.nn").spec.data
    table = generate_text(data)  # type: ignore[arg-type]
    module = runpy.run_path(str(GOLDEN / "pytorch" / f"{spec}.py"), run_name=spec)
    x, y, x_test, y_test = module["read_source"](None)
    assert y_test is None
    assert x.dtype == np.int64 and x.shape == (6000, 200) and x_test is None
    assert np.array_equal(x, table.x) and np.array_equal(y, table.y)
    assert (x[:, 0] == 0).mean() > 0.5  # pre-padded: most examples start with padding


@pytest.mark.parametrize("spec", sorted(COUNTS))
def test_the_keras_goldens_build_the_summarys_parameters(spec: str) -> None:
    """Keras's own classes where they mean the spec's (Embedding, MultiHeadAttention with
    D/heads per head, LayerNormalization, Dense), a cell with PyTorch's two LSTM biases: the
    same count as `specc summary` and the PyTorch script."""
    summary = analyze_file(ROOT / "specs" / f"{spec}.nn").shapes[spec].params
    module = runpy.run_path(str(GOLDEN / "keras" / f"{spec}.py"), run_name=spec)
    assert module["build_model"]().count_params() == summary == COUNTS[spec][1]


def _model_code(text: str) -> str:
    """The script's layer classes and build_model()."""
    return text[text.index("\nclass ") : text.index("\n\n\n", text.index("def build_model"))]


def test_the_keras_goldens_use_keras_classes() -> None:
    transformer = (GOLDEN / "keras" / "imdb_transformer.py").read_text()
    assert "class SelfAttention(layers.MultiHeadAttention):" in transformer
    assert "super().__init__(heads, width // heads, " in transformer  # key_dim per head
    assert "class TransformerEncoder(layers.Layer):" in transformer
    assert ")(x, attention_mask=ops.expand_dims(mask, 1))" in transformer
    assert "layers.LayerNormalization(epsilon=eps" in transformer
    bilstm = (GOLDEN / "keras" / "imdb_bilstm.py").read_text()
    # both LSTMs skip the padded steps: Keras's masked RNN (docs/semantics.md#masking)
    assert bilstm.count(')(x, mask=ops.cast(mask, "bool"))') == 2
    assert bilstm.count("zero_output_for_mask=True") == 1  # the one returning every step
    for spec in COUNTS:  # the tensorflow target builds the same model
        keras_code = _model_code((GOLDEN / "keras" / f"{spec}.py").read_text())
        tf_code = _model_code((GOLDEN / "tensorflow" / f"{spec}.py").read_text())
        assert keras_code == tf_code and "def build_model():" in keras_code


# Keras and TensorFlow scripts write every sequence kind.
# Every target writes these (a recurrent layer given the padding mask: MASKED_CASES).
KERAS_CASES = {
    "gru": "embedding 30 8\n gru 8 sequences=true bidirectional\n gru 4",
    "lstm": "embedding 30 8\n lstm 8 sequences=true bidirectional\n lstm 4",
    "avgpool": "embedding 30 8 pad=0\n global_avgpool",
    "maxpool": "embedding 30 8 pad=0\n global_maxpool",
    "positions": "embedding 30 8 pad=0\n position_embedding\n global_avgpool",
    "attention": "embedding 30 8 pad=0\n attention heads=2\n global_avgpool",
    # pre-padded: a query before the first token sees no key (uniform weights, not zeros)
    "causal_attention": "embedding 30 8 pad=0\n attention heads=2 causal\n global_maxpool",
    "unmasked_attention": "embedding 30 8\n attention heads=4 causal\n global_avgpool",
    "transformer": "embedding 30 8 pad=0\n position_embedding\n"
    " transformer_encoder heads=2 ff=16 dropout=0\n global_avgpool",
    "transformer_pre": "embedding 30 8 pad=0\n transformer_encoder heads=2 ff=16 norm=pre"
    " activation=gelu causal dropout=0 eps=1e-6\n global_avgpool",
    "transformer_unmasked": "embedding 30 8\n transformer_encoder heads=2 ff=8 dropout=0\n"
    " global_avgpool",
}


TARGETS = ("pytorch", "keras", "tensorflow", "mindspore")

# Recurrent layers given the padding mask (padding before, after and between the tokens;
# bidirectional: the backward direction starts at the last real token), `last` (with and
# without the mask), sinusoidal positions, conv1d and the 1-D pools along time, stacked
# recurrent layers (with the mask; without dropout, so the first batch is deterministic).
MASKED_CASES = {
    "masked_lstm": "embedding 30 8 pad=0\n lstm 8 sequences=true bidirectional\n lstm 4",
    "masked_gru": "embedding 30 8 pad=0\n gru 8 sequences=true bidirectional\n gru 4 bidirectional",
    "masked_last": "embedding 30 8 pad=0\n position_embedding sinusoidal\n"
    " gru 8 sequences=true bidirectional\n last",
    "last": "embedding 30 8\n position_embedding sinusoidal\n lstm 6 sequences=true\n last",
    "conv1d_time": "embedding 30 8 pad=0\n conv1d 6 3 padding=same relu\n maxpool1d 2\n"
    " conv1d 5 2 stride=2\n avgpool1d 2 stride=1\n global_maxpool",
    "stacked": "embedding 30 8 pad=0\n lstm 6 sequences=true bidirectional layers=2\n"
    " gru 4 layers=3",
    "stacked_state": "embedding 30 8 pad=0\n gru 6 sequences=true layers=2\n"
    " lstm 4 bidirectional layers=2",
}
CASES = {**KERAS_CASES, **MASKED_CASES}
PAIRS = sorted((case, target) for case in CASES for target in TARGETS)


def _layout(folder: Path) -> list[tuple[str, tuple[int, ...]]]:
    """The names and shapes of the arrays a run folder's weights file holds."""
    from safetensors.numpy import load_file

    if (folder / "weights.safetensors").exists():
        arrays = load_file(str(folder / "weights.safetensors"))
    else:  # scripts without safetensors installed write NumPy's format
        with np.load(folder / "weights.npz") as data:
            arrays = dict(data)
    return sorted((name, tuple(a.shape)) for name, a in arrays.items())


class FirstLosses:
    """Epoch 1's loss (one 480-example batch: the first batch's) of `specc run` and of each
    target's script for every case, all from the same init.safetensors per case. Each
    case's spec and run are made once; a target's scripts for every case run in one
    process (its framework imported once; MindSpore's in MindSpore's own venv) the first
    time any of them is asked for."""

    def __init__(self, root: Path) -> None:
        self.root, self.found = root, dict[tuple[str, str], float]()
        self.saved = dict[str, list[tuple[str, tuple[int, ...]]]]()
        self.failed = dict[tuple[str, str], str]()

    def __call__(self, case: str, target: str) -> float:
        if target == "run":
            self._prepare(case)
        elif (case, target) not in self.found and (case, target) not in self.failed:
            self._scripts(target)
        assert (case, target) not in self.failed, (case, target, self.failed[(case, target)])
        return self.found[(case, target)]

    def _prepare(self, case: str) -> None:
        if (case, "run") in self.found:
            return
        folder = self.root / case
        folder.mkdir()
        spec = write_task(folder, CASES[case])
        if case in MASKED_CASES:  # padding after and between tokens too, not only before
            with np.load(folder / "tokens.npz") as data:
                arrays = dict(data)
            arrays["x"][::3, -1] = 0
            arrays["x"][1::3, -3] = 0
            np.savez(folder / "tokens.npz", **arrays)
        text = spec.read_text().replace(
            "model text {", 'model text {\n init from "init.safetensors"'
        )
        text = text.replace("batch 16 shuffle", "batch 480")
        spec.write_text(text.replace("adam lr=0.01", "sgd lr=0.1"))
        _initial_weights(text, folder / "init.safetensors")
        options = RunOptions(backend="torch", out=str(folder / "run"), quiet=True, epochs=1)
        result = run(spec, options)
        self.found[(case, "run")] = result.history[0]["loss"]
        self.saved[case] = _layout(result.run_dir)

    def _scripts(self, target: str) -> None:
        """Every case's script for `target`, run one after another in one process."""
        runs = []
        for case in CASES:
            self._prepare(case)
            folder = self.root / case
            script = folder / f"{target}_script.py"
            script.write_text(emit(analyze_file(folder / "tokens.nn"), target), encoding="utf-8")
            out = str(folder / target)
            init = str(folder / "init.safetensors")  # one cwd for every case: paths in full
            runs.append([str(script), "--data-dir", str(folder), "--epochs", "1", "--out", out])
            runs[-1] += ["--init-from", init]
        python = mindspore_python() if target == "mindspore" else sys.executable
        codes, output = run_scripts(
            runs, env={"GLOG_v": "3"}, cwd=self.root, python=python, timeout=1800
        )
        for case, code in zip(CASES, codes, strict=True):
            if code != 0:
                self.failed[(case, target)] = f"exit {code}: {output[-3000:]}"
                continue
            self.found[(case, target)] = history(self.root / case / target)["loss"][0]
            # the trained arrays saved in the neutral file's names, shapes and order
            saved = _layout(self.root / case / target)
            if saved != self.saved[case]:
                self.failed[(case, target)] = f"saved {saved}, the run {self.saved[case]}"


@pytest.fixture(scope="module")
def first_losses(tmp_path_factory: pytest.TempPathFactory) -> FirstLosses:
    return FirstLosses(tmp_path_factory.mktemp("token_scripts"))


@pytest.mark.parametrize(("case", "target"), PAIRS)
def test_scripts_compute_the_spec(first_losses: FirstLosses, case: str, target: str) -> None:
    """The recurrent layers' gate blocks and both biases (and the padding mask: padded steps
    skipped wherever they sit, zeros output there), attention's heads and masks (causal too,
    where a query before the first token sees no key), the transformer block, the masked
    pools: the first-batch loss of each target's script is `specc run`'s within 1e-5
    (relative)."""
    expected, got = first_losses(case, "run"), first_losses(case, target)
    assert abs(got - expected) / expected < 1e-5, (case, target, expected, got)


def test_mindspore_writes_the_sequence_options(tmp_path: Path) -> None:
    """MindSpore scripts give nn.LSTM/nn.GRU the padding mask through `unpadded` (the steps
    compacted, followed by a pre-padded copy for the backward direction, MindSpore's
    `seq_length` for a stacked bidirectional layer, the outputs put back), take the last unpadded step
    (`last_unpadded`), add the sinusoidal table and run conv1d and the 1-D pools along time
    (swapped to (N, D, L) and back); MASKED_CASES prove the numbers."""
    expected = {
        "masked_lstm": [
            "x = unpadded(self.lstm_1, x, mask)[0]",
            "unpadded(self.lstm_2, x, mask)[1]",
        ],
        "masked_gru": ["x = unpadded(self.gru_2, x, mask)[1].swapaxes(0, 1).flatten(start_dim=1)"],
        "masked_last": ["x = x + sinusoidal_positions(12, 8)", "x = last_unpadded(x, mask)"],
        "last": ["x = x[:, -1]", "def sinusoidal_positions(length, dim):"],
        "conv1d_time": [
            "x = ops.relu(self.conv1d_1(x.swapaxes(1, 2)).swapaxes(1, 2))",
            "x = self.avgpool1d_1(x.swapaxes(1, 2)).swapaxes(1, 2)",
        ],
        "stacked": [
            "nn.LSTM(8, 6, num_layers=2, batch_first=True, bidirectional=True)",
            "x = unpadded(self.gru_1, x, mask)[1].swapaxes(0, 1).flatten(start_dim=1)",
        ],
        "stacked_state": [
            "nn.LSTM(6, 4, num_layers=2, batch_first=True, bidirectional=True)",
            "x = unpadded(self.lstm_1, x, mask)[1].swapaxes(0, 1).flatten(start_dim=1)",
        ],
    }
    assert set(expected) == set(MASKED_CASES)
    for case, lines in expected.items():
        (tmp_path / case).mkdir()
        text = emit(analyze_file(write_task(tmp_path / case, MASKED_CASES[case])), "mindspore")
        assert lint(text) == [], case
        for line in lines:
            assert line in text, (case, line)
        assert ("def unpadded(rnn, x, mask):" in text) == ("unpadded(self." in text), case


@pytest.mark.parametrize("target", ["keras", "tensorflow"])
def test_keras_scripts_learn_the_planted_signal(tmp_path: Path, target: str) -> None:
    argv = []
    for case, body in KERAS_CASES.items():
        folder = tmp_path / case
        folder.mkdir()
        spec = write_task(folder, body)
        script = folder / "train_script.py"
        text = emit(analyze_file(spec), target)
        assert lint(text) == [], case
        script.write_text(text, encoding="utf-8")
        argv.append([str(script), "--data-dir", str(folder), "--out", str(folder / "out")])
    codes, output = run_scripts(argv)
    assert codes == [0] * len(argv), output[-3000:]
    for case in KERAS_CASES:
        hist = history(tmp_path / case / "out")
        assert hist["test_accuracy"] >= 0.95, (case, hist["test_accuracy"])


def test_the_keras_lstm_is_a_cell_with_pytorchs_two_biases(tmp_path: Path) -> None:
    text = emit(analyze_file(write_task(tmp_path, KERAS_CASES["lstm"])), "keras")
    assert "class LSTMCell(layers.LSTMCell):" in text
    assert "layers.Bidirectional(\n" in text and "layers.RNN(\n" in text
    assert "mask" not in text[text.index("def build_model") :].split("\ndef ")[0]


def test_the_keras_gru_has_the_summarys_parameters(tmp_path: Path) -> None:
    """Keras's GRU (reset_after) keeps both biases, as the spec: 3H(D+H) + 6H per direction."""
    spec = write_task(tmp_path, KERAS_CASES["gru"])
    script = tmp_path / "gru_script.py"
    script.write_text(emit(analyze_file(spec), "keras"), encoding="utf-8")
    summary = analyze_file(spec).shapes["text"].params
    model = runpy.run_path(str(script), run_name="gru_script")["build_model"]()
    bigru, gru = 2 * (3 * 8 * (8 + 8) + 6 * 8), 3 * 4 * (16 + 4) + 6 * 4
    assert model.count_params() == summary == 30 * 8 + bigru + gru + 4 * 2 + 2 == 1378


def test_keras_stacked_layers_drop_only_while_training(tmp_path: Path) -> None:
    """`gru 6 layers=3 dropout=0.5`: three Keras GRUs with a Dropout between each two. With
    the same arrays, its outputs equal the model without dropout in inference and differ
    while training."""
    body = "embedding 30 8 pad=0\n gru 6 layers=3 dropout=0.5 sequences=true\n last"
    outputs, modules = {}, {}
    for rate in ("0", "0.5"):  # `analysis` ends as the dropping spec's
        folder = tmp_path / rate
        folder.mkdir()
        text = body if rate != "0" else body.replace(" dropout=0.5", "")
        script = folder / "keras_script.py"
        analysis = analyze_file(write_task(folder, text))
        script.write_text(emit(analysis, "keras", interop=True), encoding="utf-8")
        modules[rate] = runpy.run_path(str(script), run_name="stacked")
        outputs[rate] = modules[rate]["build_model"]()
    dropping, plain = outputs["0.5"], outputs["0"]
    # saved as the neutral file lays out the spec's arrays: layer k's as weight_ih_l<k>...
    expected = [
        (f"{layer.weights_name}.{w.name}", tuple(w.shape))
        for layer in emit_plan(analysis, "pytorch").weighted
        for w in layer.weights
    ]
    saved = modules["0.5"]["neutral_weights"](dropping)
    assert [(name, a.shape) for name, a in saved.items()] == expected
    assert "gru_1.weight_ih_l2" in saved
    names = [layer.name for layer in dropping.layers]
    assert names[2:7] == ["gru_1", "gru_1_dropout1", "gru_1_l1", "gru_1_dropout2", "gru_1_l2"]
    plain.set_weights(dropping.get_weights())  # the Dropout layers hold no arrays
    x = np.random.default_rng(0).integers(0, 30, size=(16, 12))
    assert np.allclose(dropping(x, training=False), plain(x, training=False), atol=1e-6)
    assert not np.allclose(dropping(x, training=True), plain(x, training=True), atol=1e-3)
