"""Every target emits lint-clean, format-clean scripts for ANY valid spec, not only specs/*.nn.

Random specs come from the round-trip strategy (tests/language/test_roundtrip.py), are
written out with `specc.unparse.to_text` and analysed like a file; each valid one is
emitted for every target that does not refuse it (E600/E601) and the scripts must pass
`ruff check` and `ruff format --check` with the repository's settings. Degenerate specs
(a model of only `input`, no layer with weights, huge or tiny floats, names such as `O`)
are where unused imports, empty dict literals and long lines used to slip through.

One ruff run of each kind per example over all targets' scripts keeps this near 30 s.
Few of those specs have several named outputs and survive the checks, so a second test
draws only such models, on `data synthetic` of every task (the source whose latent class
gives every output its target), where scripts once used an undefined CLASSES.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from specc.analysis import analyze
from specc.checks import check_spec
from specc.diagnostics import Severity
from specc.emit import EmitError, emit
from specc.emit.targets import available
from specc.ir.data import Synthetic
from specc.ir.spec import Spec
from specc.shapes import infer
from specc.sweep.space import find
from specc.unparse import to_text
from tests.emit.conftest import RUFF, RUFF_SELECT, ruff
from tests.language.test_roundtrip import concrete_specs, with_outputs


def emit_all(text: str, folder: Path) -> list[Path]:
    """Each target's script for `text` written to `folder` (targets that refuse it: none)."""
    analysis = analyze(text, "random.nn")
    assume(analysis.ok)  # `one_hot` on regression data, for one, is refused by E406
    written = []
    for target in available():
        try:
            script = emit(analysis, target.name)
        except EmitError:  # the target cannot express this spec: refused with diagnostics
            continue
        path = folder / f"{target.name}.py"
        path.write_text(script, encoding="utf-8")
        written.append(path)
    return written


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(spec=concrete_specs())
def test_any_valid_spec_emits_ruff_clean_scripts(spec: Spec) -> None:
    assume(not find(spec))  # a script trains one concrete model (spaces are `specc sweep`'s)
    text = to_text(spec)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = emit_all(text, folder)
        assume(written)
        files = [str(path) for path in written]
        checked = ruff("check", *RUFF, *RUFF_SELECT, "--no-cache", *files)
        formatted = ruff("format", "--diff", *RUFF, "--no-cache", *files)
    problems = checked.stdout + checked.stderr if checked.returncode else ""
    if formatted.returncode:
        problems += formatted.stdout + formatted.stderr
    assert not problems, f"emitted scripts are not ruff-clean for this spec:\n{text}\n{problems}"


TRUNK = "model m {\n    input 6\n    dense 8 relu\n}\n\ntrain {\n    loss mse\n}\n"


@st.composite
def several_output_specs(draw: st.DrawFn) -> Spec:
    """A trunk ending in 1-3 drawn `output` blocks (any loss, weight and metrics), on `data
    synthetic` of a drawn task and class count."""
    base = analyze(TRUNK, "trunk.nn").spec
    assert base is not None and base.train is not None
    models, train = draw(with_outputs(base.models, base.train))
    data = Synthetic(
        task=draw(st.sampled_from(["classification", "binary", "regression"])),
        samples=draw(st.integers(20, 300)),
        features=6,
        classes=draw(st.integers(2, 7)),
    )
    spec = Spec(models=models, data=data, train=train)
    shapes = {m.name: found for m in spec.models if (found := infer(m)[0]) is not None}
    assume(not [d for d in check_spec(spec, shapes, "") if d.severity is Severity.ERROR])
    return spec


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=several_output_specs())
def test_several_outputs_on_synthetic_data_emit_ruff_clean_scripts(spec: Spec) -> None:
    text = to_text(spec)
    with tempfile.TemporaryDirectory() as tmp:
        written = emit_all(text, Path(tmp))
        assume(written)  # `ignore=`, for one, is refused with the reason by every target
        files = [str(path) for path in written]
        checked = ruff("check", *RUFF, *RUFF_SELECT, "--no-cache", *files)
        formatted = ruff("format", "--diff", *RUFF, "--no-cache", *files)
        classes = [f"CLASSES = {spec.data.classes}\n" in p.read_text() for p in written]
    problems = checked.stdout + checked.stderr if checked.returncode else ""
    if formatted.returncode:
        problems += formatted.stdout + formatted.stderr
    assert not problems, f"emitted scripts are not ruff-clean for this spec:\n{text}\n{problems}"
    assert all(classes), f"a script's CLASSES is not the data's latent classes:\n{text}"


def test_tidy_and_wrap_lay_long_lines_out_as_ruff_format_does(tmp_path: Path) -> None:
    """Spec names and values of any length: ruff splits the calls, `wrap` the prose."""
    from specc.emit.env import wrap
    from specc.emit.tidy import tidy

    name = "a_layer_with_a_really_very_long_name_indeed_" + "x" * 20
    lines = [
        f"self.{name} = nn.LayerNorm((1, 28, 28), eps=1e-05, elementwise_affine=True)",
        f"self.{name} = nn.Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding='same')",
        f"x = nn.functional.leaky_relu(self.{name}(x), 0.123456789)  # (B, 32, 28, 28)",
        "x = self.short(x)  # (B, 10)",
    ]
    body = "\n".join(f"        {line}" for line in lines)
    doc = wrap(f'"""Train `{name}` from ' + "some/folder/" * 8 + 'spec.nn with PyTorch.\n"""')
    text = tidy(
        f"{doc}\nimport os\nfrom torch import nn\n\nclass A:\n    def f(self, x):\n{body}\n"
    )
    assert "import os" not in text  # unused: ruff's fixer removed it
    assert "        x = self.short(x)  # (B, 10)\n" in text
    assert f"self.{name} = nn.LayerNorm(\n            (1, 28, 28)" in text
    assert "\n" in doc.strip()
    script = tmp_path / "script.py"
    script.write_text(text, encoding="utf-8")
    checked = ruff("check", *RUFF, *RUFF_SELECT, "--no-cache", str(script))
    formatted = ruff("format", "--diff", *RUFF, "--no-cache", str(script))
    assert checked.returncode == 0, checked.stdout
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
