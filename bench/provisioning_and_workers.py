"""Platform benchmark: many tenants on one worker host, and what an idle platform costs.

Against a fresh, in-memory, headless Temporal dev server and a scratch PostgreSQL database
(`mono_bench_workers`, created and dropped), with `--tenants N` tenants (default 1,000):

1. Baseline: one tenant, one `manage.py runworkers`; latency of a 3-step run (three record
   steps), median of 7 after a warm-up.
2. Tenants 2..N are created (rows only), then `manage.py provision_namespaces` provisions every
   namespace in a child process: wall time, exit status (a signal such as SIGABRT is named), and
   a second, idempotent pass. `--abort-hunt K` first runs K extra creating passes, each under a
   namespace prefix of its own, to look for the abort seen once at 500 tenants.
3. One `runworkers` hosting all N tenants: start time (spawn to its "Hosting ..." line), then,
   after settling, CPU (% of one core) and RSS of the worker process and of the dev server over
   `--sample-seconds` at rest (default 60), and the worker's thread count.
4. Latency of the same 3-step run in tenant N on that host, against the baseline, and the
   first-job latency of an image job in an idle tenant (its image queue has no worker until the
   upload announces the job), then of a second image job (worker already up).
5. Shutdown time after SIGTERM.

Figures are printed, not asserted. From the project root:

    .venv/bin/python bench/provisioning_and_workers.py --tenants 1000

`BENCH_QUICK=1` runs 5 tenants with 5 s windows: a smoke run, not figures. On a shared machine,
set `BENCH_PORTS=LOW-HIGH` so the dev server takes a port of your own.
"""

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil
from _harness import (
    DEV_SERVER_UP,
    QUICK,
    ROOT,
    cpu_seconds,
    django_on_temporal,
    exit_on_sigterm,
    print_table,
    record_chain,
    sized,
)

BENCH_DB = "mono_bench_workers"
STARTUP_TIMEOUT = 900.0
SETTLE_SECONDS = sized(15.0, 2.0)
LATENCY_RUNS = sized(7, 2)
rows: list[tuple[str, str]] = []


def report(label: str, value: str) -> None:
    rows.append((label, value))
    print(f"  {label}: {value}", flush=True)


def manage(*args: str, env: dict | None = None, timeout: float = 3600) -> tuple[int, float, str]:
    """Run `manage.py args` in a child; (exit code, seconds, last lines of its output)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-3:])
    return result.returncode, time.perf_counter() - started, tail


def exit_text(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"


# Tenants, definitions and runs -------------------------------------------------------------------


def create_tenant_rows(first: int, last: int) -> None:
    from tenants.models import Tenant

    Tenant.objects.bulk_create(
        [Tenant(name=f"Bench tenant {n}", slug=f"bench-{n}") for n in range(first, last + 1)], batch_size=1000
    )


def three_step_definition(tenant):
    from workflows.services import definitions

    return definitions.definition_create(tenant=tenant, name="Three steps", graph=record_chain(3))


def run_latency(tenant, definition, key: str) -> float:
    from mono.temporal import sync
    from mono.temporal.client import get_tenant_client
    from workflows.services import executions

    started = time.perf_counter()
    execution = executions.execution_start(tenant=tenant, definition=definition, input={"key": key})

    async def result():
        client = await get_tenant_client(tenant.pk)
        await client.get_workflow_handle(execution.id).result()

    sync.run(result, timeout=60)
    return time.perf_counter() - started


def median_latency(tenant, definition, label: str) -> float:
    run_latency(tenant, definition, f"{label}-warm-up")
    return statistics.median(run_latency(tenant, definition, f"{label}-{i}") for i in range(LATENCY_RUNS))


def image_job_seconds(tenant, name: str) -> float:
    """Upload a small PNG; seconds until its variants are made (the asset is ready)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from jobs.models import MediaAsset, MediaStatus
    from jobs.services import media

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 40, 200)).save(buffer, "PNG")
    started = time.perf_counter()
    asset = media.media_upload(tenant=tenant, upload=SimpleUploadedFile(name, buffer.getvalue()), variants=["thumb"])
    while True:
        status = MediaAsset.objects.for_tenant(tenant).filter(pk=asset.pk).values_list("status", flat=True).get()
        if status in (MediaStatus.READY, MediaStatus.FAILED):
            break
        if time.perf_counter() - started > 60:
            raise RuntimeError(f"image job {name} not done in 60 s")
        time.sleep(0.01)
    if status == MediaStatus.FAILED:
        raise RuntimeError(f"image job {name} failed")
    return time.perf_counter() - started


# The worker host ---------------------------------------------------------------------------------


class Host:
    """`manage.py runworkers` in a child process, with its output watched for "Hosting"."""

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile()
        self.spawned = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runworkers", "--health-port", "0", "--sdk-metrics-port", "0"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.hosting = threading.Event()
        self.hosting_line = ""
        self.hosting_at = 0.0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("Hosting") and not self.hosting.is_set():
                self.hosting_at, self.hosting_line = time.perf_counter(), line.strip()
                self.hosting.set()

    def wait_hosting(self) -> float:
        while not self.hosting.wait(0.2):
            if self.process.poll() is not None or time.perf_counter() - self.spawned > STARTUP_TIMEOUT:
                raise RuntimeError(f"runworkers did not start ({self.process.poll()}):\n{self.tail()}")
        return self.hosting_at - self.spawned

    def tail(self, lines: int = 15) -> str:
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> str:
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "did not exit within 120 s of SIGTERM; killed"
        return f"{time.perf_counter() - started:.1f} s ({exit_text(code)})"


def at_rest(host: Host, server, seconds: float) -> None:
    worker, temporal = psutil.Process(host.process.pid), psutil.Process(server.process.pid)
    time.sleep(SETTLE_SECONDS)
    before = cpu_seconds(worker), cpu_seconds(temporal), time.perf_counter()
    time.sleep(seconds)
    after = cpu_seconds(worker), cpu_seconds(temporal), time.perf_counter()
    window = after[2] - before[2]
    report(
        "worker process at rest",
        f"{(after[0] - before[0]) / window * 100:.1f} % of a core, {worker.memory_info().rss / 2**20:.0f} MiB RSS, "
        f"{worker.num_threads()} threads ({window:.0f} s window)",
    )
    report(
        "Temporal dev server at rest",
        f"{(after[1] - before[1]) / window * 100:.1f} % of a core, {temporal.memory_info().rss / 2**20:.0f} MiB RSS",
    )


def server_idle(server, seconds: float) -> str:
    temporal = psutil.Process(server.process.pid)
    before, clock = cpu_seconds(temporal), time.perf_counter()
    time.sleep(seconds)
    return f"{(cpu_seconds(temporal) - before) / (time.perf_counter() - clock) * 100:.1f} % of a core"


# Main --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=sized(1000, 5))
    parser.add_argument("--sample-seconds", type=float, default=sized(60.0, 5.0))
    parser.add_argument("--abort-hunt", type=int, default=0, help="extra creating provisioning passes")
    args = parser.parse_args()
    exit_on_sigterm()
    hosts: list[Host] = []
    media = tempfile.TemporaryDirectory(prefix="bench-media-")  # shared by this process and the host
    with (
        media,
        django_on_temporal(BENCH_DB, debug=False, announce=DEV_SERVER_UP, MEDIA_ROOT=media.name) as (
            server,
            _,
        ),
    ):
        from mono.temporal.client import tenant_namespace
        from tenants.models import Tenant
        from tenants.services import tenant_create

        try:
            print("\n1. One tenant: baseline", flush=True)
            first = tenant_create(name="Bench tenant 1", slug="bench-1")
            baseline_definition = three_step_definition(first)
            hosts.append(Host())
            hosts[-1].wait_hosting()
            baseline = median_latency(first, baseline_definition, "one-tenant")
            report("3-step run, host with 1 tenant", f"{baseline * 1000:.0f} ms (median of {LATENCY_RUNS})")
            report("runworkers with 1 tenant: shutdown", hosts[-1].stop())

            print(f"\n2. Provisioning {args.tenants} tenants", flush=True)
            started = time.perf_counter()
            create_tenant_rows(2, args.tenants)
            report(f"create {args.tenants - 1} tenant rows", f"{time.perf_counter() - started:.1f} s")
            for run in range(1, args.abort_hunt + 1):
                prefix = f"hunt{run}-tenant-"
                code, seconds, tail = manage("provision_namespaces", env={"TEMPORAL_TENANT_NAMESPACE_PREFIX": prefix})
                label = f"abort hunt {run}: provision {args.tenants} new namespaces"
                report(label, f"{seconds:.1f} s, {exit_text(code)}")
                if code:
                    print(tail, flush=True)
            code, seconds, tail = manage("provision_namespaces")
            report(f"provision_namespaces, {args.tenants} tenants", f"{seconds:.1f} s, {exit_text(code)}")
            if code:
                print(tail, flush=True)
            code, seconds, _ = manage("provision_namespaces")
            report("provision_namespaces again (all unchanged)", f"{seconds:.1f} s, {exit_text(code)}")
            report("dev server, no workers, at rest", server_idle(server, sized(20.0, 2.0)))

            print(f"\n3. runworkers hosting {args.tenants} tenants", flush=True)
            hosts.append(Host())
            started_in = hosts[-1].wait_hosting()
            report("runworkers start", f"{started_in:.1f} s ({hosts[-1].hosting_line})")
            at_rest(hosts[-1], server, args.sample_seconds)

            print("\n4. Latency on the loaded host", flush=True)
            last = Tenant.objects.get(slug=f"bench-{args.tenants}")
            latency = median_latency(last, three_step_definition(last), "last-tenant")
            report(
                f"3-step run in tenant {args.tenants}",
                f"{latency * 1000:.0f} ms (median of {LATENCY_RUNS}; {latency / baseline:.2f}x the 1-tenant host)",
            )
            idle = Tenant.objects.get(slug=f"bench-{max(2, args.tenants // 2)}")
            first_job = image_job_seconds(idle, "first.png")
            report(f"first image job, idle tenant {idle.pk} ({tenant_namespace(idle.pk)})", f"{first_job:.2f} s")
            second_job = image_job_seconds(idle, "second.png")
            report("second image job, worker up", f"{second_job:.2f} s")

            print("\n5. Shutdown", flush=True)
            report(f"runworkers with {args.tenants} tenants: shutdown", hosts[-1].stop())
            errors = [line for line in hosts[-1].tail(100_000).splitlines() if " ERROR " in line or "Fatal" in line]
            if errors:
                print(f"  {len(errors)} error lines in the host's log, e.g. {errors[0]}", flush=True)
        finally:
            for host in hosts:
                if host.process.poll() is None:
                    host.process.kill()
                    host.process.wait()
    title = f"Many tenants, one worker host ({args.tenants} tenants, {os.cpu_count()} CPUs{', QUICK' if QUICK else ''})"
    print_table(title, ["measure", "figure"], rows)


if __name__ == "__main__":
    main()
