"""Plain text for language modelling: `data corpus "tiny.txt"` and `data synthetic_corpus`.

The whole text is split into tokens by the `tokenize` statement (specc/data/text_folder.py:
`words` or `chars`, `lowercase` first), then cut into windows of `length + 1` tokens that
start every `length` tokens (PyTorch word_language_model's `get_batch`): a window's first
`length` ids are the inputs, its last `length` the targets, the next token at every step.
A tail shorter than a window is dropped. Windows keep the text's order, so the `test` and
`validation` tails (specc/data/dataset.py) are the text's last contiguous parts, and the
vocabulary is built from the training windows only (docs/data.md#corpus).

The synthetic corpus: `sentences` sentences of a small fixed grammar (a subject, a verb, an
object, sometimes a place), picked with `np.random.default_rng(data_seed)`, joined by
spaces: a text whose next character is mostly predictable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from specc.data.errors import DataError
from specc.data.text_folder import tokens
from specc.ir.data import Tokenize

SUBJECTS = ("the cat", "the dog", "a bird", "my friend", "the old man", "a child")
VERBS = ("sees", "likes", "finds", "follows", "watches")
OBJECTS = ("the ball", "a red fox", "the river", "some bread", "the moon", "a small boat")
PLACES = ("", "", " at night", " in the park", " near the house")


def read_text(path: Path) -> str:
    """A corpus file's text (UTF-8)."""
    if not path.is_file():
        raise DataError(
            f"`data corpus`: {path} is not a file",
            "point it at a plain text file (UTF-8), relative to the spec",
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def generate_text(sentences: int, seed: int) -> str:
    """The synthetic corpus's text (module docstring)."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(sentences):
        s, v, o, p = (rng.integers(len(t)) for t in (SUBJECTS, VERBS, OBJECTS, PLACES))
        parts.append(f"{SUBJECTS[s]} {VERBS[v]} {OBJECTS[o]}{PLACES[p]}.")
    return " ".join(parts)


def windows(text: str, how: Tokenize, source: str) -> np.ndarray:
    """Object array of window texts, each exactly `length + 1` tokens once tokenized again
    (characters joined as they were, words joined by one space)."""
    toks = tokens(text, how)
    length = int(how.length)
    count = (len(toks) - 1) // length
    if count < 1:
        raise DataError(
            f"{source}: {len(toks)} {how.mode} tokens, too few for one window of "
            f"length {length} and its next token",
            f"lower `length` below {max(1, len(toks) - 1)}, or use a longer text",
        )
    sep = "" if how.mode == "chars" else " "
    out = np.empty(count, dtype=object)
    for i in range(count):
        out[i] = sep.join(toks[i * length : i * length + length + 1])
    return out


def next_token_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows of `length + 1` ids -> (inputs, targets), each (N, length) int64."""
    return ids[:, :-1], ids[:, 1:]
