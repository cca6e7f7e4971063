"""Inbound webhook events: receiving them, and how their workflows start.

An accepted request is stored first (`event_receive`) and answered; its workflow starts after
commit through `mono.starts` (kind `webhook events`, on its background pool), so the sender never
waits for Temporal. Starting is durable: an event whose start fails stays `pending` with its error
and attempt count, the relay retries it with backoff, and after `mono.starts.MAX_ATTEMPTS` tries it
is `failed` with the last error. The run's id, which is also its Temporal workflow id, comes
from the event (`webhook-{integration}-{event}`) and the execution row is created once under the
event's row lock, so retries and concurrent starters never create a second run or workflow.
"""

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from mono import crypto, starts
from mono.errors import ServiceError
from mono.metrics import record_webhook_event
from webhooks import signatures
from webhooks.models import EventStatus, Integration, WebhookEvent
from workflows.models import ExecutionStatus, WorkflowExecution
from workflows.services import executions

MAX_BODY_BYTES = 1024 * 1024
# Headers never stored with an event: the signature and anything that could be a credential.
DROPPED_HEADERS = {"webhook-signature", "authorization", "proxy-authorization", "cookie"}
DROPPED_HEADER_PARTS = ("secret", "token", "key", "password")
_PLAIN_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class IngestRefused(Exception):
    """An inbound request that is not accepted: nothing was stored and nothing starts."""

    def __init__(self, status: int, message: str, *, tenant_id: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.tenant_id = tenant_id


@dataclass(frozen=True)
class Received:
    event: WebhookEvent
    created: bool


# Receiving -----------------------------------------------------------------------------------


def event_receive(*, slug: str, headers: dict[str, str], body: bytes, now: datetime | None = None) -> Received:
    """Verify and store one inbound request; its workflow starts after commit.

    Refusals raise `IngestRefused` and store nothing: unknown or disabled integration 404, bad
    signature or headers 401 (also a timestamp more than 5 minutes off), body over 1 MB 413,
    body not a JSON object 400. An event whose `type` (the body's top-level `type` field) is not
    allowed is stored as `ignored` and starts nothing. The same `webhook-id` again returns the
    first event (`created=False`), also when both arrive at once.
    """
    if len(body) > MAX_BODY_BYTES:
        raise IngestRefused(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    verifier = _verifier(slug)
    if verifier is None:
        raise IngestRefused(404, "No such integration.")
    integration = verifier.integration
    now = now or timezone.now()
    try:
        msg_id, _ = signatures.verify(secrets=verifier.secrets(now), headers=headers, body=body, now=now)
    except signatures.SignatureError as exc:
        raise IngestRefused(401, f"Invalid signature: {exc}", tenant_id=integration.tenant_id) from None
    payload = _json_object(body, tenant_id=integration.tenant_id)
    event_type = payload.get("type") if isinstance(payload.get("type"), str) else ""
    status = EventStatus.PENDING if integration.allows(event_type) else EventStatus.IGNORED
    event = WebhookEvent(
        tenant_id=integration.tenant_id,
        integration=integration,
        event_id=msg_id,
        event_type=event_type[:200],
        headers=_stored_headers(headers),
        body=payload,
        received_at=now,
        status=status,
        next_attempt_at=starts.owed_from(now) if status == EventStatus.PENDING else None,
    )
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: a refused body leaves the caller's transaction usable
                created = _insert_new(event)
        else:
            created = _insert_new(event)
    except DataError:  # PostgreSQL's jsonb refuses some valid JSON, such as \u0000 in a string
        raise IngestRefused(
            400, "The body cannot be stored (it contains \\u0000).", tenant_id=integration.tenant_id
        ) from None
    if not created:
        first = WebhookEvent.objects.filter(integration=integration, event_id=msg_id).first()
        record_webhook_event(tenant_id=integration.tenant_id, status="duplicate")
        return Received(first, created=False)
    if status == EventStatus.PENDING:
        start_soon(event.pk)  # after commit; at once in autocommit
    record_webhook_event(tenant_id=integration.tenant_id, status="received" if status == "pending" else status)
    return Received(event, created=True)


_INSERT_COLUMNS = (
    "tenant_id", "integration_id", "event_id", "event_type", "headers", "body", "received_at", "status",
    "execution_id", "error", "attempts", "next_attempt_at", "replay_count",
)  # fmt: skip
# Built from the constants above only; every value is a query parameter.
_INSERT_SQL = (
    f"INSERT INTO {WebhookEvent._meta.db_table} ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))}) "
    "ON CONFLICT (integration_id, event_id) DO NOTHING RETURNING id"
)


def _insert_new(event: WebhookEvent) -> bool:
    """Insert the event unless its (integration, webhook-id) exists; True if it was inserted.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING id` statement: the hot path of ingest, in a
    single round trip (autocommit), and a concurrent duplicate waits for the first insert to
    commit and then inserts nothing, without raising, so the caller reads the first event.
    """
    values = [
        Jsonb(getattr(event, column)) if column in ("headers", "body") else getattr(event, column)
        for column in _INSERT_COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, values)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding = False
    event._state.db = connection.alias
    return True


@dataclass(frozen=True)
class _Verifier:
    integration: Integration
    secret: str
    previous_secret: str
    loaded_at: float

    def secrets(self, now: datetime) -> list[str]:
        expires = self.integration.previous_secret_expires_at
        if self.previous_secret and expires and now < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]


# Ingest reads an integration (and decrypts its secrets) once per process every few seconds, not
# on every request. Changes made through the services are seen at once by the process that made
# them (they forget the entry on commit); other processes see them within VERIFIER_TTL_SECONDS
# (a disabled integration, a rotation without overlap, a deactivated tenant). Misses are not
# cached, so a new integration works at once everywhere.
VERIFIER_TTL_SECONDS = 5.0
_verifiers: dict[str, _Verifier] = {}


def _verifier(slug: str) -> _Verifier | None:
    cached = _verifiers.get(slug)
    if cached is not None and time.monotonic() - cached.loaded_at < VERIFIER_TTL_SECONDS:
        return cached
    integration = Integration.objects.filter(slug=slug, enabled=True, tenant__is_active=True).order_by().first()
    if integration is None:
        _verifiers.pop(slug, None)
        return None
    previous = crypto.decrypt(integration.previous_secret_encrypted) if integration.previous_secret_encrypted else ""
    verifier = _Verifier(integration, integration.signing_secret, previous, time.monotonic())
    _verifiers[slug] = verifier
    return verifier


def forget_verifiers(slug: str | None = None) -> None:
    """Drop cached integrations (one slug, or all: tests, a tenant deactivated in this process)."""
    if slug is None:
        _verifiers.clear()
    else:
        _verifiers.pop(slug, None)


def _json_object(body: bytes, *, tenant_id: int) -> dict:
    try:
        payload = json.loads(body)
    except ValueError:
        raise IngestRefused(400, "The body is not valid JSON.", tenant_id=tenant_id) from None
    if not isinstance(payload, dict):
        raise IngestRefused(400, "The body must be a JSON object.", tenant_id=tenant_id)
    return payload


def _stored_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in DROPPED_HEADERS or any(part in lowered for part in DROPPED_HEADER_PARTS):
            continue
        kept[lowered] = value[:1000]
    return kept


# Starting ------------------------------------------------------------------------------------


# A run's id is at most 64 characters (`WorkflowExecution.id`), its replays' too: the base id
# leaves room for the longest replay suffix (`replay_count` is at most 10 digits).
MAX_WORKFLOW_ID = 64
LONGEST_REPLAY_SUFFIX = len("-replay-2147483647")
_HASH_CHARS = 32


def workflow_id_for(event: WebhookEvent) -> str:
    """`webhook-{integration}-{event id}`, short enough for any replay's `-replay-N` to follow.

    An id unfit for a URL, or too long for that, is hashed (sha256, 32 hex characters, fewer
    only for integration ids over 5 digits).
    """
    prefix = f"webhook-{event.integration_id}-"
    room = MAX_WORKFLOW_ID - LONGEST_REPLAY_SUFFIX - len(prefix)
    if _PLAIN_EVENT_ID.match(event.event_id) and len(event.event_id) <= room:
        return prefix + event.event_id
    return prefix + hashlib.sha256(event.event_id.encode()).hexdigest()[: min(_HASH_CHARS, room)]


START_KIND = "webhook events"


def start_soon(event_pk: int) -> None:
    """After commit, try the event's start on the shared background pool; the relay covers a lost try."""
    starts.start_after_commit(kind=START_KIND, pk=event_pk, background=True)


def event_launch(event: WebhookEvent) -> None:
    """Give a pending event its run (once, under the event's lock) and start it (`mono.starts` kind).

    The execution row is committed before Temporal is asked (its activities read it); the start
    is then retried as often as needed with the same workflow id, which Temporal refuses to
    start twice.

    A run with the event's id may exist already: housekeeping removed the first event by
    `received_at` while its run was kept, and the sender sent the same `webhook-id` again. That
    is a repeated delivery: the event is linked to the existing run and becomes `started`
    (counted as `duplicate` in the metrics), and the run is only started if it never was. A run
    of that id in another tenant cannot be this event's: the event fails.
    """
    duplicate = False
    try:
        with transaction.atomic():
            event = (
                WebhookEvent.objects.for_tenant(event.tenant_id)
                .select_for_update(of=("self",))
                .select_related("integration__workflow", "tenant", "execution")
                .filter(pk=event.pk, status=EventStatus.PENDING)
                .first()
            )
            if event is None:  # removed or settled meanwhile: nothing left to start
                return
            if event.execution_id is None:
                duplicate = _attach_execution(event) == "duplicate"
    except starts.StartRefused:
        raise
    except Exception as exc:
        raise starts.StartFailed(f"Could not record the run: {exc}") from exc
    if event.execution.status == ExecutionStatus.PENDING:  # otherwise its workflow started already
        executions.execution_launch(execution=event.execution)
    moved = (
        WebhookEvent.objects.for_tenant(event.tenant_id)
        .filter(pk=event.pk, status=EventStatus.PENDING)
        .update(status=EventStatus.STARTED)
    )
    if moved:
        record_webhook_event(tenant_id=event.tenant_id, status="duplicate" if duplicate else "started")


def _attach_execution(event: WebhookEvent) -> str:
    """Give the locked event its run: "created" or "duplicate" (an existing run); `StartRefused` if it cannot."""
    execution_id = workflow_id_for(event)
    # By primary key across tenants on purpose: the id is global, and a clash must be seen.
    existing = WorkflowExecution.objects.filter(pk=execution_id).first()
    outcome = "duplicate"
    if existing is None:
        try:
            # Atomic itself (a savepoint here): a refusal leaves this transaction usable.
            existing = executions.execution_start(
                tenant=event.tenant,
                definition=event.integration.workflow,
                input=event.body,
                execution_id=execution_id,
                start=False,
            )
            outcome = "created"
        except ServiceError as exc:  # e.g. the workflow was archived: retrying cannot help
            raise starts.StartRefused(exc.message) from exc
        except IntegrityError:  # created meanwhile by something other than this event
            existing = WorkflowExecution.objects.filter(pk=execution_id).first()
            if existing is None:
                raise
    if existing.tenant_id != event.tenant_id:
        raise starts.StartRefused(f"The run id {execution_id} is taken.")
    event.execution = existing
    event.save(update_fields=["execution"])
    return outcome


def event_give_up(event: WebhookEvent) -> None:
    """Mark the locked event failed for good (its `error` says why), and its run too if that never started."""
    event.status = EventStatus.FAILED
    event.save(update_fields=["status"])
    if event.execution_id:
        execution = WorkflowExecution.objects.for_tenant(event.tenant_id).filter(pk=event.execution_id).first()
        if execution is not None and execution.status == ExecutionStatus.PENDING:
            executions.execution_finish(
                tenant_id=event.tenant_id, execution_id=execution.pk, status=ExecutionStatus.FAILED, error=event.error
            )
    tenant_id = event.tenant_id
    transaction.on_commit(lambda: record_webhook_event(tenant_id=tenant_id, status="failed"))
