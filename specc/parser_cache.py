"""The Lark parser's tables, built once per grammar and kept in specc's cache folder.

Building the LALR tables from grammar/specc.lark takes about 20 ms, a tenth of a whole
`specc check`; loading them takes about 2 ms. The file is what `Lark.save` writes (the
tables and the options, the post-lexer and lexer callbacks included, which pickle by
reference to their module) and `Lark.load` reads.

The file's name is a hash of the grammar, the options, Lark's version and Python's, so
a changed grammar or a new Lark gets a new file instead of overwriting one that another
process may be reading. A new file is written under a temporary name and renamed into
place, so no process ever reads half of one; one that cannot be read (damaged, or naming
a function that has moved) is rebuilt. When the folder cannot be written (a read-only
home), the parser is built as before and nothing is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import lark
import platformdirs


def cache_dir() -> Path:
    """`platformdirs.user_cache_dir("specc")/parser`, beside the data sets' folder."""
    return Path(platformdirs.user_cache_dir("specc")) / "parser"


def _stable(value: Any) -> str:
    """The same text in every process: callables and objects by name, not address."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_stable(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (str, int, float, bool, type(None), tuple, list)):
        return repr(value)
    named = value if callable(value) and hasattr(value, "__qualname__") else type(value)
    return f"{named.__module__}.{named.__qualname__}"


def cache_path(grammar: str, options: dict[str, Any]) -> Path:
    described = ", ".join(f"{k}={_stable(v)}" for k, v in sorted(options.items()))
    key = f"{grammar}\0{described}\0{lark.__version__}\0{sys.version_info[:2]}"
    return cache_dir() / f"specc-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lark"


def cached_lark(grammar: str, **options: Any) -> lark.Lark:
    """`Lark(grammar, **options)`, its tables loaded from the cache when there."""
    path = cache_path(grammar, options)
    try:
        with path.open("rb") as f:
            return lark.Lark.load(f)
    except Exception:  # not there, damaged, or naming a function that moved: build it
        pass
    parser = lark.Lark(grammar, **options)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as f:
            parser.save(f)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return parser
