"""How long the language server takes to answer, as an editor sees it.

    python benchmarks/lsp_latency.py                 # everything below, default sizes
    python benchmarks/lsp_latency.py --bursts 40     # more bursts per spec size
    python benchmarks/lsp_latency.py --only stdio    # or: launch, memory, hints, inprocess

The measurements:

- `launch`: `specc lsp` started as a fresh process, the time until it answers
  `initialize`, and until the first diagnostics of an opened spec arrive (median of 11).
- `stdio`: edit-to-diagnostics over stdio with bursts of typing: 10 keystrokes 80 ms
  apart into a generated 300-line and 3,000-line spec, then the time from the last
  keystroke to the published diagnostics of that last version (p50/p95 over bursts), and
  how many analyses each burst cost (diagnostics published per burst).
- `memory`: the server's resident memory after 100 and after 1,000 edits.
- `hints`: inlay hints of a model with 2,000, 4,000 and 9,000 layers (linear).
- `inprocess`: `analyze` and the server's whole update (analysis, layer shapes, line
  index, diagnostics, inlay hints, outline) timed in this process, wall and CPU.

Budgets (issue 15): diagnostics within 150 ms of the last keystroke on 300 lines and 1 s
on 3,000 lines at p95, no memory growth over 1,000 edits, first answer under 0.6 s.
On a shared machine the wall clock also counts time spent waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from stdio_client import StdioServer, published

from specc import syntax
from specc.analysis import analyze
from specc.lsp.documents import Documents
from specc.lsp.server import lsp_diagnostics
from specc.lsp.symbols import document_symbols, inlay_hints
from specc.lsp.sync import gc_paused

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
        with gc_paused():  # as the server analyses
            state = documents.update("file:///bench.nn", text, 1, "bench.nn", "utf-16")
        return lsp_diagnostics(state), inlay_hints(state, whole), document_symbols(state)

    return run


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def launch(runs: int = 11) -> None:
    """Fresh `specc lsp` processes: time to the initialize answer and first diagnostics."""
    text = (ROOT / "specs" / "mnist.nn").read_text()
    first, diags, cpu_first, cpu_diags = [], [], [], []
    for _ in range(runs):
        server = StdioServer()
        first.append(server.initialize() - server.started)
        cpu_first.append(server.cpu_seconds())
        server.open("file:///launch.nn", text)
        diags.append(time.perf_counter() - server.started)
        cpu_diags.append(server.cpu_seconds())
        server.close()
    print(
        f"launch -> initialize answer: median {statistics.median(first):.3f} s wall "
        f"(min {min(first):.3f}, max {max(first):.3f}), {statistics.median(cpu_first):.3f} s "
        f"CPU; -> first diagnostics of specs/mnist.nn: median {statistics.median(diags):.3f} s "
        f"wall, {statistics.median(cpu_diags):.3f} s CPU ({runs} launches)"
    )


def bursts(lines: int, count: int, keys: int = 10, gap: float = 0.08) -> None:
    """Edit-to-diagnostics after bursts of `keys` keystrokes `gap` seconds apart: each
    keystroke types one character into a comment line (the spec stays valid)."""
    text = generated_spec(lines)
    uri = f"file:///burst{lines}.nn"
    server = StdioServer()
    server.initialize()
    server.open(uri, text)
    line = text.split("\n").index("# model 1: a small CNN")
    column = len("# model 1: a small CNN")
    version, latencies = 1, []
    for _ in range(count):
        for _key in range(keys):
            version += 1
            last = server.change(uri, version, line, column, "x")
            column += 1
            time.sleep(gap)
        # The last keystroke's send time, not the end of its sleep.
        done = server.wait(published(uri, version))
        latencies.append((done - last) * 1000)
        time.sleep(0.3)  # a pause between bursts, as between words
    server.close()
    print(
        f"{len(text.splitlines()):>5} lines, {count} bursts of {keys} keys {gap * 1000:.0f} ms "
        f"apart: last key -> diagnostics p50 {percentile(latencies, 0.5):6.0f} ms, "
        f"p95 {percentile(latencies, 0.95):6.0f} ms, max {max(latencies):6.0f} ms"
    )


def analyses_per_burst(lines: int, count: int, keys: int = 10, gap: float = 0.08) -> None:
    """How many analyses one burst of keystrokes costs: the diagnostics published for
    its versions (an analysis made stale by the next keystroke is dropped unpublished)."""
    text = generated_spec(lines)
    uri = f"file:///count{lines}.nn"
    server = StdioServer()
    server.initialize()
    server.open(uri, text)
    line = text.split("\n").index("# model 1: a small CNN")
    column = len("# model 1: a small CNN")
    version, per_burst = 1, []
    for _ in range(count):
        first = version + 1
        for _key in range(keys):
            version += 1
            server.change(uri, version, line, column, "x")
            column += 1
            time.sleep(gap)
        seen: list[dict[str, Any]] = []
        server.wait(published(uri, version), seen=seen)
        versions = [(m.get("params") or {}).get("version") for m in seen]
        per_burst.append(sum(1 for v in versions if isinstance(v, int) and v >= first))
        time.sleep(0.3)
    server.close()
    print(
        f"{len(text.splitlines()):>5} lines: analyses per burst of {keys} keys: "
        f"median {statistics.median(per_burst):.0f}, max {max(per_burst)}"
    )


def memory(edits: int = 1000) -> None:
    """Resident memory of the server after 100 and after `edits` edits of a 300-line spec
    (each edit re-analysed: the server is asked for diagnostics-bearing work each time)."""
    text = generated_spec(300)
    uri = "file:///memory.nn"
    server = StdioServer()
    server.initialize()
    server.open(uri, text)
    line = text.split("\n").index("# model 1: a small CNN")
    column = len("# model 1: a small CNN")
    marks = {}
    for version in range(2, edits + 2):
        server.change(uri, version, line, column, "x" if version % 2 else "y")
        column += 1
        if version % 50 == 0:  # let each 50th edit be analysed before going on
            server.wait(published(uri, version))
        if version - 1 in (100, edits):
            server.wait(published(uri, version))
            marks[version - 1] = server.rss_mb()
    server.close()
    print(
        f"memory: {marks[100]:.1f} MB after 100 edits, {marks[edits]:.1f} MB after "
        f"{edits} edits ({marks[edits] - marks[100]:+.1f} MB)"
    )


def hints(sizes: tuple[int, ...] = (2000, 4000, 9000)) -> None:
    """Inlay hints of one model with N layers (they were superlinear: issue 17)."""
    for n in sizes:
        text = "model deep {\n    input 8\n" + "    dense 8 relu\n" * n + "}\n"
        state = Documents().update("file:///deep.nn", text, 1, "deep.nn", "utf-16")
        whole = types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=n + 3, character=0),
        )
        start = time.perf_counter()
        found = inlay_hints(state, whole)
        took = (time.perf_counter() - start) * 1000
        print(f"inlay hints, {n:>5} layers: {len(found)} hints in {took:6.1f} ms")


def inprocess(runs: int) -> None:
    start = time.perf_counter()
    syntax._parser()
    print(f"parser built once per process: {(time.perf_counter() - start) * 1000:.1f} ms\n")

    specs = {
        "specs/quickstart.nn": (ROOT / "specs" / "quickstart.nn").read_text(),
        "generated": generated_spec(300),
        "generated 3000": generated_spec(3000),
    }
    for name, text in specs.items():
        analysis = analyze(text)
        lines = text.count("\n")
        layers = sum(len(s.layers) for s in analysis.shapes.values())
        print(
            f"{name}: {lines} lines, {len(analysis.spec.models)} models, {layers} layers, "
            f"{len(analysis.diagnostics)} diagnostics"
        )
        n = runs if lines < 1000 else max(5, runs // 10)
        report("analyze()", timed(lambda t=text: analyze(t), n))
        report("server update + diags/hints/outline", timed(after_edit(text), n))
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="in-process timing runs")
    parser.add_argument("--bursts", type=int, default=20, help="bursts per spec size")
    parser.add_argument(
        "--only", choices=["launch", "stdio", "memory", "hints", "inprocess"], action="append"
    )
    args = parser.parse_args()
    only = set(args.only or ["launch", "stdio", "memory", "hints", "inprocess"])
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if "launch" in only:
        launch()
    if "stdio" in only:
        for lines in (300, 3000):
            bursts(lines, args.bursts)
            analyses_per_burst(lines, max(3, args.bursts // 4))
    if "memory" in only:
        memory()
    if "hints" in only:
        hints()
    if "inprocess" in only:
        print()
        inprocess(args.runs)
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
