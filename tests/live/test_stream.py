"""The live status stream: websocket consumers against `mono.asgi.application`, real workers, and
one end-to-end run through a real uvicorn server.

Consumers and workers share one Redis channel layer (`REDIS_URL`, database 3 by default), under a
prefix of this test session's own so concurrent suites on the same Redis do not hear each other.
The websocket side is async: each test drives one coroutine with `async_to_sync`, and calls the
blocking project code from it through `sync_to_async`.
"""

import json
import os
import threading
import uuid
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from mono.asgi import application
from mono.events import DomainEvent
from tenants import services as tenant_services
from tenants.models import Role
from tenants.selectors import active_tenant_refs
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.support import process
from tests.support.process import child_env
from tests.workflows import conftest as workflow_fixtures
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, user, wait_until
from workflows import live
from workflows.models import ExecutionEvent, WorkflowExecution
from workflows.services import approvals, definitions

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
ORIGIN = (b"origin", b"http://localhost")
FINISHED = {"execution.completed", "execution.failed", "execution.rejected", "execution.cancelled"}
RECORD_RUN = graphs.graph(
    graphs.START, graphs.record("save"), graphs.END, graphs.edge("start", "save"), graphs.edge("save", "end")
)
# The engine tests' fixtures: tenant Acme with its namespace and members, and workers hosting it.
acme = workflow_fixtures.acme
workers = workflow_fixtures.workers

RECORD_RUN_KINDS = [
    ("execution.started", ""),
    ("step.completed", "start"),
    ("step.running", "save"),
    ("step.completed", "save"),
    ("step.completed", "end"),
    ("execution.completed", ""),
]


@pytest.fixture(autouse=True)
def redis_layer(settings):
    # Redis is a service the suite requires (like PostgreSQL): a missing one fails loudly here.
    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    # The read timeout must outlast the layer's 5 s blocking pop, which redis-py 8's default of
    # 5 s does not (django/channels_redis#422); see the idle test at the end.
    host = {"address": REDIS_URL, "socket_timeout": 15}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": f"mono-test-{uuid.uuid4().hex[:12]}"},
        }
    }


# Helpers ----------------------------------------------------------------------------------------


class WebsocketCommunicator(ApplicationCommunicator):
    """Channels' `WebsocketCommunicator`, reduced to what these tests use: importing
    `channels.testing` needs daphne (and Twisted) for its live-server test case, which this project
    does not install (django/channels#1942)."""

    def __init__(self, app, path: str, headers: list, subprotocols: list[str] | None = None) -> None:
        scope = {"type": "websocket", "path": path, "query_string": b"", "headers": headers}
        super().__init__(app, {**scope, "subprotocols": subprotocols or []})

    async def connect(self, timeout: float = 10) -> tuple[bool, Any]:
        """(True, chosen subprotocol) once accepted, or (False, close code) if refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def receive_json_from(self, timeout: float = 10) -> dict[str, Any]:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        """What the server does once the socket is gone, refused or not: the consumer ends itself
        (rather than being cancelled in the middle of a channel-layer receive)."""
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def session_cookie(member) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(member)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode()


def bearer(key: str) -> tuple[bytes, bytes]:
    return b"authorization", f"Bearer {key}".encode()


async def open_stream(path: str, *headers: tuple[bytes, bytes], subprotocols=None, origin=ORIGIN):
    """Connect; returns (communicator, connected, subprotocol-or-close-code)."""
    communicator = WebsocketCommunicator(
        application, path, headers=[origin, *headers] if origin else list(headers), subprotocols=subprotocols
    )
    connected, detail = await communicator.connect(timeout=10)
    return communicator, connected, detail


async def refusal_code(path: str, *headers: tuple[bytes, bytes], **options) -> int:
    """The close code a refused stream sends right after accepting the handshake."""
    communicator, connected, _ = await open_stream(path, *headers, **options)
    assert connected
    message = await communicator.receive_output(timeout=10)
    await communicator.disconnect(code=message.get("code", 1000))
    assert message["type"] == "websocket.close", message
    return message["code"]


async def events_until_finished(communicator, timeout: float = 30) -> list[dict[str, Any]]:
    events = []
    while not events or events[-1]["kind"] not in FINISHED:
        events.append(await communicator.receive_json_from(timeout=timeout))
    return events


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["kind"], event["node_id"]) for event in events]


def pending_execution(tenant) -> WorkflowExecution:
    """A run row that no workflow executes (enough for who-may-connect tests)."""
    definition = definitions.definition_create(tenant=tenant, name=f"Run {uuid.uuid4().hex[:6]}", graph=RECORD_RUN)
    return WorkflowExecution.objects.create(tenant=tenant, definition=definition, version=definition.latest_version)


@pytest.fixture
def initech():
    """A tenant without a Temporal namespace: alice owns it, bob is a viewer; mallory is elsewhere."""
    tenant = TenantFactory(name="Initech", slug="initech")
    MembershipFactory(tenant=tenant, user=UserFactory(username="alice"), role=Role.OWNER)
    MembershipFactory(tenant=tenant, user=UserFactory(username="bob"), role=Role.VIEWER)
    MembershipFactory(tenant=TenantFactory(slug="hooli"), user=UserFactory(username="mallory"), role=Role.OWNER)
    return tenant


# A real run, from the first event to the last ------------------------------------------------------


def test_client_receives_every_event_of_a_run_in_order(start_workers, acme):
    execution = start(acme, RECORD_RUN, {"key": "k1"})  # queued in Temporal: no worker polls yet

    cookie = session_cookie(user("vic"))

    async def scenario():
        stream, connected, _ = await open_stream(f"/ws/executions/{execution.pk}/", cookie)
        assert connected
        snapshot = await stream.receive_json_from(timeout=10)
        await sync_to_async(start_workers)(tenant_source=active_tenant_refs)
        events = await events_until_finished(stream)
        await stream.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(scenario)()

    assert snapshot["kind"] == "snapshot"
    assert (snapshot["seq"], snapshot["status"], snapshot["steps"]) == (0, "pending", [])
    assert kinds(events) == RECORD_RUN_KINDS
    assert [event["seq"] for event in events] == list(range(1, len(RECORD_RUN_KINDS) + 1))
    assert {event["execution_id"] for event in events} == {execution.pk}
    assert [event["status"] for event in events] == [
        "running",
        "completed",
        "running",
        "completed",
        "completed",
        "completed",
    ]
    assert all(event["at"] for event in events)
    assert events[-1]["workflow"] == execution.definition.slug


def test_late_client_gets_snapshot_with_the_waiting_step_then_decision_and_completion(workers, acme):
    execution = start(acme, graphs.approval_graph(approvers=("ada",)), {"key": "k2"})
    approval, ada = open_approval_of(execution, "ok"), user("ada")
    entries = ExecutionEvent.objects.for_tenant(acme).filter(execution=execution)
    wait_until(lambda: entries.filter(kind="step.waiting", node_id="ok").exists(), what="step.waiting logged")

    cookie = session_cookie(user("alice"))

    async def scenario():
        stream, connected, _ = await open_stream(f"/ws/executions/{execution.pk}/", cookie)
        assert connected
        snapshot = await stream.receive_json_from(timeout=10)
        await sync_to_async(approvals.approval_decide)(approval=approval, user=ada, decision="approve")
        events = await events_until_finished(stream)
        await stream.disconnect()
        return snapshot, events

    snapshot, events = async_to_sync(scenario)()

    assert snapshot["seq"] == entries.count() - len(events)
    assert snapshot["status"] == "running"
    assert {step["node_id"]: step["status"] for step in snapshot["steps"]} == {"start": "completed", "ok": "waiting"}
    [pending] = snapshot["approvals"]
    assert (pending["node_id"], pending["approval_id"], pending["status"], pending["eligible"]) == (
        "ok",
        approval.pk,
        "pending",
        ["ada"],
    )
    assert [event["seq"] for event in events] == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events)))
    assert kinds(events) == [
        ("approval.decided", "ok"),
        ("step.completed", "ok"),
        ("step.running", "yes"),
        ("step.completed", "yes"),
        ("step.completed", "end"),
        ("step.skipped", "no"),
        ("execution.completed", ""),
    ]
    assert events[0]["status"] == "approved"


def test_tenant_stream_shows_unfinished_runs_then_only_run_level_events(workers, acme):
    waiting = start(acme, graphs.approval_graph(approvers=("ada",)), {"key": "k3"})
    approval, ada = open_approval_of(waiting, "ok"), user("ada")
    wait_until(
        lambda: ExecutionEvent.objects.for_tenant(acme).filter(execution=waiting, kind="step.waiting").exists(),
        what="step.waiting logged",
    )

    cookie = session_cookie(user("vic"))

    async def scenario():
        stream, connected, _ = await open_stream("/ws/tenants/acme/executions/", cookie)
        assert connected
        snapshot = await stream.receive_json_from(timeout=10)
        quick = await sync_to_async(start)(acme, RECORD_RUN, {"key": "k4"})
        await sync_to_async(approvals.approval_decide)(approval=approval, user=ada, decision="approve")
        events = [await stream.receive_json_from(timeout=30) for _ in range(3)]
        assert await stream.receive_nothing(timeout=0.5)
        await stream.disconnect()
        return snapshot, quick, events

    snapshot, quick, events = async_to_sync(scenario)()

    [run] = snapshot["executions"]
    assert (run["execution_id"], run["status"]) == (waiting.pk, "running")
    assert run["seq"] == ExecutionEvent.objects.filter(execution=waiting, kind="step.waiting").get().seq
    assert sorted((event["execution_id"], event["kind"]) for event in events) == sorted(
        [(quick.pk, "execution.started"), (quick.pk, "execution.completed"), (waiting.pk, "execution.completed")]
    )
    assert all(event["seq"] > run["seq"] for event in events if event["execution_id"] == waiting.pk)


# Who may connect ---------------------------------------------------------------------------------


def test_foreign_tenant_execution_is_refused_like_a_missing_one(initech):
    execution = pending_execution(initech)
    mallory = session_cookie(user("mallory"))

    async def scenario():
        return (
            await refusal_code(f"/ws/executions/{execution.pk}/", mallory),
            await refusal_code("/ws/executions/execution-does-not-exist/", mallory),
            await refusal_code("/ws/tenants/initech/executions/", mallory),
            await refusal_code("/ws/tenants/no-such-tenant/executions/", mallory),
        )

    assert async_to_sync(scenario)() == (4404, 4404, 4404, 4404)


def test_unauthenticated_and_bad_keys_are_refused(initech):
    execution = pending_execution(initech)
    api_key, raw_key = tenant_services.api_key_create(tenant=initech, user=user("bob"), name="revoked")
    tenant_services.api_key_revoke(api_key=api_key)
    path = f"/ws/executions/{execution.pk}/"

    async def scenario():
        return (
            await refusal_code(path),
            await refusal_code(path, bearer("mono_nope_wrong")),
            await refusal_code(path, bearer(raw_key)),
            await refusal_code(path, subprotocols=["mono.v1", f"mono.key.{raw_key}"]),
        )

    assert async_to_sync(scenario)() == (4401, 4401, 4401, 4401)


def test_bad_origin_is_refused_at_the_handshake(initech):
    execution = pending_execution(initech)
    cookie = session_cookie(user("alice"))

    async def scenario():
        results = []
        for origin in [(b"origin", b"http://evil.test"), None]:
            stream, connected, _ = await open_stream(f"/ws/executions/{execution.pk}/", cookie, origin=origin)
            await stream.disconnect(code=1006)
            results.append(connected)
        return tuple(results)

    assert async_to_sync(scenario)() == (False, False)


def test_api_key_in_header_or_subprotocol_opens_the_stream(initech):
    execution = pending_execution(initech)
    _, raw_key = tenant_services.api_key_create(tenant=initech, user=user("bob"), name="monitor")
    path = f"/ws/executions/{execution.pk}/"

    async def scenario():
        results = []
        for headers, subprotocols in [((bearer(raw_key),), None), ((), ["mono.v1", f"mono.key.{raw_key}"])]:
            stream, connected, subprotocol = await open_stream(path, *headers, subprotocols=subprotocols)
            snapshot = await stream.receive_json_from(timeout=10)
            await stream.disconnect()
            results.append((connected, subprotocol, snapshot["kind"], snapshot["execution_id"]))
        return results

    assert async_to_sync(scenario)() == [
        (True, None, "snapshot", execution.pk),
        (True, "mono.v1", "snapshot", execution.pk),  # the key itself is never echoed
    ]


def test_api_key_only_opens_runs_of_its_own_tenant(initech):
    hooli_run = pending_execution(TenantFactory(slug="hooli"))
    MembershipFactory(tenant=hooli_run.tenant, user=user("alice"), role=Role.OWNER)
    _, initech_key = tenant_services.api_key_create(tenant=initech, user=user("alice"), name="initech only")
    cookie = session_cookie(user("alice"))

    async def scenario():
        by_session, _, _ = await open_stream(f"/ws/executions/{hooli_run.pk}/", cookie)
        await by_session.receive_json_from(timeout=10)
        await by_session.disconnect()
        return await refusal_code(f"/ws/executions/{hooli_run.pk}/", bearer(initech_key))

    assert async_to_sync(scenario)() == 4404  # alice's session may watch it; her Initech key may not


# Ordering guarantees --------------------------------------------------------------------------------


def test_events_the_channel_layer_lost_are_replayed_from_the_log_and_repeats_dropped(initech):
    execution = pending_execution(initech)

    def step_event(node_id: str, status: str) -> DomainEvent:
        return DomainEvent(f"step.{status}", initech.pk, execution.pk, {"node_id": node_id, "node_type": "X"})

    def lose_two_then_publish_one() -> dict:
        lost = live.sequence_event(step_event("a", "running"), at=execution.created_at)  # logged, never sent
        live.sequence_event(step_event("a", "completed"), at=execution.created_at)
        live.publish_event(step_event("b", "running"))
        return lost

    cookie = session_cookie(user("bob"))

    async def scenario():
        stream, _, _ = await open_stream(f"/ws/executions/{execution.pk}/", cookie)
        snapshot = await stream.receive_json_from(timeout=10)
        lost = await sync_to_async(lose_two_then_publish_one)()
        received = [await stream.receive_json_from(timeout=10) for _ in range(3)]
        layer = get_channel_layer()
        await layer.group_send(live.execution_group(execution.pk), live.group_message(lost))
        repeated = not await stream.receive_nothing(timeout=0.5)
        await stream.disconnect()
        return snapshot, received, repeated

    snapshot, received, repeated = async_to_sync(scenario)()

    assert snapshot["seq"] == 0
    assert [(e["seq"], e["node_id"], e["status"]) for e in received] == [
        (1, "a", "running"),
        (2, "a", "completed"),
        (3, "b", "running"),
    ]
    assert not repeated


def test_a_lost_last_event_arrives_once_the_stream_is_quiet(initech):
    execution = pending_execution(initech)
    first = DomainEvent("step.running", initech.pk, execution.pk, {"node_id": "a", "node_type": "X"})
    last = DomainEvent("step.completed", initech.pk, execution.pk, {"node_id": "a", "node_type": "X"})
    cookie = session_cookie(user("bob"))

    def publish_one_then_lose_the_last() -> None:
        live.publish_event(first)
        live.sequence_event(last, at=execution.created_at)  # logged, never sent: nothing follows it

    async def scenario():
        stream, _, _ = await open_stream(f"/ws/executions/{execution.pk}/", cookie)
        await stream.receive_json_from(timeout=10)
        await sync_to_async(publish_one_then_lose_the_last)()
        received = [await stream.receive_json_from(timeout=10) for _ in range(2)]
        await stream.disconnect()
        return received

    assert [(e["seq"], e["kind"]) for e in async_to_sync(scenario)()] == [(1, "step.running"), (2, "step.completed")]


def test_tenant_stream_catches_up_on_run_level_events_the_layer_lost(initech):
    quick, lost = pending_execution(initech), pending_execution(initech)
    cookie = session_cookie(user("bob"))

    def publish_one_and_lose_one() -> None:
        live.publish_event(DomainEvent("execution.started", initech.pk, quick.pk, {"workflow": "w"}))
        live.sequence_event(DomainEvent("execution.started", initech.pk, lost.pk, {"workflow": "w"}), at=timezone.now())

    async def scenario():
        stream, _, _ = await open_stream("/ws/tenants/initech/executions/", cookie)
        snapshot = await stream.receive_json_from(timeout=10)
        await sync_to_async(publish_one_and_lose_one)()
        received = [await stream.receive_json_from(timeout=10) for _ in range(2)]
        nothing_more = await stream.receive_nothing(timeout=2)  # a second catch-up repeats nothing
        await stream.disconnect()
        return snapshot, received, nothing_more

    snapshot, received, nothing_more = async_to_sync(scenario)()

    assert {run["execution_id"]: run["seq"] for run in snapshot["executions"]} == {quick.pk: 0, lost.pk: 0}
    assert [(e["execution_id"], e["seq"], e["status"]) for e in received] == [
        (quick.pk, 1, "running"),
        (lost.pk, 1, "running"),
    ]
    assert nothing_more


def test_concurrent_publishers_number_a_run_without_gaps_or_repeats(initech):
    execution = pending_execution(initech)

    def publish_many(worker: int) -> None:
        try:
            for n in range(25):
                live.sequence_event(
                    DomainEvent("step.completed", initech.pk, execution.pk, {"node_id": f"w{worker}-{n}"}),
                    at=timezone.now(),
                )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    seqs = list(ExecutionEvent.objects.filter(execution=execution).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 201))
    assert WorkflowExecution.objects.get(pk=execution.pk).event_seq == 200


def test_a_counter_set_back_by_a_stale_save_does_not_repeat_numbers(initech):
    execution = pending_execution(initech)
    stale = WorkflowExecution.objects.get(pk=execution.pk)  # loaded before the events, as a form would
    for status in ("running", "completed"):
        live.publish_event(DomainEvent(f"step.{status}", initech.pk, execution.pk, {"node_id": "a"}))
    stale.save()  # every field, event_seq (0) included

    live.publish_event(DomainEvent("step.running", initech.pk, execution.pk, {"node_id": "b"}))

    assert list(ExecutionEvent.objects.filter(execution=execution).values_list("seq", "node_id")) == [
        (1, "a"),
        (2, "a"),
        (3, "b"),
    ]


# End to end: a real websocket client and a real ASGI server ----------------------------------------


@pytest.fixture
def asgi_server(settings):
    """uvicorn serving `mono.asgi:application` in a child process, on the test database and on the
    Redis layer with its default prefix (which this process then uses too)."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
    env = child_env(REDIS_URL=REDIS_URL, ALLOWED_HOSTS="127.0.0.1,localhost", SECRET_KEY="test-only", DEBUG="0")
    with process.asgi_server(env) as port:
        yield f"127.0.0.1:{port}"


def test_real_websocket_client_receives_a_run_through_uvicorn(asgi_server, start_workers, acme):
    from websockets.sync.client import connect

    _, raw_key = tenant_services.api_key_create(tenant=acme, user=user("vic"), name="e2e")
    execution = start(acme, RECORD_RUN, {"key": "e2e"})

    with connect(
        f"ws://{asgi_server}/ws/executions/{execution.pk}/",
        additional_headers={"Authorization": f"Bearer {raw_key}"},
        origin=f"http://{asgi_server}",
        open_timeout=10,
    ) as websocket:
        snapshot = json.loads(websocket.recv(timeout=10))
        start_workers(tenant_source=active_tenant_refs)
        events = []
        while not events or events[-1]["kind"] not in FINISHED:
            events.append(json.loads(websocket.recv(timeout=30)))

    assert (snapshot["kind"], snapshot["seq"]) == ("snapshot", 0)
    assert kinds(events) == RECORD_RUN_KINDS
    assert [event["seq"] for event in events] == list(range(1, len(RECORD_RUN_KINDS) + 1))


def test_idle_stream_on_uvicorn_outlives_the_redis_read_timeout(asgi_server, initech):
    """The web process as configured by settings: a stream that hears nothing for longer than
    redis-py's default 5 s read timeout must still be there for the next event."""
    from websockets.sync.client import connect

    execution = pending_execution(initech)
    _, raw_key = tenant_services.api_key_create(tenant=initech, user=user("bob"), name="idle")
    event = DomainEvent("step.running", initech.pk, execution.pk, {"node_id": "a", "node_type": "X"})

    with connect(
        f"ws://{asgi_server}/ws/executions/{execution.pk}/",
        additional_headers={"Authorization": f"Bearer {raw_key}"},
        origin=f"http://{asgi_server}",
        open_timeout=10,
    ) as websocket:
        snapshot = json.loads(websocket.recv(timeout=10))
        with pytest.raises(TimeoutError):
            websocket.recv(timeout=7)  # idle: nothing is published
        live.publish_event(event)
        received = json.loads(websocket.recv(timeout=10))

    assert (snapshot["seq"], received["seq"], received["kind"]) == (0, 1, "step.running")
