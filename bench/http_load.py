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
import asyncio
import json
import os
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import _http as _harness  # noqa: E402

BENCH_DB = "mono_bench_http"
MODEL = "gpt-4o-mini"


def configure(temporal_address: str, fake_url: str) -> dict[str, str]:
    """The environment of every process: this one (set-up) and the servers."""
    env = {
        **os.environ,
        "DATABASE_URL": _harness.database_url(BENCH_DB),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "TEMPORAL_ADDRESS": temporal_address,
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": fake_url,
        "LLM_DEFAULT_ROUTE": f"openai:{MODEL}",
        "TEMPORAL_WORKER_HEALTH_PORT": "18791",
        "TEMPORAL_WORKER_SDK_METRICS_PORT": "18792",
        "DJANGO_SETTINGS_MODULE": "mono.settings",
        "PYTHONPATH": ROOT,
    }
    os.environ.update(env)
    return env


def create_fixtures() -> dict:
    """Tenant, editor and key, the two workflows, the integration and the bare view's table."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from tenants.models import Role
    from tenants.services import api_key_create, membership_add, tenant_create
    from webhooks.services.integrations import integration_create
    from workflows.models import DefinitionStatus
    from workflows.services.definitions import definition_create

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare_event (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
    users = get_user_model().objects
    tenant = tenant_create(name="Bench HTTP", slug="bench-http", owner=users.create_user(username="bench-owner"))
    editor = users.create_user(username="bench-editor")
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    _, key = api_key_create(tenant=tenant, user=editor, name="load")
    chain = definition_create(
        tenant=tenant, name="Chain", graph=_harness.record_chain(3), status=DefinitionStatus.PUBLISHED
    )
    hook_flow = definition_create(
        tenant=tenant,
        name="On event",
        graph=_harness.record_chain(1, trigger="webhook"),
        status=DefinitionStatus.PUBLISHED,
    )
    integration, secret = integration_create(tenant=tenant, name="Load", workflow=hook_flow)
    connection.close()
    return {"key": key, "workflow": chain.pk, "slug": integration.slug, "secret": secret}


def request_makers(fixtures: dict) -> dict:
    """Each endpoint as a function returning (method, path, body bytes, headers) for one request."""
    from standardwebhooks import Webhook

    auth = {"Authorization": f"Bearer {fixtures['key']}", "Content-Type": "application/json"}
    signer = Webhook(fixtures["secret"])

    def llm():
        body = {"messages": [{"role": "user", "content": f"say {uuid.uuid4().hex}"}]}
        return "POST", "/api/v1/llm/execute", json.dumps(body).encode(), auth

    def execute():
        body = {"input": {"key": uuid.uuid4().hex}}
        return "POST", f"/api/v1/workflows/{fixtures['workflow']}/execute", json.dumps(body).encode(), auth

    def ingest():
        body = json.dumps({"type": "order.created", "key": uuid.uuid4().hex}).encode()
        msg_id, now = f"msg_{uuid.uuid4().hex}", _harness.utcnow()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(msg_id, now, body.decode()),
        }
        return "POST", f"/api/v1/webhooks/integration/{fixtures['slug']}", body, headers

    def bare():
        body = json.dumps({"type": "order.created", "key": uuid.uuid4().hex}).encode()
        return "POST", "/bench/bare-insert", body, {"Content-Type": "application/json"}

    def listing():
        return "GET", "/api/v1/executions?limit=20", b"", auth

    return {
        "llm execute": llm,
        "workflow exec": execute,
        "webhook ingest": ingest,
        "bare insert": bare,
        "list": listing,
    }


def direct_latencies(fake_url: str, seconds: float) -> list[float]:
    """The OpenAI SDK straight at the fake provider, one client, for `seconds`."""
    import openai

    sdk = openai.OpenAI(base_url=fake_url, api_key="bench-key", max_retries=0)
    latencies, deadline = [], time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"say {uuid.uuid4().hex}"}])
            latencies.append(time.perf_counter() - started)
    finally:
        sdk.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per endpoint and concurrency")
    parser.add_argument("--clients", default="1,16,64")
    args = parser.parse_args()
    concurrencies = [int(value) for value in args.clients.split(",")]

    _harness.recreate_database(BENCH_DB)
    with _harness.temporal_dev_server() as temporal, _harness.fake_provider_process() as fake_url:
        env = configure(temporal, fake_url)
        fixtures = create_fixtures()
        makers = request_makers(fixtures)
        port = _harness.free_port()
        servers = [
            _harness.web_server(env, port, app="bench._http_app:application"),
            _harness.manage_process(env, "runworkers"),
            _harness.manage_process(env, "relay_starts", "--loop"),
        ]
        try:
            _harness.wait_for_http(f"http://127.0.0.1:{port}/healthz")
            results = run_all(port, makers, concurrencies, args.seconds)
            direct = _harness.Sample.of(direct_latencies(fake_url, args.seconds), args.seconds, errors=0)
        finally:
            _harness.stop_processes(servers)
    _harness.drop_database(BENCH_DB)
    report(results, direct, concurrencies)


def run_all(port: int, makers: dict, concurrencies: list[int], seconds: float) -> dict:
    base = f"http://127.0.0.1:{port}"
    results: dict[tuple[str, int], list[_harness.Sample]] = {}
    for clients in concurrencies:
        # warm every endpoint (connections, caches, workers' first tasks) before timing it
        for maker in makers.values():
            asyncio.run(_harness.http_load(base, maker, clients=min(clients, 4), seconds=0.5))
        order = [
            "llm execute",
            "workflow exec",
            "bare insert",
            "webhook ingest",
            "webhook ingest",
            "bare insert",
            "list",
        ]
        for name in order:
            sample = asyncio.run(_harness.http_load(base, makers[name], clients=clients, seconds=seconds))
            results.setdefault((name, clients), []).append(sample)
            print(f"  {name:<15} {clients:>3} clients: {sample.describe()}", flush=True)
    return {key: _harness.Sample.merge(samples) for key, samples in results.items()}


def report(results: dict, direct: "_harness.Sample", concurrencies: list[int]) -> None:
    names = ["llm execute", "workflow exec", "webhook ingest", "bare insert", "list"]
    rows = [
        (name, str(clients), f"{s.rate:.0f}", f"{s.p50_ms:.1f}", f"{s.p95_ms:.1f}", str(s.errors))
        for name in names
        for clients in concurrencies
        if (s := results[(name, clients)])
    ]
    rows.append(("direct SDK", "1", f"{direct.rate:.0f}", f"{direct.p50_ms:.1f}", f"{direct.p95_ms:.1f}", "0"))
    _harness.print_table(
        "Through the shipped server", ("endpoint", "clients", "req/s", "p50 ms", "p95 ms", "errors"), rows
    )

    llm = results[("llm execute", concurrencies[0])]
    print(f"\nLLM execute overhead over the direct SDK call, p50 at 1 client: {llm.p50_ms - direct.p50_ms:.1f} ms")
    for clients in concurrencies:
        ingest, bare = results[("webhook ingest", clients)], results[("bare insert", clients)]
        print(f"webhook ingest / bare insert at {clients:>2} clients: {ingest.rate / bare.rate:.2f}x req/s")
    worst = max(concurrencies)
    errors = sum(results[(name, worst)].errors for name in names)
    print(f"errors at {worst} clients, all endpoints: {errors}")


if __name__ == "__main__":
    main()
