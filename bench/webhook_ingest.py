"""Inbound webhook ingest benchmark: signed requests accepted per second vs a bare one-row view.

Everything runs in this one process: a fresh, in-memory, headless Temporal dev server (started
from the virtualenv, so the tenant's namespace exists and starts succeed) and a throwaway
PostgreSQL database, `mono_bench_webhooks`, that this script creates, migrates and drops. One
tenant is created with `tenant_create` (namespace provisioned), a workflow whose StartNode has
`trigger: webhook`, and an integration for it.

Both paths are driven by the same client, Django's test `Client` (the full handler and middleware
stack, no sockets), one request at a time, against the same process and database:

- ingest: `POST /api/v1/webhooks/integration/{slug}`, each request with its own `webhook-id`,
  Standard Webhooks signed beforehand (signing is the sender's cost, not the server's): the real
  path, signature verification (secret decrypted from the row), JSON parsing, the event row
  stored, 202. The workflow start is deferred until after commit and handed to the background
  starter thread (execution row, Temporal `StartWorkflow`), which runs in this same process while
  the requests are being timed, exactly as in a web process. No workers run, so the started
  workflows wait in Temporal and take no CPU here.
- bare: a plain Django view (CSRF-exempt, added to the URL conf for the bench) that inserts the
  raw body into a one-column jsonb table with one SQL statement and answers 202.

The two run in alternating rounds (ROUNDS x REQUESTS each) so drift falls on both alike; the
figure is requests/s over all rounds, and the ratio ingest/bare (target at least 0.7). Then the
ingest path is timed once more with the starter switched off (the start left to the relay), to
show what the accept path costs alone, and the relay is timed starting what was left. Finally
the bench waits until every accepted event's workflow has started and prints how long that took.

Figures are printed, not asserted. From the project root:

    .venv/bin/python bench/webhook_ingest.py

It needs a local PostgreSQL on which the `postgres` role may create databases. Django runs with
DEBUG=0 (no per-query logging) and DATABASE_CONN_MAX_AGE=60 (the settings' default).
`BENCH_QUICK=1` sends 2 rounds of 20 requests per path: a smoke run, not figures.
"""

import json
import sys
import time
import types
from datetime import UTC, datetime

from _harness import DEV_SERVER_UP, django_on_temporal, exit_on_sigterm, sized

BENCH_DB = "mono_bench_webhooks"

WARMUP = sized(50, 5)
ROUNDS = sized(6, 2)
REQUESTS = sized(250, 20)
TARGET_RATIO = 0.7
BARE_PATH = "/bench/bare"


def install_bare_view() -> None:
    """The comparison view: one INSERT of the raw body, under the project's own URL conf."""
    from django.conf import settings
    from django.db import connection
    from django.http import JsonResponse
    from django.urls import clear_url_caches, path
    from django.views.decorators.csrf import csrf_exempt

    import mono.urls

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_row (id bigserial PRIMARY KEY, body jsonb NOT NULL)")

    @csrf_exempt
    def bare(request):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_row (body) VALUES (%s) RETURNING id", [request.body.decode()])
            row_id = cursor.fetchone()[0]
        return JsonResponse({"id": row_id, "status": "stored"}, status=202)

    module = types.ModuleType("bench_webhook_urls")
    module.urlpatterns = [path(BARE_PATH.lstrip("/"), bare), *mono.urls.urlpatterns]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()


def create_integration():
    from django.contrib.auth import get_user_model

    from tenants.services import tenant_create
    from webhooks.services.integrations import integration_create
    from workflows.services.definitions import definition_create

    started = time.perf_counter()
    owner = get_user_model().objects.create_user(username="bench-owner")
    tenant = tenant_create(name="Bench Webhooks", slug="bench-webhooks", owner=owner)
    print(f"  tenant {tenant.slug} created and its namespace provisioned in {time.perf_counter() - started:.1f} s")
    graph = {
        "nodes": [
            {"id": "start", "type": "StartNode", "position": {"x": 0, "y": 0}, "data": {"trigger": "webhook"}},
            {"id": "end", "type": "EndNode", "position": {"x": 0, "y": 0}, "data": {"status": "completed"}},
        ],
        "edges": [{"id": "e", "source": "start", "target": "end"}],
    }
    workflow = definition_create(tenant=tenant, name="On order", graph=graph)
    integration, secret = integration_create(tenant=tenant, name="Shop", slug="bench-shop", workflow=workflow)
    return integration, secret


def signed_requests(secret: str, count: int, prefix: str) -> list[tuple[bytes, dict]]:
    from webhooks.signatures import sign

    now = datetime.now(tz=UTC)
    requests = []
    for number in range(count):
        body = json.dumps({"type": "order.created", "data": {"order": f"{prefix}-{number}", "amount": 42}}).encode()
        msg_id = f"msg_{prefix}_{number}"
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=now, body=body.decode()),
        }
        requests.append((body, headers))
    return requests


def timed(client, path: str, requests: list[tuple[bytes, dict]]) -> float:
    """Seconds to send `requests` one after another; every answer must be 202."""
    started = time.perf_counter()
    for body, headers in requests:
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        if response.status_code != 202:
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:200]!r}")
    return time.perf_counter() - started


def main() -> None:
    exit_on_sigterm()
    stage = django_on_temporal(
        BENCH_DB, debug=False, announce=DEV_SERVER_UP, conn_max_age="60", ALLOWED_HOSTS="testserver,localhost"
    )
    with stage:
        try:
            run()
        finally:
            from mono import starts

            starts.drain()


def rounds(client, paths: dict[str, str], secret: str, label: str) -> dict[str, float]:
    """Alternating rounds over `paths`; returns requests/s per path over all rounds."""
    seconds = dict.fromkeys(paths, 0.0)
    for number in range(ROUNDS):
        line = []
        for name, path in paths.items():
            elapsed = timed(client, path, signed_requests(secret, REQUESTS, f"{label}{name}{number}"))
            seconds[name] += elapsed
            line.append(f"{name} {REQUESTS / elapsed:6.0f} req/s")
        print(f"  round {number + 1}: " + "   ".join(line), flush=True)
    return {name: ROUNDS * REQUESTS / total for name, total in seconds.items()}


def relay_all() -> tuple[int, float]:
    from mono import starts
    from webhooks.services import receive

    started = time.perf_counter()
    relayed = 0
    far_future = datetime(2100, 1, 1, tzinfo=UTC)  # past every backoff
    while batch := starts.relay_due(kind=receive.START_KIND, limit=100, now=far_future):
        relayed += batch
    return relayed, time.perf_counter() - started


def run() -> None:
    from django.test import Client

    from mono import starts
    from webhooks.models import EventStatus, WebhookEvent
    from webhooks.services import receive

    install_bare_view()
    integration, secret = create_integration()
    paths = {"ingest": f"/api/v1/webhooks/integration/{integration.slug}", "bare": BARE_PATH}
    client = Client()
    for name, path in paths.items():
        timed(client, path, signed_requests(secret, WARMUP, f"warm{name}"))
    starts.drain()

    # 1. The accept path, the start deferred past the timed window: the background starter is
    #    replaced by a no-op, so accepted events stay pending and the relay starts them after.
    print(f"\n1. Accept path, starts deferred: {ROUNDS} rounds of {REQUESTS} requests per path, alternating")
    real_start_soon = receive.start_soon
    receive.start_soon = lambda event_pk: None
    try:
        deferred = rounds(client, paths, secret, "d")
    finally:
        receive.start_soon = real_start_soon
    relayed, relay_seconds = relay_all()
    print(f"  relay then started {relayed} pending events in {relay_seconds:.1f} s ({relayed / relay_seconds:.0f}/s)")

    # 2. The whole path as a web process runs it: each accepted event's start (execution row,
    #    audit row, Temporal StartWorkflow) runs on the starter thread in this same process,
    #    competing for the CPU with the requests being timed.
    print(f"\n2. With the background starter on: {ROUNDS} rounds of {REQUESTS} requests per path, alternating")
    began = time.perf_counter()
    live = rounds(client, paths, secret, "l")
    starts.drain()
    drained = time.perf_counter() - began
    started = WebhookEvent.objects.filter(event_id__startswith="msg_lingest", status=EventStatus.STARTED).count()
    print(f"  {started}/{ROUNDS * REQUESTS} started by the starter, the last {drained:.1f} s after round 1 began")

    ratio = deferred["ingest"] / deferred["bare"]
    print("\nSummary (same process, same client, same database)")
    print(f"  1. ingest, start deferred (verify, store, 202): {deferred['ingest']:6.0f} req/s")
    print(f"     bare view (one INSERT, 202):                  {deferred['bare']:6.0f} req/s")
    print(f"     ratio {ratio:.2f} ({'meets' if ratio >= TARGET_RATIO else 'misses'} the {TARGET_RATIO} target)")
    print(f"     starting them afterwards (relay):             {relayed / relay_seconds:6.0f} events/s")
    live_ratio = live["ingest"] / live["bare"]
    print(f"  2. ingest with the starter running alongside:   {live['ingest']:6.0f} req/s")
    print(f"     bare view in the same rounds:                 {live['bare']:6.0f} req/s   ratio {live_ratio:.2f}")


if __name__ == "__main__":
    main()
