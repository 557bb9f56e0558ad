"""`specc export` and `specc predict` of a model with several named outputs
(specs/two_outputs.nn: a 6-way `kind` and a binary `big`): every format writes one named
output per spec output, each after its own probability head, export.json lists each
output's name, shape and classes, the artifact's predictions equal the run's within 1e-5,
and `specc predict` gives each output its own group of columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import train

from specc.cli import main
from specc.export import export, formats_for
from specc.predict import open_model, predict
from specc.predict.trained import open_run

SPEC = "two_outputs.nn"
OUTPUTS = [
    {
        "name": "kind",
        "shape": [None, 6],
        "task": "classification",
        "dtype": "float32",
        "meaning": "class probabilities",
        "classes": 6,
    },
    {
        "name": "big",
        "shape": [None, 1],
        "task": "binary",
        "dtype": "float32",
        "meaning": "probability of class 1",
        "classes": 2,
    },
]


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_every_format_writes_a_named_output_per_spec_output(runs_root: Path, backend: str) -> None:
    run_dir = train(runs_root, SPEC, backend, None, None)
    trained = open_run(run_dir)
    x, _ = trained.split("test")
    built, state = trained.build("cpu")
    expected = trained.reference_outputs(built, state, x)
    assert list(expected) == ["kind", "big"] and expected["kind"].shape == (len(x), 6)
    np.testing.assert_allclose(expected["kind"].sum(axis=1), 1.0, atol=1e-5)  # probabilities
    assert ((expected["big"] > 0) & (expected["big"] < 1)).all()
    for fmt in formats_for(backend):
        done = export(run_dir, fmt, run_dir / "several" / fmt)
        manifest = json.loads((done.folder / "export.json").read_text())
        assert manifest["outputs"] == OUTPUTS and "output" not in manifest
        checks = manifest["verification"]["checks"]
        assert [(c["output"], c["batch"]) for c in checks] == [
            ("kind", 1),
            ("big", 1),
            ("kind", 64),
            ("big", 64),
        ]
        assert all(c["ok"] and c["max_abs_diff"] <= 1e-5 for c in checks), checks
        assert all(c["argmax_identical"] is True for c in checks)
        # our own comparison on the whole test split, through `specc predict`'s loader
        got = open_model(done.folder).run(x)
        assert list(got) == ["kind", "big"], fmt
        for name in ("kind", "big"):
            assert got[name].shape == expected[name].shape, (fmt, name)
            np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-5)


def test_onnx_names_each_graph_output_after_its_spec_output(runs_root: Path) -> None:
    import onnx

    run_dir = train(runs_root, SPEC, "torch", None, None)
    for legacy in (False, True):
        done = export(run_dir, "onnx", run_dir / f"named-{legacy}", legacy_onnx=legacy)
        graph = onnx.load(str(done.artifact)).graph
        assert [o.name for o in graph.output] == ["kind", "big"]
        dims = [o.type.tensor_type.shape.dim for o in graph.output]
        assert [[d.dim_value for d in dim[1:]] for dim in dims] == [[6], [1]]
        assert all(dim[0].dim_param and not dim[0].dim_value for dim in dims)  # dynamic batch


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outputs") / "new.npz"
    np.savez(path, x=np.random.default_rng(5).normal(size=(7, 16)).astype(np.float32))
    return path


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_predict_writes_a_column_group_per_output(
    runs_root: Path, examples: Path, tmp_path: Path, suffix: str
) -> None:
    run_dir = train(runs_root, SPEC, "torch", None, None)
    found = predict(run_dir, [examples])
    assert [h.name for h in found.heads or []] == ["kind", "big"]
    folder = export(run_dir, "onnx", run_dir / "predict-onnx").folder
    for source in (run_dir, folder):
        out = tmp_path / f"{source.name}.{suffix}"
        done = _cli("predict", str(source), str(examples), "--out", str(out), "--proba")
        assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
        if suffix == "csv":
            with open(out, newline="") as handle:
                rows = list(csv.DictReader(handle))
        else:
            rows = json.loads(out.read_text())
        assert list(rows[0]) == [
            "input",
            "kind_class",
            "kind_probability",
            *(f"kind_p_{c}" for c in range(6)),
            "big_class",
            "big_probability",
            "big_p_0",
            "big_p_1",
        ]
        assert len(rows) == 7 and rows[3]["input"] == f"{examples}#3"
        kind, big = found.outputs["kind"], found.outputs["big"][:, 0]
        for i, row in enumerate(rows):
            assert int(row["kind_class"]) == int(kind[i].argmax())
            assert float(row["kind_probability"]) == pytest.approx(kind[i].max(), abs=1e-5)
            assert float(row["kind_p_4"]) == pytest.approx(kind[i, 4], abs=1e-5)
            assert int(row["big_class"]) == int(big[i] > 0.5)
            assert float(row["big_p_1"]) == pytest.approx(big[i], abs=1e-5)


def test_predict_on_the_test_split_scores_each_output_as_the_run_did(runs_root: Path) -> None:
    run_dir = train(runs_root, SPEC, "torch", None, None)
    recorded = json.loads((run_dir / "metrics.json").read_text())
    again = predict(run_dir, split="test")
    assert again.metrics == pytest.approx(
        {k: recorded[k] for k in ("test_kind_accuracy", "test_big_accuracy")}, abs=1e-9
    )
    done = _cli("predict", str(run_dir), "--split", "test")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    lines = done.output.splitlines()  # type: ignore[attr-defined]
    assert lines[0].split() == [
        "input",
        "kind_class",
        "kind_probability",
        "kind_label",
        "big_class",
        "big_probability",
        "big_label",
    ]
    assert f"test_kind_accuracy {recorded['test_kind_accuracy']:.4f}" in lines
    assert f"test_big_accuracy {recorded['test_big_accuracy']:.4f}" in lines


def test_top_past_an_outputs_classes_is_a_usage_error(runs_root: Path, examples: Path) -> None:
    run_dir = train(runs_root, SPEC, "torch", None, None)
    done = _cli("predict", str(run_dir), str(examples), "--top", "3")
    assert done.exit_code == 2, done.output  # type: ignore[attr-defined]
    assert "error: --top 3: output `big` has 2 classes" in done.stderr  # type: ignore[attr-defined]
    assert "hint: use --top 2 or fewer" in done.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in done.output  # type: ignore[attr-defined]
    fine = _cli("predict", str(run_dir), str(examples), "--top", "2")
    assert fine.exit_code == 0 and "kind_top2_probability" in fine.output  # type: ignore[attr-defined]
    assert "big_top2" in fine.output  # type: ignore[attr-defined]


def test_a_wrong_output_fails_verification_naming_it(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only `big`'s last weights perturbed in the written ONNX: `kind` still agrees, and
    the command names `big`, shows its differences and keeps nothing."""
    import onnx
    from onnx import numpy_helper

    from specc.export import writers

    run_dir = train(runs_root, SPEC, "torch", None, None)
    _, write = writers.WRITERS["onnx"]

    def write_then_perturb(state: object, x: object, path: Path, options: dict) -> str:  # type: ignore[type-arg]
        how = write(state, x, path, options)
        model = onnx.load(str(path))
        for i, init in enumerate(model.graph.initializer):
            if list(init.dims) == [1, 16]:  # `big`'s final dense (16 -> 1)
                array = numpy_helper.to_array(init) + np.float32(0.5)
                model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array, init.name))
        onnx.save(model, str(path))
        return how

    monkeypatch.setitem(writers.WRITERS, "onnx", ("torch", write_then_perturb))
    out = tmp_path / "bad"
    done = _cli("export", str(run_dir), "--format", "onnx", "-o", str(out))
    assert done.exit_code == 1, done.output  # type: ignore[attr-defined]
    text = done.output  # type: ignore[attr-defined]
    assert "verification failed: the exported onnx model and the run's model disagree at " in text
    assert "batch 1: output `big`: " in text and "output `kind`" not in text
    assert "example  output" in text and "Traceback" not in text
    assert not out.exists()
