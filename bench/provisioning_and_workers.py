"""Platform benchmark: namespace provisioning and the idle cost of the worker host.

Everything runs against a fresh, in-memory, headless Temporal dev server (started from the
virtualenv) and a throwaway PostgreSQL database, `mono_bench`, that this script creates,
migrates and drops. It measures:

1. Namespace provisioning with `TemporalNamespaceManager.ensure_tenants`:
   - 200 new tenant namespaces at concurrency 8: total seconds and milliseconds per namespace;
   - 20 further new namespaces at concurrency 1, as a baseline for what concurrency buys;
   - a second, idempotent pass over the same 200 (every one "unchanged"), and how much faster
     it is than the first.
   These namespaces use tenant ids far above the bench database's, so part 2 starts clean.
2. One `manage.py runworkers` process hosting 20, then 100 tenants (created with
   `tenant_create`, their namespaces provisioned first): startup (spawn until it prints
   "Hosting ..."), idle CPU as a percentage of one core over a 20 s window after 5 s of settling,
   RSS, whether Temporal sees it polling every task queue (`manage.py workers_health`), and how
   long it takes to exit after SIGTERM. The dev server's CPU over the same window is shown for
   context. CPU time is counted in clock ticks (10 ms), so a nearly idle process may read 0 ms.

Figures are printed, not asserted; the run takes a few minutes. From the project root:

    .venv/bin/python bench/provisioning_and_workers.py

It needs a local PostgreSQL on which the `postgres` role may create databases. `BENCH_QUICK=1`
provisions 4 + 2 namespaces and hosts 2 tenants with short windows: a smoke run, not figures.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psutil
from _harness import ROOT, cpu_seconds, django_on_temporal, sized

from mono.temporal.devserver import TemporalDevServer, temporal_binary

BENCH_DB = "mono_bench"

NAMESPACES = sized(200, 4)
CONCURRENCY = sized(8, 2)
BASELINE_NAMESPACES = sized(20, 2)
PROVISION_ID_BASE = 1_000_000  # tenant ids of part 1's namespaces: no clash with real tenants

WORKER_TENANT_COUNTS = sized((20, 100), (2,))
STARTUP_TIMEOUT = 300.0
SETTLE_SECONDS = sized(5.0, 1.0)
SAMPLE_SECONDS = sized(20.0, 2.0)
SHUTDOWN_TIMEOUT = 60.0


@dataclass
class Report:
    """The figures for the closing table, as (label, value) rows."""

    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label}: {value}", flush=True)

    def print_table(self, title: str) -> None:
        width = max(len(label) for label, _ in self.rows)
        print(f"\n{title}")
        print("-" * len(title))
        for label, value in self.rows:
            print(f"{label:<{width}}  {value}")


def server_version() -> str:
    try:
        out = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().removeprefix("temporal version ") or "unknown"


# 1. Namespace provisioning ---------------------------------------------------------------------


def count(values) -> str:
    return ", ".join(f"{n} {value}" for value, n in Counter(str(v) for v in values).most_common())


async def provision_passes(report: Report) -> None:
    from mono.temporal.client import connect
    from mono.temporal.namespaces import TemporalNamespaceManager, TenantNamespaceSpec

    manager = TemporalNamespaceManager(await connect())

    async def timed(tenant_ids: range, concurrency: int):
        specs = [TenantNamespaceSpec(tenant_id, 90, description="bench") for tenant_id in tenant_ids]
        started = time.perf_counter()
        results = await manager.ensure_tenants(specs, concurrency=concurrency)
        return time.perf_counter() - started, results

    main_ids = range(PROVISION_ID_BASE + 1, PROVISION_ID_BASE + NAMESPACES + 1)
    baseline_ids = range(main_ids.stop, main_ids.stop + BASELINE_NAMESPACES)

    first, results = await timed(main_ids, CONCURRENCY)
    per_ns = first / NAMESPACES * 1000
    report.add(
        f"provision {NAMESPACES} namespaces",
        f"{first:.1f} s ({per_ns:.0f} ms each, concurrency {CONCURRENCY})",
    )
    print(
        f"    actions: {count(r.action for r in results)}; search attributes: "
        f"{count(r.search_attributes for r in results)}",
        flush=True,
    )

    baseline, results = await timed(baseline_ids, 1)
    baseline_per_ns = baseline / BASELINE_NAMESPACES * 1000
    report.add(
        f"provision {BASELINE_NAMESPACES} namespaces",
        f"{baseline:.1f} s ({baseline_per_ns:.0f} ms each, concurrency 1; "
        f"concurrency {CONCURRENCY} is {baseline_per_ns / per_ns:.1f}x faster per namespace)",
    )
    print(f"    actions: {count(r.action for r in results)}", flush=True)

    second, results = await timed(main_ids, CONCURRENCY)
    report.add(
        f"re-provision {NAMESPACES} namespaces",
        f"{second:.1f} s ({second / NAMESPACES * 1000:.0f} ms each, concurrency {CONCURRENCY}; "
        f"{count(r.action for r in results)}; {first / second:.1f}x faster than the first pass)",
    )


def measure_provisioning(report: Report) -> None:
    print(f"\n1. Provisioning {NAMESPACES} tenant namespaces", flush=True)
    asyncio.run(provision_passes(report))


# 2. The worker host ----------------------------------------------------------------------------


def create_tenants(total: int) -> None:
    """Bring the bench database up to `total` active tenants, then provision every namespace."""
    from tenants.models import Tenant
    from tenants.services import namespaces_provision, tenant_create

    existing = Tenant.objects.count()
    started = time.perf_counter()
    for number in range(existing + 1, total + 1):
        tenant_create(name=f"Bench tenant {number}", slug=f"bench-{number}")
    created = time.perf_counter() - started
    print(f"  created tenants {existing + 1}-{total} in {created:.1f} s (tenant_create, namespace after commit)")
    started = time.perf_counter()
    results = namespaces_provision(tenants=Tenant.objects.order_by("pk"))
    print(
        f"  provisioned {len(results)} namespaces (platform included) in {time.perf_counter() - started:.1f} s: "
        f"{count(r.action for r in results)}",
        flush=True,
    )


class OutputWatcher:
    """Reads a child's stdout on a thread; notes when the "Hosting ..." line arrives."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.hosting_line: str | None = None
        self.hosting_at: float | None = None
        self.hosting = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            line = line.rstrip()
            self.lines.append(line)
            if line.startswith("Hosting") and not self.hosting.is_set():
                self.hosting_at = time.perf_counter()
                self.hosting_line = line
                self.hosting.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def tail(log, lines: int = 20) -> str:
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


def pollers_check(pid: int, env: dict) -> str:
    """Ask Temporal (through `manage.py workers_health`) which queues process `pid` polls."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "workers_health", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    try:
        # The JSON report may be followed by a summary line: read the report alone.
        rows, _ = json.JSONDecoder().raw_decode(result.stdout.lstrip())
    except ValueError:
        return f"workers_health exited {result.returncode} without a JSON report"
    served = sum(1 for row in rows if any(f":{pid}:" in poller["identity"] for poller in row["pollers"]))
    return f"{served}/{len(rows)} task queues polled by it (workers_health exit {result.returncode}, {elapsed:.1f} s)"


def measure_runworkers(tenants: int, server: TemporalDevServer, report: Report, children: list) -> None:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
    }
    label = f"runworkers, {tenants} tenants"
    with tempfile.TemporaryFile() as log:
        spawned = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "manage.py", "runworkers", "--health-port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        children.append(child)
        output = OutputWatcher(child.stdout)
        while not output.hosting.wait(0.1):
            if child.poll() is not None or time.perf_counter() - spawned > STARTUP_TIMEOUT:
                raise RuntimeError(f"runworkers did not start hosting (exit code {child.poll()}):\n{tail(log)}")
        report.add(
            f"{label}: startup",
            f"{output.hosting_at - spawned:.1f} s (spawn to {output.hosting_line!r})",
        )

        process = psutil.Process(child.pid)
        server_process = psutil.Process(server.process.pid)
        time.sleep(SETTLE_SECONDS)
        cpu_before, server_before, clock_before = cpu_seconds(process), cpu_seconds(server_process), time.perf_counter()
        time.sleep(SAMPLE_SECONDS)
        cpu_after, server_after, clock_after = cpu_seconds(process), cpu_seconds(server_process), time.perf_counter()
        window = clock_after - clock_before
        rss = process.memory_info().rss / 2**20
        threads = process.num_threads()
        used = cpu_after - cpu_before
        report.add(
            f"{label}: idle CPU",
            f"{used / window * 100:.2f} % of one core ({used * 1000:.0f} ms CPU in {window:.0f} s; "
            f"dev server {(server_after - server_before) / window * 100:.1f} %)",
        )
        report.add(f"{label}: RSS", f"{rss:.0f} MiB ({threads} threads)")
        report.add(f"{label}: pollers", pollers_check(child.pid, env))

        stopping = time.perf_counter()
        child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(SHUTDOWN_TIMEOUT)
            stopped = f"{time.perf_counter() - stopping:.1f} s (exit code {code})"
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            stopped = f"did not exit within {SHUTDOWN_TIMEOUT:.0f} s of SIGTERM; killed"
        output.join(5)
        report.add(f"{label}: shutdown", stopped)
        problems = [line for line in tail(log, 10_000).splitlines() if " ERROR " in line or "Traceback" in line]
        if problems or "Workers stopped." not in output.lines:
            print(f"    note: {len(problems)} error lines in its log; last lines:\n{tail(log)}", flush=True)


def measure_worker_host(server: TemporalDevServer, report: Report, children: list) -> None:
    for tenants in WORKER_TENANT_COUNTS:
        print(f"\n2. runworkers hosting {tenants} tenants", flush=True)
        create_tenants(tenants)
        measure_runworkers(tenants, server, report, children)


# Main ------------------------------------------------------------------------------------------


def main() -> None:
    report = Report()
    children: list[subprocess.Popen] = []
    announce = f"Temporal CLI {server_version()}: dev server up in {{seconds:.1f}} s (in memory)"
    with django_on_temporal(BENCH_DB, debug=True, announce=announce) as (server, _):
        try:
            measure_provisioning(report)
            measure_worker_host(server, report, children)
            report.print_table(f"Platform benchmark ({os.cpu_count()} CPUs, Temporal CLI {server_version()})")
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()


if __name__ == "__main__":
    main()
