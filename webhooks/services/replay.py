"""Replaying an inbound webhook event: its payload runs again as a new execution `…-replay-N`."""

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from mono.errors import Conflict, ServiceError
from webhooks.models import EventStatus, WebhookEvent
from webhooks.services.receive import workflow_id_for
from workflows.models import WorkflowExecution
from workflows.services import executions


class EventGone(ServiceError):
    """The event is not there any more (removed meanwhile, e.g. by housekeeping)."""

    status_code = 404


@transaction.atomic
def event_replay(*, event: WebhookEvent, actor=None):
    """Run the event's payload again as a new execution `…-replay-N`; returns the execution."""
    event = (
        WebhookEvent.objects.for_tenant(event.tenant_id)
        .select_for_update(of=("self",))
        .select_related("integration__workflow", "tenant")
        .filter(pk=event.pk)
        .first()
    )
    if event is None:
        raise EventGone("No such event.")
    if event.status == EventStatus.PENDING:
        raise Conflict("The event has not started yet; it will start on its own.")
    # An earlier event with this webhook-id, since removed, may have used some numbers (ids are global).
    while True:
        event.replay_count += 1
        execution_id = f"{workflow_id_for(event)}-replay-{event.replay_count}"
        if not WorkflowExecution.objects.filter(pk=execution_id).exists():
            break
    event.save(update_fields=["replay_count"])
    execution = executions.execution_start(
        tenant=event.tenant,
        definition=event.integration.workflow,
        input=event.body,
        actor=actor,
        execution_id=execution_id,
    )
    audit_record(
        tenant=event.tenant_id,
        action=AuditAction.WEBHOOK_EVENT_REPLAYED,
        target=event,
        actor=actor,
        data={"execution": execution.id, "integration": event.integration.slug},
    )
    return execution
