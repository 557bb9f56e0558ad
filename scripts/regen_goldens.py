"""Regenerate the golden scripts: `python scripts/regen_goldens.py` (from anywhere).

Writes tests/golden/<target>/<spec>.py for every spec in specs/ and every available emit
target, rendered exactly as `specc emit specs/<spec>.nn --target <target>` would from the
repository root, and tests/golden/<target>/graph_<name>.py for the graph models of
tests/emit/graphs/<name>.nn (until the runners train graphs, they stay out of specs/). A spec a target refuses gets `<spec>.err` instead, one `path:line:col: CODE message` line
per diagnostic (search.nn: a search space is not a script). tests/emit/test_golden.py compares both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def golden_specs() -> dict[str, Path]:
    """Golden name -> its spec, relative to the repository root."""
    specs = {p.stem: p for p in sorted((ROOT / "specs").glob("*.nn"))}
    graphs = ROOT / "tests" / "emit" / "graphs"
    specs.update({f"graph_{p.stem}": p for p in sorted(graphs.glob("*.nn"))})
    return {name: path.relative_to(ROOT) for name, path in specs.items()}


def golden_outputs() -> dict[Path, str]:
    """Golden file (relative to the repo root) -> its expected content."""
    sys.path.insert(0, str(ROOT))
    from specc.analysis import analyze_file
    from specc.emit import EmitError, emit
    from specc.emit.targets import available

    os.chdir(ROOT)  # spec paths in the scripts' docstrings are relative: specs/x.nn
    out: dict[Path, str] = {}
    for target in available():
        for name, spec in golden_specs().items():
            analysis = analyze_file(spec.as_posix())
            folder = Path("tests/golden") / target.name
            try:
                out[folder / f"{name}.py"] = emit(analysis, target.name)
            except EmitError as err:
                out[folder / f"{name}.err"] = "".join(
                    f"{analysis.path}:{d.span.line}:{d.span.column}: {d.code} {d.message}\n"
                    for d in err.diagnostics
                )
    return out


def main() -> None:
    outputs = golden_outputs()
    for folder in {path.parent for path in outputs}:
        for stale in (ROOT / folder).glob("*"):
            if stale.suffix in (".py", ".err") and stale.relative_to(ROOT) not in outputs:
                stale.unlink()
    for path, text in outputs.items():
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(text, encoding="utf-8")
    print(f"wrote {len(outputs)} golden files under tests/golden/")


if __name__ == "__main__":
    main()
