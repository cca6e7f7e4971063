"""Temporal Schedules for workflows whose StartNode says `trigger: schedule`.

Each such definition has one schedule in its tenant's namespace, id
`workflow-schedule-{definition_id}`, kept in step with the newest version: created when a
version with a schedule trigger is saved, updated when its cron or timezone changes, deleted
when the trigger goes away or the definition is archived. The definition service calls
`definition_schedule_changed` and the Temporal calls happen after commit.

Each fire starts `ScheduledWorkflowRun` (tenant namespace), whose activity calls
`scheduled_execution_start`: the run is recorded by `execution_start` like any other, under the
execution id `{schedule_id}-{scheduled_at:%Y%m%dT%H%M%SZ}` (`scheduled_execution_id`). That id is
the fire's business key: a retried activity or a repeated fire finds the run already recorded
(and tries its start again if that is still owed), and nothing a user puts in a manual run's
input can pass for it.
"""

import logging
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import models, transaction
from django.db.models.functions import Cast
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError

from mono import starts
from mono.errors import ServiceError, Unavailable
from mono.temporal import queues, sync
from mono.temporal.client import TemporalUnavailable, get_tenant_client
from mono.temporal.schedules import ScheduleDefinition, is_not_found, schedule_delete, schedule_upsert
from workflows.models import DefinitionStatus, WorkflowDefinition, WorkflowExecution, WorkflowVersion
from workflows.services import executions
from workflows.temporal.types import ScheduledRunInput

logger = logging.getLogger(__name__)

#: Seconds a schedule API call waits for Temporal before answering 503.
CALL_TIMEOUT = 30.0


class ScheduleTargetGone(ServiceError):
    """The schedule fired for a definition that is gone, archived or no longer scheduled."""


class NoSchedule(ServiceError):
    status_code = 404


@dataclass(frozen=True)
class Trigger:
    cron: str
    timezone: str


def schedule_id(definition_id: int) -> str:
    return f"workflow-schedule-{definition_id}"


def definition_trigger(definition: WorkflowDefinition) -> Trigger | None:
    """The cron trigger of the definition's newest version, or None (not scheduled, archived)."""
    if definition.status == DefinitionStatus.ARCHIVED:
        return None
    version = definition.latest_version
    data = version.start_data if version is not None else {}
    if data.get("trigger") != "schedule" or not data.get("cron"):
        return None
    return Trigger(cron=data["cron"], timezone=data.get("timezone") or "UTC")


def _wanted(definition: WorkflowDefinition, trigger: Trigger) -> ScheduleDefinition:
    sid = schedule_id(definition.pk)
    return ScheduleDefinition(
        sid,
        "ScheduledWorkflowRun",
        queues.WORKFLOWS.name(definition.tenant_id),
        trigger.cron,
        arg=ScheduledRunInput(tenant_id=definition.tenant_id, definition_id=definition.pk, schedule_id=sid),
        workflow_id=sid,
        timezone=trigger.timezone,
        # A fire while the previous one is still starting waits for it; fires missed while
        # Temporal or the workers were down are made up for within the catch-up window.
        overlap=ScheduleOverlapPolicy.BUFFER_ONE,
        catchup_window=timedelta(minutes=10),
    )


def definition_schedule_sync(*, definition: WorkflowDefinition) -> str:
    """Make the definition's Temporal Schedule match its newest version now (raises if Temporal is down)."""
    definition = WorkflowDefinition.objects.for_tenant(definition.tenant_id).get(pk=definition.pk)
    trigger = definition_trigger(definition)

    async def apply() -> str:
        client = await get_tenant_client(definition.tenant_id)
        if trigger is None:
            return await schedule_delete(client, schedule_id(definition.pk))
        return await schedule_upsert(client, _wanted(definition, trigger))

    return sync.run(apply)


def definition_schedule_changed(*, definition: WorkflowDefinition, had_schedule: bool) -> None:
    """After commit, bring the schedule in line if the definition has or had a schedule trigger."""
    if had_schedule or definition_trigger(definition) is not None:
        transaction.on_commit(lambda: _sync_quietly(definition))


def _sync_quietly(definition: WorkflowDefinition) -> None:
    # The definition is already saved; `manage.py sync_schedules --workflows` repairs a miss.
    try:
        outcome = definition_schedule_sync(definition=definition)
    except Exception:
        logger.exception("could not sync the schedule of workflow %s", definition.pk)
    else:
        logger.info("schedule of workflow %s: %s", definition.pk, outcome)


def definition_schedules_sync(*, tenant=None) -> list[tuple[str, str]]:
    """Create or update the schedule of every scheduled definition (after an outage, a restore).

    Cheap enough to run nightly: only definitions with a version whose plan mentions a schedule
    trigger are looked at, and an unchanged schedule costs one describe call.
    """
    done = []
    scheduled_versions = WorkflowVersion.objects.annotate(plan_text=Cast("plan", models.TextField())).filter(
        definition=models.OuterRef("pk"), plan_text__contains='"trigger": "schedule"'
    )
    candidates = (
        WorkflowDefinition.objects.exclude(status=DefinitionStatus.ARCHIVED)
        .filter(models.Exists(scheduled_versions))
        .order_by("pk")
    )
    if tenant is not None:
        candidates = candidates.for_tenant(tenant)
    for definition in candidates:
        if definition_trigger(definition) is not None:
            done.append(
                (
                    f"{definition.tenant_id}/{schedule_id(definition.pk)}",
                    definition_schedule_sync(definition=definition),
                )
            )
    return done


# Reading and steering a schedule (the API) ---------------------------------------------------------


def _handle_call(definition: WorkflowDefinition, call):
    async def run():
        client = await get_tenant_client(definition.tenant_id)
        return await call(client.get_schedule_handle(schedule_id(definition.pk)))

    try:
        return sync.run(run, timeout=CALL_TIMEOUT)
    except FutureTimeoutError as exc:  # the builtin TimeoutError since Python 3.11
        raise Unavailable(f"Temporal did not answer for the schedule within {CALL_TIMEOUT:g}s.") from exc
    except RPCError as exc:
        if is_not_found(exc):
            raise NoSchedule("This workflow has no schedule.") from exc
        raise Unavailable(f"Temporal could not answer for the schedule: {exc}") from exc
    except TemporalUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def schedule_describe(*, definition: WorkflowDefinition, upcoming: int = 5) -> dict:
    """State, cron and next fire times of the definition's schedule; `NoSchedule` when it has none."""
    trigger = definition_trigger(definition)
    if trigger is None:
        raise NoSchedule("This workflow has no schedule.")

    async def describe(handle):
        return await handle.describe()

    description = _handle_call(definition, describe)
    info, state = description.info, description.schedule.state
    return {
        "schedule_id": description.id,
        "cron": trigger.cron,
        "timezone": trigger.timezone,
        "paused": state.paused,
        "note": state.note or "",
        "next_fire_times": [moment.isoformat() for moment in info.next_action_times[:upcoming]],
        "recent_fires": [
            {"scheduled_at": action.scheduled_at.isoformat(), "started_at": action.started_at.isoformat()}
            for action in info.recent_actions[-upcoming:]
        ],
        "fires": info.num_actions,
    }


def schedule_pause(*, definition: WorkflowDefinition, actor=None) -> dict:
    """Pause the definition's schedule (noted with who did it); its state afterwards."""
    return _steer(definition, paused=True, actor=actor)


def schedule_resume(*, definition: WorkflowDefinition, actor=None) -> dict:
    """Resume the definition's schedule (noted with who did it); its state afterwards."""
    return _steer(definition, paused=False, actor=actor)


def _steer(definition: WorkflowDefinition, *, paused: bool, actor) -> dict:
    note = f"{'Paused' if paused else 'Resumed'} by {getattr(actor, 'username', None) or 'system'}"

    async def steer(handle):
        await (handle.pause(note=note) if paused else handle.unpause(note=note))

    if definition_trigger(definition) is None:
        raise NoSchedule("This workflow has no schedule.")
    _handle_call(definition, steer)
    return schedule_describe(definition=definition)


# Called by the ScheduledWorkflowRun activity ------------------------------------------------------


def scheduled_execution_id(schedule_id: str, scheduled_at: str) -> str:
    """The business key of one fire: `{schedule_id}-{YYYYmmddTHHMMSSZ}` (UTC), at most 64 characters."""
    moment = datetime.fromisoformat(scheduled_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{schedule_id}-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


@transaction.atomic
def scheduled_execution_start(
    *, tenant_id: int, definition_id: int, schedule_id: str, scheduled_at: str
) -> tuple[WorkflowExecution, bool]:
    """Start the run for one fire, once: a second call for the same fire returns the first run."""
    definition = (
        WorkflowDefinition.objects.for_tenant(tenant_id)
        .select_for_update()
        .select_related("tenant")
        .filter(pk=definition_id)
        .first()
    )
    if definition is None or definition_trigger(definition) is None:
        raise ScheduleTargetGone(f"workflow {definition_id} is gone, archived or no longer scheduled")
    # Looked up by primary key under the definition's row lock: concurrent retries of one fire wait here.
    execution_id = scheduled_execution_id(schedule_id, scheduled_at)
    existing = WorkflowExecution.objects.for_tenant(tenant_id).filter(pk=execution_id).first()
    if existing is not None:
        if existing.next_attempt_at is not None:  # recorded by an earlier try whose start did not get through
            starts.start_after_commit(kind=executions.START_KIND, pk=existing.pk)
        return existing, False
    execution = executions.execution_start(
        tenant=definition.tenant,
        definition=definition,
        input={"schedule": {"id": schedule_id, "scheduled_at": scheduled_at}},
        execution_id=execution_id,
    )
    return execution, True
