"""The platform as `make run` brings it up, in a fresh copy of the project with its own `.data`.

The copy holds the project's files as a clone would (plus `.venv`, linked), so `.data/dev.env`,
`.env` and the static files are its own. `python -m mono.devstack` runs there exactly as
`make run` runs it; PostgreSQL is a fresh database on the test server (DATABASE_URL, as a user
with their own PostgreSQL would run it) and Temporal the test session's dev server.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from tests.support.process import ROOT, free_port

# What a terminal has before the user sets anything for Mono.
TERMINAL_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")


def terminal_env(**extra: str) -> dict[str, str]:
    """A second terminal's environment: nothing Mono-specific."""
    return {name: os.environ[name] for name in TERMINAL_VARIABLES if name in os.environ} | extra


def project_copy(target: Path) -> Path:
    """The project's tracked and new files, as a fresh clone has them, with `.venv` linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if name.startswith(("docs/", "frontend/")) or not source.is_file():
            continue  # not needed to run, and a deleted file may still be listed
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    (target / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    return target


@contextlib.contextmanager
def fresh_database(name_suffix: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server; its URL. Dropped afterwards."""
    server = urlsplit(os.environ["DATABASE_URL"])
    name = f"{server.path.lstrip('/') or 'mono'}_{name_suffix}"
    admin_url = urlunsplit(server._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stack:
    root: Path
    port: int
    database_url: str
    temporal_address: str
    log: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def make_run(root: Path, *, database_url: str, temporal_address: str, timeout: float = 90) -> Iterator[Stack]:
    """`make run`'s `python -m mono.devstack` in `root`, up and answering; stopped with Ctrl-C."""
    stack = Stack(root, free_port(), database_url, temporal_address)
    env = terminal_env(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        # Ports of its own, and a worker that notices new tenants within a second.
        TEMPORAL_WORKER_HEALTH_PORT=str(free_port()),
        TEMPORAL_WORKER_SDK_METRICS_PORT="0",
        TEMPORAL_WORKER_REFRESH_SECONDS="1",
        TEMPORAL_WORKER_SHUTDOWN_SECONDS="5",
    )
    process = subprocess.Popen(
        [str(root / ".venv/bin/python"), "-m", "mono.devstack", "--port", str(stack.port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reader = threading.Thread(target=lambda: stack.log.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not _answers(f"{stack.base_url}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("make run did not come up:\n" + "".join(stack.log[-40:]))
            time.sleep(0.2)
        yield stack
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: devstack stops what it started
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(5)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
