"""Engine benchmark: the graph interpreter against hand-written Temporal workflows.

Everything runs against a fresh, in-memory, headless Temporal dev server (started from the
virtualenv) and a throwaway PostgreSQL database, `mono_bench_interp`, that this script creates,
migrates and drops. One tenant is created with `tenant_create` (its namespace is provisioned), and
the project's `TemporalWorkerManager` hosts that tenant's `workflows` queue on a background thread
of this process with its own event loop, as `manage.py runworkers` would. The shipped web server
(`mono.asgi:application` under uvicorn, as `make run` serves it) runs in a child process; it hosts
no worker.

Flows, each a definition created once with `definition_create`:
- chains: Start -> N UpdateRecordNode upserts -> End, for N = 3 and N = 10; every record node
  writes its own record (keys are unique per run, so runs do not contend for row locks);
- approval: Start -> Approval (the editor alone decides) -> End. Each run's approval is decided
  through the web server as soon as it opens: the bench polls the run's pending `ApprovalRequest`
  row every few milliseconds, then `POST /api/v1/approvals/{id}/decide` with the editor's API key.

Three engines run each flow, all registered on the SAME worker (pollers, activity thread pool,
Django connection interceptor, sandbox on), see `_interpreter_baselines.py`:
- interpreter: the `InterpreterWorkflow` walking the compiled plan of the definition's version,
  with its bookkeeping folded (records ride on the next `run_step`, waits and approvals use local
  activities, the finish is a local activity);
- bare: what a user would write by hand: the same work activities, no bookkeeping at all. The
  interpreter's targets are set against it;
- native: the node sequence hard-coded with the interpreter's old bookkeeping, one full activity
  per record (what the interpreter cost before `folded-bookkeeping`).

Runs of part 1 and 2 are started directly with the Temporal client, with the search attributes
`execution_start` sets: the `WorkflowExecution` rows (which the activities update; bare runs leave
theirs pending) are bulk-created before each timed pass, and a run's latency is start request ->
workflow result.

1. Per flow, after a warm-up whose last run's history is shown per engine (workflow tasks =
   `WORKFLOW_TASK_COMPLETED` events, activities, local-activity markers): for chains a throughput
   pass at each of 8 and 32 in flight (runs/s and per-run latency under load) and a sequential
   pass (p50/p95), each in ABBA order over the engines (bare, native, interpreter, interpreter,
   native, bare) so a linear drift falls evenly; the approval flow gets the sequential passes.
   The CPU of this process and of the dev server is shown per pass, in % of one core. Then the
   cost of the workflow code alone: one history per engine replayed offline with temporalio's
   `Replayer`, CPU time per replayed run.
2. Eager workflow start, 3-step chain, bare and interpreter, sequential: `start_workflow` with
   `request_eager_start` False and True, ABBA. The server can hand the first workflow task back in
   the start response only to a worker of the starting client, so these runs are started on the
   worker host's event loop, with its connection (`WorkerHost.on_worker_loop`); how many runs were
   actually started eagerly is shown. In the shipped path this cannot apply: the web process
   starts the run but hosts no worker (`runworkers` is another process), so its starts are never
   eager.
3. API execute -> completed through the shipped web server, 3-step chain, sequential: httpx POSTs
   `/api/v1/workflows/{id}/execute` with an editor's API key (answer 202), then the run's result is
   awaited through the Temporal client (the run is `completed` in its row before its result
   exists: the finish is written inside the last workflow task) and `GET /api/v1/executions/{id}`
   confirms it. Each API run alternates with a bare run started directly (which goes first
   alternates too), so both see the same load. Shown: POST -> 202, POST -> completed (against
   those bare runs' start -> result p50), and 202 -> first step started (`StepExecution.started_at`
   of `r1` minus the wall-clock time the 202 arrived; negative when the step began before the
   answer reached us).

The summary prints every target of issue 15 with PASS or MISS: 3-step sequential p50 interpreter/
bare <= 1.5; throughput interpreter/bare >= 0.8 at 8 and 32 in flight, 3 and 10 steps; API
POST -> completed p50 / bare start -> result p50 <= 1.5. Figures are printed, not asserted. From
the project root (a few minutes; BENCH_PORTS keeps the servers' ports in a range of your own):

    .venv/bin/python bench/interpreter.py

It needs a local PostgreSQL on which the `postgres` role may create databases. Django runs with
DEBUG=1 (as `make run`) and DATABASE_CONN_MAX_AGE=0 (as the test suite), in this process and the
web server; set DATABASE_CONN_MAX_AGE in the environment to try another value. `BENCH_QUICK=1`
shrinks every pass to a smoke run (a minute or two): its figures mean nothing.
"""

import asyncio
import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from _harness import (  # first: it makes the project importable
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
    start_web_server,
)
from _interpreter_baselines import (
    APPROVAL_NODE,
    APPROVER,
    HAND_WRITTEN,
    HandWrittenInput,
    approval_node_data,
    chain_node_ids,
    record_node_data,
)

BENCH_DB = "mono_bench_interp"

CHAIN_LENGTHS = (3, 10)
CONCURRENCIES = (8, 32)
THROUGHPUT_WAVES = sized(3, 1)  # runs per throughput pass: this many times the number in flight...
THROUGHPUT_MIN_RUNS = sized(40, 0)  # ...and at least this many
SEQUENTIAL_RUNS = sized(15, 2)
WARMUP_RUNS = sized(3, 1)
ROUNDS = sized(2, 1)  # ABBA rounds: 2 times each engine per pass kind
ENGINES = ("bare", "native", "interpreter")
REPLAYS = sized(25, 2)
EAGER_RUNS = sized(15, 2)
API_RUNS = sized(20, 2)
API_WARMUP_RUNS = sized(2, 1)
WORKER_REFRESH_SECONDS = 60.0  # nothing changes while measuring: no reconcile rounds in the way
RUN_TIMEOUT = 60.0  # a run not finished by then counts as failed (and the bench moves on)
APPROVAL_POLL_SECONDS = 0.005
SEQUENTIAL_TARGET = 1.5  # interpreter / bare, 3-step chain, p50: at most
THROUGHPUT_TARGET = 0.8  # interpreter / bare runs per second: at least
API_TARGET = 1.5  # API POST -> completed p50 / bare start -> result p50: at most


# State -----------------------------------------------------------------------------------------


@dataclass
class Flow:
    """One flow: its definition, version and what every run is started with."""

    name: str  # "3 steps", "10 steps", "approval"
    kind: str  # "chain" | "approval"
    steps: int  # record steps (0 for the approval)
    definition: Any
    version: Any
    plan: dict
    search_attributes: Any
    task_queue: str


@dataclass
class Context:
    tenant: Any
    editor: Any
    api_key: str
    flows: dict[str, Flow]
    server: Any
    http: Any = None  # httpx.AsyncClient on the web server, the editor's key in its headers
    runs_started: int = 0


# Figures ---------------------------------------------------------------------------------------


@dataclass
class PassResult:
    engine: str
    kind: str  # "throughput@<in flight>" | "sequential"
    runs: int
    seconds: float
    latencies: list[float]
    failures: list[str]

    @property
    def rate(self) -> float:
        return self.runs / self.seconds


@dataclass(frozen=True)
class Shape:
    """What one run's history holds."""

    events: int
    workflow_tasks: int  # WORKFLOW_TASK_COMPLETED events
    activities: int  # ACTIVITY_TASK_SCHEDULED events
    local_activities: int  # MARKER_RECORDED events (one per local activity)
    kib: float

    def text(self) -> str:
        return (
            f"{self.events} events, {self.workflow_tasks} workflow tasks, {self.activities} activities, "
            f"{self.local_activities} local activities, {self.kib:.0f} KiB as JSON"
        )


@dataclass
class FlowResult:
    passes: dict[str, list[PassResult]]  # engine -> its passes
    shapes: dict[str, Shape]  # engine -> its last warm-up run's history
    replay: dict[str, float]  # engine -> CPU seconds per replayed run

    def rate(self, engine: str, kind: str) -> float:
        done = [p for p in self.passes[engine] if p.kind == kind]
        return sum(p.runs for p in done) / sum(p.seconds for p in done) if done else float("nan")

    def sequential(self, engine: str) -> list[float]:
        return [s for p in self.passes[engine] if p.kind == "sequential" for s in p.latencies]


@dataclass
class Report:
    flows: dict[str, FlowResult] = field(default_factory=dict)
    eager: dict[tuple[str, bool], list[float]] = field(default_factory=dict)  # (engine, eager) -> latencies
    eagerly_started: dict[tuple[str, bool], int] = field(default_factory=dict)
    api: dict[str, list[float]] = field(default_factory=dict)


def latency_text(latencies: list[float]) -> str:
    if not latencies:
        return "no runs"
    return f"p50 {ms(p50(latencies))} ms, p95 {ms(p95(latencies))} ms"


def verdict(value: float, target: float, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return f"(target {'<=' if at_most else '>='} {target}) {'PASS' if met else 'MISS'}"


# Setup -----------------------------------------------------------------------------------------


def chain_graph(steps: int) -> dict:
    from tests.workflows import graphs

    ids = ["start", *chain_node_ids(steps), "end"]
    records = [graphs.node(node_id, "UpdateRecordNode", **record_node_data(node_id)) for node_id in ids[1:-1]]
    edges = [graphs.edge(source, target) for source, target in itertools.pairwise(ids)]
    return graphs.graph(graphs.START, *records, graphs.END, *edges)


def approval_graph() -> dict:
    from tests.workflows import graphs

    approval = graphs.node(APPROVAL_NODE, "ApprovalNode", **approval_node_data())
    edges = [graphs.edge("start", APPROVAL_NODE), graphs.edge(APPROVAL_NODE, "end", "approved")]
    return graphs.graph(graphs.START, approval, graphs.END, *edges)


def create_flow(tenant, name: str, kind: str, steps: int, graph: dict) -> Flow:
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from mono.temporal import queues, search_attributes
    from workflows.services.definitions import definition_create

    definition = definition_create(tenant=tenant, name=f"Bench {name}", graph=graph)
    version = definition.latest_version
    plan_data = {node_id: node["data"] for node_id, node in version.plan["nodes"].items()}
    if kind == "chain":
        same = all(plan_data.get(node_id) == record_node_data(node_id) for node_id in chain_node_ids(steps))
    else:
        drawn = plan_data.get(APPROVAL_NODE, {})  # the compiler adds the defaults the drawing left out
        same = all(drawn.get(key) == value for key, value in approval_node_data().items())
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.TENANT_ID, str(tenant.pk)),
            SearchAttributePair(search_attributes.WORKFLOW_ID, str(definition.pk)),
            SearchAttributePair(search_attributes.WORKFLOW_VERSION, version.number),
        ]
    )
    print(
        f"  definition {definition.slug!r}: {len(version.plan['nodes'])} nodes in the plan; "
        f"hand-written workflows' node data {'matches' if same else 'DIFFERS FROM'} the plan's",
        flush=True,
    )
    return Flow(name, kind, steps, definition, version, version.plan, attributes, queues.WORKFLOWS.name(tenant.pk))


def create_context(server) -> Context:
    """The tenant (namespace provisioned), an editor member with an API key, and the flows."""
    from django.contrib.auth import get_user_model

    from tenants.models import Role
    from tenants.services import api_key_create, membership_add, tenant_create

    started = time.perf_counter()
    tenant = tenant_create(name="Bench interpreter", slug="bench-interp")
    editor = get_user_model().objects.create_user(username=APPROVER)
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    _, api_key = api_key_create(tenant=tenant, user=editor, name="bench")
    elapsed = time.perf_counter() - started
    print(f"  tenant {tenant.slug} (id {tenant.pk}) created and its namespace provisioned in {elapsed:.1f} s")
    flows = {f"{n} steps": create_flow(tenant, f"{n} steps", "chain", n, chain_graph(n)) for n in CHAIN_LENGTHS}
    flows["approval"] = create_flow(tenant, "approval", "approval", 0, approval_graph())
    return Context(tenant, editor, api_key, flows, server)


def worker_host() -> WorkerHost:
    """One worker with the interpreter and the hand-written workflows on the tenant's `workflows` queue."""
    from mono.temporal import queues
    from mono.temporal.registry import Registration
    from workflows.temporal.activities import ALL
    from workflows.temporal.workflows import InterpreterWorkflow

    workflows = (InterpreterWorkflow, *HAND_WRITTEN.values())
    registration = Registration(queues.WORKFLOWS, workflows=workflows, activities=tuple(ALL))
    return WorkerHost(registrations=[registration], refresh_seconds=WORKER_REFRESH_SECONDS)


# One run ---------------------------------------------------------------------------------------


def create_rows(context: Context, flow: Flow, tag: str, count: int) -> list[tuple[str, dict]]:
    """Pending `WorkflowExecution` rows for `count` runs, with each run's (unique) input."""
    from workflows.models import WorkflowExecution

    rows = []
    for _ in range(count):
        context.runs_started += 1
        run_input = {"key": f"{tag[:3]}-{flow.steps}-{context.runs_started}"}
        rows.append(
            WorkflowExecution(tenant=context.tenant, definition=flow.definition, version=flow.version, input=run_input)
        )
    WorkflowExecution.objects.bulk_create(rows)
    return [(row.id, row.input) for row in rows]


@dataclass(frozen=True)
class Run:
    seconds: float  # start request -> result
    result: Any
    eagerly_started: bool


async def run_once(
    client, context: Context, flow: Flow, engine: str, execution_id: str, run_input: dict, *, eager: bool = False
) -> Run:
    """Start one run (deciding its approval, if any, as soon as it opens) and wait for its result."""
    from workflows.temporal.types import InterpreterInput
    from workflows.temporal.workflows import InterpreterWorkflow

    tenant_id = context.tenant.pk
    options = {"id": execution_id, "task_queue": flow.task_queue, "search_attributes": flow.search_attributes}
    started = time.perf_counter()
    if engine == "interpreter":
        arg = InterpreterInput(tenant_id, execution_id, flow.plan, run_input)
        handle = await client.start_workflow(InterpreterWorkflow.run, arg, request_eager_start=eager, **options)
    else:
        hand_written = HAND_WRITTEN[engine, flow.kind]
        arg = HandWrittenInput(tenant_id, execution_id, flow.steps, run_input)
        handle = await client.start_workflow(hand_written.run, arg, request_eager_start=eager, **options)
    eagerly = bool(getattr(handle, "__temporal_eagerly_started", False))
    if flow.kind == "approval":
        await asyncio.wait_for(decide_when_open(context, execution_id), RUN_TIMEOUT)
    result = await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
    return Run(time.perf_counter() - started, result, eagerly)


def pending_approval(context: Context, execution_id: str) -> int | None:
    from workflows.models import ApprovalRequest

    pending = ApprovalRequest.objects.for_tenant(context.tenant).filter(execution_id=execution_id, status="pending")
    return pending.values_list("pk", flat=True).first()


async def decide_when_open(context: Context, execution_id: str) -> None:
    """Approve the run's approval through the web server as soon as its row exists."""
    while (approval_id := await asyncio.to_thread(pending_approval, context, execution_id)) is None:
        await asyncio.sleep(APPROVAL_POLL_SECONDS)
    response = await context.http.post(f"/api/v1/approvals/{approval_id}/decide", json={"decision": "approve"})
    if response.status_code != 200:
        raise RuntimeError(f"decide answered {response.status_code}: {response.text[:200]}")


async def fetch_history(client, execution_id: str):
    """The run's history and its `Shape`."""
    from temporalio.api.enums.v1 import EventType

    history = await client.get_workflow_handle(execution_id).fetch_history()

    def count(event_type) -> int:
        return sum(1 for event in history.events if event.event_type == event_type)

    shape = Shape(
        len(history.events),
        count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        count(EventType.EVENT_TYPE_MARKER_RECORDED),
        len(history.to_json()) / 1024,
    )
    return history, shape


# 1. The engines on each flow -------------------------------------------------------------------


async def timed_pass(client, context: Context, flow: Flow, engine: str, kind: str) -> PassResult:
    in_flight = int(kind.partition("@")[2] or 1)
    count = max(THROUGHPUT_MIN_RUNS, THROUGHPUT_WAVES * in_flight) if in_flight > 1 else SEQUENTIAL_RUNS
    rows = await asyncio.to_thread(create_rows, context, flow, engine, count)
    latencies: list[float] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(in_flight)

    async def one(execution_id: str, run_input: dict) -> None:
        async with gate:
            try:
                run = await run_once(client, context, flow, engine, execution_id, run_input)
            except Exception as exc:
                failures.append(f"{execution_id}: {exc!r}")
                return
            latencies.append(run.seconds)
            if run.result.status != "completed":
                failures.append(f"{execution_id}: {run.result.status} {run.result.error}")

    cpu = CpuWindow.process_and_server(context.server)
    started = time.perf_counter()
    if in_flight > 1:
        await asyncio.gather(*(one(execution_id, run_input) for execution_id, run_input in rows))
    else:
        for execution_id, run_input in rows:
            await one(execution_id, run_input)
    seconds = time.perf_counter() - started
    result = PassResult(engine, kind, count, seconds, latencies, failures)
    if in_flight > 1:
        figures = f"{count} runs in {seconds:.2f} s = {result.rate:.1f} runs/s; latency {latency_text(latencies)}"
    else:
        figures = f"{count} runs one at a time in {seconds:.2f} s; latency {latency_text(latencies)}"
    print(f"    {engine:<11} {kind:<13}  {figures}; {cpu.text()}", flush=True)
    for failure in failures[:3]:
        print(f"      failed: {failure}", flush=True)
    return result


async def warm_up(client, context: Context, flow: Flow) -> tuple[dict[str, Any], dict[str, Shape]]:
    """WARMUP_RUNS runs per engine; returns each engine's last history and its shape."""
    histories, shapes = {}, {}
    for engine in ENGINES:
        rows = await asyncio.to_thread(create_rows, context, flow, engine, WARMUP_RUNS)
        seconds = [(await run_once(client, context, flow, engine, *row)).seconds for row in rows]
        histories[engine], shapes[engine] = await fetch_history(client, rows[-1][0])
        print(
            f"    {engine:<11} warm-up     {WARMUP_RUNS} runs: {', '.join(ms(s) for s in seconds)} ms; "
            f"history of one run: {shapes[engine].text()}",
            flush=True,
        )
    return histories, shapes


async def repeated(history, times: int):
    for _ in range(times):
        yield history


async def replay_cost(context: Context, histories: dict) -> dict[str, float]:
    """CPU seconds per run spent in workflow code alone: replay each engine's history offline
    (same sandbox and payload codec, no server, no activities), in ABBA order, REPLAYS times per pass."""
    from temporalio.worker import Replayer

    from mono.temporal.client import tenant_namespace
    from mono.temporal.codec import data_converter_for
    from workflows.temporal.workflows import InterpreterWorkflow

    converter = data_converter_for(tenant_namespace(context.tenant.pk))
    replayer = Replayer(workflows=[InterpreterWorkflow, *HAND_WRITTEN.values()], data_converter=converter)
    for history in histories.values():
        await replayer.replay_workflow(history)  # warm the sandbox and the code paths
    spent: dict[str, list[float]] = {engine: [] for engine in histories}
    for engine in abba_order(ENGINES, ROUNDS):
        started = time.process_time()
        results = await replayer.replay_workflows(repeated(histories[engine], REPLAYS), raise_on_replay_failure=False)
        spent[engine].append((time.process_time() - started) / REPLAYS)
        if results.replay_failures:
            print(f"    {engine} replay failures: {list(results.replay_failures.values())[:1]}", flush=True)
    costs = {engine: sum(values) / len(values) for engine, values in spent.items()}
    print(
        "    replay: {} replays per pass, CPU per run: {}".format(
            REPLAYS, ", ".join(f"{engine} {costs[engine] * 1000:.1f} ms" for engine in ENGINES)
        ),
        flush=True,
    )
    return costs


def check_rows(context: Context, flow: Flow) -> str:
    """What the runs left in the database (bare runs keep no execution status: theirs stay pending)."""
    from django.db.models import Count, Q

    from workflows.models import ApprovalRequest, Record, WorkflowExecution

    runs = WorkflowExecution.objects.for_tenant(context.tenant).filter(definition=flow.definition)
    statuses = dict(runs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    if flow.kind == "approval":
        approvals = ApprovalRequest.objects.for_tenant(context.tenant).filter(execution__definition=flow.definition)
        decided = dict(approvals.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        return f"execution rows by status {statuses}; approvals by status {decided}"
    ours = Q()
    for engine in ENGINES:
        ours |= Q(key__startswith=f"{engine[:3]}-{flow.steps}-")
    records = Record.objects.for_tenant(context.tenant).filter(ours, collection="bench").count()
    return f"execution rows by status {statuses}; {records} records written ({flow.steps} per run)"


async def compare_engines(client, context: Context, flow: Flow) -> FlowResult:
    title = "Start -> Approval (decided through the API) -> End" if flow.kind == "approval" else None
    title = title or f"Start -> {flow.steps} x UpdateRecordNode -> End"
    print(f"\n1. {flow.name}: {title}", flush=True)
    histories, shapes = await warm_up(client, context, flow)
    kinds = ("sequential",) if flow.kind == "approval" else (*(f"throughput@{c}" for c in CONCURRENCIES), "sequential")
    passes: dict[str, list[PassResult]] = {engine: [] for engine in ENGINES}
    for kind in kinds:
        for engine in abba_order(ENGINES, ROUNDS):
            passes[engine].append(await timed_pass(client, context, flow, engine, kind))
    print(f"    rows: {await asyncio.to_thread(check_rows, context, flow)}", flush=True)
    return FlowResult(passes, shapes, await replay_cost(context, histories))


# 2. Eager start --------------------------------------------------------------------------------


async def measure_eager(context: Context, report: Report) -> None:
    """Sequential 3-step runs, bare and interpreter, `request_eager_start` False and True, ABBA.
    Runs on the workers' event loop: eager start needs the workers' own client."""
    from mono.temporal.client import get_tenant_client

    client = await get_tenant_client(context.tenant.pk)
    flow = context.flows["3 steps"]
    sides = [(engine, eager) for engine in ("bare", "interpreter") for eager in (False, True)]
    print(f"\n2. Eager start, {flow.name}, {EAGER_RUNS} sequential runs per pass, started beside the workers")
    for engine, eager in sides:  # warm-up
        for row in await asyncio.to_thread(create_rows, context, flow, "eag", WARMUP_RUNS):
            await run_once(client, context, flow, engine, *row, eager=eager)
    for side in abba_order(sides, ROUNDS):
        engine, eager = side
        runs = []
        for row in await asyncio.to_thread(create_rows, context, flow, "eag", EAGER_RUNS):
            runs.append(await run_once(client, context, flow, engine, *row, eager=eager))
        latencies = [run.seconds for run in runs]
        eagerly = sum(run.eagerly_started for run in runs)
        report.eager.setdefault(side, []).extend(latencies)
        report.eagerly_started[side] = report.eagerly_started.get(side, 0) + eagerly
        label = f"{engine} eager={eager}"
        print(f"    {label:<23} {latency_text(latencies)}; started eagerly: {eagerly}/{len(runs)}", flush=True)


# 3. API execute -> completed, through the shipped web server -----------------------------------


def first_step_started(context: Context, execution_id: str) -> float | None:
    """Wall-clock time (epoch seconds) the run's first work step began."""
    from workflows.models import StepExecution

    steps = StepExecution.objects.for_tenant(context.tenant).filter(execution_id=execution_id, node_id="r1")
    started = steps.values_list("started_at", flat=True).first()
    return started.timestamp() if started else None


@dataclass(frozen=True)
class ApiRun:
    post: float  # POST -> 202
    completed: float  # POST -> workflow result (the row is completed by then)
    confirmed: float  # POST -> GET answered with the row's status
    first_step: float | None  # 202 arrival -> r1's started_at, wall clock
    status: str


async def api_run(client, context: Context, url: str, key: str) -> ApiRun:
    """One run through the web server: POST execute, await the result, GET the execution."""
    started = time.perf_counter()
    response = await context.http.post(url, json={"input": {"key": key}})
    answered, answered_at = time.perf_counter(), time.time()
    if response.status_code != 202:
        raise RuntimeError(f"POST answered {response.status_code}: {response.text[:200]!r}")
    execution_id = response.json()["id"]
    await asyncio.wait_for(client.get_workflow_handle(execution_id).result(), RUN_TIMEOUT)
    completed = time.perf_counter()
    detail = await context.http.get(f"/api/v1/executions/{execution_id}")
    confirmed = time.perf_counter()
    status = detail.json().get("status") if detail.status_code == 200 else f"HTTP {detail.status_code}"
    step_started = await asyncio.to_thread(first_step_started, context, execution_id)
    first_step = None if step_started is None else step_started - answered_at
    return ApiRun(answered - started, completed - started, confirmed - started, first_step, status)


async def measure_api(client, context: Context) -> dict[str, list[float]]:
    """API runs interleaved run by run with bare runs started directly (alternating which goes
    first), so the ratio of their p50s sees the same machine load."""
    flow = context.flows["3 steps"]
    url = f"/api/v1/workflows/{flow.definition.pk}/execute"
    print(f"\n3. API execute -> completed through the web server, {flow.name}, {API_RUNS} sequential runs (POST {url})")
    print("   interleaved with as many bare runs started directly", flush=True)
    figures: dict[str, list[float]] = {"post": [], "completed": [], "confirmed": [], "first step": [], "bare": []}
    statuses: dict[str, int] = {}
    problems: list[str] = []
    bare_rows = await asyncio.to_thread(create_rows, context, flow, "bare", API_WARMUP_RUNS + API_RUNS)
    for number, bare_row in enumerate(bare_rows):
        runs: dict[str, Any] = {}
        for side in ("api", "bare") if number % 2 == 0 else ("bare", "api"):
            try:
                if side == "api":
                    runs[side] = await api_run(client, context, url, f"api-{number}")
                else:
                    runs[side] = await run_once(client, context, flow, "bare", *bare_row)
            except Exception as exc:
                problems.append(f"{side}: {exc!r}")
        if number < API_WARMUP_RUNS or len(runs) < 2:
            continue
        api = runs["api"]
        statuses[api.status] = statuses.get(api.status, 0) + 1
        figures["post"].append(api.post)
        figures["completed"].append(api.completed)
        figures["confirmed"].append(api.confirmed)
        if api.first_step is not None:
            figures["first step"].append(api.first_step)
        figures["bare"].append(runs["bare"].seconds)
    print(f"    POST -> 202:                     {latency_text(figures['post'])}")
    print(f"    POST -> completed (result):      {latency_text(figures['completed'])}")
    print(f"    POST -> GET says so:             {latency_text(figures['confirmed'])} (statuses: {statuses})")
    print(f"    202 -> first step started:       {latency_text(figures['first step'])}")
    print(f"    bare start -> result:            {latency_text(figures['bare'])}", flush=True)
    for problem in problems[:3]:
        print(f"    problem: {problem}", flush=True)
    return figures


# Summary ---------------------------------------------------------------------------------------


def print_summary(report: Report) -> None:
    kinds = [f"throughput@{c}" for c in CONCURRENCIES]
    title = f"Interpreter benchmark ({os.cpu_count()} CPUs; per engine and flow: throughput at {CONCURRENCIES} "
    title += f"in flight x{ROUNDS}, {SEQUENTIAL_RUNS} sequential runs x{ROUNDS})"
    header = ("flow", "engine", "wf tasks/run", "activities/local", *(f"runs/s @{c}" for c in CONCURRENCIES))
    header += ("sequential p50/p95 ms", "replay CPU ms/run")
    rows = []
    for name, flow in report.flows.items():
        for engine in ENGINES:
            shape, alone = flow.shapes[engine], flow.sequential(engine)
            rates = [flow.rate(engine, kind) for kind in kinds]
            rows.append(
                (
                    name,
                    engine,
                    str(shape.workflow_tasks),
                    f"{shape.activities} / {shape.local_activities}",
                    *("-" if rate != rate else f"{rate:.1f}" for rate in rates),  # nan: not measured
                    f"{ms(p50(alone))} / {ms(p95(alone))}" if alone else "-",
                    f"{flow.replay[engine] * 1000:.1f}",
                )
            )
    print_table(title, header, rows)
    print("\nTargets (ratios within this run):")
    for name, flow in report.flows.items():
        bare, interpreter = flow.sequential("bare"), flow.sequential("interpreter")
        if bare and interpreter:
            ratio = p50(interpreter) / p50(bare)
            target = verdict(ratio, SEQUENTIAL_TARGET, at_most=True) if name == "3 steps" else "(no target)"
            print(f"  {name:<9} sequential p50 interpreter/bare {ratio:.2f} {target}")
        for kind in kinds if name != "approval" else []:
            ratio = flow.rate("interpreter", kind) / flow.rate("bare", kind)
            at = kind.partition("@")[2]
            target = verdict(ratio, THROUGHPUT_TARGET, at_most=False)
            print(f"  {name:<9} throughput @{at:<2} interpreter/bare {ratio:.2f} {target}")
    bare_3 = report.flows["3 steps"].sequential("bare")
    if report.api.get("completed") and report.api.get("bare"):
        api, bare = p50(report.api["completed"]), p50(report.api["bare"])
        print(
            f"  API POST -> completed p50 {ms(api)} ms / bare start -> result p50 {ms(bare)} ms (interleaved) "
            f"= {api / bare:.2f} {verdict(api / bare, API_TARGET, at_most=True)}"
        )
        if bare_3:
            print(f"  (against part 1's bare sequential p50 {ms(p50(bare_3))} ms: {api / p50(bare_3):.2f})")
    else:
        print("  API POST -> completed: no runs MISS")
    print("\nOther figures:")
    for name, flow in report.flows.items():
        tasks = ", ".join(f"{engine} {flow.shapes[engine].workflow_tasks}" for engine in ENGINES)
        native = ""
        if name != "approval":
            native = f"; throughput @{CONCURRENCIES[-1]} interpreter/native "
            native += f"{flow.rate('interpreter', kinds[-1]) / flow.rate('native', kinds[-1]):.2f}"
        print(f"  {name:<9} workflow tasks per run: {tasks}{native}")
    if report.api:
        print(
            f"  API: POST -> 202 {latency_text(report.api['post'])}; 202 -> first step started "
            f"{latency_text(report.api['first step'])}; "
            f"POST -> GET says completed {latency_text(report.api['confirmed'])}"
        )
    for engine in ("bare", "interpreter"):
        off, on = report.eager.get((engine, False)), report.eager.get((engine, True))
        if off and on:
            eagerly = report.eagerly_started[engine, True]
            print(
                f"  eager start, {engine}: p50 {ms(p50(off))} -> {ms(p50(on))} ms ({p50(on) / p50(off):.2f}x; "
                f"{eagerly}/{len(on)} runs started eagerly); not available to the web process, which hosts no worker"
            )
    if os.environ.get("BENCH_QUICK"):
        print("\nBENCH_QUICK: a smoke run; these figures mean nothing.")


# Main ------------------------------------------------------------------------------------------


async def measure(context: Context, host: WorkerHost, web) -> Report:
    import httpx

    from mono.temporal.client import get_tenant_client

    logging.getLogger("httpx").setLevel(logging.WARNING)  # no INFO line per request
    client = await get_tenant_client(context.tenant.pk)
    report = Report()
    headers = {"Authorization": f"Bearer {context.api_key}"}
    async with httpx.AsyncClient(base_url=web.url, headers=headers, timeout=RUN_TIMEOUT) as http:
        context.http = http
        for name, flow in context.flows.items():
            report.flows[name] = await compare_engines(client, context, flow)
        await host.on_worker_loop(measure_eager(context, report))
        report.api = await measure_api(client, context)
    return report


def main() -> None:
    exit_on_sigterm()
    stage = django_on_temporal(
        BENCH_DB,
        debug=True,
        announce=DEV_SERVER_UP,
        conn_max_age="0",
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
    )
    with stage as (server, _):
        from mono.temporal import queues

        context = create_context(server)
        host = worker_host()
        web = None
        try:
            hosting = host.start(tenant_id=context.tenant.pk, queue=queues.WORKFLOWS)
            print(f"  worker manager hosting {hosting}", flush=True)
            web = start_web_server()
            print(f"  web server (mono.asgi:application under uvicorn, no worker) on {web.url}", flush=True)
            report = asyncio.run(measure(context, host, web))
            print_summary(report)
        finally:
            if web is not None:
                web.stop()
            host.stop()


if __name__ == "__main__":
    main()
