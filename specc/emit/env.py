"""The one Jinja environment every target renders with, and the filters templates use.

Configured once: `trim_blocks`/`lstrip_blocks` so block tags leave no blank lines,
`keep_trailing_newline` so files end with one newline, and `StrictUndefined` so a typo in
a template fails loudly instead of writing an empty string into a script.

Values from the spec reach a script only through the `py` filter (a Python literal via
`repr`) or as identifiers already validated by specc/emit/names.py: never as raw text.
Templates never fit lines into 100 columns: specc/emit/tidy.py runs ruff's formatter on
the rendered script (only prose, which ruff leaves alone, is wrapped here: `wrap`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jinja2

from specc.emit.tidy import LINE_LENGTH, width
from specc.resources import templates_dir


def py(value: Any) -> str:
    """A Python literal for a number, string, bool, None, or tuple/list of them.

    Strings use double quotes when that needs no extra escapes (ruff format's choice);
    floats are written the shortest way that reads back exactly.
    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f'float("{value}")'
        return repr(value).replace("e+", "e")  # ruff format writes 1e16, not 1e+16
    if isinstance(value, str):
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    if isinstance(value, tuple):
        inner = ", ".join(py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def doc_text(value: str) -> str:
    """Text safe inside a triple-quoted docstring or a comment: printable, no quotes run."""
    cleaned = "".join(ch if ch.isprintable() and ch != "\\" else "?" for ch in str(value))
    return cleaned.replace('"""', "'''")


def block(value: Any) -> str:
    """A macro's multi-line output without its leading/trailing newlines."""
    return str(value).strip("\n")


def tight(value: Any) -> str:
    """Drop whitespace-only lines (left by optional arguments inside a call)."""
    return "\n".join(line for line in str(value).split("\n") if line.strip())


def wrap(text: str) -> str:
    """Prose (docstrings) with every line over 100 columns broken at spaces.

    Spec values (paths, names, strings) have any length; a continuation keeps the line's
    indentation. A single word wider than the limit stays whole (ruff's E501 allows it).
    """
    out = []
    for line in str(text).split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]
        current = ""
        for word in line.split(" ") if width(line) > LINE_LENGTH else []:
            if not word:
                continue
            trial = f"{current} {word}" if current else indent + word
            if current and width(trial) > LINE_LENGTH:
                out.append(current)
                trial = indent + word
            current = trial
        out.append(current if width(line) > LINE_LENGTH else line)
    return "\n".join(out)


def shape(value: tuple[int, ...]) -> str:
    """`(B, 512)` style shape comments."""
    return "(" + ", ".join(["B", *(str(d) for d in value)]) + ")"


def number(value: Any) -> str:
    """A float in the short human form used in comments: 0.001, 1e-07."""
    return f"{value:g}" if isinstance(value, float) else str(value)


@jinja2.pass_context
def kind_macro(context: jinja2.runtime.Context, prefix: str, kind: str) -> Any:
    """The macro `<prefix><kind>` of the calling template: dispatch on an IR kind.

    `{{ kind_macro("transform_", t.kind)(t) }}` calls `transform_scale(t)` for a scale.
    A missing macro is an error (StrictUndefined), never an empty string.
    """
    found = context.resolve_or_missing(prefix + kind)
    if found is jinja2.runtime.missing:
        raise jinja2.UndefinedError(f"no macro {prefix}{kind} in {context.name}")
    return found


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # we write Python, not HTML: values go through `py`
    )
    env.filters.update(
        py=py,
        doc=doc_text,
        shape=shape,
        number=number,
        block=block,
        tight=tight,
        wrap=wrap,
    )
    env.globals.update(kind_macro=kind_macro)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
