"""Every example spec, trained on each backend, exports to every format of that backend, verified.

`specc export` compares the artifact (loaded back by `specc predict`'s loader) with the run's
framework model at batch 1 and 64; here we also check the manifest and recompute the
comparison ourselves on the run's test split, so a verification that compares nothing
would be caught.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from export_helpers import BACKENDS, EXAMPLES, NOT_RUN, SPECS, example_id, train

from specc.export import export, formats_for
from specc.predict import open_model
from specc.predict.trained import open_run

CASES = [
    pytest.param(spec, model, data, backend, id=example_id(spec, model, backend))
    for spec, model, data in EXAMPLES
    for backend in BACKENDS
]


def test_every_example_spec_is_covered() -> None:
    covered = {spec for spec, _, _ in EXAMPLES}
    assert covered | set(NOT_RUN) == {p.name for p in SPECS.glob("*.nn")}
    assert not covered & set(NOT_RUN)


def test_formats_per_backend() -> None:
    assert formats_for("torch") == ["onnx", "torch"]
    assert formats_for("tensorflow") == ["savedmodel", "keras"]


@pytest.mark.parametrize(("spec", "model", "data", "backend"), CASES)
def test_exports_verify(
    runs_root: Path, spec: str, model: str | None, data: str | None, backend: str
) -> None:
    run_dir = train(runs_root, spec, backend, model, data)
    trained = open_run(run_dir)
    x, _ = trained.split("test")
    several = trained.inputs  # specs/two_tower.nn: `Inputs`, already in the inputs' shapes
    if several is None:
        x = x.reshape(len(x), *trained.plan.shapes.input)
    backend_module, state = trained.build("cpu")
    expected = trained.reference_outputs(backend_module, state, x)
    for fmt in formats_for(backend):
        done = export(run_dir, fmt)
        assert done.folder == run_dir / "export" / fmt
        assert done.artifact.exists()
        assert sorted(p.name for p in done.folder.iterdir()) == sorted(
            ["export.json", done.artifact.name]
        )
        manifest = json.loads((done.folder / "export.json").read_text())
        assert manifest["format"] == fmt
        if several is None:
            assert manifest["input"]["shape"] == [None, *trained.plan.shapes.input]
            assert manifest["input"]["dtype"] == "float32"
        else:
            assert "input" not in manifest
            assert manifest["inputs"] == [
                {"name": n, "shape": [None, *s], "dtype": "float32", "layout": "the spec's"}
                for n, s in several.items()
            ]
        assert manifest["preprocessing"] == trained.preprocessing()
        spec_text = (run_dir / "spec.nn").read_bytes()
        assert manifest["spec_sha256"] == hashlib.sha256(spec_text).hexdigest()
        assert manifest["verification"]["examples"] == "the run's test split"
        checks = manifest["verification"]["checks"]
        assert [c["batch"] for c in checks] == [1, 64]
        assert all(c["ok"] and c["max_abs_diff"] <= 1e-5 for c in checks)
        classification = trained.task != "regression"
        assert all(c["argmax_identical"] is (True if classification else None) for c in checks)
        # Our own comparison on the whole test split, through `specc predict`'s loader.
        got = open_model(done.folder).run(x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        if classification:
            assert (
                got.reshape(len(x), -1).argmax(1) == expected.reshape(len(x), -1).argmax(1)
            ).all()


def test_onnx_exporter_is_chosen_and_recorded(runs_root: Path) -> None:
    run_dir = train(runs_root, "quickstart.nn", "torch", None, None)
    dynamo = export(run_dir, "onnx", run_dir / "onnx-dynamo")
    legacy = export(run_dir, "onnx", run_dir / "onnx-legacy", legacy_onnx=True)
    assert "torch.export-based (dynamo)" in dynamo.manifest["exporter"]
    assert "TorchScript-based (legacy" in legacy.manifest["exporter"]
    for done in (dynamo, legacy):
        import onnx

        graph = onnx.load(str(done.artifact)).graph
        batch = graph.input[0].type.tensor_type.shape.dim[0]
        assert batch.dim_param and not batch.dim_value  # a dynamic batch axis
        assert all(c["ok"] for c in done.manifest["verification"]["checks"])


def test_older_torch_gets_the_torchscript_exporter(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specc.export import writers

    run_dir = train(runs_root, "quickstart.nn", "torch", None, None)
    monkeypatch.setattr(writers, "_torch_version", lambda: (2, 5))
    done = export(run_dir, "onnx", run_dir / "onnx-old-torch")
    assert "TorchScript-based (legacy, torch < 2.6)" in done.manifest["exporter"]
    assert all(c["ok"] for c in done.manifest["verification"]["checks"])
