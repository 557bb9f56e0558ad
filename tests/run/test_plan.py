"""`make_plan`: what cannot train is refused before any framework is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from specc.analysis import analyze
from specc.errors import PlanError
from specc.plan import RunOptions, check_backend, make_plan

TAIL = """
data synthetic classification samples=32 features=4 classes=2 { batch 8 }
train { loss sparse_categorical_crossentropy; optimizer sgd; epochs 1 }
"""


@pytest.mark.parametrize(
    ("model", "message", "hint"),
    [
        (
            "input 4\n dense 8 relu frozen\n dense 2 frozen",
            "every layer with weights is `frozen`: there is nothing to train",
            "unfreeze a layer",
        ),
        ("input 4\n relu\n softmax", "model `m` has no weights", "add a layer with weights"),
        (
            # the only weights are in a branch nothing reads: the output is the input
            "input 4\n branch b { dense 2 }",
            "the output of model `m` reads no layer with trainable weights",
            "merge the branches into the model's output",
        ),
        (
            "input 4\n branch b { dense 4 }\n dense 4 frozen\n relu",
            "the output of model `m` reads no layer with trainable weights",
            "merge the branches into the model's output",
        ),
    ],
)
def test_a_model_with_nothing_to_train_is_refused(model: str, message: str, hint: str) -> None:
    analysis = analyze("model m {\n " + model + "\n}\n" + TAIL, "nothing.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    for backend in ("torch", "tensorflow"):
        plan = make_plan(analysis, RunOptions(backend=backend))
        with pytest.raises(PlanError) as err:
            check_backend(plan, [])
        assert message in err.value.message and hint in (err.value.hint or "")
        assert err.value.source is not None and err.value.source[0] == "nothing.nn"


def test_refused_without_importing_a_framework(tmp_path) -> None:
    spec = tmp_path / "frozen.nn"
    spec.write_text("model m {\n input 4\n dense 2 frozen\n}\n" + TAIL)
    code = (
        "import sys\nfrom specc.cli import main\n"
        f"try:\n    main([ 'run', {str(spec)!r}, '--backend', 'tensorflow'])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print(code, sorted(m for m in ('torch', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == "1 []", out.stdout + out.stderr
    assert "nothing to train" in out.stderr
