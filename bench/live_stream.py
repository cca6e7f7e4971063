"""Live status stream benchmark: event latency from worker to websocket, and fan-out rate.

The production shape on one machine, one process per role:
- a fresh, in-memory, headless Temporal dev server (from the virtualenv);
- a throwaway PostgreSQL database, `mono_bench_live`, that this script creates, migrates and drops;
- Redis as the channel layer (`BENCH_REDIS_URL`, default `redis://127.0.0.1:6379/3`);
- ONE web process: uvicorn serving `mono.asgi:application`;
- a worker process: this script with `--host-workers`, running the project's
  `TemporalWorkerManager` over the tenant's queues as `manage.py runworkers` would;
- for the fan-out passes, a publisher process: this script with `--publish`, sending events
  through the live subscriber's real path (`workflows.live.publish_event`: number, log, send);
- this process: the websocket clients (the `websockets` package, on one event loop), which
  authenticate with an API key in the `Authorization` header, and the Temporal client that starts
  the runs.

1. Latency, step finished in the worker -> websocket client. The workload is a chain
   Start -> 10 x UpdateRecordNode -> End. For each run the execution row is created, a client
   subscribes to `/ws/executions/{id}/` (and reads its snapshot), then the workflow is started,
   so the client sees every event of the run. For each `step.completed` event, latency = the
   client's receive time - the event's `at`, which the live subscriber stamps in the worker
   process when the change's commit hook fires (before it numbers, logs and sends the event).
   Same machine, same clock. Two passes: 20 runs one after another, then 40 runs at most 8 at a
   time. p50/p95/max are printed; the target is p95 <= 50 ms. Then the publisher's own cost per
   event, measured in this process: numbering + logging (one SQL statement) and the channel-layer
   send, 500 events each.
2. Fan-out: 100 clients subscribe to one execution's stream, then the publisher process sends
   step events to that run: 1000 at a steady 100 events/s, then 2000 as fast as one thread can,
   then 2000 from 4 threads at once (they contend for the run's counter and their sends reach
   the layer out of order). Then 100 clients on the tenant's stream, with run-level events of 50
   runs (each run's events from one thread, in order, as a run's are): steady, then 4 threads.
   Per pass: publish rate; delivery rate (messages received by all clients / time from the first
   event's `at` to the last client receiving its last event); per-event latency (`at` ->
   received) across all clients; and whether every client got what its stream promises: every
   event of the run once and in order, or, on the tenant stream, per run rising seqs ending with
   the run's final event. Under overload the channel layer drops messages (its per-process
   capacity is 100 by default); consumers then read what they missed from the log (at once on a
   gap, or once the stream is quiet), so the promise should hold at any rate, with latency
   paying for the overload. CPU of the web,
   worker and client processes is shown as a percentage of one core.

Figures are printed, not asserted; the run takes about two minutes. From the project root:

    .venv/bin/python bench/live_stream.py

It needs a local PostgreSQL on which the `postgres` role may create databases, and Redis.
`BENCH_QUICK=1` runs 2 runs per latency pass and 3 subscribers to 20 events per fan-out pass: a smoke
run, not figures.
"""

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from _harness import (
    ROOT,
    CpuWindow,
    WorkerHost,
    exit_on_sigterm,
    p50,
    p95,
    scratch_database,
    setup_django,
    sized,
    start_web_server,
    stop_processes,
    temporal_server,
)
from _harness import ms as _ms

BENCH_DB = "mono_bench_live"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")

CHAIN_STEPS = 10
SEQUENTIAL_RUNS = sized(20, 2)
CONCURRENT_RUNS = sized(40, 2)
CONCURRENCY = sized(8, 2)
WARMUP_RUNS = sized(2, 1)
PUBLISHER_SAMPLES = sized(500, 10)
SUBSCRIBERS = sized(100, 3)
TENANT_RUNS = sized(50, 2)
# (events, events per second or 0 for as fast as possible, publishing threads)
EXECUTION_PASSES = sized(((1000, 100, 1), (2000, 0, 1), (2000, 0, 4)), ((20, 100, 1), (20, 0, 2)))
TENANT_PASSES = sized(((1000, 100, 1), (2000, 0, 4)), ((20, 100, 1), (20, 0, 2)))
RUN_TIMEOUT = 60.0
STARTUP_TIMEOUT = 120.0
DELIVERY_TIMEOUT = 120.0
LATENCY_TARGET = 0.050
FINISHED = {"execution.completed", "execution.failed", "execution.rejected", "execution.cancelled"}


# Figures ---------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return _ms(seconds, 1)


def latency_text(latencies: list[float]) -> str:
    if not latencies:
        return "no samples"
    return (
        f"p50 {ms(p50(latencies))} ms, p95 {ms(p95(latencies))} ms, "
        f"max {ms(max(latencies))} ms ({len(latencies)} samples)"
    )


def event_time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"]).timestamp()


# Processes -------------------------------------------------------------------------------------


def start_workers(env: dict[str, str]) -> subprocess.Popen:
    """This script with `--host-workers`; returns once it reports its workers polling."""
    workers = subprocess.Popen(
        [sys.executable, __file__, "--host-workers"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    line = workers.stdout.readline()
    if line.strip() != "ready":
        workers.kill()
        raise RuntimeError(f"the worker process did not start: {line!r}")
    return workers


def host_workers() -> None:
    """`--host-workers`: the project's worker manager over the tenants' queues, until SIGTERM."""
    import django

    django.setup()  # on the environment the parent set up and passed on
    host = WorkerHost(shutdown_seconds=5)
    signal.signal(signal.SIGTERM, lambda *_: host.manager.request_stop())
    try:
        host.start(timeout=STARTUP_TIMEOUT)
    except Exception as exc:
        print(f"failed: {exc!r}", flush=True)
        return
    print("ready", flush=True)
    host.thread.join()


def publish() -> None:
    """`--publish`: read {"tenant_id", "rate", "lanes"} on stdin; publish each lane's events in
    order on a thread of its own, all lanes at once, each at `rate`/lanes events per second (0: as
    fast as possible); print {"seconds": ...}."""
    import django

    django.setup()  # on the environment the parent set up and passed on
    from django.db import connections

    from mono.events import DomainEvent
    from workflows.live import publish_event

    spec = json.load(sys.stdin)
    interval = len(spec["lanes"]) / spec["rate"] if spec["rate"] else 0.0

    def work(lane: list) -> None:
        started = time.perf_counter()
        try:
            for number, (kind, execution_id, data) in enumerate(lane):
                if interval:
                    time.sleep(max(0.0, started + number * interval - time.perf_counter()))
                publish_event(DomainEvent(kind, spec["tenant_id"], execution_id, data))
        finally:
            connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(lane,)) for lane in spec["lanes"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


# Data ------------------------------------------------------------------------------------------


@dataclass
class Context:
    tenant: Any
    definition: Any
    api_key: str
    server_url: str
    env: dict[str, str]
    pids: dict[str, int]
    task_queue: str
    search_attributes: Any


def create_context(server_url: str, env: dict[str, str], pids: dict[str, int]) -> Context:
    """Tenant (namespace provisioned), a viewer with an API key, and the chain's definition."""
    from django.contrib.auth import get_user_model
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from mono.temporal import queues, search_attributes
    from tenants.models import Role
    from tenants.services import api_key_create, membership_add, tenant_create
    from tests.workflows import graphs
    from workflows.services.definitions import definition_create

    tenant = tenant_create(name="Bench live", slug="bench-live")
    viewer = get_user_model().objects.create_user(username="bench-viewer")
    membership_add(tenant=tenant, user=viewer, role=Role.VIEWER)
    _, raw_key = api_key_create(tenant=tenant, user=viewer, name="bench")
    ids = ["start", *(f"r{n}" for n in range(1, CHAIN_STEPS + 1)), "end"]
    records = [graphs.record(node_id, collection="bench", key="{{ input.key }}-" + node_id) for node_id in ids[1:-1]]
    edges = [graphs.edge(source, target) for source, target in itertools.pairwise(ids)]
    graph = graphs.graph(graphs.START, *records, graphs.END, *edges)
    definition = definition_create(tenant=tenant, name="Chain", graph=graph)
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.TENANT_ID, str(tenant.pk)),
            SearchAttributePair(search_attributes.WORKFLOW_ID, str(definition.pk)),
            SearchAttributePair(search_attributes.WORKFLOW_VERSION, definition.latest_version.number),
        ]
    )
    task_queue = queues.WORKFLOWS.name(tenant.pk)
    return Context(tenant, definition, raw_key, server_url, env, pids, task_queue, attributes)


def create_runs(context: Context, count: int, label: str) -> list[Any]:
    """Execution rows (pending, no workflow yet)."""
    from workflows.models import WorkflowExecution

    rows = [
        WorkflowExecution(
            tenant=context.tenant,
            definition=context.definition,
            version=context.definition.latest_version,
            input={"key": f"{label}-{n}-{time.monotonic_ns()}"},
        )
        for n in range(count)
    ]
    return WorkflowExecution.objects.bulk_create(rows)


# Clients ---------------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One websocket client: what it received, and when."""

    events: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)


async def subscribe(context: Context, path: str):
    """Open a stream and read its snapshot; returns (connection, snapshot)."""
    from websockets.asyncio.client import connect

    connection = await connect(
        f"ws://{context.server_url}{path}",
        additional_headers={"Authorization": f"Bearer {context.api_key}"},
        origin=f"http://{context.server_url}",
        open_timeout=30,
        max_queue=None,  # the client must not be what falls behind
    )
    return connection, json.loads(await connection.recv())


async def collect(connection, subscriber: Subscriber, until, timeout: float) -> None:
    """Receive until `until(event)` is true for a received event."""
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await connection.recv())
            subscriber.received_at.append(time.time())
            subscriber.events.append(event)
            if until(event):
                return


# 1. Latency: step finished in the worker -> client ----------------------------------------------


async def one_run(client, context: Context, execution) -> list[float]:
    """Subscribe, start the run, receive until it finishes; the latencies of its step.completed."""
    from workflows.temporal.types import InterpreterInput
    from workflows.temporal.workflows import InterpreterWorkflow

    connection, snapshot = await subscribe(context, f"/ws/executions/{execution.pk}/")
    subscriber = Subscriber()
    try:
        await client.start_workflow(
            InterpreterWorkflow.run,
            InterpreterInput(context.tenant.pk, execution.pk, execution.version.plan, execution.input),
            id=execution.pk,
            task_queue=context.task_queue,
            search_attributes=context.search_attributes,
        )
        await collect(connection, subscriber, lambda event: event["kind"] in FINISHED, RUN_TIMEOUT)
    finally:
        await connection.close()
    seqs = [event["seq"] for event in subscriber.events]
    if seqs != list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(seqs))):
        raise RuntimeError(f"{execution.pk}: events out of order or missing: {seqs}")
    if subscriber.events[-1]["kind"] != "execution.completed":
        raise RuntimeError(f"{execution.pk} ended {subscriber.events[-1]}")
    return [
        received - event_time(event)
        for event, received in zip(subscriber.events, subscriber.received_at, strict=True)
        if event["kind"] == "step.completed"
    ]


async def latency_pass(client, context: Context, runs: int, concurrency: int, label: str) -> list[float]:
    executions = await asyncio.to_thread(create_runs, context, runs, label)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def run(execution) -> None:
        async with gate:
            latencies.extend(await one_run(client, context, execution))

    cpu = CpuWindow(context.pids)
    started = time.perf_counter()
    await asyncio.gather(*(run(execution) for execution in executions))
    elapsed = time.perf_counter() - started
    if label != "warm-up":
        print(f"    {label:<19} {runs} runs in {elapsed:.1f} s: {latency_text(latencies)}; {cpu.text()}", flush=True)
    return latencies


def publisher_cost(context: Context) -> None:
    """Number + log, and channel-layer send, per event, without any client."""
    from django.utils import timezone

    from mono.events import DomainEvent
    from workflows import live

    execution = create_runs(context, 1, "publisher")[0]
    sequenced, sent = [], []
    for n in range(PUBLISHER_SAMPLES):
        event = DomainEvent("step.completed", context.tenant.pk, execution.pk, {"node_id": f"n{n}"})
        started = time.perf_counter()
        entry = live.sequence_event(event, at=timezone.now())
        numbered = time.perf_counter()
        live._publisher.group_send([live.execution_group(execution.pk)], live.group_message(entry))
        sent.append(time.perf_counter() - numbered)
        sequenced.append(numbered - started)
    print(f"    publisher, per event: number + log     {latency_text(sequenced)}")
    print(f"                          channel-layer send {latency_text(sent)}", flush=True)


async def measure_latency(context: Context) -> dict[str, list[float]]:
    from mono.temporal.client import get_tenant_client

    print(f"\n1. Latency, step.completed in the worker -> websocket client (chain of {CHAIN_STEPS} record steps)")
    client = await get_tenant_client(context.tenant.pk)
    await latency_pass(client, context, WARMUP_RUNS, 1, "warm-up")
    results = {
        "one at a time": await latency_pass(client, context, SEQUENTIAL_RUNS, 1, "runs one at a time"),
        f"{CONCURRENCY} at a time": await latency_pass(
            client, context, CONCURRENT_RUNS, CONCURRENCY, f"runs {CONCURRENCY} at a time"
        ),
    }
    await asyncio.to_thread(publisher_cost, context)
    return results


# 2. Fan-out -------------------------------------------------------------------------------------


@dataclass
class FanoutResult:
    stream: str
    rate: int
    threads: int
    events: int
    received: int
    publish_seconds: float
    deliver_seconds: float
    latencies: list[float]
    complete: int

    @property
    def label(self) -> str:
        pace = f"{self.rate}/s" if self.rate else "flat out"
        return f"{self.stream} stream, {self.events} events {pace}, {self.threads} thread(s)"

    @property
    def delivery_rate(self) -> float:
        return self.received / self.deliver_seconds


async def run_publisher(context: Context, lanes: list[list], rate: int) -> float:
    publisher = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publish",
        cwd=ROOT,
        env=context.env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    spec = json.dumps({"tenant_id": context.tenant.pk, "rate": rate, "lanes": lanes}).encode()
    output, _ = await publisher.communicate(spec)
    return json.loads(output.decode().strip().splitlines()[-1])["seconds"]


async def fanout_pass(context: Context, stream: str, events: int, rate: int, threads: int) -> FanoutResult:
    """One pass: SUBSCRIBERS clients subscribe, the publisher process sends, all are awaited."""
    if stream == "execution":
        [execution] = await asyncio.to_thread(create_runs, context, 1, "fanout")
        path = f"/ws/executions/{execution.pk}/"
        planned = [("step.completed", execution.pk, {"node_id": f"n{n}"}) for n in range(events)]
        lanes = [planned[n::threads] for n in range(threads)]
    else:
        # Each run is "started" again and again, then "completed" (run-level kinds are what a
        # tenant stream carries); each run's events come from one thread.
        runs = await asyncio.to_thread(create_runs, context, TENANT_RUNS, "tenant-fanout")
        path = f"/ws/tenants/{context.tenant.slug}/executions/"
        kinds = ["execution.started"] * (events // TENANT_RUNS - 1) + ["execution.completed"]
        lanes = [[(kind, run.pk, {}) for kind in kinds for run in runs[lane::threads]] for lane in range(threads)]
    expected = sum(len(lane) for lane in lanes)
    connections = await asyncio.gather(*(subscribe(context, path) for _ in range(SUBSCRIBERS)))
    subscribers = [Subscriber() for _ in connections]

    def done(subscriber: Subscriber) -> bool:
        if stream == "execution":
            return len(subscriber.events) >= expected
        return sum(1 for event in subscriber.events if event["kind"] == "execution.completed") >= TENANT_RUNS

    receiving = [
        asyncio.create_task(collect(connection, subscriber, lambda _, s=subscriber: done(s), DELIVERY_TIMEOUT))
        for (connection, _), subscriber in zip(connections, subscribers, strict=True)
    ]
    cpu = CpuWindow(context.pids)
    started = time.time()
    publish_seconds = await run_publisher(context, lanes, rate)
    await asyncio.gather(*receiving, return_exceptions=True)
    cpu_text = cpu.text()
    last = max((s.received_at[-1] for s in subscribers if s.received_at), default=started)
    for connection, _ in connections:
        await connection.close()
    complete = sum(1 for s in subscribers if as_promised(s.events, stream, expected))
    received = sum(len(s.events) for s in subscribers)
    latencies = [r - event_time(e) for s in subscribers for e, r in zip(s.events, s.received_at, strict=True)]
    # Publishing starts once the publisher process is up: count delivery from the first event's `at`.
    first_at = min((event_time(s.events[0]) for s in subscribers if s.events), default=started)
    result = FanoutResult(
        stream, rate, threads, expected, received, publish_seconds, last - first_at, latencies, complete
    )
    promise = "every event once, in order" if stream == "execution" else "every run's final state, in order"
    print(
        f"    {result.label}: published in {publish_seconds:.2f} s ({expected / publish_seconds:,.0f}/s); "
        f"delivered {received:,} messages ({received / SUBSCRIBERS / expected:.0%} of events x clients) in "
        f"{result.deliver_seconds:.2f} s = {result.delivery_rate:,.0f} messages/s; latency {latency_text(latencies)}; "
        f"{complete}/{SUBSCRIBERS} clients got {promise}; {cpu_text}",
        flush=True,
    )
    return result


def as_promised(events: list[dict[str, Any]], stream: str, expected: int) -> bool:
    """The execution stream: every event once, in order. The tenant stream: per run, rising seqs
    ending with the run's last event (a change superseded while the layer dropped messages may be
    skipped)."""
    if stream == "execution":
        return [e["seq"] for e in events] == list(range(1, expected + 1))
    by_run: dict[str, list[int]] = {}
    for event in events:
        by_run.setdefault(event["execution_id"], []).append(event["seq"])
    last = expected // TENANT_RUNS
    rising = all(seqs == sorted(set(seqs)) and seqs[-1] == last for seqs in by_run.values())
    return len(by_run) == TENANT_RUNS and rising


async def measure_fanout(context: Context) -> list[FanoutResult]:
    print(f"\n2. Fan-out of one uvicorn process to {SUBSCRIBERS} websocket subscribers")
    results = []
    for stream, passes in (("execution", EXECUTION_PASSES), ("tenant", TENANT_PASSES)):
        for events, rate, threads in passes:
            results.append(await fanout_pass(context, stream, events, rate, threads))
    return results


# Main ------------------------------------------------------------------------------------------


def print_summary(latency: dict[str, list[float]], fanout: list[FanoutResult]) -> None:
    title = f"Live stream benchmark ({os.cpu_count()} CPUs; one uvicorn process, Redis channel layer)"
    print(f"\n{title}\n{'-' * len(title)}")
    for label, values in latency.items():
        verdict = "meets" if p95(values) <= LATENCY_TARGET else "misses"
        print(f"step.completed -> client, runs {label:<13}: {latency_text(values)} ({verdict} the p95 50 ms target)")
    for result in fanout:
        print(
            f"fan-out, {result.label:<52}: {result.delivery_rate:>7,.0f} messages/s "
            f"({result.delivery_rate / SUBSCRIBERS:,.0f} events/s to each client), "
            f"latency p50 {ms(p50(result.latencies))} / p95 {ms(p95(result.latencies))} ms, "
            f"{result.complete}/{SUBSCRIBERS} clients complete and in order"
        )


async def bench(context: Context) -> None:
    latency = await measure_latency(context)
    fanout = await measure_fanout(context)
    print_summary(latency, fanout)


def main() -> None:
    exit_on_sigterm()
    children: list[subprocess.Popen] = []
    with temporal_server() as temporal, scratch_database(BENCH_DB) as database:
        try:
            setup_django(
                database,
                temporal_address=temporal.address,
                debug=False,
                conn_max_age="60",
                REDIS_URL=REDIS_URL,
                ALLOWED_HOSTS="127.0.0.1,localhost",
                LOG_LEVEL="WARNING",
            )
            env = dict(os.environ)  # what the web, worker and publisher processes run on
            web = start_web_server(env=env, graceful_seconds=5)  # open sockets must not hold up exit
            children.append(web.process)
            context = create_context(web.address, env, {"uvicorn": web.process.pid, "clients": os.getpid()})
            workers = start_workers(env)
            children.append(workers)
            context.pids["workers"] = workers.pid
            print(f"Database {database.name} migrated; uvicorn on {web.address}; worker process up; Redis {REDIS_URL}")
            asyncio.run(bench(context))
        finally:
            stop_processes(children, timeout=20)


if __name__ == "__main__":
    if sys.argv[1:] == ["--host-workers"]:
        host_workers()
    elif sys.argv[1:] == ["--publish"]:
        publish()
    else:
        main()
