"""A text model's `model.keras` (TensorFlow run) loads in plain Keras, without specc, and
predicts what the run predicts on padded batches, the padding mask honoured.

One tiny run per sequence kind (masked and unmasked recurrent layers, attention, causal
attention, the transformer block pre and post, the pools, `last`, learned and sinusoidal
positions); one subprocess that cannot import specc (its folders off `sys.path`, an import
hook refusing `specc`) loads every `model.keras` and predicts a batch of mixed lengths:
pre-padded, post-padded, padding in between, all padding, none. Its outputs equal the run's
(`specc.predict.open_model(run).run`) within 1e-5, and the file holds no layer of ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from specc.plan import RunOptions

DATA = "data synthetic_text samples=32 length=8 vocab=20 { batch 16 }\n"
TRAIN = "train { loss sparse_categorical_crossentropy; optimizer adam lr=0.05; epochs 1 }\n"
# kind -> (model body between `input 8 int` and `dense 2`, stock layers the file must hold)
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lstm_masked": ("embedding 20 8 pad=0\n lstm 6", ("LSTM",)),
    "lstm_unmasked_stacked": ("embedding 20 8\n lstm 6 layers=2 dropout=0.1", ("LSTM",)),
    "lstm_bidirectional_masked": (
        "embedding 20 8 pad=0\n lstm 5 sequences=true bidirectional\n lstm 4 bidirectional",
        ("Bidirectional",),
    ),
    "gru_masked_sequences_maxpool": (
        "embedding 20 8 pad=0\n gru 6 sequences=true\n global_maxpool",
        ("GRU",),
    ),
    "gru_bidirectional_unmasked": ("embedding 20 8\n gru 5 bidirectional", ("Bidirectional",)),
    "gru_masked_last": (
        "embedding 20 8 pad=0\n gru 6 sequences=true bidirectional layers=2\n last",
        ("Bidirectional",),
    ),
    "attention_masked_avgpool": (
        "embedding 20 8 pad=0\n attention heads=2\n global_avgpool",
        ("MultiHeadAttention",),
    ),
    # padded queries reach the output through flatten; with causal and pre-padding the
    # first queries see no key at all (uniform weights, as the run)
    "attention_causal_flatten": (
        "embedding 20 8 pad=0\n position_embedding\n attention heads=2 causal\n flatten",
        ("MultiHeadAttention", "Embedding"),
    ),
    "attention_unmasked_maxpool": (
        "embedding 20 8\n attention heads=4\n global_maxpool",
        ("MultiHeadAttention", "GlobalMaxPooling1D"),
    ),
    "transformer_post_learned": (
        "embedding 20 8 pad=0\n position_embedding\n transformer_encoder heads=2 ff=16\n last",
        ("MultiHeadAttention", "LayerNormalization", "Dense"),
    ),
    "transformer_pre_sinusoidal_causal": (
        "embedding 20 8 pad=0\n position_embedding sinusoidal\n"
        " transformer_encoder heads=2 ff=16 norm=pre causal activation=gelu\n global_maxpool",
        ("MultiHeadAttention", "LayerNormalization"),
    ),
    "transformer_unmasked_last": (
        "embedding 20 8\n position_embedding sinusoidal\n transformer_encoder heads=2 ff=8\n last",
        ("MultiHeadAttention",),
    ),
    "avgpool_unmasked": ("embedding 20 8\n global_avgpool", ("GlobalAveragePooling1D",)),
    # Keras would attach the LSTM's mask to its output and the attention would then mask
    # the padded queries too, which the run computes (flatten reads them): the mask is cut
    "lstm_then_attention_flatten": (
        "embedding 20 8 pad=0\n lstm 6 sequences=true\n attention heads=2\n flatten",
        ("LSTM", "MultiHeadAttention", "Flatten"),
    ),
    # a graph (no padding mask: graphs refuse `pad=`): the functional wiring path
    "graph_residual_attention": (
        "embedding 20 8\n residual {\n  attention heads=2\n }\n gru 4",
        ("MultiHeadAttention", "GRU", "Add"),
    ),
}
# Pre-padded, post-padded, padding in between, all padding, no padding, one token, and
# rows 1 and 6 hold one sentence post- and pre-padded (pad id 0).
IDS = np.array(
    [
        [0, 0, 3, 4, 5, 6, 1, 7],
        [3, 4, 5, 0, 0, 0, 0, 0],
        [9, 0, 2, 0, 11, 0, 13, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [9, 8, 2, 10, 11, 12, 13, 19],
        [0, 0, 0, 0, 0, 0, 0, 17],
        [0, 0, 0, 0, 0, 3, 4, 5],
    ],
    dtype=np.int64,
)
OURS = {
    "SpecBatchNorm",
    "PositionEmbedding",
    "SinusoidalPositions",
    "LastStep",
    "Recurrent",
    "SequencePool",
    "SelfAttention",
    "TransformerEncoder",
}

LOADER = """
import importlib.abc, json, sys
sys.path[:] = [p for p in sys.path if p not in SPECC_PATHS]
class NoSpecc(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "specc" or name.startswith("specc."):
            raise ImportError("specc is not installed here")
        return None
sys.meta_path.insert(0, NoSpecc())
try:
    import specc
    raise SystemExit("specc is still importable")
except ImportError:
    pass
import numpy as np, keras
x = np.load(INPUTS)
report = {}
for name, path in MODELS.items():
    model = keras.saving.load_model(path)
    np.save(path + ".npy", np.asarray(model.predict(x, verbose=0)))
    report[name] = sorted({type(l).__name__ for l in model.layers})
assert "specc" not in sys.modules
report["specc"] = [m for m in sys.modules if m.split(".")[0] == "specc"]
print(json.dumps(report))
"""


def loaded_without_specc(files: dict[str, Path], ids: np.ndarray, folder: Path) -> dict:
    """Load each `.keras` file in a process that cannot import specc; its predictions on
    `ids` lie next to each file (`<file>.npy`); the answer: layer class names per file."""
    import specc

    np.save(folder / "ids.npy", ids)
    specc_paths = {str(Path(specc.__file__).resolve().parents[1]), "", "."}
    specc_paths |= {p for p in sys.path if (Path(p or ".") / "specc" / "__init__.py").is_file()}
    script = (
        f"SPECC_PATHS = {sorted(specc_paths)!r}\n"
        f"MODELS = { ({k: str(v) for k, v in files.items()})!r}\n"
        f"INPUTS = {str(folder / 'ids.npy')!r}\n" + LOADER
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=folder
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict = json.loads(proc.stdout.splitlines()[-1])
    assert report.pop("specc") == []
    return report


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, dict]:
    """Every kind's run: the run's own predictions and the plain-Keras ones."""
    from specc.predict import open_model
    from specc.run import run

    root = tmp_path_factory.mktemp("text_runs")
    files, expected = {}, {}
    for name, (body, _) in MODELS.items():
        spec = root / f"{name}.nn"
        spec.write_text(
            f"model {name} {{\n input 8 int\n {body}\n dense 2 softmax\n}}\n{DATA}{TRAIN}"
        )
        options = RunOptions(backend="tensorflow", out=str(root / name), quiet=True, seed=1)
        run_dir = run(spec, options).run_dir
        files[name] = run_dir / "model.keras"
        expected[name] = open_model(run_dir).run(IDS)
    report = loaded_without_specc(files, IDS, root)
    got = {name: np.load(str(path) + ".npy") for name, path in files.items()}
    return expected, got, report


@pytest.mark.parametrize("name", sorted(MODELS))
def test_text_model_keras_loads_without_specc(name: str, text_runs: tuple) -> None:
    expected, got, report = text_runs
    want = expected[name]
    assert want.shape == (len(IDS), 2) and np.isfinite(want).all()
    np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-5)
    layers = set(report[name])
    assert not layers & OURS, layers
    assert set(MODELS[name][1]) <= layers, layers


def test_the_mask_is_honoured(text_runs: tuple) -> None:
    """Not vacuous: where the padding sits does not matter to a masked recurrence or an
    unordered masked pool (rows 1 and 6, one sentence post- and pre-padded), in the run
    and in the plain-Keras file alike, while it does matter without the mask."""
    expected, got, _ = text_runs
    for name in (
        "lstm_masked",
        "lstm_bidirectional_masked",
        "gru_masked_sequences_maxpool",
        "gru_masked_last",
        "attention_masked_avgpool",
    ):
        np.testing.assert_allclose(expected[name][1], expected[name][6], rtol=0, atol=1e-5)
        np.testing.assert_allclose(got[name][1], got[name][6], rtol=0, atol=1e-5)
    for name in ("lstm_unmasked_stacked", "gru_bidirectional_unmasked"):
        assert np.abs(got[name][1] - got[name][6]).max() > 1e-4, name
