"""The benchmarks' arithmetic and drivers: percentiles, tables, CPU windows, ABBA runs, HTTP load.

Nothing here needs Django, PostgreSQL or Temporal. Benchmarks import these names from `_harness`,
which re-exports them; the tests import this module as `bench._measure`.
"""

import asyncio
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


# Figures ---------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `pct` % of `values` at or below it."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def p50(values: Sequence[float]) -> float:
    """The median, nearest rank (always one of `values`)."""
    return percentile(values, 50)


def p95(values: Sequence[float]) -> float:
    """The 95th percentile, nearest rank (always one of `values`)."""
    return percentile(values, 95)


def ms(seconds: float, digits: int = 0) -> str:
    """Seconds shown as milliseconds with `digits` decimals, without the unit."""
    return f"{seconds * 1000:.{digits}f}"


def print_table(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print an underlined title, then `header` and `rows` in left-aligned columns."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print(f"\n{title}")
    print("-" * len(title))
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def cpu_seconds(process) -> float:
    """User + system CPU seconds of a `psutil.Process` so far; 0 once it has exited."""
    try:
        times = process.cpu_times()
    except Exception:  # gone: count nothing more
        return 0.0
    return times.user + times.system


class CpuWindow:
    """CPU used by named processes from construction to `text()`, in percent of one core.

    cpu = CpuWindow({"uvicorn": server.process.pid, "clients": os.getpid()})
    ...  # the work
    print(cpu.text())  # "CPU uvicorn 93 %, clients 41 %"
    """

    def __init__(self, pids: Mapping[str, int], heading: str = "CPU") -> None:
        import psutil

        self.heading = heading
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._before = {name: cpu_seconds(process) for name, process in self._processes.items()}
        self._started = time.perf_counter()

    @classmethod
    def process_and_server(cls, server) -> "CpuWindow":
        """This process and the Temporal dev server `server`: "CPU: this process 80 %, dev server 20 %"."""
        return cls({"this process": os.getpid(), "dev server": server.process.pid}, heading="CPU:")

    def text(self) -> str:
        elapsed = time.perf_counter() - self._started
        used = {name: (cpu_seconds(p) - self._before[name]) / elapsed * 100 for name, p in self._processes.items()}
        return f"{self.heading} " + ", ".join(f"{name} {max(value, 0):.0f} %" for name, value in used.items())


# ABBA ------------------------------------------------------------------------------------------


def abba_order(names: Sequence[T], rounds: int) -> list[T]:
    """`rounds` rounds over `names`, every other one reversed: (A, B) over 2 rounds is A B B A.

    A drift that grows steadily through the run (a warming cache, a neighbour's load) then falls on
    every contender alike instead of favouring whichever always runs first."""
    order: list[T] = []
    for number in range(rounds):
        order.extend(names if number % 2 == 0 else reversed(names))
    return order


@dataclass
class Comparison:
    """What `abba` measured: seconds per pass of each side (each pass does the same work)."""

    baseline: list[float] = field(default_factory=list)
    candidate: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Candidate throughput over baseline throughput (baseline seconds / candidate seconds in
        all): 1.0 is a tie, 0.8 means the candidate does 80 % of the baseline's work per second."""
        return sum(self.baseline) / sum(self.candidate)


def abba(
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    *,
    rounds: int = 2,
    warmup: int = 1,
    label: str = "",
    clock: Callable[[], float] = time.perf_counter,
) -> Comparison:
    """Time `baseline()` and `candidate()` in this process in ABBA order; print each pass and the ratio.

    Each callable is one pass of the same work. Both run `warmup` times untimed first; then
    `rounds` rounds alternate (see `abba_order`: 2 rounds time each side twice). Lines are
    prefixed by `label`. Returns the passes (see `Comparison.ratio`):

        result = abba(lambda: plain(corpus), lambda: ours(corpus), rounds=4, label="render: ")
    """
    sides = {"baseline": baseline, "candidate": candidate}
    for function in sides.values():
        for _ in range(warmup):
            function()
    result = Comparison()
    for name in abba_order(tuple(sides), rounds):
        started = clock()
        sides[name]()
        seconds = clock() - started
        getattr(result, name).append(seconds)
        print(f"  {label}{name:<9} {ms(seconds, 1)} ms", flush=True)
    print(f"  {label}candidate/baseline throughput: {result.ratio:.3f}", flush=True)
    return result


# HTTP load -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What `http_load` saw: latency of each request answered as expected, errors, wall time."""

    latencies: list[float]
    errors: int
    seconds: float
    statuses: Counter = field(default_factory=Counter)  # status code -> responses
    error_samples: list[str] = field(default_factory=list)  # the first few, to say what went wrong

    @property
    def rate(self) -> float:
        """Requests answered as expected, per second of wall time."""
        return len(self.latencies) / self.seconds

    def text(self) -> str:
        if not self.latencies:
            return f"no request answered as expected, {self.errors} errors"
        return (
            f"{len(self.latencies)} requests in {self.seconds:.1f} s = {self.rate:.0f}/s, "
            f"p50 {ms(p50(self.latencies), 1)} ms, p95 {ms(p95(self.latencies), 1)} ms, {self.errors} errors"
        )


async def http_load_async(
    url: str,
    *,
    clients: int = 8,
    requests: int | None = None,
    duration: float | None = None,
    method: str = "GET",
    request: Callable[[int], Mapping[str, Any]] = lambda number: {},
    expect: Iterable[int] = (200,),
    timeout: float = 10,
) -> LoadResult:
    """`http_load` inside a running event loop."""
    import httpx

    # One INFO line per request (httpx logs each when Django's logging is set up) would cost the
    # clients more than the request: keep warnings only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if (requests is None) == (duration is None):
        raise ValueError("give either requests= or duration=")
    expected = set(expect)
    numbers = iter(range(requests if requests is not None else 2**62))
    latencies: list[float] = []
    statuses: Counter = Counter()
    samples: list[str] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        # One connection per client, kept alive from request to request, as a browser tab or SDK would.
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1), timeout=timeout) as http:
            for number in numbers:  # shared: each number is sent once, by whichever client is free
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    response = await http.request(**{"method": method, "url": url, **request(number)})
                except httpx.HTTPError as exc:
                    problem = repr(exc)
                else:
                    statuses[response.status_code] += 1
                    if response.status_code in expected:
                        latencies.append(time.perf_counter() - started)
                        continue
                    problem = f"{response.status_code}: {response.text[:100]!r}"
                errors += 1
                if len(samples) < 3:
                    samples.append(f"request {number}: {problem}")

    began = time.perf_counter()
    deadline = math.inf if duration is None else began + duration
    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(latencies, errors, time.perf_counter() - began, statuses, samples)


def http_load(url: str, **options: Any) -> LoadResult:
    """Drive `url` with `clients` concurrent keep-alive HTTP clients (httpx, one connection each)
    until `requests` requests in all have been sent, or for `duration` seconds (give one of the two).

    `request(number)` returns the keyword arguments of `httpx.AsyncClient.request` for request
    `number` (`json=`, `content=`, `headers=`..., even `method=` and `url=` to mix endpoints), so
    every request can differ (e.g. its own webhook id). A request is an error if it raises or its
    status is not in `expect` (default 200); errors carry no latency. `statuses` counts the answers.

        result = http_load(f"{server.url}/healthz", clients=16, duration=10)
        print(result.text())  # "5230 requests in 10.0 s = 523/s, p50 28.1 ms, p95 44.0 ms, 0 errors"

    Runs its own event loop; inside one, await `http_load_async` instead."""
    return asyncio.run(http_load_async(url, **options))
