"""Downloading one file safely: mirrors in turn, checksum verified, written atomically.

The bytes go to a temporary file in the destination folder and only replace the real
name (`os.replace`, atomic on one filesystem) after their checksum matched, so an
interrupted or corrupted download never leaves a file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from specc.data.errors import DataError

CHUNK = 1 << 16
MAX_DOWNLOAD = 512 << 20  # no file we fetch is this big; a mirror sending more is broken
TIMEOUT = 30.0


class DownloadFailed(Exception):
    """Every mirror failed; `attempts` says how each one did (url, reason)."""

    def __init__(self, filename: str, attempts: list[tuple[str, str]]) -> None:
        super().__init__(filename)
        self.filename = filename
        self.attempts = attempts

    @property
    def offline(self) -> bool:
        """True when no mirror could be reached at all (as opposed to bad content)."""
        return all(reason.startswith("unreachable") for _, reason in self.attempts)


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)  # integrity, not security
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    filename: str,
    mirrors: list[str],
    checksum: str,
    folder: Path,
    *,
    progress: bool = True,
    timeout: float = TIMEOUT,
) -> Path:
    """Download `filename` from the first mirror that serves the right bytes into `folder`.

    `checksum` is "md5:<hex>" or "sha256:<hex>". Raises `DownloadFailed` listing every
    attempt when no mirror works.
    """
    algorithm, _, expected = checksum.partition(":")
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / filename
    attempts: list[tuple[str, str]] = []
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        handle, name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=folder)
        part = Path(name)
        try:
            terminal = progress and sys.stderr.isatty()
            if progress and not terminal:
                print(f"specc: downloading {url}", file=sys.stderr)  # one line for logs
            with os.fdopen(handle, "wb") as out:
                _copy(url, out, timeout, terminal)
            actual = file_digest(part, algorithm)
            if actual != expected.lower():
                attempts.append(
                    (url, f"checksum mismatch: {algorithm} {actual}, expected {expected}")
                )
                continue
            os.replace(part, destination)
            return destination
        except (
            urllib.error.URLError,
            TimeoutError,
            ConnectionError,
            http.client.HTTPException,
        ) as err:
            attempts.append((url, _reason(err)))
        except ValueError as err:  # "unknown url type", e.g. a mirror without http://
            attempts.append((url, f"not a usable URL ({err})"))
        except _Interrupted as err:
            attempts.append((url, f"interrupted ({err})"))
        except _TooBig:
            attempts.append((url, f"sent more than {MAX_DOWNLOAD >> 20} MiB"))
        finally:
            part.unlink(missing_ok=True)
    raise DownloadFailed(filename, attempts)


def mirrors_from(env: str, default: list[str]) -> list[str]:
    """The mirrors in `$env` (base URLs separated by spaces or commas), else `default`."""
    override = os.environ.get(env)
    return override.replace(",", " ").split() if override else default


def fetch_for_set(
    name: str,
    filename: str,
    checksum: str,
    folder: Path,
    *,
    mirrors_env: str,
    default_mirrors: list[str],
    searched: str,
    offline_hint: str,
    progress: bool,
) -> Path:
    """`fetch` one file of the data set `name`, a failure being the `DataError` a user
    reads: every place `searched` and every mirror tried, and what to do about it."""
    try:
        mirrors = mirrors_from(mirrors_env, default_mirrors)
        return fetch(filename, mirrors, checksum, folder, progress=progress)
    except DownloadFailed as failed:
        tried = "\n".join(f"  - {url}: {reason}" for url, reason in failed.attempts)
        why = (
            "cannot be downloaded (offline?)"
            if failed.offline
            else f"downloading {filename} failed"
        )
        raise DataError(
            f"{name} is not on this machine and {why}. Searched:\n{searched}\nTried:\n{tried}",
            offline_hint
            if failed.offline
            else f"try again later, or set ${mirrors_env} to a working mirror",
        ) from None
    except OSError as err:
        raise DataError(
            f"cannot write {name} into {folder}: {err.strerror or err}",
            "set $SPECC_DATA_DIR to a writable folder holding the files",
        ) from err


class _TooBig(Exception):
    pass


class _Interrupted(Exception):
    pass


def _reason(err: Exception) -> str:
    """Why a mirror failed, in words; "unreachable" marks network absence (see `offline`)."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError | TimeoutError | ConnectionRefusedError):
        return f"unreachable ({getattr(err, 'reason', err) or 'timed out'})"
    return f"interrupted ({type(err).__name__}: {err})"


def _copy(url: str, out: Any, timeout: float, show: bool) -> None:
    """Stream `url` into `out`, with a rich progress bar on a terminal."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        bar, advance = _progress_bar(url, total) if show else (nullcontext(), _ignore)
        written = 0
        with bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                written += len(block)
                if written > MAX_DOWNLOAD:
                    raise _TooBig
                out.write(block)
                advance(len(block))
        if total is not None and written < total:  # read(n) returns b"" on a dropped connection
            raise _Interrupted(f"got {written} of {total} bytes")


def _ignore(_: int) -> None:
    return None


def _progress_bar(url: str, total: int | None) -> tuple[Any, Callable[[int], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(f"downloading {url.rsplit('/', 1)[-1]}", total=total)
    return bar, lambda n: bar.advance(task, n)
