"""One background thread for analyses, so a stale one can be stopped.

Every keystroke makes a new version of a document; analysing a 3,000-line spec takes
about half a second. The server submits an analysis as soon as an edit arrives and
cancels the previous one for that document: a queued job is skipped, and a running one
is interrupted by raising `Cancelled` inside the worker thread
(`PyThreadState_SetAsyncExc`: the analysis is pure Python, so the exception arrives
within a few bytecodes). The final version of a burst is then analysed at once instead
of after the versions before it, and the event loop stays free to read messages and
answer other requests meanwhile.

An interrupted analysis leaves nothing half-done behind: `Documents.update` stores its
result only as its last step, and the parser and registries keep no state between calls.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class Cancelled(BaseException):
    """Raised inside the worker thread to stop a stale analysis. A BaseException, so no
    `except Exception` in the analysis can swallow it."""


@dataclass(eq=False)
class Job:
    run: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    cancelled: bool = field(default=False)


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Make `exc` be raised in that thread at its next bytecode (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.current: Job | None = None
        self.thread = threading.Thread(target=self._loop, name="specc-analysis", daemon=True)
        self.thread.start()

    def submit(self, run: Callable[[], Any]) -> Job:
        """Run `run()` on the worker; its future (on the calling loop) gets the result."""
        loop = asyncio.get_running_loop()
        job = Job(run, loop.create_future(), loop)
        self.jobs.put(job)
        return job

    def cancel(self, job: Job) -> None:
        """Stop a job: skipped if it has not started, interrupted if it is running."""
        with self.lock:
            job.cancelled = True
            if self.current is job and self.thread.ident is not None:
                _raise_in(self.thread.ident, Cancelled)
        if not job.future.done():
            job.future.cancel()

    def _loop(self) -> None:
        while True:
            job: Job | None = None
            try:
                job = self.jobs.get()
                outcome = self._run(job)
            except Cancelled:  # arrived between the job's end and the lock: still stale
                self._finish()
                outcome = (False, None)
            if job is not None:
                job.loop.call_soon_threadsafe(_settle, job, outcome)

    def _run(self, job: Job) -> tuple[bool, Any]:
        with self.lock:
            if job.cancelled:
                return False, None
            self.current = job
        try:
            return True, job.run()
        except Cancelled:
            return False, None
        except Exception as err:  # a bug in the analysis: keep serving the last state
            log.exception("analysis failed")
            return False, err
        finally:
            self._finish()

    def _finish(self) -> None:
        with self.lock:
            self.current = None
            if self.thread.ident is not None:
                _raise_in(self.thread.ident, None)  # drop a cancel that came too late


def _settle(job: Job, outcome: tuple[bool, Any]) -> None:
    ok, value = outcome
    if job.future.done():
        return
    if ok:
        job.future.set_result(value)
    else:
        job.future.cancel()
