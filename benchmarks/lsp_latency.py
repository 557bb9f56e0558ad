"""How long the language server takes to re-analyse a spec after an edit.

    python benchmarks/lsp_latency.py            # small spec and a generated 300-line spec
    python benchmarks/lsp_latency.py --runs 200

For each spec it times, in this process (the parser is built once, as in the server):
`analyze` alone, the server's whole update (`Documents.update`: analysis, layer shapes,
line index) followed by everything an editor asks after an edit (diagnostics, inlay hints,
outline). The target is well under 50 ms for 300 lines.

Both wall-clock and CPU time are reported: on a shared machine the wall clock also counts
time spent waiting for a core, the CPU time only this process's work.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from specc import syntax
from specc.analysis import analyze
from specc.lsp.documents import Documents
from specc.lsp.server import lsp_diagnostics
from specc.lsp.symbols import document_symbols, inlay_hints

ROOT = Path(__file__).resolve().parents[1]


def generated_spec(lines: int = 300) -> str:
    """A realistic spec of about `lines` lines: CNNs and MLPs, comments, data and train."""
    out = ["# Generated for benchmarks/lsp_latency.py"]
    n = 0
    while len(out) < lines - 16:
        n += 1
        out += [f"# model {n}: a small CNN", f"model cnn_{n} {{", "    input 1x28x28"]
        out += [
            "    conv2d 16 3 relu padding=same",
            "    batchnorm",
            "    conv2d 16 3 relu padding=same",
        ]
        out += [
            "    maxpool2d 2",
            "    conv2d 32 3 relu init=he_normal",
            "    maxpool2d 2",
            "    flatten",
        ]
        out += [f"    dense {64 + n} relu", "    dropout 0.25", "    dense 10 softmax", "}", ""]
        out += [f"model mlp_{n} {{", "    input 28x28", "    flatten"]
        out += [
            "    repeat 2 { dense 128 gelu; dropout 0.1 }",
            "    dense 64 relu",
            "    dense 10",
            "}",
            "",
        ]
    out += ["data mnist_sample {", "    scale 1/255", "    normalize mean=0.1307 std=0.3081"]
    out += ["    batch 128 shuffle", "    validation 0.1", "}", "", "train {"]
    out += [
        "    model cnn_1",
        "    loss sparse_categorical_crossentropy",
        "    optimizer adam lr=1e-3",
    ]
    out += ["    epochs 5", "    metrics accuracy", "    schedule cosine", "    warmup 1", "}"]
    return "\n".join(out) + "\n"


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each run."""
    fn()  # warm caches (registry lookups, pydantic validators)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def report(label: str, times: tuple[list[float], list[float]]) -> None:
    wall, cpu = times
    p95 = sorted(wall)[max(0, int(len(wall) * 0.95) - 1)]
    print(
        f"  {label:<36} wall median {statistics.median(wall):6.1f} ms, p95 {p95:6.1f} ms | "
        f"cpu median {statistics.median(cpu):6.1f} ms, min {min(cpu):6.1f} ms"
    )


def after_edit(text: str) -> Callable[[], object]:
    documents = Documents()
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=text.count("\n") + 1, character=0),
    )

    def run() -> object:
        state = documents.update("file:///bench.nn", text, 1, "bench.nn", "utf-16")
        return lsp_diagnostics(state), inlay_hints(state, whole), document_symbols(state)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    start = time.perf_counter()
    syntax._parser()
    print(f"parser built once per process: {(time.perf_counter() - start) * 1000:.1f} ms\n")

    specs = {
        "specs/quickstart.nn": (ROOT / "specs" / "quickstart.nn").read_text(),
        "generated": generated_spec(300),
    }
    for name, text in specs.items():
        analysis = analyze(text)
        lines = text.count("\n")
        layers = sum(len(s.layers) for s in analysis.shapes.values())
        print(
            f"{name}: {lines} lines, {len(analysis.spec.models)} models, {layers} layers, "
            f"{len(analysis.diagnostics)} diagnostics"
        )
        report("analyze()", timed(lambda t=text: analyze(t), args.runs))
        report("server update + diags/hints/outline", timed(after_edit(text), args.runs))
        print()


if __name__ == "__main__":
    main()
