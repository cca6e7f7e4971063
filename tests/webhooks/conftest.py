"""Helpers for inbound webhook tests: a webhook-triggered workflow, integrations, signed requests."""

import json
import secrets
import time

import pytest
from django.test import Client

from mono import starts
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.workflows import graphs
from tests.workflows.conftest import acme, globex, workers  # noqa: F401 (fixtures)
from webhooks import signatures
from webhooks.models import Integration
from webhooks.services import integrations, receive
from workflows.services import definitions

WEBHOOK_GRAPH = graphs.graph(
    graphs.node("start", "StartNode", trigger="webhook"),
    graphs.record("store", collection="orders", key="{{ input.data.order }}", amount="{{ input.data.amount }}"),
    graphs.node("end", "EndNode", status="completed", output="{{ input.type }}:{{ steps.store.key }}"),
    graphs.edge("start", "store"),
    graphs.edge("store", "end"),
)


def webhook_workflow(tenant, name: str = "On order"):
    return definitions.definition_create(tenant=tenant, name=name, graph=WEBHOOK_GRAPH)


def make_integration(tenant, **kwargs) -> tuple[Integration, str]:
    kwargs.setdefault("name", "Shop")
    kwargs.setdefault("workflow", webhook_workflow(tenant, name=f"On order {secrets.token_hex(3)}"))
    return integrations.integration_create(tenant=tenant, **kwargs)


def payload(order: str = "A-1", type: str = "order.created", **extra) -> bytes:
    return json.dumps({"type": type, "data": {"order": order, "amount": 42}, **extra}).encode()


def signed_headers(secret: str, body: bytes, msg_id: str | None = None, timestamp: int | None = None) -> dict:
    from datetime import UTC, datetime

    msg_id = msg_id or f"msg_{secrets.token_hex(8)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = signatures.sign(
        secret=secret,
        msg_id=msg_id,
        timestamp=datetime.fromtimestamp(timestamp, tz=UTC),
        body=body.decode(errors="replace"),
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def post(slug: str, body: bytes, headers: dict, client: Client | None = None, **kwargs):
    return (client or Client()).post(
        f"/api/v1/webhooks/integration/{slug}",
        data=body,
        content_type=kwargs.pop("content_type", "application/json"),
        headers=headers,
        **kwargs,
    )


def workflow_runs(tenant_id: int, workflow_id: str) -> int:
    """How many Temporal runs carry this workflow id in the tenant's namespace."""

    async def count():
        client = await get_tenant_client(tenant_id)
        return len([run async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')])

    return sync.run(count)


def start_event(event_pk: int, now=None) -> str:
    """One try at the event's start, as the relay makes it (`mono.starts`)."""
    return starts.start_now(kind=receive.START_KIND, pk=event_pk, now=now)


def relay_events(now=None) -> int:
    """One relay pass over the due webhook events; how many started."""
    return starts.relay_due(kind=receive.START_KIND, now=now)


@pytest.fixture(autouse=True)
def _background_starts_finish():
    """Starts run on a background thread; let them finish before the database is flushed."""
    receive.forget_verifiers()  # each test's `shop` is a new row with a new secret
    yield
    starts.drain()


@pytest.fixture
def shop(acme):  # noqa: F811
    """Acme's integration `shop` (its secret as the second item)."""
    return make_integration(acme, slug="shop")
