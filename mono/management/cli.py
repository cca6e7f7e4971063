"""`manage.py`'s entry point: Django's command line, with one clear line instead of a traceback
for what stops a command before it can do anything (a missing setting, PostgreSQL or Temporal
not running). `-v 2` (or `--traceback`) adds the traceback below that line.
"""

import os
import sys
import traceback


def unreachable_message(exc: BaseException) -> str | None:
    """One line naming what to start or set, if `exc` (or what caused it) is such a failure."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import OperationalError

    from mono.temporal.client import TemporalUnavailable

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ImproperlyConfigured):
            return f"Configuration error: {exc}"
        if isinstance(exc, TemporalUnavailable):
            return (
                f"{_first_line(exc)}. Start Temporal: `make run` starts a dev server, so does "
                "`temporal server start-dev`; or set TEMPORAL_ADDRESS to yours."
            )
        if isinstance(exc, OperationalError) and "connection" in _first_line(exc).lower():
            return (
                f"Cannot reach the database {_database_location()} (DATABASE_URL): {_server_reason(exc)}. "
                "Start PostgreSQL: `make run` starts its own (and tells other terminals where, in "
                ".data/dev.env); or set DATABASE_URL to yours."
            )
        exc = exc.__cause__ or exc.__context__
    return None


def wants_traceback(argv: list[str]) -> bool:
    """True for `-v 2`/`-v2`/`--verbosity 2`/`--verbosity=2` (or more) and `--traceback`."""
    for index, arg in enumerate(argv):
        if arg == "--traceback":
            return True
        value = None
        if arg in ("-v", "--verbosity") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--verbosity="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-v") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.isdigit() and int(value) >= 2:
            return True
    return False


# Commands that serve for a long time, many threads at once: they draw from the connection pool.
# Every other command is one-shot and uses one connection; a pool would only make an unreachable
# database wait out the pool's timeout before saying so.
POOLED_COMMANDS = {"runworkers", "relay_starts", "runserver"}


def main(argv: list[str]) -> None:
    """Run a management command; exit 1 with one line when a setting or a service is missing."""
    from django.core.management import execute_from_command_line

    if len(argv) > 1 and argv[1] not in POOLED_COMMANDS:
        os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "0")
    try:
        execute_from_command_line(argv)
    except Exception as exc:
        message = unreachable_message(exc)
        if message is None:
            raise
        if wants_traceback(argv):
            traceback.print_exc()
        sys.exit(message)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def _server_reason(exc: BaseException) -> str:
    # psycopg says `connection failed: connection to server at "h", port p failed: <reason>`.
    return _first_line(exc).rsplit("failed:", 1)[-1].strip()


def _database_location() -> str:
    from django.db import connection

    db = connection.settings_dict
    host = db.get("HOST") or "localhost"
    return f"{db.get('NAME')!r} at {host}" + (f":{db['PORT']}" if db.get("PORT") else "")
