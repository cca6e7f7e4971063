"""What the payload codec costs the interpreter: the 3-step chain with encryption on and off, same run.

One process, one fresh in-memory Temporal dev server (port 18317, headless) and a throwaway
database `mono_bench_codec` (created, migrated, dropped). Two tenants run the same chain
(Start -> 3 UpdateRecordNode upserts -> End) on ONE worker manager: tenant "on" with the
namespace codec every Mono client and worker uses, tenant "off" with Temporal's default data
converter (no codec) installed for its namespace before any client of it exists. Passes alternate
off, on, on, off (ABBA), so a linear drift falls evenly on both:

- throughput: 30 runs, at most 8 at a time (runs/s);
- sequential: 12 runs one after another (p50 latency, start request -> workflow result).

Then the codec alone: encode + decode of a typical step payload, per payload, warm key cache.
Targets: under 5 % throughput loss and under 2 ms added p50 per run. Figures are printed, not
asserted. The end-to-end comparison crosses two tenants (two workers), so on a busy machine its
p50 gap is dominated by scheduling noise; the last lines (payloads coded per run x the cost of one
coding) give the codec's own share of a run, which noise does not move much.

    .venv/bin/python bench/codec.py
"""

import asyncio
import itertools
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
BENCH_DB = "mono_bench_codec"
TEMPORAL_PORT = 18317
THROUGHPUT_RUNS, CONCURRENCY, SEQUENTIAL_RUNS, WARMUP_RUNS = 30, 8, 12, 3
ORDER = ("off", "on", "on", "off")


def database_admin(statement: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(BENCH_DB)))


def setup_django(address: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mono.settings",
        DATABASE_URL=f"{POSTGRES_URL}/{BENCH_DB}",
        DEBUG="1",
        TEMPORAL_ADDRESS=address,
    )
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def chain_graph() -> dict:
    from tests.workflows import graphs

    ids = ["start", "r1", "r2", "r3", "end"]
    records = [graphs.record(node_id, collection=node_id) for node_id in ids[1:-1]]
    return graphs.graph(graphs.START, *records, graphs.END, *(graphs.edge(a, b) for a, b in itertools.pairwise(ids)))


class Side:
    """One tenant and its chain definition; `mode` says whether its namespace encrypts."""

    def __init__(self, mode: str):
        from temporalio.converter import DataConverter

        from mono.temporal import codec
        from mono.temporal.client import tenant_namespace
        from tenants.services import tenant_create
        from workflows.services.definitions import definition_create

        self.mode = mode
        self.tenant = tenant_create(name=f"Codec {mode}", slug=f"codec-{mode}")
        self.namespace = tenant_namespace(self.tenant.pk)
        if mode == "off":
            codec._converters[self.namespace] = DataConverter.default
        self.definition = definition_create(tenant=self.tenant, name="Chain", graph=chain_graph())
        self.version = self.definition.latest_version
        self.counter = 0

    def rows(self, count: int) -> list[tuple[str, dict]]:
        from workflows.models import WorkflowExecution

        made = []
        for _ in range(count):
            self.counter += 1
            made.append(
                WorkflowExecution(
                    tenant=self.tenant,
                    definition=self.definition,
                    version=self.version,
                    input={"key": f"{self.mode}-{self.counter}", "note": "x" * 200},
                )
            )
        WorkflowExecution.objects.bulk_create(made)
        return [(row.id, row.input) for row in made]


async def run_pass(side: Side, kind: str) -> tuple[float, list[float], int]:
    from mono.temporal.client import get_tenant_client
    from workflows.temporal.types import InterpreterInput
    from workflows.temporal.workflows import InterpreterWorkflow

    count = {"throughput": THROUGHPUT_RUNS, "sequential": SEQUENTIAL_RUNS, "warmup": WARMUP_RUNS}[kind]
    rows = await asyncio.to_thread(side.rows, count)
    client = await get_tenant_client(side.tenant.pk)
    gate = asyncio.Semaphore(CONCURRENCY if kind == "throughput" else 1)
    latencies, failures = [], 0

    async def one(execution_id: str, run_input: dict) -> None:
        nonlocal failures
        async with gate:
            started = time.perf_counter()
            arg = InterpreterInput(side.tenant.pk, execution_id, side.version.plan, run_input)
            handle = await client.start_workflow(InterpreterWorkflow.run, arg, id=execution_id, task_queue="workflows")
            result = await asyncio.wait_for(handle.result(), 60)
            latencies.append(time.perf_counter() - started)
            failures += result.status != "completed"

    started = time.perf_counter()
    await asyncio.gather(*(one(*row) for row in rows))
    return time.perf_counter() - started, latencies, failures


async def codec_alone(namespace: str) -> float:
    """Microseconds to encode and decode one ~300-byte step payload (warm key cache)."""
    from mono.temporal.codec import data_converter_for

    converter = data_converter_for(namespace)
    payload = converter.payload_converter.to_payload({"key": "k", "note": "x" * 200, "steps": {"r1": {"ok": True}}})
    codec, rounds = converter.payload_codec, 2000
    await codec.decode(await codec.encode([payload]))
    started = time.perf_counter()
    for _ in range(rounds):
        await codec.decode(await codec.encode([payload]))
    return (time.perf_counter() - started) / rounds * 1e6


PAYLOADS = {"count": 0}


def count_payloads() -> None:
    """Count the payloads the codec handles (client and worker, this process), to cost a run."""
    from mono.temporal.codec import NamespaceCodec

    for name in ("encode", "decode"):
        original = getattr(NamespaceCodec, name)

        async def counted(self, payloads, _original=original):
            PAYLOADS["count"] += len(payloads)
            return await _original(self, payloads)

        setattr(NamespaceCodec, name, counted)


async def measure(sides: dict[str, Side]) -> None:
    totals = {mode: {"runs": 0, "seconds": 0.0, "latencies": [], "failures": 0} for mode in sides}
    for mode in sides:
        await run_pass(sides[mode], "warmup")
    PAYLOADS["count"] = 0
    for mode in ORDER:
        seconds, _, failures = await run_pass(sides[mode], "throughput")
        _, latencies, more = await run_pass(sides[mode], "sequential")
        totals[mode]["runs"] += THROUGHPUT_RUNS
        totals[mode]["seconds"] += seconds
        totals[mode]["latencies"] += latencies
        totals[mode]["failures"] += failures + more
        print(
            f"  codec {mode:<3}  {THROUGHPUT_RUNS / seconds:5.1f} runs/s (8 at a time); "
            f"sequential p50 {statistics.median(latencies) * 1000:6.1f} ms",
            flush=True,
        )
    rate = {mode: t["runs"] / t["seconds"] for mode, t in totals.items()}
    p50 = {mode: statistics.median(t["latencies"]) * 1000 for mode, t in totals.items()}
    print(f"\n  throughput on/off: {rate['on']:.1f} / {rate['off']:.1f} runs/s = {rate['on'] / rate['off']:.3f}")
    print(f"  p50 latency on - off: {p50['on']:.1f} - {p50['off']:.1f} = {p50['on'] - p50['off']:+.2f} ms per run")
    print(f"  failed runs: {sum(t['failures'] for t in totals.values())}")
    runs_on = totals["on"]["runs"] + len(totals["on"]["latencies"])
    per_run = PAYLOADS["count"] / runs_on
    alone = await codec_alone(sides["on"].namespace)
    print(f"  codec alone: {alone:.1f} µs per payload (encode + decode); {per_run:.0f} payload codings per run")
    print(f"  = codec CPU per run of the chain: {alone * per_run / 2 / 1000:.2f} ms (each payload is coded twice)")


def main() -> int:
    from mono.temporal.devserver import TemporalDevServer

    database_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    database_admin("CREATE DATABASE {}")
    server = TemporalDevServer(port=TEMPORAL_PORT).start()
    manager = None
    try:
        setup_django(server.address)
        from mono.temporal import queues, sync
        from mono.temporal.registry import Registration
        from mono.temporal.workers import TemporalWorkerManager, WorkerSelection
        from tenants.selectors import active_tenant_refs
        from workflows.temporal.activities import ALL
        from workflows.temporal.workflows import InterpreterWorkflow

        count_payloads()
        sides = {mode: Side(mode) for mode in ("off", "on")}
        registration = Registration(queues.WORKFLOWS, workflows=(InterpreterWorkflow,), activities=tuple(ALL))
        manager = TemporalWorkerManager(
            tenant_source=active_tenant_refs,
            selection=WorkerSelection(platform=False),
            registrations=[registration],
            refresh_seconds=60,
            shutdown_seconds=10,
        )
        threading.Thread(target=lambda: asyncio.run(manager.run()), daemon=True).start()
        while not manager.reconciled.is_set():
            time.sleep(0.05)
        print(f"3-step chain, codec on vs off; dev server {server.address}; ABBA {ORDER}", flush=True)
        sync.run(lambda: measure(sides), timeout=1800)
        return 0
    finally:
        if manager is not None:
            manager.request_stop()
            manager.stopped.wait(30)
        from django.db import connections

        connections.close_all()
        server.stop()
        database_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
