"""Hostile input, websockets: a stream outlives none of the access it was opened with.

Streams re-check their API key, membership and tenant every `LIVE_ACCESS_RECHECK_SECONDS`, set
short here, and close with 4403 once access is gone. Connected like the live stream tests: the
ASGI application itself, plus one real websocket client against uvicorn.
"""

import json
import time
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model

from tenants import services as tenant_services
from tenants.models import Membership, Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.live.test_stream import WebsocketCommunicator, bearer, session_cookie
from tests.support import process
from tests.support.process import child_env
from tests.workflows import graphs
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(10)]

RECHECK_SECONDS = 0.3
ORIGIN = (b"origin", b"http://localhost")
ACCESS_GONE = 4403


@pytest.fixture(autouse=True)
def short_recheck(settings):
    settings.LIVE_ACCESS_RECHECK_SECONDS = RECHECK_SECONDS
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def initech():
    """Initech: alice owns it, bob views it."""
    tenant = TenantFactory(name="Initech", slug=f"initech-{uuid.uuid4().hex[:6]}")
    MembershipFactory(tenant=tenant, user=UserFactory(username="alice"), role=Role.OWNER)
    MembershipFactory(tenant=tenant, user=UserFactory(username="bob"), role=Role.VIEWER)
    return tenant


def a_run(tenant) -> WorkflowExecution:
    graph = graphs.graph(graphs.START, graphs.END, graphs.edge("start", "end"))
    definition = definitions.definition_create(tenant=tenant, name=f"Run {uuid.uuid4().hex[:6]}", graph=graph)
    return WorkflowExecution.objects.create(tenant=tenant, definition=definition, version=definition.latest_version)


def close_code_after(path: str, header: tuple[bytes, bytes], take_access_away) -> tuple[int, float]:
    """Open a stream, take access away while it is open; (the close code, seconds it took)."""
    from mono.asgi import application

    async def scenario():
        stream = WebsocketCommunicator(application, path, headers=[ORIGIN, header])
        connected, _ = await stream.connect(timeout=5)
        assert connected
        assert (await stream.receive_json_from(timeout=5))["kind"] == "snapshot"
        await sync_to_async(take_access_away)()
        taken = time.monotonic()
        message = await stream.receive_output(timeout=5)
        waited = time.monotonic() - taken
        await stream.disconnect(code=message.get("code", 1000))
        assert message["type"] == "websocket.close", message
        return message["code"], waited

    return async_to_sync(scenario)()


def test_revoking_the_key_closes_the_run_stream_with_4403_within_the_interval(initech):
    run = a_run(initech)
    api_key, raw_key = tenant_services.api_key_create(tenant=initech, user=UserFactory(username="bob"), name="tv")
    code, waited = close_code_after(
        f"/ws/executions/{run.pk}/", bearer(raw_key), lambda: tenant_services.api_key_revoke(api_key=api_key)
    )
    assert code == ACCESS_GONE
    assert waited <= RECHECK_SECONDS + 1


def test_removing_the_member_closes_their_session_stream_with_4403(initech):
    cookie = session_cookie(UserFactory(username="bob"))
    bob = Membership.objects.for_tenant(initech).get(user__username="bob")
    code, waited = close_code_after(
        f"/ws/tenants/{initech.slug}/executions/", cookie, lambda: tenant_services.membership_remove(membership=bob)
    )
    assert code == ACCESS_GONE
    assert waited <= RECHECK_SECONDS + 1


def test_deactivating_the_tenant_closes_its_streams_with_4403(initech):
    run = a_run(initech)
    _, raw_key = tenant_services.api_key_create(tenant=initech, user=UserFactory(username="alice"), name="tv")
    deactivate = lambda: tenant_services.tenant_update(tenant=initech, is_active=False)  # noqa: E731
    code, _ = close_code_after(f"/ws/executions/{run.pk}/", bearer(raw_key), deactivate)
    assert code == ACCESS_GONE


def test_deactivating_the_user_closes_their_stream_with_4403(initech):
    run = a_run(initech)
    cookie = session_cookie(UserFactory(username="bob"))
    code, _ = close_code_after(
        f"/ws/executions/{run.pk}/",
        cookie,
        lambda: get_user_model().objects.filter(username="bob").update(is_active=False),
    )
    assert code == ACCESS_GONE


def test_a_stream_whose_access_holds_stays_open_across_several_checks(initech):
    from mono.asgi import application

    run = a_run(initech)
    _, raw_key = tenant_services.api_key_create(tenant=initech, user=UserFactory(username="bob"), name="tv")

    async def scenario():
        stream = WebsocketCommunicator(application, f"/ws/executions/{run.pk}/", headers=[ORIGIN, bearer(raw_key)])
        await stream.connect(timeout=5)
        await stream.receive_json_from(timeout=5)
        quiet = await stream.receive_nothing(timeout=RECHECK_SECONDS * 4)
        await stream.disconnect()
        return quiet

    assert async_to_sync(scenario)() is True


# A real websocket client against uvicorn -----------------------------------------------------------


@pytest.fixture
def asgi_server():
    env = child_env(
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY="test-only",
        DEBUG="0",
        REDIS_URL=None,  # one process: the in-memory channel layer is enough to stream
        LIVE_ACCESS_RECHECK_SECONDS=str(RECHECK_SECONDS),
    )
    with process.asgi_server(env) as port:
        yield f"127.0.0.1:{port}"


def test_real_client_through_uvicorn_is_closed_with_4403_when_its_key_is_revoked(asgi_server, initech):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    run = a_run(initech)
    api_key, raw_key = tenant_services.api_key_create(tenant=initech, user=UserFactory(username="bob"), name="tv")
    with connect(
        f"ws://{asgi_server}/ws/executions/{run.pk}/",
        additional_headers={"Authorization": f"Bearer {raw_key}"},
        origin=f"http://{asgi_server}",
        open_timeout=5,
    ) as websocket:
        assert json.loads(websocket.recv(timeout=5))["kind"] == "snapshot"
        tenant_services.api_key_revoke(api_key=api_key)
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=RECHECK_SECONDS + 2)
    assert closed.value.rcvd.code == ACCESS_GONE
