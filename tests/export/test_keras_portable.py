"""`model.keras` from a TensorFlow run with batchnorm loads in plain Keras, without specc.

The loading process cannot import specc at all: its folders are removed from `sys.path`
and an import hook refuses any `specc` module, so a custom layer the file still needed
would fail to deserialize.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from specc.plan import RunOptions

SPEC = """model bn_cnn {
    input 1x28x28
    conv2d 4 3 bias=false
    batchnorm momentum=0.2
    relu
    maxpool2d 2
    flatten
    dense 16 bias=false
    batchnorm frozen
    relu
    dense 10 softmax
}

data mnist_sample {
    scale 1/255
    batch 32 shuffle
}

train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 1
    metrics accuracy
}
"""

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
model = keras.saving.load_model(MODEL)
x = np.load(INPUTS)
out = np.asarray(model(x, training=False))
np.save(OUTPUTS, out)
print(json.dumps({"specc": [m for m in sys.modules if m.split(".")[0] == "specc"],
                  "layers": [type(l).__name__ for l in model.layers]}))
"""


def test_model_keras_loads_without_specc(tmp_path: Path) -> None:
    import specc
    from specc.predict import open_model
    from specc.run import run

    spec = tmp_path / "bn.nn"
    spec.write_text(SPEC)
    done = run(
        spec, RunOptions(backend="tensorflow", limit=256, out=str(tmp_path / "run"), quiet=True)
    )
    model_file = done.run_dir / "model.keras"
    assert model_file.is_file()
    x, _ = open_model(done.run_dir).trained.split("test")
    x = x[:32].reshape(32, 1, 28, 28)
    expected = open_model(done.run_dir).run(x)
    np.save(tmp_path / "x.npy", x)
    specc_paths = {str(Path(specc.__file__).resolve().parents[1]), "", "."}
    specc_paths |= {p for p in sys.path if (Path(p or ".") / "specc" / "__init__.py").is_file()}
    script = (
        f"SPECC_PATHS = {sorted(specc_paths)!r}\nMODEL = {str(model_file)!r}\n"
        f"INPUTS = {str(tmp_path / 'x.npy')!r}\nOUTPUTS = {str(tmp_path / 'y.npy')!r}\n" + LOADER
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["specc"] == []
    assert report["layers"].count("BatchNormalization") == 2
    assert "SpecBatchNorm" not in report["layers"]
    got = np.load(tmp_path / "y.npy")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert (got.argmax(1) == expected.argmax(1)).all()
