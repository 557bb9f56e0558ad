"""Names from the spec made into Python identifiers that are valid and never clash.

Spec names already match `[A-Za-z_][A-Za-z0-9_]*` (the IR's `Identifier`), so they cannot
smuggle code; what can still go wrong is a name that is a keyword (`class`), shadows a
name the template itself writes (`torch`, `model`, `x`), or an attribute the framework's
base class owns (`training`, `forward` on `nn.Module`). Such names get a trailing `_`, and
duplicates a numeric suffix. The original name is kept for saved weights.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Python's own words: keywords, soft keywords and builtins (shadowing `input` or `len`
# in a script people will edit is a trap even where it is legal), and the names pycodestyle
# calls ambiguous (E741/E742: `l`, `O`, `I` read as 1 and 0), so scripts pass `ruff check`.
PYTHON_RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(name for name in dir(builtins) if not name.startswith("_"))
    | frozenset({"l", "O", "I"})
)


def is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in keyword.kwlist


class Namer:
    """Hands out identifiers: each request gets a valid name no one else holds."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.taken: set[str] = set(PYTHON_RESERVED) | set(reserved)

    def take(self, wanted: str) -> str:
        """`wanted` if free, else `wanted_` / `wanted_2`, `wanted_3`, ... (first free)."""
        base = _clean(wanted)
        if base in self.taken:
            base = base + "_"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}{n}"
        self.taken.add(name)
        return name


def _clean(name: str) -> str:
    """Any string into an identifier that does not start with `_` (private/mangled names)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name) or "layer"
    if cleaned[0].isdigit() or cleaned.startswith("_"):
        cleaned = "layer_" + cleaned.lstrip("_")
    return cleaned


def class_name(name: str, reserved: Iterable[str] = ()) -> str:
    """`mnist_mlp` -> `MnistMlp`: the model class; never one of `reserved`."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    camel = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    if camel[0].isdigit():
        camel = "Model" + camel
    taken = set(reserved) | PYTHON_RESERVED
    while camel in taken:
        camel += "Model"
    return camel
