"""Where the files that are not Python live: the grammar, templates and bundled data.

`grammar/` and `templates/` sit at the repository root and are copied into the wheel as
`specc/grammar` and `specc/templates` (see pyproject's force-include), so both layouts are
looked up: installed wheel first, then a source checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"specc's `{name}/` folder is missing next to {PACKAGE_DIR}; reinstall specc"
    )


def grammar_path() -> Path:
    return _find("grammar") / "specc.lark"


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def templates_dir() -> Path:
    return _find("templates")


def bundled_dataset(name: str) -> Path:
    """A data set shipped inside the package (`mnist_sample`)."""
    return PACKAGE_DIR / "datasets" / name
