"""What the benchmarks in `bench/` share: scratch database, Django, Temporal, workers, web server, figures.

A benchmark is a script run from the project root, `.venv/bin/python bench/<name>.py`. Python puts
`bench/` first on `sys.path`, so the script imports this module as `_harness`, before any project
import: importing it makes the project importable. A typical `main()`:

    exit_on_sigterm()  # a killed bench still drops its database and stops its servers
    with django_on_temporal("mono_bench_thing", debug=False, announce=DEV_SERVER_UP) as (server, database):
        tenant = tenant_create(name="Bench", slug="bench")
        host = WorkerHost()
        try:
            print(f"worker manager hosting {host.start(tenant_id=tenant.pk, queue=queues.WORKFLOWS)}")
            result = abba(lambda: baseline(tenant), lambda: candidate(tenant), rounds=4)
        finally:
            host.stop()

`temporal_server`, `scratch_database` and `setup_django` are the pieces of that stage, for a
benchmark that needs only some of them; `start_web_server` and `http_load` measure the real web
server over sockets.

Environment variables, all optional (unset, every benchmark runs at full size):
- `BENCH_QUICK=1`: every benchmark shrinks its counts (see `sized`) to prove in seconds that it runs
  end to end. Its figures then mean nothing.
- `BENCH_DATABASE`: the scratch database's name instead of the benchmark's own.
- `BENCH_POSTGRES_URL`: the PostgreSQL server (default `postgres://postgres@127.0.0.1:5432`).
- `BENCH_PORTS=LOW-HIGH`: every port this module opens a server on (Temporal dev server, uvicorn)
  comes from that range instead of any free one: on a shared machine each user keeps to their own.

The figures and drivers (percentiles, tables, CPU windows, ABBA runs, HTTP load) live in
`_measure.py`, which has no Django; they are re-exported here.
"""

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

# os.path, not pathlib: interpreter.py's workflow sandbox sees this module too.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the project (and `bench._measure`) importable from any working directory

# Re-exported: a benchmark imports everything it shares from this one module.
from bench._measure import (  # noqa: E402, F401
    Comparison,
    CpuWindow,
    LoadResult,
    abba,
    abba_order,
    cpu_seconds,
    http_load,
    http_load_async,
    ms,
    p50,
    p95,
    percentile,
    print_table,
)

T = TypeVar("T")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def sized(full: T, quick: T) -> T:
    """`quick` under BENCH_QUICK=1, else `full`: `REQUESTS = sized(300, 10)`."""
    return quick if QUICK else full


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` and `with` blocks clean up when the bench is killed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# PostgreSQL and Django -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScratchDatabase:
    """A database this benchmark owns on the local PostgreSQL server."""

    name: str

    @property
    def url(self) -> str:
        return f"{POSTGRES_URL}/{self.name}"

    def admin(self, statement: str) -> None:
        """Run `statement` on the server's `postgres` database, `{}` standing for this one's name."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def drop(self) -> None:
        self.admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@contextlib.contextmanager
def scratch_database(default_name: str) -> Iterator[ScratchDatabase]:
    """A fresh, empty database (BENCH_DATABASE or `default_name`; one left over is dropped first);
    on exit this process's Django connections are closed and the database is dropped."""
    database = ScratchDatabase(os.environ.get("BENCH_DATABASE") or default_name)
    database.drop()
    database.admin("CREATE DATABASE {}")
    try:
        yield database
    finally:
        close_django_connections()
        database.drop()


def setup_django(
    database: ScratchDatabase,
    *,
    debug: bool,
    temporal_address: str | None = None,
    conn_max_age: str | None = None,
    migrate: bool = True,
    **environment: str,
) -> None:
    """Configure Django through the environment, `django.setup()`, then migrate.

    The variables go into `os.environ`, so child processes started afterwards (uvicorn,
    `manage.py`, this script again) see the same database and dev server. `conn_max_age` and the
    SECRET_KEY are defaults: the caller's environment wins. `environment` adds any other setting
    read from the environment, e.g. `ALLOWED_HOSTS="testserver,localhost"`."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mono.settings", DATABASE_URL=database.url, DEBUG="1" if debug else "0", **environment
    )
    os.environ.setdefault("SECRET_KEY", "bench-only")
    # Payloads are encrypted as in production; this throwaway master key wraps the bench's data keys.
    os.environ.setdefault("PAYLOAD_MASTER_KEY", "YmVuY2gtb25seS1wYXlsb2FkLW1hc3Rlci1rZXktMzI=")
    if conn_max_age is not None:
        os.environ.setdefault("DATABASE_CONN_MAX_AGE", conn_max_age)
    if temporal_address is not None:
        os.environ["TEMPORAL_ADDRESS"] = temporal_address
    import django

    django.setup()
    from django.core.management import call_command

    if temporal_address is not None:
        from django.conf import settings

        from mono.temporal.client import forget_connections

        settings.TEMPORAL_ADDRESS = temporal_address
        forget_connections()  # none made yet, unless an import did: they would point elsewhere
    if migrate:
        call_command("migrate", verbosity=0)


def close_django_connections() -> None:
    """Close this thread's Django database connections, if Django was set up at all."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


# Servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now: the first free one of BENCH_PORTS=LOW-HIGH, else any."""
    low, _, high = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"no free port in BENCH_PORTS={low}-{high}")


DEV_SERVER_UP = "Dev server up in {seconds:.1f} s (in memory, headless)"


@contextlib.contextmanager
def temporal_server(announce: str | None = None) -> Iterator:
    """A fresh Temporal dev server from the virtualenv, in memory and headless, stopped on exit.

    `announce`, a format string such as `DEV_SERVER_UP`, is printed with the `seconds` it took
    to start."""
    from mono.temporal.devserver import TemporalDevServer

    started = time.perf_counter()
    server = TemporalDevServer(port=free_port()).start()
    if announce is not None:
        print(announce.format(seconds=time.perf_counter() - started), flush=True)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def django_on_temporal(
    database_name: str, *, debug: bool, announce: str | None = None, **options: str
) -> Iterator[tuple[Any, ScratchDatabase]]:
    """The stage most benchmarks need, as (dev server, database): `temporal_server(announce)`,
    `scratch_database(database_name)`, then `setup_django` on both with `debug` and `options`
    (`conn_max_age=`, settings such as `ALLOWED_HOSTS=`); prints the database line. All is torn
    down on exit."""
    with temporal_server(announce) as server, scratch_database(database_name) as database:
        setup_django(database, temporal_address=server.address, debug=debug, **options)
        print(f"Database {database.name} created and migrated; {os.cpu_count()} CPUs", flush=True)
        yield server, database


def stop_processes(processes: Sequence[subprocess.Popen], timeout: float) -> None:
    """SIGTERM every process at once, then wait up to `timeout` s for each and kill what is left."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class WebServer:
    """The project's ASGI application under uvicorn, in a child process. See `start_web_server`."""

    process: subprocess.Popen
    address: str  # host:port
    graceful_seconds: float

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        """SIGTERM; uvicorn closes open connections after `graceful_seconds`; killed 5 s after that."""
        stop_processes([self.process], self.graceful_seconds + 5)


def start_web_server(
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    app: str = "mono.asgi:application",
    graceful_seconds: float = 3,
    timeout: float = 30,
    workers: int = 1,
    wsgi_threads: int = 0,
) -> WebServer:
    """Serve `app` (the project's ASGI application, or a module wrapping it with a baseline view)
    with uvicorn on 127.0.0.1:`port` (default `free_port()`), as `make run` does, and return once it
    accepts connections (RuntimeError after `timeout` s).

    `workers` > 1 runs that many server processes on the port; `wsgi_threads` > 0 serves the WSGI
    application `app` with gunicorn's threaded workers instead (`workers` processes of that many
    threads each), the alternative to compare uvicorn with.

    `env` is the child's whole environment (default: this process's, so call `setup_django` first).
    Differences from `make run`, so the server measures what it serves: no access log, warnings only,
    no lifespan events (the app handles none), and open connections (websockets, keep-alive) are
    closed `graceful_seconds` after SIGTERM, so `stop()` returns in bounded time:

        server = start_web_server(port=18123)
        try:
            result = http_load(f"{server.url}/healthz", clients=8, duration=10)
        finally:
            server.stop()
    """
    port = port or free_port()
    if wsgi_threads:  # the alternative measured against it: gunicorn's threaded WSGI workers
        command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread"]
        command += ["--workers", str(workers), "--threads", str(wsgi_threads), "--log-level", "warning"]
        command += ["--graceful-timeout", str(graceful_seconds)]
    else:
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        command += ["--lifespan", "off", "--no-access-log", "--log-level", "warning", "--workers", str(workers)]
        command += ["--timeout-graceful-shutdown", str(graceful_seconds)]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(env if env is not None else os.environ))
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return WebServer(process, f"127.0.0.1:{port}", graceful_seconds)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"uvicorn did not accept connections on port {port}") from None
            time.sleep(0.1)


class WorkerHost:
    """The project's `TemporalWorkerManager` on a thread with its own event loop, hosting the
    active tenants' queues as `manage.py runworkers` would, inside this process.

        host = WorkerHost(selection=WorkerSelection(platform=False, queues=frozenset({queues.LLM_PROCESSING.key})))
        try:
            print(f"hosting {host.start(tenant_id=tenant.pk, queue=queues.LLM_PROCESSING)}")
            ...
        finally:
            host.stop()

    `registrations` replaces the registry's (e.g. a baseline workflow beside the project's);
    `refresh_seconds` long keeps reconcile rounds out of the measurements."""

    def __init__(
        self,
        *,
        selection=None,
        registrations: list | None = None,
        refresh_seconds: float | None = None,
        shutdown_seconds: float = 10,
    ) -> None:
        from mono.temporal.workers import TemporalWorkerManager, WorkerSelection
        from tenants.selectors import active_tenant_refs

        self.manager = TemporalWorkerManager(
            tenant_source=active_tenant_refs,
            selection=selection or WorkerSelection(platform=False),
            registrations=registrations,
            refresh_seconds=refresh_seconds,
            shutdown_seconds=shutdown_seconds,
        )
        self.errors: list[BaseException] = []
        self.loop: asyncio.AbstractEventLoop | None = None  # the workers' event loop, once started
        self.thread = threading.Thread(target=self._host, name="bench-workers", daemon=True)

    def _host(self) -> None:
        try:
            with asyncio.Runner() as runner:
                self.loop = runner.get_loop()
                runner.run(self.manager.run())
        except BaseException as exc:
            self.errors.append(exc)

    async def on_worker_loop(self, coroutine: Any) -> Any:
        """Await `coroutine` on the workers' event loop, from another loop. There it shares the
        workers' Temporal connection (one per loop), as code in a worker process would: what
        eager workflow start needs, since the server hands the first task to a worker of the
        starting client."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def start(self, *, tenant_id: int | None = None, queue=None, timeout: float = 60) -> str:
        """Start the manager and wait for its first reconcile; with `tenant_id` and `queue` (a
        `mono.temporal.queues` queue), check that it hosts that queue. Returns what it hosts and
        how long that took, e.g. "mono-tenant-1/workflows in 0.4 s"."""
        started = time.perf_counter()
        self.thread.start()
        while not self.manager.reconciled.is_set() and not self.errors:
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"the worker manager did not reconcile within {timeout:.0f} s")
            time.sleep(0.02)
        if self.errors:
            raise self.errors[0]
        took = f"in {time.perf_counter() - started:.1f} s"
        if tenant_id is None:
            return took
        from mono.temporal.client import tenant_namespace

        wanted = (tenant_namespace(tenant_id), queue.name(tenant_id))
        # An idle tenant's queue has no worker until work is announced: announce it, as a start would.
        self.manager.demand_threadsafe(*wanted)
        deadline = time.perf_counter() + timeout
        while wanted not in self.manager.hosted and time.perf_counter() < deadline:
            time.sleep(0.02)
        if wanted not in self.manager.hosted:
            raise RuntimeError(f"the worker manager does not host {wanted}: {self.manager.last_reconcile_error}")
        return f"{wanted[0]}/{wanted[1]} {took}"

    def stop(self) -> None:
        """Ask the manager to stop (workers drain for `shutdown_seconds`) and wait up to 60 s."""
        if self.thread.is_alive():
            self.manager.request_stop()
            self.thread.join(60)


# Fixtures shared by the HTTP benchmarks ----------------------------------------------------------

_FAKE_PROVIDER = """
import sys
from tests.support import fake_llm
fake_llm._Handler.disable_nagle_algorithm = True  # no 40 ms stall between headers and body
server = fake_llm.FakeLLMServer().__enter__()
print(server.openai_url, flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def fake_provider_process() -> Iterator[str]:
    """The test suite's fake LLM provider (OpenAI's wire format, echoing the last user message) in a
    process of its own, so it takes no CPU from the process measuring; yields its OpenAI base URL.
    TCP_NODELAY is on: as shipped it stalls a kept-alive client ~40 ms on every response."""
    child = subprocess.Popen(
        [sys.executable, "-c", _FAKE_PROVIDER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(10)


def record_chain(steps: int, trigger: str = "manual") -> dict:
    """A ReactFlow graph: Start → `steps` UpdateRecord nodes (keyed by `input.key`) → End."""
    nodes = [{"id": "start", "type": "StartNode", "position": {"x": 0, "y": 0}, "data": {"trigger": trigger}}]
    for number in range(1, steps + 1):
        data = {"operation": "upsert", "collection": "bench", "key": f"{{{{ input.key }}}}-{number}"}
        data["fields"] = {"n": number}
        nodes.append({"id": f"r{number}", "type": "UpdateRecordNode", "position": {"x": 0, "y": 0}, "data": data})
    nodes.append({"id": "end", "type": "EndNode", "position": {"x": 0, "y": 0}, "data": {"status": "completed"}})
    ids = [node["id"] for node in nodes]
    edges = [{"id": f"e{a}-{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}
