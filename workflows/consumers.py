"""Websocket streams of run status: one run (`/ws/executions/{id}/`) or a tenant's runs
(`/ws/tenants/{slug}/executions/`). Server to client only; messages are JSON objects.

Authentication, in this order:
- an API key, `Authorization: Bearer mono_...` (API clients), or the subprotocol `mono.key.<key>`
  (browsers cannot set headers on a websocket: `new WebSocket(url, ["mono.v1", "mono.key." + key])`;
  the server answers with `mono.v1`, never echoing the key). A key acts in its own tenant only. A
  key in the query string is not accepted: URLs end up in access logs.
- else the Django session cookie (the browser monitor page).
The Origin header must name an allowed host (Channels' `AllowedHostsOriginValidator`, in
`mono.asgi`); a refused origin fails the handshake itself (HTTP 403). Non-browser clients send
`Origin: https://<host>` too.

Refusals accept the handshake and close at once with a code a client can read (a refused
handshake only shows as 1006 in browsers):
- 4401: no valid session or API key;
- 4404: the run or tenant does not exist or the caller may not see it (the same code for both).

Access is checked when the stream subscribes (its one subscription, made at connect) and again
every `LIVE_ACCESS_RECHECK_SECONDS` (30 s by default, a little less with jitter) while it is open:
once the API key is revoked, the member removed or no longer allowed to view, the user
deactivated or logged out, or the tenant deactivated, the stream closes with
- 4403: access is gone.

The run stream starts with a `snapshot` (the run's status, steps and approvals as of event `seq`),
then sends every event with a higher `seq`, in order and each once. The tenant stream starts with a
`snapshot` of the unfinished (and just finished) runs, each with its `seq`, then sends run-level
events (`execution.*`) of all the tenant's runs; a run's events carry that run's `seq`.

Both streams read the channel layer and fall back on the log: the layer drops messages for a
consumer that falls behind, so a gap in a run's numbers, or a stream gone quiet, sends the
consumer to the log for what it missed.
"""

import asyncio
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tenants.models import ApiKey
from tenants.services import api_key_authenticate
from workflows import live

UNAUTHENTICATED = 4401
ACCESS_GONE = 4403
NOT_FOUND = 4404
PROTOCOL = "mono.v1"
# The channel layer drops messages for a consumer (or web process) that falls behind, and no later
# message reveals the loss of the last ones: once events have stopped for this long, a stream
# compares itself with the log.
QUIET_SECONDS = 1.0
KEY_PROTOCOL_PREFIX = "mono.key."

logger = logging.getLogger(__name__)
T = TypeVar("T")


def presented_api_key(scope: dict[str, Any]) -> str | None:
    """The API key the handshake carries (header first, then subprotocol), or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme == "Bearer":
                return key.strip()
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(KEY_PROTOCOL_PREFIX):
            return protocol[len(KEY_PROTOCOL_PREFIX) :]
    return None


def _active_api_key(raw_key: str) -> ApiKey | None:
    api_key = api_key_authenticate(raw_key=raw_key)
    return api_key if api_key is not None and api_key.user.is_active else None


def _session_exists(session_key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(session_key)


def _access_still_granted(*, user_id: int, tenant_id: int, api_key_id: int | None, session_key: str | None) -> bool:
    if session_key is not None and not _session_exists(session_key):
        return False  # logged out (or the session was flushed) since the stream opened
    return live.watch_still_allowed(user_id=user_id, tenant_id=tenant_id, api_key_id=api_key_id)


Encoded = tuple[int, str, str]  # an event as a consumer sends it: (seq, execution id, JSON text)
_reads_in_flight: dict[tuple, asyncio.Future] = {}


async def shared_read(key: tuple, read: Callable[..., T], **kwargs: Any) -> T:
    """`read(**kwargs)` in Django's sync thread, run once for all of this process's consumers that
    ask with the same key meanwhile: when the channel layer drops messages for a web process, all
    its consumers of a stream find the same gap at the same moment."""
    key = (id(asyncio.get_running_loop()), *key)
    future = _reads_in_flight.get(key)
    if future is None:
        future = asyncio.ensure_future(database_sync_to_async(read)(**kwargs))
        _reads_in_flight[key] = future
        future.add_done_callback(lambda _: _reads_in_flight.pop(key, None))
    return await asyncio.shield(future)  # one consumer leaving must not cancel the others' read


def _encoded(event: dict[str, Any]) -> Encoded:
    return event["seq"], event["execution_id"], json.dumps(event)


def _run_log_after(*, execution, after: int) -> list[Encoded]:
    return [_encoded(event) for event in live.events_after(execution=execution, after=after)]


def _tenant_log_since(*, tenant, since: datetime) -> tuple[datetime, list[Encoded]]:
    now, events = live.tenant_events_since(tenant=tenant, since=since)
    return now, [_encoded(event) for event in events]


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Authenticates the handshake; subclasses find what is watched, and stream it from the
    channel layer with the log (`ExecutionEvent`) to fall back on."""

    group: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._delivering = asyncio.Lock()  # a catch-up and a live event never interleave their sends
        self._heard_since_check = False
        self._quiet_check: asyncio.Task | None = None
        self._access_check: asyncio.Task | None = None
        self._access_gone = False
        self._api_key_id: int | None = None
        self._session_key: str | None = None
        self._user_id: int | None = None

    async def connect(self) -> None:
        viewer = await self._authenticate()
        subprotocol = PROTOCOL if PROTOCOL in self.scope.get("subprotocols", []) else None
        if viewer is None:
            await self._refuse(subprotocol, UNAUTHENTICATED)
            return
        user, tenant_id = viewer
        if not await self.find(user=user, tenant_id=tenant_id):
            await self._refuse(subprotocol, NOT_FOUND)
            return
        await self.accept(subprotocol)
        # Join before reading the snapshot: events sequenced meanwhile wait in the channel until
        # connect() returns, and those the snapshot already reflects are dropped by their seq.
        self.group = self.group_name()
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(self.snapshot)()
        self.remember(snapshot)
        await self.send_json(snapshot)
        self._user_id = user.pk
        self._access_check = asyncio.create_task(self._recheck_access())

    async def disconnect(self, code: int) -> None:
        for task in (self._quiet_check, self._access_check):
            if task is not None:
                task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients have nothing to say on this stream; what they send is ignored."""

    async def live_event(self, message: dict[str, Any]) -> None:
        """A group message from `workflows.live.publish_event`."""
        if self._access_gone:
            return
        self._heard_since_check = True
        if self._quiet_check is None or self._quiet_check.done():
            self._quiet_check = asyncio.create_task(self._check_when_quiet())
        async with self._delivering:
            await self.deliver(message["seq"], message["execution_id"], message["text"])

    async def _check_when_quiet(self) -> None:
        while True:
            await asyncio.sleep(QUIET_SECONDS)
            if self._heard_since_check:
                self._heard_since_check = False
                continue
            try:
                async with self._delivering:
                    await self.catch_up()
            except Exception:  # the next event or check tries again; the socket stays up
                logger.warning("live stream %s could not catch up from the log", self.group, exc_info=True)
            return

    async def _recheck_access(self) -> None:
        """Every LIVE_ACCESS_RECHECK_SECONDS (jittered below it, so streams opened together spread
        their checks), close with 4403 once the viewer's access is gone."""
        interval = settings.LIVE_ACCESS_RECHECK_SECONDS
        check = {
            "user_id": self._user_id,
            "tenant_id": self.watched_tenant_id(),
            "api_key_id": self._api_key_id,
            "session_key": self._session_key,
        }
        key = ("access", *check.values())
        while True:
            await asyncio.sleep(interval * random.uniform(0.8, 1.0))  # noqa: S311 (jitter, not a secret)
            try:
                granted = await shared_read(key, _access_still_granted, **check)
            except Exception:  # the database is unreachable: the next check tries again
                logger.warning("live stream %s could not re-check access", self.group, exc_info=True)
                continue
            if not granted:
                self._access_gone = True
                await self.close(code=ACCESS_GONE)
                return

    async def _authenticate(self) -> tuple[Any, int | None] | None:
        """(user, the tenant an API key is bound to or None), or None if not authenticated."""
        raw_key = presented_api_key(self.scope)
        if raw_key is not None:
            api_key = await database_sync_to_async(_active_api_key)(raw_key)
            if api_key is None:
                return None
            self._api_key_id = api_key.pk
            return api_key.user, api_key.tenant_id
        user = self.scope.get("user")
        if user is not None and user.is_authenticated and user.is_active:
            session = self.scope.get("session")
            self._session_key = session.session_key if session is not None else None
            return user, None
        return None

    async def _refuse(self, subprotocol: str | None, code: int) -> None:
        await self.accept(subprotocol)
        await self.close(code=code)

    async def find(self, *, user, tenant_id: int | None) -> bool:
        raise NotImplementedError

    def watched_tenant_id(self) -> int:
        """The tenant whose runs this stream shows (found by `find`)."""
        raise NotImplementedError

    def group_name(self) -> str:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def remember(self, snapshot: dict[str, Any]) -> None:
        """Note how far the snapshot reaches, so later events it already reflects are dropped."""
        raise NotImplementedError

    async def deliver(self, seq: int, execution_id: str, text: str) -> None:
        """Send one event (its JSON `text`) unless the stream has shown it or something newer."""
        raise NotImplementedError

    async def catch_up(self) -> None:
        """Send what the log has and this stream has not shown."""
        raise NotImplementedError


class ExecutionStreamConsumer(StreamConsumer):
    """Every change of one run, numbered: snapshot first, then events with seq above it."""

    execution = None
    last_seq = 0

    async def find(self, *, user, tenant_id: int | None) -> bool:
        self.execution = await database_sync_to_async(live.execution_for_viewer)(
            user=user, execution_id=self.scope["url_route"]["kwargs"]["execution_id"], tenant_id=tenant_id
        )
        return self.execution is not None

    def watched_tenant_id(self) -> int:
        return self.execution.tenant_id

    def group_name(self) -> str:
        return live.execution_group(self.execution.pk)

    def snapshot(self) -> dict[str, Any]:
        return live.execution_snapshot(execution=self.execution)

    def remember(self, snapshot: dict[str, Any]) -> None:
        self.last_seq = snapshot["seq"]

    async def deliver(self, seq: int, execution_id: str, text: str) -> None:
        if seq <= self.last_seq:
            return  # in the snapshot already, or sent while catching up
        if seq > self.last_seq + 1:
            # An earlier event was dropped by the channel layer or is still on its way from
            # another process. Numbers commit in order, so everything up to `seq` is in the log:
            # catch up to the log's head in one read; messages still queued become repeats.
            await self.catch_up()
            return
        await self.send(text_data=text)
        self.last_seq = seq

    async def catch_up(self) -> None:
        key = ("execution", self.execution.pk, self.last_seq)
        for seq, _, text in await shared_read(key, _run_log_after, execution=self.execution, after=self.last_seq):
            if seq > self.last_seq:
                await self.send(text_data=text)
                self.last_seq = seq


class TenantStreamConsumer(StreamConsumer):
    """Run-level changes of all a tenant's runs: snapshot of unfinished runs, then events.

    Per run, events come in seq order and never one older than an event already shown; every
    run's latest state arrives (from the log if the channel layer lost it). A run-level change
    that a newer one superseded while the layer was dropping messages is not sent late.
    """

    tenant = None
    # A run's events are told apart by its seq. Finished runs are remembered too (a catch-up
    # re-reads a few seconds of the log), up to this many runs.
    REMEMBERED_RUNS = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: OrderedDict[str, int] = OrderedDict()  # run -> highest seq shown
        self.synced_at: datetime | None = None  # the log has been read up to about then

    async def find(self, *, user, tenant_id: int | None) -> bool:
        self.tenant = await database_sync_to_async(live.tenant_for_viewer)(
            user=user, slug=self.scope["url_route"]["kwargs"]["slug"], tenant_id=tenant_id
        )
        return self.tenant is not None

    def watched_tenant_id(self) -> int:
        return self.tenant.pk

    def group_name(self) -> str:
        return live.tenant_group(self.tenant.pk)

    def snapshot(self) -> dict[str, Any]:
        return live.tenant_snapshot(tenant=self.tenant)

    def remember(self, snapshot: dict[str, Any]) -> None:
        self.synced_at = datetime.fromisoformat(snapshot["at"])
        for run in snapshot["executions"]:
            self._saw(run["execution_id"], run["seq"])

    async def deliver(self, seq: int, execution_id: str, text: str) -> None:
        if seq <= self.seen.get(execution_id, 0):
            return
        await self.send(text_data=text)
        self._saw(execution_id, seq)

    async def catch_up(self) -> None:
        # An event's `at` is stamped just before it commits; re-reading a margin before the last
        # read finds events that committed late, and their seq drops those already shown.
        # Whole seconds, so consumers of the tenant that catch up together share one read.
        since = (self.synced_at - timedelta(seconds=live.LATE_COMMIT_MARGIN_SECONDS)).replace(microsecond=0)
        key = ("tenant", self.tenant.pk, since)
        self.synced_at, events = await shared_read(key, _tenant_log_since, tenant=self.tenant, since=since)
        for seq, execution_id, text in events:
            await self.deliver(seq, execution_id, text)

    def _saw(self, execution_id: str, seq: int) -> None:
        self.seen[execution_id] = seq
        self.seen.move_to_end(execution_id)
        if len(self.seen) > self.REMEMBERED_RUNS:
            self.seen.popitem(last=False)
