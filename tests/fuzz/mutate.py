"""Grammar-aware mutations of specs, and the readers every mutant goes through.

A mutant starts from a real spec (specs/*.nn and the diagnostic fixtures) and changes it
the way people and tools break files: a value swapped for an extreme one (huge, non-finite,
negative, 4,301 digits), a word swapped for another word of the language (a layer for a
loss, an argument name for a kind), a token dropped, doubled or moved, a bracket or quote
left open, a line doubled, dropped or taken from another spec, a value wrapped in a
search space, the file cut off mid-token, hostile text in strings, or a line repeated up
to the size limit.

`exercise(text)` runs what `specc check`, `fmt`, `summary`, `ir` and `emit` run and
returns the seconds the check took; any exception escaping it is a bug. Used by
tests/fuzz/test_fuzz.py (a fixed seed set) and benchmarks/fuzz_check.py (many more).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from functools import cache
from pathlib import Path

from specc.analysis import analyze
from specc.diagnostics import render
from specc.emit import EmitError, UnknownTarget, emit
from specc.emit.targets import available
from specc.fmt import FormatError, format_text
from specc.ir import strip_spans
from specc.summary import summarize_all
from specc.syntax import MAX_BYTES

ROOT = Path(__file__).resolve().parents[2]

# A token: a string, a comment, a shape, a fraction, a number, a word, blanks, or one char.
TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d+(?:x\d+)+|[+-]?\d+/\d+'
    r"|[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|\w+|[ \t]+|\n|."
)
NUMBER = re.compile(r"[+-]?[\d.]")
EXTREME_VALUES = (
    "0", "-1", "-0", "1e400", "-1e400", "1e-400", "nan", "inf", "-inf", "1e308", "1e-308",
    "1" * 4301, "9" * 300, "9" * 301, "2147483648", "4294967296", "1/0", "0/0", "1/3",
    "0x0", "1x0x5", "65536x65536", "999999999x999999999", "3.5", "0.9999999", "1e9",
    '""', '"\\u2028"', '"\u2028"', '"../../etc/passwd"', "true", "false", "[]", "[1, -1]",
)  # fmt: skip
STRUCTURE = ("{", "}", "(", ")", "[", "]", "=", ",", ";", "\n", '"', "'", "#", "x", "/", "-")
HOSTILE_TEXT = (
    "é", "\u202e", "\u2028", "\t", "\r", "\ufeff", "✓", "__class__", "_modules", "eval",
    "self", "import", "None", '"' + "a" * 5000 + '"', "\\", "${x}", "{{x}}",
)  # fmt: skip
WRAPS = ("choice({v}, {v})", "uniform({v}, 1)", "loguniform({v}, 1)", "int({v}, 2)", "[{v}]")


@cache
def seeds() -> tuple[str, ...]:
    """The specs mutants start from: every shipped spec and diagnostic fixture."""
    paths = sorted((ROOT / "specs").glob("*.nn"))
    paths += sorted((ROOT / "tests" / "fixtures" / "diagnostics").glob("*.nn"))
    texts = []
    for path in paths:
        data = path.read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            continue  # the not-UTF-8 fixture tests the decoder, not the parser
    return tuple(texts)


@cache
def valid_seeds() -> tuple[str, ...]:
    """The seeds that check clean: mutants of these reach the later passes and emit."""
    return tuple(text for text in seeds() if analyze(text).ok)


@cache
def vocabulary() -> tuple[str, ...]:
    """Every word the seeds use: keywords, kinds, argument names, activations."""
    words = {t for text in seeds() for t in TOKEN.findall(text) if re.fullmatch(r"[A-Za-z_]\w*", t)}
    return tuple(sorted(words))


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _solid(tokens: list[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if t.strip() and not t.startswith("#")]


def mutate(text: str, rng: random.Random, big: bool = False) -> str:
    """One to four mutations of `text`; `big` allows growing it up to the size limit."""
    for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 4)):
        text = rng.choice(_OPERATORS)(text, rng)
    if big:
        text = _grow(text, rng)
    return text


def _swap_value(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    numbers = [i for i in _solid(tokens) if NUMBER.match(tokens[i])]
    spots = numbers or _solid(tokens)
    if spots:
        tokens[rng.choice(spots)] = rng.choice(EXTREME_VALUES)
    return "".join(tokens)


def _nudge_value(text: str, rng: random.Random) -> str:
    """A plausible other number (half, double, one more): keeps many mutants valid."""
    tokens = _tokens(text)
    numbers = [i for i in _solid(tokens) if re.fullmatch(r"\d+(\.\d*)?", tokens[i])]
    if numbers:
        i = rng.choice(numbers)
        value = float(tokens[i])
        new = rng.choice((value * 2, value / 2, value + 1, 1.0, 2.0))
        tokens[i] = str(int(new)) if new.is_integer() and "." not in tokens[i] else repr(new)
    return "".join(tokens)


def _swap_word(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    words = [i for i in _solid(tokens) if tokens[i][0].isalpha() or tokens[i][0] == "_"]
    if words:
        tokens[rng.choice(words)] = rng.choice(vocabulary())
    return "".join(tokens)


def _drop_token(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    spots = _solid(tokens)
    if spots:
        del tokens[rng.choice(spots)]
    return "".join(tokens)


def _double_token(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    spots = _solid(tokens)
    if spots:
        i = rng.choice(spots)
        tokens.insert(i, tokens[i] + " ")
    return "".join(tokens)


def _move_token(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    spots = _solid(tokens)
    if len(spots) > 1:
        a, b = rng.sample(spots, 2)
        tokens[a], tokens[b] = tokens[b], tokens[a]
    return "".join(tokens)


def _insert_structure(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    tokens.insert(rng.randint(0, len(tokens)), rng.choice(STRUCTURE))
    return "".join(tokens)


def _insert_argument(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    value = rng.choice(EXTREME_VALUES + vocabulary())
    lines[i] += f" {rng.choice(vocabulary())}={value}"
    return "\n".join(lines)


def _wrap_value(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    numbers = [i for i in _solid(tokens) if NUMBER.match(tokens[i])]
    if numbers:
        i = rng.choice(numbers)
        tokens[i] = rng.choice(WRAPS).format(v=tokens[i])
    return "".join(tokens)


def _hostile_text(text: str, rng: random.Random) -> str:
    tokens = _tokens(text)
    words = _solid(tokens)
    piece = rng.choice(HOSTILE_TEXT)
    if words and rng.random() < 0.5:
        tokens[rng.choice(words)] = piece
    else:
        tokens.insert(rng.randint(0, len(tokens)), piece)
    return "".join(tokens)


def _lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        lines.insert(i, lines[i])
    elif action == 1 and len(lines) > 1:
        del lines[i]
    elif action == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        other = rng.choice(seeds()).split("\n")
        lines.insert(i, rng.choice(other))
    return "\n".join(lines)


def _truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randint(0, len(text))]


_OPERATORS = (
    _nudge_value,
    _nudge_value,
    _nudge_value,
    _swap_value,
    _swap_value,
    _swap_word,
    _swap_word,
    _drop_token,
    _double_token,
    _move_token,
    _insert_structure,
    _insert_argument,
    _wrap_value,
    _hostile_text,
    _lines,
    _truncate,
)


def _grow(text: str, rng: random.Random) -> str:
    """Repeat one line (inside its block) until the file is near the size limit."""
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    line = lines[i] + "\n"
    room = MAX_BYTES - len(text) - 1
    count = rng.randint(room // (2 * len(line)), room // len(line)) if room > len(line) else 0
    lines[i] = line * count + lines[i]
    return "\n".join(lines)


def mutants(seed: int, count: int, big_every: int = 0) -> list[str]:
    """`count` mutants from a seeded generator; every `big_every`-th may grow large."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        base = rng.choice(valid_seeds() if rng.random() < 0.7 else seeds())
        out.append(mutate(base, rng, big=bool(big_every) and n % big_every == 0))
    return out


# ---- what the commands run -------------------------------------------------------------


def exercise(text: str, path: str = "fuzz.nn", emit_targets: bool = True) -> float:
    """Run check (with its rendered output), fmt, summary, ir and emit on `text`.

    Returns the seconds `specc check` took (analysis and rendering). Expected refusals
    (FormatError, EmitError, UnknownTarget) are answers; anything else escapes.
    """
    start = time.perf_counter()
    analysis = analyze(text, path)
    rendered = "\n".join(render(d, analysis.text, analysis.path) for d in analysis.diagnostics)
    seconds = time.perf_counter() - start
    assert rendered or not analysis.diagnostics
    with contextlib.suppress(FormatError):
        format_text(text)
    for summary in summarize_all(analysis.shapes):
        json.dumps(summary.to_json(), allow_nan=False)
    if not analysis.ok:
        return seconds
    # `specc ir` prints strict JSON: no NaN or Infinity may reach it.
    json.dumps(strip_spans(analysis.spec.model_dump(mode="json")), allow_nan=False)
    if emit_targets:
        for target in available():
            with contextlib.suppress(EmitError, UnknownTarget):
                emit(analysis, target.name)
    return seconds
