"""A throwaway PostgreSQL server for the sweep tests: Debian's `postgresql` package, started
by the test itself in a temp dir on a loopback port, always stopped afterwards.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (made
by the Debian package) or `nobody`, in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).parent
    raise AssertionError(
        "PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does this)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> tuple[list[str], str | None]:
    """The command prefix that runs the server's programs as a non-root user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], name
    raise AssertionError("running as root and neither `postgres` nor `nobody` exists")


@contextlib.contextmanager
def postgres_server(database: str = "sweeps") -> Iterator[str]:
    """Yield a `postgresql://` URL to a fresh database on a fresh server."""
    bindir, (prefix, user) = _bindir(), _as_user()
    root = Path(tempfile.mkdtemp(prefix="specc-pg-"))
    data, log = root / "data", root / "server.log"
    port = _free_port()
    if user is not None:
        info = pwd.getpwnam(user)
        os.chown(root, info.pw_uid, info.pw_gid)
    root.chmod(0o700)

    def run(*command: str) -> None:
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "specc", "--auth=trust", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        started = True
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "specc", database)
        yield f"postgresql://specc@127.0.0.1:{port}/{database}"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
            for _ in range(50):  # the postmaster removes its pid file on exit
                if not (data / "postmaster.pid").exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
