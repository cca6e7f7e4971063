"""Engine benchmark: the graph interpreter against a hand-written Temporal workflow.

Everything runs in this one process against a fresh, in-memory, headless Temporal dev server
(started from the virtualenv) and a throwaway PostgreSQL database, `mono_bench_interp`, that this
script creates, migrates and drops. One tenant is created with `tenant_create` (its namespace is
provisioned), and the project's `TemporalWorkerManager` hosts that tenant's `workflows` queue on a
background thread with its own event loop, as `manage.py runworkers` would.

The workload is a chain: Start -> N UpdateRecordNode upserts -> End, for N = 3 and N = 10; every
record node writes its own record of the tenant's record store (keys are unique per run, so runs
do not contend for row locks). Two engines run it:

- interpreter: the definition is created once with `definition_create`; each run is the
  `InterpreterWorkflow` walking the compiled plan of the definition's version;
- bare: `BareChainWorkflow` below, what a user would write by hand: the same `run_step` activity
  for the same nodes with the same data, timeouts and retry policies, and no bookkeeping at all
  (no start/end records, no execution status). The interpreter's targets are set against it;
- native: `NativeChainWorkflow` below, a hand-written workflow with the node sequence hard-coded.
  It calls the same activities by name, in the same order, with the same arguments (the same
  variables payload included) and the same timeouts and retry policies as the interpreter does
  for this chain: `execution_started`, `record_step` (start), `run_step` per record node,
  `record_step` (end), `execution_finish`.

Both workflows are registered on the SAME worker: the manager is handed one registration for the
tenant `workflows` queue listing both workflow classes and the interpreter's activities, so they
share the worker's pollers, its activity thread pool, its Django connection interceptor and its
sandbox (which stays on; this module is re-imported in it, so its top level only defines things).

Runs are started directly with the Temporal client, with the search attributes `execution_start`
sets: the `WorkflowExecution` rows (which the activities update) are bulk-created before each timed
pass, and a run's latency is start request -> workflow result. This measures the engine without
the request path's transaction, on-commit hook and sync-to-async hop; part 2 measures those.

1. Per chain length, after a warm-up: a throughput pass (40 runs, at most 8 at a time; runs/s
   and per-run latency under that load) and a sequential pass (15 runs one after another; p50 and
   p95 latency), each done four times in the order native, interpreter, interpreter, native
   (ABBA, so a linear drift falls evenly on both). Both passes of each engine are printed; the
   summary pools them. The target is interpreter/native throughput >= 0.95. Per pass, the CPU
   used by this process and by the dev server is shown as a percentage of one core. Then the
   cost of the workflow code alone: one history of each engine (from the warm-up) is replayed
   offline with temporalio's `Replayer` (sandboxed, no server, no activities), 25 times per pass
   in the same ABBA order, and the process CPU time per replayed run is shown.
2. API execute -> completed, 20 sequential runs of the 3-step chain: DRF's `APIClient`
   authenticated as an editor of the tenant (`X-Tenant` header) POSTs
   `/api/v1/workflows/{id}/execute` (answer 202), then the workflow result is awaited through the
   Temporal client and the `WorkflowExecution` row is read (its status should be `completed`).
   p50 and p95 of the POST alone, of POST -> result and of POST -> row read are shown.

Figures are printed, not asserted; the run takes a few minutes. From the project root:

    .venv/bin/python bench/interpreter.py

It needs a local PostgreSQL on which the `postgres` role may create databases. Django runs with
DEBUG=1 and DATABASE_CONN_MAX_AGE=0 (as the test suite does), so every activity opens its own
database connection; set DATABASE_CONN_MAX_AGE in the environment to try another value.
`BENCH_QUICK=1` runs the 3-step chain only, a few runs per pass: a smoke run, not figures.
"""

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # The harness first: it makes the project importable. Passed through, so the workflow
    # sandbox, which re-imports this module, uses the loaded modules instead of importing them anew.
    from _harness import (
        DEV_SERVER_UP,
        CpuWindow,
        WorkerHost,
        abba_order,
        django_on_temporal,
        exit_on_sigterm,
        ms,
        p50,
        p95,
        print_table,
        sized,
    )

    from workflows.temporal.types import (
        ExecutionFinish,
        ExecutionStarted,
        InterpreterResult,
        StepInput,
        StepOutput,
        StepRecord,
    )
    from workflows.temporal.workflows import BOOKKEEPING, WORK_STEP_OPTIONS

BENCH_DB = "mono_bench_interp"

CHAIN_LENGTHS = sized((3, 10), (3,))
THROUGHPUT_RUNS = sized(40, 4)
CONCURRENCIES = sized((8, 32), (2,))
SEQUENTIAL_RUNS = sized(15, 2)
WARMUP_RUNS = sized(3, 1)
ENGINES = ("bare", "native", "interpreter")
ORDER = tuple(abba_order(ENGINES, 2))  # bare, native, interpreter, interpreter, native, bare
REPLAYS = sized(25, 2)
API_RUNS = sized(20, 2)
API_WARMUP_RUNS = sized(2, 1)
WORKER_REFRESH_SECONDS = 60.0  # nothing changes while measuring: no reconcile rounds in the way
RUN_TIMEOUT = 60.0  # a run not finished by then counts as failed (and the bench moves on)


# The native baseline (also imported by the workflow sandbox: definitions only) -----------------


@dataclass(frozen=True)
class NativeChainInput:
    tenant_id: int
    execution_id: str
    steps: int
    input: dict[str, Any] = field(default_factory=dict)


def chain_node_ids(steps: int) -> list[str]:
    return [f"r{number}" for number in range(1, steps + 1)]


def record_node_data(node_id: str) -> dict[str, Any]:
    """The data of the chain's record node `node_id`: the graph is built from it, and the native
    workflow hard-codes it (the bench checks it equals the compiled plan's)."""
    return {
        "operation": "upsert",
        "collection": "bench",
        "key": "{{ input.key }}-" + node_id,
        "fields": {"node": node_id, "run": "{{ input.key }}"},
    }


def chain_variables(run_input: dict[str, Any], steps: dict[str, Any]) -> dict[str, Any]:
    """What the interpreter hands a work step: input, every step's output, and both merged."""
    merged: dict[str, Any] = dict(run_input)
    for output in steps.values():
        if isinstance(output, dict):
            merged.update(output)
    return {"input": run_input, "steps": dict(steps), "variables": merged}


@workflow.defn(name="BenchNativeChain")
class NativeChainWorkflow:
    """Start -> r1 .. rN (UpdateRecordNode) -> End, written by hand."""

    @workflow.run
    async def run(self, data: NativeChainInput) -> InterpreterResult:
        tenant_id, execution_id = data.tenant_id, data.execution_id
        started = ExecutionStarted(tenant_id, execution_id, workflow.info().run_id)
        await workflow.execute_activity("execution_started", started, **BOOKKEEPING)
        steps: dict[str, Any] = {"start": {"input": data.input}}
        start = StepRecord(tenant_id, execution_id, "start", "StartNode", "completed", steps["start"])
        await workflow.execute_activity("record_step", start, **BOOKKEEPING)
        for node_id in chain_node_ids(data.steps):
            step = StepInput(
                tenant_id,
                execution_id,
                node_id,
                "UpdateRecordNode",
                record_node_data(node_id),
                chain_variables(data.input, steps),
            )
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **WORK_STEP_OPTIONS["UpdateRecordNode"]
            )
            steps[node_id] = result.output
        steps["end"] = {"status": "completed", "output": None}
        end = StepRecord(tenant_id, execution_id, "end", "EndNode", "completed", steps["end"])
        await workflow.execute_activity("record_step", end, **BOOKKEEPING)
        finish = ExecutionFinish(tenant_id, execution_id, "completed", None, "", [])
        await workflow.execute_activity("execution_finish", finish, **BOOKKEEPING)
        return InterpreterResult("completed", None, "")


@workflow.defn(name="BenchBareChain")
class BareChainWorkflow:
    """r1 .. rN (the same `run_step` activities), no bookkeeping: the floor a user would compare to."""

    @workflow.run
    async def run(self, data: NativeChainInput) -> InterpreterResult:
        steps: dict[str, Any] = {}
        for node_id in chain_node_ids(data.steps):
            variables = {"input": data.input, "steps": dict(steps)}
            step = StepInput(
                data.tenant_id, data.execution_id, node_id, "UpdateRecordNode", record_node_data(node_id), variables
            )
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **WORK_STEP_OPTIONS["UpdateRecordNode"]
            )
            steps[node_id] = result.output
        return InterpreterResult("completed", None, "")


# State -----------------------------------------------------------------------------------------


@dataclass
class Chain:
    """One chain length: its definition, version and what every run is started with."""

    steps: int
    definition: Any
    version: Any
    plan: dict
    search_attributes: Any
    task_queue: str


@dataclass
class Context:
    tenant: Any
    editor: Any
    chains: dict[int, Chain]
    server: Any
    runs_started: int = 0


# Figures ---------------------------------------------------------------------------------------


@dataclass
class PassResult:
    engine: str
    steps: int
    kind: str  # "throughput@<in flight>" | "sequential"
    runs: int
    seconds: float
    latencies: list[float]
    failures: list[str]

    @property
    def rate(self) -> float:
        return self.runs / self.seconds


def latency_text(latencies: list[float]) -> str:
    if not latencies:
        return "no runs"
    return f"p50 {ms(p50(latencies))} ms, p95 {ms(p95(latencies))} ms"


# Setup -----------------------------------------------------------------------------------------


def chain_graph(steps: int) -> dict:
    from tests.workflows import graphs

    ids = ["start", *chain_node_ids(steps), "end"]
    records = [graphs.node(node_id, "UpdateRecordNode", **record_node_data(node_id)) for node_id in ids[1:-1]]
    edges = [graphs.edge(source, target) for source, target in itertools.pairwise(ids)]
    return graphs.graph(graphs.START, *records, graphs.END, *edges)


def create_context(server) -> Context:
    """The tenant (namespace provisioned), an editor member and one definition per chain length."""
    from django.contrib.auth import get_user_model
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from mono.temporal import queues, search_attributes
    from tenants.models import Role
    from tenants.services import membership_add, tenant_create
    from workflows.services.definitions import definition_create

    started = time.perf_counter()
    tenant = tenant_create(name="Bench interpreter", slug="bench-interp")
    editor = get_user_model().objects.create_user(username="bench-editor")
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    elapsed = time.perf_counter() - started
    print(f"  tenant {tenant.slug} (id {tenant.pk}) created and its namespace provisioned in {elapsed:.1f} s")
    chains = {}
    for steps in CHAIN_LENGTHS:
        definition = definition_create(tenant=tenant, name=f"Chain of {steps}", graph=chain_graph(steps))
        version = definition.latest_version
        plan_data = {node_id: node["data"] for node_id, node in version.plan["nodes"].items()}
        same = all(plan_data.get(node_id) == record_node_data(node_id) for node_id in chain_node_ids(steps))
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.TENANT_ID, str(tenant.pk)),
                SearchAttributePair(search_attributes.WORKFLOW_ID, str(definition.pk)),
                SearchAttributePair(search_attributes.WORKFLOW_VERSION, version.number),
            ]
        )
        chains[steps] = Chain(steps, definition, version, version.plan, attributes, queues.WORKFLOWS.name(tenant.pk))
        print(
            f"  definition {definition.slug!r}: {len(version.plan['nodes'])} nodes in the plan; "
            f"native workflow's node data {'matches' if same else 'DIFFERS FROM'} the plan's",
            flush=True,
        )
    return Context(tenant, editor, chains, server)


def worker_host() -> WorkerHost:
    """One worker with both the interpreter and the native workflow on the tenant's `workflows` queue."""
    from mono.temporal import queues
    from mono.temporal.registry import Registration
    from workflows.temporal.activities import ALL
    from workflows.temporal.workflows import InterpreterWorkflow

    registration = Registration(
        queues.WORKFLOWS,
        workflows=(InterpreterWorkflow, NativeChainWorkflow, BareChainWorkflow),
        activities=tuple(ALL),
    )
    return WorkerHost(registrations=[registration], refresh_seconds=WORKER_REFRESH_SECONDS)


# 1. Interpreter against native -----------------------------------------------------------------


def create_rows(context: Context, chain: Chain, engine: str, count: int) -> list[tuple[str, dict]]:
    """Pending `WorkflowExecution` rows for `count` runs, with each run's (unique) input."""
    from workflows.models import WorkflowExecution

    rows = []
    for _ in range(count):
        context.runs_started += 1
        run_input = {"key": f"{engine[:3]}-{chain.steps}-{context.runs_started}"}
        rows.append(
            WorkflowExecution(
                tenant=context.tenant, definition=chain.definition, version=chain.version, input=run_input
            )
        )
    WorkflowExecution.objects.bulk_create(rows)
    return [(row.id, row.input) for row in rows]


async def run_once(client, context: Context, chain: Chain, engine: str, execution_id: str, run_input: dict):
    """Start one run and wait for its result; returns (seconds, result)."""
    from workflows.temporal.types import InterpreterInput
    from workflows.temporal.workflows import InterpreterWorkflow

    tenant_id = context.tenant.pk
    options = {"id": execution_id, "task_queue": chain.task_queue, "search_attributes": chain.search_attributes}
    started = time.perf_counter()
    if engine == "interpreter":
        arg = InterpreterInput(tenant_id, execution_id, chain.plan, run_input)
        handle = await client.start_workflow(InterpreterWorkflow.run, arg, **options)
    else:
        arg = NativeChainInput(tenant_id, execution_id, chain.steps, run_input)
        hand_written = BareChainWorkflow if engine == "bare" else NativeChainWorkflow
        handle = await client.start_workflow(hand_written.run, arg, **options)
    result = await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
    return time.perf_counter() - started, result


async def timed_pass(client, context: Context, chain: Chain, engine: str, kind: str) -> PassResult:
    in_flight = int(kind.partition("@")[2] or 1)
    count = max(THROUGHPUT_RUNS, 2 * in_flight) if in_flight > 1 else SEQUENTIAL_RUNS
    rows = await asyncio.to_thread(create_rows, context, chain, engine, count)
    latencies: list[float] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(in_flight)

    async def one(execution_id: str, run_input: dict) -> None:
        async with gate:
            try:
                seconds, result = await run_once(client, context, chain, engine, execution_id, run_input)
            except Exception as exc:
                failures.append(f"{execution_id}: {exc!r}")
                return
            latencies.append(seconds)
            if result.status != "completed":
                failures.append(f"{execution_id}: {result.status} {result.error}")

    cpu = CpuWindow.process_and_server(context.server)
    started = time.perf_counter()
    if in_flight > 1:
        await asyncio.gather(*(one(execution_id, run_input) for execution_id, run_input in rows))
    else:
        for execution_id, run_input in rows:
            await one(execution_id, run_input)
    seconds = time.perf_counter() - started
    result = PassResult(engine, chain.steps, kind, count, seconds, latencies, failures)
    if in_flight > 1:
        figures = f"{count} runs in {seconds:.2f} s = {result.rate:.1f} runs/s; latency {latency_text(latencies)}"
    else:
        figures = f"{count} runs one at a time in {seconds:.2f} s; latency {latency_text(latencies)}"
    print(f"    {engine:<11} {kind:<13}  {figures}; {cpu.text()}", flush=True)
    for failure in failures[:3]:
        print(f"      failed: {failure}", flush=True)
    return result


async def fetch_history(client, execution_id: str):
    """The run's history and a line describing it."""
    from temporalio.api.enums.v1 import EventType

    history = await client.get_workflow_handle(execution_id).fetch_history()
    tasks = sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    activities = sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    size = len(history.to_json()) / 1024
    text = f"{len(history.events)} events, {tasks} workflow tasks, {activities} activities, {size:.0f} KiB as JSON"
    return history, text


async def repeated(history, times: int):
    for _ in range(times):
        yield history


async def replay_cost(histories: dict) -> dict[str, float]:
    """CPU seconds per run spent in workflow code alone: replay each engine's history offline
    (same sandbox, no server, no activities), in ABBA order, REPLAYS times per pass."""
    from temporalio.worker import Replayer

    from workflows.temporal.workflows import InterpreterWorkflow

    replayer = Replayer(workflows=[InterpreterWorkflow, NativeChainWorkflow, BareChainWorkflow])
    for history in histories.values():
        await replayer.replay_workflow(history)  # warm the sandbox and the code paths
    spent: dict[str, list[float]] = {engine: [] for engine in histories}
    for engine in ORDER:
        started = time.process_time()
        results = await replayer.replay_workflows(repeated(histories[engine], REPLAYS), raise_on_replay_failure=False)
        spent[engine].append((time.process_time() - started) / REPLAYS)
        if results.replay_failures:
            print(f"    {engine} replay failures: {list(results.replay_failures.values())[:1]}", flush=True)
    costs = {engine: sum(values) / len(values) for engine, values in spent.items()}
    passes = {engine: " / ".join(f"{v * 1000:.1f}" for v in values) for engine, values in spent.items()}
    print(
        "    replay: {} replays per pass, CPU per run: {}".format(
            REPLAYS, ", ".join(f"{engine} {costs[engine] * 1000:.1f} ms ({passes[engine]})" for engine in ENGINES)
        ),
        flush=True,
    )
    return costs


def check_rows(context: Context, chain: Chain) -> str:
    from django.db.models import Q

    from workflows.models import Record, WorkflowExecution

    runs = WorkflowExecution.objects.for_tenant(context.tenant).filter(definition=chain.definition)
    completed = runs.filter(status="completed").count()
    ours = Q()
    for engine in ENGINES:
        ours |= Q(key__startswith=f"{engine[:3]}-{chain.steps}-")
    records = Record.objects.for_tenant(context.tenant).filter(ours, collection="bench").count()
    return f"{completed}/{runs.count()} execution rows completed, {records} records written ({chain.steps} per run)"


async def compare_engines(context: Context) -> tuple[dict[int, dict[str, list[PassResult]]], dict[int, dict]]:
    from mono.temporal.client import get_tenant_client

    client = await get_tenant_client(context.tenant.pk)
    results: dict[int, dict[str, list[PassResult]]] = {}
    replays: dict[int, dict[str, float]] = {}
    for steps in CHAIN_LENGTHS:
        chain = context.chains[steps]
        print(f"\n1. Chain of {steps} record steps (Start -> {steps} x UpdateRecordNode -> End)", flush=True)
        histories = {}
        for engine in ENGINES:
            rows = await asyncio.to_thread(create_rows, context, chain, engine, WARMUP_RUNS)
            seconds = []
            for execution_id, run_input in rows:
                elapsed, _ = await run_once(client, context, chain, engine, execution_id, run_input)
                seconds.append(elapsed)
            histories[engine], shape = await fetch_history(client, rows[-1][0])
            print(
                f"    {engine:<11} warm-up     {WARMUP_RUNS} runs: {', '.join(ms(s) for s in seconds)} ms; "
                f"history of one run: {shape}",
                flush=True,
            )
        passes: dict[str, list[PassResult]] = {engine: [] for engine in ENGINES}
        for kind in (*(f"throughput@{c}" for c in CONCURRENCIES), "sequential"):
            for engine in ORDER:
                passes[engine].append(await timed_pass(client, context, chain, engine, kind))
        print(f"    rows: {await asyncio.to_thread(check_rows, context, chain)}", flush=True)
        results[steps] = passes
        replays[steps] = await replay_cost(histories)
    return results, replays


# 2. API execute -> completed -------------------------------------------------------------------


def measure_api(context: Context) -> dict[str, list[float]]:
    from rest_framework.test import APIClient

    from mono.temporal import sync
    from mono.temporal.client import get_tenant_client
    from workflows.models import WorkflowExecution

    chain = context.chains[3]
    api = APIClient()
    api.force_authenticate(context.editor)
    api.credentials(HTTP_X_TENANT=context.tenant.slug)
    url = f"/api/v1/workflows/{chain.definition.pk}/execute"
    print(f"\n2. API execute -> completed, chain of 3, {API_RUNS} sequential runs (POST {url})", flush=True)
    figures: dict[str, list[float]] = {"post": [], "result": [], "row": []}
    statuses: dict[str, int] = {}
    problems: list[str] = []
    for number in range(API_WARMUP_RUNS + API_RUNS):
        started = time.perf_counter()
        response = api.post(url, {"input": {"key": f"api-{number}"}}, format="json")
        posted = time.perf_counter()
        if response.status_code != 202:
            problems.append(f"POST answered {response.status_code}: {response.content[:200]!r}")
            continue
        execution_id = response.json()["id"]

        async def result(execution_id=execution_id):
            client = await get_tenant_client(context.tenant.pk)
            return await client.get_workflow_handle(execution_id).result()

        sync.run(result, timeout=RUN_TIMEOUT)
        finished = time.perf_counter()
        status = WorkflowExecution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
        read = time.perf_counter()
        if number < API_WARMUP_RUNS:
            continue
        statuses[status] = statuses.get(status, 0) + 1
        figures["post"].append(posted - started)
        figures["result"].append(finished - started)
        figures["row"].append(read - started)
    print(f"    POST -> 202:              {latency_text(figures['post'])}")
    print(f"    POST -> workflow result:  {latency_text(figures['result'])}")
    print(f"    POST -> row read:         {latency_text(figures['row'])} (row status: {statuses})", flush=True)
    for problem in problems[:3]:
        print(f"    problem: {problem}", flush=True)
    return figures


# Summary ---------------------------------------------------------------------------------------


def print_summary(
    engines: dict[int, dict[str, list[PassResult]]], replays: dict[int, dict[str, float]], api: dict[str, list[float]]
) -> None:
    title = f"Interpreter benchmark ({os.cpu_count()} CPUs; throughput at {CONCURRENCIES} in flight x2, "
    title += f"{SEQUENTIAL_RUNS} sequential runs x2, per engine and chain length)"
    kinds = [f"throughput@{c}" for c in CONCURRENCIES]
    header = ("steps", "engine", *(f"runs/s @{c}" for c in CONCURRENCIES), "sequential p50/p95 ms", "replay CPU ms/run")
    rows: list[tuple[str, ...]] = []
    ratios: list[str] = []
    sequential_3: dict[str, float] = {}
    for steps, passes in engines.items():
        rates: dict[tuple[str, str], float] = {}
        sequential_p50 = {}
        for engine in ENGINES:
            for kind in kinds:
                done = [p for p in passes[engine] if p.kind == kind]
                rates[engine, kind] = sum(p.runs for p in done) / sum(p.seconds for p in done)
            alone = [s for p in passes[engine] if p.kind == "sequential" for s in p.latencies]
            sequential_p50[engine] = p50(alone) if alone else float("nan")
            rows.append(
                (
                    str(steps),
                    engine,
                    *(f"{rates[engine, kind]:.1f}" for kind in kinds),
                    f"{ms(p50(alone))} / {ms(p95(alone))}" if alone else "-",
                    f"{replays[steps][engine] * 1000:.1f}",
                )
            )
        if steps == 3:
            sequential_3 = sequential_p50
        throughput = ", ".join(
            f"@{kind.partition('@')[2]} {rates['interpreter', kind] / rates['bare', kind]:.2f}" for kind in kinds
        )
        ratios.append(
            f"{steps} steps: interpreter/bare sequential p50 "
            f"{sequential_p50['interpreter'] / sequential_p50['bare']:.2f} (target <= 1.5); "
            f"throughput interpreter/bare {throughput} (target >= 0.8); "
            f"interpreter/native throughput @{CONCURRENCIES[0]} "
            f"{rates['interpreter', kinds[0]] / rates['native', kinds[0]]:.2f}"
        )
    print_table(title, header, rows)
    print()
    for line in ratios:
        print(line)
    print(
        f"API execute (3 steps, {API_RUNS} sequential runs): POST -> 202 {latency_text(api['post'])}; "
        f"POST -> result {latency_text(api['result'])}; POST -> completed row read {latency_text(api['row'])}"
    )
    if api["result"] and sequential_3.get("bare"):
        print(f"API POST -> result p50 / bare start -> result p50: {p50(api['result']) / sequential_3['bare']:.2f}")


# Main ------------------------------------------------------------------------------------------


def main() -> None:
    exit_on_sigterm()
    stage = django_on_temporal(
        BENCH_DB, debug=True, announce=DEV_SERVER_UP, conn_max_age="0", ALLOWED_HOSTS="testserver,localhost"
    )
    with stage as (server, _):
        from mono.temporal import queues

        context = create_context(server)
        host = worker_host()
        try:
            hosting = host.start(tenant_id=context.tenant.pk, queue=queues.WORKFLOWS)
            print(f"  worker manager hosting {hosting}", flush=True)
            engines, replays = asyncio.run(compare_engines(context))
            api = measure_api(context)
            print_summary(engines, replays, api)
        finally:
            host.stop()


if __name__ == "__main__":
    main()
