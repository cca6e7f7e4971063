"""HTTP load through the shipped web server, the way users meet it.

Starts what `make run` starts (uvicorn serving `mono.asgi:application`, `manage.py runworkers`
and `manage.py relay_starts --loop`, each a process of its own) against a throwaway PostgreSQL
database, a fresh Temporal dev server from the virtualenv and the test suite's fake LLM provider
(in a process of its own, OpenAI's wire format). Settings are production-like: DEBUG=0 and the
default connection pool. One tenant, an editor with an API key, a 3-step workflow
(Start → 3 UpdateRecord → End), a webhook integration whose workflow is one UpdateRecord step.

Then, for 1, 16 and 64 concurrent keep-alive clients (httpx, asyncio), each for a fixed time:

- `llm execute`:    POST /api/v1/llm/execute (a new prompt each time, so nothing is cached);
- `workflow exec`:  POST /api/v1/workflows/{id}/execute (202; the workers run the runs meanwhile);
- `webhook ingest`: POST /api/v1/webhooks/integration/{slug}, Standard Webhooks signed, new id each;
- `bare insert`:    the baseline for ingest: a plain Django view on the same server that inserts
                    the body as one row with one INSERT and answers 202 — what a user would write
                    without Mono's signature check, dedup and durable start;
- `list`:           GET /api/v1/executions?limit=20.

and `direct`: the official OpenAI SDK calling the fake provider at 1 client, the baseline of
`llm execute`. Ingest and bare alternate (bare, ingest, ingest, bare) so drift falls on both.
Printed: req/s, p50/p95 in ms and the error count (any status >= 400 or transport error) per
endpoint and concurrency; then the targets: LLM overhead over direct at 1 client (p50), ingest
req/s as a ratio of bare at each concurrency, and errors at 64 clients.

    .venv/bin/python bench/http_load.py [--seconds 4] [--clients 1,16,64]

It needs a local PostgreSQL on which the `postgres` role may create databases. The load driver
shares the machine's cores with the server (2 on the reference machine), as it would on a laptop.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from _harness import (
    ROOT,
    LoadResult,
    exit_on_sigterm,
    fake_provider_process,
    http_load,
    p50,
    p95,
    print_table,
    record_chain,
    scratch_database,
    setup_django,
    sized,
    start_web_server,
    stop_processes,
    temporal_server,
)

BENCH_DB = "mono_bench_http"
MODEL = "gpt-4o-mini"
ENDPOINTS = ["llm execute", "workflow exec", "webhook ingest", "bare insert", "list"]


def environment(fake_url: str) -> dict[str, str]:
    """Settings of every process, beyond the database and dev server `setup_django` sets."""
    return {
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": fake_url,
        "LLM_DEFAULT_ROUTE": f"openai:{MODEL}",
        # Capacity is measured, not the tenant's policies: no rate limits, no cap on concurrent runs.
        "API_THROTTLE_RATE_PER_KEY": "1000000/min",
        "API_THROTTLE_RATE_PER_TENANT": "1000000/min",
        "TENANT_MAX_CONCURRENT_RUNS": "0",
        "TEMPORAL_WORKER_HEALTH_PORT": "0",
        "TEMPORAL_WORKER_SDK_METRICS_PORT": "0",
    }


def create_fixtures() -> dict:
    """Tenant, editor and key, the two workflows, the integration and the bare view's table."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from tenants.models import Role
    from tenants.services import api_key_create, membership_add, tenant_create
    from webhooks.services.integrations import integration_create
    from workflows.models import DefinitionStatus
    from workflows.services.definitions import definition_create

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_bare_event (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
    users = get_user_model().objects
    tenant = tenant_create(name="Bench HTTP", slug="bench-http", owner=users.create_user(username="bench-owner"))
    editor = users.create_user(username="bench-editor")
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    _, key = api_key_create(tenant=tenant, user=editor, name="load")
    published = DefinitionStatus.PUBLISHED
    chain = definition_create(tenant=tenant, name="Chain", graph=record_chain(3), status=published)
    hook_flow = definition_create(
        tenant=tenant, name="On event", graph=record_chain(1, trigger="webhook"), status=published
    )
    integration, secret = integration_create(tenant=tenant, name="Load", workflow=hook_flow)
    return {"key": key, "workflow": chain.pk, "slug": integration.slug, "secret": secret}


def requests_of(base: str, fixtures: dict) -> dict:
    """Each endpoint as (url, method, request(number) -> httpx keyword arguments, expected statuses)."""
    from standardwebhooks import Webhook

    auth = {"Authorization": f"Bearer {fixtures['key']}"}
    signer = Webhook(fixtures["secret"])

    def signed(number: int) -> dict:
        body = json.dumps({"type": "order.created", "key": uuid.uuid4().hex})
        msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
        headers = {"content-type": "application/json", "webhook-id": msg_id}
        headers |= {"webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signer.sign(msg_id, now, body)}
        return {"content": body, "headers": headers}

    def prompt(number: int) -> dict:
        return {"json": {"messages": [{"role": "user", "content": f"say {uuid.uuid4().hex}"}]}, "headers": auth}

    return {
        "llm execute": (f"{base}/api/v1/llm/execute", "POST", prompt, (200,)),
        "workflow exec": (
            f"{base}/api/v1/workflows/{fixtures['workflow']}/execute",
            "POST",
            lambda number: {"json": {"input": {"key": uuid.uuid4().hex}}, "headers": auth},
            (202,),
        ),
        "webhook ingest": (f"{base}/api/v1/webhooks/integration/{fixtures['slug']}", "POST", signed, (202,)),
        "bare insert": (
            f"{base}/bench/bare-insert",
            "POST",
            lambda number: {"json": {"type": "order.created", "key": uuid.uuid4().hex}},
            (202,),
        ),
        "list": (f"{base}/api/v1/executions?limit=20", "GET", lambda number: {"headers": auth}, (200,)),
    }


def load(endpoint: tuple, clients: int, seconds: float) -> LoadResult:
    url, method, request, expect = endpoint
    return http_load(url, method=method, request=request, expect=expect, clients=clients, duration=seconds)


def merged(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        latencies=[latency for result in results for latency in result.latencies],
        errors=sum(result.errors for result in results),
        seconds=sum(result.seconds for result in results),
        statuses=sum((result.statuses for result in results), Counter()),
        error_samples=[sample for result in results for sample in result.error_samples][:3],
    )


def direct(fake_url: str, seconds: float) -> LoadResult:
    """The OpenAI SDK straight at the fake provider, one client, for `seconds`."""
    import openai

    sdk = openai.OpenAI(base_url=fake_url, api_key="bench-key", max_retries=0)
    latencies, began = [], time.perf_counter()
    try:
        while time.perf_counter() - began < seconds:
            started = time.perf_counter()
            sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"say {uuid.uuid4().hex}"}])
            latencies.append(time.perf_counter() - started)
    finally:
        sdk.close()
    return LoadResult(latencies, 0, time.perf_counter() - began)


def run_all(endpoints: dict, concurrencies: list[int], seconds: float) -> dict:
    results: dict[tuple[str, int], list[LoadResult]] = {}
    order = ["llm execute", "workflow exec", "bare insert", "webhook ingest", "webhook ingest", "bare insert", "list"]
    for clients in concurrencies:
        for name in ENDPOINTS:  # warm connections, caches and the workers' first tasks
            load(endpoints[name], min(clients, 4), 0.5)
        for name in order:  # ingest and its baseline alternate: drift falls on both alike
            result = load(endpoints[name], clients, seconds / order.count(name))
            results.setdefault((name, clients), []).append(result)
            print(f"  {name:<15} {clients:>3} clients: {result.text()}", flush=True)
            for sample in result.error_samples:
                print(f"      {sample}")
    return {key: merged(parts) for key, parts in results.items()}


def report(spec: str, results: dict, baseline: LoadResult, concurrencies: list[int]) -> None:
    rows = [
        (name, clients, f"{r.rate:.0f}", f"{p50(r.latencies) * 1000:.1f}", f"{p95(r.latencies) * 1000:.1f}", r.errors)
        for name in ENDPOINTS
        for clients in concurrencies
        if (r := results[(name, clients)])
    ]
    rows.append(
        ("direct SDK", 1, f"{baseline.rate:.0f}", f"{p50(baseline.latencies) * 1000:.1f}",
         f"{p95(baseline.latencies) * 1000:.1f}", 0)
    )  # fmt: skip
    header = ("endpoint", "clients", "req/s", "p50 ms", "p95 ms", "errors")
    print_table(f"Through the shipped server ({spec})", header, [tuple(map(str, row)) for row in rows])
    llm = results[("llm execute", concurrencies[0])]
    overhead = (p50(llm.latencies) - p50(baseline.latencies)) * 1000
    print(f"\nLLM execute over the direct SDK call, p50 at {concurrencies[0]} client(s): +{overhead:.1f} ms")
    for clients in concurrencies:
        ratio = results[("webhook ingest", clients)].rate / max(results[("bare insert", clients)].rate, 1e-9)
        print(f"webhook ingest / bare insert at {clients:>2} clients: {ratio:.2f}x req/s")
    worst = max(concurrencies)
    print(f"errors at {worst} clients, all endpoints: {sum(results[(name, worst)].errors for name in ENDPOINTS)}")


def server_options(spec: str) -> dict:
    """`uvicorn` (as `make run`), `uvicorn-N` (N processes) or `gunicorn-NxT` (WSGI, N x T threads)."""
    kind, _, size = spec.partition("-")
    if kind == "uvicorn":
        return {"app": "bench._http_app:application", "workers": int(size or 1)}
    if kind == "gunicorn":
        workers, _, threads = (size or "2x8").partition("x")
        return {"app": "bench._http_app:wsgi_application", "workers": int(workers), "wsgi_threads": int(threads)}
    raise SystemExit(f"unknown server {spec!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=sized(6.0, 1.0), help="per endpoint and concurrency")
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument(
        "--servers", default="uvicorn", help="comma-separated: uvicorn (as make run), uvicorn-N, gunicorn-NxT"
    )
    args = parser.parse_args()
    concurrencies = [int(value) for value in args.clients.split(",")]
    exit_on_sigterm()
    with temporal_server() as temporal, fake_provider_process() as fake_url, scratch_database(BENCH_DB) as database:
        setup_django(database, debug=False, temporal_address=temporal.address, **environment(fake_url))
        fixtures = create_fixtures()
        workers = [
            subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=dict(os.environ))
            for command in (["runworkers"], ["relay_starts", "--loop"])
        ]
        by_server = {}
        try:
            for spec in args.servers.split(","):
                print(f"\n{spec}", flush=True)
                server = start_web_server(**server_options(spec))
                try:
                    by_server[spec] = run_all(requests_of(server.url, fixtures), concurrencies, args.seconds)
                finally:
                    server.stop()
            baseline = direct(fake_url, args.seconds)
        finally:
            stop_processes(workers, 30)
    for spec, results in by_server.items():
        report(spec, results, baseline, concurrencies)
    if len(by_server) > 1:
        compare(by_server, concurrencies)


def compare(by_server: dict, concurrencies: list[int]) -> None:
    """req/s of each server per endpoint and concurrency, side by side."""
    specs = list(by_server)
    rows = [
        (name, str(clients), *(f"{by_server[spec][(name, clients)].rate:.0f}" for spec in specs))
        for name in ENDPOINTS
        for clients in concurrencies
    ]
    print_table("req/s by server", ("endpoint", "clients", *specs), rows)


if __name__ == "__main__":
    main()
