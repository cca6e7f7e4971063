"""The live status stream of runs: domain events numbered per run, logged, and sent to websockets.

Publishing. `publish_event` is subscribed to `mono.events` in `WorkflowsConfig.ready()`, so it runs
after the commit of each change, in the process that made it (a worker, or the web process). For
an event about a run it

1. takes the run's next sequence number and appends the event to the run's log (`ExecutionEvent`)
   in one statement: the `UPDATE ... SET event_seq = event_seq + 1` in it locks the run's row, so
   numbers are 1, 2, 3, ... without gaps or repeats whichever process sequences them;
2. sends it through the channel layer to the group `execution.<id>` and, for run-level kinds
   (`execution.*`), to `tenant.<tenant id>`.

It runs in the thread that committed the change, before the activity returns; the workflow only
schedules the next activity after that, so sequence order follows the run's causal order.

Reading. A client that connects late is shown `execution_snapshot`: the log folded up to its latest
entry, read in one statement, so its sequence number is exactly the last event it reflects; live
events with a higher number follow. A consumer that sees a number jump (a message the channel layer
dropped or delivered out of order) reads what it missed from the log with `events_after`.
"""

import asyncio
import atexit
import json
import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from mono.events import DomainEvent
from tenants.models import ApiKey, Membership, Tenant
from tenants.permissions import Permission, role_allows
from workflows.models import (
    FINISHED_STATUSES,
    ExecutionEvent,
    ExecutionStatus,
    StepExecution,
    WorkflowExecution,
)

logger = logging.getLogger(__name__)

STREAMED_PREFIXES = ("execution.", "step.", "approval.")
RUN_LEVEL_PREFIX = "execution."
EVENT_MESSAGE_TYPE = "live.event"  # dispatched to the consumers' `live_event` handler
# A stuck channel layer must not hold a worker's activity thread for long: the event is already
# in the log, and a client catches up from there on the next event it hears or on reconnecting.
PUBLISH_TIMEOUT_SECONDS = 2.0
TENANT_SNAPSHOT_RUNS = 200
# How long after its `at` an event may still commit (its `at` is stamped first); a tenant stream
# catching up re-reads this much of the log before its last read.
LATE_COMMIT_MARGIN_SECONDS = 5.0


def execution_group(execution_id: str) -> str:
    return f"execution.{execution_id}"


def tenant_group(tenant_id: int) -> str:
    return f"tenant.{tenant_id}"


def is_run_level(kind: str) -> bool:
    return kind.startswith(RUN_LEVEL_PREFIX)


# Publishing -----------------------------------------------------------------------------------


def publish_event(event: DomainEvent) -> None:
    """Number, log and broadcast one committed change of a run (a `mono.events` subscriber)."""
    if not event.execution_id or not event.kind.startswith(STREAMED_PREFIXES):
        return
    at = timezone.now()  # the change has just committed: this is when it became visible
    entry = sequence_event(event, at=at)
    if entry is None:
        return  # the run is gone (deleted with its tenant)
    groups = [execution_group(event.execution_id)]
    if is_run_level(event.kind):
        groups.append(tenant_group(event.tenant_id))
    try:
        _publisher.group_send(groups, group_message(entry))
    except Exception as exc:
        logger.warning("live event %s #%s of %s not broadcast: %r", event.kind, entry["seq"], event.execution_id, exc)


def sequence_event(event: DomainEvent, *, at) -> dict[str, Any] | None:
    """Append `event` to its run's log under the run's next number; returns the event as sent."""
    data = json.loads(json.dumps(event.data, cls=DjangoJSONEncoder))  # what the log and msgpack hold
    node_id = str(data.pop("node_id", "") or "")
    status = event_status(event.kind, data)
    data.pop("status", None)
    # One statement, so it is atomic on its own (the caller runs after commit, in autocommit) and
    # costs one round trip: the UPDATE's row lock orders concurrent writers, and the new number
    # and its log entry commit together. A counter set back by a stale full save of the row
    # (`save()` without `update_fields`) resumes after the log's last number instead of repeating it.
    sql = (
        "WITH next AS (UPDATE workflows_workflowexecution AS run SET event_seq = GREATEST(run.event_seq,"
        " (SELECT COALESCE(MAX(seq), 0) FROM workflows_executionevent WHERE execution_id = run.id)) + 1"
        " WHERE id = %s AND tenant_id = %s RETURNING id, tenant_id, event_seq)"
        " INSERT INTO workflows_executionevent (tenant_id, execution_id, seq, kind, node_id, status, data, at)"
        " SELECT tenant_id, id, event_seq, %s, %s, %s, %s::jsonb, %s FROM next RETURNING seq"
    )
    params = [event.execution_id, event.tenant_id, event.kind, node_id, status, json.dumps(data), at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return event_message(
        seq=row[0], kind=event.kind, execution_id=event.execution_id, node_id=node_id, status=status, at=at, data=data
    )


def event_status(kind: str, data: dict[str, Any]) -> str:
    """The status a change leaves its subject in: the run's, the step's or the approval's."""
    if kind == "execution.started":
        return ExecutionStatus.RUNNING
    if kind == "approval.requested":
        return "pending"
    if kind.startswith(("execution.", "step.")):
        return kind.partition(".")[2]
    return str(data.get("status", ""))


def event_message(
    *, seq: int, kind: str, execution_id: str, node_id: str, status: str, at, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON a client receives: the fixed fields first, then the event's own data."""
    message = {
        "seq": seq,
        "kind": kind,
        "execution_id": execution_id,
        "node_id": node_id,
        "status": status,
        "at": at.isoformat(),
    }
    for key, value in data.items():
        message.setdefault(key, value)
    return message


def group_message(event: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message for a numbered event. Its JSON is encoded once, here, rather than
    by each of the consumers it fans out to."""
    return {
        "type": EVENT_MESSAGE_TYPE,
        "seq": event["seq"],
        "execution_id": event["execution_id"],
        "text": json.dumps(event),
    }


class _Publisher:
    """One event loop per process, on a daemon thread, for sending to the channel layer.

    `async_to_sync` from a worker's activity thread would start a new loop for every event, and
    the Redis layer keeps its connections per loop: every event would open and close a Redis
    connection. One long-lived loop keeps one pool.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def group_send(self, groups: Iterable[str], message: dict[str, Any]) -> None:
        """Send `message` to every group; wait for the layer to take it (or raise)."""
        layer = get_channel_layer()
        if layer is None:
            return

        async def send() -> None:
            await asyncio.gather(*(layer.group_send(group, message) for group in groups))

        future = asyncio.run_coroutine_threadsafe(send(), self._running_loop())
        try:
            future.result(PUBLISH_TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(5)


_publisher = _Publisher()
atexit.register(_publisher.stop)


# Who may watch --------------------------------------------------------------------------------


def _watchable_tenant_ids(*, user, tenant_id: int | None) -> list[int]:
    memberships = Membership.objects.filter(user=user, tenant__is_active=True)
    if tenant_id is not None:
        memberships = memberships.filter(tenant_id=tenant_id)
    return [m.tenant_id for m in memberships if role_allows(m.role, Permission.VIEW)]


def execution_for_viewer(*, user, execution_id: str, tenant_id: int | None = None) -> WorkflowExecution | None:
    """The run if `user` may watch it (a member of its active tenant), else None: a foreign run and
    a missing one look the same. `tenant_id` narrows to one tenant (an API key's)."""
    tenant_ids = _watchable_tenant_ids(user=user, tenant_id=tenant_id)
    executions = WorkflowExecution.objects.filter(tenant_id__in=tenant_ids, pk=execution_id)
    return executions.select_related("definition").first()


def tenant_for_viewer(*, user, slug: str, tenant_id: int | None = None) -> Tenant | None:
    """The tenant `slug` if `user` may watch its runs, else None (also for an unknown slug)."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or tenant.pk not in _watchable_tenant_ids(user=user, tenant_id=tenant_id):
        return None
    return tenant


def watch_still_allowed(*, user_id: int, tenant_id: int, api_key_id: int | None = None) -> bool:
    """Whether an open stream of `tenant_id`'s runs may go on: the user is active and still a
    member with the view permission of the still-active tenant, and the API key it was opened with
    (if any) is not revoked. Streams ask again every `LIVE_ACCESS_RECHECK_SECONDS`."""
    if api_key_id is not None:
        keys = ApiKey.objects.for_tenant(tenant_id).filter(pk=api_key_id, user_id=user_id, revoked_at=None)
        if not keys.exists():
            return False
    role = (
        Membership.objects.for_tenant(tenant_id)
        .filter(user_id=user_id, user__is_active=True, tenant__is_active=True)
        .values_list("role", flat=True)
        .first()
    )
    return role is not None and role_allows(role, Permission.VIEW)


# What a client is shown -----------------------------------------------------------------------

_ENTRY_FIELDS = ("seq", "kind", "node_id", "status", "data", "at")


def _entry_message(execution_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    return event_message(execution_id=execution_id, **entry)


def events_after(*, execution: WorkflowExecution, after: int) -> list[dict[str, Any]]:
    """The run's logged events numbered above `after`, in order, as sent."""
    entries = ExecutionEvent.objects.for_tenant(execution.tenant_id).filter(execution=execution, seq__gt=after)
    return [_entry_message(execution.pk, entry) for entry in entries.order_by("seq").values(*_ENTRY_FIELDS)]


def execution_snapshot(*, execution: WorkflowExecution) -> dict[str, Any]:
    """The run as of its latest logged event: status, every step and approval, and that event's seq.

    Built from the log alone, read in one statement, so the snapshot and the events numbered after
    it neither overlap nor leave a gap. A run finished before the log existed has no entries and
    sends no more events; it is shown from its rows, at seq 0.
    """
    entries = list(
        ExecutionEvent.objects.for_tenant(execution.tenant_id)
        .filter(execution=execution)
        .order_by("seq")
        .values(*_ENTRY_FIELDS)
    )
    status, error = ExecutionStatus.PENDING.value, ""
    steps: dict[str, dict[str, Any]] = {}
    approvals: dict[str, dict[str, Any]] = {}
    for entry in entries:
        kind, data = entry["kind"], entry["data"]
        change = {"seq": entry["seq"], "at": entry["at"].isoformat()}
        if is_run_level(kind):
            status, error = entry["status"], data.get("error", "") or ""
        elif kind.startswith("step."):
            step = steps.setdefault(entry["node_id"], {"node_id": entry["node_id"], "node_type": ""})
            step.update(status=entry["status"], error=data.get("error", "") or "", **change)
            step["node_type"] = data.get("node_type") or step["node_type"]
            step["attempt"] = data.get("attempt", step.get("attempt", 1))
        elif kind.startswith("approval."):
            approval = approvals.setdefault(entry["node_id"], {"node_id": entry["node_id"]})
            approval.update(approval_id=data.get("approval_id"), status=entry["status"], **change)
            if "eligible" in data:
                approval["eligible"] = data["eligible"]
    if not entries and execution.status in FINISHED_STATUSES:
        status, error = execution.status, execution.error
        steps = {step["node_id"]: step for step in _step_rows(execution)}
    return {
        "seq": entries[-1]["seq"] if entries else 0,
        "kind": "snapshot",
        "execution_id": execution.pk,
        "workflow": execution.definition.slug,
        "status": status,
        "error": error,
        "at": timezone.now().isoformat(),
        "steps": list(steps.values()),
        "approvals": list(approvals.values()),
    }


def _step_rows(execution: WorkflowExecution) -> list[dict[str, Any]]:
    rows = StepExecution.objects.for_tenant(execution.tenant_id).filter(execution=execution)
    return [
        {
            "node_id": step.node_id,
            "node_type": step.node_type,
            "status": step.status,
            "error": step.error,
            "attempt": step.attempt,
            "seq": 0,
            "at": (step.finished_at or step.started_at or execution.created_at).isoformat(),
        }
        for step in rows
    ]


def tenant_events_since(*, tenant: Tenant, since) -> tuple[Any, list[dict[str, Any]]]:
    """(now, the tenant's run-level events logged with `at >= since`, in the order they happened)."""
    now = timezone.now()
    entries = (
        ExecutionEvent.objects.for_tenant(tenant)
        .filter(kind__startswith=RUN_LEVEL_PREFIX, at__gte=since)
        .order_by("at", "seq")
        .values("execution_id", *_ENTRY_FIELDS)
    )
    return now, [_entry_message(entry.pop("execution_id"), entry) for entry in entries]


def tenant_snapshot(*, tenant: Tenant) -> dict[str, Any]:
    """The tenant's unfinished runs and those finished within the catch-up margin (newest first),
    each with its stream status and latest seq.

    One statement reads each run's `event_seq` and its latest run-level log entry, which commit
    together, so a client drops a tenant event whose seq is not above its run's seq here.
    """
    now = timezone.now()  # before the read: a catch-up re-reads the log from about here
    recently = now - timedelta(seconds=LATE_COMMIT_MARGIN_SECONDS)
    run_level = ExecutionEvent.objects.filter(execution=OuterRef("pk"), kind__startswith=RUN_LEVEL_PREFIX)
    runs = (
        WorkflowExecution.objects.for_tenant(tenant)
        .filter(Q(finished_at=None) | Q(finished_at__gte=recently))
        .annotate(stream_status=Subquery(run_level.order_by("-seq").values("status")[:1]))
        .order_by("-created_at")
        .values("id", "event_seq", "stream_status", "definition__slug", "created_at")[:TENANT_SNAPSHOT_RUNS]
    )
    return {
        "kind": "snapshot",
        "tenant": tenant.slug,
        "at": now.isoformat(),
        "executions": [
            {
                "execution_id": run["id"],
                "seq": run["event_seq"],
                "status": run["stream_status"] or ExecutionStatus.PENDING.value,
                "workflow": run["definition__slug"],
                "created_at": run["created_at"].isoformat(),
            }
            for run in runs
        ],
    }
