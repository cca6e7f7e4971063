"""LLM gateway benchmark: what the gateway adds to one provider call, and batch throughput.

Everything runs in this one process against one fake provider server (the test suite's
`FakeLLMServer`: a threaded HTTP server on 127.0.0.1 speaking OpenAI's wire format, whose default
reply echoes the last user message), a fresh, in-memory, headless Temporal dev server (started
from the virtualenv) and a throwaway PostgreSQL database, `mono_bench_llm`, that this script
creates, migrates and drops. The platform's OpenAI key and base URL are pointed at the fake
server; one tenant is created with `tenant_create` (its namespace is provisioned) with an editor
member, and the list price of `openai:gpt-4o-mini` is ensured (the data migration seeds it).

The fake server is first switched to TCP_NODELAY (socketserver's `disable_nagle_algorithm`, set on
its handler class). As shipped it sends a response's headers and body in two writes; when the
client reuses a kept-alive connection promptly, Nagle's algorithm holds the body back until the
client's delayed ACK of the headers arrives, about 40 ms later on Linux. That stall belongs to the
fake, not to any provider or to the gateway, and it would swamp every figure here (and fall on
some paths and not others, depending on how soon each reuses its connection), so the bench shows
it once, 20 back-to-back SDK requests on a new connection before and after the switch, and
measures everything else with it off. The `httpx2` request log (one INFO line per provider
request, for the SDK and the gateway alike) is turned down to WARNING to keep the output readable.

1. Gateway overhead, route `openai:gpt-4o-mini`, one user message whose text is new for every
   request (so no cache could answer; the gateway's cache is off anyway without a TTL):
   - direct: the official `openai` SDK calling the fake server (one client, SDK retries off);
   - api: `POST /api/v1/llm/execute` through Django and DRF (`APIClient`, forced authentication as
     the editor, `X-Tenant` header): serializer, tenant and role resolution, then the gateway;
   - router: `llm.router.execute` called directly with the `Call` the view builds (the gateway
     without HTTP: cooldown check, limit reservation, provider call, usage row, settlement).
   20 warm-up requests of each, then 300 of each timed in rounds of (direct, api, router), so any
   drift falls on all three alike. p50 and p95 of each are shown, and the overhead of api and of
   router over direct at p50 (target: at most 3 ms), with the median of the per-round differences
   beside it. Then the SQL statements of one gateway call are captured and listed (through the
   API, and through the router alone), with the number of transactions they ran in, the time of
   each statement sent through a cursor (BEGIN and COMMIT are listed but not timed) and the wall
   time of that call.
   This part runs before the worker host starts, so no pollers share the CPU with it.
2. Batch throughput: `POST /api/v1/llm/batch` with 64 items (distinct short prompts) at
   concurrency 1, 8 and 32, one after another, each polled with `GET /api/v1/llm/batch/{id}`
   every 50 ms until its status is no longer `running`: seconds from the POST to the observed
   end, and items/s. The batch workflow (each item a child workflow of three activities) runs on
   the tenant's `llm-processing` queue, hosted by the project's `TemporalWorkerManager` on a
   background thread with its own event loop, as `manage.py runworkers` would (restricted to that
   queue, with the settings' activity threads and pollers). The three concurrencies run twice:
   with the fake provider answering at once, then with each of the batch's 64 answers delayed by
   200 ms (the provider as the bottleneck: what concurrency buys), where the time the delays
   alone would take at that concurrency is shown too. A batch of 8 items warms the worker first.
   Per run, the CPU used by this process (workers included) and by the dev server is shown as a
   percentage of one core.

Figures are printed, not asserted; the run takes about a minute. From the project root:

    .venv/bin/python bench/llm_gateway.py

It needs a local PostgreSQL on which the `postgres` role may create databases. Django runs with
DEBUG=0 (as in production: no per-query logging) and DATABASE_CONN_MAX_AGE=60 (the settings' default), so activity
threads keep their database connection between activities; set DATABASE_CONN_MAX_AGE=0 in the
environment to reconnect around every activity, as the test suite does. `BENCH_QUICK=1` sends a few
requests per path and batches of 4 items at concurrency 1 and 2: a smoke run, not figures.

3. Agent loop overhead per model turn: an agent node (route above, one webhook tool answered at once
   by a local receiver) runs `AGENT_TURNS` turns, all but the last asking for the tool. Per run: the
   agent node's time (from its first activity to its recorded result), minus the provider attempts
   as the gateway timed them (`LLMUsage.latency_ms`), and minus the tool steps' own durations, each
   divided by the turns; and, paired in ABBA order with each run, a hand-written loop doing the same
   turns in this process (SDK call offering the tool, then the tool's POST). What remains is the
   loop's own cost: workflow tasks, activity round trips, transcript and step rows.
"""

import itertools
import logging
import math
import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from _harness import (
    DEV_SERVER_UP,
    CpuWindow,
    WorkerHost,
    django_on_temporal,
    exit_on_sigterm,
    p50,
    p95,
    print_table,
    sized,
)
from _harness import ms as _ms

BENCH_DB = "mono_bench_llm"

ROUTE = "openai:gpt-4o-mini"
MODEL = "gpt-4o-mini"
EXECUTE_URL = "/api/v1/llm/execute"
BATCH_URL = "/api/v1/llm/batch"

NAGLE_CHECK_REQUESTS = sized(20, 3)
WARMUP_REQUESTS = sized(20, 2)
REQUESTS = sized(300, 10)
PATHS = ("direct", "api", "router")
OVERHEAD_TARGET_MS = 3.0

BATCH_ITEMS = sized(64, 4)
CONCURRENCIES = sized((1, 8, 32), (1, 2))
PROVIDER_DELAY = 0.2
WARMUP_BATCH_ITEMS = sized(8, 2)
POLL_SECONDS = 0.05
BATCH_TIMEOUT = 120.0  # a batch still running by then is reported as such (and the bench moves on)
# Model turns per agent run (all but the last call the webhook tool), and agent runs, each paired with
# a hand-written loop (ABBA); BENCH_AGENT_TURNS / BENCH_AGENT_RUNS override them.
AGENT_TURNS = int(os.environ.get("BENCH_AGENT_TURNS") or sized(8, 3))
AGENT_RUNS = int(os.environ.get("BENCH_AGENT_RUNS") or sized(6, 1))
WORKER_REFRESH_SECONDS = 60.0  # nothing changes while measuring: no reconcile rounds in the way


# Figures ---------------------------------------------------------------------------------------


def ms(seconds: float, digits: int = 2) -> str:
    return _ms(seconds, digits)


@dataclass
class Overhead:
    """Part 1: latencies per path (seconds), round by round (None where a request failed)."""

    rounds: list[dict[str, float | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    queries: dict[str, "Captured"] = field(default_factory=dict)  # path -> one call's SQL
    nagle: tuple[float, float] = (float("nan"), float("nan"))  # fake server p50, as shipped / NODELAY

    def latencies(self, path: str) -> list[float]:
        return [r[path] for r in self.rounds if r[path] is not None]

    def p50(self, path: str) -> float:
        return p50(self.latencies(path))

    def p95(self, path: str) -> float:
        return p95(self.latencies(path))

    def paired_median(self, path: str) -> float:
        """Median over the rounds of (path - direct): the drift-free overhead."""
        return statistics.median(
            r[path] - r["direct"] for r in self.rounds if r[path] is not None and r["direct"] is not None
        )


@dataclass
class Captured:
    """The SQL of one call: Django's captured statements, the time of each statement sent through
    a cursor (in order), and the call's wall time."""

    queries: list[dict]
    statement_seconds: list[float]
    seconds: float

    @property
    def transactions(self) -> int:
        return sum(1 for query in self.queries if query["sql"] == "COMMIT")


@dataclass
class BatchRun:
    provider: str  # "immediate" | "200 ms delay"
    concurrency: int
    items: int
    seconds: float = float("nan")
    post_seconds: float = float("nan")
    workflow_seconds: float = float("nan")
    status: str = "not started"
    ok: int = 0
    errors: int = 0
    wrong: int = 0
    provider_hits: int = 0
    cpu: str = ""
    ideal: float | None = None  # seconds the provider delays alone take at this concurrency

    @property
    def rate(self) -> float:
        return self.items / self.seconds


# Setup -----------------------------------------------------------------------------------------


@dataclass
class Context:
    tenant: Any
    editor: Any
    api: Any  # APIClient authenticated as the editor, in the tenant
    fake: Any
    server: Any


def point_openai_at(fake) -> None:
    """The platform's OpenAI provider is the fake server (read by the gateway at every call)."""
    from django.conf import settings

    settings.OPENAI_API_KEY = "bench-key"
    settings.OPENAI_BASE_URL = fake.openai_url
    logging.getLogger("httpx2").setLevel(logging.WARNING)


def switch_off_nagle(fake) -> tuple[float, float]:
    """Set TCP_NODELAY on the fake server's connections from now on; returns the p50 of
    back-to-back SDK requests on a new connection before and after (the first request, which
    opens the connection, is left out)."""
    import openai

    from tests.support import fake_llm

    def back_to_back() -> float:
        sdk = openai.OpenAI(base_url=fake.openai_url, api_key="x", max_retries=0)
        latencies = []
        try:
            for number in range(NAGLE_CHECK_REQUESTS + 1):
                started = time.perf_counter()
                sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"nagle {number}"}])
                latencies.append(time.perf_counter() - started)
        finally:
            sdk.close()  # the next client opens a new connection, which gets the new option
        return p50(latencies[1:])

    before = back_to_back()
    fake_llm._Handler.disable_nagle_algorithm = True  # socketserver applies it to each new connection
    return before, back_to_back()


def create_context(server, fake) -> Context:
    """The tenant (namespace provisioned), its owner and an editor, and the model's list price."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from llm.models import ModelPrice
    from tenants.models import Role
    from tenants.services import membership_add, tenant_create

    price, created = ModelPrice.objects.get_or_create(
        provider="openai",
        model=MODEL,
        defaults={"input_per_million": Decimal("0.15"), "output_per_million": Decimal("0.60")},
    )
    print(
        f"  price of openai:{MODEL} {'created' if created else 'seeded by the migration'}: "
        f"{price.input_per_million} / {price.output_per_million} USD per million tokens in / out"
    )
    users = get_user_model().objects
    started = time.perf_counter()
    tenant = tenant_create(name="Bench LLM", slug="bench-llm", owner=users.create_user(username="bench-owner"))
    editor = users.create_user(username="bench-editor")
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    elapsed = time.perf_counter() - started
    print(f"  tenant {tenant.slug} (id {tenant.pk}) created and its namespace provisioned in {elapsed:.1f} s")
    api = APIClient()
    api.force_authenticate(editor)
    api.credentials(HTTP_X_TENANT=tenant.slug)
    return Context(tenant, editor, api, fake, server)


def worker_host() -> WorkerHost:
    """The tenant's `llm-processing` queue (batches) and `workflows` queue (the agent node)."""
    from mono.temporal import queues
    from mono.temporal.workers import WorkerSelection

    selection = WorkerSelection(platform=False, queues=frozenset({queues.LLM_PROCESSING.key, queues.WORKFLOWS.key}))
    return WorkerHost(selection=selection, refresh_seconds=WORKER_REFRESH_SECONDS)


def worker_settings() -> str:
    from django.conf import settings

    return (
        f"({settings.TEMPORAL_WORKER_ACTIVITY_THREADS} activity threads, "
        f"workflow and activity task pollers autoscaled up to {settings.TEMPORAL_WORKER_MAX_POLLERS})"
    )


# 1. Gateway overhead ---------------------------------------------------------------------------


def gateway_paths(context: Context) -> dict:
    """The three ways to ask: each takes the message text and returns (seconds, answer text)."""
    import openai

    from llm.gateway import failover as router

    sdk = openai.OpenAI(base_url=context.fake.openai_url, api_key="x", max_retries=0)

    def direct(text: str) -> tuple[float, str]:
        started = time.perf_counter()
        completion = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
        return time.perf_counter() - started, completion.choices[0].message.content or ""

    def api(text: str) -> tuple[float, str]:
        body = {"route": ROUTE, "messages": [{"role": "user", "content": text}]}
        started = time.perf_counter()
        response = context.api.post(EXECUTE_URL, body, format="json")
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"POST answered {response.status_code}: {response.content[:200]!r}")
        return elapsed, response.json()["content"]

    def gateway(text: str) -> tuple[float, str]:
        call = router_call(context, text)  # what the view builds before `execute`: not timed
        started = time.perf_counter()
        result = router.execute(call)
        return time.perf_counter() - started, result.content

    return {"direct": direct, "api": api, "router": gateway}


def router_call(context: Context, text: str):
    from llm import services

    spec = services.PromptSpec(route=ROUTE, messages=[{"role": "user", "content": text}])
    return services.llm_call(tenant_id=context.tenant.pk, spec=spec, scope="api", user_id=context.editor.pk)


def statement(sql: str) -> str:
    """A short name for one SQL statement: verb and table, noting EXISTS and FOR UPDATE."""
    words = sql.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "RELEASE SAVEPOINT" if verb == "RELEASE" else verb
    if verb == "UPDATE":
        table = words[1]
    else:
        table = next((word for before, word in itertools.pairwise(words) if before.upper() in ("FROM", "INTO")), "")
    notes = [note for note, marker in (("exists", 'SELECT 1 AS "a"'), ("for update", "FOR UPDATE")) if marker in sql]
    return f"{verb} {table}".strip() + (f" ({', '.join(notes)})" if notes else "")


def capture(run) -> Captured:
    """The SQL statements `run()` sends on this thread's connection, with their times."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    connection = connections["default"]
    statement_seconds: list[float] = []

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statement_seconds.append(time.perf_counter() - started)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timing):
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
    return Captured(captured.captured_queries, statement_seconds, seconds)


def measure_overhead(context: Context, nagle: tuple[float, float]) -> Overhead:
    paths = gateway_paths(context)
    result = Overhead(nagle=nagle)
    print(
        f"\n1. Gateway overhead: {WARMUP_REQUESTS} warm-up + {REQUESTS} requests per path, "
        f"in rounds of ({', '.join(PATHS)}), route {ROUTE}",
        flush=True,
    )
    hits_before = context.fake.hits("openai")
    cpu = CpuWindow.process_and_server(context.server)
    started = time.perf_counter()
    for number in range(WARMUP_REQUESTS + REQUESTS):
        row: dict[str, float | None] = {}
        for name in PATHS:
            text = f"please echo {name} request {number} {uuid.uuid4().hex[:12]}"
            try:
                seconds, answer = paths[name](text)
            except Exception as exc:
                result.problems.append(f"{name} request {number}: {exc!r}"[:300])
                row[name] = None
                continue
            row[name] = seconds
            if answer != text:
                result.problems.append(f"{name} request {number}: answer {answer[:60]!r} is not the echo")
        if number >= WARMUP_REQUESTS:
            result.rounds.append(row)
    elapsed = time.perf_counter() - started
    hits = context.fake.hits("openai") - hits_before
    print(
        f"    {(WARMUP_REQUESTS + REQUESTS) * len(PATHS)} requests in {elapsed:.1f} s "
        f"(the fake provider counted {hits}); {cpu.text()}",
        flush=True,
    )
    for name in PATHS:
        latencies = result.latencies(name)
        line = f"    {name:<7} {len(latencies)} timed: p50 {ms(result.p50(name))} ms, p95 {ms(result.p95(name))} ms"
        line += f", mean {ms(statistics.fmean(latencies))} ms, max {ms(max(latencies))} ms"
        if name != "direct":
            line += (
                f"; over direct: p50 {ms(result.p50(name) - result.p50('direct'))} ms "
                f"(median per round {ms(result.paired_median(name))} ms)"
            )
        print(line, flush=True)
    for problem in result.problems[:3]:
        print(f"    problem: {problem}", flush=True)
    if len(result.problems) > 3:
        print(f"    ... and {len(result.problems) - 3} more problems", flush=True)

    # The SQL of one gateway call, each way in.
    from llm.gateway import failover as router

    result.queries["api"] = capture(lambda: paths["api"](f"please echo sql api {uuid.uuid4().hex[:12]}"))
    call = router_call(context, f"please echo sql router {uuid.uuid4().hex[:12]}")
    result.queries["router"] = capture(lambda: router.execute(call))
    for name in ("api", "router"):
        sql = result.queries[name]
        print(
            f"    SQL of one {name} call ({ms(sql.seconds)} ms in all): {len(sql.queries)} statements, "
            f"{sql.transactions} transactions; {len(sql.statement_seconds)} statements through a cursor "
            f"took {ms(sum(sql.statement_seconds))} ms",
            flush=True,
        )
        timings = iter(sql.statement_seconds)
        for index, query in enumerate(sql.queries, 1):
            untimed = query["sql"] in ("BEGIN", "COMMIT") or query["sql"].startswith(("SAVEPOINT", "RELEASE"))
            took = "" if untimed else f"{ms(next(timings, float('nan')))} ms"
            print(f"      {index:>2}. {statement(query['sql']):<40} {took}".rstrip(), flush=True)
    return result


# 2. Batch throughput ---------------------------------------------------------------------------


def batch_items(label: str, count: int) -> list[dict]:
    return [
        {"route": ROUTE, "messages": [{"role": "user", "content": f"summarise {label} item {index} in one line"}]}
        for index in range(count)
    ]


def run_batch(context: Context, provider: str, concurrency: int, items: int, *, label: str) -> BatchRun:
    """POST one batch, poll it until it is no longer running, and check every item's answer."""
    from llm.models import LLMBatch
    from tests.support.fake_llm import Delay

    run = BatchRun(provider, concurrency, items)
    payload = batch_items(label, items)
    hits_before = context.fake.hits("openai")
    if provider != "immediate":
        context.fake.script("openai", [Delay(PROVIDER_DELAY)] * items)
        run.ideal = math.ceil(items / concurrency) * PROVIDER_DELAY
    cpu = CpuWindow.process_and_server(context.server)
    started = time.perf_counter()
    response = context.api.post(BATCH_URL, {"items": payload, "concurrency": concurrency}, format="json")
    run.post_seconds = time.perf_counter() - started
    if response.status_code != 202:
        run.status = f"POST answered {response.status_code}: {response.content[:200]!r}"
        return run
    batch_id = response.json()["id"]
    body = response.json()
    while body["status"] == "running":
        if time.perf_counter() - started > BATCH_TIMEOUT:
            break
        time.sleep(POLL_SECONDS)
        body = context.api.get(f"{BATCH_URL}/{batch_id}").json()
    run.seconds = time.perf_counter() - started
    run.cpu = cpu.text()
    run.status = body["status"] if body["status"] != "running" else f"still running after {BATCH_TIMEOUT:.0f} s"
    run.provider_hits = context.fake.hits("openai") - hits_before
    row = LLMBatch.objects.get(pk=batch_id)
    if row.finished_at:
        run.workflow_seconds = (row.finished_at - row.created_at).total_seconds()
    for entry in body.get("results") or []:
        if entry.get("error"):
            run.errors += 1
        elif entry["result"]["content"] == payload[entry["index"]]["messages"][0]["content"]:
            run.ok += 1
        else:
            run.wrong += 1
    return run


def describe(run: BatchRun) -> str:
    text = (
        f"{run.items} items in {run.seconds:.2f} s = {run.rate:.1f} items/s (POST {ms(run.post_seconds, 0)} ms; "
        f"batch row created -> finished {run.workflow_seconds:.2f} s); {run.status}: {run.ok} answered"
    )
    if run.errors or run.wrong:
        text += f", {run.errors} errors, {run.wrong} wrong answers"
    text += f"; provider hit {run.provider_hits} times"
    if run.ideal is not None:
        text += f"; delays alone {run.ideal:.1f} s"
    return f"{text}; {run.cpu}"


def measure_batches(context: Context) -> list[BatchRun]:
    print(f"\n2. Batches of {BATCH_ITEMS} items, route {ROUTE}, polled every {ms(POLL_SECONDS, 0)} ms", flush=True)
    warmup = run_batch(context, "immediate", WARMUP_BATCH_ITEMS, WARMUP_BATCH_ITEMS, label="warm-up")
    print(f"    warm-up, concurrency {WARMUP_BATCH_ITEMS}: {describe(warmup)}", flush=True)
    runs = []
    for provider in ("immediate", f"{ms(PROVIDER_DELAY, 0)} ms delay"):
        print(f"  provider answers: {provider}", flush=True)
        for concurrency in CONCURRENCIES:
            label = f"{provider.split()[0]}-c{concurrency}"
            run = run_batch(context, provider, concurrency, BATCH_ITEMS, label=label)
            print(f"    concurrency {concurrency:>2}: {describe(run)}", flush=True)
            runs.append(run)
    return runs


def usage_rows(context: Context) -> str:
    from llm.models import LLMUsage

    rows = LLMUsage.objects.for_tenant(context.tenant).values_list("scope", "status")
    counted = Counter(f"{scope}/{status}" for scope, status in rows)
    return ", ".join(f"{n} {key}" for key, n in sorted(counted.items()))


# 3. Agent loop ----------------------------------------------------------------------------------


@dataclass
class AgentRun:
    seconds: float  # the agent node, from its first activity to its recorded result
    provider_seconds: float  # the provider attempts as the gateway timed them (SDK call included)
    tool_seconds: float  # the webhook tool calls as their steps timed them (outbound client included)
    direct_seconds: float  # the same turns by hand: SDK call with tools, then an HTTP POST, per turn


def _receiver() -> tuple[Any, str]:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Tool(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "12")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tool)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/tool"


def _direct_loop(fake, url: str) -> float:
    """The hand-written equivalent: per turn one SDK call offering the tool, then the tool's POST."""
    import httpx
    import openai

    sdk = openai.OpenAI(base_url=fake.compatible_url("direct"), api_key="x", max_retries=0)
    tool = {"type": "function", "function": {"name": "ping", "description": "d", "parameters": {"type": "object"}}}
    messages = [{"role": "user", "content": "go"}]
    started = time.perf_counter()
    with httpx.Client() as http:
        for turn in range(AGENT_TURNS):
            sdk.chat.completions.create(model=MODEL, messages=messages, tools=[tool])
            if turn < AGENT_TURNS - 1:
                http.post(url, json={"n": turn})
    elapsed = time.perf_counter() - started
    sdk.close()
    return elapsed


def measure_agent(context: Context) -> list[AgentRun]:
    from django.conf import settings
    from django.db.models import Sum

    from llm.models import LLMUsage
    from tests.support.fake_llm import Reply
    from workflows.models import StepExecution, WorkflowExecution
    from workflows.services import definitions, executions

    print(f"\n3. Agent loop: {AGENT_TURNS} model turns per run, each but the last calling a webhook tool", flush=True)
    receiver, url = _receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    tool = {
        "name": "ping",
        "description": "d",
        "parameters": {"type": "object"},
        "action": {"type": "webhook", "url": url},
    }
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "data": {}},
            {
                "id": "agent",
                "type": "agent",
                "data": {"route": ROUTE, "prompt": "go", "tools": [tool], "max_steps": 32},
            },
            {"id": "end", "type": "end", "data": {}},
        ],
        "edges": [{"id": "a", "source": "start", "target": "agent"}, {"id": "b", "source": "agent", "target": "end"}],
    }
    definition = definitions.definition_create(tenant=context.tenant, name="Bench agent", graph=graph)

    def agent_once() -> tuple[float, float, float]:
        context.fake.script("openai", [Reply(tool_calls=(("ping", {}),))] * (AGENT_TURNS - 1) + [Reply("done")])
        execution = executions.execution_start(tenant=context.tenant, definition=definition, input={})
        deadline = time.monotonic() + 120
        rows = WorkflowExecution.objects.for_tenant(context.tenant)
        while rows.get(pk=execution.pk).status in ("pending", "running") and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        steps = StepExecution.objects.for_tenant(context.tenant).filter(execution_id=execution.pk)
        node = steps.get(node_id="agent")
        assert node.status == "completed", node.error
        usage = LLMUsage.objects.for_tenant(context.tenant).filter(execution_id=execution.pk)
        provider = (usage.aggregate(total=Sum("latency_ms"))["total"] or 0) / 1000
        tools = sum(s.output["duration_ms"] for s in steps.filter(node_type="AgentToolCall")) / 1000
        return (node.finished_at - node.started_at).total_seconds(), provider, tools

    agent_once()  # warm-up
    _direct_loop(context.fake, url)
    runs = []
    for number in range(AGENT_RUNS):
        if number % 2 == 0:
            direct = _direct_loop(context.fake, url)
            seconds, provider, tools = agent_once()
        else:
            seconds, provider, tools = agent_once()
            direct = _direct_loop(context.fake, url)
        runs.append(AgentRun(seconds, provider, tools, direct))
        print(
            f"    run {number + 1}: agent {ms(seconds, 0)} ms (provider {ms(provider, 0)} ms, "
            f"tools {ms(tools, 0)} ms), by hand {ms(direct, 0)} ms",
            flush=True,
        )
    receiver.shutdown()
    return runs


def print_agent_summary(runs: list[AgentRun]) -> None:
    per_turn = [(r.seconds - r.provider_seconds) / AGENT_TURNS for r in runs]
    loop_only = [(r.seconds - r.provider_seconds - r.tool_seconds) / AGENT_TURNS for r in runs]
    versus_hand = [(r.seconds - r.direct_seconds) / AGENT_TURNS for r in runs]
    print_table(
        f"Agent loop overhead per model turn ({AGENT_TURNS} turns per run, {len(runs)} runs; provider time excluded)",
        ("measure", "p50 ms", "max ms"),
        [
            ("agent node minus provider attempts", ms(p50(per_turn)), ms(max(per_turn))),
            ("... and minus the tool calls themselves", ms(p50(loop_only)), ms(max(loop_only))),
            ("agent node minus the hand-written loop", ms(p50(versus_hand)), ms(max(versus_hand))),
        ],
    )


# Summary ---------------------------------------------------------------------------------------


def print_summary(overhead: Overhead, batches: list[BatchRun]) -> None:
    rows = []
    for name in PATHS:
        over = "-" if name == "direct" else f"{ms(overhead.p50(name) - overhead.p50('direct'))}"
        paired = "-" if name == "direct" else f"{ms(overhead.paired_median(name))}"
        rows.append((name, ms(overhead.p50(name)), ms(overhead.p95(name)), over, paired))
    print_table(
        f"LLM gateway benchmark ({os.cpu_count()} CPUs): one chat completion, {REQUESTS} requests per path",
        ("path", "p50 ms", "p95 ms", "p50 - direct p50, ms", "median per-round diff, ms"),
        rows,
    )
    print()
    print(
        f"Fake server's Nagle stall (not part of the above): back-to-back SDK p50 {ms(overhead.nagle[0])} ms "
        f"as shipped, {ms(overhead.nagle[1])} ms with TCP_NODELAY"
    )
    for name in ("api", "router"):
        over = (overhead.p50(name) - overhead.p50("direct")) * 1000
        verdict = "holds" if over <= OVERHEAD_TARGET_MS else "does NOT hold"
        print(f"{name} overhead at p50: {over:.2f} ms; the target of <= {OVERHEAD_TARGET_MS:.0f} ms {verdict}")
    for name in ("api", "router"):
        sql = overhead.queries[name]
        kinds = Counter(statement(q["sql"]) for q in sql.queries)
        listing = ", ".join(f"{n}x {kind}" if n > 1 else kind for kind, n in kinds.items())
        print(
            f"SQL per {name} call: {len(sql.queries)} statements in {sql.transactions} transactions "
            f"({ms(sum(sql.statement_seconds))} ms in cursor statements): {listing}"
        )

    rows = []
    for run in batches:
        rows.append(
            (
                run.provider,
                str(run.concurrency),
                f"{run.seconds:.2f}",
                f"{run.rate:.1f}",
                f"{run.seconds / run.items * 1000:.0f}",
                "-" if run.ideal is None else f"{run.ideal:.1f}",
                f"{run.ok}/{run.items}",
                run.status,
            )
        )
    print_table(
        f"Batch throughput: {BATCH_ITEMS} items per batch, POST -> status no longer running",
        ("provider", "concurrency", "seconds", "items/s", "ms/item", "delays alone s", "answered", "status"),
        rows,
    )
    delayed = {run.concurrency: run for run in batches if run.ideal is not None}
    immediate = {run.concurrency: run for run in batches if run.ideal is None}
    for label, runs in (("immediate", immediate), ("200 ms delay", delayed)):
        if 1 in runs and all(c in runs for c in CONCURRENCIES[1:]):
            gains = ", ".join(f"{c}: {runs[c].rate / runs[1].rate:.1f}x" for c in CONCURRENCIES[1:])
            print(f"Speed-up over concurrency 1, provider {label}: {gains}")


# Main ------------------------------------------------------------------------------------------


def main() -> None:
    from tests.support.fake_llm import FakeLLMServer

    exit_on_sigterm()
    stage = django_on_temporal(
        BENCH_DB, debug=False, announce=DEV_SERVER_UP, conn_max_age="60", ALLOWED_HOSTS="testserver,localhost"
    )
    with stage as (server, _), FakeLLMServer() as fake:
        point_openai_at(fake)
        print("  fake provider server listening on 127.0.0.1; the platform's OpenAI settings point at it")
        before, after = switch_off_nagle(fake)
        print(
            f"  fake server, {NAGLE_CHECK_REQUESTS} back-to-back SDK requests on one connection: "
            f"p50 {ms(before)} ms as shipped, {ms(after)} ms with TCP_NODELAY (used from here on)",
            flush=True,
        )
        context = create_context(server, fake)

        overhead = measure_overhead(context, (before, after))

        from mono.temporal import queues

        host = worker_host()
        try:  # stopped before the fake server goes: no activity is left waiting on it
            hosting = host.start(tenant_id=context.tenant.pk, queue=queues.LLM_PROCESSING)
            print(f"\n  worker manager hosting {hosting} {worker_settings()}", flush=True)
            batches = measure_batches(context)
            print(f"    usage rows of the tenant (scope/status): {usage_rows(context)}", flush=True)
            agent_runs = measure_agent(context)
            print_summary(overhead, batches)
            print_agent_summary(agent_runs)
        finally:
            host.stop()


if __name__ == "__main__":
    main()
