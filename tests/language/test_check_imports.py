"""`specc check` loads only what checking needs: the start-up cost is most of its time.

What each command costs is measured by benchmarks/check_speed.py; this test keeps the
heavy packages (frameworks, templates, plots, the terminal renderer, the server) and
specc's other subsystems out of a check, so a stray top-level import cannot slow every
`specc check` (and every pre-commit hook) by a few hundred milliseconds unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_FOR_CHECK = (
    *("torch", "tensorflow", "keras", "mindspore", "jax", "onnx", "onnxruntime"),
    *("jinja2", "matplotlib", "rich", "numpy", "optuna", "pygls", "lsprotocol"),
    *("safetensors", "PIL", "sqlalchemy"),
)
SPECC_NOT_FOR_CHECK = (
    *("specc.lsp", "specc.emit", "specc.run", "specc.executors", "specc.sweep"),
    *("specc.predict", "specc.export", "specc.data", "specc.parity", "specc.report"),
)

PROGRAM = """
import json, sys
from specc.cli import main
try:
    main(["check", *sys.argv[1:]], standalone_mode=False)
except SystemExit as exit:
    assert exit.code in (0, 1, None), exit.code
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_check(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_check_of_every_shipped_spec_imports_nothing_heavy() -> None:
    modules = _modules_after_check(*(str(p) for p in sorted((ROOT / "specs").glob("*.nn"))))
    assert "specc.analysis" in modules and "specc.ir" in modules  # it did check
    assert _loaded(modules, NOT_FOR_CHECK) == []
    assert _loaded(modules, SPECC_NOT_FOR_CHECK) == []


def test_check_of_a_spec_with_errors_imports_nothing_heavy(tmp_path: Path) -> None:
    """The error path (did-you-mean, explanations, related places) stays light too."""
    spec = tmp_path / "bad.nn"
    spec.write_text(
        "model m {\n    input 28x28\n    dense 10 reluu\n    conv2d 3\n}\ntrain {\n    model q\n}\n"
    )
    modules = _modules_after_check(str(spec))
    assert _loaded(modules, NOT_FOR_CHECK) == []
    assert _loaded(modules, SPECC_NOT_FOR_CHECK) == []
