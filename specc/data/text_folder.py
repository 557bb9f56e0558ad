"""Text files per class (aclImdb's layout) and the `tokenize` statement that turns them into ids.

Layout: `<root>/train/<class>/*.txt`, optionally `<root>/test/<class>/*.txt`. With a test
folder, the classes are the folders present under both (aclImdb's unlabelled `train/unsup`
is left out); without one, every folder under train/. Labels are the classes' indices in
sorted name order (aclImdb: neg 0, pos 1). Files are read as UTF-8, each split ordered by
(class, file name) and then shuffled once with `np.random.default_rng(0)`, so a `validation`
or `test` tail is a fair sample, the same on every machine.

Tokens: `words` are the runs of word characters (`re.findall(r"\\w+")`), `chars` every
character; `lowercase` lowers the text first. Vocabulary: built from the training split
only (after the `test`/`validation` tails are cut), id 0 pads, id 1 is out-of-vocabulary,
ids 2..vocab-1 the commonest tokens, by count and then by the token's text (code-point
order) for equal counts. Each text becomes its ids padded with 0 at the start to `length`;
a longer text keeps its last `length` ids (Keras's pad_sequences defaults).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specc.data.errors import DataError
from specc.data.imdb import pad_pre
from specc.ir.data import Tokenize

PAD, OOV = 0, 1
RESERVED = ("<pad>", "<oov>")
VOCAB_FILE = "vocab.json"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Texts:
    """A folder's texts (object arrays of str) and label indices, per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: tuple[str, ...]


def read_folder(root: Path) -> Texts:
    """Every text of `root`'s train/ (and test/) class folders (module docstring)."""
    train, test = root / "train", root / "test"
    if not train.is_dir():
        raise DataError(
            f"{root}: no train/ folder",
            "a text folder holds train/<class>/*.txt (and optionally test/<class>/*.txt)",
        )
    names = _folders(train)
    if test.is_dir():
        names = [n for n in names if n in set(_folders(test))]
    if len(names) < 2:
        raise DataError(
            f"{root}: found {len(names)} class folder(s) ({', '.join(names) or 'none'})"
            + (" present under both train/ and test/" if test.is_dir() else " under train/"),
            "a classifier needs at least two folders of .txt files, one per class",
        )
    x_train, y_train = _split(train, names)
    x_test, y_test = _split(test, names) if test.is_dir() else (None, None)
    return Texts(x_train, y_train, x_test, y_test, tuple(names))


def _folders(split: Path) -> list[str]:
    return sorted(p.name for p in split.iterdir() if p.is_dir())


def _split(folder: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    files = [(i, f) for i, name in enumerate(names) for f in sorted((folder / name).glob("*.txt"))]
    if not files:
        raise DataError(f"{folder}: no .txt files in {', '.join(names)}")
    texts = np.empty(len(files), dtype=object)
    for row, (_, path) in enumerate(files):
        try:
            texts[row] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except OSError as err:
            raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    labels = np.array([i for i, _ in files], dtype=np.int64)
    order = np.random.default_rng(0).permutation(len(files))
    return texts[order], labels[order]


def tokens(text: str, how: Tokenize) -> list[str]:
    """One text's tokens: words or characters, lower-cased first with `lowercase`."""
    if how.lowercase:
        text = text.lower()
    return _WORD.findall(text) if how.mode == "words" else list(text)


def build_vocabulary(texts: Iterable[str], how: Tokenize) -> list[str]:
    """Id -> token: the reserved two, then the vocab - 2 commonest tokens (count, then text)."""
    counts = Counter(t for text in texts for t in tokens(text, how))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [*RESERVED, *(token for token, _ in ranked[: int(how.vocab) - len(RESERVED)])]


def encode(texts: np.ndarray, vocabulary: list[str], how: Tokenize) -> np.ndarray:
    """int64 (N, length): each text's ids, padded and truncated at the start."""
    index = {token: i for i, token in enumerate(vocabulary) if i >= len(RESERVED)}
    rows = [np.array([index.get(t, OOV) for t in tokens(text, how)], np.int64) for text in texts]
    return pad_pre(rows, int(how.length))


def vocabulary_record(vocabulary: list[str], how: Tokenize) -> dict[str, Any]:
    """What `vocab.json` in a run folder holds: the settings and every token by id."""
    return {
        "mode": how.mode,
        "lowercase": how.lowercase,
        "length": int(how.length),
        "pad": PAD,
        "oov": OOV,
        "tokens": vocabulary,
    }


def read_vocabulary(record: Any, how: Tokenize, where: str) -> list[str]:
    """The tokens of a saved `vocab.json`, refused when they do not fit `how`."""
    if not isinstance(record, dict) or not isinstance(record.get("tokens"), list):
        raise DataError(f"{where}: not a specc vocabulary (no `tokens` list)")
    saved = record["tokens"]
    fits = (
        record.get("mode") == how.mode
        and record.get("lowercase") == how.lowercase
        and len(saved) <= int(how.vocab)
        and saved[: len(RESERVED)] == list(RESERVED)
        and all(isinstance(t, str) for t in saved)
    )
    if not fits:
        raise DataError(
            f"{where}: was built for other `tokenize` settings than the spec's "
            f"({how.mode}, vocab {how.vocab}, lowercase {how.lowercase})",
            "resume with the spec the run started with",
        )
    return [str(t) for t in saved]


def text_tokenize(data: Any) -> Tokenize | None:
    """How a data source turns text into ids (None: it reads no text)."""
    how = getattr(data, "text_tokenize", None) or getattr(data, "tokenize", None)
    return how if isinstance(how, Tokenize) else None


def saved_vocabulary(run_path: Path, data: Any) -> list[str] | None:
    """A run's vocab.json (`--resume`, `init from`), for a text source (None: no text
    source, or no file)."""
    path = run_path / VOCAB_FILE
    how = text_tokenize(data)
    if how is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: unreadable ({err})", "the run folder is damaged") from None
    return read_vocabulary(record, how, str(path))


def run_encoder(run_path: Path) -> Callable[[str], np.ndarray] | None:
    """text -> ids (length,) with a run's saved vocabulary; None when the run has none."""
    path = run_path / VOCAB_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        tokens = [str(t) for t in record["tokens"]]
        how = Tokenize(
            mode=record["mode"],
            lowercase=bool(record["lowercase"]),
            length=int(record["length"]),
            vocab=max(3, len(tokens)),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path}: unreadable ({err})", "the run folder is damaged") from None
    return lambda text: encode(np.array([text], dtype=object), tokens, how)[0]
