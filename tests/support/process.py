"""Run `manage.py` in a child process against the test database and test Temporal server."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def child_env(**overrides: str | None) -> dict[str, str]:
    """The environment a child `manage.py` needs to see what this test process sees."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        TEMPORAL_ADDRESS=settings.TEMPORAL_ADDRESS,
        DATABASE_CONN_MAX_AGE="0",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(
    *args: str, timeout: float = 60, cwd: Path | None = None, **env_overrides: str | None
) -> subprocess.CompletedProcess:
    """`manage.py` in a child process, in the checkout (or in `cwd`, a copy of it)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd or ROOT,
        env=child_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn_manage(*args: str, **env_overrides: str | None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(**env_overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Open websockets must not hold up the server's exit at the end of a test.
UVICORN_OPTIONS = ["--host", "127.0.0.1", "--lifespan", "off", "--no-access-log", "--log-level", "warning"]
UVICORN_OPTIONS += ["--timeout-graceful-shutdown", "5"]


@contextlib.contextmanager
def asgi_server(env: dict[str, str]) -> Iterator[int]:
    """uvicorn serving `mono.asgi:application` in a child process with `env`; yields its port."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mono.asgi:application", "--port", str(port), *UVICORN_OPTIONS],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.1)
    try:
        yield port
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
