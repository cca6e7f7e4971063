"""Run `manage.py` in a child process against the test database and test Temporal server."""

import os
import subprocess
import sys
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


def manage(*args: str, timeout: float = 60, **env_overrides: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
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
