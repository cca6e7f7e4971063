"""Pieces for benchmarks that drive the shipped web server over HTTP."""

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def database_url(name: str) -> str:
    return f"{POSTGRES_URL}/{name}"


def _database_admin(statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def recreate_database(name: str) -> None:
    _database_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    _database_admin("CREATE DATABASE {}", name)


def drop_database(name: str) -> None:
    _database_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def temporal_dev_server() -> Iterator[str]:
    """A fresh, in-memory Temporal dev server from the virtualenv; yields its address."""
    sys.path.insert(0, ROOT)
    from mono.temporal.devserver import TemporalDevServer

    server = TemporalDevServer().start(timeout=60)
    try:
        yield server.address
    finally:
        server.stop()


_FAKE_PROVIDER = """
import sys, threading
from tests.support import fake_llm
fake_llm._Handler.disable_nagle_algorithm = True  # no 40 ms stall between headers and body
server = fake_llm.FakeLLMServer().__enter__()
print(server.openai_url, flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def fake_provider_process() -> Iterator[str]:
    """The test suite's fake LLM provider in a process of its own; yields its OpenAI base URL."""
    child = subprocess.Popen(
        [sys.executable, "-c", _FAKE_PROVIDER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(10)


def web_server(env: dict, port: int, app: str = "mono.asgi:application") -> subprocess.Popen:
    """uvicorn as `make run` starts it (one process, ASGI), quiet access log."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def manage_process(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env)


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout} s")
        time.sleep(0.2)


def stop_processes(children: list[subprocess.Popen], timeout: float = 30) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def record_chain(steps: int, trigger: str = "manual") -> dict:
    """A ReactFlow graph: Start → `steps` UpdateRecord nodes → End."""
    nodes = [{"id": "start", "type": "StartNode", "position": {"x": 0, "y": 0}, "data": {"trigger": trigger}}]
    for number in range(1, steps + 1):
        data = {
            "operation": "upsert",
            "collection": "bench",
            "key": f"{{{{ input.key }}}}-{number}",
            "fields": {"n": number},
        }
        nodes.append({"id": f"r{number}", "type": "UpdateRecordNode", "position": {"x": 0, "y": 0}, "data": data})
    nodes.append({"id": "end", "type": "EndNode", "position": {"x": 0, "y": 0}, "data": {"status": "completed"}})
    ids = [node["id"] for node in nodes]
    edges = [{"id": f"e{a}-{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Sample:
    """Latencies (seconds) of the requests one load run completed, its duration and its errors."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, latencies: list[float], seconds: float, errors: int) -> "Sample":
        return cls(list(latencies), seconds, errors)

    @classmethod
    def merge(cls, samples: list["Sample"]) -> "Sample":
        merged = cls()
        for sample in samples:
            merged.latencies += sample.latencies
            merged.seconds += sample.seconds
            merged.errors += sample.errors
            for status, count in sample.statuses.items():
                merged.statuses[status] = merged.statuses.get(status, 0) + count
        return merged

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 95) * 1000

    def describe(self) -> str:
        bad = {status: count for status, count in self.statuses.items() if status >= 400}
        return (
            f"{self.rate:7.0f} req/s  p50 {self.p50_ms:6.1f} ms  p95 {self.p95_ms:6.1f} ms  "
            f"errors {self.errors}{f' {bad}' if bad else ''}"
        )


Request = Callable[[], tuple[str, str, bytes, dict]]


async def http_load(base_url: str, make_request: Request, *, clients: int, seconds: float) -> Sample:
    """`clients` concurrent keep-alive connections sending `make_request()` for `seconds`.

    Every response with status >= 400 and every transport error counts as an error.
    """
    sample = Sample(seconds=seconds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        deadline = time.monotonic() + seconds

        async def one_client() -> None:
            while time.monotonic() < deadline:
                method, path, body, headers = make_request()
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, content=body or None, headers=headers)
                except httpx.HTTPError:
                    sample.errors += 1
                    continue
                sample.latencies.append(time.perf_counter() - started)
                sample.statuses[response.status_code] = sample.statuses.get(response.status_code, 0) + 1
                if response.status_code >= 400:
                    sample.errors += 1

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        sample.seconds = time.monotonic() - started
    return sample


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    for row in (header, *rows):
        print("  " + "  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=False)))
